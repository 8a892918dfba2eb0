//! The quick start works as its README says.
#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

#[tokio::test]
async fn the_public_route_is_public_and_the_protected_one_is_not() {
    let app = quickstart::app("sqlite::memory:", &[42; 32]).await.unwrap();
    let public = app
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::OK);
    let protected = app
        .clone()
        .oneshot(Request::get("/me").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(protected.status(), StatusCode::UNAUTHORIZED);
    let register = Request::post("/auth/register")
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"email":"me@example.com","password":"a long passphrase"}"#,
        ))
        .unwrap();
    assert_eq!(
        app.clone().oneshot(register).await.unwrap().status(),
        StatusCode::CREATED
    );
    let login = Request::post("/auth/jwt/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(
            "username=me%40example.com&password=a+long+passphrase",
        ))
        .unwrap();
    let response = app.clone().oneshot(login).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    let body = String::from_utf8(body.to_vec()).unwrap();
    let token = body
        .split("\"access_token\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let me = Request::get("/me")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(me).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// A start-up error reaches the terminal as a sentence, not as a `Debug` dump.
#[test]
fn a_start_up_error_is_reported_as_a_sentence() {
    let dir = std::env::temp_dir().join(format!("quickstart-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .current_dir(&dir)
        .env("JWT_SECRET_KEY", "too short")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("error: jwt hmac secret is shorter than 32 bytes"),
        "{stderr}"
    );
    assert!(!stderr.contains("WeakSecret"), "{stderr}");
}
