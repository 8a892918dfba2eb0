//! `GET /.well-known/jwks.json`: the public keys of the key set, never a secret; none at all
//! for HMAC deployments.

use auth_core::{JwtAlgorithm, JwtCodec, JwtKeySet, JwtKeys, SharedJwtKeySet};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::errors::split_jwt;
use crate::harness::*;

const RSA_PRIVATE: &[u8] = include_bytes!("../../../auth-core/tests/keys/rsa2048-test-private.pem");
const ED_PRIVATE: &[u8] = include_bytes!("../../../auth-core/tests/keys/ed25519-test-private.pem");
const ED2_PRIVATE: &[u8] =
    include_bytes!("../../../auth-core/tests/keys/ed25519-test-second-private.pem");

const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_jwks_serves_public_keys_that_verify_our_tokens() {
    let set = JwtKeySet::new(
        JwtKeys::from_private_pem(JwtAlgorithm::EdDSA, ED_PRIVATE)
            .unwrap()
            .with_kid("ed-2026"),
    )
    .with_key(
        JwtKeys::from_private_pem(JwtAlgorithm::RS256, RSA_PRIVATE)
            .unwrap()
            .with_kid("rsa-2025"),
    )
    .unwrap();
    let app = app_signing(JwtCodec::with_key_set(set, JWT_ISSUER));
    let res = app.send(get("/.well-known/jwks.json")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(
        res.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    let jwks = res.json();
    assert_eq!(kids(&jwks), ["ed-2026", "rsa-2025"]);
    for key in jwks["keys"].as_array().unwrap() {
        assert_eq!(key["use"], "sig", "{key}");
        for member in PRIVATE_MEMBERS {
            assert!(key.get(member).is_none(), "{member} in {key}");
        }
    }

    // A token of ours names a key of the document, and that key verifies it.
    let (_, login) = app.user("alice@example.com").await;
    let header = split_jwt(&login.access).header;
    assert_eq!(header["kid"], "ed-2026");
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwks["keys"][0].clone()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["accounts:access"]);
    validation.set_issuer(&[JWT_ISSUER]);
    jsonwebtoken::decode::<Value>(&login.access, &key, &validation).unwrap();

    let res = app
        .send(post("/.well-known/jwks.json").json(json!({})))
        .await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn an_hmac_deployment_publishes_nothing() {
    let app = app_signing(codec());
    let res = app.send(get("/.well-known/jwks.json")).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text());
    assert!(!res.text().contains("kty"));
    assert!(app.manager().codec().jwks().keys.is_empty());

    // Not even one HMAC key in a set that also holds a public key.
    let set = JwtKeySet::new(
        JwtKeys::from_private_pem(JwtAlgorithm::EdDSA, ED_PRIVATE)
            .unwrap()
            .with_kid("ed"),
    )
    .with_key(
        JwtKeys::hmac(JwtAlgorithm::HS256, JWT_SECRET)
            .unwrap()
            .with_kid("mac"),
    )
    .unwrap();
    let app = app_signing(JwtCodec::with_key_set(set, JWT_ISSUER));
    let jwks = app.send(get("/.well-known/jwks.json")).await.json();
    assert_eq!(kids(&jwks), ["ed"]);
    assert!(!jwks.to_string().contains("\"oct\""));
}

#[tokio::test]
async fn the_jwks_follows_a_reload() {
    let first = JwtKeys::from_private_pem(JwtAlgorithm::EdDSA, ED_PRIVATE)
        .unwrap()
        .with_kid("a");
    let keys = SharedJwtKeySet::new(JwtKeySet::new(first.clone()));
    let app = app_signing(JwtCodec::with_shared_keys(keys.clone(), JWT_ISSUER));
    assert_eq!(
        kids(&app.send(get("/.well-known/jwks.json")).await.json()),
        ["a"]
    );
    let (_, before) = app.user("alice@example.com").await;

    let second = JwtKeys::from_private_pem(JwtAlgorithm::EdDSA, ED2_PRIVATE)
        .unwrap()
        .with_kid("b");
    keys.store(JwtKeySet::new(second.clone()).with_key(first).unwrap());
    assert_eq!(
        kids(&app.send(get("/.well-known/jwks.json")).await.json()),
        ["b", "a"]
    );
    assert_eq!(app.me(&before.access).await.status, StatusCode::OK);

    keys.store(JwtKeySet::new(second));
    assert_eq!(
        kids(&app.send(get("/.well-known/jwks.json")).await.json()),
        ["b"]
    );
    app.me(&before.access).await.assert_unauthorized();
}
