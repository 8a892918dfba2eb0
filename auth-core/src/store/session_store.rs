//! [`SessionStore`]: where sessions (logins) live.

use std::fmt::Debug;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::secret::TokenHash;
use crate::session::{Admission, Admitted, Renewal, Rotation, Session, SessionId, SessionMark};
use crate::store::Revocations;
use crate::user::UserId;

/// Where sessions live: one per login, each holding the digest of its one valid refresh
/// token.
///
/// A store must:
/// - treat a session as gone once `now` passes its idle or absolute expiry (callers pass
///   `now`, so tests move time with a [`ManualClock`](crate::ManualClock));
/// - **admit a session only from current credentials**: every user has a [`SessionMark`]
///   that [`SessionStore::revoke_all`] moves. A login reads the mark *before* it reads the
///   user and checks the password, and [`SessionStore::create`] refuses the session in one
///   atomic step if the mark has moved since ([`Admitted::StaleMark`]). So a login racing a
///   password change, a deactivation or a demotion cannot leave a live session behind: either
///   its session exists before the revocation (and is revoked with the others) or it is
///   refused;
/// - keep at most [`Admission::max_sessions`] live sessions per user, evicting the least
///   recently used in the same step as the creation;
/// - **rotate atomically**: compare the presented digest with the current one and swap in the
///   new one in a single step, so that of many parallel refreshes with one token exactly one
///   wins. A presented digest that is one of the session's last [`REMEMBERED_ROTATIONS`](crate::REMEMBERED_ROTATIONS)
///   rotated-away digests is a replay, and the store revokes the session in the same step
///   ([`Rotation::Reused`]); any other digest is a forgery (session ids are readable in access
///   tokens) and changes nothing ([`Rotation::NotFound`]);
/// - revoke one session, or every session of one user (moving the user's mark) without
///   touching anyone else's.
///
/// The `auth_core::conformance` suite (feature `test-suite`) checks all of that, with real
/// parallel requests.
///
/// # Why `#[async_trait]`
/// Stores are chosen at start-up and held as `Arc<dyn SessionStore>`: object safety matters
/// more than one allocation per call, which is noise beside a network round trip.
///
/// # Implementing it
/// Read [`MemorySessionStore`](crate::MemorySessionStore) (one mutex held across every
/// check-and-write is its atomicity) and run the conformance suite against your store; the
/// SQL and Redis stores of the sibling crates show the same rules as conditional statements
/// and Lua scripts.
#[async_trait]
pub trait SessionStore: Debug + Send + Sync + 'static {
    /// The user's current mark. A user without sessions has one too (initially
    /// [`SessionMark::default`]).
    ///
    /// # Errors
    /// Only when the backend fails.
    async fn mark(&self, user_id: UserId) -> Result<SessionMark, StoreError>;

    /// Stores a new session if the user's mark still equals `admission.mark`, evicting the
    /// user's least recently used sessions beyond `admission.max_sessions - 1` first; all in
    /// one atomic step.
    ///
    /// # Errors
    /// Only when the backend fails.
    async fn create(
        &self,
        session: &Session,
        admission: &Admission,
    ) -> Result<Admitted, StoreError>;

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

    /// Moves the user's mark and revokes every session of `user_id` but `except`, in one
    /// atomic step, and returns how many went. The mark moves even when the user has no
    /// session, so that logins already under way are refused.
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

    /// How many sessions of all users are live at `now`, when the store can count them
    /// cheaply; `None` (the default) when it cannot. Operators sample it now and then for the
    /// `auth_live_sessions` gauge, never per request: an indexed count is fine, a scan of
    /// every key is not.
    ///
    /// # Errors
    /// Only when the backend fails.
    async fn count_live(&self, now: OffsetDateTime) -> Result<Option<u64>, StoreError> {
        let _ = now;
        Ok(None)
    }

    /// How the store announces ended sessions: what lets a
    /// [`SessionCache`](crate::SessionCache) answer the revocation check from memory and stay
    /// exact. The default, [`Revocations::Unannounced`], means no cache: right for any store
    /// several processes share without a feed.
    fn revocations(&self) -> Revocations {
        Revocations::Unannounced
    }
}
