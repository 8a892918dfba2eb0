//! [`SessionStore`]: where sessions (logins) live.

use std::fmt::Debug;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::secret::TokenHash;
use crate::session::{Renewal, Rotation, Session, SessionId};
use crate::user::UserId;

/// Where sessions live: one per login, each holding the digest of its one valid refresh
/// token.
///
/// A store must:
/// - treat a session as gone once `now` passes its idle or absolute expiry (callers pass
///   `now`, so tests move time with a [`ManualClock`](crate::ManualClock));
/// - **rotate atomically**: compare the presented digest with the current one and swap in the
///   new one in a single step, so that of many parallel refreshes with one token exactly one
///   wins; a mismatch on a live session is a replay, and the store revokes the session in the
///   same step ([`Rotation::Reused`]);
/// - revoke one session, or every session of one user without touching anyone else's.
///
/// The `auth_core::conformance` suite (feature `test-suite`) checks all of that.
///
/// # Why `#[async_trait]`
/// Stores are chosen at start-up and held as `Arc<dyn SessionStore>` (STYLE.md 5).
///
/// # Implementing it
/// A whole store over a `Mutex<HashMap<_, _>>` (the crate's
/// [`MemorySessionStore`](crate::MemorySessionStore) adds a per-user index):
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use async_trait::async_trait;
/// use auth_core::{Renewal, Rotation, Session, SessionId, SessionStore, StoreError, TokenHash, UserId};
/// use time::OffsetDateTime;
///
/// #[derive(Debug, Default)]
/// struct MapStore(Mutex<HashMap<SessionId, Session>>);
///
/// impl MapStore {
///     fn map(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Session>> {
///         self.0.lock().unwrap_or_else(|e| e.into_inner())
///     }
/// }
///
/// #[async_trait]
/// impl SessionStore for MapStore {
///     async fn create(&self, session: &Session) -> Result<(), StoreError> {
///         self.map().insert(session.id, session.clone());
///         Ok(())
///     }
///     async fn get(&self, id: SessionId, now: OffsetDateTime) -> Result<Option<Session>, StoreError> {
///         Ok(self.map().get(&id).filter(|s| s.is_live(now)).cloned())
///     }
///     async fn rotate(&self, id: SessionId, presented: &TokenHash, renewal: &Renewal) -> Result<Rotation, StoreError> {
///         // One lock held across compare and swap: that is the atomicity.
///         let mut map = self.map();
///         let Some(session) = map.get_mut(&id).filter(|s| s.is_live(renewal.now)) else {
///             return Ok(Rotation::NotFound);
///         };
///         if session.refresh_hash != *presented {
///             let user_id = session.user_id;
///             map.remove(&id);
///             return Ok(Rotation::Reused { user_id });
///         }
///         session.refresh_hash = renewal.refresh_hash;
///         session.access_hash = renewal.access_hash;
///         session.last_used_at = renewal.now;
///         session.idle_expires_at = renewal.idle_expires_at.min(session.expires_at);
///         Ok(Rotation::Rotated(session.clone()))
///     }
///     async fn revoke(&self, id: SessionId) -> Result<bool, StoreError> {
///         Ok(self.map().remove(&id).is_some())
///     }
///     async fn revoke_all(&self, user_id: UserId, except: Option<SessionId>) -> Result<u64, StoreError> {
///         let mut map = self.map();
///         let before = map.len();
///         map.retain(|id, s| s.user_id != user_id || Some(*id) == except);
///         Ok((before - map.len()) as u64)
///     }
///     async fn list(&self, user_id: UserId, now: OffsetDateTime) -> Result<Vec<Session>, StoreError> {
///         let mut sessions: Vec<Session> = self.map().values()
///             .filter(|s| s.user_id == user_id && s.is_live(now)).cloned().collect();
///         sessions.sort_by_key(|s| s.created_at);
///         Ok(sessions)
///     }
/// }
/// ```
#[async_trait]
pub trait SessionStore: Debug + Send + Sync + 'static {
    /// Stores a new session.
    ///
    /// # Errors
    /// Only when the backend fails.
    async fn create(&self, session: &Session) -> Result<(), StoreError>;

    /// The session with this id, if it is live at `now`.
    ///
    /// # Errors
    /// Only when the backend fails.
    async fn get(&self, id: SessionId, now: OffsetDateTime) -> Result<Option<Session>, StoreError>;

    /// Whether the session is live at `now`: the revocation check on every request, so a
    /// store may answer it more cheaply than [`SessionStore::get`].
    ///
    /// # Errors
    /// Only when the backend fails; the caller then refuses the request (fail closed).
    async fn is_live(&self, id: SessionId, now: OffsetDateTime) -> Result<bool, StoreError> {
        Ok(self.get(id, now).await?.is_some())
    }

    /// Atomically swaps the refresh token: see [`Rotation`] for the three outcomes.
    ///
    /// # Errors
    /// Only when the backend fails.
    async fn rotate(
        &self,
        id: SessionId,
        presented: &TokenHash,
        renewal: &Renewal,
    ) -> Result<Rotation, StoreError>;

    /// Revokes one session; `false` when there was none.
    ///
    /// # Errors
    /// Only when the backend fails.
    async fn revoke(&self, id: SessionId) -> Result<bool, StoreError>;

    /// Revokes every session of `user_id` but `except`, and returns how many went.
    ///
    /// # Errors
    /// Only when the backend fails.
    async fn revoke_all(
        &self,
        user_id: UserId,
        except: Option<SessionId>,
    ) -> Result<u64, StoreError>;

    /// The user's live sessions, oldest first.
    ///
    /// # Errors
    /// Only when the backend fails.
    async fn list(&self, user_id: UserId, now: OffsetDateTime) -> Result<Vec<Session>, StoreError>;

    /// Deletes sessions that expired before `now`; returns how many. Stores whose backend
    /// expires keys by itself keep the default, which does nothing.
    ///
    /// # Errors
    /// Only when the backend fails.
    async fn sweep_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let _ = now;
        Ok(0)
    }
}
