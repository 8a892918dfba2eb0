//! Access tokens: the [`TokenStrategy`] trait, JWT and opaque session tokens.

mod claims;
mod jws;
mod jwt;
mod opaque;

use std::fmt::{self, Debug};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::secret::TokenHash;
use crate::session::SessionId;

pub use self::claims::{AccessClaims, AccessSubject};
pub use self::jwt::{
    ACCESS_AUDIENCE, JwtAlgorithm, JwtCodec, JwtError, JwtKeys, JwtStrategy, RESET_AUDIENCE,
    VERIFY_AUDIENCE,
};
pub use self::opaque::{OpaqueTokenStrategy, SubjectSource, UserStoreSubjects};

/// Why a token was refused or could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is malformed, forged, expired, revoked, of another kind, or otherwise not
    /// acceptable. Deliberately says no more.
    #[error("invalid token")]
    Invalid,
    /// Signing failed, or the store behind an opaque token failed.
    #[error("token backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// An access token just issued.
#[derive(Clone)]
pub struct IssuedToken {
    /// The token's text, for the client.
    pub token: String,
    /// Its lifetime in seconds (the `expires_in` of the login response).
    pub expires_in: i64,
    /// The digest the session must keep, for strategies whose tokens are looked up
    /// (opaque); `None` for self-contained tokens (JWT).
    pub stored_hash: Option<TokenHash>,
}

impl Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// What an access token is: how it is issued for a session, and how a presented one becomes
/// [`AccessClaims`].
///
/// [`JwtStrategy`] is stateless and fast; [`OpaqueTokenStrategy`] looks every token up in the
/// [`SessionStore`](crate::SessionStore), like fastapi-users' database and Redis strategies.
///
/// # Why `#[async_trait]`
/// Chosen at start-up and held as `Arc<dyn TokenStrategy>`; JWT verification is synchronous
/// inside, and the one boxed future is small next to a signature check.
///
/// # Implementing it
/// A strategy that wraps a [`JwtStrategy`] and refuses tokens of one user:
///
/// ```
/// use async_trait::async_trait;
/// use auth_core::{AccessClaims, AccessSubject, IssuedToken, JwtStrategy, SessionId, TokenError, TokenStrategy, UserId};
/// use time::OffsetDateTime;
///
/// #[derive(Debug)]
/// struct Banning { inner: JwtStrategy, banned: UserId }
///
/// #[async_trait]
/// impl TokenStrategy for Banning {
///     async fn issue(&self, subject: &AccessSubject, session: SessionId, now: OffsetDateTime) -> Result<IssuedToken, TokenError> {
///         self.inner.issue(subject, session, now).await
///     }
///     async fn authenticate(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, TokenError> {
///         let claims = self.inner.authenticate(token, now).await?;
///         if claims.sub == self.banned { return Err(TokenError::Invalid); }
///         Ok(claims)
///     }
/// }
/// ```
#[async_trait]
pub trait TokenStrategy: Debug + Send + Sync + 'static {
    /// Issues an access token for `subject` in session `session`.
    ///
    /// # Errors
    /// [`TokenError::Backend`] when signing or storing fails.
    async fn issue(
        &self,
        subject: &AccessSubject,
        session: SessionId,
        now: OffsetDateTime,
    ) -> Result<IssuedToken, TokenError>;

    /// Turns a presented token into claims, or refuses it.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] for any token that is not acceptable at `now`;
    /// [`TokenError::Backend`] when a store behind the strategy fails (fail closed).
    async fn authenticate(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<AccessClaims, TokenError>;

    /// [`TokenStrategy::authenticate`] without a future, for strategies that need no I/O
    /// (a JWT is checked with the keys in memory): the per-request path calls this first and
    /// skips the boxed future of `authenticate` when it answers. `None` (the default) means
    /// "call `authenticate`". An implementation must answer exactly as `authenticate` would.
    fn authenticate_now(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Option<Result<AccessClaims, TokenError>> {
        let _ = (token, now);
        None
    }

    /// Whether [`TokenStrategy::authenticate`] already proves the session is live (it looked
    /// the token up in the session store), so a separate revocation check would be redundant.
    fn checks_session(&self) -> bool {
        false
    }
}
