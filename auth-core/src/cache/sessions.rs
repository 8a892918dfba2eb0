//! [`SessionCache`]: an exact in-process cache of live sessions, so that the revocation
//! check on every request costs a hash lookup instead of a store round trip.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::following::Following;
use super::table::Table;
use crate::error::StoreError;
use crate::secret::TokenHash;
use crate::session::{Admission, Admitted, Renewal, Rotation, Session, SessionId, SessionMark};
use crate::store::{RevocationEvent, Revocations, SessionStore};
use crate::user::UserId;

/// How many sessions a [`SessionCache`] holds unless told otherwise (about 100 bytes each).
pub const DEFAULT_SESSION_CACHE_CAPACITY: usize = 100_000;

/// A [`SessionStore`] in front of another that remembers which sessions the store found
/// live, and forgets them the moment they end anywhere.
///
/// [`UserManager`](crate::UserManager) puts one in front of every store that announces its
/// revocations ([`SessionStore::revocations`]), unless told not to
/// ([`UserManagerBuilder::session_cache`](crate::UserManagerBuilder::session_cache)).
///
/// **Exact, not eventually consistent.** A session is answered "live" from memory only
/// while all of these hold:
///
/// - the store's [`RevocationFeed`](crate::RevocationFeed) is subscribed and was heard from in
///   the last second (it is sent a heartbeat four times a second); the moment it is lost, the
///   whole cache is dropped and every check asks the store again (fail closed) until it is
///   back;
/// - no announcement of the session's end (or of "every session of its user") arrived since
///   the store was read, including during that read: a read that races a revocation is not
///   kept;
/// - `now` is before the idle and absolute expiry times the store gave.
///
/// A revocation through this cache (logout, "log out everywhere", a replayed refresh token,
/// an eviction at the session limit) is forgotten before the call returns; one on another
/// instance is refused here as soon as its announcement arrives (on loopback, well under a
/// millisecond for Redis and Postgres).
///
/// Only "live" answers are kept, never "revoked"; reads ([`SessionStore::get`],
/// [`SessionStore::list`]) always go to the store.
///
/// ```
/// use std::sync::Arc;
/// use auth_core::{MemorySessionStore, SessionCache, SessionStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store: Arc<dyn SessionStore> = Arc::new(MemorySessionStore::new());
/// let cached = SessionCache::new(store, 10_000);
/// assert!(cached.is_trusted());
/// # }
/// ```
pub struct SessionCache {
    inner: Arc<dyn SessionStore>,
    live: Following<SessionId, LiveSession>,
}

impl SessionCache {
    /// A cache of at most `capacity` sessions in front of `store`, following the store's
    /// [`revocations`](SessionStore::revocations):
    ///
    /// - [`Revocations::Feed`]: a task (on the current tokio runtime) listens to the feed;
    ///   nothing is answered from memory until it has subscribed;
    /// - [`Revocations::InProcess`]: every revocation goes through this cache;
    /// - [`Revocations::Unannounced`], a zero `capacity`, or no tokio runtime to run the
    ///   feed on: nothing is ever answered from memory (the cache passes every call through).
    pub fn new(store: Arc<dyn SessionStore>, capacity: usize) -> Self {
        let live = Following::new(store.revocations(), capacity, forget_ended);
        Self { inner: store, live }
    }

    /// Whether "live" answers are given from memory right now (the feed is up).
    pub fn is_trusted(&self) -> bool {
        self.live.table().is_trusted()
    }

    /// How many revocation checks were answered from memory so far.
    pub fn hits(&self) -> u64 {
        self.live.hits()
    }

    /// How many sessions (and reads under way) the cache holds.
    pub fn len(&self) -> usize {
        self.live.table().len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The store behind the cache.
    pub fn inner(&self) -> &Arc<dyn SessionStore> {
        &self.inner
    }
}

/// What the cache keeps of a session the store found live.
#[derive(Debug, Clone, Copy)]
struct LiveSession {
    user: UserId,
    idle_expires_at: OffsetDateTime,
    expires_at: OffsetDateTime,
}

impl LiveSession {
    fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.idle_expires_at && now < self.expires_at
    }
}

impl From<&Session> for LiveSession {
    fn from(session: &Session) -> Self {
        Self {
            user: session.user_id,
            idle_expires_at: session.idle_expires_at,
            expires_at: session.expires_at,
        }
    }
}

/// What an announcement on a session store's feed ends.
fn forget_ended(table: &Table<SessionId, LiveSession>, event: RevocationEvent) {
    match event {
        RevocationEvent::Session(id) => table.forget(&id),
        RevocationEvent::User(user) => table.forget_where(|live| live.user == user),
        RevocationEvent::Heartbeat => {}
    }
}

impl fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCache")
            .field("inner", &self.inner)
            .field("trusted", &self.is_trusted())
            .field("len", &self.len())
            .finish()
    }
}

#[async_trait]
impl SessionStore for SessionCache {
    async fn mark(&self, user_id: UserId) -> Result<SessionMark, StoreError> {
        self.inner.mark(user_id).await
    }

    async fn create(
        &self,
        session: &Session,
        admission: &Admission,
    ) -> Result<Admitted, StoreError> {
        let admitted = self.inner.create(session, admission).await?;
        if let Admitted::Created { evicted } = &admitted {
            for id in evicted {
                self.live.table().forget(id);
            }
        }
        Ok(admitted)
    }

    async fn get(&self, id: SessionId, now: OffsetDateTime) -> Result<Option<Session>, StoreError> {
        self.inner.get(id, now).await
    }

    /// From memory when known live; otherwise one read of the store, kept if no revocation
    /// raced it.
    async fn is_live(&self, id: SessionId, now: OffsetDateTime) -> Result<bool, StoreError> {
        if self.live.lookup(&id, |live| live.is_live(now)).is_some() {
            return Ok(true);
        }
        let Some(ticket) = self.live.begin_read(id) else {
            return self.inner.is_live(id, now).await;
        };
        match self.inner.get(id, now).await {
            Ok(found) => {
                self.live
                    .table()
                    .finish_read(ticket, found.as_ref().map(LiveSession::from));
                Ok(found.is_some())
            }
            Err(err) => {
                self.live.table().finish_read(ticket, None);
                Err(err)
            }
        }
    }

    async fn rotate(
        &self,
        id: SessionId,
        presented: &TokenHash,
        renewal: &Renewal,
    ) -> Result<Rotation, StoreError> {
        let rotation = self.inner.rotate(id, presented, renewal).await?;
        // A rotation only moves the idle expiry later, so a kept entry stays on the safe
        // side; a replay ends the session.
        if !matches!(rotation, Rotation::Rotated(_)) {
            self.live.table().forget(&id);
        }
        Ok(rotation)
    }

    async fn revoke(&self, id: SessionId) -> Result<bool, StoreError> {
        let revoked = self.inner.revoke(id).await;
        self.live.table().forget(&id);
        revoked
    }

    async fn revoke_all(
        &self,
        user_id: UserId,
        except: Option<SessionId>,
    ) -> Result<u64, StoreError> {
        let revoked = self.inner.revoke_all(user_id, except).await;
        self.live.table().forget_where(|live| live.user == user_id);
        revoked
    }

    async fn list(&self, user_id: UserId, now: OffsetDateTime) -> Result<Vec<Session>, StoreError> {
        self.inner.list(user_id, now).await
    }

    async fn sweep_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.inner.sweep_expired(now).await
    }

    async fn count_live(&self, now: OffsetDateTime) -> Result<Option<u64>, StoreError> {
        self.inner.count_live(now).await
    }

    /// A cache announces nothing itself, so it is never wrapped twice.
    fn revocations(&self) -> Revocations {
        Revocations::Unannounced
    }
}
