//! `/users/me` and its sessions.

use auth_core::{Profile, SessionId};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde_json::{Map, Value};

use super::Auth;
use super::path_id::PathId;
use super::session_read::SessionRead;
use super::update_body::user_update;
use crate::config::Transport;
use crate::error::{Action, ApiError};
use crate::extract::CurrentUser;
use crate::json::{JsonBody, json_response};
use crate::transport::{TokenSource, clear_cookies};

pub(super) fn routes<P: Profile>() -> Router<Auth<P>> {
    Router::new()
        .route("/users/me", get(read::<P>).patch(update::<P>))
        .route(
            "/users/me/sessions",
            get(list_sessions::<P>).delete(revoke_all::<P>),
        )
        .route("/users/me/sessions/{id}", delete(revoke_one::<P>))
}

async fn read<P: Profile>(
    State(auth): State<Auth<P>>,
    user: CurrentUser,
) -> Result<Response, ApiError> {
    // A read that decides nothing: from the manager's user cache when it is on.
    match auth.manager().request_user(user.id).await {
        Ok(Some(found)) if found.is_active => Ok(json_response(StatusCode::OK, &found)),
        Ok(_) => Err(ApiError::unauthorized()),
        Err(err) => Err(auth_core::AuthError::from(err).into()),
    }
}

async fn update<P: Profile>(
    State(auth): State<Auth<P>>,
    user: CurrentUser,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let manager = auth.manager();
    let current = match manager.get_user(user.id).await {
        Ok(found) if found.is_active => found,
        Ok(_) | Err(auth_core::AuthError::UserNotFound) => return Err(ApiError::unauthorized()),
        Err(err) => return Err(err.into()),
    };
    let update = user_update(body, &current.profile)?;
    let updated = manager
        .update_self(user.id, Some(user.session_id), update)
        .await
        .map_err(|err| ApiError::from_auth(err, Action::Update))?;
    Ok(json_response(StatusCode::OK, &updated))
}

async fn list_sessions<P: Profile>(
    State(auth): State<Auth<P>>,
    user: CurrentUser,
) -> Result<Response, ApiError> {
    let sessions: Vec<SessionRead> = auth
        .manager()
        .list_sessions(user.id)
        .await?
        .into_iter()
        .map(|session| SessionRead::new(session, user.session_id))
        .collect();
    Ok(json_response(StatusCode::OK, &sessions))
}

async fn revoke_one<P: Profile>(
    State(auth): State<Auth<P>>,
    user: CurrentUser,
    PathId(id): PathId<SessionId>,
) -> Result<Response, ApiError> {
    auth.manager().revoke_session(user.id, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// "Log out everywhere", this session included; a cookie client's cookies are cleared too.
async fn revoke_all<P: Profile>(
    State(auth): State<Auth<P>>,
    user: CurrentUser,
) -> Result<Response, ApiError> {
    auth.manager().logout_everywhere(user.id).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if user.source == TokenSource::Cookie
        && let Some(Transport::Cookie(settings)) = auth
            .config()
            .backends
            .iter()
            .map(|backend| &backend.transport)
            .find(|transport| matches!(transport, Transport::Cookie(_)))
    {
        clear_cookies(response.headers_mut(), settings);
    }
    Ok(response)
}
