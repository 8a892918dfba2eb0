//! Micro-benchmarks of the extractors in process: a request through a `Router` with
//! `tower::ServiceExt::oneshot`, the handler taking `CurrentUser` (HS256, bearer or cookie),
//! with and without the revocation check on the memory session store, against the same
//! router with a handler that takes nothing.
//!
//! `cargo bench -p auth-axum --bench extractor`
// A benchmark fails loudly on a broken setup, like a test.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use auth_axum::{Auth, AuthConfig, CurrentUser, RequireReader};
use auth_core::{
    Argon2Hasher, ClientInfo, Email, JwtAlgorithm, JwtCodec, JwtKeys, ManagerConfig,
    MemorySessionStore, MemoryUserStore, NewUser, NoProfile, Password, Roles, UserManager,
};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;

const SECRET: &[u8] = b"a benchmark secret of 32 bytes!!";
const PASSWORD: &str = "correct horse battery staple 42";

/// State over memory stores with one logged-in reader, and their access token.
async fn state(check_revocation: bool) -> (Auth<NoProfile>, String) {
    let config = ManagerConfig {
        default_roles: Roles::from_iter(["reader"]),
        check_revocation,
        ..ManagerConfig::default()
    };
    let manager = UserManager::<NoProfile>::builder(
        Arc::new(MemoryUserStore::new()),
        Arc::new(MemorySessionStore::new()),
        JwtCodec::new(JwtKeys::hmac(JwtAlgorithm::HS256, SECRET).unwrap(), "bench"),
    )
    .with_hasher(Arc::new(Argon2Hasher::fast_insecure()))
    .with_config(config)
    .build();
    let client = ClientInfo::default();
    let email = Email::parse("reader@example.com").unwrap();
    manager
        .register(NewUser::new(email, PASSWORD), &client)
        .await
        .unwrap();
    let login = manager
        .login("reader@example.com", &Password::new(PASSWORD), &client)
        .await
        .unwrap();
    let state = Auth::new(manager, AuthConfig::default());
    (state, login.tokens.access_token)
}

async fn hello() -> &'static str {
    "Hello, World!"
}

async fn current_user(user: CurrentUser) -> &'static str {
    std::hint::black_box(user);
    "Hello, World!"
}

async fn reader(user: RequireReader) -> &'static str {
    std::hint::black_box(user);
    "Hello, World!"
}

fn extractors(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (plain, token) = runtime.block_on(state(false));
    let (revoking, revocable_token) = runtime.block_on(state(true));

    let bare: Router = Router::new().route("/", get(hello));
    let plain_router: Router = Router::new()
        .route("/", get(current_user))
        .route("/reader", get(reader))
        .with_state(plain);
    let revoking_router: Router = Router::new()
        .route("/", get(current_user))
        .with_state(revoking);

    let bearer = |path: &str, token: &str| {
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let cookie = |path: &str, token: &str| {
        Request::get(path)
            .header(header::COOKIE, format!("theme=dark; access_token={token}"))
            .body(Body::empty())
            .unwrap()
    };
    let mut group = c.benchmark_group("request through the router");
    type MakeRequest<'a> = Box<dyn Fn() -> Request<Body> + 'a>;
    let cases: [(&str, &Router, MakeRequest<'_>); 5] = [
        (
            "no extractor (baseline)",
            &bare,
            Box::new(|| bearer("/", &token)),
        ),
        (
            "CurrentUser, bearer HS256",
            &plain_router,
            Box::new(|| bearer("/", &token)),
        ),
        (
            "RequireRole<Reader>, cookie HS256",
            &plain_router,
            Box::new(|| cookie("/reader", &token)),
        ),
        (
            "CurrentUser, bearer HS256, revocation on the memory store",
            &revoking_router,
            Box::new(|| bearer("/", &revocable_token)),
        ),
        (
            "CurrentUser, no token (401)",
            &plain_router,
            Box::new(|| Request::get("/").body(Body::empty()).unwrap()),
        ),
    ];
    for (name, router, request) in &cases {
        let expected = if name.contains("401") {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        };
        group.bench_function(*name, |b| {
            b.to_async(&runtime).iter(|| {
                let router = (*router).clone();
                let request = request();
                async move {
                    let response = router.oneshot(request).await.unwrap();
                    assert_eq!(response.status(), expected);
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, extractors);
criterion_main!(benches);
