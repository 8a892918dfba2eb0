//! The claims of an access token, and the user facts they are built from.

use serde::{Deserialize, Serialize};

use crate::session::SessionId;
use crate::user::{Roles, User, UserId};

/// The facts about a user that an access token carries, so that extractors answer role and
/// flag checks without a user-store round trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessSubject {
    /// The user's id.
    pub user_id: UserId,
    /// The user's roles.
    pub roles: Roles,
    /// Whether the user is a superuser.
    pub is_superuser: bool,
    /// Whether the user's e-mail address is verified.
    pub is_verified: bool,
}

impl<P> From<&User<P>> for AccessSubject {
    fn from(user: &User<P>) -> Self {
        Self {
            user_id: user.id,
            roles: user.roles.clone(),
            is_superuser: user.is_superuser,
            is_verified: user.is_verified,
        }
    }
}

/// The verified claims of an access token (`docs/HTTP_CONTRACT.md` §8).
///
/// `aud` and `iss` are checked during verification and not kept. Every field is required and
/// typed: a token whose `exp` is a string, say, is refused rather than half-checked
/// (CVE-2026-25537).
///
/// The flags and roles have defaults: a flag that is `false` or an empty role list is left
/// out of the token, and reads back the same. Every byte of a token is hashed (HMAC) or
/// signed on every request, so a token kept short is a cheaper request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user's id.
    pub sub: UserId,
    /// The session (login) the token belongs to; revocation is checked against it.
    pub sid: SessionId,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, seconds since the Unix epoch.
    pub iat: i64,
    /// A unique id for this token.
    pub jti: String,
    /// The user's roles when the token was issued.
    #[serde(default, skip_serializing_if = "Roles::is_empty")]
    pub roles: Roles,
    /// Whether the user was a superuser when the token was issued.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_superuser: bool,
    /// Whether the user was verified when the token was issued.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_verified: bool,
}

// A `fn(&T) -> bool` is what `skip_serializing_if` takes.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_false(flag: &bool) -> bool {
    !flag
}

impl AccessClaims {
    /// Whether the user has `role`, counting superusers as having every role.
    pub fn has_role(&self, role: &str) -> bool {
        self.is_superuser || self.roles.contains(role)
    }
}
