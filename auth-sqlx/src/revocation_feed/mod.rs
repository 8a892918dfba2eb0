//! How the tables announce ended sessions and changed users to every app instance, so that a
//! [`SessionCache`](auth_core::SessionCache) and a [`UserCache`](auth_core::UserCache) stay
//! exact (see [`SessionStore::revocations`](auth_core::SessionStore::revocations) and
//! [`UserStore::changes`](auth_core::UserStore::changes)).
//!
//! Both are fed by triggers (migration 5) on `DELETE FROM auth_sessions` and on any update or
//! deletion in `auth_users`, so every writer is heard: this process, another instance, an
//! admin command, a statement by hand.
//!
//! - Postgres: the triggers call `pg_notify('auth_sessions_revoked', id)` and
//!   `pg_notify('auth_users_changed', id)`, delivered at commit; each instance `LISTEN`s on a
//!   connection of its own per channel.
//! - SQLite: the triggers append the id to `auth_session_revocations` and
//!   `auth_user_changes`; each process polls them every 20 ms.
//! - MySQL has neither (a trigger there needs privileges an app rarely has): its sessions and
//!   users are not cached, and every check reads the tables.

#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

use auth_core::{RevocationEvent, SessionId, UserId};
use uuid::Uuid;

/// What a feed announces.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(any(feature = "postgres", feature = "sqlite")), allow(dead_code))]
pub(crate) enum Announces {
    /// Ended sessions, by session id.
    Sessions,
    /// Changed or deleted users, by user id.
    Users,
}

impl Announces {
    #[cfg_attr(not(any(feature = "postgres", feature = "sqlite")), allow(dead_code))]
    fn event(self, id: Uuid) -> RevocationEvent {
        match self {
            Self::Sessions => RevocationEvent::Session(SessionId::from_uuid(id)),
            Self::Users => RevocationEvent::User(UserId::from_uuid(id)),
        }
    }
}
