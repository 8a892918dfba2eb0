//! [`SqlUserStore`]: users in Postgres, SQLite or MySQL.

use std::fmt;

use async_trait::async_trait;
use auth_core::{
    Email, Page, Profile, StoreError, User, UserId, UserQuery, UserSort, UserStore, Username,
};
use sqlx::Pool;

use crate::dialect::{Columns, Dialect};
use crate::query::Sql;
use crate::row::{bind_user_fields, read_user, stored_version};

/// A [`UserStore`] in a SQL database: [`PgUserStore`](crate::PgUserStore),
/// [`SqliteUserStore`](crate::SqliteUserStore) or [`MySqlUserStore`](crate::MySqlUserStore).
///
/// - Uniqueness of the e-mail address and the username is decided by unique indexes on their
///   case-insensitive keys ([`Email::key`], [`Username::key`]): a violation becomes
///   [`StoreError::Conflict`], so concurrent registrations can never both win.
/// - The profile `P` is kept as a JSON document, the roles as a JSON array.
/// - [`UserStore::update`] is a compare-and-set on the user's version, in one conditional
///   `UPDATE`: the row is written only over the version the caller read, and the version
///   moves on. One statement, so the row lock (Postgres, MySQL) or the write lock (SQLite)
///   makes it atomic: of writers racing from one read, the first wins and the others find
///   the version moved and change nothing.
/// - Listing filters with bound parameters only (the e-mail needle's `LIKE` wildcards
///   escaped) and is by default in id order, which is creation order for the time-ordered ids
///   of [`UserId::new`]; the other orders of [`UserSort`] are one statement each.
/// - It keeps the users' provider accounts too
///   ([`OAuthAccountStore`](auth_core::OAuthAccountStore)), in `auth_oauth_accounts`, and
///   their second factors ([`MfaStore`](auth_core::MfaStore)), in `auth_mfa_totp`,
///   `auth_recovery_codes` and `auth_passkeys`, whose foreign keys delete a user's links and
///   factors with the user.
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
    /// Postgres: `LISTEN`/`NOTIFY`; SQLite: a log table polled every 20 ms; MySQL: none. Both
    /// feeds are written by triggers on the users table, so a change by anyone is announced.
    fn changes(&self) -> auth_core::Revocations {
        DB::user_announcements(&self.pool)
    }

    async fn create(&self, user: &User<P>) -> Result<(), StoreError> {
        insert_user(user)?.execute(&self.pool).await.map(drop)
    }

    async fn get(&self, id: UserId) -> Result<Option<User<P>>, StoreError> {
        self.fetch_one_user(Sql::new(DB::SQL.user_by_id).bind(*id.as_uuid()))
            .await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User<P>>, StoreError> {
        self.fetch_one_user(Sql::new(DB::SQL.user_by_email).bind(email.key()))
            .await
    }

    async fn find_by_username(&self, username: &Username) -> Result<Option<User<P>>, StoreError> {
        self.fetch_one_user(Sql::new(DB::SQL.user_by_username).bind(username.key()))
            .await
    }

    async fn update(&self, user: &User<P>) -> Result<(), StoreError> {
        let changed = bind_user_fields(Sql::new(DB::SQL.user_update), user)?
            .bind(*user.id.as_uuid())
            .bind(stored_version(user.version))
            .execute(&self.pool)
            .await?;
        if changed > 0 {
            return Ok(());
        }
        let exists = Sql::<DB>::new(DB::SQL.user_exists)
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
        let deleted = Sql::new(DB::SQL.user_delete)
            .bind(*id.as_uuid())
            .execute(&self.pool)
            .await?;
        Ok(deleted > 0)
    }

    async fn list(&self, query: &UserQuery) -> Result<Page<User<P>>, StoreError> {
        let filter = ListFilter::new(query);
        let total = filter
            .bind(Sql::<DB>::new(DB::SQL.user_count))
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.int("total"))
            .transpose()
            .map_err(StoreError::backend)?
            .unwrap_or(0);
        let rows = filter
            .bind(Sql::<DB>::new(list_statement::<DB>(query.sort)))
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

/// The insert of `user`, bound: [`UserStore::create`], and the first step of
/// [`OAuthAccountStore::create_with_account`](auth_core::OAuthAccountStore::create_with_account).
pub(crate) fn insert_user<DB: Dialect, P: Profile>(user: &User<P>) -> Result<Sql<DB>, StoreError> {
    let sql = Sql::new(DB::SQL.user_insert).bind(*user.id.as_uuid());
    Ok(bind_user_fields(sql, user)?.bind(stored_version(user.version)))
}

/// The parameters of a listing's filter, in the order the statements take them: every value
/// bound, none written into the statement.
struct ListFilter {
    pattern: String,
    roles: serde_json::Value,
    is_active: Option<bool>,
    is_verified: Option<bool>,
    is_superuser: Option<bool>,
}

impl ListFilter {
    fn new(query: &UserQuery) -> Self {
        Self {
            pattern: contains_pattern(query.email_contains.as_deref()),
            // The roles a user must hold every one of: none, or the one asked for.
            roles: serde_json::Value::Array(
                query
                    .role
                    .iter()
                    .map(|role| serde_json::Value::String(role.clone()))
                    .collect(),
            ),
            is_active: query.is_active,
            is_verified: query.is_verified,
            is_superuser: query.is_superuser,
        }
    }

    fn bind<DB: Dialect>(&self, sql: Sql<DB>) -> Sql<DB> {
        sql.bind(self.pattern.clone())
            .bind(self.roles.clone())
            .bind(self.is_active)
            .bind(self.is_verified)
            .bind(self.is_superuser)
    }
}

/// The listing statement for `sort`.
fn list_statement<DB: Dialect>(sort: UserSort) -> &'static str {
    let lists = &DB::SQL.user_list;
    match sort {
        UserSort::CreatedAt => lists.by_created_at,
        UserSort::CreatedAtDesc => lists.by_created_at_desc,
        UserSort::Email => lists.by_email,
        UserSort::EmailDesc => lists.by_email_desc,
        // `Id`, and any order added later until it has a statement of its own.
        _ => lists.by_id,
    }
}

/// The `LIKE` pattern for "the e-mail key contains `needle`, case-insensitively": the needle
/// lower-cased like the key, with the wildcards `%` and `_` and the escape `!` matched
/// literally. `!` rather than `\\`, which MySQL also reads as an escape inside string
/// literals. No needle matches every key.
fn contains_pattern(needle: Option<&str>) -> String {
    let Some(needle) = needle else {
        return "%".to_owned();
    };
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '!') {
            pattern.push('!');
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
        assert_eq!(contains_pattern(Some(r"%a_b!\")), r"%!%a!_b!!\%");
    }
}
