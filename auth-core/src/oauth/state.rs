//! The `state` of an authorization request: a signed token that says which provider it is
//! for, what it binds (a signed-in user, a page to return to), when it expires, and the digest
//! of the browser's CSRF cookie.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::OAuthError;

/// The audience of every state token, as fastapi-users names it.
pub(crate) const STATE_AUDIENCE: &str = "fastapi-users:oauth-state";

/// How long a state token lives, in seconds.
pub(crate) const STATE_LIFETIME_SECONDS: i64 = 3600;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StateClaims {
    pub(crate) aud: String,
    pub(crate) exp: i64,
    pub(crate) iat: i64,
    /// The state's own id: what makes it single-use.
    pub(crate) jti: String,
    /// The provider it was issued for.
    pub(crate) prv: String,
    /// Hex SHA-256 of the CSRF cookie's value (the value itself never travels in a URL).
    pub(crate) csrf: String,
    /// The signed-in user an association is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sub: Option<String>,
    /// Where a browser returns afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) next: Option<String>,
}

pub(crate) fn csrf_digest(csrf: &str) -> String {
    hex::encode(Sha256::digest(csrf.as_bytes()))
}

pub(crate) fn encode(claims: &StateClaims, key: &[u8]) -> Result<String, OAuthError> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key),
    )
    .map_err(|err| OAuthError::Internal(err.to_string()))
}

pub(crate) fn decode(state: &str, key: &[u8]) -> Result<StateClaims, OAuthError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[STATE_AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "aud"]);
    validation.leeway = 0;
    jsonwebtoken::decode::<StateClaims>(state, &DecodingKey::from_secret(key), &validation)
        .map(|data| data.claims)
        .map_err(|err| match err.kind() {
            ErrorKind::ExpiredSignature => OAuthError::StateExpired,
            _ => OAuthError::StateInvalid,
        })
}
