//! [`DbConfig`]: where the database is and how big the pool is, from the environment or code.

use std::fmt;
use std::time::Duration;

use auth_core::env::{Env, EnvError};

use crate::error::Error;

/// Which database a [`DbConfig`] points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DbKind {
    /// A `postgres://` or `postgresql://` URL, or the `DB_*` variables.
    Postgres,
    /// A `sqlite:` URL: a file, or `sqlite::memory:`.
    Sqlite,
    /// A `mysql://` or `mariadb://` URL.
    MySql,
}

#[derive(Clone)]
pub(crate) enum Source {
    Url(String),
    Parts {
        host: String,
        port: u16,
        user: Option<String>,
        // Read only by the Postgres connector.
        #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
        password: Option<String>,
        name: Option<String>,
    },
}

/// Where the database is and how to pool connections to it.
///
/// Built from this crate's environment variables (the table below) with [`DbConfig::from_env`]
/// or, through an [`Env`] (a map, a `.env` file, tests), [`DbConfig::from_lookup`]; or in code
/// with [`DbConfig::new`] and the `with_*` methods; then
/// [`connect_postgres`](DbConfig::connect_postgres) or
/// [`connect_sqlite`](DbConfig::connect_sqlite) opens the pool.
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `DATABASE_URL` | `postgres://user:pass@host:5432/db`, `sqlite://path/auth.db` or `sqlite::memory:` | |
/// | `DB_HOST`, `DB_PORT`, `DB_USER`, `DB_PASS`, `DB_NAME` | Postgres by parts, when there is no `DATABASE_URL`; the parts are kept as they are (no escaping needed in the user or password) | port 5432, user `postgres`, database `postgres`, no password |
/// | `DB_MAX_CONNECTIONS` | pool size | 10 (SQLite in memory: 1) |
/// | `DB_MIN_CONNECTIONS` | connections kept open when idle | 0 |
/// | `DB_ACQUIRE_TIMEOUT` | seconds a query waits for a connection before the store answers [`StoreError::Unavailable`](auth_core::StoreError::Unavailable); on Postgres and MySQL also the time limit of each call, answer included | 5 |
///
/// Its `Debug` output never shows the password.
///
/// ```
/// use auth_sqlx::{DbConfig, DbKind};
/// use std::time::Duration;
///
/// let config = DbConfig::new("sqlite://auth.db")
///     .with_max_connections(4)
///     .with_acquire_timeout(Duration::from_secs(2));
/// assert_eq!(config.kind()?, DbKind::Sqlite);
/// # Ok::<(), auth_sqlx::Error>(())
/// ```
#[derive(Clone)]
pub struct DbConfig {
    pub(crate) source: Source,
    max_connections: Option<u32>,
    min_connections: u32,
    acquire_timeout: Duration,
    idle_timeout: Option<Duration>,
    max_lifetime: Option<Duration>,
    pub(crate) busy_timeout: Duration,
}

const DEFAULT_MAX_CONNECTIONS: u32 = 10;
/// `DB_USER` when unset.
const DEFAULT_USER: &str = "postgres";
/// `DB_NAME` when unset.
const DEFAULT_DATABASE: &str = "postgres";

impl DbConfig {
    /// A configuration for the database at `url` (`postgres://...`, `sqlite://...`,
    /// `sqlite::memory:`), with the default pool settings.
    pub fn new(url: impl Into<String>) -> Self {
        Self::with_source(Source::Url(url.into()))
    }

    /// A Postgres configuration by parts; `None` leaves a part to libpq's defaults (the `PG*`
    /// variables, then the operating-system user).
    pub fn postgres_parts(
        host: impl Into<String>,
        port: u16,
        user: Option<String>,
        password: Option<String>,
        database: Option<String>,
    ) -> Self {
        Self::with_source(Source::Parts {
            host: host.into(),
            port,
            user,
            password,
            name: database,
        })
    }

    fn with_source(source: Source) -> Self {
        Self {
            source,
            max_connections: None,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(5),
            idle_timeout: Some(Duration::from_secs(10 * 60)),
            max_lifetime: Some(Duration::from_secs(30 * 60)),
            busy_timeout: Duration::from_secs(5),
        }
    }

    /// Reads this crate's variables (the table above) from the process environment.
    ///
    /// # Errors
    /// [`Error::Config`] when neither `DATABASE_URL` nor `DB_HOST` is set, or a value does not
    /// parse; the message names the variable.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(&Env::process(), None)
    }

    /// As [`DbConfig::from_env`], but falls back to `default_url` when neither `DATABASE_URL`
    /// nor `DB_HOST` is set: `DbConfig::from_env_or("sqlite://auth.db")` is a zero-configuration
    /// default.
    ///
    /// # Errors
    /// [`Error::Config`] when a value does not parse.
    pub fn from_env_or(default_url: &str) -> Result<Self, Error> {
        Self::from_lookup(&Env::process(), Some(default_url))
    }

    /// Reads this crate's variables (the table above) from `env`, falling back to
    /// `default_url` when neither `DATABASE_URL` nor `DB_HOST` is set.
    ///
    /// ```
    /// use auth_core::env::Env;
    /// use auth_sqlx::{DbConfig, DbKind};
    ///
    /// let env = Env::from_map([("DB_HOST", "db.internal"), ("DB_PASS", "p@ss:/word")]);
    /// assert_eq!(DbConfig::from_lookup(&env, None)?.kind()?, DbKind::Postgres);
    /// let none = Env::from_map([("DB_MAX_CONNECTIONS", "4")]);
    /// let config = DbConfig::from_lookup(&none, Some("sqlite::memory:"))?;
    /// assert_eq!(config.kind()?, DbKind::Sqlite);
    /// # Ok::<(), auth_sqlx::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] when no database is named and there is no default, or a value does
    /// not parse; the message names the variable and how to fix it.
    pub fn from_lookup(env: &Env, default_url: Option<&str>) -> Result<Self, Error> {
        let invalid = |err: EnvError| Error::Config(err.to_string());
        let mut config = if let Some(url) = env.string("DATABASE_URL") {
            Self::new(url)
        } else if let Some(host) = env.string("DB_HOST") {
            let port = env
                .parse::<u16>("DB_PORT", "Use a port number from 1 to 65535, like 5432.")
                .map_err(invalid)?
                .unwrap_or(5432);
            Self::postgres_parts(
                host,
                port,
                Some(
                    env.string("DB_USER")
                        .unwrap_or_else(|| DEFAULT_USER.to_owned()),
                ),
                env.raw("DB_PASS"),
                Some(
                    env.string("DB_NAME")
                        .unwrap_or_else(|| DEFAULT_DATABASE.to_owned()),
                ),
            )
        } else if let Some(url) = default_url {
            Self::new(url)
        } else {
            return Err(invalid(EnvError::new(
                "DATABASE_URL",
                "no database configured",
                "Set DATABASE_URL (postgres://... or sqlite://...) or DB_HOST with DB_PORT, \
                 DB_USER, DB_PASS and DB_NAME.",
            )));
        };
        if let Some(max) = env
            .parse(
                "DB_MAX_CONNECTIONS",
                "Use a number of connections, like 10.",
            )
            .map_err(invalid)?
        {
            config = config.with_max_connections(max);
        }
        if let Some(min) = env
            .parse("DB_MIN_CONNECTIONS", "Use a number of connections, like 0.")
            .map_err(invalid)?
        {
            config = config.with_min_connections(min);
        }
        if let Some(seconds) = env
            .parse::<u64>("DB_ACQUIRE_TIMEOUT", "Use a number of seconds, like 5.")
            .map_err(invalid)?
        {
            config = config.with_acquire_timeout(Duration::from_secs(seconds));
        }
        Ok(config)
    }

    /// At most this many connections (default 10; an in-memory SQLite database always uses
    /// one, since each connection would otherwise see a database of its own).
    #[must_use]
    pub fn with_max_connections(mut self, max: u32) -> Self {
        self.max_connections = Some(max.max(1));
        self
    }

    /// Keep at least this many connections open (default 0).
    #[must_use]
    pub fn with_min_connections(mut self, min: u32) -> Self {
        self.min_connections = min;
        self
    }

    /// How long a query waits for a connection before the store answers
    /// [`StoreError::Unavailable`](auth_core::StoreError::Unavailable) (default 5 s). While the
    /// database is down, this is how long each request waits before failing.
    ///
    /// On Postgres and MySQL it is also the time limit of each store call, its answer
    /// included: a statement sent on a connection that went silent (a half-open network)
    /// ends as unavailable after it, and the connection is closed rather than handed out
    /// again. The stores' statements are single-row lookups and writes, far below it.
    #[must_use]
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Close connections idle this long (default 10 minutes; `None`: never).
    #[must_use]
    pub fn with_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Replace connections after this long (default 30 minutes; `None`: never).
    #[must_use]
    pub fn with_max_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.max_lifetime = lifetime;
        self
    }

    /// How long SQLite waits for another connection's write to finish before giving up with
    /// "database is locked" (default 5 s). Ignored by Postgres.
    #[must_use]
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Which database this points at, by the URL's scheme.
    ///
    /// # Errors
    /// [`Error::Config`] for a URL of another scheme.
    pub fn kind(&self) -> Result<DbKind, Error> {
        match &self.source {
            Source::Parts { .. } => Ok(DbKind::Postgres),
            Source::Url(url)
                if url.starts_with("postgres://") || url.starts_with("postgresql://") =>
            {
                Ok(DbKind::Postgres)
            }
            Source::Url(url) if url.starts_with("sqlite:") => Ok(DbKind::Sqlite),
            Source::Url(url) if url.starts_with("mysql://") || url.starts_with("mariadb://") => {
                Ok(DbKind::MySql)
            }
            Source::Url(url) => Err(Error::Config(format!(
                "DATABASE_URL must start with postgres://, postgresql://, sqlite:, mysql:// or \
                 mariadb://, not {:?}",
                scheme(url)
            ))),
        }
    }

    pub(crate) fn url(&self) -> Option<&str> {
        match &self.source {
            Source::Url(url) => Some(url),
            Source::Parts { .. } => None,
        }
    }

    /// The pool options shared by both databases.
    pub(crate) fn pool_options<DB: sqlx::Database>(&self) -> sqlx::pool::PoolOptions<DB> {
        sqlx::pool::PoolOptions::new()
            .max_connections(self.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS))
            .min_connections(self.min_connections)
            .acquire_timeout(self.acquire_timeout)
            .idle_timeout(self.idle_timeout)
            .max_lifetime(self.max_lifetime)
            // A connection the server dropped (restart, failover, `pg_terminate_backend`) is
            // noticed before it is handed out, so the store recovers by itself.
            .test_before_acquire(true)
    }

    /// The pool options of a database across a network (Postgres, MySQL): as
    /// [`DbConfig::pool_options`], and a connection handed back to the pool must answer its
    /// check within the acquire timeout or be closed. sqlx checks every connection given
    /// back with a round trip, and waits for it without a limit: on a connection that went
    /// silent (a half-open network), and above all one whose statement ran out of time, that
    /// check would hold a place in the pool for good.
    pub(crate) fn remote_pool_options<DB: sqlx::Database>(&self) -> sqlx::pool::PoolOptions<DB> {
        let limit = self.acquire_timeout;
        self.pool_options().after_release(move |conn, _meta| {
            Box::pin(async move {
                let answer: Result<Result<(), sqlx::Error>, _> =
                    tokio::time::timeout(limit, sqlx::Connection::ping(conn)).await;
                match answer {
                    Ok(answer) => answer.map(|()| true),
                    // An error, not `false`: the pool then closes the connection without
                    // writing to it, where a graceful close could wait on it again.
                    Err(_elapsed) => Err(sqlx::Error::PoolTimedOut),
                }
            })
        })
    }
}

fn scheme(url: &str) -> &str {
    url.split_once(':').map_or("", |(scheme, _)| scheme)
}

impl fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("DbConfig");
        match &self.source {
            // A URL may hold a password: show only its scheme.
            Source::Url(url) => out.field("url", &format_args!("{}:[redacted]", scheme(url))),
            Source::Parts {
                host,
                port,
                user,
                name,
                ..
            } => out
                .field("host", host)
                .field("port", port)
                .field("user", user)
                .field("password", &"[redacted]")
                .field("database", name),
        };
        out.field("max_connections", &self.max_connections)
            .field("min_connections", &self.min_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_lifetime", &self.max_lifetime)
            .field("busy_timeout", &self.busy_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> Env {
        Env::from_map(vars.iter().copied())
    }

    #[test]
    fn database_url_wins_over_parts() {
        let config = DbConfig::from_lookup(
            &lookup(&[("DATABASE_URL", "sqlite://a.db"), ("DB_HOST", "db")]),
            None,
        )
        .unwrap();
        assert_eq!(config.kind().unwrap(), DbKind::Sqlite);
        assert_eq!(config.url(), Some("sqlite://a.db"));
    }

    #[test]
    fn parts_make_a_postgres_config() {
        let config = DbConfig::from_lookup(
            &lookup(&[
                ("DB_HOST", "db.internal"),
                ("DB_PORT", "6543"),
                ("DB_USER", "app"),
                ("DB_PASS", "p@ss:/word"),
                ("DB_NAME", "accounts"),
                ("DB_MAX_CONNECTIONS", "20"),
                ("DB_ACQUIRE_TIMEOUT", "2"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(config.kind().unwrap(), DbKind::Postgres);
        assert_eq!(config.max_connections, Some(20));
        assert_eq!(config.acquire_timeout, Duration::from_secs(2));
        let debug = format!("{config:?}");
        assert!(!debug.contains("p@ss"), "{debug}");
        assert!(debug.contains("db.internal"));
    }

    #[test]
    fn parts_default_to_the_postgres_user_and_database_and_keep_the_password() {
        let config = DbConfig::from_lookup(
            &lookup(&[("DB_HOST", " db "), ("DB_PASS", " p@ss word ")]),
            None,
        )
        .unwrap();
        let Source::Parts {
            host,
            port,
            user,
            password,
            name,
        } = &config.source
        else {
            panic!("expected parts");
        };
        assert_eq!(host, "db");
        assert_eq!(*port, 5432);
        assert_eq!(user.as_deref(), Some("postgres"));
        assert_eq!(password.as_deref(), Some(" p@ss word "));
        assert_eq!(name.as_deref(), Some("postgres"));
    }

    #[test]
    fn nothing_configured_is_an_error_unless_there_is_a_default() {
        let err = DbConfig::from_lookup(&lookup(&[]), None).unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
        let config = DbConfig::from_lookup(&lookup(&[]), Some("sqlite::memory:")).unwrap();
        assert_eq!(config.url(), Some("sqlite::memory:"));
    }

    #[test]
    fn bad_values_name_their_variable() {
        let err = DbConfig::from_lookup(&lookup(&[("DB_HOST", "db"), ("DB_PORT", "http")]), None)
            .unwrap_err();
        assert!(err.to_string().contains("DB_PORT"), "{err}");
        let err = DbConfig::new("oracle://x").kind().unwrap_err();
        assert!(err.to_string().contains("oracle"), "{err}");
        assert_eq!(DbConfig::new("mysql://x").kind().unwrap(), DbKind::MySql);
        assert_eq!(DbConfig::new("mariadb://x").kind().unwrap(), DbKind::MySql);
    }

    #[test]
    fn url_passwords_are_not_shown() {
        let config = DbConfig::new("postgres://app:secret@db/accounts");
        assert!(!format!("{config:?}").contains("secret"));
    }
}
