//! [`MemorySessionStore`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::secret::TokenHash;
use crate::session::{
    Admission, Admitted, REMEMBERED_ROTATIONS, Renewal, Rotation, Session, SessionId, SessionMark,
};
use crate::store::{Revocations, SessionStore};
use crate::user::UserId;

#[derive(Debug, Default)]
struct Tables {
    sessions: HashMap<SessionId, Session>,
    by_user: HashMap<UserId, HashSet<SessionId>>,
    /// Digests each session has rotated away, newest last (at most [`REMEMBERED_ROTATIONS`]).
    rotated: HashMap<SessionId, VecDeque<TokenHash>>,
    marks: HashMap<UserId, SessionMark>,
}

impl Tables {
    fn remove(&mut self, id: SessionId) -> Option<Session> {
        let session = self.sessions.remove(&id)?;
        self.rotated.remove(&id);
        if let Some(ids) = self.by_user.get_mut(&session.user_id) {
            ids.remove(&id);
            if ids.is_empty() {
                self.by_user.remove(&session.user_id);
            }
        }
        Some(session)
    }
}

/// A [`SessionStore`] in process memory, with a per-user index so that "log out everywhere"
/// touches only that user's sessions. Rotation holds one lock across compare and swap.
/// Expired sessions are invisible at once and freed by
/// [`SessionStore::sweep_expired`]. Nothing survives a restart, and a second instance does not
/// see the first one's sessions: use Redis or SQL stores to scale out.
///
/// ```
/// use auth_core::MemorySessionStore;
/// let sessions = MemorySessionStore::new();
/// ```
#[derive(Debug, Default)]
pub struct MemorySessionStore {
    tables: Mutex<Tables>,
}

impl MemorySessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    /// Lives in this process: a [`SessionCache`](crate::SessionCache) in front of it sees
    /// every revocation made through it.
    fn revocations(&self) -> Revocations {
        Revocations::InProcess
    }

    async fn mark(&self, user_id: UserId) -> Result<SessionMark, StoreError> {
        Ok(self
            .tables()
            .marks
            .get(&user_id)
            .copied()
            .unwrap_or_default())
    }

    async fn create(
        &self,
        session: &Session,
        admission: &Admission,
    ) -> Result<Admitted, StoreError> {
        let mut tables = self.tables();
        let mark = tables
            .marks
            .get(&session.user_id)
            .copied()
            .unwrap_or_default();
        if mark != admission.mark {
            return Ok(Admitted::StaleMark);
        }
        let mut evicted = Vec::new();
        if let Some(max) = admission.max_sessions {
            let now = session.created_at;
            let mut live: Vec<(OffsetDateTime, SessionId)> = tables
                .by_user
                .get(&session.user_id)
                .into_iter()
                .flatten()
                .filter_map(|id| tables.sessions.get(id))
                .filter(|other| other.is_live(now))
                .map(|other| (other.last_used_at, other.id))
                .collect();
            live.sort();
            let keep = usize::try_from(max.saturating_sub(1)).unwrap_or(usize::MAX);
            let excess = live.len().saturating_sub(keep);
            for (_, id) in live.into_iter().take(excess) {
                tables.remove(id);
                evicted.push(id);
            }
        }
        tables
            .by_user
            .entry(session.user_id)
            .or_default()
            .insert(session.id);
        tables.sessions.insert(session.id, session.clone());
        Ok(Admitted::Created { evicted })
    }

    async fn get(&self, id: SessionId, now: OffsetDateTime) -> Result<Option<Session>, StoreError> {
        Ok(self
            .tables()
            .sessions
            .get(&id)
            .filter(|session| session.is_live(now))
            .cloned())
    }

    async fn is_live(&self, id: SessionId, now: OffsetDateTime) -> Result<bool, StoreError> {
        Ok(self
            .tables()
            .sessions
            .get(&id)
            .is_some_and(|session| session.is_live(now)))
    }

    async fn rotate(
        &self,
        id: SessionId,
        presented: &TokenHash,
        renewal: &Renewal,
    ) -> Result<Rotation, StoreError> {
        let mut tables = self.tables();
        let Tables {
            sessions, rotated, ..
        } = &mut *tables;
        let Some(session) = sessions
            .get_mut(&id)
            .filter(|session| session.is_live(renewal.now))
        else {
            return Ok(Rotation::NotFound);
        };
        let spent = rotated.entry(id).or_default();
        if session.refresh_hash != *presented {
            if !spent.contains(presented) {
                // Never issued for this session: a forgery, which must not end it.
                return Ok(Rotation::NotFound);
            }
            let user_id = session.user_id;
            tables.remove(id);
            return Ok(Rotation::Reused { user_id });
        }
        spent.push_back(session.refresh_hash);
        while spent.len() > REMEMBERED_ROTATIONS {
            spent.pop_front();
        }
        session.refresh_hash = renewal.refresh_hash;
        session.access_hash = renewal.access_hash;
        session.last_used_at = renewal.now;
        session.idle_expires_at = renewal.idle_expires_at.min(session.expires_at);
        Ok(Rotation::Rotated(session.clone()))
    }

    async fn revoke(&self, id: SessionId) -> Result<bool, StoreError> {
        Ok(self.tables().remove(id).is_some())
    }

    async fn revoke_all(
        &self,
        user_id: UserId,
        except: Option<SessionId>,
    ) -> Result<u64, StoreError> {
        let mut tables = self.tables();
        let mark = tables.marks.entry(user_id).or_default();
        *mark = mark.next();
        let ids: Vec<SessionId> = tables
            .by_user
            .get(&user_id)
            .map(|ids| {
                ids.iter()
                    .copied()
                    .filter(|id| Some(*id) != except)
                    .collect()
            })
            .unwrap_or_default();
        for id in &ids {
            tables.remove(*id);
        }
        Ok(ids.len() as u64)
    }

    async fn list(&self, user_id: UserId, now: OffsetDateTime) -> Result<Vec<Session>, StoreError> {
        let tables = self.tables();
        let mut sessions: Vec<Session> = tables
            .by_user
            .get(&user_id)
            .into_iter()
            .flatten()
            .filter_map(|id| tables.sessions.get(id))
            .filter(|session| session.is_live(now))
            .cloned()
            .collect();
        sessions.sort_by_key(|session| (session.created_at, session.id));
        Ok(sessions)
    }

    /// Counts under the lock: one pass over the sessions in memory.
    async fn count_live(&self, now: OffsetDateTime) -> Result<Option<u64>, StoreError> {
        let tables = self.tables();
        let live = tables
            .sessions
            .values()
            .filter(|session| session.is_live(now))
            .count();
        Ok(Some(live as u64))
    }

    async fn sweep_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let mut tables = self.tables();
        let dead: Vec<SessionId> = tables
            .sessions
            .values()
            .filter(|session| !session.is_live(now))
            .map(|session| session.id)
            .collect();
        for id in &dead {
            tables.remove(*id);
        }
        Ok(dead.len() as u64)
    }
}
