//! [`RedisConnection`]: one managed, reconnecting connection to a Redis node or cluster,
//! shared by the stores.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use auth_core::StoreError;
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::{Cmd, FromRedisValue, RedisFuture, RedisResult, ScriptInvocation, Value};

use crate::error::{Error, store_error};
use crate::keys::Keys;

/// How long a store call may take when none is configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// A connection to Redis or Redis Cluster, with the key prefix and the time limit of every
/// store call. Cheap to clone: clones share one multiplexed connection (one per cluster node).
///
/// Build it with [`RedisConfig::connect`](crate::RedisConfig::connect), or wrap a connection
/// you already have with [`RedisConnection::from_manager`] /
/// `RedisConnection::from_cluster` (feature `cluster`).
///
/// # Failure behaviour
/// - Every store call is bounded by [`RedisConnection::timeout`]: if Redis has not answered by
///   then, the call returns [`StoreError::Unavailable`] and the caller fails closed.
/// - A lost connection is re-established by itself (single node: the driver's
///   `ConnectionManager`, one connection attempt at a time, each started by the call after a
///   failed one; cluster: per node, with slot refreshes). While Redis is down, calls fail at
///   once with a refused connection (or after the connection timeout, if the host does not
///   answer); the first calls after it returns succeed, with no store to rebuild. A call that
///   found only the stale refusal of an earlier attempt is retried once: nothing was sent, so
///   the retry cannot apply anything twice.
/// - On a cluster, a master that is down fails the calls for its users' slots; calls for
///   other users go on until the cluster declares itself down (`CLUSTERDOWN`, after the
///   cluster's node timeout). Both are [`StoreError::Unavailable`].
/// - As with any remote store, a call that timed out may still be applied when a slow Redis
///   catches up: an error means "not known to have happened". Callers treat it as a failure
///   (no token issued); revocations are idempotent and can simply be repeated.
#[derive(Clone)]
pub struct RedisConnection {
    inner: Conn,
    keys: Keys,
    timeout: Duration,
    /// Clients for subscribing to the revocation channel (one per configured node).
    subscribers: Option<Arc<[redis::Client]>>,
}

/// The driver's connection, single node or cluster.
#[derive(Clone)]
pub(crate) enum Conn {
    Single(ConnectionManager),
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(conn) => conn.req_packed_command(cmd),
            #[cfg(feature = "cluster")]
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            #[cfg(feature = "cluster")]
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(conn) => conn.get_db(),
            #[cfg(feature = "cluster")]
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}

impl RedisConnection {
    pub(crate) fn new(inner: Conn, keys: Keys, timeout: Duration) -> Self {
        Self {
            inner,
            keys,
            timeout,
            subscribers: None,
        }
    }

    /// Lets the session store announce revocations (see
    /// [`RedisSessionStore`](crate::RedisSessionStore)): each app instance subscribes to the
    /// revocation channel through the first of these clients that answers (any node of a
    /// cluster will do). [`RedisConfig::connect`](crate::RedisConfig::connect) sets them; a
    /// connection wrapped with [`from_manager`](Self::from_manager) has none until given
    /// some, and its sessions are then not cached.
    #[must_use]
    pub fn with_subscribers(mut self, clients: Vec<redis::Client>) -> Self {
        self.subscribers = (!clients.is_empty()).then(|| clients.into());
        self
    }

    pub(crate) fn subscribers(&self) -> Option<&Arc<[redis::Client]>> {
        self.subscribers.as_ref()
    }

    /// Wraps a single-node connection manager you built yourself, with the default key prefix
    /// (`auth`) and time limit (two seconds).
    pub fn from_manager(manager: ConnectionManager) -> Self {
        Self::new(Conn::Single(manager), Keys::default(), DEFAULT_TIMEOUT)
    }

    /// Wraps a cluster connection you built yourself, with the default key prefix (`auth`)
    /// and time limit (two seconds).
    #[cfg(feature = "cluster")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cluster")))]
    pub fn from_cluster(connection: redis::cluster_async::ClusterConnection) -> Self {
        Self::new(Conn::Cluster(connection), Keys::default(), DEFAULT_TIMEOUT)
    }

    /// Another key prefix: every key starts with `<prefix>:`. Several apps (or test runs) can
    /// share one Redis with different prefixes.
    ///
    /// # Errors
    /// [`Error::InvalidKeyPrefix`] if the prefix is empty or holds `{` or `}`.
    pub fn with_key_prefix(mut self, prefix: &str) -> Result<Self, Error> {
        self.keys = Keys::new(prefix)?;
        Ok(self)
    }

    /// Another time limit for every store call.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        self.keys.prefix()
    }

    /// The time limit of every store call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether this is a Redis Cluster connection.
    pub fn is_cluster(&self) -> bool {
        match self.inner {
            Conn::Single(_) => false,
            #[cfg(feature = "cluster")]
            Conn::Cluster(_) => true,
        }
    }

    pub(crate) fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Runs one store call within the time limit.
    pub(crate) async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_elapsed) => Err(StoreError::unavailable(Error::Timeout(self.timeout))),
        }
    }

    /// Sends one command.
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let mut conn = self.inner.clone();
        let first = cmd.query_async(&mut conn).await;
        retry_refusal(first, || cmd.query_async(&mut conn))
            .await
            .map_err(store_error)
    }

    /// Runs one script (by SHA, loading it on `NOSCRIPT`).
    pub(crate) async fn invoke<T: FromRedisValue>(
        &self,
        script: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut conn = self.inner.clone();
        let first = script.invoke_async(&mut conn).await;
        retry_refusal(first, || script.invoke_async(&mut conn))
            .await
            .map_err(store_error)
    }
}

/// Retries once when the connection was refused: the command was never sent, and the driver
/// has just started a new connection attempt (the refusal may be the stale outcome of an
/// attempt made while Redis was down).
async fn retry_refusal<T, F, Fut>(first: RedisResult<T>, again: F) -> RedisResult<T>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = RedisResult<T>>,
{
    match first {
        Err(err) if err.is_connection_refusal() => again().await,
        other => other,
    }
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The driver's own Debug would print the server addresses; the prefix and limits are
        // what matters here, and nothing secret is printed.
        f.debug_struct("RedisConnection")
            .field("cluster", &self.is_cluster())
            .field("key_prefix", &self.keys.prefix())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
