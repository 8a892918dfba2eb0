//! `server import-fastapi-users --from <url>`: moves the users of a fastapi-users 15 app
//! (SQLAlchemy tables `user` and `oauth_account`, on SQLite or Postgres) into the configured
//! store, keeping their ids, flags and password hashes, through [`UserManager::import`] (so
//! the hooks fire). Provider tokens are sealed with the server's `OAUTH_TOKEN_KEY`, as the
//! sign-in flow seals them. Users already present are skipped, so a re-run is harmless.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr as _;

use auth_core::oauth::OAuthKeys;
use auth_core::{
    Email, ImportError, ImportedUser, OAuthAccount, PasswordHash, UserId, UserManager,
};
use auth_sqlx::sqlx;
use auth_sqlx::sqlx::postgres::PgPoolOptions;
use auth_sqlx::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use time::OffsetDateTime;

use crate::Names;

/// A fastapi-users database, by its SQLAlchemy URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A Postgres database (the URL in sqlx's form).
    Postgres(String),
}

impl Source {
    /// Reads a SQLAlchemy URL, driver suffix and all: `sqlite:///relative.db`,
    /// `sqlite:////absolute/path.db` and `sqlite+aiosqlite:///...` as SQLAlchemy reads them,
    /// `sqlite://path` as a path; `postgresql://`, `postgresql+asyncpg://`, `postgres://`.
    ///
    /// # Errors
    /// A message for any other URL.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("not a database URL: {url:?}"))?;
        let dialect = scheme.split('+').next().unwrap_or(scheme);
        match dialect {
            "sqlite" => {
                // SQLAlchemy: `sqlite:///` + a path, so four slashes make it absolute.
                let path = rest.strip_prefix('/').unwrap_or(rest);
                let path = path.split('?').next().unwrap_or(path);
                if path.is_empty() {
                    return Err("a SQLite URL needs a file: sqlite:///path/to/app.db".into());
                }
                Ok(Self::Sqlite(PathBuf::from(path)))
            }
            "postgresql" | "postgres" => Ok(Self::Postgres(format!("postgres://{rest}"))),
            other => Err(format!(
                "unsupported database {other:?}: fastapi-users databases on SQLite or Postgres only"
            )),
        }
    }
}

/// A row of fastapi-users' `user` table.
struct SourceUser {
    id: String,
    email: String,
    hashed_password: String,
    is_active: bool,
    is_superuser: bool,
    is_verified: bool,
}

/// A row of fastapi-users' `oauth_account` table.
struct SourceAccount {
    oauth_name: String,
    account_id: String,
    account_email: Option<String>,
    access_token: Option<String>,
    expires_at: Option<i64>,
    refresh_token: Option<String>,
    user_id: String,
}

/// Reads every user and provider account (one query each; the rows are kept in memory).
async fn read(source: &Source) -> Result<(Vec<SourceUser>, Vec<SourceAccount>), String> {
    fn failed(what: &'static str) -> impl Fn(sqlx::Error) -> String {
        move |err| format!("reading {what}: {err}")
    }
    match source {
        Source::Sqlite(path) => {
            if !path.is_file() {
                return Err(format!(
                    "no SQLite file at {} (SQLAlchemy URLs take four slashes for an absolute path: sqlite:////abs/app.db)",
                    path.display()
                ));
            }
            let options = SqliteConnectOptions::new().filename(path).read_only(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .map_err(failed("the SQLite file"))?;
            let users = sqlx::query(
                "SELECT CAST(id AS TEXT) AS id, email, hashed_password, is_active <> 0 AS is_active, \
                 is_superuser <> 0 AS is_superuser, is_verified <> 0 AS is_verified \
                 FROM \"user\" ORDER BY email",
            )
            .fetch_all(&pool)
            .await
            .map_err(failed("the user table"))?
            .iter()
            .map(user_row)
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed("the user table"))?;
            let has_accounts: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'oauth_account')",
            )
            .fetch_one(&pool)
            .await
            .map_err(failed("the schema"))?;
            let accounts = if has_accounts {
                sqlx::query(
                    "SELECT oauth_name, account_id, account_email, access_token, \
                     CAST(expires_at AS INTEGER) AS expires_at, refresh_token, \
                     CAST(user_id AS TEXT) AS user_id FROM oauth_account",
                )
                .fetch_all(&pool)
                .await
                .map_err(failed("the oauth_account table"))?
                .iter()
                .map(account_row)
                .collect::<Result<Vec<_>, _>>()
                .map_err(failed("the oauth_account table"))?
            } else {
                Vec::new()
            };
            pool.close().await;
            Ok((users, accounts))
        }
        Source::Postgres(url) => {
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await
                .map_err(failed("the Postgres database"))?;
            let users = sqlx::query(
                "SELECT id::text AS id, email, hashed_password, is_active, is_superuser, \
                 is_verified FROM \"user\" ORDER BY email",
            )
            .fetch_all(&pool)
            .await
            .map_err(failed("the user table"))?
            .iter()
            .map(user_row)
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed("the user table"))?;
            let has_accounts: bool =
                sqlx::query_scalar("SELECT to_regclass('oauth_account') IS NOT NULL")
                    .fetch_one(&pool)
                    .await
                    .map_err(failed("the schema"))?;
            let accounts = if has_accounts {
                sqlx::query(
                    "SELECT oauth_name, account_id, account_email, access_token, \
                     expires_at::bigint AS expires_at, refresh_token, user_id::text AS user_id \
                     FROM oauth_account",
                )
                .fetch_all(&pool)
                .await
                .map_err(failed("the oauth_account table"))?
                .iter()
                .map(account_row)
                .collect::<Result<Vec<_>, _>>()
                .map_err(failed("the oauth_account table"))?
            } else {
                Vec::new()
            };
            pool.close().await;
            Ok((users, accounts))
        }
    }
}

fn user_row<R: sqlx::Row>(row: &R) -> Result<SourceUser, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> bool: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(SourceUser {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        hashed_password: row.try_get("hashed_password")?,
        is_active: row.try_get("is_active")?,
        is_superuser: row.try_get("is_superuser")?,
        is_verified: row.try_get("is_verified")?,
    })
}

fn account_row<R: sqlx::Row>(row: &R) -> Result<SourceAccount, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(SourceAccount {
        oauth_name: row.try_get("oauth_name")?,
        account_id: row.try_get("account_id")?,
        account_email: row.try_get("account_email")?,
        access_token: row.try_get("access_token")?,
        expires_at: row.try_get("expires_at")?,
        refresh_token: row.try_get("refresh_token")?,
        user_id: row.try_get("user_id")?,
    })
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Users created.
    pub imported: usize,
    /// Users whose id or e-mail address exists already.
    pub skipped: usize,
    /// Users that could not be imported, with the reason (by source id, never the hash).
    pub failed: Vec<(String, String)>,
    /// Provider accounts linked.
    pub linked: usize,
    /// Provider accounts linked already.
    pub links_skipped: usize,
    /// Provider accounts that could not be linked, with the reason.
    pub links_failed: Vec<(String, String)>,
}

impl Report {
    /// Whether anything failed.
    pub fn has_failures(&self) -> bool {
        !self.failed.is_empty() || !self.links_failed.is_empty()
    }
}

/// Imports every user of `source`, then their provider accounts (sealed with `keys`).
///
/// # Errors
/// When the source cannot be read; failures of single rows are in the [`Report`].
pub async fn import(
    manager: &UserManager<Names>,
    keys: &OAuthKeys,
    source: &Source,
) -> Result<Report, String> {
    let (users, accounts) = read(source).await?;
    let mut report = Report::default();
    let mut accounts_by_user: BTreeMap<String, Vec<SourceAccount>> = BTreeMap::new();
    for account in accounts {
        let key = canonical_id(&account.user_id);
        accounts_by_user.entry(key).or_default().push(account);
    }
    for row in users {
        let id = canonical_id(&row.id);
        let (user_id, link) = match import_user(manager, &row).await {
            Ok(user_id) => {
                report.imported += 1;
                (user_id, true)
            }
            Err(Outcome::Present(user_id)) => {
                report.skipped += 1;
                // The same user from an earlier run: link what that run did not.
                (user_id, true)
            }
            Err(Outcome::EmailTaken(user_id)) => {
                report.skipped += 1;
                eprintln!("skipped {id}: another user holds its e-mail address");
                (user_id, false)
            }
            Err(Outcome::Failed(reason)) => {
                report.failed.push((id.clone(), reason));
                (UserId::new(), false)
            }
        };
        let Some(accounts) = accounts_by_user.remove(&id) else {
            continue;
        };
        if !link {
            continue;
        }
        for account in accounts {
            let label = format!("{}:{} of {id}", account.oauth_name, account.account_id);
            match link_account(manager, keys, user_id, &account).await {
                Ok(()) => report.linked += 1,
                Err(ImportError::OAuthAccountTaken) => report.links_skipped += 1,
                Err(err) => report.links_failed.push((label, err.to_string())),
            }
        }
    }
    for (id, accounts) in accounts_by_user {
        for account in accounts {
            report.links_failed.push((
                format!("{}:{} of {id}", account.oauth_name, account.account_id),
                "its user is not in the user table".into(),
            ));
        }
    }
    Ok(report)
}

/// Why a user was not created.
enum Outcome {
    /// This id exists already (an earlier run).
    Present(UserId),
    /// Another user holds the address.
    EmailTaken(UserId),
    /// The row cannot be imported.
    Failed(String),
}

async fn import_user(manager: &UserManager<Names>, row: &SourceUser) -> Result<UserId, Outcome> {
    let id = UserId::from_str(row.id.trim())
        .map_err(|err| Outcome::Failed(format!("id is not a UUID: {err}")))?;
    let email = Email::parse(&row.email)
        .map_err(|err| Outcome::Failed(format!("e-mail address refused: {err}")))?;
    let hash = PasswordHash::from_imported(row.hashed_password.as_str())
        .map_err(|err| Outcome::Failed(err.to_string()))?;
    let mut user = ImportedUser::new(id, email, hash);
    user.is_active = row.is_active;
    user.is_superuser = row.is_superuser;
    user.is_verified = row.is_verified;
    match manager.import(user).await {
        Ok(user) => Ok(user.id),
        Err(ImportError::IdTaken) => Err(Outcome::Present(id)),
        Err(ImportError::EmailTaken) => Err(Outcome::EmailTaken(id)),
        Err(err) => Err(Outcome::Failed(crate::cli::describe(&err))),
    }
}

async fn link_account(
    manager: &UserManager<Names>,
    keys: &OAuthKeys,
    user_id: UserId,
    row: &SourceAccount,
) -> Result<(), ImportError> {
    // Sealed for this provider account, exactly as the sign-in flow seals them.
    let seal = |token: &Option<String>| {
        token
            .as_deref()
            .filter(|token| !token.is_empty())
            .map(|token| keys.seal(token, &row.oauth_name, &row.account_id))
    };
    let now = manager.now();
    let account = OAuthAccount {
        user_id,
        provider: row.oauth_name.clone(),
        account_id: row.account_id.clone(),
        account_email: row.account_email.clone(),
        access_token: seal(&row.access_token),
        refresh_token: seal(&row.refresh_token),
        expires_at: row
            .expires_at
            .and_then(|at| OffsetDateTime::from_unix_timestamp(at).ok()),
        created_at: now,
        updated_at: now,
    };
    manager.import_oauth_account(&account).await
}

/// A UUID as text in one form (SQLAlchemy's GUID type writes hyphens, a hand-made row may
/// not), so users and their accounts meet.
fn canonical_id(id: &str) -> String {
    UserId::from_str(id.trim()).map_or_else(|_| id.to_owned(), |id| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlalchemy_urls_parse() {
        assert_eq!(
            Source::parse("sqlite:///./test.db").unwrap(),
            Source::Sqlite("./test.db".into())
        );
        assert_eq!(
            Source::parse("sqlite+aiosqlite:////srv/app/users.db").unwrap(),
            Source::Sqlite("/srv/app/users.db".into())
        );
        assert_eq!(
            Source::parse("sqlite://data/users.db").unwrap(),
            Source::Sqlite("data/users.db".into())
        );
        assert_eq!(
            Source::parse("postgresql+asyncpg://u:p@db:5432/app").unwrap(),
            Source::Postgres("postgres://u:p@db:5432/app".into())
        );
        assert!(Source::parse("sqlite://").is_err());
        assert!(Source::parse("mysql://db/app").is_err());
        assert!(Source::parse("users.db").is_err());
    }
}
