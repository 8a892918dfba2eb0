//! [`Authenticator`]: the per-request path from a presented token to claims.

use std::sync::Arc;

use crate::clock::Clock;
use crate::error::AuthError;
use crate::store::SessionStore;
use crate::token::{AccessClaims, TokenError, TokenStrategy};

/// Turns a presented access token into [`AccessClaims`]: the strategy verifies it, then, with
/// revocation checking on, the session store confirms its session is still live.
///
/// It is the part of the [`UserManager`](crate::UserManager) that every request needs, without
/// the manager's profile type, so web layers can hold it in non-generic state. Cheap to
/// clone. Get one from [`UserManager::authenticator`](crate::UserManager::authenticator).
#[derive(Debug, Clone)]
pub struct Authenticator {
    tokens: Arc<dyn TokenStrategy>,
    sessions: Arc<dyn SessionStore>,
    clock: Arc<dyn Clock>,
    check_revocation: bool,
}

impl Authenticator {
    /// An authenticator over a strategy and a session store. With `check_revocation`, every
    /// token's session must be live (one store round trip per request, unless the strategy
    /// already looked the session up).
    pub fn new(
        tokens: Arc<dyn TokenStrategy>,
        sessions: Arc<dyn SessionStore>,
        clock: Arc<dyn Clock>,
        check_revocation: bool,
    ) -> Self {
        let check_revocation = check_revocation && !tokens.checks_session();
        Self {
            tokens,
            sessions,
            clock,
            check_revocation,
        }
    }

    /// Verifies `token` now.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] for any token that is not acceptable (forged, expired,
    /// revoked, another kind); an internal error when a store fails, so the caller refuses the
    /// request (fail closed, ASVS5 16.5.3).
    pub async fn authenticate(&self, token: &str) -> Result<AccessClaims, AuthError> {
        let now = self.clock.now();
        let verified = match self.tokens.authenticate_now(token, now) {
            Some(verified) => verified,
            None => self.tokens.authenticate(token, now).await,
        };
        let claims = verified.map_err(|err| match err {
            TokenError::Invalid => AuthError::InvalidToken,
            other => AuthError::Token(other),
        })?;
        if self.check_revocation && !self.sessions.is_live(claims.sid, now).await? {
            return Err(AuthError::InvalidToken);
        }
        Ok(claims)
    }

    /// Whether each request checks the session store.
    pub fn checks_revocation(&self) -> bool {
        self.check_revocation
    }
}
