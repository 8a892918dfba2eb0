//! JSON Web Tokens: one key set per codec, one algorithm per key, verified strictly (RFC 8725).
//!
//! [`JwtCodec`] signs and verifies claims of any serde type; [`JwtStrategy`] is the
//! [`TokenStrategy`] that issues and checks access tokens with it.
//!
//! The verification rules are listed on [`JwtCodec`]. Each token kind has its own audience
//! ([`ACCESS_AUDIENCE`], [`VERIFY_AUDIENCE`], [`RESET_AUDIENCE`]), so one kind is refused where
//! another is expected (ASVS5 9.2.2).

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use rand::Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use time::{Duration, OffsetDateTime};

use super::jws::{self, MacKey, VerifyingKey};
use super::key_set::{JwtKeySet, SharedJwtKeySet};
use super::verified_cache::{DEFAULT_VERIFIED_TOKEN_CACHE, VerifiedCache};
use super::{AccessClaims, AccessSubject, Authentication, IssuedToken, TokenError, TokenStrategy};
use crate::session::SessionId;
use crate::user::{Roles, UserId};

/// The audience of access tokens: what [`JwtStrategy`] issues and accepts by default.
///
/// Each token kind has its own audience, so a token of one kind is refused where another is
/// expected (ASVS5 9.2.2).
pub const ACCESS_AUDIENCE: &str = "accounts:access";

/// The audience of e-mail verification tokens.
///
/// Each token kind has its own audience, so a verify token is refused as an access or a reset
/// token (ASVS5 9.2.2).
pub const VERIFY_AUDIENCE: &str = "accounts:verify";

/// The audience of password reset tokens.
///
/// Each token kind has its own audience, so a reset token is refused as an access or a verify
/// token (ASVS5 9.2.2).
pub const RESET_AUDIENCE: &str = "accounts:reset";

/// The shortest HMAC secret accepted, in bytes (RFC 8725 §3.5).
const MIN_HMAC_SECRET_LEN: usize = 32;

/// Longer presented tokens are refused before any parsing. Ours are a few hundred bytes and a
/// cookie holds at most 4 KiB; the cap keeps hostile input from costing base64 and JSON work.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// What went wrong building keys, signing, or verifying a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// The HMAC secret is shorter than 32 bytes (RFC 8725 §3.5).
    #[error(
        "jwt hmac secret is shorter than 32 bytes; use at least 32 random bytes \
         (for example `openssl rand -base64 48`)"
    )]
    WeakSecret,
    /// The algorithm needs another kind of key: HMAC algorithms take a secret
    /// ([`JwtKeys::hmac`]), RS256, ES256 and EdDSA a PEM key pair ([`JwtKeys::from_pem`]).
    #[error(
        "wrong key type for the jwt algorithm: HS256/HS384/HS512 take a secret, \
         RS256/ES256/EdDSA a PEM key pair"
    )]
    WrongKeyType,
    /// The private and public keys are each valid, but do not belong together.
    #[error("the jwt private and public keys are not a pair")]
    KeyMismatch,
    /// An algorithm name that is not one of [`JwtAlgorithm`]'s.
    #[error(
        "unknown jwt algorithm `{0}`; expected one of HS256, HS384, HS512, RS256, ES256, EdDSA"
    )]
    UnknownAlgorithm(String),
    /// A key could not be parsed or used.
    #[error("invalid jwt key")]
    Key(#[source] jsonwebtoken::errors::Error),
    /// A key file could not be read.
    #[error("cannot read jwt key file `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The claims could not be signed (they are not a JSON object, lack an integer `exp`, carry
    /// their own `aud` or `iss`, or the signer failed); a programming error, not bad input.
    #[error("cannot sign jwt")]
    Encode(#[source] jsonwebtoken::errors::Error),
    /// The token is not acceptable. Deliberately says no more; the reason is logged with
    /// `tracing` at debug level.
    #[error("jwt rejected")]
    Rejected,
    /// Two keys of a set have the same key id (`None`: two keys have none).
    #[error("two jwt keys have the key id {0:?}; key ids must be unique in a key set")]
    DuplicateKid(Option<String>),
    /// No key of the set can sign with this key id (`None`: the key without an id): there is
    /// none, or it is verify-only (a public key alone).
    #[error(
        "no jwt signing key with key id {0:?}: name a key of the set whose private key (or \
         secret) is present"
    )]
    NoSigningKey(Option<String>),
    /// A directory of key files could not be listed, or holds no usable key.
    #[error("jwt key directory `{}`: {reason}", path.display())]
    KeyDir {
        /// The directory or file.
        path: PathBuf,
        /// What is wrong, and how to fix it.
        reason: String,
    },
}

/// A signing algorithm; one per key set.
///
/// Parses from its name, case-insensitively:
///
/// ```
/// use auth_core::JwtAlgorithm;
///
/// let alg: JwtAlgorithm = "es256".parse()?;
/// assert_eq!(alg, JwtAlgorithm::ES256);
/// assert_eq!(alg.to_string(), "ES256");
/// assert!("none".parse::<JwtAlgorithm>().is_err());
/// # Ok::<(), auth_core::JwtError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl JwtAlgorithm {
    const ALL: [Self; 6] = [
        Self::HS256,
        Self::HS384,
        Self::HS512,
        Self::RS256,
        Self::ES256,
        Self::EdDSA,
    ];

    /// Whether this is an HMAC (shared secret) algorithm.
    pub const fn is_hmac(self) -> bool {
        matches!(self, Self::HS256 | Self::HS384 | Self::HS512)
    }

    pub(super) const fn name(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }

    pub(super) const fn to_jsonwebtoken(self) -> Algorithm {
        match self {
            Self::HS256 => Algorithm::HS256,
            Self::HS384 => Algorithm::HS384,
            Self::HS512 => Algorithm::HS512,
            Self::RS256 => Algorithm::RS256,
            Self::ES256 => Algorithm::ES256,
            Self::EdDSA => Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for JwtAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for JwtAlgorithm {
    type Err = JwtError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| JwtError::UnknownAlgorithm(s.to_owned()))
    }
}

/// One algorithm with its signing and verifying key (or, for a retired key, the verifying key
/// alone: [`JwtKeys::from_public_pem`]), and an optional key id (`kid`). Several of them make a
/// [`JwtKeySet`].
///
/// `Debug` shows only the algorithm and the key id; the key material is zeroed when dropped.
///
/// ```
/// use auth_core::{JwtAlgorithm, JwtKeys};
///
/// // In production: at least 32 random bytes from the configuration, never a literal.
/// let keys = JwtKeys::hmac(JwtAlgorithm::HS256, b"an example secret of at least 32 bytes")?
///     .with_kid("2025-01");
/// assert_eq!(keys.algorithm(), JwtAlgorithm::HS256);
/// assert_eq!(keys.kid(), Some("2025-01"));
/// # Ok::<(), auth_core::JwtError>(())
/// ```
#[derive(Clone)]
pub struct JwtKeys {
    algorithm: JwtAlgorithm,
    /// `None` for a verify-only key (a public key alone, [`JwtKeys::from_public_pem`]).
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
    /// HMAC algorithms: the key with its pads hashed, for verification.
    mac: Option<MacKey>,
    kid: Option<String>,
}

impl JwtKeys {
    /// Keys for an HMAC algorithm from a shared secret of at least 32 bytes.
    ///
    /// # Errors
    /// [`JwtError::WrongKeyType`] when `algorithm` is not HMAC; [`JwtError::WeakSecret`] when
    /// `secret` is shorter than 32 bytes.
    pub fn hmac(algorithm: JwtAlgorithm, secret: &[u8]) -> Result<Self, JwtError> {
        if !algorithm.is_hmac() {
            return Err(JwtError::WrongKeyType);
        }
        // RFC 8725 §3.5: a short secret can be brute-forced offline from any one token.
        if secret.len() < MIN_HMAC_SECRET_LEN {
            return Err(JwtError::WeakSecret);
        }
        Ok(Self {
            algorithm,
            encoding: Some(EncodingKey::from_secret(secret)),
            decoding: DecodingKey::from_secret(secret),
            mac: MacKey::new(algorithm, secret),
            kid: None,
        })
    }

    /// Keys for RS256, ES256 or EdDSA from a PEM private key (PKCS#8; PKCS#1 also for RSA) and
    /// the matching PEM public key (SPKI).
    ///
    /// The pair is checked by signing and verifying a probe, so a mismatched or wrong-curve
    /// key fails here, at start-up, not at the first login.
    ///
    /// # Errors
    /// [`JwtError::WrongKeyType`] for an HMAC algorithm; [`JwtError::Key`] when a key does not
    /// parse or does not fit the algorithm; [`JwtError::KeyMismatch`] when the two keys are
    /// not a pair.
    pub fn from_pem(
        algorithm: JwtAlgorithm,
        private_pem: &[u8],
        public_pem: &[u8],
    ) -> Result<Self, JwtError> {
        let (encoding, decoding) = match algorithm {
            JwtAlgorithm::HS256 | JwtAlgorithm::HS384 | JwtAlgorithm::HS512 => {
                return Err(JwtError::WrongKeyType);
            }
            JwtAlgorithm::RS256 => (
                EncodingKey::from_rsa_pem(private_pem),
                DecodingKey::from_rsa_pem(public_pem),
            ),
            JwtAlgorithm::ES256 => (
                EncodingKey::from_ec_pem(private_pem),
                DecodingKey::from_ec_pem(public_pem),
            ),
            JwtAlgorithm::EdDSA => (
                EncodingKey::from_ed_pem(private_pem),
                DecodingKey::from_ed_pem(public_pem),
            ),
        };
        let keys = Self {
            algorithm,
            encoding: Some(encoding.map_err(JwtError::Key)?),
            decoding: decoding.map_err(JwtError::Key)?,
            mac: None,
            kid: None,
        };
        keys.check_pair()?;
        Ok(keys)
    }

    /// Like [`JwtKeys::from_pem`], reading the two PEM files.
    ///
    /// # Errors
    /// [`JwtError::Io`], naming the file, when one cannot be read; otherwise as
    /// [`JwtKeys::from_pem`].
    pub fn from_pem_files(
        algorithm: JwtAlgorithm,
        private: impl AsRef<Path>,
        public: impl AsRef<Path>,
    ) -> Result<Self, JwtError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| JwtError::Io {
                path: path.to_owned(),
                source,
            })
        };
        let private_pem = read(private.as_ref())?;
        let public_pem = read(public.as_ref())?;
        Self::from_pem(algorithm, &private_pem, &public_pem)
    }

    /// Sets the key id: issued tokens carry it in their header, and a presented token is
    /// verified with this key only when its header names this id (see [`JwtKeySet`]).
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The algorithm.
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.algorithm
    }

    /// The key id, if set.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Keys for RS256, ES256 or EdDSA from a PEM private key alone (PKCS#8; PKCS#1 also for
    /// RSA): the public key is derived from it, and the pair checked as in
    /// [`JwtKeys::from_pem`].
    ///
    /// ```
    /// use auth_core::{JwtAlgorithm, JwtKeys};
    ///
    /// let pem = include_bytes!("../../tests/keys/ed25519-test-private.pem");
    /// let keys = JwtKeys::from_private_pem(JwtAlgorithm::EdDSA, pem)?.with_kid("2026-01");
    /// assert!(keys.can_sign());
    /// assert_eq!(keys.public_jwk().map(|jwk| jwk.common.key_id), Some(Some("2026-01".into())));
    /// # Ok::<(), auth_core::JwtError>(())
    /// ```
    ///
    /// # Errors
    /// [`JwtError::WrongKeyType`] for an HMAC algorithm; [`JwtError::Key`] when the key does
    /// not parse or does not fit the algorithm.
    pub fn from_private_pem(algorithm: JwtAlgorithm, private_pem: &[u8]) -> Result<Self, JwtError> {
        let encoding = match algorithm {
            JwtAlgorithm::HS256 | JwtAlgorithm::HS384 | JwtAlgorithm::HS512 => {
                return Err(JwtError::WrongKeyType);
            }
            JwtAlgorithm::RS256 => EncodingKey::from_rsa_pem(private_pem),
            JwtAlgorithm::ES256 => EncodingKey::from_ec_pem(private_pem),
            JwtAlgorithm::EdDSA => EncodingKey::from_ed_pem(private_pem),
        }
        .map_err(JwtError::Key)?;
        let public = Jwk::from_encoding_key(&encoding, algorithm.to_jsonwebtoken())
            .map_err(JwtError::Key)?;
        let keys = Self {
            algorithm,
            decoding: DecodingKey::from_jwk(&public).map_err(JwtError::Key)?,
            encoding: Some(encoding),
            mac: None,
            kid: None,
        };
        keys.check_pair()?;
        Ok(keys)
    }

    /// A verify-only key for RS256, ES256 or EdDSA from a PEM public key (SPKI): tokens it
    /// signed are still accepted, none is signed with it. The state of a retired key, whose
    /// private half can then be destroyed.
    ///
    /// # Errors
    /// [`JwtError::WrongKeyType`] for an HMAC algorithm; [`JwtError::Key`] when the key does
    /// not parse or does not fit the algorithm.
    pub fn from_public_pem(algorithm: JwtAlgorithm, public_pem: &[u8]) -> Result<Self, JwtError> {
        let decoding = match algorithm {
            JwtAlgorithm::HS256 | JwtAlgorithm::HS384 | JwtAlgorithm::HS512 => {
                return Err(JwtError::WrongKeyType);
            }
            JwtAlgorithm::RS256 => DecodingKey::from_rsa_pem(public_pem),
            JwtAlgorithm::ES256 => DecodingKey::from_ec_pem(public_pem),
            JwtAlgorithm::EdDSA => DecodingKey::from_ed_pem(public_pem),
        }
        .map_err(JwtError::Key)?;
        let keys = Self {
            algorithm,
            encoding: None,
            decoding,
            mac: None,
            kid: None,
        };
        // Fails here, not at the first JWKS request, for a key of the wrong type.
        keys.public_jwk().ok_or(JwtError::WrongKeyType)?;
        Ok(keys)
    }

    /// Whether these keys can sign (they hold a secret or a private key), or only verify.
    pub fn can_sign(&self) -> bool {
        self.encoding.is_some()
    }

    /// The public key as a JSON Web Key (RFC 7517), with `kid` (if set), `alg` and
    /// `use: "sig"`, and no private part; `None` for an HMAC secret, which is never published.
    pub fn public_jwk(&self) -> Option<Jwk> {
        if self.algorithm.is_hmac() {
            return None;
        }
        let mut jwk =
            Jwk::from_decoding_key(&self.decoding, Some(self.algorithm.to_jsonwebtoken())).ok()?;
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_id.clone_from(&self.kid);
        match jwk.algorithm {
            // Public parameters only, whatever the key was built from.
            AlgorithmParameters::RSA(_)
            | AlgorithmParameters::EllipticCurve(_)
            | AlgorithmParameters::OctetKeyPair(_) => Some(jwk),
            _ => None,
        }
    }

    /// The verifying half, as the header and signature checks use it.
    pub(super) fn verifying(&self) -> VerifyingKey<'_> {
        VerifyingKey {
            algorithm: self.algorithm,
            mac: self.mac.as_ref(),
            decoding: &self.decoding,
        }
    }

    /// The signing half; `None` for a verify-only key.
    pub(super) fn encoding(&self) -> Option<&EncodingKey> {
        self.encoding.as_ref()
    }

    fn check_pair(&self) -> Result<(), JwtError> {
        const PROBE: &[u8] = b"auth-core jwt key pair check";
        let alg = self.algorithm.to_jsonwebtoken();
        let Some(encoding) = &self.encoding else {
            return Ok(());
        };
        let signature = jsonwebtoken::crypto::sign(PROBE, encoding, alg).map_err(JwtError::Key)?;
        let verified = jsonwebtoken::crypto::verify(&signature, PROBE, &self.decoding, alg)
            .map_err(JwtError::Key)?;
        if verified {
            Ok(())
        } else {
            Err(JwtError::KeyMismatch)
        }
    }
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Signs and verifies claims of any serde type with one key set, for one issuer: the set's
/// signing key signs, every key of the set verifies ([`JwtKeySet`]).
///
/// Cheap to clone (an `Arc` inside); what verification needs is prepared once, in
/// [`JwtCodec::new`].
///
/// # Verification
///
/// Every token is refused ([`JwtError::Rejected`]) unless all of these hold:
///
/// - the header's `kid` names a key of the set (a header without `kid`: the set's key without
///   a key id), see [`JwtKeySet`];
/// - the signature verifies with that key, before any claim is read;
/// - the header's `alg` is exactly that key's algorithm (so `none` and algorithm confusion,
///   also between keys of one set, fail), it carries no `jku`, `x5u`, `jwk`, `x5c` or `crit`,
///   and its `typ`, if any, is `JWT`;
/// - `exp`, `aud` and `iss` are present; `exp` (and `nbf`, if present) are JSON integers and
///   `aud` and `iss` JSON strings: a claim of the wrong type is a rejection, never a skipped
///   check (CVE-2026-25537);
/// - `aud` equals the expected audience and `iss` the configured issuer, exactly;
/// - `now` (injected, never the system clock) is before `exp` and not before `nbf`, give or
///   take the configured leeway.
///
/// Each token kind has its own audience ([`ACCESS_AUDIENCE`], [`VERIFY_AUDIENCE`],
/// [`RESET_AUDIENCE`], or the app's own), so one kind is refused where another is expected.
///
/// # Example
///
/// ```
/// use auth_core::{JwtAlgorithm, JwtCodec, JwtKeys};
/// use serde::{Deserialize, Serialize};
/// use time::{Duration, OffsetDateTime};
///
/// #[derive(Serialize, Deserialize)]
/// struct VerifyClaims {
///     sub: String,
///     email: String,
///     exp: i64,
/// }
///
/// let keys = JwtKeys::hmac(JwtAlgorithm::HS256, b"an example secret of at least 32 bytes")?;
/// let codec = JwtCodec::new(keys, "https://accounts.example.com");
///
/// let now = OffsetDateTime::now_utc();
/// let claims = VerifyClaims {
///     sub: "42".into(),
///     email: "alice@example.com".into(),
///     exp: (now + Duration::hours(1)).unix_timestamp(),
/// };
/// let token = codec.encode(&claims, "accounts:verify")?;
///
/// let back: VerifyClaims = codec.decode(&token, "accounts:verify", now)?;
/// assert_eq!(back.email, "alice@example.com");
/// // Where another kind of token is expected, this one is refused.
/// assert!(codec.decode::<VerifyClaims>(&token, "accounts:reset", now).is_err());
/// // And so it is once expired.
/// let later = now + Duration::hours(2);
/// assert!(codec.decode::<VerifyClaims>(&token, "accounts:verify", later).is_err());
/// # Ok::<(), auth_core::JwtError>(())
/// ```
#[derive(Clone)]
pub struct JwtCodec {
    inner: Arc<CodecInner>,
}

#[derive(Clone)]
struct CodecInner {
    keys: CodecKeys,
    issuer: String,
    /// Whole seconds, never negative.
    leeway: i64,
}

/// A set fixed for the codec's life, or one that reloads can swap.
// One value per codec, inside its `Arc`: boxing the fixed set would only add a pointer hop
// to every token checked.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
enum CodecKeys {
    Fixed(JwtKeySet),
    Shared(SharedJwtKeySet),
}

impl CodecKeys {
    /// Runs `read` on the current set: a field for a fixed set, an atomic load (no lock, no
    /// reference count) for a shared one.
    fn with<R>(&self, read: impl FnOnce(&JwtKeySet) -> R) -> R {
        match self {
            Self::Fixed(set) => read(set),
            Self::Shared(shared) => shared.with(read),
        }
    }
}

impl JwtCodec {
    /// A codec for `keys`, issuing and accepting tokens of `issuer` (the `iss` claim), with no
    /// leeway: a [`JwtKeySet`] of one key.
    pub fn new(keys: JwtKeys, issuer: impl Into<String>) -> Self {
        Self::with_key_set(JwtKeySet::new(keys), issuer)
    }

    /// A codec for a fixed set of keys: its signing key signs, every key verifies the tokens
    /// it signed (see [`JwtKeySet`] for how a token's key is chosen).
    pub fn with_key_set(keys: JwtKeySet, issuer: impl Into<String>) -> Self {
        Self::build(CodecKeys::Fixed(keys), issuer.into())
    }

    /// A codec over a set that can be swapped while the codec is in use (key files reloaded
    /// without a restart, [`JwtKeyReloader`](super::JwtKeyReloader)); every token is signed
    /// or verified with the set current at that moment, read without a lock.
    pub fn with_shared_keys(keys: SharedJwtKeySet, issuer: impl Into<String>) -> Self {
        Self::build(CodecKeys::Shared(keys), issuer.into())
    }

    fn build(keys: CodecKeys, issuer: String) -> Self {
        Self {
            inner: Arc::new(CodecInner {
                keys,
                issuer,
                leeway: 0,
            }),
        }
    }

    /// Tolerates this much clock skew when checking `exp` and `nbf` (whole seconds; a negative
    /// leeway counts as none). Default: none.
    #[must_use]
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        Arc::make_mut(&mut self.inner).leeway = leeway.whole_seconds().max(0);
        self
    }

    /// The algorithm of the signing key.
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.inner.keys.with(JwtKeySet::algorithm)
    }

    /// The current key set (a copy of the current one, for a shared set).
    pub fn key_set(&self) -> Arc<JwtKeySet> {
        match &self.inner.keys {
            CodecKeys::Fixed(set) => Arc::new(set.clone()),
            CodecKeys::Shared(shared) => shared.load(),
        }
    }

    /// The public keys of the current set as a JWK Set (see [`JwtKeySet::jwks`]); empty for
    /// HMAC keys.
    pub fn jwks(&self) -> JwkSet {
        self.inner.keys.with(JwtKeySet::jwks)
    }

    /// Whether the current set holds a key with an asymmetric algorithm (something to
    /// publish as a JWKS).
    pub fn has_public_keys(&self) -> bool {
        self.inner.keys.with(JwtKeySet::has_public_keys)
    }

    /// The current set's number, which changes with every swap.
    pub(super) fn generation(&self) -> u64 {
        self.inner.keys.with(JwtKeySet::generation)
    }

    /// The leeway in whole seconds.
    pub(super) fn leeway_seconds(&self) -> i64 {
        self.inner.leeway
    }

    /// The issuer (`iss`) of the tokens.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// Signs `claims` for `audience`.
    ///
    /// The claims must serialise to a JSON object with an integer `exp` (and an integer `nbf`,
    /// if any); the codec adds `aud` (as a string) and `iss`. The header carries the signing
    /// key's algorithm, `typ: "JWT"` and its key id, if set.
    ///
    /// # Errors
    /// [`JwtError::Encode`] when the claims are not such an object, already carry `aud` or
    /// `iss`, or signing fails; [`JwtError::NoSigningKey`] when the set's signing key is
    /// verify-only.
    pub fn encode<T: Serialize>(&self, claims: &T, audience: &str) -> Result<String, JwtError> {
        let mut value = serde_json::to_value(claims).map_err(|err| JwtError::Encode(err.into()))?;
        let Some(object) = value.as_object_mut() else {
            return Err(encode_error("jwt claims must serialise to a JSON object"));
        };
        // A token without an integer `exp` would be refused by every `decode`: say so now.
        if !object.get("exp").is_some_and(serde_json::Value::is_i64)
            || object.get("nbf").is_some_and(|nbf| !nbf.is_i64())
        {
            return Err(encode_error(
                "jwt claims must carry an integer `exp`, and `nbf` if any",
            ));
        }
        if object.contains_key("aud") || object.contains_key("iss") {
            return Err(encode_error(
                "jwt claims must not carry `aud` or `iss`: the codec sets them",
            ));
        }
        object.insert("aud".to_owned(), audience.into());
        object.insert("iss".to_owned(), self.inner.issuer.as_str().into());
        self.inner.keys.with(|set| {
            let encoding = set
                .signing()
                .encoding()
                .ok_or_else(|| JwtError::NoSigningKey(set.signing().kid().map(str::to_owned)))?;
            jsonwebtoken::encode(set.header(), &value, encoding).map_err(JwtError::Encode)
        })
    }

    /// Verifies `token` as one meant for `audience` at time `now`, and returns its claims.
    ///
    /// The rules are listed on [`JwtCodec`]. Cheap enough for every request: one signature
    /// check, the header and payload decoded on the stack, and two small JSON parses of the
    /// payload (the registered claims, borrowed, then `T`). Access tokens take a faster path
    /// still, through [`JwtStrategy`]: one parse.
    ///
    /// # Errors
    /// [`JwtError::Rejected`] for any token that is not acceptable, whatever the reason; the
    /// reason is logged at debug level.
    pub fn decode<T: DeserializeOwned>(
        &self,
        token: &str,
        audience: &str,
        now: OffsetDateTime,
    ) -> Result<T, JwtError> {
        let inner = &*self.inner;
        inner.with_payload(token, |json, _| {
            let registered: Registered<'_> =
                serde_json::from_str(json).map_err(|_| rejected("ill-typed registered claim"))?;
            inner.check_claims(&registered, audience, now.unix_timestamp())?;
            serde_json::from_str(json).map_err(|_| rejected("malformed claims"))
        })
    }

    /// [`JwtCodec::decode`] into [`AccessClaims`] with one JSON parse, registered claims and
    /// access claims together: the per-request path of [`JwtStrategy`].
    ///
    /// Also gives the `nbf` claim, if any, and the number of the key set that verified the
    /// token, for the cache of verified tokens.
    pub(super) fn decode_access(
        &self,
        token: &str,
        audience: &str,
        now: OffsetDateTime,
    ) -> Result<VerifiedAccess, JwtError> {
        let inner = &*self.inner;
        inner.with_payload(token, |json, generation| {
            let wire: AccessWire<'_> =
                serde_json::from_str(json).map_err(|_| rejected("ill-typed claim"))?;
            inner.check_claims(&wire.registered(), audience, now.unix_timestamp())?;
            let nbf = wire.nbf;
            Ok(VerifiedAccess {
                claims: wire.into_claims(),
                nbf,
                generation,
            })
        })
    }
}

impl CodecInner {
    /// Checks the token's size, header and signature, then hands its decoded payload to
    /// `read`, as text: JSON is UTF-8 (RFC 8259 §8.1), checked once here so that the parser
    /// need not check each string again.
    ///
    /// `read` also gets the number of the key set that verified the token.
    fn with_payload<R>(
        &self,
        token: &str,
        read: impl FnOnce(&str, u64) -> Result<R, JwtError>,
    ) -> Result<R, JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(rejected("token too long"));
        }
        let (payload, generation) = self.keys.with(|set| {
            jws::verify(token, set.expected())
                .map(|payload| (payload, set.generation()))
                .map_err(rejected)
        })?;
        jws::decoded(payload, |json| match std::str::from_utf8(json) {
            Ok(json) => read(json, generation),
            Err(_) => Err(rejected("payload is not UTF-8")),
        })
        .unwrap_or_else(|| Err(rejected("malformed payload")))
    }

    fn check_claims(
        &self,
        claims: &Registered<'_>,
        audience: &str,
        now: i64,
    ) -> Result<(), JwtError> {
        if claims.aud != audience {
            return Err(rejected("wrong audience"));
        }
        if claims.iss != self.issuer {
            return Err(rejected("wrong issuer"));
        }
        // RFC 7519 §4.1.4: valid only while now is before `exp`.
        if now >= claims.exp.saturating_add(self.leeway) {
            return Err(rejected("expired"));
        }
        if claims
            .nbf
            .is_some_and(|nbf| now.saturating_add(self.leeway) < nbf)
        {
            return Err(rejected("not yet valid"));
        }
        Ok(())
    }
}

impl fmt::Debug for JwtCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtCodec")
            .field("keys", &self.inner.keys)
            .field("issuer", &self.inner.issuer)
            .field("leeway", &self.inner.leeway)
            .finish()
    }
}

/// The registered claims `decode` checks itself, typed: an `exp` that is a string or a float,
/// or an `aud` that is an array, fails to parse and the token is refused.
#[derive(Deserialize)]
struct Registered<'a> {
    exp: i64,
    #[serde(default, deserialize_with = "present_i64")]
    nbf: Option<i64>,
    #[serde(borrow)]
    aud: Cow<'a, str>,
    #[serde(borrow)]
    iss: Cow<'a, str>,
}

/// The claims of an access token, registered and ours, read in one parse. Every field is
/// typed as in [`Registered`] and [`AccessClaims`], so what either refuses, this refuses;
/// a field named twice is refused too.
#[derive(Deserialize)]
struct AccessWire<'a> {
    sub: UserId,
    sid: SessionId,
    exp: i64,
    iat: i64,
    #[serde(default, deserialize_with = "present_i64")]
    nbf: Option<i64>,
    #[serde(borrow)]
    aud: Cow<'a, str>,
    #[serde(borrow)]
    iss: Cow<'a, str>,
    jti: String,
    #[serde(default)]
    roles: Roles,
    #[serde(default)]
    is_superuser: bool,
    #[serde(default)]
    is_verified: bool,
}

impl AccessWire<'_> {
    fn registered(&self) -> Registered<'_> {
        Registered {
            exp: self.exp,
            nbf: self.nbf,
            aud: Cow::Borrowed(&self.aud),
            iss: Cow::Borrowed(&self.iss),
        }
    }

    fn into_claims(self) -> AccessClaims {
        AccessClaims {
            sub: self.sub,
            sid: self.sid,
            exp: self.exp,
            iat: self.iat,
            jti: self.jti,
            roles: self.roles,
            is_superuser: self.is_superuser,
            is_verified: self.is_verified,
        }
    }
}

/// Access claims just verified, with what the cache of verified tokens needs to judge them
/// again later.
pub(super) struct VerifiedAccess {
    pub(super) claims: AccessClaims,
    pub(super) nbf: Option<i64>,
    /// The key set that verified them.
    pub(super) generation: u64,
}

/// An absent `nbf` is `None` (by `default`); a present one must be an integer, not `null`.
fn present_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    i64::deserialize(deserializer).map(Some)
}

/// Logs why a token was refused (never the token) and returns the one undetailed error.
fn rejected(reason: &'static str) -> JwtError {
    tracing::debug!(reason, "jwt rejected");
    JwtError::Rejected
}

fn encode_error(message: &'static str) -> JwtError {
    JwtError::Encode(<serde_json::Error as serde::ser::Error>::custom(message).into())
}

/// The [`TokenStrategy`] of self-contained access tokens: signed [`AccessClaims`], checked
/// without a store round trip.
///
/// Revocation is the session check the caller does with the token's `sid`
/// ([`TokenStrategy::checks_session`] is `false`).
///
/// ```
/// use auth_core::{
///     AccessSubject, JwtAlgorithm, JwtCodec, JwtKeys, JwtStrategy, Roles, SessionId,
///     TokenError, TokenStrategy, UserId,
/// };
/// use time::{Duration, OffsetDateTime};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let keys = JwtKeys::hmac(JwtAlgorithm::HS256, b"an example secret of at least 32 bytes")?;
/// let codec = JwtCodec::new(keys, "https://accounts.example.com");
/// let strategy = JwtStrategy::new(codec, Duration::minutes(15));
///
/// let subject = AccessSubject {
///     user_id: UserId::new(),
///     roles: Roles::from_iter(["author"]),
///     is_superuser: false,
///     is_verified: true,
/// };
/// let now = OffsetDateTime::now_utc();
/// futures::executor::block_on(async {
///     let issued = strategy.issue(&subject, SessionId::random(), now).await?;
///     assert_eq!(issued.expires_in, 900);
///     let claims = strategy.authenticate(&issued.token, now).await?;
///     assert_eq!(claims.sub, subject.user_id);
///     assert!(claims.has_role("author"));
///     Ok::<_, TokenError>(())
/// })?;
/// # Ok(())
/// # }
/// ```
///
/// # Cache of verified tokens
///
/// Checking an RS256, ES256 or EdDSA signature costs tens of microseconds to milliseconds;
/// HS256 costs about a microsecond, still most of what an authenticated request spends
/// (decoding, the MAC, parsing the claims). A client presents the same access token for its
/// whole lifetime, so the strategy remembers up to [`DEFAULT_VERIFIED_TOKEN_CACHE`] tokens it
/// has verified (each compared in full, never by a prefix or a short hash), and the next
/// request with the same token skips the checks. An entry is used only while the token's `exp` and `nbf`
/// hold at the `now` of that request, and the cache is emptied whenever the key set is
/// swapped. It never answers whether the session is still live: that check runs after the
/// strategy, on every request. [`JwtStrategy::with_verified_cache`] sets another size, `0`
/// turns it off.
#[derive(Debug, Clone)]
pub struct JwtStrategy {
    codec: JwtCodec,
    lifetime: Duration,
    audience: String,
    cache: Option<Arc<VerifiedCache>>,
}

impl JwtStrategy {
    /// Access tokens signed by `codec`, valid for `lifetime` (whole seconds) from issue, with
    /// the audience [`ACCESS_AUDIENCE`]; with a cache of [`DEFAULT_VERIFIED_TOKEN_CACHE`]
    /// verified tokens.
    pub fn new(codec: JwtCodec, lifetime: Duration) -> Self {
        let capacity = DEFAULT_VERIFIED_TOKEN_CACHE;
        Self {
            codec,
            lifetime,
            audience: ACCESS_AUDIENCE.to_owned(),
            cache: VerifiedCache::new(capacity).map(Arc::new),
        }
    }

    /// Issues and accepts tokens of another audience instead of [`ACCESS_AUDIENCE`], for an app
    /// with several kinds of access token.
    #[must_use]
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        // Entries were verified for the old audience.
        self.cache = self
            .cache
            .as_ref()
            .and_then(|cache| VerifiedCache::new(cache.capacity()))
            .map(Arc::new);
        self
    }

    /// Remembers at most `capacity` verified tokens (`0`: none), whatever the algorithm.
    /// See [the cache](JwtStrategy#cache-of-verified-tokens).
    #[must_use]
    pub fn with_verified_cache(mut self, capacity: usize) -> Self {
        self.cache = VerifiedCache::new(capacity).map(Arc::new);
        self
    }

    /// How many verified tokens the strategy remembers at most (`0`: it has no cache).
    pub fn verified_cache_capacity(&self) -> usize {
        self.cache.as_ref().map_or(0, |cache| cache.capacity())
    }

    /// The codec, to sign and verify other kinds of token with the same keys.
    pub fn codec(&self) -> &JwtCodec {
        &self.codec
    }
}

#[async_trait]
impl TokenStrategy for JwtStrategy {
    async fn issue(
        &self,
        subject: &AccessSubject,
        session: SessionId,
        now: OffsetDateTime,
    ) -> Result<IssuedToken, TokenError> {
        let iat = now.unix_timestamp();
        let lifetime = self.lifetime.whole_seconds();
        let claims = AccessClaims {
            sub: subject.user_id,
            sid: session,
            exp: iat.saturating_add(lifetime),
            iat,
            jti: random_jti(),
            roles: subject.roles.clone(),
            is_superuser: subject.is_superuser,
            is_verified: subject.is_verified,
        };
        let token = self
            .codec
            .encode(&claims, &self.audience)
            .map_err(|err| TokenError::Backend(Box::new(err)))?;
        Ok(IssuedToken {
            token,
            expires_in: lifetime,
            stored_hash: None,
        })
    }

    fn authenticate<'a>(&'a self, token: &'a str, now: OffsetDateTime) -> Authentication<'a> {
        // Keys in memory, no I/O: answered at once, no future boxed.
        Authentication::ready(self.verify(token, now))
    }
}

impl JwtStrategy {
    fn verify(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, TokenError> {
        // An oversized token is refused by the codec before any work; it is not even hashed
        // for a cache lookup.
        let cache = self.cache.as_ref().filter(|_| token.len() <= MAX_TOKEN_LEN);
        let Some(cache) = cache else {
            return self
                .codec
                .decode_access(token, &self.audience, now)
                .map(|verified| verified.claims)
                .map_err(|_| TokenError::Invalid);
        };
        let leeway = self.codec.leeway_seconds();
        let timestamp = now.unix_timestamp();
        if let Some(claims) = cache.get(token, self.codec.generation(), timestamp, leeway) {
            return Ok(claims);
        }
        let verified = self
            .codec
            .decode_access(token, &self.audience, now)
            .map_err(|_| TokenError::Invalid)?;
        cache.insert(
            token,
            verified.generation,
            verified.claims.clone(),
            verified.nbf,
        );
        Ok(verified.claims)
    }
}

/// 128 bits from the CSPRNG, as 32 hex digits.
fn random_jti() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::Header;
    use jsonwebtoken::jwk::Jwk;
    use serde_json::{Value, json};
    use time::macros::datetime;

    use super::*;
    use crate::user::{Roles, UserId};

    type TestResult = Result<(), Box<dyn Error>>;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const ISSUER: &str = "https://accounts.test";
    const NOW: OffsetDateTime = datetime!(2025-06-01 12:00 UTC);

    const RSA_PRIVATE: &[u8] = include_bytes!("../../tests/keys/rsa2048-test-private.pem");
    const RSA_PUBLIC: &[u8] = include_bytes!("../../tests/keys/rsa2048-test-public.pem");
    const P256_PRIVATE: &[u8] = include_bytes!("../../tests/keys/p256-test-private.pem");
    const P256_PUBLIC: &[u8] = include_bytes!("../../tests/keys/p256-test-public.pem");
    const ED25519_PRIVATE: &[u8] = include_bytes!("../../tests/keys/ed25519-test-private.pem");
    const ED25519_PUBLIC: &[u8] = include_bytes!("../../tests/keys/ed25519-test-public.pem");
    const ED25519_OTHER_PUBLIC: &[u8] =
        include_bytes!("../../tests/keys/ed25519-test-other-public.pem");

    fn ts() -> i64 {
        NOW.unix_timestamp()
    }

    fn hs256() -> Result<JwtCodec, JwtError> {
        Ok(JwtCodec::new(
            JwtKeys::hmac(JwtAlgorithm::HS256, SECRET)?,
            ISSUER,
        ))
    }

    fn all_keys() -> Result<Vec<JwtKeys>, JwtError> {
        Ok(vec![
            JwtKeys::hmac(JwtAlgorithm::HS256, SECRET)?,
            JwtKeys::hmac(JwtAlgorithm::HS384, SECRET)?,
            JwtKeys::hmac(JwtAlgorithm::HS512, SECRET)?,
            JwtKeys::from_pem(JwtAlgorithm::RS256, RSA_PRIVATE, RSA_PUBLIC)?,
            JwtKeys::from_pem(JwtAlgorithm::ES256, P256_PRIVATE, P256_PUBLIC)?,
            JwtKeys::from_pem(JwtAlgorithm::EdDSA, ED25519_PRIVATE, ED25519_PUBLIC)?
                .with_kid("ed-1"),
        ])
    }

    /// Claims an HS256 codec for [`ISSUER`] accepts as an access token at [`NOW`].
    fn good_claims() -> Value {
        json!({
            "sub": "alice",
            "exp": ts() + 600,
            "iat": ts(),
            "aud": ACCESS_AUDIENCE,
            "iss": ISSUER,
        })
    }

    fn with(mut claims: Value, key: &str, value: Value) -> Value {
        claims[key] = value;
        claims
    }

    fn without(mut claims: Value, key: &str) -> Value {
        if let Some(object) = claims.as_object_mut() {
            object.remove(key);
        }
        claims
    }

    /// A correctly signed token with exactly this header and these claims: only what the test
    /// changes is wrong.
    fn sign(header: &Header, claims: &Value) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(header, claims, &EncodingKey::from_secret(SECRET))
    }

    fn hs256_token(claims: &Value) -> Result<String, jsonwebtoken::errors::Error> {
        sign(&Header::new(Algorithm::HS256), claims)
    }

    /// Signs a hand-written header, for headers jsonwebtoken's `Header` cannot express.
    fn sign_raw_header(header: &Value, claims: &Value) -> Result<String, Box<dyn Error>> {
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(header)?),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?)
        );
        let signature = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(SECRET),
            Algorithm::HS256,
        )?;
        Ok(format!("{message}.{signature}"))
    }

    fn decode(codec: &JwtCodec, token: &str) -> Result<Value, JwtError> {
        codec.decode::<Value>(token, ACCESS_AUDIENCE, NOW)
    }

    #[track_caller]
    fn assert_rejected<T: fmt::Debug>(result: Result<T, JwtError>) {
        assert!(matches!(result, Err(JwtError::Rejected)), "{result:?}");
    }

    fn subject() -> AccessSubject {
        AccessSubject {
            user_id: UserId::new(),
            roles: Roles::from_iter(["author", "reader"]),
            is_superuser: false,
            is_verified: true,
        }
    }

    #[tokio::test]
    async fn every_algorithm_round_trips_through_the_strategy() -> TestResult {
        for keys in all_keys()? {
            let algorithm = keys.algorithm();
            let kid = keys.kid().map(str::to_owned);
            let strategy = JwtStrategy::new(JwtCodec::new(keys, ISSUER), Duration::minutes(15));
            let subject = subject();
            let session = SessionId::random();

            let issued = strategy.issue(&subject, session, NOW).await?;
            assert_eq!(issued.expires_in, 900);
            assert!(issued.stored_hash.is_none());

            let header = jsonwebtoken::decode_header(&issued.token)?;
            assert_eq!(header.alg, algorithm.to_jsonwebtoken());
            assert_eq!(header.typ.as_deref(), Some("JWT"));
            assert_eq!(header.kid, kid);

            let claims = strategy.authenticate(&issued.token, NOW).await?;
            assert_eq!(claims.sub, subject.user_id, "{algorithm}");
            assert_eq!(claims.sid, session);
            assert_eq!(claims.iat, ts());
            assert_eq!(claims.exp, ts() + 900);
            assert_eq!(claims.roles, subject.roles);
            assert!(!claims.is_superuser);
            assert!(claims.is_verified);
            assert_eq!(claims.jti.len(), 32);
            assert!(claims.jti.bytes().all(|b| b.is_ascii_hexdigit()));

            let raw: Value = strategy
                .codec()
                .decode(&issued.token, ACCESS_AUDIENCE, NOW)?;
            assert_eq!(raw["aud"], ACCESS_AUDIENCE);
            assert_eq!(raw["iss"], ISSUER);

            let later = NOW + Duration::minutes(15);
            assert!(matches!(
                strategy.authenticate(&issued.token, later).await,
                Err(TokenError::Invalid)
            ));
        }
        Ok(())
    }

    #[tokio::test]
    async fn each_token_gets_its_own_jti() -> TestResult {
        let strategy = JwtStrategy::new(hs256()?, Duration::minutes(15));
        let subject = subject();
        let a = strategy.issue(&subject, SessionId::random(), NOW).await?;
        let b = strategy.issue(&subject, SessionId::random(), NOW).await?;
        let a = strategy.authenticate(&a.token, NOW).await?;
        let b = strategy.authenticate(&b.token, NOW).await?;
        assert_ne!(a.jti, b.jti);
        Ok(())
    }

    #[tokio::test]
    async fn verify_token_is_refused_as_access_token() -> TestResult {
        let access = JwtStrategy::new(hs256()?, Duration::minutes(15));
        let verify = access.clone().with_audience(VERIFY_AUDIENCE);
        let issued = verify.issue(&subject(), SessionId::random(), NOW).await?;

        assert!(verify.authenticate(&issued.token, NOW).await.is_ok());
        assert!(matches!(
            access.authenticate(&issued.token, NOW).await,
            Err(TokenError::Invalid)
        ));
        assert_rejected(
            access
                .codec()
                .decode::<Value>(&issued.token, RESET_AUDIENCE, NOW),
        );
        Ok(())
    }

    #[tokio::test]
    async fn garbage_is_invalid_not_an_error() -> TestResult {
        let strategy = JwtStrategy::new(hs256()?, Duration::minutes(15));
        for token in ["", "a", "a.b", "a.b.c", "a.b.c.d", "....", "ey.ey.ey"] {
            assert!(matches!(
                strategy.authenticate(token, NOW).await,
                Err(TokenError::Invalid)
            ));
        }
        Ok(())
    }

    #[test]
    fn hand_signed_good_claims_are_accepted() -> TestResult {
        // The baseline every rejection test below changes one thing of.
        let claims = decode(&hs256()?, &hs256_token(&good_claims())?)?;
        assert_eq!(claims["sub"], "alice");
        Ok(())
    }

    #[test]
    fn alg_none_is_refused() -> TestResult {
        let codec = hs256()?;
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&good_claims())?);
        for alg in ["none", "None", "NONE"] {
            let header =
                URL_SAFE_NO_PAD.encode(serde_json::to_vec(&json!({"alg": alg, "typ": "JWT"}))?);
            assert_rejected(decode(&codec, &format!("{header}.{payload}.")));
            assert_rejected(decode(&codec, &format!("{header}.{payload}")));
        }
        Ok(())
    }

    #[test]
    fn rsa_public_key_used_as_hmac_secret_is_refused() -> TestResult {
        // Algorithm confusion (RFC 8725 §2.1): the attacker knows the public key.
        let codec = JwtCodec::new(
            JwtKeys::from_pem(JwtAlgorithm::RS256, RSA_PRIVATE, RSA_PUBLIC)?,
            ISSUER,
        );
        let forged = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &good_claims(),
            &EncodingKey::from_secret(RSA_PUBLIC),
        )?;
        assert_rejected(decode(&codec, &forged));
        Ok(())
    }

    #[test]
    fn other_hmac_strength_is_refused() -> TestResult {
        let token = sign(&Header::new(Algorithm::HS384), &good_claims())?;
        assert_rejected(decode(&hs256()?, &token));
        Ok(())
    }

    #[test]
    fn wrong_audience_is_refused() -> TestResult {
        let codec = hs256()?;
        for aud in [json!(VERIFY_AUDIENCE), json!("accounts:access "), json!("")] {
            assert_rejected(decode(
                &codec,
                &hs256_token(&with(good_claims(), "aud", aud))?,
            ));
        }
        Ok(())
    }

    #[test]
    fn audience_must_be_a_string() -> TestResult {
        let codec = hs256()?;
        let claims = with(good_claims(), "aud", json!([ACCESS_AUDIENCE]));
        assert_rejected(decode(&codec, &hs256_token(&claims)?));
        let claims = with(good_claims(), "aud", json!([ACCESS_AUDIENCE, "other"]));
        assert_rejected(decode(&codec, &hs256_token(&claims)?));
        Ok(())
    }

    #[test]
    fn missing_audience_is_refused() -> TestResult {
        assert_rejected(decode(
            &hs256()?,
            &hs256_token(&without(good_claims(), "aud"))?,
        ));
        Ok(())
    }

    #[test]
    fn wrong_issuer_is_refused() -> TestResult {
        let codec = hs256()?;
        for iss in [json!("https://evil.test"), json!([ISSUER]), json!(null)] {
            assert_rejected(decode(
                &codec,
                &hs256_token(&with(good_claims(), "iss", iss))?,
            ));
        }
        assert_rejected(decode(
            &codec,
            &hs256_token(&without(good_claims(), "iss"))?,
        ));
        Ok(())
    }

    #[test]
    fn missing_exp_is_refused() -> TestResult {
        assert_rejected(decode(
            &hs256()?,
            &hs256_token(&without(good_claims(), "exp"))?,
        ));
        Ok(())
    }

    #[test]
    fn exp_as_string_is_refused() -> TestResult {
        let claims = with(good_claims(), "exp", json!((ts() + 600).to_string()));
        assert_rejected(decode(&hs256()?, &hs256_token(&claims)?));
        Ok(())
    }

    #[test]
    fn exp_as_float_is_refused() -> TestResult {
        let exp = (ts() + 600) as f64 + 0.5;
        let claims = with(good_claims(), "exp", json!(exp));
        assert_rejected(decode(&hs256()?, &hs256_token(&claims)?));
        Ok(())
    }

    #[test]
    fn exp_of_other_types_is_refused() -> TestResult {
        let codec = hs256()?;
        for exp in [
            json!(null),
            json!(true),
            json!([ts() + 600]),
            json!(u64::MAX),
        ] {
            assert_rejected(decode(
                &codec,
                &hs256_token(&with(good_claims(), "exp", exp))?,
            ));
        }
        Ok(())
    }

    #[test]
    fn expiry_is_judged_at_the_injected_now() -> TestResult {
        let codec = hs256()?;
        let token = hs256_token(&good_claims())?; // exp = NOW + 600
        assert!(
            codec
                .decode::<Value>(&token, ACCESS_AUDIENCE, NOW + Duration::seconds(599))
                .is_ok()
        );
        assert_rejected(codec.decode::<Value>(
            &token,
            ACCESS_AUDIENCE,
            NOW + Duration::seconds(600),
        ));
        assert_rejected(codec.decode::<Value>(&token, ACCESS_AUDIENCE, NOW + Duration::days(1)));
        Ok(())
    }

    #[test]
    fn leeway_tolerates_skew_both_ways() -> TestResult {
        let strict = hs256()?;
        let lenient = strict.clone().with_leeway(Duration::seconds(30));
        let expired = hs256_token(&with(good_claims(), "exp", json!(ts() - 10)))?;
        let early = hs256_token(&with(good_claims(), "nbf", json!(ts() + 10)))?;
        assert_rejected(decode(&strict, &expired));
        assert_rejected(decode(&strict, &early));
        assert!(decode(&lenient, &expired).is_ok());
        assert!(decode(&lenient, &early).is_ok());
        // The clone given a leeway does not change the original.
        assert_rejected(decode(&strict, &expired));
        Ok(())
    }

    #[test]
    fn nbf_in_the_future_is_refused() -> TestResult {
        let codec = hs256()?;
        let future = hs256_token(&with(good_claims(), "nbf", json!(ts() + 60)))?;
        assert_rejected(decode(&codec, &future));
        let past = hs256_token(&with(good_claims(), "nbf", json!(ts() - 60)))?;
        assert!(decode(&codec, &past).is_ok());
        let exactly_now = hs256_token(&with(good_claims(), "nbf", json!(ts())))?;
        assert!(decode(&codec, &exactly_now).is_ok());
        Ok(())
    }

    #[test]
    fn ill_typed_nbf_is_refused() -> TestResult {
        let codec = hs256()?;
        for nbf in [json!(null), json!((ts() - 60).to_string()), json!(1.5)] {
            assert_rejected(decode(
                &codec,
                &hs256_token(&with(good_claims(), "nbf", nbf))?,
            ));
        }
        Ok(())
    }

    #[test]
    fn key_bearing_headers_are_refused() -> TestResult {
        let codec = hs256()?;

        let mut header = Header::new(Algorithm::HS256);
        header.jku = Some("https://evil.test/jwks.json".into());
        assert_rejected(decode(&codec, &sign(&header, &good_claims())?));

        let mut header = Header::new(Algorithm::HS256);
        header.x5u = Some("https://evil.test/cert.pem".into());
        assert_rejected(decode(&codec, &sign(&header, &good_claims())?));

        let mut header = Header::new(Algorithm::HS256);
        header.x5c = Some(vec!["MIIB".into()]);
        assert_rejected(decode(&codec, &sign(&header, &good_claims())?));

        let jwk: Jwk = serde_json::from_value(json!({
            "kty": "oct",
            "k": URL_SAFE_NO_PAD.encode(SECRET),
        }))?;
        let mut header = Header::new(Algorithm::HS256);
        header.jwk = Some(jwk);
        let token = sign(&header, &good_claims())?;
        assert!(jsonwebtoken::decode_header(&token)?.jwk.is_some());
        assert_rejected(decode(&codec, &token));
        Ok(())
    }

    #[test]
    fn critical_header_is_refused() -> TestResult {
        let mut header = Header::new(Algorithm::HS256);
        header.crit = Some(vec!["exp".into()]);
        assert_rejected(decode(&hs256()?, &sign(&header, &good_claims())?));
        Ok(())
    }

    #[test]
    fn foreign_typ_is_refused_and_missing_typ_accepted() -> TestResult {
        let codec = hs256()?;
        let token = sign_raw_header(&json!({"alg": "HS256", "typ": "at+jwt"}), &good_claims())?;
        assert_rejected(decode(&codec, &token));
        let token = sign_raw_header(&json!({"alg": "HS256"}), &good_claims())?;
        assert!(decode(&codec, &token).is_ok());
        let token = sign_raw_header(&json!({"alg": "HS256", "typ": "jwt"}), &good_claims())?;
        assert!(decode(&codec, &token).is_ok());
        Ok(())
    }

    #[test]
    fn wrong_kid_is_refused() -> TestResult {
        let with_kid = JwtCodec::new(
            JwtKeys::hmac(JwtAlgorithm::HS256, SECRET)?.with_kid("k1"),
            ISSUER,
        );
        let without_kid = hs256()?;
        let header = |kid: Option<&str>| {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = kid.map(str::to_owned);
            header
        };
        let k1 = sign(&header(Some("k1")), &good_claims())?;
        let k2 = sign(&header(Some("k2")), &good_claims())?;
        let none = sign(&header(None), &good_claims())?;

        assert!(decode(&with_kid, &k1).is_ok());
        // Our tokens always carry the signing key's id: one without is not ours.
        assert_rejected(decode(&with_kid, &none));
        assert_rejected(decode(&with_kid, &k2));
        assert!(decode(&without_kid, &none).is_ok());
        assert_rejected(decode(&without_kid, &k1));
        Ok(())
    }

    #[test]
    fn tampered_payload_is_refused() -> TestResult {
        let token = hs256_token(&good_claims())?;
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&with(
            good_claims(),
            "is_superuser",
            json!(true),
        ))?);
        parts[1] = &forged;
        assert_rejected(decode(&hs256()?, &parts.join(".")));
        Ok(())
    }

    #[test]
    fn tampered_signature_is_refused() -> TestResult {
        for keys in all_keys()? {
            let codec = JwtCodec::new(keys, ISSUER);
            let token = codec.encode(&json!({"exp": ts() + 60}), ACCESS_AUDIENCE)?;
            let (message, signature) = token.rsplit_once('.').ok_or("no signature")?;
            let mut signature = URL_SAFE_NO_PAD.decode(signature)?;
            signature[0] ^= 1;
            let forged = format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature));
            assert_rejected(decode(&codec, &forged));
        }
        Ok(())
    }

    #[test]
    fn token_signed_with_another_secret_is_refused() -> TestResult {
        let other = JwtCodec::new(JwtKeys::hmac(JwtAlgorithm::HS256, &[7; 32])?, ISSUER);
        let token = other.encode(&json!({"exp": ts() + 60}), ACCESS_AUDIENCE)?;
        assert_rejected(decode(&hs256()?, &token));
        Ok(())
    }

    #[test]
    fn oversized_token_is_refused() -> TestResult {
        let claims = with(good_claims(), "padding", json!("x".repeat(MAX_TOKEN_LEN)));
        assert_rejected(decode(&hs256()?, &hs256_token(&claims)?));
        Ok(())
    }

    #[test]
    fn duplicate_registered_claims_are_refused() -> TestResult {
        let codec = hs256()?;
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = format!(
            r#"{{"exp":{},"exp":{},"aud":"{ACCESS_AUDIENCE}","iss":"{ISSUER}"}}"#,
            ts() - 10,
            ts() + 600
        );
        let message = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
        let signature = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(SECRET),
            Algorithm::HS256,
        )?;
        assert_rejected(decode(&codec, &format!("{message}.{signature}")));
        Ok(())
    }

    #[test]
    fn encode_adds_aud_and_iss_and_refuses_bad_claims() -> TestResult {
        let codec = hs256()?;
        let token = codec.encode(
            &json!({"exp": ts() + 60, "email": "a@b.test"}),
            RESET_AUDIENCE,
        )?;
        let claims: Value = codec.decode(&token, RESET_AUDIENCE, NOW)?;
        assert_eq!(claims["aud"], RESET_AUDIENCE);
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(claims["email"], "a@b.test");

        for bad in [
            json!("just a string"),
            json!({"sub": "no exp"}),
            json!({"exp": "soon"}),
            json!({"exp": ts() + 60, "nbf": null}),
            json!({"exp": ts() + 60, "aud": "mine"}),
            json!({"exp": ts() + 60, "iss": "me"}),
        ] {
            assert!(
                matches!(
                    codec.encode(&bad, ACCESS_AUDIENCE),
                    Err(JwtError::Encode(_))
                ),
                "{bad}"
            );
        }
        Ok(())
    }

    #[test]
    fn short_hmac_secret_is_weak() {
        assert!(matches!(
            JwtKeys::hmac(JwtAlgorithm::HS256, &[0x5a; 31]),
            Err(JwtError::WeakSecret)
        ));
        assert!(matches!(
            JwtKeys::hmac(JwtAlgorithm::HS512, b""),
            Err(JwtError::WeakSecret)
        ));
        assert!(JwtKeys::hmac(JwtAlgorithm::HS256, &[0x5a; 32]).is_ok());
    }

    #[test]
    fn keys_must_fit_the_algorithm() {
        assert!(matches!(
            JwtKeys::hmac(JwtAlgorithm::RS256, SECRET),
            Err(JwtError::WrongKeyType)
        ));
        assert!(matches!(
            JwtKeys::from_pem(JwtAlgorithm::HS256, RSA_PRIVATE, RSA_PUBLIC),
            Err(JwtError::WrongKeyType)
        ));
        assert!(matches!(
            JwtKeys::from_pem(JwtAlgorithm::RS256, P256_PRIVATE, P256_PUBLIC),
            Err(JwtError::Key(_))
        ));
        assert!(matches!(
            JwtKeys::from_pem(JwtAlgorithm::ES256, b"not pem", P256_PUBLIC),
            Err(JwtError::Key(_))
        ));
        assert!(matches!(
            JwtKeys::from_pem(JwtAlgorithm::EdDSA, ED25519_PRIVATE, ED25519_OTHER_PUBLIC),
            Err(JwtError::KeyMismatch)
        ));
    }

    #[test]
    fn key_files_are_read_and_a_missing_one_is_named() -> TestResult {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/keys");
        let keys = JwtKeys::from_pem_files(
            JwtAlgorithm::ES256,
            dir.join("p256-test-private.pem"),
            dir.join("p256-test-public.pem"),
        )?;
        assert_eq!(keys.algorithm(), JwtAlgorithm::ES256);

        let missing = dir.join("no-such-key.pem");
        let err = JwtKeys::from_pem_files(
            JwtAlgorithm::ES256,
            &missing,
            dir.join("p256-test-public.pem"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("no-such-key.pem"), "{err}");
        assert!(matches!(&err, JwtError::Io { path, .. } if *path == missing));
        assert!(err.source().is_some());
        Ok(())
    }

    #[test]
    fn debug_output_never_shows_the_secret() -> TestResult {
        let secret = b"super-secret-value-of-32-bytes!!";
        let keys = JwtKeys::hmac(JwtAlgorithm::HS256, secret)?.with_kid("k1");
        let codec = JwtCodec::new(keys.clone(), ISSUER);
        let strategy = JwtStrategy::new(codec.clone(), Duration::minutes(5));
        let bytes = format!("{:?}", &secret[..4])
            .trim_matches(['[', ']'])
            .to_owned();
        for text in [
            format!("{keys:?}"),
            format!("{codec:?}"),
            format!("{strategy:?}"),
        ] {
            assert!(!text.contains("super-secret"), "{text}");
            assert!(!text.contains(&bytes), "{text}");
            assert!(text.contains("HS256") && text.contains("k1"), "{text}");
        }
        Ok(())
    }

    #[test]
    fn algorithm_names_round_trip() -> TestResult {
        for alg in JwtAlgorithm::ALL {
            assert_eq!(alg.to_string().parse::<JwtAlgorithm>()?, alg);
            assert_eq!(alg.to_string().to_lowercase().parse::<JwtAlgorithm>()?, alg);
            assert_eq!(alg.is_hmac(), alg.to_string().starts_with("HS"));
        }
        for name in ["none", "RS384", "PS256", "", "HS256 "] {
            assert!(matches!(
                name.parse::<JwtAlgorithm>(),
                Err(JwtError::UnknownAlgorithm(_))
            ));
        }
        Ok(())
    }

    /// Claims the access path accepts at [`NOW`]: every field of [`AccessClaims`].
    fn good_access_claims() -> Value {
        json!({
            "sub": UserId::new(),
            "sid": SessionId::random(),
            "exp": ts() + 600,
            "iat": ts(),
            "jti": "0123456789abcdef0123456789abcdef",
            "roles": ["reader"],
            "aud": ACCESS_AUDIENCE,
            "iss": ISSUER,
        })
    }

    async fn access(token: &str) -> Result<AccessClaims, TokenError> {
        JwtStrategy::new(
            hs256().map_err(|_| TokenError::Invalid)?,
            Duration::minutes(15),
        )
        .authenticate(token, NOW)
        .await
    }

    #[tokio::test]
    async fn the_one_parse_access_path_refuses_what_decode_refuses() -> TestResult {
        assert!(access(&hs256_token(&good_access_claims())?).await.is_ok());
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let duplicated = |field: &str, first: &str, second: &str| {
            let good = good_access_claims();
            let mut object = good.as_object().cloned().unwrap_or_default();
            object.remove(field);
            let rest = serde_json::to_string(&object).unwrap_or_default();
            let payload = format!(r#"{{"{field}":{first},"{field}":{second},{}"#, &rest[1..]);
            let message = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
            jsonwebtoken::crypto::sign(
                message.as_bytes(),
                &EncodingKey::from_secret(SECRET),
                Algorithm::HS256,
            )
            .map(|signature| format!("{message}.{signature}"))
        };
        let mut bad = vec![
            hs256_token(&with(good_access_claims(), "aud", json!(VERIFY_AUDIENCE)))?,
            hs256_token(&with(good_access_claims(), "aud", json!([ACCESS_AUDIENCE])))?,
            hs256_token(&with(
                good_access_claims(),
                "iss",
                json!("https://evil.test"),
            ))?,
            hs256_token(&without(good_access_claims(), "iss"))?,
            hs256_token(&without(good_access_claims(), "exp"))?,
            hs256_token(&with(good_access_claims(), "exp", json!(ts())))?,
            hs256_token(&with(
                good_access_claims(),
                "exp",
                json!((ts() + 600).to_string()),
            ))?,
            hs256_token(&with(good_access_claims(), "exp", json!(1.5)))?,
            hs256_token(&with(good_access_claims(), "nbf", json!(ts() + 60)))?,
            hs256_token(&with(good_access_claims(), "nbf", json!(null)))?,
            duplicated("exp", &(ts() - 10).to_string(), &(ts() + 600).to_string())?,
            sign_raw_header(
                &json!({"alg": "HS256", "typ": "at+jwt"}),
                &good_access_claims(),
            )?,
            sign_raw_header(&json!({"alg": "HS256", "kid": "k1"}), &good_access_claims())?,
            sign(&Header::new(Algorithm::HS384), &good_access_claims())?,
        ];
        let token = hs256_token(&good_access_claims())?;
        let (message, _) = token.rsplit_once('.').ok_or("no signature")?;
        bad.push(format!("{message}."));
        bad.push(format!("{message}.{}", URL_SAFE_NO_PAD.encode([0u8; 32])));
        for token in &bad {
            assert!(
                matches!(access(token).await, Err(TokenError::Invalid)),
                "{token}"
            );
            assert_rejected(decode(&hs256()?, token));
        }
        // What only access claims require: typed ids and flags, a `jti`, no field twice.
        for token in [
            hs256_token(&with(good_access_claims(), "sub", json!("alice")))?,
            hs256_token(&with(good_access_claims(), "is_superuser", json!("yes")))?,
            hs256_token(&with(good_access_claims(), "roles", json!("reader")))?,
            hs256_token(&without(good_access_claims(), "jti"))?,
            hs256_token(&without(good_access_claims(), "sid"))?,
            duplicated(
                "sid",
                &json!(SessionId::random()).to_string(),
                &json!(SessionId::random()).to_string(),
            )?,
        ] {
            assert!(
                matches!(access(&token).await, Err(TokenError::Invalid)),
                "{token}"
            );
            assert!(decode(&hs256()?, &token).is_ok());
        }
        Ok(())
    }

    #[test]
    fn key_bearing_headers_are_refused_even_when_null() -> TestResult {
        let codec = hs256()?;
        for field in ["jku", "x5u", "jwk", "x5c", "crit"] {
            let header = json!({"alg": "HS256", "typ": "JWT", field: null});
            assert_rejected(decode(&codec, &sign_raw_header(&header, &good_claims())?));
        }
        Ok(())
    }

    #[tokio::test]
    async fn false_flags_and_no_roles_are_left_out_and_read_back() -> TestResult {
        let strategy = JwtStrategy::new(hs256()?, Duration::minutes(15));
        let subject = AccessSubject {
            user_id: UserId::new(),
            roles: Roles::new(),
            is_superuser: false,
            is_verified: false,
        };
        let issued = strategy.issue(&subject, SessionId::random(), NOW).await?;
        let raw: Value = strategy
            .codec()
            .decode(&issued.token, ACCESS_AUDIENCE, NOW)?;
        for field in ["roles", "is_superuser", "is_verified"] {
            assert!(raw.get(field).is_none(), "{field} in {raw}");
        }
        let claims = strategy.authenticate(&issued.token, NOW).await?;
        assert_eq!(claims.roles, Roles::new());
        assert!(!claims.is_superuser && !claims.is_verified);
        Ok(())
    }

    #[test]
    fn correctly_signed_tokens_of_two_or_four_parts_are_refused() -> TestResult {
        let codec = hs256()?;
        let token = hs256_token(&good_claims())?;
        let (message, _) = token.rsplit_once('.').ok_or("no signature")?;
        let (header, payload) = message.split_once('.').ok_or("no payload")?;
        let signed = |message: &str| {
            jsonwebtoken::crypto::sign(
                message.as_bytes(),
                &EncodingKey::from_secret(SECRET),
                Algorithm::HS256,
            )
            .map(|signature| format!("{message}.{signature}"))
        };
        let (left, right) = payload.split_at(payload.len() / 2);
        for message in [
            header.to_owned(),
            format!("{header}.{left}.{right}"),
            format!("{header}.{payload}."),
            format!("{header}..{payload}"),
        ] {
            assert_rejected(decode(&codec, &signed(&message)?));
        }
        Ok(())
    }
}
