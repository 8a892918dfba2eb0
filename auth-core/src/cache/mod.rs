//! Exact in-process caches in front of the stores: [`SessionCache`] for the revocation check
//! of every request, [`UserCache`] for loading the signed-in user. Both keep an answer only
//! while the store's feed announces every change, and forget it the moment one arrives.

mod following;
mod sessions;
mod supervisor;
mod table;
mod users;

pub use sessions::{DEFAULT_SESSION_CACHE_CAPACITY, SessionCache};
pub use users::{DEFAULT_USER_CACHE_CAPACITY, UserCache};
