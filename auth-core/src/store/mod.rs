//! The two store traits: where users and sessions live.

mod session_store;
mod user_store;

pub use session_store::SessionStore;
pub use user_store::{Page, UserQuery, UserStore};
