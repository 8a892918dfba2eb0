//! `POST /auth/{backend}/login` (`docs/HTTP_CONTRACT.md` §4): bearer and cookie, form, multipart
//! and JSON.

use auth_core::CreateOptions;
use axum::http::StatusCode;
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn bearer_login_answers_the_token_pair() {
    let app = App::new();
    app.register("alice@example.com").await;
    let res = app
        .send(post("/auth/jwt/login").json(json!({
            "username": "alice@example.com", "password": PASSWORD,
        })))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert!(res.set_cookies().is_empty(), "bearer login sets no cookie");
    let body = res.json();
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["access_token", "expires_in", "refresh_token", "token_type"]
    );
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 900);
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(access.split('.').count(), 3, "a JWT");
    assert!(
        body["refresh_token"].as_str().unwrap().len() >= 22,
        "128 bits at least"
    );
    assert_eq!(app.me(access).await.status, StatusCode::OK);
}

#[tokio::test]
async fn form_login_is_what_fastapi_users_clients_send() {
    let app = App::new();
    app.register("alice@example.com").await;
    let res = app
        .send(post("/auth/jwt/login").form(&[
            ("grant_type", "password"),
            ("username", "alice@example.com"),
            ("password", PASSWORD),
            ("scope", ""),
            ("client_id", ""),
            ("client_secret", ""),
        ]))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["token_type"], "bearer");
}

#[tokio::test]
async fn multipart_login_works() {
    let app = App::new();
    app.register("alice@example.com").await;
    let res = app
        .send(post("/auth/jwt/login").multipart(&[
            ("username", "alice@example.com"),
            ("password", PASSWORD),
            ("grant_type", "password"),
        ]))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = app
        .send(post("/auth/jwt/login").multipart(&[
            ("username", "alice@example.com"),
            ("password", "wrong password here"),
        ]))
        .await;
    res.assert_detail(StatusCode::BAD_REQUEST, "LOGIN_BAD_CREDENTIALS");
}

#[tokio::test]
async fn json_login_takes_email_or_username() {
    let app = App::new();
    app.send(post("/auth/register").json(json!({
        "email": "alice@example.com", "password": PASSWORD, "username": "alice",
    })))
    .await;
    for body in [
        json!({"email": "alice@example.com", "password": PASSWORD}),
        json!({"username": "ALICE@example.com", "password": PASSWORD}),
        json!({"username": "Alice", "password": PASSWORD}),
    ] {
        let res = app.send(post("/auth/jwt/login").json(body.clone())).await;
        assert_eq!(res.status, StatusCode::OK, "{body}: {}", res.text());
    }
}

#[tokio::test]
async fn cookie_login_answers_204_with_both_cookies_and_their_attributes() {
    let app = App::new();
    app.register("alice@example.com").await;
    let res = app
        .send(
            post("/auth/cookie/login")
                .form(&[("username", "alice@example.com"), ("password", PASSWORD)]),
        )
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    assert!(res.body.is_empty());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let cookies = res.set_cookies();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    let access = res.set_cookie("access_token").expect("an access cookie");
    assert_eq!(
        access.attributes,
        [
            "HttpOnly",
            "Max-Age=900",
            "Path=/",
            "SameSite=Lax",
            "Secure"
        ]
    );
    let refresh = res.set_cookie("refresh_token").expect("a refresh cookie");
    assert_eq!(
        refresh.attributes,
        [
            "HttpOnly",
            "Max-Age=1209600",
            "Path=/",
            "SameSite=Strict",
            "Secure"
        ]
    );
    assert!(!access.value.is_empty() && !refresh.value.is_empty());
    // The cookie authenticates.
    let res = app.send(get("/users/me").cookies(&res.jar())).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

#[tokio::test]
async fn cookie_settings_are_configurable() {
    let app = App::with(
        |m| m,
        |a| {
            a.with_backends([auth_axum::Backend::cookie(
                "cookie",
                auth_axum::CookieSettings::default()
                    .with_secure(false)
                    .with_refresh_path("/auth/cookie"),
            )])
        },
    );
    app.register("alice@example.com").await;
    let res = app
        .send(post("/auth/cookie/login").json(json!({
            "username": "alice@example.com", "password": PASSWORD,
        })))
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    let refresh = res.set_cookie("refresh_token").unwrap();
    assert_eq!(
        refresh.attributes,
        [
            "HttpOnly",
            "Max-Age=1209600",
            "Path=/auth/cookie",
            "SameSite=Strict"
        ]
    );
    // No bearer backend in this configuration.
    let res = app
        .send(
            post("/auth/jwt/login")
                .json(json!({"username": "alice@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_login_opens_a_new_session_with_new_tokens() {
    let app = App::new();
    app.register("alice@example.com").await;
    let first = app.login("alice@example.com").await;
    let second = app.login("alice@example.com").await;
    assert_ne!(first.access, second.access);
    assert_ne!(first.refresh, second.refresh);
    let sessions = app
        .send(get("/users/me/sessions").bearer(&second.access))
        .await
        .json();
    assert_eq!(sessions.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn unknown_user_wrong_password_and_inactive_user_look_the_same_and_cost_the_same() {
    let app = App::new();
    app.register("alice@example.com").await;
    let inactive = app.register("bob@example.com").await;
    let root = app.admin().await;
    let res = app
        .send(
            patch(&format!("/users/{}", inactive["id"].as_str().unwrap()))
                .bearer(&root.access)
                .json(json!({"is_active": false})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());

    let mut answers = Vec::new();
    for (username, password) in [
        ("nobody@example.com", PASSWORD),
        ("alice@example.com", "not the right password"),
        ("bob@example.com", PASSWORD),
        ("no-such-username", PASSWORD),
    ] {
        let before = app.hasher.runs();
        let res = app
            .send(post("/auth/jwt/login").form(&[("username", username), ("password", password)]))
            .await;
        assert_eq!(
            app.hasher.runs() - before,
            1,
            "{username}: the hasher runs once"
        );
        res.assert_detail(StatusCode::BAD_REQUEST, "LOGIN_BAD_CREDENTIALS");
        answers.push((res.status, res.body.clone()));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test]
async fn login_of_an_unverified_user_on_a_verifying_backend_is_not_verified() {
    let app = App::with(
        |m| m,
        |a| {
            a.with_backends([
                auth_axum::Backend::bearer("jwt").with_require_verification(true),
                auth_axum::Backend::cookie("cookie", auth_axum::CookieSettings::default()),
            ])
        },
    );
    app.register("alice@example.com").await;
    let res = app
        .send(
            post("/auth/jwt/login")
                .form(&[("username", "alice@example.com"), ("password", PASSWORD)]),
        )
        .await;
    res.assert_detail(StatusCode::BAD_REQUEST, "LOGIN_USER_NOT_VERIFIED");
    // Wrong credentials are still bad credentials.
    let res = app
        .send(post("/auth/jwt/login").form(&[
            ("username", "alice@example.com"),
            ("password", "wrong wrong wrong"),
        ]))
        .await;
    res.assert_detail(StatusCode::BAD_REQUEST, "LOGIN_BAD_CREDENTIALS");
    // No session was left behind by the refused login.
    let cookie = app.cookie_login("alice@example.com").await;
    let sessions = app
        .send(get("/users/me/sessions").cookies(&cookie))
        .await
        .json();
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");
    // A verified user may log in.
    app.create(
        "carol@example.com",
        CreateOptions {
            verified: true,
            ..CreateOptions::default()
        },
    )
    .await;
    app.login("carol@example.com").await;
}

#[tokio::test]
async fn login_of_an_unverified_user_is_refused_when_the_manager_requires_verification() {
    let app = App::with(
        |m| auth_core::ManagerConfig {
            require_verification: true,
            ..m
        },
        |a| a,
    );
    app.register("alice@example.com").await;
    let res = app
        .send(
            post("/auth/cookie/login")
                .form(&[("username", "alice@example.com"), ("password", PASSWORD)]),
        )
        .await;
    res.assert_detail(StatusCode::BAD_REQUEST, "LOGIN_USER_NOT_VERIFIED");
    assert!(res.set_cookies().is_empty());
}

#[tokio::test]
async fn login_bodies_are_validated() {
    let app = App::new();
    let res = app
        .send(post("/auth/jwt/login").form(&[("username", "alice@example.com")]))
        .await;
    res.assert_422_at(&["body", "password"]);
    let res = app
        .send(post("/auth/jwt/login").form(&[("password", PASSWORD)]))
        .await;
    res.assert_422_at(&["body", "username"]);
    let res = app
        .send(post("/auth/jwt/login").json(json!({"username": "a@example.com", "password": 5})))
        .await;
    res.assert_422_at(&["body", "password"]);
    let res = app
        .send(post("/auth/jwt/login").json(json!({"username": ["a"], "password": PASSWORD})))
        .await;
    res.assert_422_at(&["body", "username"]);
    let res = app
        .send(post("/auth/jwt/login").body("text/plain", "username=a&password=b"))
        .await;
    assert!(
        res.status == StatusCode::UNSUPPORTED_MEDIA_TYPE
            || res.status == StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.status
    );
    res.assert_client_error();
}

#[tokio::test]
async fn ten_failed_logins_throttle_the_account_even_for_the_right_password() {
    let app = App::new();
    app.register("alice@example.com").await;
    for _ in 0..10 {
        let res = app
            .send(post("/auth/jwt/login").form(&[
                ("username", "alice@example.com"),
                ("password", "wrong wrong wrong"),
            ]))
            .await;
        res.assert_detail(StatusCode::BAD_REQUEST, "LOGIN_BAD_CREDENTIALS");
    }
    for backend in ["jwt", "cookie"] {
        // Another spelling of the same account, from another address.
        let res = app
            .send(
                post(&format!("/auth/{backend}/login"))
                    .form(&[("username", "ALICE@example.com"), ("password", PASSWORD)])
                    .peer("198.51.100.20".parse().unwrap()),
            )
            .await;
        res.assert_detail(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS");
        let retry: i64 = res
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!((1..=15 * 60).contains(&retry), "{retry}");
    }
    // The window passes.
    app.clock.advance(time::Duration::minutes(16));
    app.login("alice@example.com").await;
}

#[tokio::test]
async fn a_successful_login_clears_the_account_failures() {
    let app = App::new();
    app.register("alice@example.com").await;
    for round in 0..2 {
        for _ in 0..9 {
            let res = app
                .send(post("/auth/jwt/login").form(&[
                    ("username", "alice@example.com"),
                    ("password", "wrong wrong wrong"),
                ]))
                .await;
            assert_eq!(res.status, StatusCode::BAD_REQUEST, "round {round}");
        }
        app.login("alice@example.com").await;
    }
}

#[tokio::test]
async fn failed_logins_are_throttled_per_client_ip() {
    let app = App::new();
    app.register("alice@example.com").await;
    let attacker: std::net::IpAddr = "192.0.2.66".parse().unwrap();
    // RATE_LIMIT_LOGIN_IP defaults to 100/15m: spread over many accounts so no account
    // limit is reached.
    for n in 0..100 {
        let res = app
            .send(
                post("/auth/jwt/login")
                    .form(&[
                        ("username", &format!("victim{n}@example.com")),
                        ("password", "guess guess guess"),
                    ])
                    .peer(attacker),
            )
            .await;
        res.assert_detail(StatusCode::BAD_REQUEST, "LOGIN_BAD_CREDENTIALS");
    }
    let res = app
        .send(
            post("/auth/jwt/login")
                .form(&[("username", "alice@example.com"), ("password", PASSWORD)])
                .peer(attacker),
        )
        .await;
    res.assert_detail(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS");
    assert!(res.header("retry-after").is_some());
    // Alice, from her own address, is not affected.
    app.login("alice@example.com").await;
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_does_not_dodge_the_ip_throttle() {
    let app = App::with(
        |m| auth_core::ManagerConfig {
            rate_limits: auth_core::RateLimits {
                login_ip: Some(auth_core::RateLimit::new(5, time::Duration::minutes(15))),
                ..auth_core::RateLimits::default()
            },
            ..m
        },
        |a| a,
    );
    let attacker: std::net::IpAddr = "192.0.2.66".parse().unwrap();
    for n in 0..5 {
        let res = app
            .send(
                post("/auth/jwt/login")
                    .form(&[
                        ("username", &format!("victim{n}@example.com")),
                        ("password", "guess guess"),
                    ])
                    .header("x-forwarded-for", &format!("10.9.8.{n}"))
                    .peer(attacker),
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
    }
    let res = app
        .send(
            post("/auth/jwt/login")
                .form(&[
                    ("username", "victim9@example.com"),
                    ("password", "guess guess"),
                ])
                .header("x-forwarded-for", "198.51.100.200")
                .peer(attacker),
        )
        .await;
    res.assert_detail(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_throttled() {
    let app = App::with(
        |m| auth_core::ManagerConfig {
            rate_limits: auth_core::RateLimits {
                login_ip: Some(auth_core::RateLimit::new(5, time::Duration::minutes(15))),
                ..auth_core::RateLimits::default()
            },
            ..m
        },
        |a| a.with_trusted_proxies(["10.0.0.0/8".parse().unwrap()]),
    );
    app.register("alice@example.com").await;
    let proxy: std::net::IpAddr = "10.0.0.2".parse().unwrap();
    for n in 0..5 {
        app.send(
            post("/auth/jwt/login")
                .form(&[
                    ("username", &format!("victim{n}@example.com")),
                    ("password", "guess guess"),
                ])
                .header("x-forwarded-for", "192.0.2.66")
                .peer(proxy),
        )
        .await;
    }
    let res = app
        .send(
            post("/auth/jwt/login")
                .form(&[("username", "alice@example.com"), ("password", PASSWORD)])
                .header("x-forwarded-for", "192.0.2.66")
                .peer(proxy),
        )
        .await;
    res.assert_detail(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS");
    // Another client behind the same proxy is not.
    let res = app
        .send(
            post("/auth/jwt/login")
                .form(&[("username", "alice@example.com"), ("password", PASSWORD)])
                .header("x-forwarded-for", "203.0.113.99")
                .peer(proxy),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // The session records the client, not the proxy.
    let sessions = app
        .send(get("/users/me/sessions").bearer(res.json()["access_token"].as_str().unwrap()))
        .await
        .json();
    assert_eq!(sessions[0]["ip"], "203.0.113.99");
}

#[tokio::test]
async fn the_account_throttle_counts_failures_by_email_and_username_together() {
    let app = App::new();
    let res = app
        .send(post("/auth/register").json(json!({
            "email": "alice@example.com", "password": PASSWORD, "username": "alice",
        })))
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    for n in 0..10 {
        let username = if n % 2 == 0 {
            "alice"
        } else {
            "alice@example.com"
        };
        app.send(
            post("/auth/jwt/login")
                .form(&[("username", username), ("password", "wrong wrong wrong")]),
        )
        .await
        .assert_detail(StatusCode::BAD_REQUEST, "LOGIN_BAD_CREDENTIALS");
    }
    for username in ["alice", "alice@example.com", "Alice"] {
        app.send(post("/auth/jwt/login").form(&[("username", username), ("password", PASSWORD)]))
            .await
            .assert_detail(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS");
    }
}
