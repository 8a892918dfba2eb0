//! The embedded migrations, and the migrator every database shares.
//!
//! The SQL files live in `migrations/postgres` and `migrations/sqlite` and are compiled into
//! the crate with `include_str!`, so a binary carries its schema and needs no files at run
//! time. We build sqlx's [`Migrator`] by hand rather than with `sqlx::migrate!()`, which would
//! compile sqlx's proc-macro crate, with both database drivers, for every build of this crate.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// The table in which our applied migrations are recorded: not the app's `_sqlx_migrations`,
/// so that the app's migrator and ours never see each other's versions.
pub(crate) const MIGRATIONS_TABLE: &str = "_auth_sqlx_migrations";

/// One migration compiled into the crate. Never edit an applied one: sqlx keeps a checksum of
/// each and refuses to start when it changes. Add a new file and entry instead.
pub(crate) struct EmbeddedMigration {
    pub(crate) version: i64,
    pub(crate) description: &'static str,
    pub(crate) sql: &'static str,
}

/// A migrator for `migrations`, recording into [`MIGRATIONS_TABLE`].
pub(crate) fn migrator(migrations: &[EmbeddedMigration]) -> Migrator {
    let mut migrator = Migrator::with_migrations(
        migrations
            .iter()
            .map(|migration| {
                Migration::new(
                    migration.version,
                    Cow::Borrowed(migration.description),
                    MigrationType::Simple,
                    migration.sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    );
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    // An instance of an older version starting while a newer one has already migrated (a
    // rolling upgrade) finds versions it does not know: tolerate them.
    migrator.set_ignore_missing(true);
    migrator
}
