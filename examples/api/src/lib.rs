//! A JSON API for a mobile app or a single-page app: bearer tokens only (no cookies), users
//! in SQLite, and one protected resource, each user's own notes.
//!
//! The client registers (`POST /auth/register`), logs in (`POST /auth/jwt/login`) for an
//! access and a refresh token, sends `Authorization: Bearer <access_token>`, trades the
//! refresh token for a new pair when the access token expires (`POST /auth/jwt/refresh`),
//! and logs out (`POST /auth/jwt/logout`).

use std::collections::HashMap;
use std::sync::Arc;

use auth_axum::{Auth, AuthConfig, AuthCore, Backend, CurrentUser, JsonBody, json_response};
use auth_core::{JwtAlgorithm, JwtCodec, JwtKeys, NoProfile, UserId, UserManager};
use auth_sqlx::{DbConfig, SqliteSessionStore, SqliteUserStore, migrate_sqlite};
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Router, routing::get};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

/// A note, as the client sends and reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Note {
    /// What the note says.
    pub text: String,
}

/// Every user's notes (in memory: the example is about the tokens, not the storage).
type Notes = Arc<RwLock<HashMap<UserId, Vec<Note>>>>;

/// The app's state: the profile-free part of the auth state for `CurrentUser`, and the app's
/// own data.
#[derive(Clone, FromRef)]
struct AppState {
    auth: AuthCore,
    notes: Notes,
}

/// `GET /notes`: the caller's notes.
async fn list_notes(user: CurrentUser, State(notes): State<Notes>) -> Response {
    let notes = notes.read().await;
    let mine = notes.get(&user.id).map(Vec::as_slice).unwrap_or_default();
    json_response(StatusCode::OK, &mine)
}

/// `POST /notes`: adds a note for the caller.
async fn add_note(
    user: CurrentUser,
    State(notes): State<Notes>,
    JsonBody(note): JsonBody<Note>,
) -> Response {
    notes
        .write()
        .await
        .entry(user.id)
        .or_default()
        .push(note.clone());
    json_response(StatusCode::CREATED, &note)
}

/// The app over the SQLite database at `url`, signing tokens with `secret` (32+ bytes).
///
/// # Errors
/// When the database cannot be opened or migrated, or the secret is too short.
pub async fn app(url: &str, secret: &[u8]) -> Result<Router, Box<dyn std::error::Error>> {
    let pool = DbConfig::new(url).connect_sqlite().await?;
    migrate_sqlite(&pool).await?;
    let manager = UserManager::<NoProfile>::builder(
        Arc::new(SqliteUserStore::new(pool.clone())),
        Arc::new(SqliteSessionStore::new(pool)),
        JwtCodec::new(JwtKeys::hmac(JwtAlgorithm::HS256, secret)?, "api-example"),
    )
    .build();
    // One backend, bearer tokens in JSON, mounted at `/auth/jwt`.
    let auth = Auth::new(
        manager,
        AuthConfig::default().with_backends([Backend::bearer("jwt")]),
    );
    let state = AppState {
        auth: auth.core(),
        notes: Notes::default(),
    };
    Ok(Router::new()
        .route("/notes", get(list_notes).post(add_note))
        .merge(auth.routes())
        .with_state(state))
}
