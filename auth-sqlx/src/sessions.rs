//! [`SqlSessionStore`]: sessions in Postgres or SQLite.

use std::fmt;

use async_trait::async_trait;
use auth_core::{
    Renewal, Rotation, Session, SessionId, SessionStore, StoreError, TokenHash, UserId,
};
use sqlx::Pool;
use time::OffsetDateTime;

use crate::dialect::{Columns, Dialect};
use crate::query::Sql;
use crate::row::{bind_session, read_session, session_columns};

// A session is live at `now` while `now < live_until`, a generated column holding the earlier
// of its idle and absolute expiry (see the migrations); every statement below judges liveness
// by it, and the sweep deletes by its index.

const INSERT: &str = concat!(
    "INSERT INTO auth_sessions (",
    session_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
);
const GET: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM auth_sessions WHERE id = $1 AND live_until > $2"
);
const IS_LIVE: &str = "SELECT 1 FROM auth_sessions WHERE id = $1 AND live_until > $2";

// The compare-and-swap of a refresh: one statement, so the database's row lock (Postgres) or
// write lock (SQLite) makes it atomic. Of many concurrent rotations with one token, the first
// to lock the row swaps the digest; Postgres re-checks the others' WHERE against the row as
// the winner left it, where the old digest no longer matches, so they change nothing. The new
// idle expiry is capped at the absolute one. The database compares digests in variable time,
// which is harmless here: timing could at most reveal a prefix of a SHA-256 digest of a
// 256-bit secret, which brings no one closer to a token that hashes to it.
const ROTATE: &str = concat!(
    "UPDATE auth_sessions SET refresh_hash = $3, access_hash = $4, last_used_at = $5, \
     idle_expires_at = CASE WHEN $6 < expires_at THEN $6 ELSE expires_at END \
     WHERE id = $1 AND refresh_hash = $2 AND live_until > $5 RETURNING ",
    session_columns!()
);
// When the swap changed nothing: a live session whose digest is not the presented one saw a
// used token replayed, and dies here (RFC 9700 §4.14.2); no such session means `NotFound`.
// This runs only after a swap found no match, which for a live session with that id means the
// digest had already moved on: so a loser of a concurrent race counts as a replay, as in the
// reference store, and there is never a second winner.
const REVOKE_REPLAYED: &str = "DELETE FROM auth_sessions \
     WHERE id = $1 AND refresh_hash <> $2 AND live_until > $3 RETURNING user_id";

const REVOKE: &str = "DELETE FROM auth_sessions WHERE id = $1";
const REVOKE_ALL: &str =
    "DELETE FROM auth_sessions WHERE user_id = $1 AND ($2 IS NULL OR id <> $2)";
const LIST: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM auth_sessions WHERE user_id = $1 AND live_until > $2 ORDER BY created_at, id"
);
const SWEEP: &str = "DELETE FROM auth_sessions WHERE live_until <= $1";

/// A [`SessionStore`] in a SQL database: [`PgSessionStore`](crate::PgSessionStore) or
/// [`SqliteSessionStore`](crate::SqliteSessionStore).
///
/// - Only token digests are stored (ASVS5 7.2.3).
/// - [`SessionStore::rotate`] swaps the digest in a single conditional `UPDATE`: of any number
///   of concurrent refreshes with one token, exactly one wins. A replayed token revokes the
///   session.
/// - [`SessionStore::is_live`] is one indexed primary-key lookup that reads no columns.
/// - Expired rows are invisible at once; [`SessionStore::sweep_expired`] deletes them (call it
///   from a periodic task, for example hourly).
///
/// The table must exist: run the crate's migrations first (see the crate docs). It has no
/// foreign key to the users table, so it works beside any [`UserStore`](auth_core::UserStore).
pub struct SqlSessionStore<DB: Dialect> {
    pool: Pool<DB>,
}

impl<DB: Dialect> SqlSessionStore<DB> {
    /// A store over `pool`. Cheap: the pool is shared, not copied.
    pub fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }

    /// The pool the store runs on.
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }
}

impl<DB: Dialect> Clone for SqlSessionStore<DB> {
    fn clone(&self) -> Self {
        Self::new(self.pool.clone())
    }
}

impl<DB: Dialect> fmt::Debug for SqlSessionStore<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlSessionStore")
            .field("database", &<DB as sqlx::Database>::NAME)
            .field("pool_size", &self.pool.size())
            .finish()
    }
}

#[async_trait]
impl<DB: Dialect> SessionStore for SqlSessionStore<DB> {
    async fn create(&self, session: &Session) -> Result<(), StoreError> {
        bind_session(Sql::new(INSERT), session)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    async fn get(&self, id: SessionId, now: OffsetDateTime) -> Result<Option<Session>, StoreError> {
        Sql::new(GET)
            .bind(*id.as_uuid())
            .bind_time(now)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| read_session::<DB>(&row))
            .transpose()
    }

    async fn is_live(&self, id: SessionId, now: OffsetDateTime) -> Result<bool, StoreError> {
        let row = Sql::<DB>::new(IS_LIVE)
            .bind(*id.as_uuid())
            .bind_time(now)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn rotate(
        &self,
        id: SessionId,
        presented: &TokenHash,
        renewal: &Renewal,
    ) -> Result<Rotation, StoreError> {
        let rotated = Sql::new(ROTATE)
            .bind(*id.as_uuid())
            .bind(presented.as_bytes().to_vec())
            .bind(renewal.refresh_hash.as_bytes().to_vec())
            .bind(renewal.access_hash.map(|hash| hash.as_bytes().to_vec()))
            .bind_time(renewal.now)
            .bind_time(renewal.idle_expires_at)
            .fetch_optional(&self.pool)
            .await?;
        if let Some(row) = rotated {
            return read_session::<DB>(&row).map(Rotation::Rotated);
        }
        let revoked = Sql::<DB>::new(REVOKE_REPLAYED)
            .bind(*id.as_uuid())
            .bind(presented.as_bytes().to_vec())
            .bind_time(renewal.now)
            .fetch_optional(&self.pool)
            .await?;
        match revoked {
            Some(row) => {
                let user_id = row.uuid("user_id").map_err(StoreError::backend)?;
                Ok(Rotation::Reused {
                    user_id: UserId::from_uuid(user_id),
                })
            }
            None => Ok(Rotation::NotFound),
        }
    }

    async fn revoke(&self, id: SessionId) -> Result<bool, StoreError> {
        let deleted = Sql::<DB>::new(REVOKE)
            .bind(*id.as_uuid())
            .execute(&self.pool)
            .await?;
        Ok(deleted > 0)
    }

    async fn revoke_all(
        &self,
        user_id: UserId,
        except: Option<SessionId>,
    ) -> Result<u64, StoreError> {
        Sql::<DB>::new(REVOKE_ALL)
            .bind(*user_id.as_uuid())
            .bind(except.map(|id| *id.as_uuid()))
            .execute(&self.pool)
            .await
    }

    async fn list(&self, user_id: UserId, now: OffsetDateTime) -> Result<Vec<Session>, StoreError> {
        Sql::<DB>::new(LIST)
            .bind(*user_id.as_uuid())
            .bind_time(now)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(read_session::<DB>)
            .collect()
    }

    async fn sweep_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        Sql::<DB>::new(SWEEP)
            .bind_time(now)
            .execute(&self.pool)
            .await
    }
}
