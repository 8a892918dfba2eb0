//! Postgres (feature `postgres`): the [`Dialect`], the migrations, and connecting.

use std::str::FromStr;

use auth_core::BoxError;
use sqlx::error::{BoxDynError, DatabaseError};
use sqlx::postgres::{PgConnectOptions, PgPool, PgQueryResult};
use sqlx::{Connection, Executor, Pool, Postgres};
use time::{OffsetDateTime, UtcOffset};

use crate::audit_log::SqlAuditLog;
use crate::config::{DbConfig, Source};
use crate::dialect::{Dialect, sealed};
use crate::error::Error;
use crate::migrate::{self, EmbeddedMigration};
use crate::revocation_feed::Announces;
use crate::sessions::SqlSessionStore;
use crate::sql::Statements;
use crate::users::SqlUserStore;

/// A [`UserStore`](auth_core::UserStore) in Postgres. See [`SqlUserStore`].
pub type PgUserStore = SqlUserStore<Postgres>;

/// A [`SessionStore`](auth_core::SessionStore) in Postgres. See [`SqlSessionStore`].
pub type PgSessionStore = SqlSessionStore<Postgres>;

/// An [`AuditLog`](auth_core::AuditLog) in PostgreSQL. See [`SqlAuditLog`].
pub type PgAuditLog = SqlAuditLog<Postgres>;

const MIGRATIONS: &[EmbeddedMigration] = &[
    EmbeddedMigration {
        version: 1,
        description: "auth tables",
        sql: include_str!("../migrations/postgres/0001_auth_tables.sql"),
    },
    EmbeddedMigration {
        version: 2,
        description: "versions marks rotations",
        sql: include_str!("../migrations/postgres/0002_versions_marks_rotations.sql"),
    },
    EmbeddedMigration {
        version: 3,
        description: "oauth accounts",
        sql: include_str!("../migrations/postgres/0003_oauth_accounts.sql"),
    },
    EmbeddedMigration {
        version: 4,
        description: "mfa",
        sql: include_str!("../migrations/postgres/0004_mfa.sql"),
    },
    EmbeddedMigration {
        version: 5,
        description: "change feeds",
        sql: include_str!("../migrations/postgres/0005_change_feeds.sql"),
    },
    EmbeddedMigration {
        version: 6,
        description: "audit events",
        sql: include_str!("../migrations/postgres/0006_audit_events.sql"),
    },
];

/// Creates or updates this crate's tables (`auth_users`, `auth_sessions`,
/// `auth_session_marks`, `auth_oauth_accounts`, `auth_mfa_totp`, `auth_recovery_codes`,
/// `auth_passkeys`, `auth_audit_events`) in the current schema of `pool`'s database. Call it at every start-up, before building the stores.
///
/// - Safe to repeat: applied migrations are recorded and skipped.
/// - Safe from several instances at once: the migrator holds a Postgres advisory lock while it
///   runs, so one instance migrates and the others wait, then find nothing to do.
/// - Separate from the app's own sqlx migrations: ours are recorded in
///   `_auth_sqlx_migrations`, never in `_sqlx_migrations`, so `sqlx migrate run` and
///   `sqlx::migrate!()` in the app neither see nor complain about them. Both migrators may run
///   in either order.
/// - To keep our tables in a schema of their own, give the pool a `search_path`
///   (`postgres://.../db?options=-c%20search_path%3Dauth`) and create that schema first.
///
/// A newer instance's migrations, unknown to this version, are tolerated, so rolling upgrades
/// work.
///
/// # Errors
/// [`Error::Connect`] when the database cannot be reached; [`Error::Migrate`] when a
/// migration fails (it is then rolled back, and the next start-up tries again).
pub async fn migrate_postgres(pool: &PgPool) -> Result<(), Error> {
    // A connection of its own, taken out of the pool: the migrator holds a session-level
    // advisory lock, and if the run fails or is cancelled halfway, closing this connection is
    // what releases it. Back in the pool, it would block every later migrator.
    let mut conn = pool.acquire().await.map_err(Error::Connect)?.detach();
    let result = migrate::migrator(MIGRATIONS).run(&mut conn).await;
    // Closing only says goodbye politely; the lock is gone with the socket either way.
    let _ = conn.close().await;
    result.map_err(Error::Migrate)
}

impl DbConfig {
    /// The Postgres connection options of this configuration.
    ///
    /// # Errors
    /// [`Error::Config`] for a URL that does not parse or is not a Postgres URL.
    pub fn postgres_options(&self) -> Result<PgConnectOptions, Error> {
        if let Source::Parts {
            host,
            port,
            user,
            password,
            name,
        } = &self.source
        {
            let mut options = PgConnectOptions::new().host(host).port(*port);
            if let Some(user) = user {
                options = options.username(user);
            }
            if let Some(password) = password {
                options = options.password(password);
            }
            if let Some(database) = name {
                options = options.database(database);
            }
            return Ok(options);
        }
        if self.kind()? != crate::DbKind::Postgres {
            return Err(Error::Config(
                "not a Postgres URL: it must start with postgres:// or postgresql://".to_owned(),
            ));
        }
        let url = self.url().unwrap_or_default();
        PgConnectOptions::from_str(url)
            .map_err(|err| Error::Config(format!("DATABASE_URL does not parse: {err}")))
    }

    /// Opens a Postgres pool and checks that one connection works.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad configuration, [`Error::Connect`] when the server cannot
    /// be reached or refuses the login.
    pub async fn connect_postgres(&self) -> Result<PgPool, Error> {
        self.remote_pool_options()
            .connect_with(self.postgres_options()?)
            .await
            .map_err(Error::Connect)
    }

    /// A Postgres pool that connects on first use: start-up does not wait for (or fail on) a
    /// database that is still coming up; until it is up, the stores answer
    /// [`StoreError::Unavailable`](auth_core::StoreError::Unavailable).
    ///
    /// # Errors
    /// [`Error::Config`] for a bad configuration.
    pub fn connect_postgres_lazy(&self) -> Result<PgPool, Error> {
        Ok(self
            .remote_pool_options()
            .connect_lazy_with(self.postgres_options()?))
    }
}

impl sealed::Sealed for Postgres {}

impl Dialect for Postgres {
    fn session_announcements(pool: &Pool<Self>) -> auth_core::Revocations {
        auth_core::Revocations::Feed(std::sync::Arc::new(
            crate::revocation_feed::postgres::PgFeed::new(pool.clone(), Announces::Sessions),
        ))
    }

    fn user_announcements(pool: &Pool<Self>) -> auth_core::Revocations {
        auth_core::Revocations::Feed(std::sync::Arc::new(
            crate::revocation_feed::postgres::PgFeed::new(pool.clone(), Announces::Users),
        ))
    }

    const SQL: &'static Statements = &crate::sql::postgres::STATEMENTS;

    const BEGIN_WRITE: &'static str = "BEGIN";

    const REMOTE: bool = true;

    type Time = OffsetDateTime;

    fn encode_time(time: OffsetDateTime) -> Result<OffsetDateTime, BoxError> {
        Ok(time)
    }

    fn add_opt_time(
        arguments: &mut <Self as sqlx::Database>::Arguments,
        time: Option<OffsetDateTime>,
    ) -> Result<(), BoxDynError> {
        sqlx::Arguments::add(arguments, time.map(Self::encode_time).transpose()?)
    }

    fn decode_time(stored: OffsetDateTime) -> Result<OffsetDateTime, BoxError> {
        Ok(stored.to_offset(UtcOffset::UTC))
    }

    fn is_unavailable(err: &dyn DatabaseError) -> bool {
        let Some(code) = err.code() else {
            return false;
        };
        // SQLSTATE classes and codes that say "not now" rather than "never":
        // 08 connection exception, 53 insufficient resources (too many connections, disk
        // full, out of memory), 57P01-57P03 the server shutting down or starting up, 57014 a
        // statement timeout, 25006 a write that reached a read-only standby (failover).
        code.starts_with("08")
            || code.starts_with("53")
            || matches!(&*code, "57P01" | "57P02" | "57P03" | "57014" | "25006")
    }

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }

    fn executor(pool: &Pool<Self>) -> impl Executor<'_, Database = Self> {
        pool
    }

    fn connection(conn: &mut Self::Connection) -> impl Executor<'_, Database = Self> {
        conn
    }
}
