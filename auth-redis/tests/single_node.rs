//! The stores on one Redis: the whole conformance suite, then what the suite cannot see (key
//! layout, memory, other instances, pruning, the manager on top).
// Helpers outside the #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod sessions {
    use auth_redis::RedisSessionStore;

    use super::common;

    auth_core::session_store_conformance!(RedisSessionStore::new(common::single().await));
}

mod sessions_without_route_cache {
    use auth_redis::RedisSessionStore;

    use super::common;

    auth_core::session_store_conformance!(
        RedisSessionStore::new(common::single().await).with_route_cache(0)
    );
}

mod sessions_behind_the_session_cache {
    use std::sync::Arc;

    use auth_core::SessionCache;
    use auth_redis::RedisSessionStore;

    use super::common;

    auth_core::session_store_conformance!(SessionCache::new(
        Arc::new(RedisSessionStore::new(common::single().await)),
        10_000
    ));
}

mod revocation_feed {
    use std::sync::Arc;

    use auth_core::SessionStore;
    use auth_core::conformance::revocation;
    use auth_redis::RedisSessionStore;

    use super::common;

    /// Two app instances on one Redis: the one with the cache, and another.
    async fn two_instances() -> (Arc<dyn SessionStore>, Arc<dyn SessionStore>) {
        let conn = common::single().await;
        let other = RedisSessionStore::new(conn.clone());
        (Arc::new(RedisSessionStore::new(conn)), Arc::new(other))
    }

    #[tokio::test]
    async fn every_ending_on_another_instance_reaches_the_cache() {
        let (fed, other) = two_instances().await;
        revocation::every_ending_elsewhere_reaches_the_cache(fed, other).await;
    }

    #[tokio::test]
    async fn endings_through_the_cache_are_seen_at_once() {
        let (fed, other) = two_instances().await;
        revocation::endings_through_the_cache_are_seen_at_once(fed, other).await;
    }

    #[tokio::test]
    async fn reads_racing_revocations_keep_nothing_stale() {
        let (fed, other) = two_instances().await;
        revocation::reads_racing_revocations_keep_nothing_stale(fed, other).await;
    }

    /// 1,000 logouts on one instance, each timed until the other refuses it.
    #[tokio::test]
    async fn a_thousand_logouts_reach_the_other_instance_in_milliseconds() {
        let (fed, other) = two_instances().await;
        let times = revocation::propagation_times(fed, other, 1_000).await;
        let p50 = times[times.len() / 2];
        let p99 = times[times.len() * 99 / 100];
        let max = times[times.len() - 1];
        println!("logout propagation over 1,000 logouts: p50 {p50:?}, p99 {p99:?}, max {max:?}");
        // The promise is a p99 of 50 ms; a loaded test machine gets a margin.
        assert!(p99 < std::time::Duration::from_millis(250), "p99 {p99:?}");
    }

    /// A lost subscription drops the cache at once; a revocation published while nobody
    /// listens is then read from Redis, and the cache subscribes again by itself.
    #[tokio::test]
    async fn a_lost_subscription_fails_closed_and_recovers() {
        let (fed, other) = two_instances().await;
        let cache = revocation::trusted_cache(fed).await;
        let now = auth_core::conformance::now_seconds();
        let session =
            auth_core::conformance::sessions::sample_session(auth_core::UserId::new(), now);
        auth_core::conformance::sessions::admit(&*other, &session).await;
        assert!(cache.is_live(session.id, now).await.unwrap());
        let mut redis = common::inspect(&common::single_url()).await;
        let _: redis::Value = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("pubsub")
            .query_async(&mut redis)
            .await
            .unwrap();
        // The cache notices the closed connection (or, at the latest, a second of silence).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while !cache.is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the lost subscription went unnoticed"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert!(other.revoke(session.id).await.unwrap());
        assert!(!cache.is_live(session.id, now).await.unwrap());
        revocation::wait_until_trusted(&cache).await;
        assert!(!cache.is_live(session.id, now).await.unwrap());
    }
}

mod limiter {
    use auth_redis::RedisRateLimiter;

    use super::common;

    auth_core::rate_limiter_conformance!(RedisRateLimiter::new(common::single().await));
}

mod layout {
    use auth_core::conformance::now_seconds;
    use auth_core::conformance::sessions::sample_session;
    use auth_core::{
        REMEMBERED_ROTATIONS, RateLimit, RateLimiter, Renewal, Rotation, SessionStore, TokenHash,
        UserId,
    };
    use auth_redis::{RedisRateLimiter, RedisSessionStore};
    use time::Duration;

    use super::common;

    #[tokio::test]
    async fn keys_follow_the_documented_layout_and_expire_with_the_session() {
        let conn = common::single().await;
        let prefix = conn.key_prefix().to_owned();
        let store = RedisSessionStore::new(conn);
        let now = now_seconds();
        let user = UserId::new();
        let mut session = sample_session(user, now);
        session.idle_expires_at = now + Duration::hours(1);
        store.create(&session, &common::FIRST_LOGIN).await.unwrap();

        let mut redis = common::inspect(&common::single_url()).await;
        let route = format!("{prefix}:sid:{}", session.id);
        let hash = format!("{prefix}:{{u:{user}}}:s:{}", session.id);
        let index = format!("{prefix}:{{u:{user}}}:sessions");
        let owner: String = redis::cmd("GET")
            .arg(&route)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(owner, user.to_string());
        let kinds: Vec<String> = futures::future::join_all([&route, &hash, &index].map(|key| {
            let mut redis = redis.clone();
            async move {
                redis::cmd("TYPE")
                    .arg(key)
                    .query_async::<String>(&mut redis)
                    .await
                    .unwrap()
            }
        }))
        .await;
        assert_eq!(kinds, ["string", "hash", "zset"]);
        let ttl = |key: String| {
            let mut redis = redis.clone();
            async move {
                redis::cmd("PTTL")
                    .arg(key)
                    .query_async::<i64>(&mut redis)
                    .await
                    .unwrap()
            }
        };
        // The hash lives until the idle expiry (one hour), the route until the absolute
        // expiry (seven days), the index as long as its longest-lived session.
        let hour = 3_600_000;
        assert!((hour - 60_000..=hour).contains(&ttl(hash.clone()).await));
        assert!(ttl(route).await > 6 * 24 * hour);
        assert!((hour - 60_000..=hour).contains(&ttl(index).await));
        let fields: Vec<String> = redis::cmd("HKEYS")
            .arg(&hash)
            .query_async(&mut redis.clone())
            .await
            .unwrap();
        let mut fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["a", "c", "e", "i", "ip", "l", "r", "ua"]);

        let limiter = RedisRateLimiter::new(store.connection().clone());
        let limit = RateLimit::new(5, Duration::seconds(90));
        limiter
            .hit("login:ip:192.0.2.1", &limit, now)
            .await
            .unwrap();
        let window = format!("{prefix}:rl:login:ip:192.0.2.1");
        assert!((89_000..=90_000).contains(&ttl(window).await));
    }

    /// The numbers of the crate docs' "Memory per session" table come from this test:
    /// `cargo test -p auth-redis --test single_node memory -- --nocapture`.
    #[tokio::test]
    async fn memory_per_session_is_as_documented() {
        let conn = common::single().await.with_key_prefix("auth").unwrap();
        let store = RedisSessionStore::new(conn);
        let now = now_seconds();
        let user = UserId::new();
        let mut sessions = Vec::new();
        for _ in 0..5 {
            let mut session = sample_session(user, now);
            session.access_hash = None;
            session.user_agent = Some(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
                    .to_owned(),
            );
            session.ip = Some("203.0.113.42".parse().unwrap());
            store.create(&session, &common::FIRST_LOGIN).await.unwrap();
            sessions.push(session);
        }
        let redis = common::inspect(&common::single_url()).await;
        let usage = |key: String| {
            let mut redis = redis.clone();
            async move {
                redis::cmd("MEMORY")
                    .arg("USAGE")
                    .arg(key)
                    .arg("SAMPLES")
                    .arg(0)
                    .query_async::<u64>(&mut redis)
                    .await
                    .unwrap()
            }
        };
        let id = sessions[0].id;
        let hash = usage(format!("auth:{{u:{user}}}:s:{id}")).await;
        let route = usage(format!("auth:sid:{id}")).await;
        let index = usage(format!("auth:{{u:{user}}}:sessions")).await / 5;
        let total = hash + route + index;
        println!(
            "memory per session: hash {hash} B, route {route} B, index share {index} B, total {total} B"
        );
        // Generous bounds, so the docs' numbers stay true to within a few bytes of allocator
        // rounding, and a layout change that bloats sessions fails here.
        assert!(
            total <= 700,
            "a session takes {total} bytes; update the crate docs"
        );
        store.revoke_all(user, None).await.unwrap();
    }

    /// The mark is a counter in the user's slot with no time to live: an expiring mark would
    /// read 0 again and admit a login that read 0 before a revocation.
    #[tokio::test]
    async fn the_mark_is_a_counter_without_expiry() {
        let conn = common::single().await;
        let prefix = conn.key_prefix().to_owned();
        let store = RedisSessionStore::new(conn);
        let user = UserId::new();
        let mark = format!("{prefix}:{{u:{user}}}:mark");
        let mut redis = common::inspect(&common::single_url()).await;
        let exists: i64 = redis::cmd("EXISTS")
            .arg(&mark)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(exists, 0, "no key until the first revocation");
        assert_eq!(store.mark(user).await.unwrap().get(), 0);
        store.revoke_all(user, None).await.unwrap();
        store.revoke_all(user, None).await.unwrap();
        let stored: String = redis::cmd("GET")
            .arg(&mark)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(stored, "2");
        assert_eq!(store.mark(user).await.unwrap().get(), 2);
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&mark)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(ttl, -1, "the mark never expires");
    }

    /// The rotated-away digests are kept in pieces of at most 64 bytes, so a session rotated
    /// many times keeps Redis' compact hash encoding; only the last REMEMBERED_ROTATIONS are
    /// kept.
    #[tokio::test]
    async fn remembered_digests_keep_the_hash_compact_and_are_trimmed() {
        let conn = common::single().await;
        let prefix = conn.key_prefix().to_owned();
        let store = RedisSessionStore::new(conn);
        let now = now_seconds();
        let user = UserId::new();
        let mut session = sample_session(user, now);
        session.user_agent = Some(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
                .to_owned(),
        );
        store.create(&session, &common::FIRST_LOGIN).await.unwrap();
        let extra = 4;
        let mut current = session.refresh_hash;
        let mut spent = Vec::new();
        for i in 0..REMEMBERED_ROTATIONS + extra {
            let next = Renewal {
                refresh_hash: TokenHash::of(format!("secret {i}").as_bytes()),
                access_hash: None,
                now,
                idle_expires_at: now + Duration::days(1),
            };
            assert!(matches!(
                store.rotate(session.id, &current, &next).await.unwrap(),
                Rotation::Rotated(_)
            ));
            spent.push(current);
            current = next.refresh_hash;
        }
        let hash = format!("{prefix}:{{u:{user}}}:s:{}", session.id);
        let mut redis = common::inspect(&common::single_url()).await;
        let encoding: String = redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(&hash)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(encoding, "listpack");
        let fields: Vec<(String, Vec<u8>)> = redis::cmd("HGETALL")
            .arg(&hash)
            .query_async(&mut redis)
            .await
            .unwrap();
        let remembered: usize = fields
            .iter()
            .filter(|(name, _)| name.starts_with('p'))
            .map(|(_, value)| value.len())
            .sum();
        assert_eq!(remembered, REMEMBERED_ROTATIONS * 32);
        let bytes: u64 = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(&hash)
            .arg("SAMPLES")
            .arg(0)
            .query_async(&mut redis)
            .await
            .unwrap();
        println!("a session hash remembering {REMEMBERED_ROTATIONS} digests: {bytes} B");
        let at = |i: usize| Renewal {
            refresh_hash: TokenHash::of(format!("late {i}").as_bytes()),
            access_hash: None,
            now,
            idle_expires_at: now + Duration::days(1),
        };
        // Forgotten: no longer recognised as reuse, and so (like a forgery) harmless.
        for (i, old) in spent.iter().enumerate().take(extra) {
            assert_eq!(
                store.rotate(session.id, old, &at(i)).await.unwrap(),
                Rotation::NotFound
            );
        }
        assert!(store.is_live(session.id, now).await.unwrap());
        assert_eq!(
            store
                .rotate(session.id, &spent[extra], &at(0))
                .await
                .unwrap(),
            Rotation::Reused { user_id: user }
        );
    }
}

mod behaviour {
    use auth_core::conformance::now_seconds;
    use auth_core::conformance::sessions::sample_session;
    use auth_core::{
        Admission, Admitted, RateDecision, RateLimit, RateLimiter, SessionStore, UserId,
    };
    use auth_redis::{RedisConfig, RedisRateLimiter, RedisSessionStore};
    use time::Duration;

    use super::common;

    /// Two app instances: separate connections and route caches, one Redis.
    async fn two_instances() -> (RedisSessionStore, RedisSessionStore) {
        let first = common::single().await;
        let url = common::single_url();
        let second = RedisConfig::from_url(&url)
            .unwrap()
            .with_key_prefix(first.key_prefix())
            .unwrap()
            .connect()
            .await
            .unwrap();
        (
            RedisSessionStore::new(first),
            RedisSessionStore::new(second),
        )
    }

    #[tokio::test]
    async fn a_logout_on_one_instance_is_refused_on_every_other_at_once() {
        let (one, other) = two_instances().await;
        let now = now_seconds();
        let session = sample_session(UserId::new(), now);
        one.create(&session, &common::FIRST_LOGIN).await.unwrap();
        // The other instance learns the owner (and caches it)...
        assert!(other.is_live(session.id, now).await.unwrap());
        assert!(one.revoke(session.id).await.unwrap());
        // ...and still sees the revocation on the very next check.
        assert!(!other.is_live(session.id, now).await.unwrap());
        assert!(other.get(session.id, now).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn log_out_everywhere_on_one_instance_is_seen_by_the_others() {
        let (one, other) = two_instances().await;
        let now = now_seconds();
        let user = UserId::new();
        let sessions: Vec<_> = (0..3).map(|_| sample_session(user, now)).collect();
        for session in &sessions {
            other.create(session, &common::FIRST_LOGIN).await.unwrap();
            assert!(other.is_live(session.id, now).await.unwrap());
        }
        assert_eq!(one.revoke_all(user, None).await.unwrap(), 3);
        for session in &sessions {
            assert!(!other.is_live(session.id, now).await.unwrap());
        }
    }

    #[tokio::test]
    async fn the_index_drops_sessions_whose_keys_are_gone() {
        let conn = common::single().await;
        let prefix = conn.key_prefix().to_owned();
        let store = RedisSessionStore::new(conn);
        let now = now_seconds();
        let user = UserId::new();
        let kept = sample_session(user, now);
        let evicted = sample_session(user, now);
        store.create(&kept, &common::FIRST_LOGIN).await.unwrap();
        store.create(&evicted, &common::FIRST_LOGIN).await.unwrap();
        let mut redis = common::inspect(&common::single_url()).await;
        // What key expiry does in Redis, without waiting for it.
        let _: i64 = redis::cmd("DEL")
            .arg(format!("{prefix}:{{u:{user}}}:s:{}", evicted.id))
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(store.list(user, now).await.unwrap(), vec![kept]);
        let members: i64 = redis::cmd("ZCARD")
            .arg(format!("{prefix}:{{u:{user}}}:sessions"))
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(members, 1);
        assert!(!store.is_live(evicted.id, now).await.unwrap());
    }

    #[tokio::test]
    async fn a_replayed_token_on_one_instance_revokes_the_session_for_all() {
        let (one, other) = two_instances().await;
        let now = now_seconds();
        let session = sample_session(UserId::new(), now);
        one.create(&session, &common::FIRST_LOGIN).await.unwrap();
        let renewal = auth_core::Renewal {
            refresh_hash: auth_core::TokenHash::of(b"next"),
            access_hash: None,
            now,
            idle_expires_at: now + Duration::days(1),
        };
        assert!(matches!(
            one.rotate(session.id, &session.refresh_hash, &renewal)
                .await
                .unwrap(),
            auth_core::Rotation::Rotated(_)
        ));
        assert_eq!(
            other
                .rotate(session.id, &session.refresh_hash, &renewal)
                .await
                .unwrap(),
            auth_core::Rotation::Reused {
                user_id: session.user_id
            }
        );
        assert!(!one.is_live(session.id, now).await.unwrap());
    }

    /// A session evicted by a login beyond the limit is refused at once: by another instance
    /// (which reads Redis on every check), and by the evicting instance; its routing key is
    /// deleted.
    #[tokio::test]
    async fn an_evicted_session_is_refused_at_once() {
        let (one, other) = two_instances().await;
        let prefix = one.connection().key_prefix().to_owned();
        let now = now_seconds();
        let user = UserId::new();
        let limit = Admission {
            mark: one.mark(user).await.unwrap(),
            max_sessions: Some(1),
        };
        let first = sample_session(user, now);
        assert_eq!(
            one.create(&first, &limit).await.unwrap(),
            Admitted::Created { evicted: vec![] }
        );
        // Both instances have seen it live.
        assert!(one.is_live(first.id, now).await.unwrap());
        assert!(other.is_live(first.id, now).await.unwrap());
        let second = sample_session(user, now);
        assert_eq!(
            one.create(&second, &limit).await.unwrap(),
            Admitted::Created {
                evicted: vec![first.id]
            }
        );
        assert!(!one.is_live(first.id, now).await.unwrap());
        assert!(!other.is_live(first.id, now).await.unwrap());
        assert!(other.is_live(second.id, now).await.unwrap());
        let mut redis = common::inspect(&common::single_url()).await;
        let route: i64 = redis::cmd("EXISTS")
            .arg(format!("{prefix}:sid:{}", first.id))
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(route, 0, "the evicted session's routing key is deleted");
    }

    /// A refused creation leaves nothing behind, not even its routing key.
    #[tokio::test]
    async fn a_refused_creation_leaves_no_key() {
        let store = RedisSessionStore::new(common::single().await);
        let prefix = store.connection().key_prefix().to_owned();
        let now = now_seconds();
        let user = UserId::new();
        store.revoke_all(user, None).await.unwrap();
        let session = sample_session(user, now);
        assert_eq!(
            store.create(&session, &common::FIRST_LOGIN).await.unwrap(),
            Admitted::StaleMark
        );
        let mut redis = common::inspect(&common::single_url()).await;
        let left: i64 = redis::cmd("EXISTS")
            .arg(format!("{prefix}:sid:{}", session.id))
            .arg(format!("{prefix}:{{u:{user}}}:s:{}", session.id))
            .arg(format!("{prefix}:{{u:{user}}}:sessions"))
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(left, 0);
    }

    /// A refund creates no key, and leaves a window that has ended by the caller's clock
    /// alone.
    #[tokio::test]
    async fn a_refund_creates_no_key_and_skips_ended_windows() {
        let limiter = RedisRateLimiter::new(common::single().await);
        let prefix = limiter.connection().key_prefix().to_owned();
        let limit = RateLimit::new(1, Duration::minutes(1));
        let now = now_seconds();
        let mut redis = common::inspect(&common::single_url()).await;
        limiter.refund("login:ip:192.0.2.7", now).await.unwrap();
        let exists: i64 = redis::cmd("EXISTS")
            .arg(format!("{prefix}:rl:login:ip:192.0.2.7"))
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(exists, 0, "a refund never creates a window");

        assert!(limiter.hit("k", &limit, now).await.unwrap().is_allowed());
        // The window has ended by the time of this refund: nothing changes.
        limiter
            .refund("k", now + Duration::minutes(2))
            .await
            .unwrap();
        assert!(!limiter.peek("k", &limit, now).await.unwrap().is_allowed());
        limiter.refund("k", now).await.unwrap();
        assert!(limiter.peek("k", &limit, now).await.unwrap().is_allowed());
    }

    #[tokio::test]
    async fn retry_after_is_the_rest_of_the_window_rounded_up_to_seconds() {
        let limiter = RedisRateLimiter::new(common::single().await);
        let limit = RateLimit::new(1, Duration::seconds(90));
        let now = now_seconds();
        assert!(
            limiter
                .hit("forgot:account:a@example.com", &limit, now)
                .await
                .unwrap()
                .is_allowed()
        );
        let later = now + Duration::milliseconds(30_250);
        let expected = RateDecision::Limited {
            retry_after: Duration::seconds(60),
        };
        assert_eq!(
            limiter
                .hit("forgot:account:a@example.com", &limit, later)
                .await
                .unwrap(),
            expected
        );
        assert_eq!(
            limiter
                .peek("forgot:account:a@example.com", &limit, later)
                .await
                .unwrap(),
            expected
        );
        let last_moment = now + Duration::seconds(90) - Duration::nanoseconds(1);
        assert_eq!(
            limiter
                .hit("forgot:account:a@example.com", &limit, last_moment)
                .await
                .unwrap(),
            RateDecision::Limited {
                retry_after: Duration::seconds(1)
            }
        );
    }

    #[tokio::test]
    async fn keys_with_braces_and_odd_bytes_are_counted_apart() {
        let limiter = RedisRateLimiter::new(common::single().await);
        let limit = RateLimit::new(1, Duration::minutes(1));
        let now = now_seconds();
        for key in [
            "login:account:{a}@x",
            "login:account:{b}@x",
            "login:ip:::1",
            "token:ip:é 😀",
        ] {
            assert!(
                limiter.hit(key, &limit, now).await.unwrap().is_allowed(),
                "{key}"
            );
            assert!(
                !limiter.hit(key, &limit, now).await.unwrap().is_allowed(),
                "{key}"
            );
        }
    }
}

/// The `UserManager` on Redis stores, as two app instances behind a load balancer would run
/// it: one user store, one Redis, separate connections and caches.
mod manager {
    use std::sync::Arc;

    use auth_core::{
        Argon2Hasher, AuthError, ClientInfo, Email, JwtAlgorithm, JwtCodec, JwtKeys, ManagerConfig,
        MemoryUserStore, NewUser, NoProfile, Password, RateLimit, UserManager,
    };
    use auth_redis::{RedisConfig, RedisConnection, RedisRateLimiter, RedisSessionStore};
    use time::Duration;

    use super::common;

    async fn instance(
        users: &Arc<MemoryUserStore<NoProfile>>,
        prefix: &str,
        config: ManagerConfig,
    ) -> UserManager<NoProfile> {
        let redis: RedisConnection = RedisConfig::from_url(&common::single_url())
            .unwrap()
            .with_key_prefix(prefix)
            .unwrap()
            .connect()
            .await
            .unwrap();
        let keys = JwtKeys::hmac(JwtAlgorithm::HS256, b"0123456789abcdef0123456789abcdef").unwrap();
        UserManager::builder(
            users.clone(),
            Arc::new(RedisSessionStore::new(redis.clone())),
            JwtCodec::new(keys, "auth-redis-tests"),
        )
        .with_hasher(Arc::new(Argon2Hasher::fast_insecure()))
        .with_rate_limiter(Arc::new(RedisRateLimiter::new(redis)))
        .with_config(config)
        .build()
    }

    async fn two_instances(
        config: ManagerConfig,
    ) -> (UserManager<NoProfile>, UserManager<NoProfile>) {
        let users = Arc::new(MemoryUserStore::new());
        let prefix = common::fresh_prefix();
        (
            instance(&users, &prefix, config.clone()).await,
            instance(&users, &prefix, config).await,
        )
    }

    const PASSWORD: &str = "correct horse battery staple";

    async fn register(manager: &UserManager<NoProfile>) -> String {
        let email = format!("{}@example.com", auth_core::conformance::unique_tag());
        let new = NewUser::new(Email::parse(&email).unwrap(), PASSWORD);
        manager.register(new, &ClientInfo::default()).await.unwrap();
        email
    }

    #[tokio::test]
    async fn refresh_rotation_and_reuse_detection_hold_across_instances() {
        let (one, other) = two_instances(ManagerConfig::default()).await;
        let client = ClientInfo::default();
        let email = register(&one).await;
        let login = one
            .login(&email, &Password::new(PASSWORD), &client)
            .await
            .unwrap();
        other
            .authenticate_token(&login.tokens.access_token)
            .await
            .unwrap();

        let pair = other
            .refresh(&login.tokens.refresh_token, &client)
            .await
            .unwrap();
        one.authenticate_token(&pair.access_token).await.unwrap();
        // The spent token, replayed on the first instance, kills the session everywhere.
        assert!(matches!(
            one.refresh(&login.tokens.refresh_token, &client).await,
            Err(AuthError::InvalidToken)
        ));
        assert!(other.authenticate_token(&pair.access_token).await.is_err());
        assert!(other.refresh(&pair.refresh_token, &client).await.is_err());
    }

    #[tokio::test]
    async fn logging_out_everywhere_on_one_instance_ends_every_session_on_the_other() {
        let (one, other) = two_instances(ManagerConfig::default()).await;
        let client = ClientInfo::default();
        let email = register(&one).await;
        let first = one
            .login(&email, &Password::new(PASSWORD), &client)
            .await
            .unwrap();
        let second = other
            .login(&email, &Password::new(PASSWORD), &client)
            .await
            .unwrap();
        let user = first.user.id;
        assert_eq!(other.list_sessions(user).await.unwrap().len(), 2);
        other
            .authenticate_token(&first.tokens.access_token)
            .await
            .unwrap();

        assert_eq!(one.logout_everywhere(user).await.unwrap(), 2);
        for access in [&first.tokens.access_token, &second.tokens.access_token] {
            assert!(matches!(
                other.authenticate_token(access).await,
                Err(AuthError::InvalidToken)
            ));
        }
        assert!(other.list_sessions(user).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn failed_logins_are_counted_once_for_all_instances() {
        let mut config = ManagerConfig::default();
        config.rate_limits.login_account = Some(RateLimit::new(3, Duration::minutes(15)));
        let (one, other) = two_instances(config).await;
        let client = ClientInfo::default();
        let email = register(&one).await;
        let wrong = Password::new("not the password at all");
        for manager in [&one, &other, &one] {
            assert!(matches!(
                manager.login(&email, &wrong, &client).await,
                Err(AuthError::BadCredentials)
            ));
        }
        match other.login(&email, &Password::new(PASSWORD), &client).await {
            Err(AuthError::RateLimited { retry_after }) => {
                assert!(retry_after >= Duration::seconds(1));
                assert!(retry_after <= Duration::minutes(15));
            }
            other => panic!("expected a throttled login, got {:?}", other.map(|_| ())),
        }
    }
}
