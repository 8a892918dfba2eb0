//! Verification and password reset (`docs/HTTP_CONTRACT.md` §3).

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::*;

async fn request_verify(app: &App, email: &str) -> Resp {
    app.send(post("/auth/request-verify-token").json(json!({"email": email})))
        .await
}

async fn forgot(app: &App, email: &str) -> Resp {
    app.send(post("/auth/forgot-password").json(json!({"email": email})))
        .await
}

async fn reset(app: &App, token: &str, password: &str) -> Resp {
    app.send(post("/auth/reset-password").json(json!({"token": token, "password": password})))
        .await
}

#[tokio::test]
async fn request_verify_token_answers_202_null_whoever_asks() {
    let app = App::new();
    app.register("alice@example.com").await;
    let verified = app
        .create(
            "vera@example.com",
            auth_core::CreateOptions {
                verified: true,
                ..Default::default()
            },
        )
        .await;
    let mut bodies = Vec::new();
    for email in [
        "alice@example.com",
        "nobody@example.com",
        verified.email.as_str(),
    ] {
        let res = request_verify(&app, email).await;
        assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
        assert_eq!(res.json(), json!(null));
        bodies.push(res.body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(app.mails_to("alice@example.com").await, 1);
    assert_eq!(app.mails_to("nobody@example.com").await, 0);
    assert_eq!(
        app.mails_to("vera@example.com").await,
        0,
        "already verified"
    );
    // An inactive user gets the same answer and no mail.
    let inactive = app.register("ivan@example.com").await;
    let root = app.admin().await;
    app.send(
        patch(&format!("/users/{}", inactive["id"].as_str().unwrap()))
            .bearer(&root.access)
            .json(json!({"is_active": false})),
    )
    .await;
    let res = request_verify(&app, "ivan@example.com").await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    assert_eq!(res.body, bodies[0]);
    assert_eq!(app.mails_to("ivan@example.com").await, 0);
    request_verify(&app, "not an address")
        .await
        .assert_422_at(&["body", "email"]);
}

#[tokio::test]
async fn verify_marks_the_user_verified_and_answers_the_user() {
    let app = App::new();
    app.register("alice@example.com").await;
    request_verify(&app, "alice@example.com").await;
    let token = app.mailed_token("alice@example.com").await;
    let res = app
        .send(post("/auth/verify").json(json!({"token": token})))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let user = res.json();
    assert_user_read(&user);
    assert_eq!(user["is_verified"], true);
    assert!(!res.text().contains(&token), "the token never comes back");
    // Used again: already verified.
    let res = app
        .send(post("/auth/verify").json(json!({"token": token})))
        .await;
    res.assert_detail(StatusCode::BAD_REQUEST, "VERIFY_USER_ALREADY_VERIFIED");
}

#[tokio::test]
async fn bad_verify_tokens_are_verify_user_bad_token() {
    let app = App::new();
    app.register("alice@example.com").await;
    forgot(&app, "alice@example.com").await;
    let reset_token = app.mailed_token("alice@example.com").await;
    let (_, login) = app.user("bob@example.com").await;
    for token in ["", "garbage", "a.b.c", &reset_token, &login.access] {
        let res = app
            .send(post("/auth/verify").json(json!({"token": token})))
            .await;
        res.assert_detail(StatusCode::BAD_REQUEST, "VERIFY_USER_BAD_TOKEN");
    }
    app.send(post("/auth/verify").json(json!({})))
        .await
        .assert_422_at(&["body", "token"]);
}

#[tokio::test]
async fn verify_tokens_expire_after_24_hours_and_die_with_the_address() {
    let app = App::new();
    app.register("alice@example.com").await;
    request_verify(&app, "alice@example.com").await;
    let token = app.mailed_token("alice@example.com").await;
    app.clock
        .advance(time::Duration::hours(24) + time::Duration::seconds(1));
    app.send(post("/auth/verify").json(json!({"token": token})))
        .await
        .assert_detail(StatusCode::BAD_REQUEST, "VERIFY_USER_BAD_TOKEN");

    let (_, login) = app.user("bob@example.com").await;
    request_verify(&app, "bob@example.com").await;
    let token = app.mailed_token("bob@example.com").await;
    let res = app
        .send(
            patch("/users/me")
                .bearer(&login.access)
                .json(json!({"email": "robert@example.com", "current_password": PASSWORD})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    app.send(post("/auth/verify").json(json!({"token": token})))
        .await
        .assert_detail(StatusCode::BAD_REQUEST, "VERIFY_USER_BAD_TOKEN");
}

#[tokio::test]
async fn forgot_password_answers_202_null_whoever_asks() {
    let app = App::new();
    app.register("alice@example.com").await;
    let mut bodies = Vec::new();
    for email in ["alice@example.com", "nobody@example.com"] {
        let res = forgot(&app, email).await;
        assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
        assert_eq!(res.json(), json!(null));
        bodies.push(res.body);
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(app.mails_to("alice@example.com").await, 1);
    forgot(&app, "").await.assert_422_at(&["body", "email"]);
}

#[tokio::test]
async fn forgot_password_mails_at_most_three_times_an_hour_and_still_answers_202() {
    let app = App::new();
    app.register("alice@example.com").await;
    for _ in 0..5 {
        let res = forgot(&app, "alice@example.com").await;
        assert_eq!(res.status, StatusCode::ACCEPTED);
        assert_eq!(res.json(), json!(null));
    }
    assert_eq!(app.mails_to("alice@example.com").await, 3);
}

#[tokio::test]
async fn reset_sets_the_password_revokes_sessions_and_logs_nobody_in() {
    let app = App::new();
    let (_, login) = app.user("alice@example.com").await;
    forgot(&app, "ALICE@example.com").await;
    let token = app.mailed_token("alice@example.com").await;
    let res = reset(&app, &token, NEW_PASSWORD).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json(), json!(null));
    assert!(res.set_cookies().is_empty(), "nobody is logged in");
    app.me(&login.access).await.assert_unauthorized();
    app.send(post("/auth/jwt/refresh").json(json!({"refresh_token": login.refresh})))
        .await
        .assert_unauthorized();
    app.login_with("alice@example.com", NEW_PASSWORD).await;
    app.send(
        post("/auth/jwt/login").form(&[("username", "alice@example.com"), ("password", PASSWORD)]),
    )
    .await
    .assert_detail(StatusCode::BAD_REQUEST, "LOGIN_BAD_CREDENTIALS");
    // Single use.
    reset(&app, &token, "yet another fine passphrase")
        .await
        .assert_detail(StatusCode::BAD_REQUEST, "RESET_PASSWORD_BAD_TOKEN");
}

#[tokio::test]
async fn bad_reset_tokens_are_reset_password_bad_token() {
    let app = App::new();
    app.register("alice@example.com").await;
    request_verify(&app, "alice@example.com").await;
    let verify_token = app.mailed_token("alice@example.com").await;
    for token in ["", "garbage", "a.b.c", &verify_token] {
        reset(&app, token, NEW_PASSWORD)
            .await
            .assert_detail(StatusCode::BAD_REQUEST, "RESET_PASSWORD_BAD_TOKEN");
    }
    // Expired after an hour.
    forgot(&app, "alice@example.com").await;
    let token = app.mailed_token("alice@example.com").await;
    app.clock
        .advance(time::Duration::hours(1) + time::Duration::seconds(1));
    reset(&app, &token, NEW_PASSWORD)
        .await
        .assert_detail(StatusCode::BAD_REQUEST, "RESET_PASSWORD_BAD_TOKEN");
    app.send(post("/auth/reset-password").json(json!({"token": "x"})))
        .await
        .assert_422_at(&["body", "password"]);
}

#[tokio::test]
async fn a_password_change_kills_an_outstanding_reset_token() {
    let app = App::new();
    let (_, login) = app.user("alice@example.com").await;
    forgot(&app, "alice@example.com").await;
    let token = app.mailed_token("alice@example.com").await;
    let res = app
        .send(
            patch("/users/me")
                .bearer(&login.access)
                .json(json!({"password": NEW_PASSWORD, "current_password": PASSWORD})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    reset(&app, &token, "yet another fine passphrase")
        .await
        .assert_detail(StatusCode::BAD_REQUEST, "RESET_PASSWORD_BAD_TOKEN");
    app.login_with("alice@example.com", NEW_PASSWORD).await;
}

#[tokio::test]
async fn reset_for_a_user_deactivated_after_asking_is_bad_token() {
    let app = App::new();
    let user = app.register("alice@example.com").await;
    forgot(&app, "alice@example.com").await;
    let token = app.mailed_token("alice@example.com").await;
    let root = app.admin().await;
    let res = app
        .send(
            patch(&format!("/users/{}", user["id"].as_str().unwrap()))
                .bearer(&root.access)
                .json(json!({"is_active": false})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    reset(&app, &token, NEW_PASSWORD)
        .await
        .assert_detail(StatusCode::BAD_REQUEST, "RESET_PASSWORD_BAD_TOKEN");
}

#[tokio::test]
async fn reset_with_a_weak_password_is_invalid_password_and_keeps_the_token() {
    let app = App::new();
    app.register("alice@example.com").await;
    forgot(&app, "alice@example.com").await;
    let token = app.mailed_token("alice@example.com").await;
    for password in ["short", "password1", "alice@example.com is me"] {
        reset(&app, &token, password)
            .await
            .assert_code_with_reason("RESET_PASSWORD_INVALID_PASSWORD");
    }
    assert_eq!(
        reset(&app, &token, NEW_PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_throttled_account_can_still_reset_its_password_and_log_in() {
    let app = App::new();
    app.register("alice@example.com").await;
    for _ in 0..10 {
        app.send(post("/auth/jwt/login").form(&[
            ("username", "alice@example.com"),
            ("password", "wrong wrong wrong"),
        ]))
        .await;
    }
    app.send(
        post("/auth/jwt/login").form(&[("username", "alice@example.com"), ("password", PASSWORD)]),
    )
    .await
    .assert_detail(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS");
    let res = forgot(&app, "alice@example.com").await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    let token = app.mailed_token("alice@example.com").await;
    assert_eq!(
        reset(&app, &token, NEW_PASSWORD).await.status,
        StatusCode::OK
    );
    app.login_with("alice@example.com", NEW_PASSWORD).await;
}

#[tokio::test]
async fn token_submissions_are_throttled_per_client_ip() {
    let app = App::new();
    // RATE_LIMIT_TOKEN_IP defaults to 30/1m, verify and reset together.
    for n in 0..30 {
        let res = if n % 2 == 0 {
            app.send(post("/auth/verify").json(json!({"token": "guess"})))
                .await
        } else {
            reset(&app, "guess", NEW_PASSWORD).await
        };
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{n}: {}", res.text());
    }
    for res in [
        app.send(post("/auth/verify").json(json!({"token": "guess"})))
            .await,
        reset(&app, "guess", NEW_PASSWORD).await,
    ] {
        res.assert_detail(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS");
        assert!(res.header("retry-after").is_some());
    }
    let elsewhere = app
        .send(
            post("/auth/verify")
                .json(json!({"token": "guess"}))
                .peer("198.51.100.3".parse().unwrap()),
        )
        .await;
    elsewhere.assert_detail(StatusCode::BAD_REQUEST, "VERIFY_USER_BAD_TOKEN");
}
