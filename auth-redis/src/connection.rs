//! [`RedisConnection`]: one managed, reconnecting connection to a Redis node or cluster,
//! shared by the stores.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use auth_core::StoreError;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
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
///   failed one; cluster: per node, with slot refreshes).
/// - A connection that went silent (a half-open network: a dead host or a firewall dropping
///   packets, where the socket stays open and no answer ever comes) is given up when a call
///   on it runs out of time: the next calls go through a new connection, opened on first
///   use, and the silent one is closed once its last call has ended. This needs the means to open a
///   connection, so it holds for connections made by
///   [`RedisConfig::connect`](crate::RedisConfig::connect) to a single node, not for a
///   manager wrapped with [`RedisConnection::from_manager`]. A Redis that is merely slow sees
///   at most one new connection per time limit. While Redis is down, calls fail at
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
    inner: Node,
    keys: Keys,
    timeout: Duration,
    /// Clients for subscribing to the revocation channel (one per configured node).
    subscribers: Option<Arc<[redis::Client]>>,
}

/// Where the calls go: one node, whose connection can be replaced, or a cluster.
#[derive(Clone)]
pub(crate) enum Node {
    Single(Arc<SingleNode>),
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

/// The connection to a single node, and how to open another one when it goes silent.
pub(crate) struct SingleNode {
    /// The connection in use, and how many times it was replaced before.
    current: RwLock<(u64, ConnectionManager)>,
    /// How to open a replacement; `None` for a manager wrapped as it was given.
    reopen: Option<(redis::Client, ConnectionManagerConfig)>,
}

impl SingleNode {
    pub(crate) fn new(
        manager: ConnectionManager,
        reopen: Option<(redis::Client, ConnectionManagerConfig)>,
    ) -> Self {
        Self {
            current: RwLock::new((0, manager)),
            reopen,
        }
    }

    /// The connection in use, with its generation.
    fn current(&self) -> (u64, ConnectionManager) {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many times the connection was replaced.
    fn generation(&self) -> u64 {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .0
    }

    /// Replaces the connection of generation `silent` with a new one (opened on first use),
    /// unless another call has already replaced it.
    fn replace(&self, silent: u64) {
        let Some((client, config)) = &self.reopen else {
            return;
        };
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if current.0 != silent {
            return;
        }
        match ConnectionManager::new_lazy_with_config(client.clone(), config.clone()) {
            Ok(fresh) => {
                *current = (silent.wrapping_add(1), fresh);
                tracing::warn!(
                    target: "auth",
                    "Redis did not answer in time: its connection is replaced by a new one"
                );
            }
            Err(err) => {
                tracing::warn!(target: "auth", error = %err, "Redis connection not replaced");
            }
        }
    }
}

/// The driver's connection, single node or cluster, for one call.
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
    pub(crate) fn new(inner: Node, keys: Keys, timeout: Duration) -> Self {
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
        Self::new(
            Node::Single(Arc::new(SingleNode::new(manager, None))),
            Keys::default(),
            DEFAULT_TIMEOUT,
        )
    }

    /// Wraps a cluster connection you built yourself, with the default key prefix (`auth`)
    /// and time limit (two seconds).
    #[cfg(feature = "cluster")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cluster")))]
    pub fn from_cluster(connection: redis::cluster_async::ClusterConnection) -> Self {
        Self::new(Node::Cluster(connection), Keys::default(), DEFAULT_TIMEOUT)
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
            Node::Single(_) => false,
            #[cfg(feature = "cluster")]
            Node::Cluster(_) => true,
        }
    }

    pub(crate) fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Runs one store call within the time limit. A call that runs out of time gives up the
    /// connection it was sent on (see "Failure behaviour" above).
    pub(crate) async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let generation = self.generation();
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_elapsed) => {
                self.give_up(generation);
                Err(StoreError::unavailable(Error::Timeout(self.timeout)))
            }
        }
    }

    /// Which connection to a single node is in use (none for a cluster).
    fn generation(&self) -> Option<u64> {
        match &self.inner {
            Node::Single(node) => Some(node.generation()),
            #[cfg(feature = "cluster")]
            Node::Cluster(_) => None,
        }
    }

    /// Replaces the single node's connection of `generation`, which did not answer in time.
    fn give_up(&self, generation: Option<u64>) {
        if let (Node::Single(node), Some(generation)) = (&self.inner, generation) {
            node.replace(generation);
        }
    }

    /// The connection for one call.
    fn live(&self) -> (Conn, Option<u64>) {
        match &self.inner {
            Node::Single(node) => {
                let (generation, manager) = node.current();
                (Conn::Single(manager), Some(generation))
            }
            #[cfg(feature = "cluster")]
            Node::Cluster(connection) => (Conn::Cluster(connection.clone()), None),
        }
    }

    /// The end of one call: a timeout from the driver gives up the connection too.
    fn settle<T>(&self, result: RedisResult<T>, generation: Option<u64>) -> Result<T, StoreError> {
        if let Err(err) = &result
            && err.is_timeout()
        {
            self.give_up(generation);
        }
        result.map_err(store_error)
    }

    /// Sends one command.
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let (mut conn, generation) = self.live();
        let first = cmd.query_async(&mut conn).await;
        let result = retry_refusal(first, || cmd.query_async(&mut conn)).await;
        self.settle(result, generation)
    }

    /// Runs one script (by SHA, loading it on `NOSCRIPT`).
    pub(crate) async fn invoke<T: FromRedisValue>(
        &self,
        script: &ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let (mut conn, generation) = self.live();
        let first = script.invoke_async(&mut conn).await;
        let result = retry_refusal(first, || script.invoke_async(&mut conn)).await;
        self.settle(result, generation)
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
