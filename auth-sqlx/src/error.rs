//! Errors: this crate's own [`Error`] for connecting and migrating, and the mapping of driver
//! errors to [`StoreError`] that both backends share.

use auth_core::{StoreError, UniqueField};
use sqlx::error::{DatabaseError, ErrorKind};

use crate::dialect::Dialect;

/// What connecting to the database or migrating it can fail with.
///
/// The store methods themselves answer [`StoreError`], as the `auth_core` traits require.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is missing or malformed; the message says which variable and why.
    #[error("database misconfigured: {0}")]
    Config(String),
    /// The database could not be reached, or refused the connection.
    #[error("cannot connect to the database")]
    Connect(#[source] sqlx::Error),
    /// Running the embedded migrations failed.
    #[error("database migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// Another instance held the migration lock for longer than this one waits (MySQL: five
    /// minutes); nothing was changed, and the next start-up tries again.
    #[error("another instance is still migrating the database")]
    MigrationLocked,
}

/// Maps a driver error of backend `DB` to the store error the traits promise.
///
/// - a unique violation on the e-mail or username key, on the provider account, or on a
///   passkey's credential id, becomes [`StoreError::Conflict`], decided by the index that
///   fired, never by a prior read;
/// - a foreign key violation becomes [`StoreError::NotFound`]: the only foreign keys are those
///   of a user's provider accounts and second factors to the user, so it means the user does
///   not exist (or was deleted at the same moment);
/// - failures to reach the database (I/O, TLS, pool timeout, a server shutting down, a busy
///   SQLite file) become [`StoreError::Unavailable`], so callers answer 503 and fail closed;
/// - everything else is [`StoreError::Backend`], with the driver error kept as the source.
pub(crate) fn store_error<DB: Dialect>(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) => {
            if let Some(field) = unique_field(db.as_ref()) {
                return StoreError::Conflict(field);
            }
            if db.kind() == ErrorKind::ForeignKeyViolation {
                return StoreError::NotFound;
            }
            if DB::is_unavailable(db.as_ref()) {
                return StoreError::unavailable(err);
            }
            StoreError::backend(err)
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::unavailable(err),
        _ => StoreError::backend(err),
    }
}

/// Which of our unique keys a unique violation is about, if it is one of them.
///
/// Postgres names the constraint (`auth_users_email_key_unique`); SQLite offers no constraint
/// name, only its message `UNIQUE constraint failed: auth_users.email_key`; MySQL neither,
/// only `Duplicate entry '<value>' for key '<key name>'`, whose value is the user's input and
/// may spell anything, so only the part after the value is read. Each names the column, which
/// is what we look for; for a provider account, the table (`auth_oauth_accounts`, whose one
/// unique key is (provider, account id), named `auth_oauth_accounts_oauth_account_unique`),
/// as SQLite names it `auth_oauth_accounts.provider, auth_oauth_accounts.account_id`; for a
/// passkey, the table and the column both (`auth_passkeys_credential_id_unique`, SQLite's
/// `auth_passkeys.credential_id`), since the table's primary key also names the table
/// (`auth_passkeys_pkey`, `auth_passkeys.id`, MySQL's `auth_passkeys.PRIMARY`). A clash on a
/// primary key (a duplicate id) is not a conflict the user can resolve, so it stays a backend
/// error.
fn unique_field(err: &dyn DatabaseError) -> Option<UniqueField> {
    if err.kind() != ErrorKind::UniqueViolation {
        return None;
    }
    let name = match err.constraint() {
        Some(constraint) => constraint,
        None => {
            let message = err.message();
            message
                .rsplit_once("' for key ")
                .map_or(message, |(_, key)| key)
        }
    };
    if name.contains("username_key") {
        Some(UniqueField::Username)
    } else if name.contains("email_key") {
        Some(UniqueField::Email)
    } else if name.contains("oauth_account") {
        Some(UniqueField::OAuthAccount)
    } else if name.contains("passkeys") && name.contains("credential_id") {
        Some(UniqueField::Passkey)
    } else {
        None
    }
}

/// A call to the database that ran out of time (a database across a network that went
/// silent, or is far too slow): [`StoreError::Unavailable`].
#[derive(Debug, thiserror::Error)]
#[error("the database did not answer within {0:?}")]
pub(crate) struct NoAnswer(pub(crate) std::time::Duration);

/// A stored value that does not decode into the domain type: a corrupt row.
#[derive(Debug, thiserror::Error)]
#[error("corrupt `{column}` in a stored row: {reason}")]
struct CorruptRow {
    column: &'static str,
    reason: String,
}

/// [`StoreError::Backend`] for a stored `column` that does not decode.
pub(crate) fn corrupt(column: &'static str, reason: impl ToString) -> StoreError {
    StoreError::backend(CorruptRow {
        column,
        reason: reason.to_string(),
    })
}
