//! An administrator's hand on another user's sessions.

use crate::error::AuthError;
use crate::events::EventKind;
use crate::hooks::Revocation;
use crate::session::{Session, SessionId};
use crate::user::{Profile, UserId};

use super::UserManager;
use super::emit::Event;

impl<P: Profile> UserManager<P> {
    /// The live sessions of a user, oldest first, for an administrator: unlike
    /// [`UserManager::list_sessions`], an unknown user is an error rather than an empty list.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`], or an internal error.
    pub async fn admin_list_sessions(&self, user_id: UserId) -> Result<Vec<Session>, AuthError> {
        let user = self.get_user(user_id).await?;
        self.list_sessions(user.id).await
    }

    /// Revokes one session of a user on an administrator's behalf: its refresh token dies at
    /// once, and so does its access token wherever revocation is checked. The hook
    /// [`on_session_revoked`](crate::UserHooks::on_session_revoked) fires with
    /// [`Revocation::ByAdmin`].
    ///
    /// The session must belong to that user: a session of someone else is not found, so
    /// that a path naming one user can never end another user's session.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`]; [`AuthError::SessionNotFound`] when the session does not
    /// exist, has ended (a concurrent revocation included), or belongs to someone else; or an
    /// internal error.
    pub async fn admin_revoke_session(
        &self,
        user_id: UserId,
        session_id: SessionId,
    ) -> Result<(), AuthError> {
        let user = self.get_user(user_id).await?;
        self.revoke_one(user.id, session_id, Revocation::ByAdmin)
            .await
    }

    /// Revokes every session of a user on an administrator's behalf, and returns how many
    /// there were. Like [`UserManager::logout_everywhere`] it moves the user's session mark,
    /// so a login racing the revocation keeps no session either. The hook
    /// [`on_session_revoked`](crate::UserHooks::on_session_revoked) fires with
    /// [`Revocation::ByAdmin`] for each session that was live just before.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`], or an internal error.
    pub async fn admin_revoke_sessions(&self, user_id: UserId) -> Result<u64, AuthError> {
        let user = self.get_user(user_id).await?;
        let live = self.list_sessions(user.id).await?;
        let count = self.inner.sessions.revoke_all(user.id, None).await?;
        for session in live {
            self.emit(
                Event::new(EventKind::SessionRevoked)
                    .user(user.id)
                    .session(session.id)
                    .detail(Revocation::ByAdmin.as_str()),
            )
            .await;
            self.inner
                .hooks
                .on_session_revoked(user.id, session.id, Revocation::ByAdmin)
                .await;
        }
        Ok(count)
    }
}
