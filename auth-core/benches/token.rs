//! Micro-benchmarks of access-token verification, the per-request half of a JWT strategy:
//! HS256 and EdDSA (with and without the cache of verified tokens) through `JwtStrategy` (one
//! parse of registered and access claims), a token of a verify-only key in a key set, the
//! generic `JwtCodec::decode` (two parses), the claims' JSON alone, and, for reference, the
//! `jsonwebtoken::decode` a hand-rolled extractor would call.
//!
//! `cargo bench -p auth-core --bench token`
// A benchmark fails loudly on a broken setup, like a test.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use auth_core::{
    ACCESS_AUDIENCE, AccessClaims, AccessSubject, JwtAlgorithm, JwtCodec, JwtKeySet, JwtKeys,
    JwtStrategy, Roles, SessionId, TokenStrategy, UserId,
};
use criterion::{Criterion, criterion_group, criterion_main};
use time::{Duration, OffsetDateTime};

const SECRET: &[u8] = b"a benchmark secret of 32 bytes!!";
const ISSUER: &str = "https://accounts.example.com";
const ED25519_PRIVATE: &[u8] = include_bytes!("../tests/keys/ed25519-test-private.pem");
const ED25519_PUBLIC: &[u8] = include_bytes!("../tests/keys/ed25519-test-public.pem");

/// A strategy and one of its access tokens, for a reader with a verified address.
fn strategy_and_token(keys: JwtKeys) -> (JwtStrategy, String, OffsetDateTime) {
    let strategy = JwtStrategy::new(JwtCodec::new(keys, ISSUER), Duration::minutes(15));
    let subject = AccessSubject {
        user_id: UserId::new(),
        roles: Roles::from_iter(["reader"]),
        is_superuser: false,
        is_verified: true,
    };
    let now = OffsetDateTime::now_utc();
    let issued = futures::executor::block_on(strategy.issue(&subject, SessionId::random(), now))
        .expect("issue a token");
    (strategy, issued.token, now)
}

fn verification(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify access token");
    let (hs256, hs_token, now) =
        strategy_and_token(JwtKeys::hmac(JwtAlgorithm::HS256, SECRET).unwrap());
    let eddsa_keys =
        JwtKeys::from_pem(JwtAlgorithm::EdDSA, ED25519_PRIVATE, ED25519_PUBLIC).unwrap();
    let (eddsa, ed_token, _) = strategy_and_token(eddsa_keys);

    group.bench_function("HS256, JwtStrategy (one parse)", |b| {
        b.iter(|| {
            hs256
                .authenticate(black_box(&hs_token), now)
                .into_ready()
                .unwrap()
                .unwrap()
        });
    });
    group.bench_function(
        "HS256, JwtCodec::decode::<AccessClaims> (two parses)",
        |b| {
            b.iter(|| {
                hs256
                    .codec()
                    .decode::<AccessClaims>(black_box(&hs_token), ACCESS_AUDIENCE, now)
                    .unwrap()
            });
        },
    );
    group.bench_function("HS256, refused (bad signature)", |b| {
        // One character in the middle of the signature changed: well-formed, wrong MAC.
        let at = hs_token.len() - 10;
        let swapped = if hs_token[at..].starts_with('A') {
            "B"
        } else {
            "A"
        };
        let forged = format!("{}{swapped}{}", &hs_token[..at], &hs_token[at + 1..]);
        b.iter(|| {
            assert!(
                hs256
                    .authenticate(black_box(&forged), now)
                    .into_ready()
                    .unwrap()
                    .is_err()
            )
        });
    });
    group.bench_function("EdDSA, JwtStrategy (repeated token, cached)", |b| {
        b.iter(|| {
            eddsa
                .authenticate(black_box(&ed_token), now)
                .into_ready()
                .unwrap()
                .unwrap()
        });
    });
    let uncached = eddsa.clone().with_verified_cache(0);
    group.bench_function("EdDSA, JwtStrategy (no cache)", |b| {
        b.iter(|| {
            uncached
                .authenticate(black_box(&ed_token), now)
                .into_ready()
                .unwrap()
                .unwrap()
        });
    });
    // A set of three keys, the token signed by a verify-only one: the header is parsed and
    // its `kid` selects the key (no byte-for-byte match with the issued header).
    let retired = JwtKeys::hmac(JwtAlgorithm::HS256, SECRET)
        .unwrap()
        .with_kid("old");
    let (old_strategy, old_token, _) = strategy_and_token(retired.clone());
    let set = JwtKeySet::new(
        JwtKeys::hmac(
            JwtAlgorithm::HS256,
            b"the newest benchmark secret, 32+ bytes",
        )
        .unwrap()
        .with_kid("new"),
    )
    .with_key(
        JwtKeys::hmac(JwtAlgorithm::HS256, b"a middle benchmark secret, 32+ bytes")
            .unwrap()
            .with_kid("mid"),
    )
    .unwrap()
    .with_key(retired)
    .unwrap();
    let rotated = JwtStrategy::new(JwtCodec::with_key_set(set, ISSUER), Duration::minutes(15));
    drop(old_strategy);
    group.bench_function("HS256, set of three, token of a verify-only key", |b| {
        b.iter(|| {
            rotated
                .authenticate(black_box(&old_token), now)
                .into_ready()
                .unwrap()
                .unwrap()
        });
    });

    // The reference: what a hand-rolled extractor calls, with its own clock and no header
    // checks beyond the algorithm.
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&[ACCESS_AUDIENCE]);
    validation.set_issuer(&[ISSUER]);
    let key = jsonwebtoken::DecodingKey::from_secret(SECRET);
    group.bench_function("HS256, jsonwebtoken::decode (reference)", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<serde_json::Value>(black_box(&hs_token), &key, &validation)
                .unwrap()
        });
    });
    group.finish();
}

fn claims(c: &mut Criterion) {
    let (_, token, _) = strategy_and_token(JwtKeys::hmac(JwtAlgorithm::HS256, SECRET).unwrap());
    let payload = token.split('.').nth(1).unwrap();
    let json = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap()
    };
    c.bench_function("AccessClaims from JSON", |b| {
        b.iter(|| serde_json::from_slice::<AccessClaims>(black_box(&json)).unwrap());
    });
}

criterion_group!(benches, verification, claims);
criterion_main!(benches);
