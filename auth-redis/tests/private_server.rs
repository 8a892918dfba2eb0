//! Tests on a Redis server of their own: counting the commands a call sends, and stopping,
//! hanging and restarting Redis under a live store.
// Helpers outside the #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use auth_core::conformance::now_seconds;
use auth_core::conformance::sessions::sample_session;
use auth_core::{RateLimit, RateLimiter, Renewal, SessionStore, StoreError, TokenHash, UserId};
use auth_redis::{RedisConfig, RedisConnection, RedisRateLimiter, RedisSessionStore};
use common::server::PrivateRedis;
use futures::StreamExt;

async fn connect(server: &PrivateRedis, timeout: Duration) -> RedisConnection {
    RedisConfig::from_url(&server.url())
        .unwrap()
        .with_timeout(timeout)
        .with_connection_timeout(Duration::from_millis(500))
        .connect()
        .await
        .unwrap()
}

/// The data commands among `ran`, without what the inspecting connection itself sent.
fn data_commands(ran: HashMap<String, u64>) -> HashMap<String, u64> {
    ran.into_iter()
        .filter(|(name, _)| !matches!(name.as_str(), "info" | "client|setinfo" | "hello" | "ping"))
        .collect()
}

#[tokio::test]
async fn the_revocation_check_is_one_round_trip_once_the_owner_is_known() {
    let server = PrivateRedis::start();
    let store = RedisSessionStore::new(connect(&server, Duration::from_secs(2)).await);
    let now = now_seconds();
    let session = sample_session(UserId::new(), now);
    store.create(&session, &common::FIRST_LOGIN).await.unwrap();

    let before = common::command_calls(&server.url()).await;
    assert!(store.is_live(session.id, now).await.unwrap());
    let ran = data_commands(common::delta(
        &before,
        &common::command_calls(&server.url()).await,
    ));
    assert_eq!(ran, HashMap::from([("hmget".to_owned(), 1)]));

    // Another instance, which has never seen the session, reads the owner once.
    let other = RedisSessionStore::new(connect(&server, Duration::from_secs(2)).await);
    let before = common::command_calls(&server.url()).await;
    assert!(other.is_live(session.id, now).await.unwrap());
    assert!(other.is_live(session.id, now).await.unwrap());
    let ran = data_commands(common::delta(
        &before,
        &common::command_calls(&server.url()).await,
    ));
    assert_eq!(
        ran,
        HashMap::from([("get".to_owned(), 1), ("hmget".to_owned(), 2)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_one_user_among_ten_thousand_touches_only_that_users_keys() {
    let server = PrivateRedis::start();
    let store = RedisSessionStore::new(connect(&server, Duration::from_secs(5)).await);
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
    // Load the script once, so the counts below are those of a warm server.
    store.revoke_all(UserId::new(), None).await.unwrap();

    let before = common::command_calls(&server.url()).await;
    assert_eq!(store.revoke_all(target, None).await.unwrap(), 5);
    let ran = data_commands(common::delta(
        &before,
        &common::command_calls(&server.url()).await,
    ));
    for command in common::KEYSPACE_WIDE {
        assert!(!ran.contains_key(*command), "{command} ran: {ran:?}");
    }
    // One script (moving the mark, reading the index, deleting five hashes and announcing
    // each on the revocation channel), then one DEL of the five routes.
    assert_eq!(
        ran,
        HashMap::from([
            ("evalsha".to_owned(), 1),
            ("incr".to_owned(), 1),
            ("zrange".to_owned(), 1),
            ("del".to_owned(), 6),
            ("zrem".to_owned(), 5),
            ("publish".to_owned(), 5),
        ])
    );

    // Every other user keeps a route, a session and an index: 30,000 keys, all intact; and
    // the two revoked users have a mark each.
    let mut redis = common::inspect(&server.url()).await;
    let keys: u64 = redis::cmd("DBSIZE").query_async(&mut redis).await.unwrap();
    assert_eq!(keys, 30_002);
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
}

/// Runs every store call once while Redis is down: each must return an error, and return it
/// without hanging (the bound is generous on purpose: this checks "does not hang", not speed).
async fn every_call_fails_closed(
    store: &RedisSessionStore,
    limiter: &RedisRateLimiter,
    known: &auth_core::Session,
) {
    let now = now_seconds();
    let limit = RateLimit::new(5, time::Duration::minutes(1));
    let renewal = Renewal {
        refresh_hash: TokenHash::of(b"next"),
        access_hash: None,
        now,
        idle_expires_at: now + time::Duration::days(1),
    };
    let fresh = sample_session(UserId::new(), now);
    let bound = Duration::from_secs(5);
    macro_rules! fails {
        ($call:expr) => {
            match tokio::time::timeout(bound, $call).await {
                Ok(Err(StoreError::Unavailable(_))) => {}
                Ok(other) => panic!("{} answered {other:?} with Redis down", stringify!($call)),
                Err(_) => panic!("{} hung with Redis down", stringify!($call)),
            }
        };
    }
    fails!(store.create(&fresh, &common::FIRST_LOGIN));
    fails!(store.get(known.id, now));
    fails!(store.is_live(known.id, now));
    fails!(store.rotate(known.id, &known.refresh_hash, &renewal));
    fails!(store.list(known.user_id, now));
    fails!(store.revoke_all(known.user_id, None));
    fails!(store.revoke(known.id));
    fails!(limiter.hit("login:ip:192.0.2.1", &limit, now));
    fails!(limiter.peek("login:ip:192.0.2.1", &limit, now));
    fails!(limiter.clear("login:ip:192.0.2.1"));
}

#[tokio::test]
async fn with_redis_stopped_calls_fail_and_after_a_restart_the_same_store_works() {
    let mut server = PrivateRedis::start();
    let conn = connect(&server, Duration::from_secs(1)).await;
    let store = RedisSessionStore::new(conn.clone());
    let limiter = RedisRateLimiter::new(conn);
    let now = now_seconds();
    let known = sample_session(UserId::new(), now);
    store.create(&known, &common::FIRST_LOGIN).await.unwrap();

    server.stop();
    every_call_fails_closed(&store, &limiter, &known).await;
    // Twice: the second round meets a connection that has already failed to reconnect.
    every_call_fails_closed(&store, &limiter, &known).await;

    server.restart();
    // The first calls after the restart succeed, on the same store objects. The restarted
    // server is empty (nothing was saved).
    let session = sample_session(UserId::new(), now);
    store.create(&session, &common::FIRST_LOGIN).await.unwrap();
    assert_eq!(store.get(session.id, now).await.unwrap(), Some(session));
    assert!(!store.is_live(known.id, now).await.unwrap());
    let limit = RateLimit::new(1, time::Duration::minutes(1));
    assert!(
        limiter
            .hit("login:ip:192.0.2.1", &limit, now)
            .await
            .unwrap()
            .is_allowed()
    );
}

#[tokio::test]
async fn with_redis_hanging_calls_time_out_and_recover_when_it_answers_again() {
    let server = PrivateRedis::start();
    let conn = connect(&server, Duration::from_millis(500)).await;
    let store = RedisSessionStore::new(conn.clone());
    let limiter = RedisRateLimiter::new(conn);
    let now = now_seconds();
    let known = sample_session(UserId::new(), now);
    store.create(&known, &common::FIRST_LOGIN).await.unwrap();

    // A frozen server: connections stay open, nothing answers.
    signal(server.pid(), "STOP");
    let started = std::time::Instant::now();
    every_call_fails_closed(&store, &limiter, &known).await;
    let took = started.elapsed();
    signal(server.pid(), "CONT");
    // Ten calls, each cut at its 500 ms limit (far from the 5 s "hung" bound per call).
    assert!(took < Duration::from_secs(10), "ten calls took {took:?}");

    // The frozen server still holds the commands sent to it, and runs them now: a call that
    // timed out may yet be applied (revoking `known`, say), so only new work is checked.
    let session = sample_session(UserId::new(), now);
    store.create(&session, &common::FIRST_LOGIN).await.unwrap();
    assert_eq!(store.get(session.id, now).await.unwrap(), Some(session));
    store.is_live(known.id, now).await.unwrap();
}

fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid} failed");
}
