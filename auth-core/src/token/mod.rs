//! Access tokens: the [`TokenStrategy`] trait, JWT and opaque session tokens.

mod claims;
mod jws;
mod jwt;
mod jwt_config;
mod key_dir;
mod key_set;
mod opaque;
mod verified_cache;

use std::fmt::{self, Debug};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::secret::TokenHash;
use crate::session::SessionId;

pub use self::claims::{AccessClaims, AccessSubject};
pub use self::jwt::{
    ACCESS_AUDIENCE, JwtAlgorithm, JwtCodec, JwtError, JwtKeys, JwtStrategy, RESET_AUDIENCE,
    VERIFY_AUDIENCE,
};
pub use self::jwt_config::{JwtConfig, JwtKeySource};
pub use self::key_dir::{JwtKeyDir, JwtKeyReloader};
pub use self::key_set::{JwtKeySet, SharedJwtKeySet};
pub use self::opaque::{OpaqueTokenStrategy, SubjectSource, UserStoreSubjects};
pub use self::verified_cache::DEFAULT_VERIFIED_TOKEN_CACHE;

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

/// The answer of [`TokenStrategy::authenticate`]: either known at once (a JWT, checked with
/// the keys in memory) or still to come (a token looked up in a store).
///
/// It is a [`Future`]: `strategy.authenticate(token, now).await` gives the claims either way,
/// and awaiting a ready answer allocates nothing. [`Authentication::into_ready`] takes a ready
/// answer without an executor. A strategy writes its decision once, in `authenticate`, so the
/// synchronous and the asynchronous path cannot disagree: there is only one.
#[must_use = "an authentication does nothing unless awaited or taken with `into_ready`"]
pub struct Authentication<'a> {
    state: State<'a>,
}

/// A pending decision: a boxed future, only for strategies that do I/O.
type PendingAuthentication<'a> =
    Pin<Box<dyn Future<Output = Result<AccessClaims, TokenError>> + Send + 'a>>;

enum State<'a> {
    /// Decided; `None` once the answer has been handed out by `poll`.
    Ready(Option<Result<AccessClaims, TokenError>>),
    /// Still deciding.
    Pending(PendingAuthentication<'a>),
}

impl<'a> Authentication<'a> {
    /// An answer known now, with no future and no allocation.
    pub fn ready(answer: Result<AccessClaims, TokenError>) -> Self {
        Self {
            state: State::Ready(Some(answer)),
        }
    }

    /// An answer that needs I/O first (boxed once, here).
    pub fn pending<F>(future: F) -> Self
    where
        F: Future<Output = Result<AccessClaims, TokenError>> + Send + 'a,
    {
        Self {
            state: State::Pending(Box::pin(future)),
        }
    }

    /// The answer, if it was known at once; `None` for a pending one (which is dropped).
    pub fn into_ready(self) -> Option<Result<AccessClaims, TokenError>> {
        match self.state {
            State::Ready(answer) => answer,
            State::Pending(_) => None,
        }
    }

    /// Whether the answer was known at once (no I/O, nothing boxed).
    pub fn is_ready(&self) -> bool {
        matches!(self.state, State::Ready(_))
    }
}

impl Future for Authentication<'_> {
    type Output = Result<AccessClaims, TokenError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.state {
            // Polled again after it finished: refuse rather than panic.
            State::Ready(answer) => Poll::Ready(answer.take().unwrap_or(Err(TokenError::Invalid))),
            State::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

impl Debug for Authentication<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authentication")
            .field("ready", &self.is_ready())
            .finish_non_exhaustive()
    }
}

/// What an access token is: how it is issued for a session, and how a presented one becomes
/// [`AccessClaims`].
///
/// [`JwtStrategy`] is stateless and fast; [`OpaqueTokenStrategy`] looks every token up in the
/// [`SessionStore`](crate::SessionStore), like fastapi-users' database and Redis strategies.
///
/// # Why `#[async_trait]`
/// Chosen at start-up and held as `Arc<dyn TokenStrategy>`. `issue` is rare and may box its
/// future; the per-request [`TokenStrategy::authenticate`] does not use `async_trait` but
/// returns an [`Authentication`], so a strategy that needs no I/O (a JWT) answers without a
/// boxed future, and one that does (an opaque token) boxes its lookup. Either way the decision
/// is written once.
///
/// # Implementing it
/// A strategy that wraps a [`JwtStrategy`] and refuses tokens of one user:
///
/// ```
/// use async_trait::async_trait;
/// use auth_core::{AccessClaims, AccessSubject, Authentication, IssuedToken, JwtStrategy, SessionId, TokenError, TokenStrategy, UserId};
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
///     fn authenticate(&self, token: &str, now: OffsetDateTime) -> Authentication<'_> {
///         // The inner JWT answers at once; so does this strategy.
///         let answer = self.inner.authenticate(token, now).into_ready();
///         let answer = answer.unwrap_or(Err(TokenError::Invalid)).and_then(|claims| {
///             if claims.sub == self.banned { Err(TokenError::Invalid) } else { Ok(claims) }
///         });
///         Authentication::ready(answer)
///     }
/// }
/// ```
///
/// There is no second, synchronous method to keep in step with `authenticate`: a strategy
/// that tries to add one does not compile.
///
/// ```compile_fail
/// use async_trait::async_trait;
/// use auth_core::{AccessClaims, AccessSubject, Authentication, IssuedToken, SessionId, TokenError, TokenStrategy};
/// use time::OffsetDateTime;
///
/// #[derive(Debug)]
/// struct TwoFaced;
///
/// #[async_trait]
/// impl TokenStrategy for TwoFaced {
///     async fn issue(&self, _: &AccessSubject, _: SessionId, _: OffsetDateTime) -> Result<IssuedToken, TokenError> {
///         Err(TokenError::Invalid)
///     }
///     fn authenticate(&self, _: &str, _: OffsetDateTime) -> Authentication<'_> {
///         Authentication::ready(Err(TokenError::Invalid))
///     }
///     fn authenticate_now(&self, _: &str, _: OffsetDateTime) -> Option<Result<AccessClaims, TokenError>> {
///         None
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

    /// Turns a presented token into claims, or refuses it: at once
    /// ([`Authentication::ready`]) when no I/O is needed, else through a future
    /// ([`Authentication::pending`]). Await it for the answer.
    ///
    /// The answer is [`TokenError::Invalid`] for any token that is not acceptable at `now`,
    /// and [`TokenError::Backend`] when a store behind the strategy fails (fail closed).
    fn authenticate<'a>(&'a self, token: &'a str, now: OffsetDateTime) -> Authentication<'a>;

    /// Whether [`TokenStrategy::authenticate`] already proves the session is live (it looked
    /// the token up in the session store), so a separate revocation check would be redundant.
    fn checks_session(&self) -> bool {
        false
    }
}
