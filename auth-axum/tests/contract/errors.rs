//! The conventions of `docs/HTTP_CONTRACT.md` §1: error shapes, limits, content types and
//! headers; and bad input of every kind never answering `500`.

use auth_core::{JwtAlgorithm, JwtCodec, JwtKeys};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::harness::*;

/// Every `POST` route of the contract that reads a body or a credential.
const POST_ROUTES: &[&str] = &[
    "/auth/register",
    "/auth/request-verify-token",
    "/auth/verify",
    "/auth/forgot-password",
    "/auth/reset-password",
    "/auth/jwt/login",
    "/auth/jwt/refresh",
    "/auth/jwt/logout",
    "/auth/cookie/login",
    "/auth/cookie/refresh",
    "/auth/cookie/logout",
];

#[tokio::test]
async fn validation_errors_have_fastapis_shape() {
    let app = App::new();
    let res = app
        .send(post("/auth/register").json(json!({"email": "x", "password": PASSWORD})))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let detail = res.detail();
    let error = &detail.as_array().unwrap()[0];
    let mut keys: Vec<&str> = error
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["input", "loc", "msg", "type"]);
    assert_eq!(error["loc"], json!(["body", "email"]));
    assert_eq!(error["input"], "x");
}

#[tokio::test]
async fn malformed_json_is_422_never_500() {
    let app = App::new();
    for body in [
        &b"{"[..],
        b"{\"email\": }",
        b"not json at all",
        b"{\"email\": \"a@example.com\", \"password\": \"x\"",
        b"\xff\xfe\xfd",
        b"{\"email\": \"\xff@example.com\", \"password\": \"a quiet river\"}",
        b"\x00",
    ] {
        let res = app
            .send(post("/auth/register").body("application/json", body.to_vec()))
            .await;
        assert!(
            res.status == StatusCode::BAD_REQUEST || res.status == StatusCode::UNPROCESSABLE_ENTITY,
            "{:?}: {} {}",
            String::from_utf8_lossy(body),
            res.status,
            res.text()
        );
        res.assert_client_error();
    }
}

#[tokio::test]
async fn non_object_bodies_are_422() {
    let app = App::new();
    let (_, login) = app.user("alice@example.com").await;
    for body in [
        json!(null),
        json!([]),
        json!("text"),
        json!(42),
        json!(true),
        json!([{"email": "a@example.com"}]),
    ] {
        for route in POST_ROUTES {
            let res = app.send(post(route).json(body.clone())).await;
            if route.ends_with("logout") || *route == "/auth/cookie/refresh" {
                // These read credentials, not the body.
                res.assert_unauthorized();
            } else {
                assert_eq!(
                    res.status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{route} {body}: {}",
                    res.text()
                );
                res.assert_client_error();
            }
        }
        let res = app
            .send(patch("/users/me").json(body.clone()).bearer(&login.access))
            .await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            res.text()
        );
    }
}

#[tokio::test]
async fn empty_bodies_on_every_post_route_are_client_errors() {
    let app = App::new();
    for route in POST_ROUTES {
        for content_type in ["application/json", "", "application/x-www-form-urlencoded"] {
            let res = app.send(post(route).body(content_type, Vec::new())).await;
            assert!(
                res.status.is_client_error(),
                "{route} ({content_type:?}): {} {}",
                res.status,
                res.text()
            );
            res.assert_client_error();
        }
    }
    let (_, login) = app.user("alice@example.com").await;
    let root = app.admin().await;
    let me_id = app.me(&login.access).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .send(
            patch("/users/me")
                .bearer(&login.access)
                .body("application/json", Vec::new()),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    let res = app
        .send(
            patch(&format!("/users/{me_id}"))
                .bearer(&root.access)
                .body("application/json", Vec::new()),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
}

#[tokio::test]
async fn wrong_json_types_are_422() {
    let app = App::new();
    let bodies: Vec<(&str, Value)> = vec![
        ("/auth/register", json!({"email": 1, "password": PASSWORD})),
        (
            "/auth/register",
            json!({"email": ["a@example.com"], "password": PASSWORD}),
        ),
        (
            "/auth/register",
            json!({"email": "a@example.com", "password": {"x": 1}}),
        ),
        (
            "/auth/register",
            json!({"email": "a@example.com", "password": PASSWORD, "username": 5}),
        ),
        (
            "/auth/register",
            json!({"email": "a@example.com", "password": PASSWORD, "second_name": []}),
        ),
        ("/auth/request-verify-token", json!({"email": false})),
        ("/auth/verify", json!({"token": 12})),
        ("/auth/forgot-password", json!({"email": null})),
        (
            "/auth/reset-password",
            json!({"token": [], "password": PASSWORD}),
        ),
        (
            "/auth/reset-password",
            json!({"token": "t", "password": 1.5}),
        ),
        (
            "/auth/jwt/login",
            json!({"username": {"$ne": null}, "password": PASSWORD}),
        ),
        (
            "/auth/jwt/login",
            json!({"username": "a@example.com", "password": null}),
        ),
        ("/auth/jwt/refresh", json!({"refresh_token": 1})),
        (
            "/auth/cookie/login",
            json!({"email": 1, "password": PASSWORD}),
        ),
    ];
    for (route, body) in bodies {
        let res = app.send(post(route).json(body.clone())).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{route} {body}: {}",
            res.text()
        );
        res.assert_client_error();
    }
}

#[tokio::test]
async fn huge_strings_and_deep_nesting_are_refused_cleanly() {
    let app = App::new();
    let big = "a".repeat(60 * 1024);
    let bodies: Vec<(&str, Value)> = vec![
        (
            "/auth/register",
            json!({"email": format!("{big}@example.com"), "password": PASSWORD}),
        ),
        (
            "/auth/register",
            json!({"email": "a@example.com", "password": PASSWORD, "username": big}),
        ),
        (
            "/auth/register",
            json!({"email": "b@example.com", "password": big}),
        ),
        (
            "/auth/jwt/login",
            json!({"username": big, "password": PASSWORD}),
        ),
        (
            "/auth/jwt/login",
            json!({"username": "a@example.com", "password": big}),
        ),
        ("/auth/verify", json!({"token": big})),
        (
            "/auth/reset-password",
            json!({"token": big, "password": PASSWORD}),
        ),
        ("/auth/forgot-password", json!({"email": big})),
        ("/auth/jwt/refresh", json!({"refresh_token": big})),
    ];
    for (route, body) in bodies {
        let res = app.send(post(route).json(body)).await;
        assert!(
            res.status.is_client_error(),
            "{route}: {} {}",
            res.status,
            res.text()
        );
        res.assert_client_error();
        // Only a 422 echoes the input (as FastAPI does); other answers stay small.
        assert!(res.body.len() < 1024 || res.status == StatusCode::UNPROCESSABLE_ENTITY);
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let res = app
        .send(post("/auth/register").body("application/json", deep))
        .await;
    res.assert_client_error();
    let res = app
        .send(post("/auth/jwt/login").form(&[("username", &big), ("password", &big)]))
        .await;
    res.assert_client_error();
}

#[tokio::test]
async fn odd_credentials_headers_are_401_never_500() {
    let app = App::new();
    app.register("alice@example.com").await;
    let long = format!("Bearer {}", "a".repeat(10_000));
    let headers: Vec<(&str, &[u8])> = vec![
        ("authorization", b"Bearer"),
        ("authorization", b"Bearer "),
        ("authorization", b"Bearer \xff\xfe.\x80.\x81"),
        ("authorization", b"bearer a.b"),
        ("authorization", b"Token abc"),
        ("authorization", long.as_bytes()),
        ("cookie", b"access_token"),
        ("cookie", b"access_token="),
        ("cookie", b"access_token=\"\""),
        ("cookie", b"access_token=\xff\xfe; refresh_token=\x80"),
        ("cookie", b";;;=;=x;access_token==="),
    ];
    for (name, value) in headers {
        for req in [
            get("/users/me"),
            post("/auth/jwt/logout"),
            post("/auth/cookie/refresh"),
        ] {
            let res = app.send(req.header_bytes(name, value)).await;
            assert_eq!(
                res.status,
                StatusCode::UNAUTHORIZED,
                "{name}: {:?} {}",
                String::from_utf8_lossy(value),
                res.text()
            );
            res.assert_unauthorized();
        }
    }
}

#[tokio::test]
async fn a_long_password_is_refused_without_hashing() {
    let app = App::new();
    app.register("alice@example.com").await;
    let before = app.hasher.runs();
    let huge = "p".repeat(50_000);
    let res = app
        .send(
            post("/auth/jwt/login")
                .json(json!({"username": "alice@example.com", "password": huge})),
        )
        .await;
    res.assert_detail(StatusCode::BAD_REQUEST, "LOGIN_BAD_CREDENTIALS");
    let res = app
        .send(post("/auth/register").json(json!({"email": "b@example.com", "password": huge})))
        .await;
    res.assert_code_with_reason("REGISTER_INVALID_PASSWORD");
    assert_eq!(app.hasher.runs(), before);
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let app = App::new();
    let big = "a".repeat(70 * 1024);
    for route in [
        "/auth/register",
        "/auth/jwt/login",
        "/auth/forgot-password",
        "/auth/jwt/refresh",
    ] {
        let res = app
            .send(post(route).json(json!({"email": "a@example.com", "password": big, "username": "u", "refresh_token": "x"})))
            .await;
        assert_eq!(
            res.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{route}: {}",
            res.text()
        );
        res.assert_client_error();
    }
    let res = app
        .send(post("/auth/jwt/login").form(&[("username", "a@example.com"), ("password", &big)]))
        .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.text());
    let res = app
        .send(
            post("/auth/jwt/login").multipart(&[("username", "a@example.com"), ("password", &big)]),
        )
        .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.text());
    let (_, login) = app.user("alice@example.com").await;
    let res = app
        .send(
            patch("/users/me")
                .bearer(&login.access)
                .json(json!({"first_name": big})),
        )
        .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.text());
}

#[tokio::test]
async fn the_body_limit_is_configurable() {
    let app = App::with(|m| m, |a| a.with_body_limit(512));
    let res = app
        .send(
            post("/auth/register")
                .json(json!({"email": "a@example.com", "password": "x".repeat(600)})),
        )
        .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_wrong_content_type_is_415() {
    let app = App::new();
    let body =
        serde_json::to_vec(&json!({"email": "a@example.com", "password": PASSWORD})).unwrap();
    for content_type in [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
    ] {
        let res = app
            .send(post("/auth/register").body(content_type, body.clone()))
            .await;
        assert_eq!(
            res.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
        res.assert_client_error();
    }
    let res = app
        .send(post("/auth/jwt/login").body("text/plain", "username=a&password=b"))
        .await;
    assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    res.assert_client_error();
    // A JSON body with a JSON content type and parameters is fine.
    let res = app
        .send(post("/auth/register").body("application/json; charset=utf-8", body))
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
}

#[tokio::test]
async fn multipart_without_a_boundary_is_a_client_error() {
    let app = App::new();
    let res = app
        .send(post("/auth/jwt/login").body("multipart/form-data", "username=a"))
        .await;
    res.assert_client_error();
    let res = app
        .send(post("/auth/jwt/login").body("multipart/form-data; boundary=x", "garbage"))
        .await;
    res.assert_client_error();
}

#[tokio::test]
async fn unsupported_methods_are_405_with_allow() {
    let app = App::new();
    for (req, allow) in [
        (get("/auth/jwt/login"), "POST"),
        (request(axum::http::Method::PUT, "/auth/register"), "POST"),
        (delete("/auth/forgot-password"), "POST"),
        (post("/users/me"), "GET,HEAD,PATCH"),
        (
            request(axum::http::Method::PUT, "/users/me/sessions"),
            "GET,HEAD,DELETE",
        ),
    ] {
        let res = app.send(req).await;
        assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
        let mut got: Vec<&str> = res
            .header("allow")
            .expect("Allow")
            .split(',')
            .map(str::trim)
            .collect();
        let mut want: Vec<&str> = allow.split(',').collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want);
        res.assert_detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    }
}

#[tokio::test]
async fn every_auth_response_is_no_store_and_nosniff() {
    let app = App::new();
    let (_, login) = app.user("alice@example.com").await;
    let jar = app.cookie_login("alice@example.com").await;
    let responses = vec![
        app.send(
            post("/auth/register").json(json!({"email": "b@example.com", "password": PASSWORD})),
        )
        .await,
        app.send(post("/auth/register").json(json!({}))).await,
        app.send(
            post("/auth/jwt/login")
                .form(&[("username", "alice@example.com"), ("password", PASSWORD)]),
        )
        .await,
        app.send(post("/auth/jwt/login").form(&[
            ("username", "alice@example.com"),
            ("password", "wrong wrong"),
        ]))
        .await,
        app.send(post("/auth/cookie/refresh").cookies(&jar)).await,
        app.me(&login.access).await,
        app.send(get("/users/me")).await,
        app.send(get("/users/me/sessions").bearer(&login.access))
            .await,
        app.send(get("/users").bearer(&login.access)).await,
        app.send(post("/auth/forgot-password").json(json!({"email": "alice@example.com"})))
            .await,
        app.send(post("/auth/jwt/logout").bearer(&login.access))
            .await,
    ];
    for res in responses {
        assert_eq!(
            res.header("cache-control"),
            Some("no-store"),
            "{} {}",
            res.status,
            res.text()
        );
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
        if !res.body.is_empty() {
            assert_eq!(
                res.header("content-type"),
                Some("application/json; charset=utf-8")
            );
        }
        assert_no_secrets(&res.text());
    }
}

#[tokio::test]
async fn every_401_says_www_authenticate_bearer() {
    let app = App::new();
    let (_, login) = app.user("alice@example.com").await;
    app.clock.advance(time::Duration::minutes(20));
    for res in [
        app.send(get("/users/me")).await,
        app.me(&login.access).await,
        app.me("a.b.c").await,
        app.send(get("/users/me/sessions").bearer("x")).await,
        app.send(get("/users")).await,
        app.send(post("/auth/jwt/logout")).await,
        app.send(post("/auth/jwt/refresh").json(json!({"refresh_token": "x"})))
            .await,
        app.send(post("/auth/cookie/refresh")).await,
    ] {
        res.assert_unauthorized();
    }
}

/// The three parts of a compact JWT, the header and payload decoded.
pub(crate) struct Jws {
    pub(crate) header: Value,
    pub(crate) claims: Value,
    /// The header and the payload as the server wrote them, base64url.
    pub(crate) raw_header: String,
    pub(crate) raw_payload: String,
    pub(crate) signature: String,
}

/// Splits a token the server issued and decodes its header and claims, keeping every claim.
pub(crate) fn split_jwt(token: &str) -> Jws {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS: {token}");
    let decode = |part: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url"))
            .expect("a JSON object")
    };
    Jws {
        header: decode(parts[0]),
        claims: decode(parts[1]),
        raw_header: parts[0].to_owned(),
        raw_payload: parts[1].to_owned(),
        signature: parts[2].to_owned(),
    }
}

pub(crate) fn b64(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(json).unwrap())
}

/// `claims` signed with `jsonwebtoken` under `header` with the HMAC `secret`.
pub(crate) fn hmac_signed(header: &Header, claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

/// `header.payload` with an HMAC-SHA256 signature by `secret`, whatever the header says.
pub(crate) fn raw_hs256(raw_header: &str, raw_payload: &str, secret: &[u8]) -> String {
    let message = format!("{raw_header}.{raw_payload}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(message.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{message}.{signature}")
}

fn hs256_with_kid(kid: Option<&str>) -> Header {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_owned);
    header
}

#[tokio::test]
async fn forged_access_tokens_are_401_while_the_same_claims_signed_right_are_accepted() {
    let app = App::new();
    let (id, login) = app.user("alice@example.com").await;
    let real = split_jwt(&login.access);
    // The claims of a real login, every one kept: a forgery is refused for its signature or
    // header, not for a claim the server would refuse anyway.
    assert_eq!(real.claims["sub"], json!(id), "{}", real.claims);
    assert_eq!(real.header["alg"], "HS256", "{}", real.header);
    let claims = real.claims.clone();

    // Positive controls: the token as issued, and the same claims re-signed here with the
    // deployment's key and algorithm, are accepted.
    let me = app.me(&login.access).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    let resigned = hmac_signed(&hs256_with_kid(None), &claims, JWT_SECRET);
    // (HMAC is deterministic, so this may equal the issued token byte for byte; the
    // reordered payload below is one the server never wrote.)
    let me = app.me(&resigned).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    assert_eq!(me.json()["id"], json!(id));
    // The same claims in a different order are a different payload, yet still ours when
    // signed right: a re-encoded payload is not refused for being re-encoded.
    let mut reordered: Vec<(String, Value)> = claims
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    reordered.reverse();
    let reordered_payload = URL_SAFE_NO_PAD.encode(
        format!(
            "{{{}}}",
            reordered
                .iter()
                .map(|(k, v)| format!("{}:{v}", json!(k)))
                .collect::<Vec<_>>()
                .join(",")
        )
        .as_bytes(),
    );
    assert_ne!(reordered_payload, real.raw_payload);
    let me = app
        .me(&raw_hs256(&real.raw_header, &reordered_payload, JWT_SECRET))
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());

    let payload = b64(&claims);
    let mut forgeries: Vec<(String, String)> = Vec::new();
    // `alg: none`, in any case, with an empty signature, without a signature part, and with
    // the real token's signature.
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(&json!({"alg": alg, "typ": "JWT"}));
        forgeries.push((
            format!("alg {alg}, empty signature"),
            format!("{header}.{payload}."),
        ));
        forgeries.push((
            format!("alg {alg}, no signature part"),
            format!("{header}.{payload}"),
        ));
        forgeries.push((
            format!("alg {alg}, the real signature"),
            format!("{header}.{payload}.{}", real.signature),
        ));
        let header = b64(&json!({"alg": alg}));
        forgeries.push((
            format!("alg {alg} without typ"),
            format!("{header}.{payload}."),
        ));
    }
    // Another HMAC key, of the same length and of a different one.
    for secret in [
        &b"fedcba9876543210fedcba9876543210"[..],
        b"another key of the tests, long enough to pass anywhere",
    ] {
        forgeries.push((
            format!("HS256 with another key ({} bytes)", secret.len()),
            hmac_signed(&hs256_with_kid(None), &claims, secret),
        ));
    }
    // The right key under another HMAC strength.
    for algorithm in [Algorithm::HS384, Algorithm::HS512] {
        forgeries.push((
            format!("{algorithm:?} with the right key"),
            hmac_signed(&Header::new(algorithm), &claims, JWT_SECRET),
        ));
    }
    // A `kid` naming a key the server does not have, signed with the right key.
    for kid in ["other", "", "../../dev/null", "0"] {
        forgeries.push((
            format!("kid {kid:?}"),
            hmac_signed(&hs256_with_kid(Some(kid)), &claims, JWT_SECRET),
        ));
    }
    // An altered payload under the real header and signature.
    let altered: Vec<(&str, Value)> = vec![
        ("is_superuser", json!(true)),
        ("roles", json!(["admin", "reader"])),
        ("exp", json!(claims["exp"].as_i64().unwrap() + 3600)),
        ("sub", json!(uuid::Uuid::now_v7().to_string())),
        ("jti", json!("forged")),
    ];
    for (claim, value) in altered {
        let mut forged = claims.clone();
        forged[claim] = value;
        forgeries.push((
            format!("{claim} altered, old signature"),
            format!("{}.{}.{}", real.raw_header, b64(&forged), real.signature),
        ));
    }
    // The reordered payload is fine signed right (above) but not under the old signature.
    forgeries.push((
        "reordered payload, old signature".to_owned(),
        format!("{}.{reordered_payload}.{}", real.raw_header, real.signature),
    ));

    for (what, token) in &forgeries {
        let res = app.me(token).await;
        assert_eq!(
            res.status,
            StatusCode::UNAUTHORIZED,
            "{what}: {}",
            res.text()
        );
        res.assert_unauthorized();
        let res = app.send(get("/users/me/sessions").bearer(token)).await;
        assert_eq!(
            res.status,
            StatusCode::UNAUTHORIZED,
            "{what}: {}",
            res.text()
        );
        // As the cookie, too.
        let res = app
            .send(get("/users/me").cookie(&format!("access_token={token}")))
            .await;
        assert_eq!(
            res.status,
            StatusCode::UNAUTHORIZED,
            "{what}: {}",
            res.text()
        );
    }
    // The session the forgeries copied is untouched, and the real token still works.
    let me = app.me(&login.access).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
}

#[tokio::test]
async fn a_kid_is_honoured_only_when_it_names_the_configured_key() {
    let app = app_signing(JwtCodec::new(
        JwtKeys::hmac(JwtAlgorithm::HS256, JWT_SECRET)
            .unwrap()
            .with_kid("key-1"),
        JWT_ISSUER,
    ));
    let (_, login) = app.user("alice@example.com").await;
    let real = split_jwt(&login.access);
    assert_eq!(real.header["kid"], "key-1", "{}", real.header);
    // Positive control: the configured kid.
    let token = hmac_signed(&hs256_with_kid(Some("key-1")), &real.claims, JWT_SECRET);
    let res = app.me(&token).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // No kid selects the key without one, and this set has none.
    let token = hmac_signed(&hs256_with_kid(None), &real.claims, JWT_SECRET);
    app.me(&token).await.assert_unauthorized();
    for kid in ["key-2", "KEY-1", "key-1 ", "", "../key-1", "key-1/../key-1"] {
        let token = hmac_signed(&hs256_with_kid(Some(kid)), &real.claims, JWT_SECRET);
        app.me(&token).await.assert_unauthorized();
    }
}
