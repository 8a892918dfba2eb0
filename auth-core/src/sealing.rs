//! [`SecretBox`]: sealing small secrets for storage (XChaCha20-Poly1305), and deriving keys
//! from one configured secret (HKDF-SHA256).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand::Rng;
use sha2::Sha256;

use crate::store::SealedToken;

const NONCE_LEN: usize = 24;

/// A 32-byte key derived from a configured secret for one purpose; seals secrets bound to
/// the record they belong to (the associated data), and opens them. Its `Debug` shows
/// nothing secret.
#[derive(Clone)]
pub(crate) struct SecretBox([u8; 32]);

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox([redacted])")
    }
}

impl SecretBox {
    /// The key for `purpose` derived from `secret` (HKDF-SHA256, salted with `domain`).
    pub(crate) fn derive(secret: &[u8], domain: &[u8], purpose: &[u8]) -> Option<Self> {
        let mut key = [0u8; 32];
        Hkdf::<Sha256>::new(Some(domain), secret)
            .expand(purpose, &mut key)
            .ok()?;
        Some(Self(key))
    }

    /// The raw key (for a MAC keyed with it).
    pub(crate) fn key(&self) -> &[u8; 32] {
        &self.0
    }

    /// A random nonce, then the ciphertext of `plain` with its tag, bound to `bound_to`.
    pub(crate) fn seal(&self, plain: &[u8], bound_to: &[u8]) -> SealedToken {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new(&self.0.into());
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: bound_to,
                },
            )
            // Encryption fails only for messages beyond 256 GiB.
            .unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        SealedToken::from_bytes(bytes)
    }

    /// What [`SecretBox::seal`] sealed, if it was this key and the same `bound_to`, untouched.
    pub(crate) fn open(&self, sealed: &SealedToken, bound_to: &[u8]) -> Option<Vec<u8>> {
        let (nonce, ciphertext) = sealed.as_bytes().split_at_checked(NONCE_LEN)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        XChaCha20Poly1305::new(&self.0.into())
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: bound_to,
                },
            )
            .ok()
    }
}

/// Associated data from length-prefixed parts, so that no two part lists collide.
pub(crate) fn bound_to(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_record() {
        let key = SecretBox::derive(b"0123456789abcdef0123456789abcdef", b"d", b"p").unwrap();
        let other = SecretBox::derive(b"0123456789abcdef0123456789abcdef", b"d", b"q").unwrap();
        let sealed = key.seal(b"secret", b"record 1");
        assert_ne!(sealed.as_bytes(), b"secret");
        assert_eq!(
            key.open(&sealed, b"record 1").as_deref(),
            Some(&b"secret"[..])
        );
        assert_eq!(key.open(&sealed, b"record 2"), None);
        assert_eq!(other.open(&sealed, b"record 1"), None);
        let mut tampered = sealed.as_bytes().to_vec();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert_eq!(
            key.open(&SealedToken::from_bytes(tampered), b"record 1"),
            None
        );
        assert_eq!(
            key.open(&SealedToken::from_bytes(vec![1, 2]), b"record 1"),
            None
        );
        assert_ne!(
            key.seal(b"secret", b"r").as_bytes(),
            key.seal(b"secret", b"r").as_bytes()
        );
    }
}
