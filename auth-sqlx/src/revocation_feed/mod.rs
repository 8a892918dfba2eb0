//! How the session tables announce ended sessions to every app instance, so that a
//! [`SessionCache`](auth_core::SessionCache) stays exact (see
//! [`SessionStore::revocations`](auth_core::SessionStore::revocations)).
//!
//! Both are fed by a trigger on `DELETE FROM auth_sessions` (migration 5), so every writer is
//! heard: this process, another instance, an admin command, a `DELETE` by hand.
//!
//! - Postgres: the trigger calls `pg_notify('auth_sessions_revoked', id)`, delivered at
//!   commit; each instance `LISTEN`s on a connection of its own.
//! - SQLite: the trigger appends the id to `auth_session_revocations`; each process polls it
//!   every 20 ms.
//! - MySQL has neither (a trigger there needs privileges an app rarely has): its sessions are
//!   not cached, and every check reads the table.

#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;
