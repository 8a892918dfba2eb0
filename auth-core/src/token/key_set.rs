//! [`JwtKeySet`]: several keys by `kid`, one of which signs; [`SharedJwtKeySet`]: a set that
//! can be swapped while requests read it, without a lock.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use jsonwebtoken::Header;
use jsonwebtoken::jwk::JwkSet;

use super::jws::{self, VerifyingKey};
use super::jwt::{JwtAlgorithm, JwtError, JwtKeys};

/// Every set gets its own number, so a cache of verified tokens can tell that the set it
/// verified them with has been replaced.
static GENERATIONS: AtomicU64 = AtomicU64::new(1);

/// Several JWT keys told apart by their key id (`kid`): exactly one signs, the others only
/// verify, until the tokens they signed have expired.
///
/// # Which key verifies a token
///
/// The header's `kid` selects the key, and nothing else does: no key is tried in turn.
///
/// - A `kid` names one key of the set, compared byte for byte; a `kid` the set does not hold
///   is refused (it is never used as a file name, a path or a URL).
/// - A token **without** a `kid` is verified only with the set's one key that has no key id,
///   if there is one. A set whose keys all have ids refuses such tokens: ours always carry the
///   id of the key that signed them.
/// - The token's `alg` must be the selected key's algorithm, so a set that holds an HMAC
///   secret and an RSA key cannot be confused into checking an RS256 token with the secret, or
///   an HS256 token with the public key.
///
/// Key ids are unique in a set, and at most one key has none.
///
/// # Rotation
///
/// Add the new key as the signing key and keep the old one in the set: tokens signed before
/// still verify, new ones carry the new `kid`. Remove the old key once the longest-lived token
/// it signed has expired.
///
/// ```
/// use auth_core::{JwtAlgorithm, JwtCodec, JwtKeySet, JwtKeys};
/// use time::{Duration, OffsetDateTime};
///
/// let old = JwtKeys::hmac(JwtAlgorithm::HS256, b"the old secret, 32 bytes or more!!")?.with_kid("2025");
/// let new = JwtKeys::hmac(JwtAlgorithm::HS256, b"the new secret, 32 bytes or more!!")?.with_kid("2026");
/// let now = OffsetDateTime::now_utc();
/// let claims = serde_json::json!({ "exp": (now + Duration::minutes(5)).unix_timestamp() });
///
/// let before = JwtCodec::with_key_set(JwtKeySet::new(old.clone()), "my-app");
/// let old_token = before.encode(&claims, "accounts:access")?;
///
/// // The new key signs; the old one still verifies.
/// let after = JwtCodec::with_key_set(JwtKeySet::new(new).with_key(old)?, "my-app");
/// let new_token = after.encode(&claims, "accounts:access")?;
/// assert!(after.decode::<serde_json::Value>(&old_token, "accounts:access", now).is_ok());
/// assert!(after.decode::<serde_json::Value>(&new_token, "accounts:access", now).is_ok());
/// // A token of the new key is refused where only the old key is known.
/// assert!(before.decode::<serde_json::Value>(&new_token, "accounts:access", now).is_err());
/// # Ok::<(), auth_core::JwtError>(())
/// ```
#[derive(Clone)]
pub struct JwtKeySet {
    /// The signing key first.
    keys: Vec<JwtKeys>,
    /// The header of every token we issue.
    header: Header,
    /// That header, encoded as it appears in our tokens.
    issued_header: Option<String>,
    generation: u64,
}

impl JwtKeySet {
    /// A set of one key, which signs and verifies. What [`JwtCodec::new`](super::JwtCodec::new)
    /// builds from its keys.
    ///
    /// A verify-only key ([`JwtKeys::from_public_pem`]) makes a set that verifies but cannot
    /// sign: [`JwtCodec::encode`](super::JwtCodec::encode) then fails.
    pub fn new(signing: JwtKeys) -> Self {
        let mut set = Self {
            keys: vec![signing],
            header: Header::default(),
            issued_header: None,
            generation: 0,
        };
        set.prepare();
        set
    }

    /// Adds a verify-only key: tokens it signed are accepted, none is signed with it (even if
    /// it could sign).
    ///
    /// # Errors
    /// [`JwtError::DuplicateKid`] when the set already holds a key with this key id (or, for a
    /// key without one, a key without one).
    pub fn with_key(mut self, keys: JwtKeys) -> Result<Self, JwtError> {
        if self.keys.iter().any(|held| held.kid() == keys.kid()) {
            return Err(JwtError::DuplicateKid(keys.kid().map(str::to_owned)));
        }
        self.keys.push(keys);
        self.prepare();
        Ok(self)
    }

    /// A set of `keys`, in which the key with id `signing_kid` signs.
    ///
    /// # Errors
    /// [`JwtError::NoSigningKey`] when no key has that id, or that key cannot sign;
    /// [`JwtError::DuplicateKid`] as for [`JwtKeySet::with_key`].
    pub fn from_keys(
        keys: impl IntoIterator<Item = JwtKeys>,
        signing_kid: Option<&str>,
    ) -> Result<Self, JwtError> {
        let mut keys: Vec<JwtKeys> = keys.into_iter().collect();
        let position = keys
            .iter()
            .position(|key| key.kid() == signing_kid && key.can_sign())
            .ok_or_else(|| JwtError::NoSigningKey(signing_kid.map(str::to_owned)))?;
        let signing = keys.remove(position);
        keys.into_iter()
            .try_fold(Self::new(signing), |set, key| set.with_key(key))
    }

    /// The key that signs.
    pub fn signing(&self) -> &JwtKeys {
        // `keys` is never empty: every constructor puts the signing key first.
        &self.keys[0]
    }

    /// Every key, the signing key first.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &JwtKeys> {
        self.keys.iter()
    }

    /// The key a token header's `kid` selects (`None`: a header without `kid`), by the rules
    /// above.
    pub fn get(&self, kid: Option<&str>) -> Option<&JwtKeys> {
        self.keys.iter().find(|key| key.kid() == kid)
    }

    /// Whether a key of the set uses an asymmetric algorithm (RS256, ES256, EdDSA), so there
    /// is something to publish in a JWKS.
    pub fn has_public_keys(&self) -> bool {
        self.keys.iter().any(|key| !key.algorithm().is_hmac())
    }

    /// The public keys of the set as a JWK Set (RFC 7517 §5), for
    /// `/.well-known/jwks.json`: each asymmetric key with its `kid`, `alg` and `use: "sig"`.
    /// HMAC secrets are never listed; a set of HMAC keys gives an empty set.
    ///
    /// ```
    /// use auth_core::{JwtAlgorithm, JwtKeySet, JwtKeys};
    ///
    /// let pem = include_bytes!("../../tests/keys/p256-test-private.pem");
    /// let set = JwtKeySet::new(JwtKeys::from_private_pem(JwtAlgorithm::ES256, pem)?.with_kid("k1"));
    /// let jwks = serde_json::to_value(set.jwks())?;
    /// assert_eq!(jwks["keys"][0]["kid"], "k1");
    /// assert_eq!(jwks["keys"][0]["alg"], "ES256");
    /// assert!(jwks["keys"][0].get("d").is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.keys.iter().filter_map(JwtKeys::public_jwk).collect(),
        }
    }

    /// The header of the tokens this set signs.
    pub(super) fn header(&self) -> &Header {
        &self.header
    }

    /// This set's number: another set (even with the same keys) has another.
    pub(super) fn generation(&self) -> u64 {
        self.generation
    }

    /// What [`jws::verify`] needs: the signing key for our own header, and the selection by
    /// `kid` for any other.
    pub(super) fn expected<'s>(
        &'s self,
    ) -> jws::Expected<'s, impl FnOnce(Option<&str>) -> Option<VerifyingKey<'s>> + 's> {
        jws::Expected {
            issued_header: self.issued_header.as_deref(),
            signing: self.signing().verifying(),
            select: |kid: Option<&str>| self.get(kid).map(JwtKeys::verifying),
        }
    }

    fn prepare(&mut self) {
        let signing = self.signing();
        let mut header = Header::new(signing.algorithm().to_jsonwebtoken());
        header.kid = signing.kid().map(str::to_owned);
        self.issued_header = jws::issued_header(&header, signing.verifying());
        self.header = header;
        self.generation = GENERATIONS.fetch_add(1, Ordering::Relaxed);
    }

    /// The signing algorithm.
    pub(super) fn algorithm(&self) -> JwtAlgorithm {
        self.signing().algorithm()
    }
}

impl fmt::Debug for JwtKeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Algorithms and ids only: `JwtKeys` never prints key material.
        f.debug_struct("JwtKeySet")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// A [`JwtKeySet`] that can be replaced while it is in use: a codec built with
/// [`JwtCodec::with_shared_keys`](super::JwtCodec::with_shared_keys) reads the current set
/// at every token, without a lock (an atomic pointer, `arc-swap`), and a reload
/// ([`JwtKeyReloader`](super::JwtKeyReloader), or [`SharedJwtKeySet::store`]) swaps in the
/// next one at once for every clone.
///
/// ```
/// use auth_core::{JwtAlgorithm, JwtCodec, JwtKeySet, JwtKeys, SharedJwtKeySet};
///
/// let first = JwtKeys::hmac(JwtAlgorithm::HS256, b"the first secret, 32 bytes or more")?.with_kid("a");
/// let keys = SharedJwtKeySet::new(JwtKeySet::new(first.clone()));
/// let codec = JwtCodec::with_shared_keys(keys.clone(), "my-app");
///
/// let second = JwtKeys::hmac(JwtAlgorithm::HS256, b"the second secret, 32 bytes or more")?.with_kid("b");
/// keys.store(JwtKeySet::new(second).with_key(first)?);
/// assert_eq!(codec.key_set().signing().kid(), Some("b"));
/// # Ok::<(), auth_core::JwtError>(())
/// ```
#[derive(Clone)]
pub struct SharedJwtKeySet {
    current: Arc<ArcSwap<JwtKeySet>>,
}

impl SharedJwtKeySet {
    /// Starts with `set`.
    pub fn new(set: JwtKeySet) -> Self {
        Self {
            current: Arc::new(ArcSwap::from_pointee(set)),
        }
    }

    /// The current set.
    pub fn load(&self) -> Arc<JwtKeySet> {
        self.current.load_full()
    }

    /// Replaces the set for every codec that shares it. Tokens being verified finish with
    /// the set they started with; caches of verified tokens drop what the old set verified.
    pub fn store(&self, set: JwtKeySet) {
        self.current.store(Arc::new(set));
    }

    /// Runs `read` on the current set without taking a reference count: the request path.
    pub(super) fn with<R>(&self, read: impl FnOnce(&JwtKeySet) -> R) -> R {
        read(&self.current.load())
    }
}

impl fmt::Debug for SharedJwtKeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedJwtKeySet")
            .field(&*self.current.load())
            .finish()
    }
}
