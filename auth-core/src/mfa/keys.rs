//! [`MfaKeys`]: the keys that seal TOTP secrets and digest recovery codes.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::UserId;
use crate::env::{Env, EnvError};
use crate::sealing::{SecretBox, bound_to};
use crate::store::SealedToken;

/// The shortest secret [`MfaKeys::new`] accepts, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

const DOMAIN: &[u8] = b"auth-core mfa";

/// The keys of the second factors, derived with HKDF-SHA256 from one secret (`MFA_KEY` in the
/// reference server): one seals each user's TOTP secret (XChaCha20-Poly1305, bound to the
/// user), the other keys the HMAC that recovery codes are stored as. A stolen database holds
/// neither a usable secret nor a code. Its `Debug` shows nothing secret.
///
/// ```
/// use auth_core::mfa::MfaKeys;
///
/// assert!(MfaKeys::new(b"0123456789abcdef0123456789abcdef").is_some());
/// assert!(MfaKeys::new(b"too short").is_none());
/// ```
#[derive(Debug, Clone)]
pub struct MfaKeys {
    seal: SecretBox,
    codes: SecretBox,
    ceremonies: SecretBox,
}

impl MfaKeys {
    /// Keys derived from `secret`, at least [`MIN_SECRET_LEN`] bytes; `None` when shorter.
    pub fn new(secret: &[u8]) -> Option<Self> {
        if secret.len() < MIN_SECRET_LEN {
            return None;
        }
        Some(Self {
            seal: SecretBox::derive(secret, DOMAIN, b"seal totp secrets v1")?,
            codes: SecretBox::derive(secret, DOMAIN, b"digest recovery codes v1")?,
            ceremonies: SecretBox::derive(secret, DOMAIN, b"seal passkey ceremonies v1")?,
        })
    }

    /// The keys from `MFA_KEY` (32 or more bytes, used as the UTF-8 bytes of its value), or
    /// `None` when it is unset.
    ///
    /// # Errors
    /// An [`EnvError`] naming `MFA_KEY` when it is shorter.
    pub fn from_lookup(env: &Env) -> Result<Option<Self>, EnvError> {
        let Some(secret) = env.raw("MFA_KEY") else {
            return Ok(None);
        };
        Self::new(secret.as_bytes()).map(Some).ok_or_else(|| {
            EnvError::new(
                "MFA_KEY",
                format!(
                    "is {} bytes; at least {MIN_SECRET_LEN} are needed",
                    secret.len()
                ),
                "Generate one: openssl rand -base64 48",
            )
        })
    }

    pub(crate) fn seal_totp(&self, secret: &[u8], user: UserId) -> SealedToken {
        self.seal
            .seal(secret, &bound_to(&[user.to_string().as_bytes()]))
    }

    pub(crate) fn open_totp(&self, sealed: &SealedToken, user: UserId) -> Option<Vec<u8>> {
        self.seal
            .open(sealed, &bound_to(&[user.to_string().as_bytes()]))
    }

    /// Seals the state of a passkey ceremony of kind `kind`, handed to the client between its
    /// start and its finish (so the client can neither read nor alter it).
    pub(crate) fn seal_ceremony(&self, state: &[u8], kind: &str) -> SealedToken {
        self.ceremonies
            .seal(state, &bound_to(&[b"passkey ceremony", kind.as_bytes()]))
    }

    pub(crate) fn open_ceremony(&self, sealed: &SealedToken, kind: &str) -> Option<Vec<u8>> {
        self.ceremonies
            .open(sealed, &bound_to(&[b"passkey ceremony", kind.as_bytes()]))
    }

    /// The stored form of a recovery code of `user`: HMAC-SHA256 over the user and the code
    /// as normalised (upper case, no separators).
    pub(crate) fn code_digest(&self, code: &str, user: UserId) -> Vec<u8> {
        let normalised: String = code
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.codes.key()) else {
            return Vec::new();
        };
        mac.update(&bound_to(&[
            user.to_string().as_bytes(),
            normalised.as_bytes(),
        ]));
        mac.finalize().into_bytes().to_vec()
    }
}
