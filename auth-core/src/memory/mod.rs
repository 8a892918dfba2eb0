//! In-memory stores: real, concurrent-safe implementations for tests and small apps.

mod audit_log;
mod mfa;
mod oauth_accounts;
mod session_store;
mod user_store;

pub use audit_log::MemoryAuditLog;
pub use session_store::MemorySessionStore;
pub use user_store::MemoryUserStore;
