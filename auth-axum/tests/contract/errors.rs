//! The conventions of contract §1: error shapes, limits, content types and headers; and bad
//! input of every kind never answering `500`.

use axum::http::StatusCode;
use serde_json::{Value, json};

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

#[tokio::test]
async fn a_token_signed_with_another_key_or_alg_none_is_401() {
    let app = App::new();
    let (id, _) = app.user("alice@example.com").await;
    let header = base64url(br#"{"alg":"none","typ":"JWT"}"#);
    let now = app.clock_now();
    let claims = base64url(
        json!({"sub": id, "sid": "00000000-0000-4000-8000-000000000000", "exp": now + 600,
               "iat": now, "aud": "access", "iss": "contract-tests", "roles": ["admin"],
               "is_superuser": true, "is_verified": true, "jti": "x"})
        .to_string()
        .as_bytes(),
    );
    app.me(&format!("{header}.{claims}."))
        .await
        .assert_unauthorized();
    app.send(get("/users").bearer(&format!("{header}.{claims}.")))
        .await
        .assert_unauthorized();
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

impl App {
    fn clock_now(&self) -> i64 {
        self.manager().now().unix_timestamp()
    }
}
