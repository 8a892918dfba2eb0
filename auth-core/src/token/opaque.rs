//! Opaque access tokens, looked up in the session store on every request.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{AccessClaims, AccessSubject, Authentication, IssuedToken, TokenError, TokenStrategy};
use crate::error::StoreError;
use crate::secret::TokenHash;
use crate::session::SessionId;
use crate::store::{SessionStore, UserStore};
use crate::user::{Profile, UserId};

/// Where the [`OpaqueTokenStrategy`] reads the current facts about a user.
///
/// [`UserStoreSubjects`] adapts any [`UserStore`]; the trait exists so that the strategy need
/// not know the app's profile type.
#[async_trait]
pub trait SubjectSource: Debug + Send + Sync + 'static {
    /// The facts about an **active** user; `None` for unknown or inactive users.
    ///
    /// # Errors
    /// When the store fails.
    async fn subject(&self, id: UserId) -> Result<Option<AccessSubject>, StoreError>;
}

/// A [`SubjectSource`] reading a [`UserStore`].
#[derive(Debug)]
pub struct UserStoreSubjects<P: Profile>(pub Arc<dyn UserStore<P>>);

#[async_trait]
impl<P: Profile> SubjectSource for UserStoreSubjects<P> {
    async fn subject(&self, id: UserId) -> Result<Option<AccessSubject>, StoreError> {
        Ok(self
            .0
            .get(id)
            .await?
            .filter(|user| user.is_active)
            .map(|user| AccessSubject::from(&user)))
    }
}

/// Opaque access tokens: 256 random bits bound to a session, whose digest the session keeps.
///
/// Every request looks the token up in the [`SessionStore`] and the user up in the
/// [`SubjectSource`], so logout, deactivation and role changes take effect at once, at the
/// price of two round trips per request (fastapi-users' database and Redis strategies).
/// A token is valid while its session is live and until the next refresh replaces it.
///
/// ```
/// use std::sync::Arc;
/// use auth_core::{MemorySessionStore, MemoryUserStore, NoProfile, OpaqueTokenStrategy, UserStore, UserStoreSubjects};
/// use time::Duration;
///
/// let sessions = Arc::new(MemorySessionStore::new());
/// let users: Arc<dyn UserStore<NoProfile>> = Arc::new(MemoryUserStore::<NoProfile>::new());
/// let strategy = OpaqueTokenStrategy::new(sessions, Arc::new(UserStoreSubjects(users)), Duration::minutes(30));
/// ```
#[derive(Debug, Clone)]
pub struct OpaqueTokenStrategy {
    sessions: Arc<dyn SessionStore>,
    subjects: Arc<dyn SubjectSource>,
    lifetime: Duration,
}

impl OpaqueTokenStrategy {
    /// A strategy over these stores; `lifetime` is the `expires_in` announced to clients
    /// (set it to the session idle timeout).
    pub fn new(
        sessions: Arc<dyn SessionStore>,
        subjects: Arc<dyn SubjectSource>,
        lifetime: Duration,
    ) -> Self {
        Self {
            sessions,
            subjects,
            lifetime,
        }
    }
}

fn parse(token: &str) -> Option<(SessionId, TokenHash)> {
    if token.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 48];
    if URL_SAFE_NO_PAD.decode_slice(token, &mut bytes).ok()? != 48 {
        return None;
    }
    let mut id = [0u8; 16];
    id.copy_from_slice(&bytes[..16]);
    Some((
        SessionId::from_uuid(Uuid::from_bytes(id)),
        TokenHash::of(&bytes[16..]),
    ))
}

#[async_trait]
impl TokenStrategy for OpaqueTokenStrategy {
    async fn issue(
        &self,
        _subject: &AccessSubject,
        session: SessionId,
        _now: OffsetDateTime,
    ) -> Result<IssuedToken, TokenError> {
        let mut bytes = [0u8; 48];
        bytes[..16].copy_from_slice(session.as_uuid().as_bytes());
        rand::rng().fill_bytes(&mut bytes[16..]);
        Ok(IssuedToken {
            token: URL_SAFE_NO_PAD.encode(bytes),
            expires_in: self.lifetime.whole_seconds(),
            stored_hash: Some(TokenHash::of(&bytes[16..])),
        })
    }

    fn authenticate<'a>(&'a self, token: &'a str, now: OffsetDateTime) -> Authentication<'a> {
        // A malformed token is refused without touching the store.
        match parse(token) {
            Some((sid, hash)) => Authentication::pending(self.look_up(sid, hash, now)),
            None => Authentication::ready(Err(TokenError::Invalid)),
        }
    }

    fn checks_session(&self) -> bool {
        true
    }
}

impl OpaqueTokenStrategy {
    /// The session and subject behind a well-formed token.
    async fn look_up(
        &self,
        sid: SessionId,
        hash: TokenHash,
        now: OffsetDateTime,
    ) -> Result<AccessClaims, TokenError> {
        let session = self
            .sessions
            .get(sid, now)
            .await
            .map_err(|err| TokenError::Backend(Box::new(err)))?
            .ok_or(TokenError::Invalid)?;
        if session.access_hash != Some(hash) {
            return Err(TokenError::Invalid);
        }
        let subject = self
            .subjects
            .subject(session.user_id)
            .await
            .map_err(|err| TokenError::Backend(Box::new(err)))?
            .ok_or(TokenError::Invalid)?;
        Ok(AccessClaims {
            sub: subject.user_id,
            sid,
            exp: session.effective_expiry().unix_timestamp(),
            iat: session.last_used_at.unix_timestamp(),
            jti: sid.to_string(),
            roles: subject.roles,
            is_superuser: subject.is_superuser,
            is_verified: subject.is_verified,
        })
    }
}
