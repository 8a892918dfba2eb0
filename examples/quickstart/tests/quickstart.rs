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
