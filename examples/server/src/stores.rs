//! Where users, sessions and throttle counters live: SQLite by default, Postgres or MySQL from
//! `DATABASE_URL` (or Postgres from `DB_*`), sessions and limits in Redis (or a cluster) from `REDIS_URL`
//! (keys under `REDIS_KEY_PREFIX`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::{
    AuditLog, MemoryRateLimiter, MfaStore, OAuthAccountStore, RateLimiter, SessionId, SessionStore,
    SystemClock, UserId, UserStore,
};
use auth_redis::{RedisRateLimiter, RedisSessionStore};
use auth_sqlx::{
    DbKind, MySqlAuditLog, MySqlSessionStore, MySqlUserStore, PgAuditLog, PgSessionStore,
    PgUserStore, SqliteAuditLog, SqliteSessionStore, SqliteUserStore, migrate_mysql,
    migrate_postgres, migrate_sqlite, spawn_audit_pruner, spawn_sweeper,
};

use crate::Names;
use crate::health::Probe;
use crate::settings::Settings;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The stores the settings ask for, and a health probe for each backing service.
#[derive(Clone)]
pub struct Backends {
    /// Users: SQLite, Postgres or MySQL.
    pub users: Arc<dyn UserStore<Names>>,
    /// The same store, as the keeper of linked provider accounts.
    pub oauth_accounts: Arc<dyn OAuthAccountStore<Names>>,
    /// The same store, as the keeper of second factors.
    pub mfa: Arc<dyn MfaStore<Names>>,
    /// Sessions: in the database, or in Redis.
    pub sessions: Arc<dyn SessionStore>,
    /// Throttle counters: in process, or in Redis (shared by every instance).
    pub limiter: Arc<dyn RateLimiter>,
    /// Users' audit trails: in the users' database.
    pub audit: Arc<dyn AuditLog>,
    /// One probe per backing service, for `/health`.
    pub probes: Vec<Arc<dyn Probe>>,
    /// Whether sessions live in SQL (then expired rows are swept periodically).
    sweep_sql: bool,
}

impl Backends {
    /// Connects, and runs pending migrations (safe at every start, from several instances).
    ///
    /// # Errors
    /// When a database or Redis cannot be reached or migrated.
    pub async fn connect(settings: &Settings) -> Result<Self, BoxError> {
        if settings.embedded_database {
            std::fs::create_dir_all(&settings.data_dir)?;
        }
        let config = settings.database.clone();
        let (accounts, sql_sessions, audit): (
            Arc<dyn Accounts>,
            Arc<dyn SessionStore>,
            Arc<dyn AuditLog>,
        ) = match config.kind()? {
            DbKind::Postgres => {
                let pool = config.connect_postgres().await?;
                migrate_postgres(&pool).await?;
                tracing::info!("users in Postgres");
                (
                    Arc::new(PgUserStore::new(pool.clone())),
                    Arc::new(PgSessionStore::new(pool.clone())),
                    Arc::new(PgAuditLog::new(pool)),
                )
            }
            DbKind::MySql => {
                let pool = config.connect_mysql().await?;
                migrate_mysql(&pool).await?;
                tracing::info!("users in MySQL");
                (
                    Arc::new(MySqlUserStore::new(pool.clone())),
                    Arc::new(MySqlSessionStore::new(pool.clone())),
                    Arc::new(MySqlAuditLog::new(pool)),
                )
            }
            DbKind::Sqlite => {
                let pool = config.connect_sqlite().await?;
                migrate_sqlite(&pool).await?;
                tracing::info!(database = ?config, "users in SQLite");
                (
                    Arc::new(SqliteUserStore::new(pool.clone())),
                    Arc::new(SqliteSessionStore::new(pool.clone())),
                    Arc::new(SqliteAuditLog::new(pool)),
                )
            }
            other => return Err(format!("unsupported database: {other:?}").into()),
        };
        let users: Arc<dyn UserStore<Names>> = accounts.clone();
        let oauth_accounts: Arc<dyn OAuthAccountStore<Names>> = accounts.clone();
        let mfa: Arc<dyn MfaStore<Names>> = accounts;
        let mut probes: Vec<Arc<dyn Probe>> = vec![Arc::new(DatabaseProbe(users.clone()))];
        let (sessions, limiter, sweep_sql): (Arc<dyn SessionStore>, Arc<dyn RateLimiter>, bool) =
            match &settings.redis {
                Some(config) => {
                    let connection = config.connect().await?;
                    tracing::info!(
                        cluster = connection.is_cluster(),
                        "sessions and rate limits in Redis"
                    );
                    let sessions: Arc<dyn SessionStore> =
                        Arc::new(RedisSessionStore::new(connection.clone()));
                    probes.push(Arc::new(SessionProbe(sessions.clone())));
                    (sessions, Arc::new(RedisRateLimiter::new(connection)), false)
                }
                None => (sql_sessions, Arc::new(MemoryRateLimiter::new()), true),
            };
        Ok(Self {
            users,
            oauth_accounts,
            mfa,
            sessions,
            limiter,
            audit,
            probes,
            sweep_sql,
        })
    }

    /// Deletes expired SQL sessions every `period` (Redis expires its keys by itself).
    pub fn spawn_sweeper(&self, period: Duration) {
        if self.sweep_sql
            && let Err(err) = spawn_sweeper(self.sessions.clone(), Arc::new(SystemClock), period)
        {
            tracing::warn!(error = %err, "expired sessions will not be swept");
        }
    }

    /// Deletes audit events older than `retention` every `period`.
    pub fn spawn_audit_pruner(&self, retention: time::Duration, period: Duration) {
        if let Err(err) =
            spawn_audit_pruner(self.audit.clone(), Arc::new(SystemClock), retention, period)
        {
            tracing::warn!(error = %err, "old audit events will not be pruned");
        }
    }
}

/// A user store that also keeps provider accounts and second factors (every store of
/// `auth-sqlx` does).
pub trait Accounts: OAuthAccountStore<Names> + MfaStore<Names> {}

impl<T: OAuthAccountStore<Names> + MfaStore<Names>> Accounts for T {}

/// The database answers a lookup.
struct DatabaseProbe(Arc<dyn UserStore<Names>>);

#[async_trait]
impl Probe for DatabaseProbe {
    fn name(&self) -> &'static str {
        "database"
    }

    async fn is_up(&self) -> bool {
        self.0.get(UserId::new()).await.is_ok()
    }
}

/// Redis answers a session lookup.
struct SessionProbe(Arc<dyn SessionStore>);

#[async_trait]
impl Probe for SessionProbe {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn is_up(&self) -> bool {
        self.0
            .is_live(SessionId::random(), time::OffsetDateTime::now_utc())
            .await
            .is_ok()
    }
}
