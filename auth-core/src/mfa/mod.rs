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
