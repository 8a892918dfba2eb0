//! The crate's error, and how Redis failures become [`StoreError`]s.

use std::time::Duration;

use auth_core::StoreError;
use auth_core::env::EnvError;
use redis::{ErrorKind, RedisError, ServerErrorKind};

/// What can go wrong while configuring or connecting (store calls answer
/// [`StoreError`] instead).
///
/// Messages never contain the URL: it may hold a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `REDIS_URL` is not set.
    #[error(
        "REDIS_URL is not set: set it to redis://host:6379, or to redis+cluster://host:port,host:port for Redis Cluster"
    )]
    MissingUrl,
    /// The URL could not be understood.
    #[error("invalid Redis URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it.
        reason: &'static str,
        /// The driver's complaint, if it had one.
        #[source]
        source: Option<RedisError>,
    },
    /// A key prefix that is empty or holds `{` or `}` (which would change the hash slots).
    #[error("invalid key prefix {0:?}: it must be non-empty and must not contain `{{` or `}}`")]
    InvalidKeyPrefix(String),
    /// A cluster URL without the crate's `cluster` feature.
    #[error("Redis Cluster URLs need the `cluster` feature of auth-redis")]
    ClusterNotEnabled,
    /// A `rediss://` URL without the crate's `tls` feature.
    #[error("rediss:// URLs need the `tls` feature of auth-redis")]
    TlsNotEnabled,
    /// The first connection failed.
    #[error("could not connect to Redis")]
    Connect(#[source] RedisError),
    /// Redis did not answer in time.
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    /// A variable read by [`RedisConfig::from_lookup`](crate::RedisConfig::from_lookup) is
    /// wrong; the message names it and how to fix it.
    #[error(transparent)]
    Env(#[from] EnvError),
}

/// A Redis failure as a store answers it: [`StoreError::Unavailable`] when Redis could not be
/// reached or did not answer (the caller fails closed, and the connection heals by itself),
/// [`StoreError::Backend`] for everything else. The driver's error is kept as the source.
pub(crate) fn store_error(err: RedisError) -> StoreError {
    if is_unavailable(&err) {
        StoreError::unavailable(err)
    } else {
        StoreError::backend(err)
    }
}

/// Whether the error means "Redis is not there right now" rather than "Redis said no".
pub(crate) fn is_unavailable(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_timeout()
        || err.is_connection_refusal()
        || err.is_connection_dropped()
        // MOVED, ASK, TRYAGAIN, CLUSTERDOWN: a cluster in flux (a node down, slots moving)
        // that outlasted the driver's own retries.
        || err.is_cluster_error()
        || matches!(
            err.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::MasterDown
                        | ServerErrorKind::BusyLoading
                        | ServerErrorKind::ReadOnly
                )
        )
}

/// Stored data this crate cannot read: someone else wrote the key, or it is corrupt.
#[derive(Debug, thiserror::Error)]
#[error("unreadable value in Redis: {0}")]
pub(crate) struct Corrupt(pub(crate) &'static str);

/// A [`StoreError::Backend`] for unreadable stored data.
pub(crate) fn corrupt(what: &'static str) -> StoreError {
    StoreError::backend(Corrupt(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_failures_are_unavailable_and_server_errors_are_backend() {
        let refused = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(matches!(store_error(refused), StoreError::Unavailable(_)));
        let down = RedisError::from((
            ErrorKind::Server(ServerErrorKind::ClusterDown),
            "cluster down",
        ));
        assert!(matches!(store_error(down), StoreError::Unavailable(_)));
        let moved = RedisError::from((
            ErrorKind::Server(ServerErrorKind::Moved),
            "MOVED",
            "1063 127.0.0.1:7201".to_owned(),
        ));
        assert!(matches!(store_error(moved), StoreError::Unavailable(_)));
        let wrong_type = RedisError::from((
            ErrorKind::Server(ServerErrorKind::ResponseError),
            "WRONGTYPE",
        ));
        assert!(matches!(store_error(wrong_type), StoreError::Backend(_)));
    }

    #[test]
    fn key_prefix_error_says_how_to_fix_it() {
        assert_eq!(
            Error::InvalidKeyPrefix("a{b".into()).to_string(),
            "invalid key prefix \"a{b\": it must be non-empty and must not contain `{` or `}`"
        );
    }
}
