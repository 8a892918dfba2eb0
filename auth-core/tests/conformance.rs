//! The in-memory stores pass the whole conformance suite.

use auth_core::conformance::TestProfile;
use auth_core::{MemoryAuditLog, MemoryRateLimiter, MemorySessionStore, MemoryUserStore};

mod users {
    use super::*;
    auth_core::user_store_conformance!(MemoryUserStore::<TestProfile>::new());
}

mod oauth_accounts {
    use super::*;
    auth_core::oauth_account_store_conformance!(MemoryUserStore::<TestProfile>::new());
}

mod oauth_accounts_with_a_guard {
    use super::*;
    auth_core::oauth_account_store_conformance!((
        MemoryUserStore::<TestProfile>::new(),
        TempDatabase
    ));
}

mod audit_log {
    use super::*;
    auth_core::audit_log_conformance!(MemoryAuditLog::new());
}

mod sessions {
    use super::*;
    auth_core::session_store_conformance!(MemorySessionStore::new());
}

mod sessions_behind_the_session_cache {
    use std::sync::Arc;

    use super::*;
    use auth_core::{SessionCache, SessionStore};

    auth_core::session_store_conformance!(SessionCache::new(
        Arc::new(MemorySessionStore::new()),
        10_000
    ));

    /// The memory store lives in one process: every revocation through the cache is seen
    /// before the call returns.
    #[tokio::test]
    async fn endings_through_the_cache_are_seen_at_once() {
        let store: Arc<dyn SessionStore> = Arc::new(MemorySessionStore::new());
        auth_core::conformance::revocation::endings_through_the_cache_are_seen_at_once(
            Arc::clone(&store),
            store,
        )
        .await;
    }
}

mod limiter {
    use super::*;
    auth_core::rate_limiter_conformance!(MemoryRateLimiter::new());
}

/// A cleanup guard, as an out-of-tree store would hold for its temporary database.
#[derive(Debug)]
struct TempDatabase;

mod users_in_a_fixture {
    use super::*;
    use auth_core::conformance::Fixture;
    auth_core::user_store_conformance!(Fixture {
        store: MemoryUserStore::<TestProfile>::new(),
        guard: TempDatabase,
    });
}

mod sessions_with_a_guard {
    use super::*;
    auth_core::session_store_conformance!((MemorySessionStore::new(), TempDatabase));
}

mod limiter_in_a_fixture {
    use super::*;
    auth_core::rate_limiter_conformance!({
        // May `.await` and build the guard first, like a real fixture.
        let guard = async { TempDatabase }.await;
        auth_core::conformance::Fixture {
            store: MemoryRateLimiter::new(),
            guard,
        }
    });
}

mod mfa {
    use super::*;
    auth_core::mfa_store_conformance!(MemoryUserStore::<TestProfile>::new());
}

mod mfa_with_a_guard {
    use super::*;
    auth_core::mfa_store_conformance!((MemoryUserStore::<TestProfile>::new(), TempDatabase));
}
