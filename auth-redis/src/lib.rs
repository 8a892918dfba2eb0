//! # auth-redis
//!
//! Sessions, revocation and rate limits of the axum accounts workspace in Redis or Redis
//! Cluster (work in progress: the connection layer).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// The stores that use these helpers come in the next commit.
#![allow(dead_code)]

mod codec;
mod config;
mod connection;
mod error;
mod keys;
mod ttl;

pub use config::{DEFAULT_CONNECTION_TIMEOUT, RedisConfig};
pub use connection::{DEFAULT_TIMEOUT, RedisConnection};
pub use error::Error;
pub use keys::DEFAULT_KEY_PREFIX;
pub use redis;
