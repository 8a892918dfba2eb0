//! Second factors (feature `mfa`): TOTP (RFC 6238, through `totp-rs`) with recovery codes,
//! and the second step of a login.
//!
//! A user with a confirmed factor who logs in with the right password gets
//! [`AuthError::MfaRequired`](crate::AuthError::MfaRequired) with a short-lived, single-use
//! `mfa_token` instead of a session; [`UserManager::mfa_login`](crate::UserManager::mfa_login)
//! with that token and a code opens the session. Enrolment, confirmation, recovery codes and
//! removal are methods of [`UserManager`](crate::UserManager) too; the factors live in the
//! user store ([`MfaStore`](crate::MfaStore)).

mod keys;
pub(crate) mod qr;
pub(crate) mod totp;

pub use keys::{MIN_SECRET_LEN, MfaKeys};

/// What a user scans or types to add the TOTP factor to an authenticator app.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TotpEnrollment {
    /// The secret in base 32, for typing it in.
    pub secret: String,
    /// The `otpauth://` URI.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
}

/// The second step of a login: a TOTP code or a recovery code.
#[derive(Debug, Clone, Copy)]
pub enum MfaProof<'a> {
    /// A 6-digit code of the authenticator app.
    Totp(&'a str),
    /// One of the recovery codes shown at enrolment; each works once.
    RecoveryCode(&'a str),
}

/// A registered passkey as its owner sees it (the credential itself stays on the server).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PasskeyInfo {
    /// Its id, for `DELETE /users/me/passkeys/{id}`.
    pub id: uuid::Uuid,
    /// The name the user gave it.
    pub name: String,
    /// When it was registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    /// When it last signed in, if ever.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<time::OffsetDateTime>,
}

impl From<&crate::PasskeyRecord> for PasskeyInfo {
    fn from(record: &crate::PasskeyRecord) -> Self {
        Self {
            id: record.id,
            name: record.name.clone(),
            created_at: record.created_at,
            last_used_at: record.last_used_at,
        }
    }
}

/// The start of a passkey ceremony: what the browser needs, and the sealed state the
/// finish needs back.
#[derive(Debug, Clone)]
pub struct PasskeyChallenge {
    /// The options for `navigator.credentials.create` (`{"publicKey": …}`) or
    /// `navigator.credentials.get` (`{"publicKey": …, "mediation": …}`), as webauthn-rs
    /// serialises them: binary fields in unpadded base64url.
    pub options: serde_json::Value,
    /// The ceremony's state, sealed: given back unchanged to the finish, within five
    /// minutes, once.
    pub state: String,
}
