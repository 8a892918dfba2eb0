//! The store traits: where users, their linked provider accounts, sessions and audit trails
//! live.

mod audit_log;
mod mfa_store;
mod oauth_account_store;
mod revocation_feed;
mod session_store;
mod user_query;
mod user_store;

pub use audit_log::{AuditLog, AuditQuery};
pub use mfa_store::{MfaStore, PasskeyRecord, TotpFactor};
pub use oauth_account_store::{OAuthAccount, OAuthAccountStore, SealedToken, Unlinked};
pub use revocation_feed::{RevocationEvent, RevocationFeed, RevocationSink, Revocations};
pub use session_store::SessionStore;
pub use user_query::{UserQuery, UserSort};
pub use user_store::{Page, UserStore};
