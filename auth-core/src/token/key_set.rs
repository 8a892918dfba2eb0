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

#[cfg(test)]
mod tests {
    use std::error::Error;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{Algorithm, EncodingKey};
    use serde_json::{Value, json};
    use time::macros::datetime;
    use time::{Duration, OffsetDateTime};

    use super::*;
    use crate::token::{ACCESS_AUDIENCE, JwtCodec, JwtStrategy, TokenError, TokenStrategy};
    use crate::{AccessSubject, Roles, SessionId, UserId};

    type TestResult = Result<(), Box<dyn Error>>;

    const ISSUER: &str = "https://accounts.test";
    const NOW: OffsetDateTime = datetime!(2025-06-01 12:00 UTC);
    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const RSA_PRIVATE: &[u8] = include_bytes!("../../tests/keys/rsa2048-test-private.pem");
    const RSA_PUBLIC: &[u8] = include_bytes!("../../tests/keys/rsa2048-test-public.pem");
    const P256_PRIVATE: &[u8] = include_bytes!("../../tests/keys/p256-test-private.pem");
    const ED_PRIVATE: &[u8] = include_bytes!("../../tests/keys/ed25519-test-private.pem");
    const ED_PUBLIC: &[u8] = include_bytes!("../../tests/keys/ed25519-test-public.pem");
    const ED2_PRIVATE: &[u8] = include_bytes!("../../tests/keys/ed25519-test-second-private.pem");

    fn ed(kid: &str) -> Result<JwtKeys, JwtError> {
        Ok(JwtKeys::from_private_pem(JwtAlgorithm::EdDSA, ED_PRIVATE)?.with_kid(kid))
    }

    fn ed2(kid: &str) -> Result<JwtKeys, JwtError> {
        Ok(JwtKeys::from_private_pem(JwtAlgorithm::EdDSA, ED2_PRIVATE)?.with_kid(kid))
    }

    fn claims() -> Value {
        json!({"exp": NOW.unix_timestamp() + 600})
    }

    fn decode(codec: &JwtCodec, token: &str) -> Result<Value, JwtError> {
        codec.decode(token, ACCESS_AUDIENCE, NOW)
    }

    fn kid_of(token: &str) -> Result<Option<String>, Box<dyn Error>> {
        Ok(jsonwebtoken::decode_header(token)?.kid)
    }

    /// A token with exactly this header and these claims (with our `aud` and `iss`), signed
    /// by `key` with `alg`.
    fn forged(header: &Value, key: &EncodingKey, alg: Algorithm) -> Result<String, Box<dyn Error>> {
        let mut claims = claims();
        claims["aud"] = ACCESS_AUDIENCE.into();
        claims["iss"] = ISSUER.into();
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(header)?),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?)
        );
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg)?;
        Ok(format!("{message}.{signature}"))
    }

    #[test]
    fn rotation_keeps_old_tokens_and_new_tokens_carry_the_new_kid() -> TestResult {
        let before = JwtCodec::with_key_set(JwtKeySet::new(ed("2025")?), ISSUER);
        let old_token = before.encode(&claims(), ACCESS_AUDIENCE)?;

        let after =
            JwtCodec::with_key_set(JwtKeySet::new(ed2("2026")?).with_key(ed("2025")?)?, ISSUER);
        let new_token = after.encode(&claims(), ACCESS_AUDIENCE)?;
        assert_eq!(kid_of(&old_token)?.as_deref(), Some("2025"));
        assert_eq!(kid_of(&new_token)?.as_deref(), Some("2026"));
        assert!(decode(&after, &old_token).is_ok());
        assert!(decode(&after, &new_token).is_ok());

        // Retired, then removed: its tokens are refused, even though they are unexpired.
        let removed = JwtCodec::with_key_set(JwtKeySet::new(ed2("2026")?), ISSUER);
        assert!(matches!(
            decode(&removed, &old_token),
            Err(JwtError::Rejected)
        ));
        assert!(decode(&removed, &new_token).is_ok());
        Ok(())
    }

    #[test]
    fn a_kid_selects_one_key_and_is_never_a_path() -> TestResult {
        let set = JwtKeySet::new(ed2("b")?).with_key(ed("a")?)?;
        let codec = JwtCodec::with_key_set(set, ISSUER);
        let ed1 = EncodingKey::from_ed_pem(ED_PRIVATE)?;
        // Positive control: key `a` signs a token naming `a`.
        let good = forged(
            &json!({"alg": "EdDSA", "typ": "JWT", "kid": "a"}),
            &ed1,
            Algorithm::EdDSA,
        )?;
        assert!(decode(&codec, &good).is_ok());
        // Key `a`'s signature under the name of `b`: each kid is checked with its own key only.
        let swapped = forged(&json!({"alg": "EdDSA", "kid": "b"}), &ed1, Algorithm::EdDSA)?;
        assert!(decode(&codec, &swapped).is_err());
        for kid in [
            json!("../a"),
            json!("./a"),
            json!("a/../a"),
            json!("/etc/passwd"),
            json!("A"),
            json!("a "),
            json!(""),
            json!("a\u{0000}"),
            json!(null),
            json!(1),
            json!(["a"]),
        ] {
            let token = forged(&json!({"alg": "EdDSA", "kid": kid}), &ed1, Algorithm::EdDSA)?;
            assert!(decode(&codec, &token).is_err(), "kid {kid}");
        }
        // No kid, and every key has one: refused.
        let token = forged(&json!({"alg": "EdDSA"}), &ed1, Algorithm::EdDSA)?;
        assert!(decode(&codec, &token).is_err());
        Ok(())
    }

    #[test]
    fn a_token_without_kid_is_checked_only_with_the_key_without_kid() -> TestResult {
        // A legacy key without an id, kept verifying after the move to key ids.
        let legacy = JwtKeys::from_private_pem(JwtAlgorithm::EdDSA, ED_PRIVATE)?;
        let old = JwtCodec::new(legacy.clone(), ISSUER).encode(&claims(), ACCESS_AUDIENCE)?;
        assert_eq!(kid_of(&old)?, None);
        let codec = JwtCodec::with_key_set(JwtKeySet::new(ed2("new")?).with_key(legacy)?, ISSUER);
        assert!(decode(&codec, &old).is_ok());
        // The new key's signature without a kid is refused: no kid means the legacy key.
        let ed2_key = EncodingKey::from_ed_pem(ED2_PRIVATE)?;
        let token = forged(&json!({"alg": "EdDSA"}), &ed2_key, Algorithm::EdDSA)?;
        assert!(decode(&codec, &token).is_err());
        // At most one key without an id.
        let twice = JwtKeySet::new(JwtKeys::from_private_pem(JwtAlgorithm::EdDSA, ED_PRIVATE)?)
            .with_key(JwtKeys::from_private_pem(JwtAlgorithm::EdDSA, ED2_PRIVATE)?);
        assert!(matches!(twice, Err(JwtError::DuplicateKid(None))));
        Ok(())
    }

    #[test]
    fn no_algorithm_confusion_between_keys_of_one_set() -> TestResult {
        let set = JwtKeySet::new(JwtKeys::hmac(JwtAlgorithm::HS256, SECRET)?.with_kid("mac"))
            .with_key(
                JwtKeys::from_pem(JwtAlgorithm::RS256, RSA_PRIVATE, RSA_PUBLIC)?.with_kid("rsa"),
            )?;
        let codec = JwtCodec::with_key_set(set, ISSUER);
        let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE)?;
        let mac = EncodingKey::from_secret(SECRET);
        // Positive controls.
        assert!(
            decode(
                &codec,
                &forged(
                    &json!({"alg": "RS256", "kid": "rsa"}),
                    &rsa,
                    Algorithm::RS256
                )?
            )
            .is_ok()
        );
        assert!(
            decode(
                &codec,
                &forged(
                    &json!({"alg": "HS256", "kid": "mac"}),
                    &mac,
                    Algorithm::HS256
                )?
            )
            .is_ok()
        );
        // The kid of the HMAC key with RS256, validly RSA-signed: refused.
        let token = forged(
            &json!({"alg": "RS256", "kid": "mac"}),
            &rsa,
            Algorithm::RS256,
        )?;
        assert!(decode(&codec, &token).is_err());
        // The kid of the RSA key with HS256, the MAC keyed with the secret or with the public
        // key's PEM (the classic confusion): refused.
        for key in [mac, EncodingKey::from_secret(RSA_PUBLIC)] {
            let token = forged(
                &json!({"alg": "HS256", "kid": "rsa"}),
                &key,
                Algorithm::HS256,
            )?;
            assert!(decode(&codec, &token).is_err());
        }
        Ok(())
    }

    #[test]
    fn the_jwks_lists_public_keys_only_and_never_a_secret() -> TestResult {
        let set = JwtKeySet::new(ed("ed")?)
            .with_key(JwtKeys::from_private_pem(JwtAlgorithm::RS256, RSA_PRIVATE)?.with_kid("rsa"))?
            .with_key(JwtKeys::from_private_pem(JwtAlgorithm::ES256, P256_PRIVATE)?.with_kid("ec"))?
            .with_key(JwtKeys::from_public_pem(JwtAlgorithm::EdDSA, ED_PUBLIC)?.with_kid("old"))?
            .with_key(JwtKeys::hmac(JwtAlgorithm::HS256, SECRET)?.with_kid("mac"))?;
        let jwks = serde_json::to_value(set.jwks())?;
        let keys = jwks["keys"].as_array().ok_or("no keys")?;
        let kids: Vec<_> = keys.iter().map(|key| key["kid"].clone()).collect();
        assert_eq!(kids, [json!("ed"), json!("rsa"), json!("ec"), json!("old")]);
        for key in keys {
            assert_eq!(key["use"], "sig", "{key}");
            for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
                assert!(key.get(private).is_none(), "{private} in {key}");
            }
        }
        assert_eq!(keys[0]["alg"], "EdDSA");
        assert_eq!(keys[0]["kty"], "OKP");
        assert_eq!(keys[1]["alg"], "RS256");
        assert_eq!(keys[1]["kty"], "RSA");
        assert_eq!(keys[2]["alg"], "ES256");
        assert_eq!(keys[2]["crv"], "P-256");
        // The public key read from its PEM and the one derived from the private key agree.
        assert_eq!(keys[0]["x"], keys[3]["x"]);
        let text = jwks.to_string();
        assert!(!text.contains(&URL_SAFE_NO_PAD.encode(SECRET)), "{text}");

        let hmac = JwtKeySet::new(JwtKeys::hmac(JwtAlgorithm::HS512, SECRET)?);
        assert!(hmac.jwks().keys.is_empty());
        assert!(!hmac.has_public_keys());
        Ok(())
    }

    #[test]
    fn a_set_needs_a_key_that_can_sign_and_unique_kids() -> TestResult {
        let public = JwtKeys::from_public_pem(JwtAlgorithm::EdDSA, ED_PUBLIC)?.with_kid("pub");
        assert!(matches!(
            JwtKeySet::from_keys([public.clone(), ed("a")?], Some("pub")),
            Err(JwtError::NoSigningKey(Some(kid))) if kid == "pub"
        ));
        assert!(matches!(
            JwtKeySet::from_keys([ed("a")?], Some("z")),
            Err(JwtError::NoSigningKey(_))
        ));
        assert!(matches!(
            JwtKeySet::from_keys([ed("a")?, ed2("a")?], Some("a")),
            Err(JwtError::DuplicateKid(Some(_)))
        ));
        let set = JwtKeySet::from_keys([public.clone(), ed("a")?], Some("a"))?;
        assert_eq!(set.signing().kid(), Some("a"));
        assert_eq!(set.keys().len(), 2);
        // A codec over a verify-only key verifies, and refuses to sign.
        let codec = JwtCodec::with_key_set(JwtKeySet::new(public), ISSUER);
        assert!(matches!(
            codec.encode(&claims(), ACCESS_AUDIENCE),
            Err(JwtError::NoSigningKey(_))
        ));
        assert!(JwtKeys::from_public_pem(JwtAlgorithm::HS256, ED_PUBLIC).is_err());
        assert!(JwtKeys::from_public_pem(JwtAlgorithm::RS256, ED_PUBLIC).is_err());
        Ok(())
    }

    fn subject() -> AccessSubject {
        AccessSubject {
            user_id: UserId::new(),
            roles: Roles::from_iter(["reader"]),
            is_superuser: false,
            is_verified: true,
        }
    }

    #[tokio::test]
    async fn the_cache_is_on_for_every_algorithm_and_honours_exp_at_each_now() -> TestResult {
        let hmac = JwtStrategy::new(
            JwtCodec::new(JwtKeys::hmac(JwtAlgorithm::HS256, SECRET)?, ISSUER),
            Duration::minutes(15),
        );
        assert!(hmac.verified_cache_capacity() > 0);
        let strategy = JwtStrategy::new(JwtCodec::new(ed("a")?, ISSUER), Duration::minutes(15));
        assert!(strategy.verified_cache_capacity() > 0);
        let issued = strategy.issue(&subject(), SessionId::random(), NOW).await?;
        let first = strategy.authenticate(&issued.token, NOW).await?;
        let again = strategy
            .authenticate(&issued.token, NOW + Duration::minutes(14))
            .await?;
        assert_eq!(first.jti, again.jti);
        // Cached or not, an expired token is refused at the `now` of the request...
        assert!(matches!(
            strategy
                .authenticate(&issued.token, NOW + Duration::minutes(15))
                .await,
            Err(TokenError::Invalid)
        ));
        // ...and so is a token one byte off the cached one.
        let mut tampered = issued.token.clone();
        let last = if tampered.ends_with('A') { "B" } else { "A" };
        tampered.pop();
        tampered.push_str(last);
        assert!(strategy.authenticate(&tampered, NOW).await.is_err());
        Ok(())
    }

    #[tokio::test]
    async fn swapping_the_set_drops_cached_tokens_of_a_removed_key() -> TestResult {
        let shared = SharedJwtKeySet::new(JwtKeySet::new(ed("old")?));
        let strategy = JwtStrategy::new(
            JwtCodec::with_shared_keys(shared.clone(), ISSUER),
            Duration::minutes(15),
        );
        let issued = strategy.issue(&subject(), SessionId::random(), NOW).await?;
        strategy.authenticate(&issued.token, NOW).await?;
        strategy.authenticate(&issued.token, NOW).await?;

        // Rotation: the old key verifies on, new tokens carry the new kid.
        shared.store(JwtKeySet::new(ed2("new")?).with_key(ed("old")?)?);
        strategy.authenticate(&issued.token, NOW).await?;
        let fresh = strategy.issue(&subject(), SessionId::random(), NOW).await?;
        assert_eq!(kid_of(&fresh.token)?.as_deref(), Some("new"));
        strategy.authenticate(&fresh.token, NOW).await?;

        // Removal: the cached token of the old key is refused at once.
        shared.store(JwtKeySet::new(ed2("new")?));
        assert!(matches!(
            strategy.authenticate(&issued.token, NOW).await,
            Err(TokenError::Invalid)
        ));
        strategy.authenticate(&fresh.token, NOW).await?;
        Ok(())
    }
}
