//! [`SqlUserStore`]: users in Postgres or SQLite.

use std::fmt;

use async_trait::async_trait;
use auth_core::{Email, Page, Profile, StoreError, User, UserId, UserQuery, UserStore, Username};
use sqlx::Pool;

use crate::dialect::{Columns, Dialect};
use crate::query::Sql;
use crate::row::{bind_user, read_user, user_columns};

const INSERT: &str = "INSERT INTO auth_users (id, email, email_key, username, username_key, \
     password_hash, is_active, is_superuser, is_verified, roles, profile, created_at, updated_at, \
     version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

// A compare-and-set: the row is written only over the version the caller read (`$14`), and
// the version moves on. One statement, so the row lock (Postgres) or the write lock (SQLite)
// makes it atomic: of writers racing from one read, the first wins and the others find the
// version moved (Postgres re-checks their WHERE against the winner's row) and change nothing.
const UPDATE: &str = "UPDATE auth_users SET email = $2, email_key = $3, username = $4, \
     username_key = $5, password_hash = $6, is_active = $7, is_superuser = $8, \
     is_verified = $9, roles = $10, profile = $11, created_at = $12, updated_at = $13, \
     version = version + 1 WHERE id = $1 AND version = $14";
// After an update that changed nothing: is the user there at all (`Stale`) or not (`NotFound`)?
const EXISTS: &str = "SELECT 1 FROM auth_users WHERE id = $1";

const BY_ID: &str = concat!("SELECT ", user_columns!(), " FROM auth_users WHERE id = $1");
const BY_EMAIL: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM auth_users WHERE email_key = $1"
);
const BY_USERNAME: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM auth_users WHERE username_key = $1"
);
const DELETE: &str = "DELETE FROM auth_users WHERE id = $1";

// `$1` is a LIKE pattern whose wildcards in the user's needle are escaped with `\`. The key
// column is lower case, and so is the needle: a case-insensitive match in either database.
const COUNT: &str = r"SELECT COUNT(*) AS total FROM auth_users WHERE email_key LIKE $1 ESCAPE '\'";
const LIST: &str = concat!(
    "SELECT ",
    user_columns!(),
    r" FROM auth_users WHERE email_key LIKE $1 ESCAPE '\' ORDER BY id LIMIT $2 OFFSET $3"
);

/// A [`UserStore`] in a SQL database: [`PgUserStore`](crate::PgUserStore) or
/// [`SqliteUserStore`](crate::SqliteUserStore).
///
/// - Uniqueness of the e-mail address and the username is decided by unique indexes on their
///   case-insensitive keys ([`Email::key`], [`Username::key`]): a violation becomes
///   [`StoreError::Conflict`], so concurrent registrations can never both win.
/// - The profile `P` is kept as a JSON document, the roles as a JSON array.
/// - [`UserStore::update`] is a compare-and-set on the user's version, in one conditional
///   `UPDATE`.
/// - Listing is in id order, which is creation order for the time-ordered ids of
///   [`UserId::new`].
///
/// The tables must exist: run the crate's migrations first (see the crate docs).
pub struct SqlUserStore<DB: Dialect> {
    pool: Pool<DB>,
}

impl<DB: Dialect> SqlUserStore<DB> {
    /// A store over `pool`. Cheap: the pool is shared, not copied.
    pub fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }

    /// The pool the store runs on.
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }
}

impl<DB: Dialect> Clone for SqlUserStore<DB> {
    fn clone(&self) -> Self {
        Self::new(self.pool.clone())
    }
}

impl<DB: Dialect> fmt::Debug for SqlUserStore<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlUserStore")
            .field("database", &<DB as sqlx::Database>::NAME)
            .field("pool_size", &self.pool.size())
            .finish()
    }
}

#[async_trait]
impl<DB: Dialect, P: Profile> UserStore<P> for SqlUserStore<DB> {
    async fn create(&self, user: &User<P>) -> Result<(), StoreError> {
        bind_user(Sql::new(INSERT), user)?
            .execute(&self.pool)
            .await
            .map(drop)
    }

    async fn get(&self, id: UserId) -> Result<Option<User<P>>, StoreError> {
        self.fetch_one_user(Sql::new(BY_ID).bind(*id.as_uuid()))
            .await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User<P>>, StoreError> {
        self.fetch_one_user(Sql::new(BY_EMAIL).bind(email.key()))
            .await
    }

    async fn find_by_username(&self, username: &Username) -> Result<Option<User<P>>, StoreError> {
        self.fetch_one_user(Sql::new(BY_USERNAME).bind(username.key()))
            .await
    }

    async fn update(&self, user: &User<P>) -> Result<(), StoreError> {
        let changed = bind_user(Sql::new(UPDATE), user)?
            .execute(&self.pool)
            .await?;
        if changed > 0 {
            return Ok(());
        }
        let exists = Sql::<DB>::new(EXISTS)
            .bind(*user.id.as_uuid())
            .fetch_optional(&self.pool)
            .await?;
        Err(if exists.is_some() {
            StoreError::Stale
        } else {
            StoreError::NotFound
        })
    }

    async fn delete(&self, id: UserId) -> Result<bool, StoreError> {
        let deleted = Sql::new(DELETE)
            .bind(*id.as_uuid())
            .execute(&self.pool)
            .await?;
        Ok(deleted > 0)
    }

    async fn list(&self, query: &UserQuery) -> Result<Page<User<P>>, StoreError> {
        let pattern = contains_pattern(query.email_contains.as_deref());
        let total = Sql::<DB>::new(COUNT)
            .bind(pattern.clone())
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.int("total"))
            .transpose()
            .map_err(StoreError::backend)?
            .unwrap_or(0);
        let rows = Sql::<DB>::new(LIST)
            .bind(pattern)
            .bind(i64::from(query.limit))
            .bind(i64::try_from(query.offset).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        let items = rows
            .iter()
            .map(read_user::<DB, P>)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items,
            total: u64::try_from(total).unwrap_or(0),
        })
    }
}

impl<DB: Dialect> SqlUserStore<DB> {
    async fn fetch_one_user<P: Profile>(
        &self,
        sql: Sql<DB>,
    ) -> Result<Option<User<P>>, StoreError> {
        sql.fetch_optional(&self.pool)
            .await?
            .map(|row| read_user::<DB, P>(&row))
            .transpose()
    }
}

/// The `LIKE` pattern for "the e-mail key contains `needle`, case-insensitively": the needle
/// lower-cased like the key, with the wildcards `%` and `_` and the escape `\` matched
/// literally. No needle matches every key.
fn contains_pattern(needle: Option<&str>) -> String {
    let Some(needle) = needle else {
        return "%".to_owned();
    };
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn like_wildcards_in_the_needle_are_escaped() {
        assert_eq!(contains_pattern(None), "%");
        assert_eq!(contains_pattern(Some("Bob")), "%bob%");
        assert_eq!(contains_pattern(Some(r"%a_b\")), r"%\%a\_b\\%");
    }
}
