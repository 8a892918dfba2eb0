//! Helpers shared by the integration tests: connections with a fresh key prefix per test,
//! private Redis servers, and the test cluster.
// Not every test binary uses every helper; and a test helper's job is to fail loudly.
#![allow(dead_code, unreachable_pub)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[cfg(feature = "cluster")]
pub mod cluster;
pub mod server;

use std::collections::HashMap;

use auth_core::{Admission, SessionMark};
use auth_redis::{RedisConfig, RedisConnection};

/// What a login of a user who was never revoked presents: the initial mark, no session
/// limit. The tests' users are fresh, so their sessions are admitted with it.
pub const FIRST_LOGIN: Admission = Admission {
    mark: SessionMark::new(0),
    max_sessions: None,
};

/// The shared single Redis: `REDIS_URL`, or the one every development machine and CI job runs
/// on port 6379.
pub fn single_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A key prefix no other test uses, so tests run in parallel on one Redis.
pub fn fresh_prefix() -> String {
    format!("test-{}", auth_core::conformance::unique_tag())
}

/// Connects to `config`, failing the test with a message that says what is missing.
pub async fn connect(config: RedisConfig, what: &str) -> RedisConnection {
    config
        .with_key_prefix(&fresh_prefix())
        .unwrap()
        .connect()
        .await
        .unwrap_or_else(|err| {
            panic!("cannot reach {what} ({err}); start it, or point the tests elsewhere (see the crate docs, section Tests)")
        })
}

/// A connection to the shared single Redis under a fresh prefix.
pub async fn single() -> RedisConnection {
    let url = single_url();
    connect(
        RedisConfig::from_url(&url).unwrap(),
        &format!("the Redis at {url}"),
    )
    .await
}

/// A plain driver connection for inspecting a server.
pub async fn inspect(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|err| panic!("cannot reach the Redis at {url} ({err})"))
}

/// `calls` per command from `INFO commandstats`, e.g. `"hmget" => 3`.
pub async fn command_calls(url: &str) -> HashMap<String, u64> {
    let mut conn = inspect(url).await;
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap();
    parse_command_calls(&info)
}

pub fn parse_command_calls(info: &str) -> HashMap<String, u64> {
    info.lines()
        .filter_map(|line| {
            let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = stats
                .split(',')
                .find_map(|stat| stat.strip_prefix("calls="))?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

/// How many more times each command ran in `after` than in `before`.
pub fn delta(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> HashMap<String, u64> {
    after
        .iter()
        .map(|(name, calls)| (name.clone(), calls - before.get(name).copied().unwrap_or(0)))
        .filter(|(_, calls)| *calls > 0)
        .collect()
}

/// Commands that read or change the whole keyspace: a store must never send them.
pub const KEYSPACE_WIDE: &[&str] = &[
    "keys",
    "scan",
    "flushdb",
    "flushall",
    "randomkey",
    "dbsize",
    "swapdb",
    "move",
];
