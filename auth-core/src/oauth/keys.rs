//! [`OAuthKeys`]: the keys that seal provider tokens and sign the `state` of an authorization
//! request, both derived from one secret.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

use crate::store::SealedToken;

/// The shortest secret [`OAuthKeys::new`] accepts, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

const NONCE_LEN: usize = 24;

/// The keys of the OAuth flow, derived with HKDF-SHA256 from one secret (`OAUTH_TOKEN_KEY` in
/// the reference server): one seals the providers' tokens at rest (XChaCha20-Poly1305, bound
/// to the provider account they belong to), the other signs the `state` parameter and derives
/// each request's PKCE verifier and nonce. Its `Debug` shows nothing secret.
///
/// ```
/// use auth_core::oauth::OAuthKeys;
///
/// let keys = OAuthKeys::new(b"0123456789abcdef0123456789abcdef").unwrap();
/// let sealed = keys.seal("provider-access-token", "github", "583231");
/// assert_eq!(keys.open(&sealed, "github", "583231").as_deref(), Some("provider-access-token"));
/// // Moved to another account's row, it does not open.
/// assert_eq!(keys.open(&sealed, "github", "1"), None);
/// assert!(OAuthKeys::new(b"short").is_none());
/// ```
#[derive(Clone)]
pub struct OAuthKeys {
    seal: [u8; 32],
    state: [u8; 32],
}

impl std::fmt::Debug for OAuthKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OAuthKeys([redacted])")
    }
}

impl OAuthKeys {
    /// Keys derived from `secret`, which must be at least [`MIN_SECRET_LEN`] bytes; `None`
    /// for a shorter one.
    pub fn new(secret: &[u8]) -> Option<Self> {
        if secret.len() < MIN_SECRET_LEN {
            return None;
        }
        let hkdf = Hkdf::<Sha256>::new(Some(b"auth-core oauth"), secret);
        let mut seal = [0u8; 32];
        let mut state = [0u8; 32];
        hkdf.expand(b"seal provider tokens v1", &mut seal).ok()?;
        hkdf.expand(b"sign authorization state v1", &mut state)
            .ok()?;
        Some(Self { seal, state })
    }

    /// Seals a provider token of the account (`provider`, `account_id`): a random nonce, then
    /// the ciphertext with its tag.
    pub fn seal(&self, token: &str, provider: &str, account_id: &str) -> SealedToken {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = associated_data(provider, account_id);
        let cipher = XChaCha20Poly1305::new(&self.seal.into());
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: token.as_bytes(),
                    aad: &aad,
                },
            )
            // Encryption fails only for messages beyond 256 GiB.
            .unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        SealedToken::from_bytes(bytes)
    }

    /// Opens a token sealed for the account (`provider`, `account_id`); `None` when it was
    /// sealed with other keys, for another account, or tampered with.
    pub fn open(&self, sealed: &SealedToken, provider: &str, account_id: &str) -> Option<String> {
        let bytes = sealed.as_bytes();
        let (nonce, ciphertext) = bytes.split_at_checked(NONCE_LEN)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        let aad = associated_data(provider, account_id);
        let cipher = XChaCha20Poly1305::new(&self.seal.into());
        let plain = cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .ok()?;
        String::from_utf8(plain).ok()
    }

    /// The key that signs `state` tokens.
    pub(crate) fn state_key(&self) -> &[u8; 32] {
        &self.state
    }

    /// A value derived from the state key and `parts`, URL-safe base64 of 32 bytes (43
    /// characters): each request's PKCE verifier and nonce, computable again at the callback
    /// only by whoever holds both the key and the browser's CSRF cookie.
    pub(crate) fn derive(&self, parts: &[&str]) -> String {
        use base64::Engine as _;
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.state) {
            Ok(mac) => mac,
            // Any key length is valid for HMAC.
            Err(_) => return String::new(),
        };
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

fn associated_data(provider: &str, account_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(provider.len() + account_id.len() + 9);
    aad.extend_from_slice(&(provider.len() as u64).to_be_bytes());
    aad.extend_from_slice(provider.as_bytes());
    aad.extend_from_slice(account_id.as_bytes());
    aad
}
