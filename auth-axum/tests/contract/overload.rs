//! Back-pressure on the password hasher: a login, registration or reset beyond the bounded
//! hashing queue is answered `503` with `Retry-After` at once, the same for every account,
//! while requests that do not hash are served as usual.

use std::sync::Arc;

use auth_axum::Auth;
use auth_core::conformance::{CountingHasher, HeldHasher};
use auth_core::{
    HashAdmission, ManagerConfig, ManualClock, MemoryMailer, MemorySessionStore, MemoryUserStore,
    UserManager,
};
use axum::http::StatusCode;
use serde_json::json;

use crate::harness::*;

/// The reference app with one hashing slot and no queue, over a hasher the test can hold.
fn app() -> (App, Arc<HeldHasher>) {
    let hasher = Arc::new(HeldHasher::new());
    let clock = ManualClock::starting_now();
    let mailer = MemoryMailer::new();
    let manager = UserManager::<Names>::builder(
        Arc::new(MemoryUserStore::new()),
        Arc::new(MemorySessionStore::new()),
        codec(),
    )
    .with_hasher(hasher.clone())
    .with_clock(Arc::new(clock.clone()))
    .with_mailer(Arc::new(mailer.clone()))
    .with_config(ManagerConfig {
        hash_admission: Some(HashAdmission {
            slots: 1,
            queue: 0,
            retry_after: time::Duration::seconds(3),
        }),
        ..reference_manager_config()
    })
    .build();
    let auth = Auth::new(manager, reference_auth_config());
    let router = auth.routes();
    let parts = (auth, Arc::new(CountingHasher::new()), clock, mailer);
    (App::from_parts(router, parts), hasher)
}

#[track_caller]
fn assert_overloaded(res: &Resp) {
    res.assert_detail(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
    assert_eq!(res.header("retry-after"), Some("3"), "{}", res.text());
    assert!(res.set_cookies().is_empty(), "no token issued");
}

#[tokio::test]
async fn a_full_hashing_queue_is_503_with_retry_after_and_gets_still_answer() {
    let (app, hasher) = app();
    let (_, alice) = app.user("alice@example.com").await;
    let entered = hasher.entered();
    hasher.hold().await;

    let waiting = app.send(
        post("/auth/jwt/login")
            .json(json!({"username": "alice@example.com", "password": "a wrong guess!"})),
    );
    let refused = async {
        hasher.until_entered(entered + 1).await;
        let answers = [
            app.send(
                post("/auth/jwt/login")
                    .json(json!({"username": "alice@example.com", "password": PASSWORD})),
            )
            .await,
            app.send(
                post("/auth/jwt/login")
                    .json(json!({"username": "nobody@example.com", "password": PASSWORD})),
            )
            .await,
            app.send(
                post("/auth/cookie/login")
                    .form(&[("username", "alice@example.com"), ("password", PASSWORD)]),
            )
            .await,
            app.send(
                post("/auth/register")
                    .json(json!({"email": "bob@example.com", "password": PASSWORD})),
            )
            .await,
        ];
        // An authenticated GET does not hash: served while the queue is full.
        let me = app.me(&alice.access).await;
        let during = hasher.entered();
        hasher.release();
        (answers, me, during)
    };
    let (waited, (answers, me, during)) = tokio::join!(waiting, refused);

    waited.assert_detail(StatusCode::BAD_REQUEST, "LOGIN_BAD_CREDENTIALS");
    for res in &answers {
        assert_overloaded(res);
    }
    // The two refused logins are answered byte for byte alike, known account or not.
    assert_eq!(answers[0].body, answers[1].body);
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        during,
        entered + 1,
        "the refused requests never reached the hasher"
    );
    // Once the queue has room again, everything is served.
    app.login("alice@example.com").await;
    app.register("bob@example.com").await;
}
