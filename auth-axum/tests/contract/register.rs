//! `POST /auth/register` (`docs/HTTP_CONTRACT.md` §3).

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn register_answers_201_with_the_user_read() {
    let app = App::new();
    let res = app
        .send(post("/auth/register").json(json!({
            "email": "alice@example.com",
            "password": PASSWORD,
        })))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let user = res.json();
    assert_user_read(&user);
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["username"], json!(null));
    assert_eq!(user["is_active"], true);
    assert_eq!(user["is_superuser"], false);
    assert_eq!(user["is_verified"], false);
    assert_eq!(user["roles"], json!(["reader"]));
    assert_eq!(user["first_name"], json!(null));
    assert_eq!(user["second_name"], json!(null));
}

#[tokio::test]
async fn register_keeps_the_profile_fields_and_the_username() {
    let app = App::new();
    let res = app
        .send(post("/auth/register").json(json!({
            "email": "alice@example.com",
            "password": PASSWORD,
            "username": "alice",
            "first_name": "Alice",
            "second_name": "Liddell",
        })))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let user = res.json();
    assert_eq!(user["username"], "alice");
    assert_eq!(user["first_name"], "Alice");
    assert_eq!(user["second_name"], "Liddell");
    let login = app.login("alice").await;
    let me = app.me(&login.access).await.json();
    assert_eq!(me["first_name"], "Alice");
    assert_eq!(me["second_name"], "Liddell");
}

#[tokio::test]
async fn register_ignores_privileged_fields() {
    let app = App::new();
    let forged_id = "00000000-0000-4000-8000-000000000000";
    let res = app
        .send(post("/auth/register").json(json!({
            "email": "mallory@example.com",
            "password": PASSWORD,
            "id": forged_id,
            "is_superuser": true,
            "is_active": false,
            "is_verified": true,
            "roles": ["admin", "author"],
            "hashed_password": "$argon2id$v=19$m=8,t=1,p=1$AAAA$AAAA",
            "password_hash": "$argon2id$v=19$m=8,t=1,p=1$AAAA$AAAA",
            "created_at": "2000-01-01T00:00:00Z",
        })))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let user = res.json();
    assert_user_read(&user);
    assert_ne!(user["id"], forged_id);
    assert_eq!(user["is_superuser"], false);
    assert_eq!(user["is_active"], true);
    assert_eq!(user["is_verified"], false);
    assert_eq!(user["roles"], json!(["reader"]));
    assert_ne!(user["created_at"], "2000-01-01T00:00:00Z");
    // The forged hash was not stored: the real password still logs in.
    let login = app.login("mallory@example.com").await;
    let me = app.me(&login.access).await.json();
    assert_eq!(me["is_superuser"], false);
    assert_eq!(me["roles"], json!(["reader"]));
}

#[tokio::test]
async fn register_with_a_taken_address_in_any_case_is_user_already_exists() {
    let app = App::new();
    app.register("Alice@Example.com").await;
    for email in [
        "Alice@Example.com",
        "alice@example.com",
        "ALICE@EXAMPLE.COM",
    ] {
        let res = app
            .send(post("/auth/register").json(json!({"email": email, "password": NEW_PASSWORD})))
            .await;
        res.assert_detail(StatusCode::BAD_REQUEST, "REGISTER_USER_ALREADY_EXISTS");
    }
}

#[tokio::test]
async fn register_lower_cases_the_domain_only() {
    let app = App::new();
    let user = app.register("Alice@EXAMPLE.com").await;
    assert_eq!(user["email"], "Alice@example.com");
    app.login("alice@example.com").await;
}

#[tokio::test]
async fn register_with_a_taken_username_in_any_case_is_username_already_exists() {
    let app = App::new();
    let res = app
        .send(post("/auth/register").json(json!({
            "email": "alice@example.com", "password": PASSWORD, "username": "Alice",
        })))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let res = app
        .send(post("/auth/register").json(json!({
            "email": "other@example.com", "password": PASSWORD, "username": "alice",
        })))
        .await;
    res.assert_detail(StatusCode::BAD_REQUEST, "REGISTER_USERNAME_ALREADY_EXISTS");
}

#[tokio::test]
async fn register_with_a_weak_password_is_invalid_password_with_a_reason() {
    let app = App::new();
    for password in [
        "short",
        "password",
        "alice@example.com!!",
        &"x".repeat(2000),
    ] {
        let res = app
            .send(post("/auth/register").json(json!({
                "email": "alice@example.com", "password": password,
            })))
            .await;
        res.assert_code_with_reason("REGISTER_INVALID_PASSWORD");
    }
    let res = app
        .send(post("/auth/register").json(json!({"email": "a@example.com", "password": "short"})))
        .await;
    assert_eq!(
        res.detail()["reason"],
        "Password should be at least 8 characters"
    );
}

#[tokio::test]
async fn register_accepts_long_unicode_passwords_untrimmed() {
    let app = App::new();
    let password = format!("  {} 🐢 ünïcödé  ", "long passphrase ".repeat(4));
    let res = app
        .send(post("/auth/register").json(json!({
            "email": "alice@example.com", "password": password,
        })))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    app.login_with("alice@example.com", &password).await;
    let res = app
        .send(post("/auth/jwt/login").json(json!({
            "username": "alice@example.com", "password": password.trim(),
        })))
        .await;
    res.assert_detail(StatusCode::BAD_REQUEST, "LOGIN_BAD_CREDENTIALS");
}

#[tokio::test]
async fn register_validates_the_body_like_fastapi() {
    let app = App::new();
    let res = app
        .send(post("/auth/register").json(json!({"password": PASSWORD})))
        .await;
    res.assert_422_at(&["body", "email"]);
    assert_eq!(res.detail()[0]["type"], "missing");

    let res = app
        .send(post("/auth/register").json(json!({"email": "alice@example.com"})))
        .await;
    res.assert_422_at(&["body", "password"]);

    let res = app
        .send(post("/auth/register").json(json!({"email": "not an address", "password": PASSWORD})))
        .await;
    res.assert_422_at(&["body", "email"]);
    assert_eq!(res.detail()[0]["input"], "not an address");

    let res = app
        .send(
            post("/auth/register")
                .json(json!({"email": "alice@example.com", "password": 12345678})),
        )
        .await;
    res.assert_422_at(&["body", "password"]);

    let res = app
        .send(post("/auth/register").json(json!({
            "email": "alice@example.com", "password": PASSWORD, "first_name": 7,
        })))
        .await;
    res.assert_422_at(&["body", "first_name"]);

    let res = app
        .send(post("/auth/register").json(json!({
            "email": "alice@example.com", "password": PASSWORD, "username": "",
        })))
        .await;
    res.assert_422_at(&["body", "username"]);
}

#[tokio::test]
async fn registrations_are_throttled_per_client_ip() {
    let app = App::new();
    // RATE_LIMIT_REGISTER_IP defaults to 20/1h.
    for n in 0..20 {
        app.register(&format!("user{n}@example.com")).await;
    }
    let res = app
        .send(
            post("/auth/register").json(json!({"email": "late@example.com", "password": PASSWORD})),
        )
        .await;
    res.assert_detail(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS");
    let retry: i64 = res
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 3600, "{retry}");
    // Another address is not affected.
    let res = app
        .send(
            post("/auth/register")
                .json(json!({"email": "late@example.com", "password": PASSWORD}))
                .peer("198.51.100.1".parse().unwrap()),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
}

#[tokio::test]
async fn enumeration_safe_registration_answers_202_null_either_way() {
    let app = App::with(
        |m| auth_core::ManagerConfig {
            enumeration_safe_registration: true,
            ..m
        },
        |a| a,
    );
    for _ in 0..2 {
        let res = app
            .send(
                post("/auth/register")
                    .json(json!({"email": "alice@example.com", "password": PASSWORD})),
            )
            .await;
        assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
        assert_eq!(res.json(), json!(null));
    }
    app.login("alice@example.com").await;
}
