//! [`OAuthKeys`]: the keys that seal provider tokens and sign the `state` of an authorization
//! request, both derived from one secret.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::sealing::{SecretBox, bound_to};
use crate::store::SealedToken;

/// The shortest secret [`OAuthKeys::new`] accepts, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

const DOMAIN: &[u8] = b"auth-core oauth";

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
#[derive(Debug, Clone)]
pub struct OAuthKeys {
    seal: SecretBox,
    state: SecretBox,
}

impl OAuthKeys {
    /// Keys derived from `secret`, which must be at least [`MIN_SECRET_LEN`] bytes; `None`
    /// for a shorter one.
    pub fn new(secret: &[u8]) -> Option<Self> {
        if secret.len() < MIN_SECRET_LEN {
            return None;
        }
        Some(Self {
            seal: SecretBox::derive(secret, DOMAIN, b"seal provider tokens v1")?,
            state: SecretBox::derive(secret, DOMAIN, b"sign authorization state v1")?,
        })
    }

    /// Seals a provider token of the account (`provider`, `account_id`).
    pub fn seal(&self, token: &str, provider: &str, account_id: &str) -> SealedToken {
        self.seal.seal(
            token.as_bytes(),
            &bound_to(&[provider.as_bytes(), account_id.as_bytes()]),
        )
    }

    /// Opens a token sealed for the account (`provider`, `account_id`); `None` when it was
    /// sealed with other keys, for another account, or tampered with.
    pub fn open(&self, sealed: &SealedToken, provider: &str, account_id: &str) -> Option<String> {
        let plain = self.seal.open(
            sealed,
            &bound_to(&[provider.as_bytes(), account_id.as_bytes()]),
        )?;
        String::from_utf8(plain).ok()
    }

    /// The key that signs `state` tokens.
    pub(crate) fn state_key(&self) -> &[u8; 32] {
        self.state.key()
    }

    /// A value derived from the state key and `parts`, URL-safe base64 of 32 bytes (43
    /// characters): each request's PKCE verifier and nonce, computable again at the callback
    /// only by whoever holds both the key and the browser's CSRF cookie.
    pub(crate) fn derive(&self, parts: &[&str]) -> String {
        use base64::Engine as _;
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.state.key()) else {
            // Any key length is valid for HMAC.
            return String::new();
        };
        let parts: Vec<&[u8]> = parts.iter().map(|part| part.as_bytes()).collect();
        mac.update(&bound_to(&parts));
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}
