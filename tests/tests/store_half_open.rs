//! The stores behind a half-open network (a dead host, a firewall dropping packets): open
//! connections stay open and nothing passes. Every call must end within its time limit as
//! unavailable, and once the network is back the same store must serve again by itself,
//! with no connection lost for good (the pool's places all come back).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use auth_core::conformance::TestProfile;
use auth_core::{SessionStore, StoreError, UserId, UserStore};
use auth_e2e::fault_proxy::{Fault, FaultProxy};
use auth_e2e::services;
use auth_redis::{RedisConfig, RedisSessionStore};
use auth_sqlx::{DbConfig, PgUserStore, migrate_postgres};
use futures::future::join_all;

/// A call's time limit in these tests.
const LIMIT: Duration = Duration::from_millis(500);
/// How long any call may take, with a margin for a loaded machine: far below "forever".
const AT_MOST: Duration = Duration::from_secs(10);

/// The URL of `url` with its port replaced by the proxy's.
fn through(url: &str, proxy: &FaultProxy) -> String {
    let mut parsed = reqwest::Url::parse(url).unwrap();
    parsed.set_port(Some(proxy.port())).unwrap();
    parsed.to_string()
}

fn target(url: &str) -> String {
    let parsed = reqwest::Url::parse(url).unwrap();
    format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap())
}

/// Runs `call` with a generous outer limit; how long it took, and what it answered.
async fn timed<T>(call: impl Future<Output = T>) -> (Duration, T) {
    let started = Instant::now();
    let answer = tokio::time::timeout(AT_MOST, call)
        .await
        .unwrap_or_else(|_| panic!("a call hung past {AT_MOST:?}"));
    (started.elapsed(), answer)
}

/// Retries `call` until it succeeds; how long that took after the network came back.
async fn healed<T, E: std::fmt::Debug, F: Future<Output = Result<T, E>>>(
    mut call: impl FnMut() -> F,
) -> Duration {
    let started = Instant::now();
    loop {
        let (_, answer) = timed(call()).await;
        match answer {
            Ok(_) => return started.elapsed(),
            Err(err) => {
                assert!(
                    started.elapsed() < AT_MOST,
                    "still failing {:?} after the network came back: {err:?}",
                    started.elapsed()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_connection_that_goes_silent_is_replaced() {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let proxy = FaultProxy::start(&target(&url)).await;
    let conn = RedisConfig::from_url(&through(&url, &proxy))
        .unwrap()
        .with_key_prefix(&format!("halfopen{}", auth_e2e::unique()))
        .unwrap()
        .with_timeout(LIMIT)
        .with_connection_timeout(LIMIT)
        .connect()
        .await
        .unwrap_or_else(|err| {
            panic!("Redis is unreachable at {url} ({err}); run `bash tests/run.sh`")
        });
    let store = RedisSessionStore::new(conn);
    let user = UserId::new();
    store.mark(user).await.unwrap();

    proxy.set(Fault::Blackhole);
    for _ in 0..3 {
        let (took, answer) = timed(store.mark(user)).await;
        assert!(
            matches!(answer, Err(StoreError::Unavailable(_))),
            "{answer:?}"
        );
        assert!(took < LIMIT * 4, "a silent call took {took:?}");
    }
    // Parallel calls on the silent connection: each ends, none hangs.
    let answers = join_all((0..8).map(|_| timed(store.mark(user)))).await;
    assert!(answers.iter().all(|(_, answer)| answer.is_err()));

    proxy.set(Fault::None);
    let took = healed(|| store.mark(user)).await;
    eprintln!("Redis: served again {took:?} after the network came back");
    assert!(took < LIMIT * 4, "served again only after {took:?}");
    // And it stays healed: the silent connection is not used again.
    for _ in 0..20 {
        store.mark(user).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_statements_on_a_silent_connection_end_and_the_pool_heals() {
    let scoped = services::fresh_postgres_schema().await;
    let pool = DbConfig::new(scoped.clone())
        .connect_postgres()
        .await
        .unwrap();
    migrate_postgres(&pool).await.unwrap();
    pool.close().await;

    const PLACES: u32 = 3;
    let proxy = FaultProxy::start(&target(&scoped)).await;
    let pool = DbConfig::new(through(&scoped, &proxy))
        .with_max_connections(PLACES)
        .with_acquire_timeout(LIMIT)
        .connect_postgres()
        .await
        .unwrap();
    let users = PgUserStore::new(pool.clone());
    let missing = UserId::new();
    let get = || UserStore::<TestProfile>::get(&users, missing);
    // Every place of the pool holds an open connection when the network goes silent.
    let warm = join_all((0..PLACES * 2).map(|_| get())).await;
    assert!(warm.iter().all(|answer| matches!(answer, Ok(None))));

    proxy.set(Fault::Blackhole);
    let answers = join_all((0..PLACES * 3).map(|_| timed(get()))).await;
    for (took, answer) in &answers {
        assert!(
            matches!(answer, Err(StoreError::Unavailable(_))),
            "{answer:?}"
        );
        assert!(
            *took < LIMIT * 4,
            "a statement on a silent connection took {took:?}"
        );
    }

    proxy.set(Fault::None);
    let took = healed(get).await;
    eprintln!("Postgres: served again {took:?} after the network came back");
    assert!(took < LIMIT * 4, "served again only after {took:?}");
    // No place of the pool was lost to a connection that went silent: as many calls as
    // there are places, each holding its connection, all succeed together. A connection whose
    // statement ran out of time keeps its place while the pool checks it on release, for at
    // most one more limit; so each place must come back within a few limits, not at once.
    let mut held = Vec::new();
    for _ in 0..PLACES {
        let started = Instant::now();
        let conn = loop {
            match pool.acquire().await {
                Ok(conn) => break conn,
                Err(err) if started.elapsed() < LIMIT * 4 => {
                    assert!(matches!(err, auth_sqlx::sqlx::Error::PoolTimedOut), "{err}");
                }
                Err(err) => panic!("a place of the pool was lost: {err}"),
            }
        };
        held.push(conn);
    }
    drop(held);
    for _ in 0..20 {
        assert!(matches!(get().await, Ok(None)));
    }
}
