//! The axum-login reference point: `AuthSession` on a session cookie, sessions in
//! tower-sessions' `MemoryStore`, one user in memory (the crate's own example, reduced).
//!
//! The session cookie is named `access_token`, so the harness's cookie credential carries it
//! unchanged. The user logs in once through the app's own `POST /login` before the `READY`
//! line; each GET then loads the session from the store, the user from the backend, and
//! checks the user's session hash, as axum-login does on every request.

use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::{get, post};
use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend, UserId};
use tower::ServiceExt as _;
use tower_sessions::{MemoryStore, SessionManagerLayer};

use crate::BoxError;
use crate::server::HELLO;

#[derive(Debug, Clone)]
pub(crate) struct User {
    id: i64,
    pw_hash: Vec<u8>,
}

impl AuthUser for User {
    type Id = i64;

    fn id(&self) -> Self::Id {
        self.id
    }

    fn session_auth_hash(&self) -> &[u8] {
        &self.pw_hash
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Backend {
    user: User,
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = i64;
    type Error = Infallible;

    async fn authenticate(&self, id: i64) -> Result<Option<User>, Infallible> {
        Ok((id == self.user.id).then(|| self.user.clone()))
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<User>, Infallible> {
        Ok((*id == self.user.id).then(|| self.user.clone()))
    }
}

async fn hello(session: AuthSession<Backend>) -> Result<&'static str, StatusCode> {
    match session.user {
        Some(user) => {
            std::hint::black_box(user);
            Ok(HELLO)
        }
        None => Err(StatusCode::UNAUTHORIZED),
    }
}

async fn login(mut session: AuthSession<Backend>) -> StatusCode {
    match session.authenticate(1).await {
        Ok(Some(user)) if session.login(&user).await.is_ok() => StatusCode::NO_CONTENT,
        _ => StatusCode::UNAUTHORIZED,
    }
}

/// The app, and the session id of its logged-in user.
pub(crate) async fn router() -> Result<(Router, String), BoxError> {
    let backend = Backend {
        user: User {
            id: 1,
            pw_hash: b"bench password hash".to_vec(),
        },
    };
    let sessions = SessionManagerLayer::new(MemoryStore::default())
        .with_name("access_token")
        .with_secure(false);
    let router = Router::new()
        .route("/", get(hello))
        .route("/login", post(login))
        .layer(AuthManagerLayerBuilder::new(backend, sessions).build());
    let response = router
        .clone()
        .oneshot(Request::post("/login").body(Body::empty())?)
        .await?;
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .and_then(|pair| pair.strip_prefix("access_token="))
        .ok_or_else(|| format!("axum-login: no session cookie ({})", response.status()))?
        .to_owned();
    Ok((router, cookie))
}
