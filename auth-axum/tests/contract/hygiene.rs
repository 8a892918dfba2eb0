//! HTTP hygiene in-process: the redirect rule after login, request ids, and the early `413`.

use auth_axum::{RequestIdLayer, safe_next};
use axum::Router;
use axum::http::{HeaderName, StatusCode};
use axum::routing;

use crate::harness::*;

#[test]
fn next_is_accepted_only_as_a_path_of_this_site() {
    for attack in [
        "/%5Cevil.com",
        "/\\evil.com",
        "/%09/evil.com",
        "//evil.com",
        "https://evil.com",
        "/%2F/evil.com",
        "/%2f%2fevil.com",
        "/%0A/evil.com",
        "/%0D/evil.com",
        "/%00",
        "/\t/evil.com",
        "evil.com",
        "",
    ] {
        assert_eq!(safe_next(attack), None, "{attack:?}");
    }
    for path in ["/account", "/account?tab=a", "/"] {
        assert_eq!(safe_next(path), Some(path));
    }
}

const REQUEST_ID: &str = "x-request-id";

/// The contract routers behind the request id layer, with a route that echoes the id the
/// request carried on to the handlers.
fn with_request_ids() -> App {
    let mut app = App::new();
    app.router = Router::new()
        .route(
            "/id",
            routing::get(|headers: axum::http::HeaderMap| async move {
                headers
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            }),
        )
        .merge(app.router.clone())
        .layer(RequestIdLayer::new(HeaderName::from_static(REQUEST_ID)));
    app
}

fn assert_fresh_uuid(res: &Resp, sent: &[u8]) {
    let id = res.header(REQUEST_ID).expect("a request id");
    assert!(id.parse::<uuid::Uuid>().is_ok(), "{id}");
    assert_ne!(id.as_bytes(), sent);
    // The handler saw the same, replaced id.
    assert_eq!(res.text(), id);
}

#[tokio::test]
async fn client_request_ids_are_kept_only_when_harmless() {
    let app = with_request_ids();
    let too_long = "a".repeat(129);
    for bad in [
        too_long.as_bytes(),
        b"abc def",
        b"x\" level=error msg=\"forged",
        "caf\u{e9}".as_bytes(),
        b"\xff\xfe",
    ] {
        let res = app.send(get("/id").header_bytes(REQUEST_ID, bad)).await;
        assert_eq!(res.status, StatusCode::OK);
        assert_fresh_uuid(&res, bad);
    }
    let good = "Req-42_a.b";
    let longest = "z".repeat(128);
    for good in [good, longest.as_str()] {
        let res = app.send(get("/id").header(REQUEST_ID, good)).await;
        assert_eq!(res.header(REQUEST_ID), Some(good));
        assert_eq!(res.text(), good);
    }
    // No id: a new one, on the contract's routes as well.
    let res = app.send(get("/users/me")).await;
    res.assert_unauthorized();
    assert!(
        res.header(REQUEST_ID)
            .is_some_and(|id| id.parse::<uuid::Uuid>().is_ok())
    );
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_413_on_every_auth_route() {
    let app = App::new();
    for path in [
        "/auth/jwt/login",
        "/auth/register",
        "/auth/jwt/logout",
        "/auth/forgot-password",
    ] {
        let res = app
            .send(post(path).header("content-length", "100000000"))
            .await;
        res.assert_detail(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large");
    }
}
