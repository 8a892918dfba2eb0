//! # auth-sqlx
//!
//! Users and sessions of the axum accounts workspace in **Postgres**, **MySQL** (8, or
//! MariaDB 10.5 and later) or **SQLite** (the embedded default: nothing to install). Both behave exactly like
//! `auth_core`'s in-memory reference stores, pass the same `auth_core::conformance` suite,
//! and keep every row through restarts.
//!
//! - [`PgUserStore`], [`PgSessionStore`], [`MySqlUserStore`], [`MySqlSessionStore`],
//!   [`SqliteUserStore`], [`SqliteSessionStore`]: the
//!   `auth_core` [`UserStore`](auth_core::UserStore) and
//!   [`SessionStore`](auth_core::SessionStore) traits, written once ([`SqlUserStore`],
//!   [`SqlSessionStore`]), each database spelling the statements in a file of its own. The
//!   user stores are also [`OAuthAccountStore`](auth_core::OAuthAccountStore)s (provider
//!   accounts linked to users) and [`MfaStore`](auth_core::MfaStore)s (users' second factors:
//!   a TOTP secret, recovery codes, passkeys), in the same database.
//! - Embedded migrations, one call each: [`migrate_postgres`], [`migrate_mysql`],
//!   [`migrate_sqlite`].
//! - [`DbConfig`]: `DATABASE_URL`, or `DB_HOST`, `DB_PORT`, `DB_USER`, `DB_PASS`, `DB_NAME`,
//!   and the pool's settings.
//!
//! ## Quick start
//!
//! Connect, migrate, and hand the stores to the [`UserManager`](auth_core::UserManager):
//!
//! ```no_run
//! # #[cfg(feature = "postgres")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use auth_core::{JwtAlgorithm, JwtCodec, JwtKeys, NoProfile, UserManager};
//! use auth_sqlx::{DbConfig, PgSessionStore, PgUserStore, migrate_postgres};
//!
//! // DATABASE_URL=postgres://app:secret@localhost/app, or DB_HOST=... and friends.
//! let pool = DbConfig::from_env()?.connect_postgres().await?;
//! // At every start-up; safe from several instances at once.
//! migrate_postgres(&pool).await?;
//!
//! let keys = JwtKeys::hmac(JwtAlgorithm::HS256, b"replace me with 32+ random bytes!!")?;
//! let manager = UserManager::<NoProfile>::builder(
//!     Arc::new(PgUserStore::new(pool.clone())),
//!     Arc::new(PgSessionStore::new(pool)),
//!     JwtCodec::new(keys, "my-app"),
//! )
//! .build();
//! # let _ = manager;
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "postgres"))]
//! # fn main() {}
//! ```
//!
//! The same with SQLite, as the reference server does when nothing is configured:
//!
//! ```no_run
//! # #[cfg(feature = "sqlite")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), auth_sqlx::Error> {
//! use auth_sqlx::{DbConfig, SqliteSessionStore, SqliteUserStore, migrate_sqlite};
//!
//! let pool = DbConfig::from_env_or("sqlite://auth.db")?.connect_sqlite().await?;
//! migrate_sqlite(&pool).await?;
//! let users = SqliteUserStore::new(pool.clone());
//! let sessions = SqliteSessionStore::new(pool);
//! # let _ = (users, sessions);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "sqlite"))]
//! # fn main() {}
//! ```
//!
//! Expired sessions are invisible from the moment they expire; [`spawn_sweeper`] deletes
//! their rows in the background (it calls
//! [`SessionStore::sweep_expired`](auth_core::SessionStore::sweep_expired) every period).
//!
//! Users' audit trails ([`PgAuditLog`], [`SqliteAuditLog`], [`MySqlAuditLog`], written once as
//! [`SqlAuditLog`]) live in the same database; [`spawn_audit_pruner`] deletes events past
//! their retention.
//!
//! ## Migrations beside the app's own
//!
//! Our tables are `auth_users`, `auth_sessions`, `auth_session_marks`, `auth_oauth_accounts`,
//! `auth_mfa_totp`, `auth_recovery_codes`, `auth_passkeys` and `auth_audit_events`, and our applied
//! migrations are recorded in `_auth_sqlx_migrations`, not in sqlx's default
//! `_sqlx_migrations`. So the app keeps its own `sqlx::migrate!()` or `sqlx migrate run` untouched, and runs ours with one more call;
//! neither migrator sees the other's versions, and they may run in either order. To keep our
//! tables in a Postgres schema of their own, connect with a `search_path`
//! (`?options=-c%20search_path%3Dauth`) after creating the schema.
//!
//! ## Schema
//!
//! - `auth_users`: id, e-mail and its case-insensitive key (unique), username and its key
//!   (unique, nullable), password hash, the three flags, roles (JSON array), the app's
//!   profile (JSON object: adding an optional field needs no migration), created/updated
//!   times, and the version that makes [`UserStore::update`](auth_core::UserStore::update) a
//!   compare-and-set. The keys are [`Email::key`](auth_core::Email::key) and
//!   [`Username::key`](auth_core::Username::key), so uniqueness and lookups agree with the
//!   in-memory store, whatever the database's locale.
//! - `auth_sessions`: id, user id (indexed with the creation time), refresh and access token
//!   digests, the four times, and `live_until`, the earlier expiry (indexed for the sweep),
//!   user agent and IP, and the digests of the last refresh tokens rotated away (hex text), so
//!   that a replay is told from a forgery. No foreign key to `auth_users`, so either store can
//!   be used alone.
//! - `auth_session_marks`: each user's session mark (no row: mark 0), moved by "log out
//!   everywhere"; its row lock orders a user's logins and revocations.
//! - `auth_oauth_accounts`: the provider accounts linked to users: user id (a foreign key to
//!   `auth_users`, `ON DELETE CASCADE`, indexed with the creation time), provider and account
//!   id (unique together, compared exactly), the address the provider gave, the sealed access
//!   and refresh tokens (bytes, opaque to the store), their expiry, and created/updated times.
//!   A link to a missing user is refused by the foreign key; unlinking while keeping one login
//!   method locks the user's row first, so concurrent unlinks cannot remove a user's last two
//!   links both.
//! - `auth_mfa_totp`: each user's TOTP factor (the user id is the key, a foreign key to
//!   `auth_users`, `ON DELETE CASCADE`): the sealed secret (bytes), whether it is confirmed,
//!   the last time step accepted (so a code is accepted for a later step only, in one
//!   conditional `UPDATE`), and when it was made.
//! - `auth_recovery_codes`: each user's unused recovery codes, as digests (user id and digest
//!   together are the key; cascading foreign key); spending one is one `DELETE`, so it is
//!   accepted once.
//! - `auth_passkeys`: each user's passkeys: id, user id (cascading foreign key, indexed with
//!   the creation time), the name the user gave, the credential id (bytes, unique across all
//!   users), the credential as the WebAuthn library serialises it (text, opaque to the store),
//!   and created/last used times.
//! - `auth_audit_events`: each user's trail of authentication events: id (UUID v7), user id
//!   and time (indexed together, for the newest-first listing), the kind, method and detail
//!   (short texts, already cut and cleaned by `auth_core`), the session id, IP address and
//!   user agent. No foreign key: a deleted user's trail stays until it is pruned.
//!
//! ## Failures
//!
//! A unique violation on the e-mail address, the username, a provider account or a passkey's
//! credential id is [`StoreError::Conflict`](auth_core::StoreError::Conflict); a link or a
//! second factor for a user that does not exist is
//! [`StoreError::NotFound`](auth_core::StoreError::NotFound); a database that is down,
//! unreachable or overloaded is [`StoreError::Unavailable`](auth_core::StoreError::Unavailable)
//! after the pool's acquire timeout (5 s by default), so requests fail closed instead of
//! hanging; anything else is [`StoreError::Backend`](auth_core::StoreError::Backend). The
//! driver's error is kept as the source. Nothing panics. Once the database is back, the pool
//! replaces dead connections and the stores work again without a restart.
//!
//! On Postgres and MySQL the acquire timeout is also each call's time limit, the answer
//! included, so a connection that went silent (a half-open network, a host that died without
//! closing it) costs a call that limit, never a request that waits forever. The pools that
//! [`DbConfig`] opens also give up such a connection when it is handed back: sqlx checks every
//! returned connection with a round trip and would wait for it without a limit, holding a
//! place of the pool for good. A pool you build yourself lacks that check; build it with
//! [`DbConfig`] where the network can fail this way.
//!
//! ## Features
//!
//! | feature | default | what it turns on |
//! |---|---|---|
//! | `postgres` | no | [`PgUserStore`], [`PgSessionStore`], [`migrate_postgres`], [`DbConfig::connect_postgres`] |
//! | `sqlite` | no | [`SqliteUserStore`], [`SqliteSessionStore`], [`migrate_sqlite`], [`DbConfig::connect_sqlite`] (SQLite is compiled in) |
//! | `mysql` | no | [`MySqlUserStore`], [`MySqlSessionStore`], [`migrate_mysql`], [`DbConfig::connect_mysql`] (MySQL 8, MariaDB 10.5+) |
//!
//! ## How the three databases differ
//!
//! The stores' logic (which statements run, in which transactions, under which locks) is
//! written once; each database spells the statements in one file of its own. SQLite keeps
//! times as integer microseconds and orders writers with `BEGIN IMMEDIATE`; Postgres and MySQL
//! lock the user's mark row with `SELECT ... FOR UPDATE`. MySQL keeps ids as `BINARY(16)`,
//! times as integer microseconds, and compares every key with the `utf8mb4_bin` collation, so
//! that `café` and `cafe` stay two users there as everywhere else (the server's default
//! collations fold case and accents). The same conformance suite, races included, runs on all
//! three.
//!
//! The driver is re-exported as [`sqlx`], so an app uses the same version as the stores.
//!
//! **TLS** to Postgres (`sslmode=require`) needs one of sqlx's TLS features. This crate picks
//! none, so that the app chooses its TLS stack; Cargo unifies features, so naming it in the
//! app's own `Cargo.toml` turns it on here too:
//! `sqlx = { version = "0.9", default-features = false, features = ["tls-rustls"] }`.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Without a database feature only the shared plumbing is compiled, and nothing uses it.
#![cfg_attr(
    not(any(feature = "postgres", feature = "sqlite", feature = "mysql")),
    allow(dead_code)
)]

mod audit_log;
mod config;
mod dialect;
mod error;
mod mfa;
mod migrate;
#[cfg(feature = "mysql")]
mod mysql;
mod oauth_accounts;
#[cfg(feature = "postgres")]
mod postgres;
mod query;
mod revocation_feed;
mod row;
mod sessions;
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
mod sweeper;
mod users;

pub use sqlx;

pub use audit_log::SqlAuditLog;
pub use config::{DbConfig, DbKind};
pub use dialect::Dialect;
pub use error::Error;
#[cfg(feature = "mysql")]
#[cfg_attr(docsrs, doc(cfg(feature = "mysql")))]
pub use mysql::{MySqlAuditLog, MySqlSessionStore, MySqlUserStore, migrate_mysql};
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{PgAuditLog, PgSessionStore, PgUserStore, migrate_postgres};
pub use sessions::SqlSessionStore;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::{SqliteAuditLog, SqliteSessionStore, SqliteUserStore, migrate_sqlite};
pub use sweeper::{spawn_audit_pruner, spawn_sweeper};
pub use users::SqlUserStore;
