//! The [`RevocationFeed`](crate::RevocationFeed) behaviours: a [`SessionCache`] over one
//! instance of a store, sessions ended through *another* instance of the same store (as
//! another app server would), and the cache must refuse them as soon as the feed delivers,
//! and never keep a revoked session because a read raced the revocation; the same for a
//! [`UserCache`] and changed users.
//!
//! ```ignore
//! // two stores over one database, one of them cached
//! auth_core::conformance::revocation::every_behaviour(Arc::new(store_a), Arc::new(store_b)).await;
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;

use super::sessions::{admit, sample_session};
use super::{TestProfile, now_seconds};
use crate::{
    Admission, Renewal, SessionCache, SessionId, SessionStore, TokenHash, UserCache, UserId,
    UserStore,
};

/// How long a revocation may take to reach the other instance before the suite fails (the
/// feeds deliver in milliseconds; this only bounds a broken one).
pub const PROPAGATION_LIMIT: Duration = Duration::from_secs(2);

/// A cache over `fed`, once its feed has subscribed (panics after five seconds).
pub async fn trusted_cache(fed: Arc<dyn SessionStore>) -> SessionCache {
    let cache = SessionCache::new(fed, 10_000);
    wait_until_trusted(&cache).await;
    cache
}

/// Waits until `cache` answers from memory (panics after five seconds).
pub async fn wait_until_trusted(cache: &SessionCache) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cache.is_trusted() {
        assert!(
            Instant::now() < deadline,
            "the session cache never subscribed to the store's revocation feed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Checks `id` on the cache until it is refused; returns how long that took. Panics after
/// [`PROPAGATION_LIMIT`].
pub async fn time_to_refusal(cache: &SessionCache, id: SessionId, since: Instant) -> Duration {
    let now = now_seconds();
    loop {
        if !cache.is_live(id, now).await.unwrap() {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < PROPAGATION_LIMIT,
            "a session ended on another instance was still accepted after {PROPAGATION_LIMIT:?}"
        );
        tokio::task::yield_now().await;
    }
}

/// A session created through `other` and seen live (and remembered) by `cache`.
async fn cached_session(cache: &SessionCache, other: &dyn SessionStore, user: UserId) -> SessionId {
    let now = now_seconds();
    let session = sample_session(user, now);
    admit(other, &session).await;
    let hits = cache.hits();
    assert!(cache.is_live(session.id, now).await.unwrap());
    assert!(cache.is_live(session.id, now).await.unwrap());
    assert!(
        cache.hits() > hits,
        "a live session is answered from memory the second time"
    );
    session.id
}

/// After its refusal, a session stays refused.
async fn stays_refused(cache: &SessionCache, id: SessionId) {
    let now = now_seconds();
    for _ in 0..20 {
        assert!(
            !cache.is_live(id, now).await.unwrap(),
            "a refused session came back"
        );
    }
}

/// Every way a session ends on another instance reaches the cache: logout, "log out
/// everywhere", eviction at the session limit, a replayed refresh token.
pub async fn every_ending_elsewhere_reaches_the_cache(
    fed: Arc<dyn SessionStore>,
    other: Arc<dyn SessionStore>,
) {
    let cache = trusted_cache(fed).await;
    let now = now_seconds();

    let id = cached_session(&cache, &*other, UserId::new()).await;
    let since = Instant::now();
    assert!(other.revoke(id).await.unwrap());
    time_to_refusal(&cache, id, since).await;
    stays_refused(&cache, id).await;

    let user = UserId::new();
    let a = cached_session(&cache, &*other, user).await;
    let b = cached_session(&cache, &*other, user).await;
    let since = Instant::now();
    assert_eq!(other.revoke_all(user, None).await.unwrap(), 2);
    time_to_refusal(&cache, a, since).await;
    time_to_refusal(&cache, b, since).await;

    let user = UserId::new();
    let evicted = cached_session(&cache, &*other, user).await;
    let newer = sample_session(user, now);
    let since = Instant::now();
    let admission = Admission {
        mark: other.mark(user).await.unwrap(),
        max_sessions: Some(1),
    };
    other.create(&newer, &admission).await.unwrap();
    time_to_refusal(&cache, evicted, since).await;

    let session = sample_session(UserId::new(), now);
    admit(&*other, &session).await;
    assert!(cache.is_live(session.id, now).await.unwrap());
    let renewal = Renewal {
        refresh_hash: TokenHash::of(b"the next one"),
        access_hash: None,
        now,
        idle_expires_at: now + time::Duration::days(1),
    };
    other
        .rotate(session.id, &session.refresh_hash, &renewal)
        .await
        .unwrap();
    let since = Instant::now();
    // The first token again: a replay, which ends the session.
    other
        .rotate(session.id, &session.refresh_hash, &renewal)
        .await
        .unwrap();
    time_to_refusal(&cache, session.id, since).await;
    stays_refused(&cache, session.id).await;
}

/// Revocations through the cache itself are seen before the call returns, with no feed
/// delivery to wait for.
pub async fn endings_through_the_cache_are_seen_at_once(
    fed: Arc<dyn SessionStore>,
    other: Arc<dyn SessionStore>,
) {
    let cache = trusted_cache(fed).await;
    let now = now_seconds();
    let id = cached_session(&cache, &*other, UserId::new()).await;
    assert!(cache.revoke(id).await.unwrap());
    assert!(!cache.is_live(id, now).await.unwrap());

    let user = UserId::new();
    let a = cached_session(&cache, &*other, user).await;
    cache.revoke_all(user, None).await.unwrap();
    assert!(!cache.is_live(a, now).await.unwrap());

    // Expiry is judged against the caller's clock on every answer from memory.
    let b = cached_session(&cache, &*other, UserId::new()).await;
    assert!(
        !cache
            .is_live(b, now + time::Duration::days(2))
            .await
            .unwrap()
    );
}

/// Many checks racing each revocation: once refused, never accepted again (a read that
/// began before the revocation and returned after it is not kept).
pub async fn reads_racing_revocations_keep_nothing_stale(
    fed: Arc<dyn SessionStore>,
    other: Arc<dyn SessionStore>,
) {
    let cache = Arc::new(trusted_cache(fed).await);
    let now = now_seconds();
    for _ in 0..20 {
        let session = sample_session(UserId::new(), now);
        admit(&*other, &session).await;
        let readers = (0..8).map(|_| {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move {
                for _ in 0..30 {
                    let _ = cache.is_live(session.id, now).await.unwrap();
                    tokio::task::yield_now().await;
                }
            })
        });
        let revoke = {
            let other = Arc::clone(&other);
            async move {
                tokio::task::yield_now().await;
                other.revoke(session.id).await.unwrap()
            }
        };
        let since = Instant::now();
        let (readers, revoked) = futures::join!(join_all(readers), revoke);
        assert!(revoked);
        for reader in readers {
            reader.unwrap();
        }
        time_to_refusal(&cache, session.id, since).await;
        stays_refused(&cache, session.id).await;
    }
}

/// The three behaviours above.
pub async fn every_behaviour(fed: Arc<dyn SessionStore>, other: Arc<dyn SessionStore>) {
    every_ending_elsewhere_reaches_the_cache(Arc::clone(&fed), Arc::clone(&other)).await;
    endings_through_the_cache_are_seen_at_once(Arc::clone(&fed), Arc::clone(&other)).await;
    reads_racing_revocations_keep_nothing_stale(fed, other).await;
}

/// The time from each of `n` revocations on `other` (acknowledged) to the first refusal by a
/// cache over `fed`, sorted: for a test or a benchmark to report percentiles.
pub async fn propagation_times(
    fed: Arc<dyn SessionStore>,
    other: Arc<dyn SessionStore>,
    n: usize,
) -> Vec<Duration> {
    let cache = trusted_cache(fed).await;
    let now = now_seconds();
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let session = sample_session(UserId::new(), now);
        admit(&*other, &session).await;
        assert!(cache.is_live(session.id, now).await.unwrap());
        let revoked = {
            assert!(other.revoke(session.id).await.unwrap());
            Instant::now()
        };
        times.push(time_to_refusal(&cache, session.id, revoked).await);
    }
    times.sort();
    times
}

/// A user cache over `fed` (a user store with a change feed), once subscribed.
pub async fn trusted_user_cache(fed: Arc<dyn UserStore<TestProfile>>) -> UserCache<TestProfile> {
    let cache = UserCache::new(fed, 10_000);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cache.is_trusted() {
        assert!(
            Instant::now() < deadline,
            "the user cache never subscribed to the store's change feed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cache
}

/// Reads `id` through `cache` until `done` holds for the answer; panics after
/// [`PROPAGATION_LIMIT`].
async fn read_until(
    cache: &UserCache<TestProfile>,
    id: UserId,
    done: impl Fn(&Option<crate::User<TestProfile>>) -> bool,
) {
    let since = Instant::now();
    loop {
        if done(&cache.get(id).await.unwrap()) {
            return;
        }
        assert!(
            since.elapsed() < PROPAGATION_LIMIT,
            "a user changed on another instance was still served from memory after {PROPAGATION_LIMIT:?}"
        );
        tokio::task::yield_now().await;
    }
}

/// A user changed or deleted through `other` (another instance) is read afresh by a cache
/// over `fed` as soon as the feed delivers, and reads racing the change keep nothing stale.
pub async fn every_user_change_elsewhere_reaches_the_user_cache(
    fed: Arc<dyn UserStore<TestProfile>>,
    other: Arc<dyn UserStore<TestProfile>>,
) {
    let cache = Arc::new(trusted_user_cache(fed).await);
    let user = super::users::sample_user(&super::unique_tag());
    other.create(&user).await.unwrap();
    assert_eq!(
        cache.get(user.id).await.unwrap().map(|u| u.version),
        Some(user.version)
    );
    let hits = cache.hits();
    assert!(cache.get(user.id).await.unwrap().is_some());
    assert!(cache.hits() > hits, "a known user is answered from memory");

    // Updates, each raced by readers; once the new version is seen, no older one comes back.
    let mut current = user.clone();
    for round in 0..10 {
        let mut next = current.clone();
        next.is_verified = round % 2 == 0;
        let readers = (0..4).map(|_| {
            let cache = Arc::clone(&cache);
            let id = current.id;
            tokio::spawn(async move {
                for _ in 0..20 {
                    let _ = cache.get(id).await.unwrap();
                    tokio::task::yield_now().await;
                }
            })
        });
        let write = {
            let other = Arc::clone(&other);
            let next = next.clone();
            async move { other.update(&next).await.unwrap() }
        };
        let (readers, ()) = futures::join!(join_all(readers), write);
        for reader in readers {
            reader.unwrap();
        }
        let version = next.version.wrapping_add(1);
        read_until(&cache, next.id, |found| {
            found.as_ref().is_some_and(|u| u.version == version)
        })
        .await;
        for _ in 0..10 {
            let found = cache.get(next.id).await.unwrap().unwrap();
            assert_eq!(found.version, version, "an older copy came back");
        }
        next.version = version;
        current = next;
    }

    assert!(other.delete(user.id).await.unwrap());
    read_until(&cache, user.id, Option::is_none).await;
}
