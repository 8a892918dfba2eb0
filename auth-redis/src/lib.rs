//! # auth-redis
//!
//! Sessions, revocation and rate limits of the axum accounts workspace in Redis or Redis
//! Cluster: [`RedisSessionStore`] and [`RedisRateLimiter`] on a [`RedisConnection`].
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod codec;
mod config;
mod connection;
mod error;
mod keys;
mod limiter;
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
