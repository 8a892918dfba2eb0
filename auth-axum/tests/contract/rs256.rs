//! An RS256 deployment served over a real socket: its own tokens work, and the classic
//! algorithm confusion (the public key used as an HMAC secret) does not.

use std::net::SocketAddr;

use auth_core::{JwtAlgorithm, JwtCodec, JwtKeys};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::errors::{b64, hmac_signed, raw_hs256, split_jwt};
use crate::harness::*;

const PRIVATE_PEM: &[u8] = include_bytes!("../../../auth-core/tests/keys/rsa2048-test-private.pem");
const PUBLIC_PEM: &[u8] = include_bytes!("../../../auth-core/tests/keys/rsa2048-test-public.pem");

/// The reference routers over an RS256 codec, listening on 127.0.0.1.
async fn serve_rs256() -> String {
    let keys = JwtKeys::from_pem(JwtAlgorithm::RS256, PRIVATE_PEM, PUBLIC_PEM).expect("RSA keys");
    let app = app_signing(JwtCodec::new(keys, JWT_ISSUER));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    format!("http://{addr}")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn me(client: &reqwest::Client, base: &str, token: &str) -> (StatusCode, Value) {
    let res = client
        .get(format!("{base}/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_tokens_work_and_the_public_key_as_an_hmac_secret_does_not() {
    let base = serve_rs256().await;
    let client = client();
    let res = client
        .post(format!("{base}/auth/register"))
        .json(&json!({"email": "alice@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"].clone();
    let res = client
        .post(format!("{base}/auth/jwt/login"))
        .form(&[("username", "alice@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let access = res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let real = split_jwt(&access);
    assert_eq!(real.header["alg"], "RS256", "{}", real.header);
    let claims = real.claims.clone();

    // Positive controls: the token as issued, and the same claims signed here with the
    // private key.
    let (status, body) = me(&client, &base, &access).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], id);
    let resigned = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &EncodingKey::from_rsa_pem(PRIVATE_PEM).unwrap(),
    )
    .unwrap();
    let (status, body) = me(&client, &base, &resigned).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let payload = b64(&claims);
    let trimmed = PUBLIC_PEM.trim_ascii_end();
    let mut forgeries: Vec<(&str, String)> = vec![
        // Classic confusion: HS256, the public key PEM as the HMAC secret.
        (
            "HS256 keyed with the public PEM",
            hmac_signed(&Header::new(Algorithm::HS256), &claims, PUBLIC_PEM),
        ),
        (
            "HS256 keyed with the public PEM, no final newline",
            hmac_signed(&Header::new(Algorithm::HS256), &claims, trimmed),
        ),
        (
            "HS512 keyed with the public PEM",
            hmac_signed(&Header::new(Algorithm::HS512), &claims, PUBLIC_PEM),
        ),
        // The header says RS256 (the server's own header, byte for byte, and a fresh one)
        // but the signature is an HMAC keyed with the public key.
        (
            "the issued RS256 header, HMAC signature",
            raw_hs256(&real.raw_header, &real.raw_payload, PUBLIC_PEM),
        ),
        (
            "a fresh RS256 header, HMAC signature",
            raw_hs256(
                &b64(&json!({"alg": "RS256", "typ": "JWT"})),
                &payload,
                PUBLIC_PEM,
            ),
        ),
        (
            "alg none",
            format!("{}.{payload}.", b64(&json!({"alg": "none", "typ": "JWT"}))),
        ),
    ];
    // The RS256 signature of the real token under an HS256 header.
    forgeries.push((
        "HS256 header, the real RS256 signature",
        format!(
            "{}.{}.{}",
            b64(&json!({"alg": "HS256", "typ": "JWT"})),
            real.raw_payload,
            real.signature
        ),
    ));
    for (what, token) in &forgeries {
        let (status, body) = me(&client, &base, token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_eq!(body, json!({"detail": "Unauthorized"}), "{what}");
    }
    // The real token still works afterwards.
    let (status, body) = me(&client, &base, &access).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
