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
        // A JWT answers at once: awaiting a ready `Authentication` boxes nothing.
        let verified = self.tokens.authenticate(token, now).await;
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use async_trait::async_trait;
    use time::OffsetDateTime;

    use super::*;
    use crate::clock::SystemClock;
    use crate::memory::MemorySessionStore;
    use crate::session::SessionId;
    use crate::token::{AccessSubject, Authentication, IssuedToken};
    use crate::user::{Roles, UserId};

    /// A strategy that decides some tokens at once and looks others up: its one decision is
    /// written in `authenticate`, whichever way it answers.
    #[derive(Debug)]
    struct Split {
        user: UserId,
    }

    impl Split {
        fn decide(&self, token: &str) -> Result<AccessClaims, TokenError> {
            if !token.ends_with("-good") {
                return Err(TokenError::Invalid);
            }
            Ok(AccessClaims {
                sub: self.user,
                sid: SessionId::random(),
                exp: i64::MAX,
                iat: 0,
                jti: token.to_owned(),
                roles: Roles::default(),
                is_superuser: false,
                is_verified: true,
            })
        }
    }

    #[async_trait]
    impl TokenStrategy for Split {
        async fn issue(
            &self,
            _: &AccessSubject,
            _: SessionId,
            _: OffsetDateTime,
        ) -> Result<IssuedToken, TokenError> {
            Err(TokenError::Invalid)
        }

        fn authenticate<'a>(&'a self, token: &'a str, _: OffsetDateTime) -> Authentication<'a> {
            if token.starts_with("now-") {
                Authentication::ready(self.decide(token))
            } else {
                Authentication::pending(async move {
                    tokio::task::yield_now().await;
                    self.decide(token)
                })
            }
        }
    }

    #[tokio::test]
    async fn the_authenticator_gives_the_strategys_one_answer_on_either_path() {
        let strategy = Arc::new(Split {
            user: UserId::new(),
        });
        let authenticator = Authenticator::new(
            strategy.clone(),
            Arc::new(MemorySessionStore::new()),
            Arc::new(SystemClock),
            false,
        );
        let now = OffsetDateTime::now_utc();
        for token in ["now-good", "now-bad", "later-good", "later-bad"] {
            let direct = strategy.authenticate(token, now);
            assert_eq!(direct.is_ready(), token.starts_with("now-"), "{token}");
            let direct = direct.await.map(|claims| (claims.sub, claims.jti));
            let through = authenticator
                .authenticate(token)
                .await
                .map(|claims| (claims.sub, claims.jti));
            match (&direct, &through) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{token}"),
                (Err(TokenError::Invalid), Err(AuthError::InvalidToken)) => {}
                other => panic!("{token}: the two answers differ: {other:?}"),
            }
            assert_eq!(direct.is_ok(), token.ends_with("-good"), "{token}");
        }
        // A ready answer is there without an executor; a pending one is not.
        assert!(
            strategy
                .authenticate("now-good", now)
                .into_ready()
                .is_some()
        );
        assert!(
            strategy
                .authenticate("later-good", now)
                .into_ready()
                .is_none()
        );
    }
}
