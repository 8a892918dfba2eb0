//! What goes into the manager's operations and what comes out.

use std::fmt;

use crate::email::Email;
use crate::secret::Password;
use crate::session::SessionId;
use crate::user::{NoProfile, Roles, User};
use crate::username::Username;

/// A registration: what a visitor may choose. Privileged fields (`is_active`,
/// `is_superuser`, `is_verified`, `roles`, `id`) do not exist here, so they cannot be
/// mass-assigned (ASVS5 15.3.3).
#[derive(Debug, Clone)]
pub struct NewUser<P = NoProfile> {
    /// The e-mail address.
    pub email: Email,
    /// The password.
    pub password: Password,
    /// An optional username.
    pub username: Option<Username>,
    /// The app's profile fields.
    pub profile: P,
}

impl<P: Default> NewUser<P> {
    /// A registration with an e-mail address and a password, no username, default profile.
    pub fn new(email: Email, password: impl Into<Password>) -> Self {
        Self {
            email,
            password: password.into(),
            username: None,
            profile: P::default(),
        }
    }
}

/// The privileged settings of a user created by an administrator or the command line.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Make the user a superuser.
    pub superuser: bool,
    /// Mark the address verified.
    pub verified: bool,
    /// Roles in addition to the default roles.
    pub roles: Roles,
}

/// What a user may change about themselves (`PATCH /users/me`). Absent fields stay as
/// they are.
#[derive(Debug, Clone)]
pub struct UserUpdate<P = NoProfile> {
    /// A new e-mail address; the user becomes unverified.
    pub email: Option<Email>,
    /// A new username.
    pub username: Option<Username>,
    /// A new password; needs `current_password` in a self-update, and revokes every other
    /// session.
    pub password: Option<Password>,
    /// The current password, required to change the password.
    pub current_password: Option<Password>,
    /// The new profile, replacing the old one.
    pub profile: Option<P>,
}

impl<P> Default for UserUpdate<P> {
    fn default() -> Self {
        Self {
            email: None,
            username: None,
            password: None,
            current_password: None,
            profile: None,
        }
    }
}

/// What an administrator may change about any user (`PATCH /users/{id}`): everything a user
/// may, without the current password, plus the privileged flags.
#[derive(Debug, Clone)]
pub struct AdminUpdate<P = NoProfile> {
    /// The fields a user could change too (`current_password` is ignored).
    pub user: UserUpdate<P>,
    /// Activate or deactivate; deactivating revokes every session.
    pub is_active: Option<bool>,
    /// Grant or take superuser; a change revokes every session.
    pub is_superuser: Option<bool>,
    /// Mark verified or not.
    pub is_verified: Option<bool>,
    /// Replace the roles; a change revokes every session.
    pub roles: Option<Roles>,
}

impl<P> Default for AdminUpdate<P> {
    fn default() -> Self {
        Self {
            user: UserUpdate::default(),
            is_active: None,
            is_superuser: None,
            is_verified: None,
            roles: None,
        }
    }
}

/// The outcome of a registration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Registration<P = NoProfile> {
    /// The account was created.
    Created(User<P>),
    /// The address was taken, and enumeration-safe mode hides that: answer as for a fresh
    /// registration that reveals nothing (`202`).
    Concealed,
}

/// A fresh access token and refresh token.
#[derive(Clone)]
pub struct TokenPair {
    /// The access token.
    pub access_token: String,
    /// The refresh token (single use).
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Seconds until the refresh token expires (the refresh cookie's `Max-Age`).
    pub refresh_expires_in: i64,
    /// The session the tokens belong to.
    pub session_id: SessionId,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .field("session_id", &self.session_id)
            .finish()
    }
}

/// A successful login: the user and the new session's tokens.
#[derive(Debug, Clone)]
pub struct Login<P = NoProfile> {
    /// Who logged in.
    pub user: User<P>,
    /// The new session's tokens.
    pub tokens: TokenPair,
}
