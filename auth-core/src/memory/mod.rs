//! In-memory stores: real, concurrent-safe implementations for tests and small apps.

mod mfa;
mod oauth_accounts;
mod session_store;
mod user_store;

pub use session_store::MemorySessionStore;
pub use user_store::MemoryUserStore;
