//! The stores on a three-master Redis Cluster (started by the tests unless
//! `REDIS_CLUSTER_URLS` names one): the whole conformance suite, the hash-slot layout, and
//! "log out everywhere" among 10,000 other users.
// Helpers outside the #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// Without the feature there is nothing to test; say so instead of passing silently.
#[cfg(not(feature = "cluster"))]
#[test]
#[ignore = "the Redis Cluster tests need `--features cluster` (or `--all-features`)"]
fn needs_the_cluster_feature() {}

#[cfg(feature = "cluster")]
mod common;

#[cfg(feature = "cluster")]
mod sessions {
    use auth_redis::RedisSessionStore;

    use super::common;

    auth_core::session_store_conformance!(RedisSessionStore::new(
        common::cluster::connection().await
    ));
}

#[cfg(feature = "cluster")]
mod sessions_without_route_cache {
    use auth_redis::RedisSessionStore;

    use super::common;

    auth_core::session_store_conformance!(
        RedisSessionStore::new(common::cluster::connection().await).with_route_cache(0)
    );
}

/// Scripts on every master publish on the revocation channel; a subscriber on any node
/// hears them all.
#[cfg(feature = "cluster")]
mod revocation_feed {
    use std::sync::Arc;

    use auth_core::SessionStore;
    use auth_core::conformance::revocation;
    use auth_redis::RedisSessionStore;

    use super::common;

    #[tokio::test]
    async fn every_behaviour_of_the_revocation_feed() {
        let conn = common::cluster::connection().await;
        let fed: Arc<dyn SessionStore> = Arc::new(RedisSessionStore::new(conn.clone()));
        let other: Arc<dyn SessionStore> = Arc::new(RedisSessionStore::new(conn));
        revocation::every_behaviour(fed, other).await;
    }
}

#[cfg(feature = "cluster")]
mod limiter {
    use auth_redis::RedisRateLimiter;

    use super::common;

    auth_core::rate_limiter_conformance!(RedisRateLimiter::new(
        common::cluster::connection().await
    ));
}

#[cfg(feature = "cluster")]
mod layout {
    use std::collections::HashSet;

    use auth_core::conformance::now_seconds;
    use auth_core::conformance::sessions::sample_session;
    use auth_core::{SessionStore, UserId};
    use auth_redis::RedisSessionStore;
    use futures::StreamExt;

    use super::common;

    async fn slot(key: &str) -> i64 {
        let mut redis = common::inspect(&common::cluster::urls()[0]).await;
        redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query_async(&mut redis)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_users_keys_share_one_slot_and_users_spread_over_the_cluster() {
        let conn = common::cluster::connection().await;
        let prefix = conn.key_prefix().to_owned();
        let mut user_slots = HashSet::new();
        for _ in 0..20 {
            let user = UserId::new();
            let index = slot(&format!("{prefix}:{{u:{user}}}:sessions")).await;
            assert_eq!(slot(&format!("{prefix}:{{u:{user}}}:mark")).await, index);
            for _ in 0..3 {
                let id = auth_core::SessionId::random();
                assert_eq!(slot(&format!("{prefix}:{{u:{user}}}:s:{id}")).await, index);
            }
            user_slots.insert(index);
        }
        assert!(user_slots.len() > 10, "users must not pile up in one slot");
        drop(conn);
    }

    /// 10,000 other users' sessions are present; revoking every session of one user leaves
    /// all of them intact and sends no keyspace-wide command to any node.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn revoking_one_user_among_ten_thousand_leaves_the_others_intact() {
        let store = RedisSessionStore::new(common::cluster::connection().await);
        let now = now_seconds();
        let others: Vec<_> = (0..10_000)
            .map(|_| sample_session(UserId::new(), now))
            .collect();
        let target = UserId::new();
        let mine: Vec<_> = (0..5).map(|_| sample_session(target, now)).collect();
        futures::stream::iter(others.iter().chain(&mine))
            .for_each_concurrent(64, |session| {
                let store = &store;
                async move {
                    store.create(session, &common::FIRST_LOGIN).await.unwrap();
                }
            })
            .await;

        let urls = common::cluster::urls();
        let mut before = Vec::new();
        for url in urls {
            before.push(common::command_calls(url).await);
        }
        assert_eq!(store.revoke_all(target, None).await.unwrap(), 5);
        for (url, before) in urls.iter().zip(&before) {
            let ran = common::delta(before, &common::command_calls(url).await);
            for command in common::KEYSPACE_WIDE {
                assert!(
                    !ran.contains_key(*command),
                    "{command} ran on {url}: {ran:?}"
                );
            }
        }

        for session in &mine {
            assert!(!store.is_live(session.id, now).await.unwrap());
        }
        let intact = futures::stream::iter(&others)
            .map(|session| {
                let store = &store;
                async move { store.get(session.id, now).await.unwrap().as_ref() == Some(session) }
            })
            .buffer_unordered(64)
            .filter(|intact| std::future::ready(*intact))
            .count()
            .await;
        assert_eq!(intact, others.len());
        // Leave the shared cluster as we found it.
        futures::stream::iter(&others)
            .for_each_concurrent(64, |session| {
                let store = &store;
                async move {
                    store.revoke(session.id).await.unwrap();
                }
            })
            .await;
    }
}

#[cfg(feature = "cluster")]
mod outage {
    use std::time::Duration;

    use auth_core::conformance::now_seconds;
    use auth_core::conformance::sessions::sample_session;
    use auth_core::{SessionStore, StoreError, UserId};
    use auth_redis::{RedisConfig, RedisSessionStore};

    use super::common;
    use super::common::cluster::TestCluster;

    /// A master of a private cluster stops mid-test: calls for its users fail (and none
    /// hangs); once it is back and the cluster is whole again, the next calls succeed on the
    /// same store.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn with_a_master_stopped_calls_fail_and_after_its_restart_the_same_store_works() {
        let mut cluster = TestCluster::start_private(2_000);
        let store = RedisSessionStore::new(
            RedisConfig::cluster(cluster.urls())
                .unwrap()
                .with_timeout(Duration::from_secs(1))
                .with_connection_timeout(Duration::from_millis(500))
                .connect()
                .await
                .unwrap(),
        );
        let now = now_seconds();
        // Thirty users: some land on every master (all miss one with odds of 5 in a million).
        let sessions: Vec<_> = (0..30)
            .map(|_| sample_session(UserId::new(), now))
            .collect();
        for session in &sessions {
            store.create(session, &common::FIRST_LOGIN).await.unwrap();
        }

        cluster.stop(0);
        let mut failed = 0;
        for session in &sessions {
            match tokio::time::timeout(Duration::from_secs(5), store.is_live(session.id, now)).await
            {
                Ok(Ok(live)) => assert!(live),
                Ok(Err(StoreError::Unavailable(_))) => failed += 1,
                Ok(Err(other)) => panic!("expected Unavailable, got {other:?}"),
                Err(_) => panic!("is_live hung with a master down"),
            }
        }
        assert!(failed > 0, "no session lived on the stopped master");

        cluster.restart(0);
        tokio::task::block_in_place(|| cluster.wait_until_ok());
        // The restarted master is empty (nothing was saved); the others kept their sessions.
        let mut live = 0;
        for session in &sessions {
            live += usize::from(store.is_live(session.id, now).await.unwrap());
        }
        assert_eq!(live, sessions.len() - failed);
        let fresh: Vec<_> = (0..10)
            .map(|_| sample_session(UserId::new(), now))
            .collect();
        for session in &fresh {
            store.create(session, &common::FIRST_LOGIN).await.unwrap();
            assert_eq!(
                store.get(session.id, now).await.unwrap().as_ref(),
                Some(session)
            );
        }
    }
}
