//! [`SessionRead`]: a session as the session lists show it.

use auth_core::{Session, SessionId};
use serde::Serialize;
use time::OffsetDateTime;

/// One session as `GET /users/me/sessions` and `GET /users/{id}/sessions` list it.
#[derive(Debug, Serialize)]
pub(super) struct SessionRead {
    id: SessionId,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    last_used_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    user_agent: Option<String>,
    ip: Option<String>,
    current: bool,
}

impl SessionRead {
    /// `session` as listed to the holder of session `current` (who may be an administrator
    /// looking at someone else's).
    pub(super) fn new(session: Session, current: SessionId) -> Self {
        Self {
            id: session.id,
            created_at: session.created_at,
            last_used_at: session.last_used_at,
            expires_at: session.effective_expiry(),
            user_agent: session.user_agent,
            ip: session.ip.map(|ip| ip.to_string()),
            current: session.id == current,
        }
    }
}
