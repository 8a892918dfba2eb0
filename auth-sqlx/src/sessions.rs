//! [`SqlSessionStore`]: sessions in Postgres or SQLite.

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
//
// The same statement remembers the digest it rotates away: `$7` is its entry (`;` and the
// digest in lower-case hex, `ENTRY_LEN` characters), appended to `rotated` after dropping the
// oldest entry (`substr` from character `ENTRY_LEN + 1`) once `$8` characters, a full memory,
// are there. Text, so that `||` and `substr` mean the same in both databases.
const ROTATE: &str = concat!(
    "UPDATE auth_sessions SET refresh_hash = $3, access_hash = $4, last_used_at = $5, \
     idle_expires_at = CASE WHEN $6 < expires_at THEN $6 ELSE expires_at END, \
     rotated = substr(rotated, CASE WHEN length(rotated) >= $8 THEN 66 ELSE 1 END) || $7 \
     WHERE id = $1 AND refresh_hash = $2 AND live_until > $5 RETURNING ",
    session_columns!()
);
// When the swap changed nothing: a live session that remembers rotating the presented digest
// away saw a used token replayed, and dies here (RFC 9700 §4.14.2). `$4` is the LIKE pattern
// `%;<hex>%`: hex has no wildcards, and the leading `;` anchors it at the start of an entry.
// Any other digest (one this session never issued: a forgery built from a session id read in
// an access token) matches no row and changes nothing, so it cannot log the owner out. A loser
// of a concurrent race with one token finds that token remembered by the winner and counts as
// a replay, as in the reference store; there is never a second winner.
const REVOKE_REUSED: &str = "DELETE FROM auth_sessions \
     WHERE id = $1 AND refresh_hash <> $2 AND live_until > $3 AND rotated LIKE $4 \
     RETURNING user_id";

/// The length of one remembered digest in `rotated`: `;` and 64 hex digits. `ROTATE` drops the
/// oldest entry with `substr(rotated, 66)`, which must agree with it.
const ENTRY_LEN: usize = 65;

const REVOKE: &str = "DELETE FROM auth_sessions WHERE id = $1";
const REVOKE_ALL: &str =
    "DELETE FROM auth_sessions WHERE user_id = $1 AND ($2 IS NULL OR id <> $2)";
const LIST: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM auth_sessions WHERE user_id = $1 AND live_until > $2 ORDER BY created_at, id"
);
const SWEEP: &str = "DELETE FROM auth_sessions WHERE live_until <= $1";

// Marks. A user without a row has mark 0.
const MARK: &str = "SELECT mark FROM auth_session_marks WHERE user_id = $1";
// The first statement of a creation: the user's mark row, created at 0 if missing, locked for
// the rest of the transaction, and its value. An upsert whose update changes nothing takes the
// same row lock as `SELECT ... FOR UPDATE` (which SQLite lacks) and, in Postgres, waits for a
// revocation holding the lock and then returns the mark that revocation committed, never the
// one before: so a creation cannot slip its session in under a revocation that has moved the
// mark but not yet deleted the sessions. In SQLite the `BEGIN IMMEDIATE` transaction already
// excludes every other writer.
const LOCK_MARK: &str = "INSERT INTO auth_session_marks (user_id, mark) VALUES ($1, 0) \
     ON CONFLICT (user_id) DO UPDATE SET mark = auth_session_marks.mark RETURNING mark";
// The first statement of a revocation: moves the mark, under the same row lock.
const MOVE_MARK: &str = "INSERT INTO auth_session_marks (user_id, mark) VALUES ($1, 1) \
     ON CONFLICT (user_id) DO UPDATE SET mark = auth_session_marks.mark + 1";
// The user's live sessions, least recently used first: the candidates for eviction.
const LEAST_RECENTLY_USED: &str = "SELECT id FROM auth_sessions \
     WHERE user_id = $1 AND live_until > $2 ORDER BY last_used_at, id";

/// A [`SessionStore`] in a SQL database: [`PgSessionStore`](crate::PgSessionStore) or
/// [`SqliteSessionStore`](crate::SqliteSessionStore).
///
/// - Only token digests are stored (ASVS5 7.2.3).
/// - [`SessionStore::create`] and [`SessionStore::revoke_all`] are transactions that begin by
///   locking the user's mark row (SQLite: by taking the write lock), so a login racing a
///   revocation either lands before it and is revoked, or sees the moved mark and is refused;
///   and logins of one user, evicting the least recently used beyond the limit, run one at a
///   time.
/// - [`SessionStore::rotate`] swaps the digest in a single conditional `UPDATE`: of any number
///   of concurrent refreshes with one token, exactly one wins. The same `UPDATE` remembers the
///   digest it replaced (the last [`REMEMBERED_ROTATIONS`]); presenting one of those revokes
///   the session, presenting any other digest changes nothing.
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
    async fn mark(&self, user_id: UserId) -> Result<SessionMark, StoreError> {
        Sql::<DB>::new(MARK)
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
        let mark = Sql::<DB>::new(LOCK_MARK)
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
            let live = Sql::<DB>::new(LEAST_RECENTLY_USED)
                .bind(user_id)
                .bind_time(session.created_at)
                .fetch_all_in(&mut tx)
                .await?;
            let keep = usize::try_from(max.saturating_sub(1)).unwrap_or(usize::MAX);
            let excess = live.len().saturating_sub(keep);
            for row in live.iter().take(excess) {
                let id = row.uuid("id").map_err(StoreError::backend)?;
                Sql::<DB>::new(REVOKE).bind(id).execute_in(&mut tx).await?;
                evicted.push(SessionId::from_uuid(id));
            }
        }
        bind_session(Sql::new(INSERT), session)
            .execute_in(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(Admitted::Created { evicted })
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
        let presented_hex = hex::encode(presented.as_bytes());
        let rotated = Sql::new(ROTATE)
            .bind(*id.as_uuid())
            .bind(presented.as_bytes().to_vec())
            .bind(renewal.refresh_hash.as_bytes().to_vec())
            .bind(renewal.access_hash.map(|hash| hash.as_bytes().to_vec()))
            .bind_time(renewal.now)
            .bind_time(renewal.idle_expires_at)
            .bind(format!(";{presented_hex}"))
            .bind(REMEMBERED_LEN)
            .fetch_optional(&self.pool)
            .await?;
        if let Some(row) = rotated {
            return read_session::<DB>(&row).map(Rotation::Rotated);
        }
        let revoked = Sql::<DB>::new(REVOKE_REUSED)
            .bind(*id.as_uuid())
            .bind(presented.as_bytes().to_vec())
            .bind_time(renewal.now)
            .bind(format!("%;{presented_hex}%"))
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
        // The mark moves first, taking the lock that creations take first: a creation either
        // committed its session before (and it is deleted below) or waits and sees the new mark.
        let mut tx = Tx::<DB>::begin(&self.pool).await?;
        Sql::<DB>::new(MOVE_MARK)
            .bind(*user_id.as_uuid())
            .execute_in(&mut tx)
            .await?;
        let revoked = Sql::<DB>::new(REVOKE_ALL)
            .bind(*user_id.as_uuid())
            .bind(except.map(|id| *id.as_uuid()))
            .execute_in(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(revoked)
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
