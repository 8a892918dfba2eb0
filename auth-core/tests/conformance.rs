//! The in-memory stores pass the whole conformance suite.

use auth_core::conformance::TestProfile;
use auth_core::{MemoryRateLimiter, MemorySessionStore, MemoryUserStore};

mod users {
    use super::*;
    auth_core::user_store_conformance!(MemoryUserStore::<TestProfile>::new());
}

mod sessions {
    use super::*;
    auth_core::session_store_conformance!(MemorySessionStore::new());
}

mod limiter {
    use super::*;
    auth_core::rate_limiter_conformance!(MemoryRateLimiter::new());
}
