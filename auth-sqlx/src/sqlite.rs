//! SQLite (feature `sqlite`): the [`Dialect`], the migrations, and connecting.

use std::str::FromStr;

use auth_core::BoxError;
use sqlx::error::{BoxDynError, DatabaseError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteQueryResult};
use sqlx::{Executor, Pool, Sqlite};
use time::OffsetDateTime;

use crate::audit_log::SqlAuditLog;
use crate::config::DbConfig;
use crate::dialect::{Dialect, micros, sealed};
use crate::error::Error;
use crate::migrate::{self, EmbeddedMigration};
use crate::revocation_feed::Announces;
use crate::sessions::SqlSessionStore;
use crate::sql::Statements;
use crate::users::SqlUserStore;

/// A [`UserStore`](auth_core::UserStore) in SQLite. See [`SqlUserStore`].
pub type SqliteUserStore = SqlUserStore<Sqlite>;

/// A [`SessionStore`](auth_core::SessionStore) in SQLite. See [`SqlSessionStore`].
pub type SqliteSessionStore = SqlSessionStore<Sqlite>;

/// An [`AuditLog`](auth_core::AuditLog) in SQLite. See [`SqlAuditLog`].
pub type SqliteAuditLog = SqlAuditLog<Sqlite>;

const MIGRATIONS: &[EmbeddedMigration] = &[
    EmbeddedMigration {
        version: 1,
        description: "auth tables",
        sql: include_str!("../migrations/sqlite/0001_auth_tables.sql"),
    },
    EmbeddedMigration {
        version: 2,
        description: "versions marks rotations",
        sql: include_str!("../migrations/sqlite/0002_versions_marks_rotations.sql"),
    },
    EmbeddedMigration {
        version: 3,
        description: "oauth accounts",
        sql: include_str!("../migrations/sqlite/0003_oauth_accounts.sql"),
    },
    EmbeddedMigration {
        version: 4,
        description: "mfa",
        sql: include_str!("../migrations/sqlite/0004_mfa.sql"),
    },
    EmbeddedMigration {
        version: 5,
        description: "change feeds",
        sql: include_str!("../migrations/sqlite/0005_change_feeds.sql"),
    },
    EmbeddedMigration {
        version: 6,
        description: "audit events",
        sql: include_str!("../migrations/sqlite/0006_audit_events.sql"),
    },
];

/// Creates or updates this crate's tables (`auth_users`, `auth_sessions`,
/// `auth_session_marks`, `auth_oauth_accounts`, `auth_mfa_totp`, `auth_recovery_codes`,
/// `auth_passkeys`, `auth_audit_events`) in `pool`'s database. Call it at every start-up, before building the stores.
///
/// - Safe to repeat: applied migrations are recorded and skipped.
/// - Safe from several processes at once: the whole run happens in one `BEGIN IMMEDIATE`
///   transaction, which holds SQLite's write lock, so one process migrates and the others wait
///   (up to the busy timeout), then find nothing to do.
/// - Separate from the app's own sqlx migrations: ours are recorded in
///   `_auth_sqlx_migrations`, never in `_sqlx_migrations`.
///
/// # Errors
/// [`Error::Connect`] when the database cannot be opened or stays locked past the busy
/// timeout; [`Error::Migrate`] when a migration fails (it is then rolled back).
pub async fn migrate_sqlite(pool: &SqlitePool) -> Result<(), Error> {
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(Error::Connect)?;
    // Inside our transaction each migration's own transaction becomes a savepoint.
    migrate::migrator(MIGRATIONS)
        .run(&mut *tx)
        .await
        .map_err(Error::Migrate)?;
    tx.commit().await.map_err(|err| Error::Migrate(err.into()))
}

impl DbConfig {
    /// The SQLite connection options of this configuration: the file is created if missing,
    /// in WAL mode (readers never block the writer) with the configured busy timeout (writers
    /// queue instead of failing with "database is locked").
    ///
    /// # Errors
    /// [`Error::Config`] for a URL that does not parse or is not a SQLite URL.
    pub fn sqlite_options(&self) -> Result<SqliteConnectOptions, Error> {
        if self.kind()? != crate::DbKind::Sqlite {
            return Err(Error::Config(
                "not a SQLite URL: it must start with sqlite:".to_owned(),
            ));
        }
        let url = self.url().unwrap_or_default();
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|err| Error::Config(format!("DATABASE_URL does not parse: {err}")))?
            .busy_timeout(self.busy_timeout);
        if self.is_sqlite_memory() {
            return Ok(options);
        }
        Ok(options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal))
    }

    /// Whether this is an in-memory SQLite database.
    fn is_sqlite_memory(&self) -> bool {
        self.url()
            .is_some_and(|url| url.contains(":memory:") || url.contains("mode=memory"))
    }

    /// Opens a SQLite pool (creating the file if needed).
    ///
    /// An in-memory database (`sqlite::memory:`) lives only as long as a connection to it, and
    /// each connection would see its own: its pool therefore holds exactly one connection,
    /// kept open for the pool's whole life.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad configuration, [`Error::Connect`] when the file cannot be
    /// opened or created.
    pub async fn connect_sqlite(&self) -> Result<SqlitePool, Error> {
        let mut pool = self.pool_options();
        if self.is_sqlite_memory() {
            pool = pool
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        pool.connect_with(self.sqlite_options()?)
            .await
            .map_err(Error::Connect)
    }
}

impl sealed::Sealed for Sqlite {}

impl Dialect for Sqlite {
    fn session_announcements(pool: &Pool<Self>) -> auth_core::Revocations {
        auth_core::Revocations::Feed(std::sync::Arc::new(
            crate::revocation_feed::sqlite::SqliteFeed::new(pool.clone(), Announces::Sessions),
        ))
    }

    fn user_announcements(pool: &Pool<Self>) -> auth_core::Revocations {
        auth_core::Revocations::Feed(std::sync::Arc::new(
            crate::revocation_feed::sqlite::SqliteFeed::new(pool.clone(), Announces::Users),
        ))
    }

    const SQL: &'static Statements = &crate::sql::sqlite::STATEMENTS;

    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";

    const REMOTE: bool = false;

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
        // The extended result code; its low byte is the primary code.
        let Some(code) = err.code().and_then(|code| code.parse::<i32>().ok()) else {
            return false;
        };
        // SQLITE_BUSY (5) and SQLITE_LOCKED (6): another writer held on past the busy
        // timeout; SQLITE_IOERR (10), SQLITE_FULL (13), SQLITE_CANTOPEN (14): the file or its
        // disk is in trouble.
        matches!(code & 0xff, 5 | 6 | 10 | 13 | 14)
    }

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }

    fn executor(pool: &Pool<Self>) -> impl Executor<'_, Database = Self> {
        pool
    }

    fn connection(conn: &mut Self::Connection) -> impl Executor<'_, Database = Self> {
        conn
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn times_round_trip_in_microseconds() {
        let time = datetime!(2024-02-29 12:34:56.123_456_789 UTC);
        let stored = Sqlite::encode_time(time).unwrap();
        assert_eq!(stored, 1_709_210_096_123_456);
        assert_eq!(
            Sqlite::decode_time(stored).unwrap(),
            datetime!(2024-02-29 12:34:56.123_456 UTC)
        );
        let before_epoch = datetime!(1969-12-31 23:59:59.999_999_5 UTC);
        assert_eq!(Sqlite::encode_time(before_epoch).unwrap(), -1);
    }
}
