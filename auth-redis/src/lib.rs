//! # auth-redis
//!
//! Sessions, revocation and rate limits of the axum accounts workspace in Redis or Redis
//! Cluster, so that many app instances see one truth: a logout on one instance is refused on
//! all of them at once, and a throttled account is throttled everywhere.
//!
//! - [`RedisSessionStore`]: auth-core's [`SessionStore`](auth_core::SessionStore), with idle
//!   and absolute expiry, refresh-token rotation as one atomic script (parallel refreshes with
//!   one token: one winner; a replayed token revokes the session, a forged one changes
//!   nothing), session marks and a per-user session limit checked in the same script as the
//!   creation, a per-user index for "log out everywhere" and "my sessions", and a
//!   one-round-trip revocation check.
//! - [`RedisRateLimiter`]: auth-core's [`RateLimiter`](auth_core::RateLimiter), fixed windows
//!   counted atomically, with exact `Retry-After` values and atomic refunds.
//! - [`RedisConfig`] and [`RedisConnection`]: one managed connection from `REDIS_URL`, single
//!   node or cluster, that reconnects by itself; every call is bounded by a time limit and
//!   fails with [`StoreError::Unavailable`](auth_core::StoreError::Unavailable) while Redis is
//!   down, so the caller fails closed.
//!
//! Both stores pass the whole `auth_core::conformance` suite, on one Redis and on a Redis
//! Cluster.
//!
//! ## Quick start
//!
//! ```no_run
//! use std::sync::Arc;
//! use auth_core::{JwtAlgorithm, JwtCodec, JwtKeys, MemoryUserStore, NoProfile, UserManager};
//! use auth_redis::{RedisConfig, RedisRateLimiter, RedisSessionStore};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // REDIS_URL=redis://127.0.0.1:6379, or redis+cluster://10.0.0.1:7000,10.0.0.2:7000
//!     let redis = RedisConfig::from_env()?.with_key_prefix("my-app")?.connect().await?;
//!
//!     let keys = JwtKeys::hmac(JwtAlgorithm::HS256, b"replace me with 32+ random bytes!!")?;
//!     let manager = UserManager::<NoProfile>::builder(
//!         Arc::new(MemoryUserStore::new()), // users live in SQL in production (auth-sqlx)
//!         Arc::new(RedisSessionStore::new(redis.clone())),
//!         JwtCodec::new(keys, "my-app"),
//!     )
//!     .with_rate_limiter(Arc::new(RedisRateLimiter::new(redis)))
//!     .build();
//!     # let _ = manager;
//!     Ok(())
//! }
//! ```
//!
//! ## Features
//!
//! | feature | default | what it turns on |
//! |---|---|---|
//! | `cluster` | no | Redis Cluster: `redis+cluster://` URLs, lists of node URLs, [`RedisConfig::cluster`] |
//! | `tls` | no | `rediss://` URLs: rustls, trusting the webpki roots or [`RedisConfig::with_root_certificates`]; installs ring as rustls' crypto provider if the app has not installed one |
//!
//! The driver is re-exported as [`redis`], so an app that talks to Redis itself uses the same
//! version.
//!
//! ## Key layout
//!
//! Every key starts with the configured prefix (default `auth`; set one per app sharing a
//! Redis). `<sid>` and `<uid>` are UUIDs in their 36-character text form.
//!
//! | key | type | holds | expires |
//! |---|---|---|---|
//! | `<prefix>:sid:<sid>` | string | the owner's user id: the route from a session id to its user's slot | at the absolute expiry |
//! | `<prefix>:{u:<uid>}:s:<sid>` | hash | one session (fields below) | at the effective expiry, renewed at each rotation |
//! | `<prefix>:{u:<uid>}:sessions` | sorted set | the user's session ids, scored by when their keys expire | with the user's longest-lived session |
//! | `<prefix>:{u:<uid>}:mark` | string | the user's session mark, a counter moved by "log out everywhere" (absent: 0) | never |
//! | `<prefix>:rl:<key>` | hash | `c` count and `e` end of one rate-limit window | at the end of the window |
//!
//! Session hash fields: `r` refresh-token digest and `a` opaque access-token digest (32 raw
//! bytes each; `a` only with opaque access tokens), `c` created, `l` last used, `i` idle
//! expiry, `e` absolute expiry (integer nanoseconds since the Unix epoch), `ua`, `ua1`, ...
//! the user agent in pieces of at most 64 bytes, `ip` (the last two when known), and `p0`,
//! `p1`, ... the refresh digests the session has rotated away (newest last, at most
//! [`REMEMBERED_ROTATIONS`](auth_core::REMEMBERED_ROTATIONS)), concatenated and cut into pieces
//! of 64 bytes. Only digests of tokens are stored, never tokens.
//!
//! The pieces are there for memory: Redis keeps a hash in its compact listpack encoding only
//! while every value is at most `hash-max-listpack-value` bytes (64 by default), and a typical
//! browser user agent is longer; stored whole, it would turn the session into a hash table of
//! twice the size (800 bytes instead of 392 in the measurement below).
//!
//! Why this shape:
//!
//! - **One user, one hash slot.** A user's session hashes and index share the hash tag
//!   `{u:<uid>}`, so creating, rotating, revoking, listing and "log out everywhere" each run as
//!   one Lua script in one slot, atomic on a single Redis and on a cluster alike. "Log out
//!   everywhere" reads the user's index and deletes exactly those keys: no `KEYS`, no `SCAN`,
//!   nothing of other users touched.
//! - **Marks and the session limit.** A login reads the user's mark before it checks the
//!   password; the creation script compares it with the mark key and refuses the session if
//!   "log out everywhere" (which moves the mark in its own script) ran in between. The same
//!   script evicts the user's least recently used live sessions (by their `l` field: the
//!   index is scored by key expiry, not by use) beyond the limit. The mark key has no time to
//!   live on purpose: an expired mark would read 0 again, and a login that read 0 before a
//!   revocation would be admitted after it. It costs about 100 bytes per user ever revoked.
//! - **Reuse versus forgery.** A refresh with the session's current digest rotates; one of
//!   its remembered, rotated-away digests is a replay and ends the session; any other digest
//!   (anyone can read a session id from an access token and make one up) changes nothing.
//! - **The route key.** [`SessionStore::get`](auth_core::SessionStore::get) and the
//!   revocation check know only a session id, so `<prefix>:sid:<sid>` (in the session id's own
//!   slot) names the owner. It never changes, so each store caches it in process
//!   ([`RedisSessionStore::with_route_cache`]); the revocation check is then one `HMGET` on
//!   the session hash, one round trip, and a revoked session is refused on the very next
//!   request: the cache holds who owns a session, never whether it is alive. The session hash
//!   is the only truth about a session; a route key without it finds nothing.
//! - **The revocation feed.** Every script that ends a session (revoke, "log out
//!   everywhere", a replayed refresh token, an eviction at the session limit) publishes the
//!   session's id on `<prefix>:revoked` in the same atomic step. So a
//!   [`SessionCache`](auth_core::SessionCache), which a `UserManager` puts in front of this
//!   store by default, answers the revocation check of a busy session from memory and
//!   forgets it the moment any instance ends it; while the subscription is down, it asks
//!   Redis every time (fail closed). A session evicted by Redis itself under memory pressure
//!   (`maxmemory` with an evicting policy) is not announced: run the session keys on a Redis
//!   that does not evict (`noeviction`, the default).
//! - **Expiry.** Session keys expire when the session does: after what is left of it by the
//!   session's own clock, but no later than its expiry by the Redis server's clock (so a
//!   session that is already dead goes at once). Redis frees memory by itself and
//!   [`SessionStore::sweep_expired`](auth_core::SessionStore::sweep_expired) has nothing to
//!   do. Liveness is still judged against the `now` each call passes, so the store agrees
//!   with an injected clock.
//!
//! ## Memory per session
//!
//! Measured with `MEMORY USAGE` on Redis 7.0 (64-bit, jemalloc) for a session with a JWT access
//! token (no `a` field), a 111-character browser user agent and an IPv4 address, under the
//! prefix `auth` (test `memory_per_session_is_as_documented`):
//!
//! | key | bytes |
//! |---|---|
//! | session hash | 392 |
//! | route key | 152 |
//! | share of the user's index (a user with 5 sessions) | 72 |
//! | **total** | **616** |
//!
//! So a million live sessions take about 620 MB of Redis memory. Each rotation adds the
//! rotated-away digest to the hash until it holds [`REMEMBERED_ROTATIONS`](auth_core::REMEMBERED_ROTATIONS)
//! of them (32 bytes each, in pieces that keep the compact encoding): the same session with
//! an opaque access token, rotated 16 times or more, takes 1,048 bytes (test
//! `remembered_digests_keep_the_hash_compact_and_are_trimmed`). The digest of an opaque
//! access token adds 64 bytes to the hash (456 instead of 392, measured the same way); a longer
//! prefix adds its length twice (route and hash keys).
//! The in-process route cache costs about 80 bytes per cached session (100,000 by default).
//!
//! ## Redis Cluster
//!
//! With feature `cluster`, give `REDIS_URL=redis+cluster://host:7000,host:7001,host:7002` (or
//! the node URLs separated by commas). Every script touches one slot; the route key sits in
//! another slot and is read (or cached) before the script runs, and a "log out everywhere"
//! deletes the route keys with one `DEL` per slot afterwards. Nothing needs `CROSSSLOT`
//! support or cross-node transactions.
//!
//! Run Redis with `maxmemory-policy noeviction` (the default): an evicted user index would let
//! "log out everywhere" miss that user's sessions.
//!
//! ## Tests
//!
//! `cargo test -p auth-redis --all-features` runs the conformance suite and the crate's own
//! tests against the Redis at `127.0.0.1:6379` (or `REDIS_URL`), and against a three-master
//! Redis Cluster on loopback ports that the tests start themselves (`redis-server
//! --cluster-enabled yes` per port, then `redis-cli --cluster create`) and stop when they end;
//! or against the cluster in `REDIS_CLUSTER_URLS` if set. CI can also run
//! `auth-redis/scripts/cluster.sh start` beforehand and `cluster.sh stop` afterwards. When a
//! Redis is unreachable the tests fail with a message saying so; they never skip silently.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod codec;
mod config;
mod connection;
mod error;
mod keys;
mod limiter;
mod revocation_feed;
mod route_cache;
mod scripts;
mod sessions;
mod ttl;

pub use config::{DEFAULT_CONNECTION_TIMEOUT, RedisConfig};
pub use connection::{DEFAULT_TIMEOUT, RedisConnection};
pub use error::Error;
pub use keys::DEFAULT_KEY_PREFIX;
pub use limiter::RedisRateLimiter;
pub use redis;
pub use route_cache::DEFAULT_ROUTE_CACHE_CAPACITY;
pub use sessions::RedisSessionStore;

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<RedisConfig>();
        assert_send_sync::<RedisConnection>();
        assert_send_sync::<RedisSessionStore>();
        assert_send_sync::<RedisRateLimiter>();
        assert_send_sync::<Error>();
    }
}
