//! MySQL and MariaDB (feature `mysql`): the [`Dialect`], the migrations, and connecting.

use std::str::FromStr;

use auth_core::BoxError;
use sqlx::error::{BoxDynError, DatabaseError};
use sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError, MySqlPool, MySqlQueryResult};
use sqlx::{AssertSqlSafe, Connection, Executor, MySql, MySqlConnection, Pool};
use time::OffsetDateTime;

use crate::audit_log::SqlAuditLog;
use crate::config::DbConfig;
use crate::dialect::{Dialect, micros, sealed};
use crate::error::Error;
use crate::migrate::{self, EmbeddedMigration};
use crate::sessions::SqlSessionStore;
use crate::sql::Statements;
use crate::users::SqlUserStore;

/// A [`UserStore`](auth_core::UserStore) in MySQL or MariaDB. See [`SqlUserStore`].
pub type MySqlUserStore = SqlUserStore<MySql>;

/// A [`SessionStore`](auth_core::SessionStore) in MySQL or MariaDB. See [`SqlSessionStore`].
pub type MySqlSessionStore = SqlSessionStore<MySql>;

/// An [`AuditLog`](auth_core::AuditLog) in MySQL or MariaDB. See [`SqlAuditLog`].
pub type MySqlAuditLog = SqlAuditLog<MySql>;

const MIGRATIONS: &[EmbeddedMigration] = &[
    EmbeddedMigration {
        version: 1,
        description: "auth tables",
        sql: include_str!("../migrations/mysql/0001_auth_tables.sql"),
    },
    EmbeddedMigration {
        version: 2,
        description: "versions marks rotations",
        sql: include_str!("../migrations/mysql/0002_versions_marks_rotations.sql"),
    },
    EmbeddedMigration {
        version: 3,
        description: "oauth accounts",
        sql: include_str!("../migrations/mysql/0003_oauth_accounts.sql"),
    },
    EmbeddedMigration {
        version: 4,
        description: "mfa",
        sql: include_str!("../migrations/mysql/0004_mfa.sql"),
    },
    EmbeddedMigration {
        version: 6,
        description: "audit events",
        sql: include_str!("../migrations/mysql/0006_audit_events.sql"),
    },
];

/// Creates or updates this crate's tables (`auth_users`, `auth_sessions`,
/// `auth_session_marks`, `auth_oauth_accounts`, `auth_mfa_totp`, `auth_recovery_codes`,
/// `auth_passkeys`, `auth_audit_events`) in `pool`'s database (MySQL 8 or MariaDB 10.5 and later, InnoDB).
/// Call it at every start-up, before building the stores.
///
/// - Safe to repeat: applied migrations are recorded and skipped.
/// - Safe from several instances at once: the migrator holds a named lock (`GET_LOCK`) while
///   it runs, so one instance migrates and the others wait (up to 5 minutes), then find
///   nothing to do.
/// - Separate from the app's own sqlx migrations: ours are recorded in
///   `_auth_sqlx_migrations`, never in `_sqlx_migrations`.
///
/// MySQL cannot roll back a table definition: a migration that fails halfway leaves its
/// version marked as failed, and the next start-up reports it instead of running on a schema
/// it does not know.
///
/// # Errors
/// [`Error::Connect`] when the database cannot be reached; [`Error::MigrationLocked`] when
/// another instance's run holds the lock past the wait; [`Error::Migrate`] when a migration
/// fails.
pub async fn migrate_mysql(pool: &MySqlPool) -> Result<(), Error> {
    // A connection of its own, taken out of the pool: the named lock belongs to the
    // connection, and if the run fails or is cancelled halfway, closing it releases the lock.
    let mut conn = pool.acquire().await.map_err(Error::Connect)?.detach();
    let result = migrate_holding_the_lock(&mut conn).await;
    let _ = conn.close().await;
    result
}

/// The lock's name: one per database, at most the 64 characters MySQL allows.
const LOCK_NAME: &str = "LEFT(CONCAT('_auth_sqlx_migrations.', DATABASE()), 64)";

async fn migrate_holding_the_lock(conn: &mut MySqlConnection) -> Result<(), Error> {
    // sqlx's own migration lock asks for `GET_LOCK(name, -1)`, which MySQL reads as "wait
    // forever" but MariaDB as "do not wait" (it answers NULL at once and the migrators run
    // side by side). So the lock is taken here, with a bounded wait, and checked.
    let acquired: Option<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT GET_LOCK({LOCK_NAME}, {MIGRATION_LOCK_WAIT_SECONDS})"
    )))
    .fetch_one(&mut *conn)
    .await
    .map_err(Error::Connect)?;
    if acquired != Some(1) {
        return Err(Error::MigrationLocked);
    }
    let mut migrator = migrate::migrator(MIGRATIONS);
    migrator.set_locking(false);
    let result = migrator.run(&mut *conn).await.map_err(Error::Migrate);
    let _ = sqlx::query(AssertSqlSafe(format!("SELECT RELEASE_LOCK({LOCK_NAME})")))
        .execute(&mut *conn)
        .await;
    result
}

/// How long a migrator waits for another instance's run to finish.
const MIGRATION_LOCK_WAIT_SECONDS: u32 = 300;

impl DbConfig {
    /// The MySQL connection options of this configuration (a `mysql://` or `mariadb://`
    /// URL).
    ///
    /// # Errors
    /// [`Error::Config`] for a URL that does not parse or is not a MySQL URL.
    pub fn mysql_options(&self) -> Result<MySqlConnectOptions, Error> {
        if self.kind()? != crate::DbKind::MySql {
            return Err(Error::Config(
                "not a MySQL URL: it must start with mysql:// or mariadb://".to_owned(),
            ));
        }
        let url = self.url().unwrap_or_default();
        let url = match url.strip_prefix("mariadb://") {
            Some(rest) => format!("mysql://{rest}"),
            None => url.to_owned(),
        };
        MySqlConnectOptions::from_str(&url)
            .map_err(|err| Error::Config(format!("DATABASE_URL does not parse: {err}")))
    }

    /// Opens a MySQL pool and checks that one connection works.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad configuration, [`Error::Connect`] when the server cannot
    /// be reached or refuses the login.
    pub async fn connect_mysql(&self) -> Result<MySqlPool, Error> {
        self.remote_pool_options()
            .connect_with(self.mysql_options()?)
            .await
            .map_err(Error::Connect)
    }

    /// A MySQL pool that connects on first use: start-up does not wait for (or fail on) a
    /// database that is still coming up; until it is up, the stores answer
    /// [`StoreError::Unavailable`](auth_core::StoreError::Unavailable).
    ///
    /// # Errors
    /// [`Error::Config`] for a bad configuration.
    pub fn connect_mysql_lazy(&self) -> Result<MySqlPool, Error> {
        Ok(self
            .remote_pool_options()
            .connect_lazy_with(self.mysql_options()?))
    }
}

impl sealed::Sealed for MySql {}

impl Dialect for MySql {
    /// No feed: a trigger needs privileges an app rarely has, so every check reads the table.
    fn session_announcements(_: &Pool<Self>) -> auth_core::Revocations {
        auth_core::Revocations::Unannounced
    }

    /// No feed, as for sessions.
    fn user_announcements(_: &Pool<Self>) -> auth_core::Revocations {
        auth_core::Revocations::Unannounced
    }

    const SQL: &'static Statements = &crate::sql::mysql::STATEMENTS;

    // InnoDB's default isolation (repeatable read) is fine here: every read that decides
    // anything is a locking read or a write, which see the latest committed rows, and the one
    // plain read of a creation (the user's live sessions) comes after it holds the mark's lock.
    const BEGIN_WRITE: &'static str = "BEGIN";

    const REMOTE: bool = true;

    /// Microseconds since the Unix epoch.
    type Time = i64;

    fn encode_time(time: OffsetDateTime) -> Result<i64, BoxError> {
        micros::encode(time)
    }

    fn add_opt_time(
        arguments: &mut <Self as sqlx::Database>::Arguments,
        time: Option<OffsetDateTime>,
    ) -> Result<(), BoxDynError> {
        sqlx::Arguments::add(arguments, time.map(Self::encode_time).transpose()?)
    }

    fn decode_time(stored: i64) -> Result<OffsetDateTime, BoxError> {
        micros::decode(stored)
    }

    fn is_unavailable(err: &dyn DatabaseError) -> bool {
        let Some(err) = err.try_downcast_ref::<MySqlDatabaseError>() else {
            return false;
        };
        // Server error numbers that say "not now" rather than "never": 1040 too many
        // connections, 1041 out of resources, 1021 disk full, 1037/1038 out of memory, 1053
        // the server shutting down, 1205 a lock wait timeout, 1213 a deadlock (the
        // transaction was rolled back), 1290/1836/1792 a read-only server (failover), 1317 an
        // interrupted query, 1927 a killed connection (MariaDB), 1969 (MariaDB) and 3024
        // (MySQL) a statement timeout.
        matches!(
            err.number(),
            1021 | 1037
                | 1038
                | 1040
                | 1041
                | 1053
                | 1205
                | 1213
                | 1290
                | 1317
                | 1792
                | 1836
                | 1927
                | 1969
                | 3024
        )
    }

    fn rows_affected(result: &MySqlQueryResult) -> u64 {
        // sqlx asks for CLIENT_FOUND_ROWS: the rows a statement matched, as the other
        // databases count them, even when it left a row's values as they were.
        result.rows_affected()
    }

    fn executor(pool: &Pool<Self>) -> impl Executor<'_, Database = Self> {
        pool
    }

    fn connection(conn: &mut Self::Connection) -> impl Executor<'_, Database = Self> {
        conn
    }
}
