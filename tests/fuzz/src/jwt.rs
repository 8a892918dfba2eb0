//! The `jwt` target: access tokens through [`JwtStrategy`] (with and without its cache of
//! verified tokens, over one HMAC key and over a set of an EdDSA and an HMAC key), the generic
//! [`JwtCodec::decode`], and the verify and reset tokens through the [`UserManager`].
//!
//! The fuzzer cannot forge a signature, so most modes sign what it wrote: a header and a
//! payload of its own, signed with a key the strategy trusts (or with one it does not). That
//! lets it reach the claim checks. What is accepted is then judged by an independent oracle:
//! `serde_json::Value` and `jsonwebtoken`'s own signature check, following the rules the
//! codec documents. The properties:
//!
//! - a token is accepted only when the oracle accepts it: right signature for the key its
//!   `kid` selects, that key's algorithm, no key-bearing or critical header, `typ` JWT if
//!   any, the expected audience (the token's kind) and issuer, `exp` after now, `nbf` (if
//!   any) not after now; and the claims handed back are the payload's;
//! - the cached and the uncached strategy, and the per-request and generic decode paths,
//!   give the same answer; a cached token is refused once expired;
//! - a token the strategy issued is refused after any change of a byte;
//! - a verify or reset token is accepted only for the user its `sub` names, bound to that
//!   user's address (and password): never for another user.
//!
//! Payload fields may use placeholders the target fills in before signing, so that seeds
//! can name the fixture's users and times: `$SUB_A`, `$SUB_B` (the two users' ids),
//! `$BIND_A`, `$BIND_B` (their verify bindings), `$RBIND_A`, `$RBIND_B` (their reset
//! bindings), `$NOW`, `$EXP` (a minute later), `$PAST` (a minute earlier).

use std::sync::{Arc, OnceLock};

use auth_core::{
    ACCESS_AUDIENCE, AccessClaims, AccessSubject, Argon2Hasher, AuthError, ClientInfo, Email,
    JwtAlgorithm, JwtCodec, JwtKeySet, JwtKeys, JwtStrategy, ManagerConfig, ManualClock,
    MemorySessionStore, MemoryUserStore, NewUser, NoProfile, Password, RESET_AUDIENCE, RateLimits,
    Registration, Roles, SessionId, TokenStrategy, User, UserId, UserManager, UserStore,
    VERIFY_AUDIENCE,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::input::Input;
use crate::runtime::block_on;

const SECRET: &[u8] = b"the fuzz target's HMAC secret, 32+ bytes";
const OTHER_SECRET: &[u8] = b"a secret nobody trusts, of 32+ bytes too";
const ISSUER: &str = "https://fuzz.test";
const ED_PRIVATE: &[u8] = include_bytes!("../../../auth-core/tests/keys/ed25519-test-private.pem");
const ED_PUBLIC: &[u8] = include_bytes!("../../../auth-core/tests/keys/ed25519-test-public.pem");
const NEW_PASSWORD: &str = "seven amber lanterns sway";

/// The fixed time every check runs at: 2025-06-01 12:00 UTC.
fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_748_779_200).expect("a valid timestamp")
}

/// A key as the oracle sees it.
struct OracleKey {
    kid: Option<&'static str>,
    algorithm: Algorithm,
    name: &'static str,
    decoding: DecodingKey,
}

struct Fixture {
    /// HS256, one key without `kid`, with the verified-token cache.
    cached: JwtStrategy,
    /// The same without the cache.
    uncached: JwtStrategy,
    codec: JwtCodec,
    hs_keys: Vec<OracleKey>,
    /// EdDSA (kid `ed`, signing) and HS256 (kid `hs`).
    multi: JwtStrategy,
    multi_keys: Vec<OracleKey>,
    ed_encoding: EncodingKey,
    /// A token `cached` issued, already in its cache.
    issued: String,
    subject: AccessSubject,
    manager: UserManager<NoProfile>,
    users: Arc<MemoryUserStore<NoProfile>>,
    alice: UserId,
    bob: UserId,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build)
}

fn hs_key() -> JwtKeys {
    JwtKeys::hmac(JwtAlgorithm::HS256, SECRET).expect("an HMAC key")
}

fn build() -> Fixture {
    let codec = JwtCodec::new(hs_key(), ISSUER);
    let lifetime = Duration::minutes(15);
    let cached = JwtStrategy::new(codec.clone(), lifetime);
    let uncached = JwtStrategy::new(codec.clone(), lifetime).with_verified_cache(0);
    let ed = JwtKeys::from_private_pem(JwtAlgorithm::EdDSA, ED_PRIVATE)
        .expect("the Ed25519 test key")
        .with_kid("ed");
    let set = JwtKeySet::new(ed)
        .with_key(hs_key().with_kid("hs"))
        .expect("a set of two keys");
    let multi = JwtStrategy::new(JwtCodec::with_key_set(set, ISSUER), lifetime);
    let hs_oracle = |kid| OracleKey {
        kid,
        algorithm: Algorithm::HS256,
        name: "HS256",
        decoding: DecodingKey::from_secret(SECRET),
    };
    let multi_keys = vec![
        OracleKey {
            kid: Some("ed"),
            algorithm: Algorithm::EdDSA,
            name: "EdDSA",
            decoding: DecodingKey::from_ed_pem(ED_PUBLIC).expect("the Ed25519 public key"),
        },
        hs_oracle(Some("hs")),
    ];
    let subject = AccessSubject {
        user_id: UserId::new(),
        roles: Roles::from_iter(["reader"]),
        is_superuser: false,
        is_verified: true,
    };
    let issued = block_on(cached.issue(&subject, SessionId::random(), now()))
        .expect("an issued token")
        .token;
    assert!(authenticate(&cached, &issued, now()).is_some());

    let users = Arc::new(MemoryUserStore::<NoProfile>::new());
    let manager = UserManager::builder(
        users.clone(),
        Arc::new(MemorySessionStore::new()),
        codec.clone(),
    )
    .with_hasher(Arc::new(Argon2Hasher::fast_insecure()))
    .with_clock(Arc::new(ManualClock::new(now())))
    .with_config(ManagerConfig {
        rate_limits: RateLimits::none(),
        ..ManagerConfig::default()
    })
    .build();
    let register = |email: &str| {
        let email = Email::parse(email).expect("an address");
        let new = NewUser::new(email, "a quiet river at dawn");
        match block_on(manager.register(new, &ClientInfo::new(None, None))) {
            Ok(Registration::Created(user)) => user.id,
            other => panic!("could not register the fixture's user: {other:?}"),
        }
    };
    let alice = register("alice@example.com");
    let bob = register("bob@example.com");
    Fixture {
        cached,
        uncached,
        codec,
        hs_keys: vec![hs_oracle(None)],
        multi,
        multi_keys,
        ed_encoding: EncodingKey::from_ed_pem(ED_PRIVATE).expect("the Ed25519 private key"),
        issued,
        subject,
        manager,
        users,
        alice,
        bob,
    }
}

/// The strategy's answer, which for a JWT is always known at once.
fn authenticate(strategy: &JwtStrategy, token: &str, at: OffsetDateTime) -> Option<AccessClaims> {
    strategy
        .authenticate(token, at)
        .into_ready()
        .expect("a JWT strategy answers at once")
        .ok()
}

pub(crate) fn run(data: &[u8]) {
    let fixture = fixture();
    let mut input = Input::new(data);
    match input.byte() % 6 {
        0 => {
            let token = String::from_utf8_lossy(input.rest()).into_owned();
            check_access(fixture, &token);
            check_action_kinds(fixture, &token);
        }
        1 => {
            let token = signed(&mut input, fixture, |message| {
                sign(message, &EncodingKey::from_secret(SECRET), Algorithm::HS256)
            });
            check_access(fixture, &token);
            check_action_kinds(fixture, &token);
        }
        2 => {
            // Signed with keys nobody trusts, or with a public key used as an HMAC secret.
            let key = match input.byte() % 2 {
                0 => OTHER_SECRET,
                _ => ED_PUBLIC,
            };
            let token = signed(&mut input, fixture, |message| {
                sign(message, &EncodingKey::from_secret(key), Algorithm::HS256)
            });
            for strategy in [&fixture.cached, &fixture.uncached, &fixture.multi] {
                assert!(
                    authenticate(strategy, &token, now()).is_none(),
                    "a token signed with an untrusted key was accepted: {token}"
                );
            }
        }
        3 => mutated(fixture, &mut input),
        4 => {
            let algorithm = match input.byte() % 2 {
                0 => Algorithm::EdDSA,
                _ => Algorithm::HS256,
            };
            let token = signed(&mut input, fixture, |message| match algorithm {
                Algorithm::EdDSA => sign(message, &fixture.ed_encoding, algorithm),
                _ => sign(message, &EncodingKey::from_secret(SECRET), algorithm),
            });
            check_multi(fixture, &token);
        }
        _ => {
            let token = signed(&mut input, fixture, |message| {
                sign(message, &EncodingKey::from_secret(SECRET), Algorithm::HS256)
            });
            check_manager(fixture, &token, input.byte());
        }
    }
}

fn sign(message: &[u8], key: &EncodingKey, algorithm: Algorithm) -> String {
    jsonwebtoken::crypto::sign(message, key, algorithm).expect("signing with a test key")
}

/// A token of the next two fields (header and payload, placeholders filled in), signed by
/// `signature`.
fn signed(input: &mut Input<'_>, fixture: &Fixture, signature: impl Fn(&[u8]) -> String) -> String {
    let header = input.field();
    let payload = fill(fixture, input.field());
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = signature(message.as_bytes());
    format!("{message}.{signature}")
}

fn email_binding(email: &Email) -> String {
    let digest = Sha256::digest(email.key().as_bytes());
    digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn reset_binding(user: &User<NoProfile>) -> String {
    format!(
        "{}.{}",
        user.password_hash.fingerprint(),
        email_binding(&user.email)
    )
}

fn user(fixture: &Fixture, id: UserId) -> User<NoProfile> {
    block_on(fixture.users.get(id))
        .expect("the memory store answers")
        .expect("the fixture's users stay")
}

/// The payload with its placeholders filled in.
fn fill(fixture: &Fixture, payload: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(payload);
    if !text.contains('$') {
        return payload.to_vec();
    }
    let (alice, bob) = (user(fixture, fixture.alice), user(fixture, fixture.bob));
    let at = now().unix_timestamp();
    text.replace("$SUB_A", &alice.id.to_string())
        .replace("$SUB_B", &bob.id.to_string())
        .replace("$RBIND_A", &reset_binding(&alice))
        .replace("$RBIND_B", &reset_binding(&bob))
        .replace("$BIND_A", &email_binding(&alice.email))
        .replace("$BIND_B", &email_binding(&bob.email))
        .replace("$NOW", &at.to_string())
        .replace("$EXP", &(at + 60).to_string())
        .replace("$PAST", &(at - 60).to_string())
        .into_bytes()
}

/// Base64url without padding, as the codec requires it: canonical (no stray bits).
fn decode_part(part: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(part).ok()
}

/// The oracle: the payload of `token` if the codec's documented rules accept it for
/// `audience` with one of `keys`.
fn oracle(token: &str, keys: &[OracleKey], audience: &str) -> Option<Map<String, Value>> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Value = serde_json::from_slice(&decode_part(header)?).ok()?;
    let header = header.as_object()?;
    let optional_text = |name: &str| match header.get(name) {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(text)) => Some(Some(text.as_str())),
        Some(_) => None,
    };
    let kid = optional_text("kid")?;
    let key = keys.iter().find(|key| key.kid == kid)?;
    if header.get("alg")?.as_str()? != key.name {
        return None;
    }
    if ["jku", "x5u", "jwk", "x5c", "crit"]
        .iter()
        .any(|name| header.contains_key(*name))
    {
        return None;
    }
    if optional_text("typ")?.is_some_and(|typ| !typ.eq_ignore_ascii_case("JWT")) {
        return None;
    }
    let message = &token.as_bytes()[..token.len() - signature.len() - 1];
    if !jsonwebtoken::crypto::verify(signature, message, &key.decoding, key.algorithm)
        .unwrap_or(false)
    {
        return None;
    }
    let payload: Value = serde_json::from_slice(&decode_part(payload)?).ok()?;
    let Value::Object(claims) = payload else {
        return None;
    };
    let at = now().unix_timestamp();
    let fits = claims.get("aud")?.as_str()? == audience
        && claims.get("iss")?.as_str()? == ISSUER
        && at < claims.get("exp")?.as_i64()?
        && match claims.get("nbf") {
            None => true,
            Some(nbf) => nbf.as_i64()? <= at,
        };
    fits.then_some(claims)
}

fn uuid_claim(claims: &Map<String, Value>, name: &str) -> Option<Uuid> {
    Uuid::parse_str(claims.get(name)?.as_str()?).ok()
}

/// The claims handed back are the payload's.
fn assert_same_claims(claims: &AccessClaims, payload: &Map<String, Value>, token: &str) {
    let flag = |name: &str| payload.get(name).and_then(Value::as_bool).unwrap_or(false);
    assert_eq!(
        Some(claims.sub.to_string()),
        uuid_claim(payload, "sub").map(|id| id.to_string()),
        "sub of {token}"
    );
    assert_eq!(
        Some(claims.sid.to_string()),
        uuid_claim(payload, "sid").map(|id| id.to_string()),
        "sid of {token}"
    );
    assert_eq!(Some(claims.exp), payload.get("exp").and_then(Value::as_i64));
    assert_eq!(Some(claims.iat), payload.get("iat").and_then(Value::as_i64));
    assert_eq!(
        Some(claims.jti.as_str()),
        payload.get("jti").and_then(Value::as_str)
    );
    assert_eq!(claims.is_superuser, flag("is_superuser"), "{token}");
    assert_eq!(claims.is_verified, flag("is_verified"), "{token}");
    let roles: Roles = payload
        .get("roles")
        .map(|roles| serde_json::from_value(roles.clone()).expect("roles the codec accepted"))
        .unwrap_or_default();
    assert_eq!(claims.roles, roles, "{token}");
}

/// The HS256 strategies and the generic decode agree, and accept only what the oracle does.
fn check_access(fixture: &Fixture, token: &str) {
    let cached = authenticate(&fixture.cached, token, now());
    let uncached = authenticate(&fixture.uncached, token, now());
    let generic: Option<AccessClaims> = fixture.codec.decode(token, ACCESS_AUDIENCE, now()).ok();
    assert_eq!(cached, uncached, "cache and no cache disagree on {token:?}");
    assert_eq!(
        uncached, generic,
        "the access path and the generic decode disagree on {token:?}"
    );
    // Asked again: now from the cache.
    assert_eq!(authenticate(&fixture.cached, token, now()), cached);
    if let Some(claims) = cached {
        let payload = oracle(token, &fixture.hs_keys, ACCESS_AUDIENCE)
            .unwrap_or_else(|| panic!("accepted a token the rules refuse: {token:?}"));
        assert_same_claims(&claims, &payload, token);
        // The cache never stretches a token's life.
        let expired = OffsetDateTime::from_unix_timestamp(claims.exp).expect("an exp in range");
        assert!(authenticate(&fixture.cached, token, expired).is_none());
        assert!(authenticate(&fixture.uncached, token, expired).is_none());
    }
}

/// A token is one kind only: the verify and reset audiences accept only their own.
fn check_action_kinds(fixture: &Fixture, token: &str) {
    for audience in [VERIFY_AUDIENCE, RESET_AUDIENCE] {
        let decoded: Option<Value> = fixture.codec.decode(token, audience, now()).ok();
        if decoded.is_some() {
            assert!(
                oracle(token, &fixture.hs_keys, audience).is_some(),
                "{audience} accepted a token the rules refuse: {token:?}"
            );
        }
    }
}

/// A token the strategy issued, with one change: refused, from the cache or not.
fn mutated(fixture: &Fixture, input: &mut Input<'_>) {
    let mut bytes = fixture.issued.clone().into_bytes();
    let at = usize::from(input.u16()) % (bytes.len() + 1);
    let value = input.byte();
    match input.byte() % 5 {
        0 => {
            if let Some(byte) = bytes.get_mut(at) {
                *byte = value;
            }
        }
        1 => bytes.insert(at, value),
        2 => {
            if at < bytes.len() {
                bytes.remove(at);
            }
        }
        3 => bytes.truncate(at),
        _ => bytes.extend_from_slice(input.rest()),
    }
    let token = String::from_utf8_lossy(&bytes);
    let accepted =
        [&fixture.cached, &fixture.uncached].map(|strategy| authenticate(strategy, &token, now()));
    if token == fixture.issued {
        for claims in accepted {
            let claims = claims.expect("the issued token is accepted");
            assert_eq!(claims.sub, fixture.subject.user_id);
            assert_eq!(claims.roles, fixture.subject.roles);
        }
    } else {
        assert_eq!(
            accepted,
            [None, None],
            "a changed token was accepted: {token:?}"
        );
    }
}

/// The set of two keys: each token is judged by the key its `kid` names, with that key's
/// algorithm only.
fn check_multi(fixture: &Fixture, token: &str) {
    let claims = authenticate(&fixture.multi, token, now());
    if let Some(claims) = &claims {
        let payload = oracle(token, &fixture.multi_keys, ACCESS_AUDIENCE)
            .unwrap_or_else(|| panic!("the key set accepted a token the rules refuse: {token:?}"));
        assert_same_claims(claims, &payload, token);
    }
    assert_eq!(authenticate(&fixture.multi, token, now()), claims);
}

/// Verify and reset tokens through the manager: accepted only for the user they name, with
/// that user's binding.
fn check_manager(fixture: &Fixture, token: &str, which: u8) {
    let client = ClientInfo::new(None, None);
    let (audience, accepted, bindings) = if which.is_multiple_of(2) {
        let result = block_on(fixture.manager.verify(token, &client));
        let accepted = matches!(result, Ok(_) | Err(AuthError::AlreadyVerified));
        let bindings =
            [fixture.alice, fixture.bob].map(|id| (id, email_binding(&user(fixture, id).email)));
        (VERIFY_AUDIENCE, accepted, bindings)
    } else {
        // The bindings before the reset, which changes the password (and so the binding).
        let bindings =
            [fixture.alice, fixture.bob].map(|id| (id, reset_binding(&user(fixture, id))));
        let password = Password::new(NEW_PASSWORD.to_owned());
        let result = block_on(fixture.manager.reset_password(token, &password, &client));
        (RESET_AUDIENCE, result.is_ok(), bindings)
    };
    if !accepted {
        return;
    }
    let payload = oracle(token, &fixture.hs_keys, audience)
        .unwrap_or_else(|| panic!("{audience}: accepted a token the rules refuse: {token:?}"));
    let sub = uuid_claim(&payload, "sub").map(|id| id.to_string());
    let bind = payload.get("bind").and_then(Value::as_str);
    assert!(
        bindings
            .iter()
            .any(|(id, binding)| sub.as_deref() == Some(&id.to_string()) && bind == Some(binding)),
        "{audience}: accepted a token for another user or binding: {token:?}"
    );
}
