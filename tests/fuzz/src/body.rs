//! The `body` target: request bodies of the routes that read credentials and tokens (login
//! over both backends, register, refresh, verify, reset, the mail requests), as JSON, a form,
//! multipart or under any content type, sent through the real router with `oneshot`.
//!
//! Properties, for any bytes:
//!
//! - never a server error: every answer is one of the contract's statuses for that route;
//! - a `422` carries FastAPI's body, `{"detail": [{"type", "loc", "msg", ...}]}` with a
//!   location under `body`; every other error carries `{"detail": ...}`; both as JSON;
//! - a login succeeds only with the right password for the fixture's user.

use std::cell::RefCell;
use std::sync::Arc;

use auth_axum::{Auth, AuthConfig};
use auth_core::{
    Argon2Hasher, ClientInfo, Email, ManagerConfig, MemorySessionStore, MemoryUserStore, NewUser,
    NoProfile, RateLimits, UserManager,
};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::input::Input;
use crate::runtime::block_on;

const EMAIL: &str = "dave@example.com";
const PASSWORD: &str = "a quiet river at dawn";
const BOUNDARY: &str = "fuzzboundary";

/// The routes, and the statuses each may answer.
const ROUTES: &[(&str, &[u16])] = &[
    ("/auth/jwt/login", &[200, 400, 413, 415, 422]),
    ("/auth/cookie/login", &[204, 400, 403, 413, 415, 422]),
    ("/auth/register", &[201, 400, 413, 415, 422]),
    ("/auth/jwt/refresh", &[200, 401, 413, 415, 422]),
    ("/auth/verify", &[200, 400, 413, 415, 422]),
    ("/auth/reset-password", &[200, 400, 413, 415, 422]),
    ("/auth/forgot-password", &[202, 413, 415, 422]),
    ("/auth/request-verify-token", &[202, 413, 415, 422]),
];

thread_local! {
    static ROUTER: RefCell<Option<Router>> = const { RefCell::new(None) };
}

fn build() -> Router {
    let codec = auth_core::JwtCodec::new(
        auth_core::JwtKeys::hmac(
            auth_core::JwtAlgorithm::HS256,
            b"body target secret, 32 bytes!!!!",
        )
        .expect("an HMAC key"),
        "fuzz",
    );
    let manager = UserManager::<NoProfile>::builder(
        Arc::new(MemoryUserStore::new()),
        Arc::new(MemorySessionStore::new()),
        codec,
    )
    .with_hasher(Arc::new(Argon2Hasher::fast_insecure()))
    .with_config(ManagerConfig {
        rate_limits: RateLimits::none(),
        // The memory mailer would keep every mail: none is sent.
        send_verification_on_register: false,
        ..ManagerConfig::default()
    })
    .build();
    let email = Email::parse(EMAIL).expect("an address");
    block_on(manager.register(NewUser::new(email, PASSWORD), &ClientInfo::new(None, None)))
        .expect("the fixture's user registers");
    Auth::new(manager, AuthConfig::default()).routes()
}

pub(crate) fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let (path, allowed) = ROUTES[usize::from(input.byte()) % ROUTES.len()];
    let kind = input.byte() % 5;
    let content_type = match kind {
        0 => Some("application/json".to_owned()),
        1 => Some("application/x-www-form-urlencoded".to_owned()),
        2 => Some(format!("multipart/form-data; boundary={BOUNDARY}")),
        3 => None,
        _ => Some(input.text()),
    };
    let body = input.rest().to_vec();
    let mut request = Request::builder().method(Method::POST).uri(path);
    if let Some(content_type) = &content_type {
        request = request.header(header::CONTENT_TYPE, content_type.as_str());
    }
    let Ok(request) = request.body(Body::from(body.clone())) else {
        // A content type that is not a header value never reaches a server.
        return;
    };
    let response = ROUTER.with(|cell| {
        let router = cell.borrow_mut().get_or_insert_with(build).clone();
        block_on(router.oneshot(request)).expect("infallible")
    });
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    let bytes = block_on(response.into_body().collect())
        .expect("a body in memory")
        .to_bytes();
    let context = || {
        format!(
            "{path} {content_type:?} {:?} -> {status} {:?}",
            String::from_utf8_lossy(&body),
            String::from_utf8_lossy(&bytes)
        )
    };
    assert!(!status.is_server_error(), "{}", context());
    assert!(allowed.contains(&status.as_u16()), "{}", context());
    if status.is_client_error() {
        assert!(is_json, "an error that is not JSON: {}", context());
        let detail: Value = serde_json::from_slice(&bytes)
            .ok()
            .and_then(|mut value: Value| value.get_mut("detail").map(Value::take))
            .unwrap_or_else(|| panic!("an error without detail: {}", context()));
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            let items = detail
                .as_array()
                .filter(|items| !items.is_empty())
                .unwrap_or_else(|| panic!("a 422 without a list: {}", context()));
            for item in items {
                assert!(
                    item.get("type").is_some_and(Value::is_string),
                    "{}",
                    context()
                );
                assert!(
                    item.get("msg").is_some_and(Value::is_string),
                    "{}",
                    context()
                );
                let loc = item.get("loc").and_then(Value::as_array);
                assert!(
                    loc.and_then(|loc| loc.first()).and_then(Value::as_str) == Some("body"),
                    "a 422 outside the body: {}",
                    context()
                );
            }
        }
    }
    if status.is_success() && path.ends_with("/login") {
        let text = String::from_utf8_lossy(&body);
        assert!(
            // As typed, or escaped in some way (percent-encoding, `+`, a JSON escape).
            text.contains(PASSWORD)
                || text.contains(&PASSWORD.replace(' ', "+"))
                || text.contains('%')
                || text.contains('\\'),
            "a login without the password: {}",
            context()
        );
    }
}
