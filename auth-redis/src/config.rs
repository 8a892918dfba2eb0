//! [`RedisConfig`]: where Redis is, the key prefix and the time limits; from a URL or the
//! environment.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use auth_core::env::{Env, EnvError};
use redis::IntoConnectionInfo;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::connection::{DEFAULT_TIMEOUT, Node, RedisConnection, SingleNode};
use crate::error::Error;
use crate::keys::Keys;

/// How long one connection attempt may take when none is configured.
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);

/// Where Redis is and how to talk to it: build one from a URL or from this crate's
/// environment variables ([`RedisConfig::from_env`], [`RedisConfig::from_lookup`]), adjust
/// it with the `with_*` methods, then [`connect`](RedisConfig::connect).
///
/// Accepted URLs:
///
/// | URL | meaning |
/// |---|---|
/// | `redis://[user:password@]host:6379[/db]` | one Redis server |
/// | `rediss://...` | the same over TLS (feature `tls`) |
/// | `redis+cluster://[user:password@]host:7000,host:7001` | Redis Cluster, from these seed nodes (feature `cluster`) |
/// | `rediss+cluster://...` | the same over TLS |
/// | `redis://host:7000,redis://host:7001` (commas or spaces) | Redis Cluster, from a list of node URLs |
///
/// ```
/// use std::time::Duration;
/// use auth_redis::RedisConfig;
///
/// let config = RedisConfig::from_url("redis://127.0.0.1:6379")?
///     .with_key_prefix("my-app")?
///     .with_timeout(Duration::from_millis(500));
/// assert!(!config.is_cluster());
/// // The password never shows in Debug output or error messages.
/// let secret = RedisConfig::from_url("redis://:hunter2@127.0.0.1:6379")?;
/// assert!(!format!("{secret:?}").contains("hunter2"));
/// # Ok::<(), auth_redis::Error>(())
/// ```
#[derive(Clone)]
pub struct RedisConfig {
    nodes: Nodes,
    keys: Keys,
    timeout: Duration,
    connection_timeout: Duration,
    /// Root certificates (PEM) to trust instead of the webpki roots.
    #[cfg(feature = "tls")]
    root_certificates: Option<Vec<u8>>,
}

#[derive(Clone)]
enum Nodes {
    Single(String),
    Cluster(Vec<String>),
}

impl RedisConfig {
    fn with_nodes(nodes: Nodes) -> Self {
        Self {
            nodes,
            keys: Keys::default(),
            timeout: DEFAULT_TIMEOUT,
            connection_timeout: DEFAULT_CONNECTION_TIMEOUT,
            #[cfg(feature = "tls")]
            root_certificates: None,
        }
    }

    /// A configuration from a URL (see the table above), with the default key prefix
    /// (`auth`), time limit (two seconds) and connection timeout (one second).
    ///
    /// # Errors
    /// [`Error::InvalidUrl`] for a URL the driver cannot read, [`Error::ClusterNotEnabled`] or
    /// [`Error::TlsNotEnabled`] for URLs that need a feature this build lacks.
    pub fn from_url(url: &str) -> Result<Self, Error> {
        let url = url.trim();
        if url.is_empty() {
            return Err(invalid("the URL is empty"));
        }
        let nodes = if let Some((tls, rest)) = cluster_scheme(url) {
            Nodes::Cluster(expand_cluster_url(tls, rest)?)
        } else if url.contains([',', ' ', '\t', '\n']) {
            Nodes::Cluster(
                url.split([',', ' ', '\t', '\n'])
                    .filter(|node| !node.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )
        } else {
            Nodes::Single(url.to_owned())
        };
        let all = match &nodes {
            Nodes::Single(url) => std::slice::from_ref(url),
            Nodes::Cluster(urls) => urls.as_slice(),
        };
        if matches!(nodes, Nodes::Cluster(_)) && !cfg!(feature = "cluster") {
            return Err(Error::ClusterNotEnabled);
        }
        for node in all {
            check_node_url(node)?;
        }
        Ok(Self::with_nodes(nodes))
    }

    /// A configuration for Redis Cluster from a list of node URLs (`redis://host:port`).
    ///
    /// # Errors
    /// As [`RedisConfig::from_url`]; [`Error::InvalidUrl`] for an empty list.
    #[cfg(feature = "cluster")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cluster")))]
    pub fn cluster<I, S>(nodes: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let nodes: Vec<String> = nodes.into_iter().map(Into::into).collect();
        if nodes.is_empty() {
            return Err(invalid("the list of cluster nodes is empty"));
        }
        for node in &nodes {
            check_node_url(node)?;
        }
        Ok(Self::with_nodes(Nodes::Cluster(nodes)))
    }

    /// A configuration from the process environment: `REDIS_URL` (any URL of the table
    /// above) and, if set, `REDIS_KEY_PREFIX`.
    ///
    /// # Errors
    /// [`Error::MissingUrl`] without `REDIS_URL`; otherwise as [`RedisConfig::from_lookup`].
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(&Env::process())?.ok_or(Error::MissingUrl)
    }

    /// A configuration from this crate's variables in `env`: `REDIS_URL` (any URL of the
    /// table above) and `REDIS_KEY_PREFIX` (default `auth`); `None` when `REDIS_URL` is unset
    /// (an app then keeps its sessions elsewhere). Blank values count as unset.
    ///
    /// ```
    /// use auth_core::env::Env;
    /// use auth_redis::RedisConfig;
    ///
    /// let env = Env::from_map([("REDIS_URL", "redis://127.0.0.1:6379"), ("REDIS_KEY_PREFIX", "app")]);
    /// let config = RedisConfig::from_lookup(&env)?.expect("REDIS_URL is set");
    /// assert_eq!(config.key_prefix(), "app");
    /// assert!(RedisConfig::from_lookup(&Env::from_map([("REDIS_URL", " ")]))?.is_none());
    /// # Ok::<(), auth_redis::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Env`] naming `REDIS_URL` or `REDIS_KEY_PREFIX` when its value is refused (for
    /// the reasons of [`RedisConfig::from_url`] and [`RedisConfig::with_key_prefix`]).
    pub fn from_lookup(env: &Env) -> Result<Option<Self>, Error> {
        let Some(url) = env.string("REDIS_URL") else {
            return Ok(None);
        };
        let config = Self::from_url(&url).map_err(|err| {
            EnvError::new(
                "REDIS_URL",
                err.to_string(),
                "Use redis://host:6379, or redis+cluster://host:port,host:port for Redis Cluster.",
            )
        })?;
        let config = match env.string("REDIS_KEY_PREFIX") {
            Some(prefix) => config.with_key_prefix(&prefix).map_err(|err| {
                EnvError::new(
                    "REDIS_KEY_PREFIX",
                    err.to_string(),
                    "Use a name without { or }, like auth.",
                )
            })?,
            None => config,
        };
        Ok(Some(config))
    }

    /// Another key prefix (default `auth`): every key starts with `<prefix>:`.
    ///
    /// # Errors
    /// [`Error::InvalidKeyPrefix`] if the prefix is empty or holds `{` or `}` (a brace would
    /// become the hash tag of every key and put them all in one cluster slot).
    pub fn with_key_prefix(mut self, prefix: &str) -> Result<Self, Error> {
        self.keys = Keys::new(prefix)?;
        Ok(self)
    }

    /// Another time limit for every store call (default two seconds): past it, the call
    /// returns [`StoreError::Unavailable`](auth_core::StoreError::Unavailable).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Another time limit for each attempt to open a connection (default one second).
    #[must_use]
    pub fn with_connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// Trusts these root certificates (PEM, one or more) for `rediss://` instead of the
    /// public webpki roots: for a Redis whose certificate comes from a private CA.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    #[must_use]
    pub fn with_root_certificates(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates = Some(pem.into());
        self
    }

    /// Whether this configuration is for Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.nodes, Nodes::Cluster(_))
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        self.keys.prefix()
    }

    /// Connects, and checks that Redis answers.
    ///
    /// # Errors
    /// [`Error::Connect`] when Redis refuses or fails the connection, [`Error::Timeout`] when
    /// it does not answer within the connection timeout plus the call time limit.
    pub async fn connect(&self) -> Result<RedisConnection, Error> {
        let limit = self.connection_timeout + self.timeout;
        let conn = tokio::time::timeout(limit, self.open())
            .await
            .map_err(|_| Error::Timeout(limit))??;
        let subscribers = match &self.nodes {
            Nodes::Single(url) => vec![self.client(url).map_err(Error::Connect)?],
            Nodes::Cluster(urls) => urls
                .iter()
                .map(|url| self.client(url))
                .collect::<Result<_, _>>()
                .map_err(Error::Connect)?,
        };
        Ok(RedisConnection::new(conn, self.keys.clone(), self.timeout)
            .with_subscribers(subscribers))
    }

    async fn open(&self) -> Result<Node, Error> {
        #[cfg(feature = "tls")]
        if self.uses_tls() {
            install_crypto_provider();
        }
        match &self.nodes {
            Nodes::Single(url) => {
                let client = self.client(url).map_err(Error::Connect)?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.connection_timeout))
                    .set_response_timeout(Some(self.timeout))
                    // One attempt per reconnection: while Redis is down, calls fail at once
                    // (or after the connection timeout, if the host does not answer) instead
                    // of queueing behind a backoff; each failed round is followed by a new
                    // attempt at the next call, so recovery needs no timer either.
                    .set_number_of_retries(0);
                let manager = ConnectionManager::new_with_config(client.clone(), config.clone())
                    .await
                    .map_err(Error::Connect)?;
                Ok(Node::Single(Arc::new(SingleNode::new(
                    manager,
                    Some((client, config)),
                ))))
            }
            #[cfg(feature = "cluster")]
            Nodes::Cluster(urls) => {
                #[cfg_attr(not(feature = "tls"), allow(unused_mut))]
                let mut builder =
                    redis::cluster::ClusterClientBuilder::new(urls.iter().map(String::as_str))
                        .connection_timeout(self.connection_timeout)
                        .response_timeout(self.timeout)
                        .retries(3)
                        .min_retry_wait(20)
                        .max_retry_wait(300);
                #[cfg(feature = "tls")]
                if let Some(pem) = &self.root_certificates {
                    builder = builder.certs(redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(pem.clone()),
                    });
                }
                let client = builder.build().map_err(Error::Connect)?;
                let connection = client
                    .get_async_connection()
                    .await
                    .map_err(Error::Connect)?;
                Ok(Node::Cluster(connection))
            }
            #[cfg(not(feature = "cluster"))]
            Nodes::Cluster(_) => Err(Error::ClusterNotEnabled),
        }
    }
}

impl RedisConfig {
    /// The driver's client for one node, trusting the configured root certificates.
    fn client(&self, url: &str) -> redis::RedisResult<redis::Client> {
        #[cfg(feature = "tls")]
        if let Some(pem) = &self.root_certificates {
            return redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.clone()),
                },
            );
        }
        redis::Client::open(url)
    }

    #[cfg(feature = "tls")]
    fn uses_tls(&self) -> bool {
        match &self.nodes {
            Nodes::Single(url) => url.starts_with("rediss://"),
            Nodes::Cluster(urls) => urls.iter().any(|url| url.starts_with("rediss://")),
        }
    }
}

/// Makes ring rustls' process-wide crypto provider, unless the app has installed one: the
/// driver's TLS setup needs one, and would panic if it found none (or several enabled by
/// crate features). An app that wants another provider installs it before connecting.
#[cfg(feature = "tls")]
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // An error means another thread installed one meanwhile: just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

fn invalid(reason: &'static str) -> Error {
    Error::InvalidUrl {
        reason,
        source: None,
    }
}

/// `Some((tls, rest after "://"))` for the `redis+cluster://` and `rediss+cluster://` schemes.
fn cluster_scheme(url: &str) -> Option<(bool, &str)> {
    if let Some(rest) = url.strip_prefix("redis+cluster://") {
        Some((false, rest))
    } else {
        url.strip_prefix("rediss+cluster://")
            .map(|rest| (true, rest))
    }
}

/// `redis+cluster://user:pw@a:1,b:2/0?x=y` into `redis://user:pw@a:1/0?x=y`,
/// `redis://user:pw@b:2/0?x=y`.
fn expand_cluster_url(tls: bool, rest: &str) -> Result<Vec<String>, Error> {
    let scheme = if tls { "rediss" } else { "redis" };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (format!("{userinfo}@"), hosts),
        None => (String::new(), authority),
    };
    let nodes: Vec<String> = hosts
        .split(',')
        .map(str::trim)
        .filter(|host| !host.is_empty())
        .map(|host| format!("{scheme}://{userinfo}{host}{tail}"))
        .collect();
    if nodes.is_empty() {
        return Err(invalid("a cluster URL needs at least one host:port"));
    }
    Ok(nodes)
}

/// Checks one node URL with the driver's own parser, and the features it needs.
fn check_node_url(url: &str) -> Result<(), Error> {
    if url.starts_with("rediss://") && !cfg!(feature = "tls") {
        return Err(Error::TlsNotEnabled);
    }
    if !url.contains("://") {
        return Err(invalid("expected redis://host:port or rediss://host:port"));
    }
    url.into_connection_info()
        .map(drop)
        .map_err(|source| Error::InvalidUrl {
            reason: "the driver cannot read it",
            source: Some(source),
        })
}

/// A URL with its user-info (user name and password) replaced by `***`.
fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            match rest[..end].rsplit_once('@') {
                Some((_, hosts)) => format!("{scheme}://***@{hosts}{}", &rest[end..]),
                None => url.to_owned(),
            }
        }
        None => "***".to_owned(),
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nodes: Vec<String> = match &self.nodes {
            Nodes::Single(url) => vec![redact(url)],
            Nodes::Cluster(urls) => urls.iter().map(|url| redact(url)).collect(),
        };
        let mut debug = f.debug_struct("RedisConfig");
        debug
            .field("cluster", &self.is_cluster())
            .field("nodes", &nodes)
            .field("key_prefix", &self.keys.prefix())
            .field("timeout", &self.timeout)
            .field("connection_timeout", &self.connection_timeout);
        #[cfg(feature = "tls")]
        debug.field("root_certificates", &self.root_certificates.is_some());
        debug.finish()
    }
}

impl Default for RedisConfig {
    /// `redis://127.0.0.1:6379` with the default prefix and time limits.
    fn default() -> Self {
        Self::with_nodes(Nodes::Single("redis://127.0.0.1:6379".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_node_urls() {
        let config = RedisConfig::from_url("redis://127.0.0.1:6379/2").unwrap();
        assert!(!config.is_cluster());
        assert_eq!(config.key_prefix(), "auth");
        assert!(RedisConfig::from_url("").is_err());
        assert!(RedisConfig::from_url("http://example.com").is_err());
        assert!(RedisConfig::from_url("127.0.0.1:6379").is_err());
    }

    #[test]
    fn cluster_urls_expand_to_one_url_per_node() {
        assert_eq!(
            expand_cluster_url(false, ":pw@a:7000,b:7001/0?protocol=resp3").unwrap(),
            [
                "redis://:pw@a:7000/0?protocol=resp3",
                "redis://:pw@b:7001/0?protocol=resp3"
            ]
        );
        assert_eq!(
            expand_cluster_url(true, "a:7000").unwrap(),
            ["rediss://a:7000"]
        );
        assert!(expand_cluster_url(false, "/0").is_err());
    }

    #[cfg(feature = "cluster")]
    #[test]
    fn cluster_configs_come_from_urls_and_lists() {
        for url in [
            "redis+cluster://127.0.0.1:7000,127.0.0.1:7001",
            "redis://127.0.0.1:7000,redis://127.0.0.1:7001",
            "redis://127.0.0.1:7000 redis://127.0.0.1:7001",
        ] {
            assert!(RedisConfig::from_url(url).unwrap().is_cluster(), "{url}");
        }
        assert!(
            RedisConfig::cluster(["redis://127.0.0.1:7000"])
                .unwrap()
                .is_cluster()
        );
        assert!(RedisConfig::cluster(Vec::<String>::new()).is_err());
    }

    #[cfg(not(feature = "cluster"))]
    #[test]
    fn cluster_urls_need_the_feature() {
        assert!(matches!(
            RedisConfig::from_url("redis+cluster://a:7000,b:7001"),
            Err(Error::ClusterNotEnabled)
        ));
    }

    #[test]
    fn passwords_never_print() {
        assert_eq!(redact("redis://u:secret@h:1/0"), "redis://***@h:1/0");
        assert_eq!(redact("redis://h:1"), "redis://h:1");
        let config = RedisConfig::from_url("redis://:secret@127.0.0.1:6379").unwrap();
        assert!(!format!("{config:?}").contains("secret"));
    }

    #[test]
    fn the_environment_names_the_url_and_the_prefix() {
        let env = |pairs: &[(&str, &str)]| Env::from_map(pairs.iter().copied());
        assert!(RedisConfig::from_lookup(&env(&[])).unwrap().is_none());
        let config = RedisConfig::from_lookup(&env(&[("REDIS_URL", " redis://127.0.0.1:6379 ")]))
            .unwrap()
            .unwrap();
        assert_eq!(config.key_prefix(), "auth");
        let err = RedisConfig::from_lookup(&env(&[("REDIS_URL", "http://x")])).unwrap_err();
        assert!(err.to_string().starts_with("REDIS_URL: "), "{err}");
        let err = RedisConfig::from_lookup(&env(&[
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("REDIS_KEY_PREFIX", "a{b}"),
        ]))
        .unwrap_err();
        assert!(err.to_string().starts_with("REDIS_KEY_PREFIX: "), "{err}");
    }

    #[test]
    fn prefixes_are_checked() {
        let config = RedisConfig::default();
        assert!(config.clone().with_key_prefix("a{b}").is_err());
        assert_eq!(config.with_key_prefix("app").unwrap().key_prefix(), "app");
    }
}
