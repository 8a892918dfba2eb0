//! When a backing service fails: fail closed (no token issued, no token accepted), answer
//! `503` or `500`, and never put the internal error in a body
//! (ASVS5 16.5.3; `docs/SECURITY.md`, "Authorisation").

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use async_trait::async_trait;
use auth_core::{
    Admission, Admitted, MemorySessionStore, Renewal, Rotation, Session, SessionId, SessionMark,
    SessionStore, StoreError, TokenHash, UserId,
};
use axum::http::StatusCode;
use serde_json::json;
use time::OffsetDateTime;

use crate::harness::*;

const UP: u8 = 0;
const UNAVAILABLE: u8 = 1;
const BROKEN: u8 = 2;

/// A memory session store that can be switched off.
#[derive(Debug, Default)]
struct FlakySessions {
    inner: MemorySessionStore,
    state: AtomicU8,
}

impl FlakySessions {
    fn check(&self) -> Result<(), StoreError> {
        match self.state.load(Ordering::SeqCst) {
            UNAVAILABLE => Err(StoreError::unavailable(std::io::Error::other(
                "connection refused: redis://10.0.0.5:6379 password=hunter2",
            ))),
            BROKEN => Err(StoreError::backend(std::io::Error::other(
                "ERROR: relation \"sessions\" does not exist at SELECT refresh_hash FROM sessions",
            ))),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl SessionStore for FlakySessions {
    async fn mark(&self, user_id: UserId) -> Result<SessionMark, StoreError> {
        self.check()?;
        self.inner.mark(user_id).await
    }
    async fn create(
        &self,
        session: &Session,
        admission: &Admission,
    ) -> Result<Admitted, StoreError> {
        self.check()?;
        self.inner.create(session, admission).await
    }
    async fn get(&self, id: SessionId, now: OffsetDateTime) -> Result<Option<Session>, StoreError> {
        self.check()?;
        self.inner.get(id, now).await
    }
    async fn rotate(
        &self,
        id: SessionId,
        presented: &TokenHash,
        renewal: &Renewal,
    ) -> Result<Rotation, StoreError> {
        self.check()?;
        self.inner.rotate(id, presented, renewal).await
    }
    async fn revoke(&self, id: SessionId) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.revoke(id).await
    }
    async fn revoke_all(
        &self,
        user_id: UserId,
        except: Option<SessionId>,
    ) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.revoke_all(user_id, except).await
    }
    async fn list(&self, user_id: UserId, now: OffsetDateTime) -> Result<Vec<Session>, StoreError> {
        self.check()?;
        self.inner.list(user_id, now).await
    }
}

fn app() -> (App, Arc<FlakySessions>) {
    let sessions = Arc::new(FlakySessions::default());
    let parts = App::auth_over(
        reference_manager_config(),
        reference_auth_config(),
        sessions.clone(),
    );
    let router = parts.0.routes();
    (App::from_parts(router, parts), sessions)
}

#[track_caller]
fn assert_nothing_internal(res: &Resp) {
    let body = res.text();
    for needle in [
        "redis", "hunter2", "SELECT", "relation", "refused", "sessions",
    ] {
        assert!(!body.contains(needle), "{needle} in {body}");
    }
}

#[tokio::test]
async fn an_unavailable_session_store_is_503_and_fails_closed() {
    let (app, sessions) = app();
    let (_, login) = app.user("alice@example.com").await;
    let jar = app.cookie_login("alice@example.com").await;
    sessions.state.store(UNAVAILABLE, Ordering::SeqCst);

    let responses = [
        app.send(
            post("/auth/jwt/login")
                .form(&[("username", "alice@example.com"), ("password", PASSWORD)]),
        )
        .await,
        app.send(
            post("/auth/cookie/login")
                .form(&[("username", "alice@example.com"), ("password", PASSWORD)]),
        )
        .await,
        // A valid token is not accepted when its session cannot be checked.
        app.me(&login.access).await,
        app.send(get("/users/me").cookies(&jar)).await,
        app.send(post("/auth/jwt/refresh").json(json!({"refresh_token": login.refresh})))
            .await,
        app.send(post("/auth/jwt/logout").bearer(&login.access))
            .await,
    ];
    for res in responses {
        res.assert_detail(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
        assert_eq!(
            res.header("retry-after"),
            Some("2"),
            "the client may retry soon"
        );
        assert!(res.set_cookies().is_empty(), "no token issued");
        assert_nothing_internal(&res);
    }

    sessions.state.store(UP, Ordering::SeqCst);
    assert_eq!(app.me(&login.access).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_broken_session_store_is_a_bare_500() {
    let (app, sessions) = app();
    let (_, login) = app.user("alice@example.com").await;
    sessions.state.store(BROKEN, Ordering::SeqCst);
    for res in [
        app.send(
            post("/auth/jwt/login")
                .json(json!({"username": "alice@example.com", "password": PASSWORD})),
        )
        .await,
        app.me(&login.access).await,
        app.send(get("/users/me/sessions").bearer(&login.access))
            .await,
    ] {
        res.assert_detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        assert!(res.set_cookies().is_empty());
        assert_nothing_internal(&res);
    }
}
