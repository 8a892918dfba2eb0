//! The API works as its client would use it: over a real socket, with reqwest.
#![allow(clippy::unwrap_used)]

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// Starts the app on a free port of 127.0.0.1; returns its base URL.
async fn start() -> String {
    let app = api::app("sqlite::memory:", &[42; 32]).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = auth_axum::ServeConfig::default();
    tokio::spawn(auth_axum::serve(
        listener,
        app,
        config,
        std::future::pending(),
    ));
    format!("http://{addr}")
}

async fn register_and_login(http: &Client, base: &str, email: &str) -> Value {
    let password = "a long passphrase for the api";
    let registered = http
        .post(format!("{base}/auth/register"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::CREATED);
    let login = http
        .post(format!("{base}/auth/jwt/login"))
        .json(&json!({"username": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    login.json().await.unwrap()
}

#[tokio::test]
async fn a_client_registers_logs_in_uses_refreshes_and_logs_out() {
    let base = start().await;
    let http = Client::new();
    let notes = format!("{base}/notes");

    // Anonymous: refused.
    let anonymous = http.get(&notes).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let tokens = register_and_login(&http, &base, "ann@example.com").await;
    assert_eq!(tokens["token_type"], "bearer");
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();

    // The protected resource, with the bearer token.
    let created = http
        .post(&notes)
        .bearer_auth(access)
        .json(&json!({"text": "buy milk"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let mine: Value = http
        .get(&notes)
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine, json!([{"text": "buy milk"}]));

    // Another user sees only their own notes.
    let other = register_and_login(&http, &base, "bob@example.com").await;
    let theirs: Value = http
        .get(&notes)
        .bearer_auth(other["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(theirs, json!([]));

    // Refresh: the refresh token buys a new pair.
    let refreshed = http
        .post(format!("{base}/auth/jwt/refresh"))
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::OK);
    let pair: Value = refreshed.json().await.unwrap();
    let access = pair["access_token"].as_str().unwrap();
    let listed = http.get(&notes).bearer_auth(access).send().await.unwrap();
    assert_eq!(listed.status(), StatusCode::OK);

    // Logout ends the session: its access token is refused from now on.
    let logout = http
        .post(format!("{base}/auth/jwt/logout"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let after = http.get(&notes).bearer_auth(access).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    let refresh_after = http
        .post(format!("{base}/auth/jwt/refresh"))
        .json(&json!({"refresh_token": pair["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(refresh_after.status(), StatusCode::UNAUTHORIZED);
}
