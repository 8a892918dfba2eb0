//! Secrets: passwords, password hashes and token digests, none of which ever prints itself.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A plaintext password as the user typed it.
///
/// Its `Debug` prints `[redacted]`, it is never serialised, and it is never trimmed or
/// case-folded. The password rules ([`PasswordPolicy`](crate::PasswordPolicy)) and the hasher
/// both read it through [`Password::expose`].
///
/// ```
/// use auth_core::Password;
/// let password = Password::new("correct horse battery staple");
/// assert_eq!(format!("{password:?}"), "Password([redacted])");
/// assert_eq!(password.expose(), "correct horse battery staple");
/// ```
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }

    /// The password's text. Handle with care: never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl From<String> for Password {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Password {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// A password hash as stored: a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`) or, for
/// imported users, a bcrypt string (`$2b$12$...`).
///
/// Its `Debug` prints `[redacted]`; it is never part of a response.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

/// The prefix of an unusable hash: no hash format starts with it, so no password verifies.
const UNUSABLE: &str = "!";

impl PasswordHash {
    /// Wraps a stored hash string.
    pub fn new(hash: impl Into<String>) -> Self {
        Self(hash.into())
    }

    /// The stored string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks a hash made by another system before it is imported
    /// ([`UserManager::import`](crate::UserManager::import)): an Argon2 PHC string (any
    /// variant, version and parameters within the hasher's verification caps, such as
    /// argon2-cffi's or pwdlib's `$argon2id$v=19$m=65536,t=3,p=4$...`) or, with feature
    /// `bcrypt`, a bcrypt string (`$2a$`, `$2b$`, `$2y$`, cost at most 16). Either is
    /// upgraded to the configured Argon2id parameters at the user's next login.
    ///
    /// ```
    /// use auth_core::PasswordHash;
    /// // argon2-cffi's and pwdlib's defaults (fastapi-users 15).
    /// let argon2 = "$argon2id$v=19$m=65536,t=3,p=4$+Cg09oWXDDS3LwXLLfsI7Q$yH4KKBnzQQnu4+UTTjMSXm9X14oLp4YH4DxZXN1xlfw";
    /// assert!(PasswordHash::from_imported(argon2).is_ok());
    /// assert!(PasswordHash::from_imported("pbkdf2_sha256$600000$salt$hash").is_err());
    /// ```
    ///
    /// # Errors
    /// [`UnsupportedHash`] saying why, without repeating the hash.
    pub fn from_imported(hash: impl Into<String>) -> Result<Self, UnsupportedHash> {
        let hash = hash.into();
        crate::hasher::check_importable(&hash).map_err(UnsupportedHash)?;
        Ok(Self(hash))
    }

    /// The hash of an account without a password (one created through a provider): no
    /// password matches it, and [`PasswordHash::is_usable`] says so.
    pub fn unusable() -> Self {
        Self(UNUSABLE.to_owned())
    }

    /// Whether some password can match this hash (false for [`PasswordHash::unusable`]).
    pub fn is_usable(&self) -> bool {
        !self.0.starts_with(UNUSABLE)
    }

    /// A short, non-reversible fingerprint of this hash, used to bind reset tokens to the
    /// current password: once the password changes, every outstanding reset token dies.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        hex::encode(&digest[..16])
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

/// A password hash from another system that cannot be imported: not an Argon2 PHC string or
/// a bcrypt string, malformed, or costlier than verification allows. The message says why and
/// never repeats the hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unsupported password hash: {0}")]
pub struct UnsupportedHash(&'static str);

impl UnsupportedHash {
    /// Why the hash was refused.
    pub fn reason(&self) -> &'static str {
        self.0
    }
}

/// The SHA-256 digest of a high-entropy secret (a refresh or opaque session token).
///
/// Stores keep only this digest (ASVS5 7.2.3, 11.5.1). A fast hash is right here: the secret
/// has at least 256 bits from a CSPRNG, so there is nothing to brute-force. Equality is
/// constant-time.
#[derive(Clone, Copy)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Digests a secret.
    pub fn of(secret: &[u8]) -> Self {
        Self(Sha256::digest(secret).into())
    }

    /// Rebuilds a digest from its bytes (as a store loads it).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses the lowercase hex form written by [`TokenHash::to_hex`].
    pub fn from_hex(hex_digest: &str) -> Option<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_digest, &mut bytes).ok()?;
        Some(Self(bytes))
    }

    /// The digest's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The digest as 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for TokenHash {}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print_themselves() {
        let hash = PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA");
        assert!(!format!("{hash:?}").contains("argon2"));
        let digest = TokenHash::of(b"secret");
        assert_eq!(format!("{digest:?}"), "TokenHash([redacted])");
    }

    #[test]
    fn token_hash_round_trips_through_hex() {
        let digest = TokenHash::of(b"secret");
        assert_eq!(TokenHash::from_hex(&digest.to_hex()), Some(digest));
        assert_eq!(TokenHash::from_hex("zz"), None);
    }
}
