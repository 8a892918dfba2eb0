//! [`SqlSessionStore`]: sessions in Postgres, SQLite or MySQL.

use std::fmt;

use async_trait::async_trait;
use auth_core::{
    Admission, Admitted, REMEMBERED_ROTATIONS, Renewal, Rotation, Session, SessionId, SessionMark,
    SessionStore, StoreError, TokenHash, UserId,
};
use sqlx::Pool;
use time::OffsetDateTime;

use crate::dialect::{Columns, Dialect};
use crate::error::corrupt;
use crate::query::{Sql, Tx};
use crate::row::{bind_session, read_session};

// A session is live at `now` while `now < live_until`, a generated column holding the earlier
// of its idle and absolute expiry (see the migrations); every statement judges liveness by it,
// and the sweep deletes by its index.

/// The length of one remembered digest in `rotated`: `;` and 64 hex digits. The rotation
/// statements drop the oldest entry by starting from character `ENTRY_LEN + 1` (66), which
/// must agree with it.
const ENTRY_LEN: usize = 65;

/// A [`SessionStore`] in a SQL database: [`PgSessionStore`](crate::PgSessionStore),
/// [`SqliteSessionStore`](crate::SqliteSessionStore) or
/// [`MySqlSessionStore`](crate::MySqlSessionStore).
///
/// - Only token digests are stored (ASVS5 7.2.3).
/// - [`SessionStore::create`] and [`SessionStore::revoke_all`] are transactions that begin by
///   locking the user's mark row (SQLite: by taking the write lock; a creation reads the mark
///   under that lock and so sees the one a revocation committed, never the one before), so a
///   login racing a
///   revocation either lands before it and is revoked, or sees the moved mark and is refused;
///   and logins of one user, evicting the least recently used beyond the limit, run one at a
///   time.
/// - [`SessionStore::rotate`] swaps the digest in a single conditional `UPDATE` (the row lock,
///   or SQLite's write lock, makes it atomic): of any number of concurrent refreshes with one
///   token, exactly one wins. The same `UPDATE` remembers the digest it replaced (the last
///   [`REMEMBERED_ROTATIONS`]). When it changes nothing, a live session that remembers the
///   presented digest saw a used token replayed and dies in the same transaction (RFC 9700
///   §4.14.2); any other digest (a forgery built from a session id read in an access token)
///   changes nothing, so it cannot log the owner out. The database compares digests in
///   variable time, which is harmless: timing could at most reveal a prefix of a SHA-256
///   digest of a 256-bit secret.
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
    /// Postgres: `LISTEN`/`NOTIFY`; SQLite: a log table polled every 20 ms; MySQL: none, so
    /// its sessions are not cached. Both feeds are written by a trigger on the table, so a
    /// session deleted by anyone is announced.
    fn revocations(&self) -> auth_core::Revocations {
        DB::session_announcements(&self.pool)
    }

    async fn mark(&self, user_id: UserId) -> Result<SessionMark, StoreError> {
        Sql::<DB>::new(DB::SQL.mark_get)
            .bind(*user_id.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .map(|row| read_mark::<DB>(&row))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    async fn create(
        &self,
        session: &Session,
        admission: &Admission,
    ) -> Result<Admitted, StoreError> {
        let user_id = *session.user_id.as_uuid();
        let mut tx = Tx::<DB>::begin(&self.pool).await?;
        Sql::<DB>::new(DB::SQL.mark_ensure)
            .bind(user_id)
            .execute_in(&mut tx)
            .await?;
        let mark = Sql::<DB>::new(DB::SQL.mark_lock)
            .bind(user_id)
            .fetch_optional_in(&mut tx)
            .await?
            .map(|row| read_mark::<DB>(&row))
            .transpose()?
            .unwrap_or_default();
        if mark != admission.mark {
            tx.rollback().await?;
            return Ok(Admitted::StaleMark);
        }
        let mut evicted = Vec::new();
        if let Some(max) = admission.max_sessions {
            // Liveness as of the login, as the reference store judges it.
            let live = Sql::<DB>::new(DB::SQL.session_least_recently_used)
                .bind(user_id)
                .bind_time(session.created_at)
                .fetch_all_in(&mut tx)
                .await?;
            let keep = usize::try_from(max.saturating_sub(1)).unwrap_or(usize::MAX);
            let excess = live.len().saturating_sub(keep);
            for row in live.iter().take(excess) {
                let id = row.uuid("id").map_err(StoreError::backend)?;
                Sql::<DB>::new(DB::SQL.session_revoke)
                    .bind(id)
                    .execute_in(&mut tx)
                    .await?;
                evicted.push(SessionId::from_uuid(id));
            }
        }
        bind_session(Sql::new(DB::SQL.session_insert), session)
            .execute_in(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(Admitted::Created { evicted })
    }

    async fn get(&self, id: SessionId, now: OffsetDateTime) -> Result<Option<Session>, StoreError> {
        Sql::new(DB::SQL.session_get)
            .bind(*id.as_uuid())
            .bind_time(now)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| read_session::<DB>(&row))
            .transpose()
    }

    async fn is_live(&self, id: SessionId, now: OffsetDateTime) -> Result<bool, StoreError> {
        let row = Sql::<DB>::new(DB::SQL.session_is_live)
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
        let presented_hex = hex::encode(presented.as_bytes());
        let mut tx = Tx::<DB>::begin(&self.pool).await?;
        let swapped = Sql::<DB>::new(DB::SQL.session_rotate)
            .bind(renewal.refresh_hash.as_bytes().to_vec())
            .bind(renewal.access_hash.map(|hash| hash.as_bytes().to_vec()))
            .bind_time(renewal.now)
            .bind_time(renewal.idle_expires_at)
            .bind(REMEMBERED_LEN)
            .bind(format!(";{presented_hex}"))
            .bind(*id.as_uuid())
            .bind(presented.as_bytes().to_vec())
            .bind_time(renewal.now)
            .execute_in(&mut tx)
            .await?;
        if swapped > 0 {
            // The row is locked by the swap until the commit: this reads what it wrote.
            let row = Sql::<DB>::new(DB::SQL.session_by_id)
                .bind(*id.as_uuid())
                .fetch_optional_in(&mut tx)
                .await?;
            tx.commit().await?;
            return match row {
                Some(row) => read_session::<DB>(&row).map(Rotation::Rotated),
                None => Err(corrupt("id", "a rotated session vanished")),
            };
        }
        // A loser of a concurrent race with one token finds that token remembered by the
        // winner and counts as a replay, as in the reference store; there is never a second
        // winner. The pattern's hex has no wildcards, and the leading `;` anchors it at the
        // start of an entry.
        let owner = Sql::<DB>::new(DB::SQL.session_reused_owner)
            .bind(*id.as_uuid())
            .bind(presented.as_bytes().to_vec())
            .bind_time(renewal.now)
            .bind(format!("%;{presented_hex}%"))
            .fetch_optional_in(&mut tx)
            .await?;
        let Some(owner) = owner else {
            tx.rollback().await?;
            return Ok(Rotation::NotFound);
        };
        let user_id = owner.uuid("user_id").map_err(StoreError::backend)?;
        Sql::<DB>::new(DB::SQL.session_revoke)
            .bind(*id.as_uuid())
            .execute_in(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(Rotation::Reused {
            user_id: UserId::from_uuid(user_id),
        })
    }

    async fn revoke(&self, id: SessionId) -> Result<bool, StoreError> {
        let deleted = Sql::<DB>::new(DB::SQL.session_revoke)
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
        // The mark moves first, taking the lock that creations take first: a creation either
        // committed its session before (and it is deleted below) or waits and sees the new mark.
        let mut tx = Tx::<DB>::begin(&self.pool).await?;
        Sql::<DB>::new(DB::SQL.mark_move)
            .bind(*user_id.as_uuid())
            .execute_in(&mut tx)
            .await?;
        let revoked = match except {
            Some(kept) => Sql::<DB>::new(DB::SQL.session_revoke_all_except)
                .bind(*user_id.as_uuid())
                .bind(*kept.as_uuid()),
            None => Sql::<DB>::new(DB::SQL.session_revoke_all).bind(*user_id.as_uuid()),
        }
        .execute_in(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(revoked)
    }

    async fn list(&self, user_id: UserId, now: OffsetDateTime) -> Result<Vec<Session>, StoreError> {
        Sql::<DB>::new(DB::SQL.session_list)
            .bind(*user_id.as_uuid())
            .bind_time(now)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(read_session::<DB>)
            .collect()
    }

    /// One `COUNT(*)` over a range of the `live_until` index.
    async fn count_live(&self, now: OffsetDateTime) -> Result<Option<u64>, StoreError> {
        let total = Sql::<DB>::new(DB::SQL.session_count_live)
            .bind_time(now)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.int("total"))
            .transpose()
            .map_err(StoreError::backend)?
            .unwrap_or(0);
        u64::try_from(total)
            .map(Some)
            .map_err(|err| corrupt("total", err))
    }

    async fn sweep_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        Sql::<DB>::new(DB::SQL.session_sweep)
            .bind_time(now)
            .execute(&self.pool)
            .await
    }
}

/// The length of `rotated` when it holds [`REMEMBERED_ROTATIONS`] entries: from there on,
/// each rotation drops the oldest.
// 16 * 65: the cast cannot wrap.
const REMEMBERED_LEN: i64 = (REMEMBERED_ROTATIONS * ENTRY_LEN) as i64;

/// A mark from a row with a `mark` column.
fn read_mark<DB: Dialect>(row: &DB::Row) -> Result<SessionMark, StoreError> {
    let stored = row.int("mark").map_err(StoreError::backend)?;
    u64::try_from(stored)
        .map(SessionMark::new)
        .map_err(|err| corrupt("mark", err))
}
