//! Forged and malformed access tokens, presented to the manager as a client would.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::harness::Harness;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

/// Claims that would be accepted, for the user and session of a real login.
async fn valid_claims(h: &Harness) -> Value {
    h.register("alice@example.com").await;
    let login = h.login("alice@example.com").await;
    let claims = h
        .manager
        .authenticate_token(&login.tokens.access_token)
        .await
        .unwrap();
    json!({
        "sub": claims.sub, "sid": claims.sid, "exp": claims.exp, "iat": claims.iat,
        "jti": "x", "aud": "accounts:access", "iss": "tests", "roles": ["reader"],
        "is_superuser": false, "is_verified": false,
    })
}

fn signed(claims: &Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

#[tokio::test]
async fn a_well_formed_token_is_accepted_so_the_refusals_below_mean_something() {
    let h = Harness::new();
    let claims = valid_claims(&h).await;
    h.manager
        .authenticate_token(&signed(&claims))
        .await
        .unwrap();
}

#[tokio::test]
async fn alg_none_is_refused() {
    let h = Harness::new();
    let claims = valid_claims(&h).await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        assert!(h.manager.authenticate_token(&token).await.is_err());
    }
}

#[tokio::test]
async fn a_wrong_audience_or_issuer_is_refused() {
    let h = Harness::new();
    let claims = valid_claims(&h).await;
    for (field, value) in [
        ("aud", json!("accounts:verify")),
        ("aud", json!("someone-else")),
        ("aud", json!(["accounts:access", "x"])),
        ("iss", json!("another-issuer")),
    ] {
        let mut forged = claims.clone();
        forged[field] = value;
        assert!(
            h.manager
                .authenticate_token(&signed(&forged))
                .await
                .is_err(),
            "{field}"
        );
    }
}

#[tokio::test]
async fn a_missing_or_ill_typed_exp_is_refused() {
    let h = Harness::new();
    let claims = valid_claims(&h).await;
    let exp = claims["exp"].as_i64().unwrap();
    let mut missing = claims.clone();
    missing.as_object_mut().unwrap().remove("exp");
    assert!(
        h.manager
            .authenticate_token(&signed(&missing))
            .await
            .is_err()
    );
    for bad in [
        json!(exp.to_string()),
        json!(exp as f64 + 0.5),
        json!(null),
        json!(true),
    ] {
        let mut forged = claims.clone();
        forged["exp"] = bad.clone();
        assert!(
            h.manager
                .authenticate_token(&signed(&forged))
                .await
                .is_err(),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_refused() {
    let h = Harness::new();
    let claims = valid_claims(&h).await;
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"another secret of thirty-two bytes!"),
    )
    .unwrap();
    assert!(h.manager.authenticate_token(&forged).await.is_err());
}
