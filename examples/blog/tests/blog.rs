//! The blog's roles, profile, hook and bootstrapped admin, over a real socket with reqwest.
#![allow(clippy::unwrap_used)]

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const ADMIN: (&str, &str) = ("admin@example.com", "seven amber lanterns sway");
const ANN: (&str, &str) = ("ann@example.com", "a quiet river at dawn");

/// Starts the blog on a free port of 127.0.0.1; returns its base URL.
async fn start() -> String {
    let app = blog::app(&[7; 32], ADMIN.0, ADMIN.1).await.unwrap();
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

async fn login(http: &Client, base: &str, (email, password): (&str, &str)) -> String {
    let response = http
        .post(format!("{base}/auth/jwt/login"))
        .json(&json!({"username": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    tokens["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn readers_read_authors_write_admins_delete() {
    let base = start().await;
    let http = Client::new();
    let posts = format!("{base}/posts");

    // The typed profile: a display name is required at registration, and kept.
    let nameless = http
        .post(format!("{base}/auth/register"))
        .json(&json!({"email": ANN.0, "password": ANN.1}))
        .send()
        .await
        .unwrap();
    assert_eq!(nameless.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let registered = http
        .post(format!("{base}/auth/register"))
        .json(&json!({"email": ANN.0, "password": ANN.1, "display_name": "Ann", "bio": "writes"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::CREATED);
    let ann: Value = registered.json().await.unwrap();
    assert_eq!(ann["display_name"], "Ann");
    assert_eq!(ann["roles"], json!(["reader"]));

    // The hook put every new member on the public list (the bootstrapped admin too).
    let members: Value = http
        .get(format!("{base}/members"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(members, json!(["Admin", "Ann"]));

    // A reader reads but does not write; anonymous visitors do neither.
    let anonymous = http.get(&posts).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let reader = login(&http, &base, ANN).await;
    let read = http.get(&posts).bearer_auth(&reader).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let post = json!({"title": "Hello", "body": "My first post"});
    let refused = http
        .post(&posts)
        .bearer_auth(&reader)
        .json(&post)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // The bootstrapped admin makes Ann an author; her old session ends with the change.
    let admin = login(&http, &base, ADMIN).await;
    let promoted = http
        .patch(format!("{base}/users/{}", ann["id"].as_str().unwrap()))
        .bearer_auth(&admin)
        .json(&json!({"roles": ["reader", "author"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(promoted.status(), StatusCode::OK);
    let stale = http.get(&posts).bearer_auth(&reader).send().await.unwrap();
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);

    // As an author she writes; the post is signed with her profile's display name.
    let author = login(&http, &base, ANN).await;
    let created = http
        .post(&posts)
        .bearer_auth(&author)
        .json(&post)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["author_name"], "Ann");
    let one = format!("{posts}/{}", created["id"]);

    // Only an admin deletes.
    let by_author = http.delete(&one).bearer_auth(&author).send().await.unwrap();
    assert_eq!(by_author.status(), StatusCode::FORBIDDEN);
    let by_admin = http.delete(&one).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(by_admin.status(), StatusCode::NO_CONTENT);
    let left: Value = http
        .get(&posts)
        .bearer_auth(&author)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(left, json!([]));
}

/// A start-up error reaches the terminal as a sentence, not as a `Debug` dump.
#[test]
fn a_refused_admin_password_is_reported_as_a_sentence() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_blog"))
        .env("JWT_SECRET_KEY", "0123456789abcdef0123456789abcdef")
        .env("ADMIN_EMAIL", "admin@example.com")
        .env("ADMIN_PASSWORD", "admin's long passphrase")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr.trim_end(),
        "error: invalid password: Password should not contain your e-mail address or username"
    );
}
