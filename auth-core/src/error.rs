//! The errors of this crate: one enum for stores, one for everything the manager answers.

use std::error::Error as StdError;

use time::Duration;

use crate::hasher::{HashError, PasswordRejection};
use crate::token::TokenError;

/// A boxed error from a store's driver, kept as the source.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Which unique field a write collided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UniqueField {
    /// The e-mail address (case-insensitive).
    Email,
    /// The username (case-insensitive).
    Username,
    /// A provider account (provider and account id), already linked to a user.
    OAuthAccount,
    /// A passkey's credential id, already registered.
    Passkey,
}

impl std::fmt::Display for UniqueField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Email => "e-mail address",
            Self::Username => "username",
            Self::OAuthAccount => "provider account",
            Self::Passkey => "passkey",
        })
    }
}

/// What a store returns when it cannot do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A unique e-mail address or username is taken; decided by the store atomically.
    #[error("the {0} is already taken")]
    Conflict(UniqueField),
    /// The record to update does not exist.
    #[error("record not found")]
    NotFound,
    /// A conditional write found the record changed since it was read (another write won).
    #[error("record changed since it was read")]
    Stale,
    /// The backing service could not be reached or did not answer in time. Callers fail
    /// closed: no token is issued and no revoked token accepted.
    #[error("store unavailable")]
    Unavailable(#[source] BoxError),
    /// Any other failure of the backend (a driver error, corrupt stored data, ...).
    #[error("store backend failed")]
    Backend(#[source] BoxError),
}

impl StoreError {
    /// A backend failure from any error.
    pub fn backend(err: impl Into<BoxError>) -> Self {
        Self::Backend(err.into())
    }

    /// An unavailability from any error.
    pub fn unavailable(err: impl Into<BoxError>) -> Self {
        Self::Unavailable(err.into())
    }
}

/// Everything the [`UserManager`](crate::UserManager) can answer instead of success.
///
/// Each variant maps to one response of the HTTP contract; `auth-axum` does that mapping in
/// one place. Variants that wrap an internal failure (`Store`, `Hash`, `Token`, `Config`) must
/// never reach a response body: they are logged and answered with a bare 500 or 503.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Registration or update with an e-mail address already in use.
    #[error("a user with this e-mail address already exists")]
    UserAlreadyExists,
    /// Registration or update with a username already in use.
    #[error("a user with this username already exists")]
    UsernameAlreadyExists,
    /// The new password breaks a rule; the reason is fit to show the user.
    #[error("invalid password: {0}")]
    InvalidPassword(PasswordRejection),
    /// Unknown user, wrong password or inactive user: deliberately indistinguishable.
    #[error("bad credentials")]
    BadCredentials,
    /// Right credentials, but the backend requires a verified e-mail address.
    #[error("user is not verified")]
    UserNotVerified,
    /// A missing, malformed, expired, revoked or reused access or refresh token.
    #[error("invalid or expired token")]
    InvalidToken,
    /// A verify token that is malformed, expired, of another kind, or for another address.
    #[error("bad verify token")]
    BadVerifyToken,
    /// The user is verified already.
    #[error("user is already verified")]
    AlreadyVerified,
    /// A reset token that is malformed, expired, used, of another kind, or for an inactive user.
    #[error("bad reset token")]
    BadResetToken,
    /// A password change without the right current password.
    #[error("current password missing or wrong")]
    BadCurrentPassword,
    /// No such user.
    #[error("user not found")]
    UserNotFound,
    /// No such session for this user.
    #[error("session not found")]
    SessionNotFound,
    /// A provider account signed in whose e-mail address belongs to an existing user, and
    /// linking by e-mail is off or the provider did not assert the address as verified.
    #[error("a user with this e-mail address already exists")]
    OAuthUserAlreadyExists,
    /// The provider gave no usable e-mail address.
    #[error("the provider gave no e-mail address")]
    OAuthNotAvailableEmail,
    /// The provider account is already linked to a user.
    #[error("this provider account is already linked")]
    OAuthAccountAlreadyLinked,
    /// Unlinking would leave the user no way to sign in.
    #[error("the last way to sign in cannot be removed")]
    OAuthLastLoginMethod,
    /// The password was right and the user has a second factor: no session yet. The login
    /// finishes with `mfa_token` and a code (within five minutes, once).
    #[error("a second factor is required")]
    MfaRequired {
        /// The single-use token of the second step.
        mfa_token: String,
        /// The factors the user can finish with: `totp`, `recovery_code`, `passkey`.
        methods: Vec<&'static str>,
    },
    /// Passkeys cannot be offered: the public URL's host is an IP address that is not a
    /// loopback one (browsers accept only domain names as WebAuthn relying parties).
    #[error("passkeys need a public URL with a domain name")]
    PasskeysUnavailable,
    /// A TOTP or recovery code that is wrong, used already, or for no enrolled factor.
    #[error("wrong or used code")]
    MfaBadCode,
    /// An `mfa_token` that is malformed, expired, used, or no longer matches the user.
    #[error("invalid second-step token")]
    MfaTokenInvalid,
    /// Enrolment asked for while a TOTP factor is confirmed already.
    #[error("a TOTP factor is enabled already")]
    MfaAlreadyEnabled,
    /// An action on a TOTP factor the user does not have.
    #[error("no TOTP factor is enabled")]
    MfaNotEnabled,
    /// A passkey ceremony that failed: a challenge that is unknown, expired, used or of
    /// another user, a credential that does not verify or belongs to no one (or to someone
    /// else), or a credential registered already.
    #[error("passkey ceremony failed")]
    PasskeyInvalid,
    /// The user holds no passkey with this id.
    #[error("passkey not found")]
    PasskeyNotFound,
    /// The user holds no such provider account.
    #[error("no such provider account")]
    OAuthAccountNotFound,
    /// Authenticated, but not allowed (for example vetoed by a hook).
    #[error("forbidden")]
    Forbidden,
    /// Throttled; try again after `retry_after`.
    #[error("too many requests")]
    RateLimited {
        /// How long until the window reopens (at least one second).
        retry_after: Duration,
    },
    /// Too much password hashing is running or waiting already (see
    /// [`HashAdmission`](crate::HashAdmission)): the request was refused before anything was
    /// looked up or counted; try again after `retry_after`.
    #[error("too much password hashing under way")]
    Overloaded {
        /// How long to wait before trying again (at least one second).
        retry_after: Duration,
    },
    /// A store failed.
    #[error("store error")]
    Store(#[from] StoreError),
    /// The password hasher failed.
    #[error("password hashing failed")]
    Hash(#[from] HashError),
    /// Signing a token failed.
    #[error("token error")]
    Token(#[source] TokenError),
    /// The mailer failed.
    #[error("mail error")]
    Mail(#[from] crate::mail::MailError),
    /// The manager is misconfigured.
    #[error("misconfiguration: {0}")]
    Config(String),
}

impl AuthError {
    /// Whether this is an internal failure that must be logged and never shown.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Self::Store(_) | Self::Hash(_) | Self::Token(_) | Self::Mail(_) | Self::Config(_)
        )
    }

    /// Whether the failure is a backing service that is down (answer 503, not 500).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Store(StoreError::Unavailable(_)))
    }
}
