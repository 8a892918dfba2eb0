//! The superusers' `/users`, `/users/{id}` and `/users/{id}/sessions`.

use std::collections::HashMap;

use auth_core::{Profile, SessionId, User, UserId};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::Serialize;
use serde_json::{Map, Value};

use super::Auth;
use super::path_id::{PathId, PathIds};
use super::session_read::SessionRead;
use super::update_body::admin_update;
use super::user_list_query::user_query;
use crate::error::{Action, ApiError};
use crate::extract::RequireAdmin;
use crate::json::{JsonBody, json_response};

pub(super) fn routes<P: Profile>() -> Router<Auth<P>> {
    Router::new()
        .route("/users", get(list::<P>))
        .route(
            "/users/{id}",
            get(read::<P>).patch(update::<P>).delete(remove::<P>),
        )
        .route(
            "/users/{id}/sessions",
            get(list_sessions::<P>).delete(revoke_all::<P>),
        )
        .route("/users/{id}/sessions/{sid}", delete(revoke_one::<P>))
}

#[derive(Serialize)]
#[serde(bound = "P: Profile")]
struct UserPage<P> {
    items: Vec<User<P>>,
    total: u64,
}

async fn list<P: Profile>(
    State(auth): State<Auth<P>>,
    _admin: RequireAdmin,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let query = user_query(&params)?;
    let page = auth.manager().list_users(&query).await?;
    Ok(json_response(
        StatusCode::OK,
        &UserPage {
            items: page.items,
            total: page.total,
        },
    ))
}

async fn read<P: Profile>(
    State(auth): State<Auth<P>>,
    _admin: RequireAdmin,
    PathId(id): PathId<UserId>,
) -> Result<Response, ApiError> {
    let user = auth.manager().get_user(id).await?;
    Ok(json_response(StatusCode::OK, &user))
}

async fn update<P: Profile>(
    State(auth): State<Auth<P>>,
    _admin: RequireAdmin,
    PathId(id): PathId<UserId>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let manager = auth.manager();
    let current = manager.get_user(id).await?;
    let update = admin_update(body, &current.profile)?;
    let updated = manager
        .update_user(current.id, update)
        .await
        .map_err(|err| ApiError::from_auth(err, Action::Update))?;
    Ok(json_response(StatusCode::OK, &updated))
}

async fn remove<P: Profile>(
    State(auth): State<Auth<P>>,
    _admin: RequireAdmin,
    PathId(id): PathId<UserId>,
) -> Result<Response, ApiError> {
    auth.manager().delete_user(id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Another user's live sessions, oldest first, shaped as `GET /users/me/sessions` shapes
/// them (`current` marks the administrator's own session, when they list their own).
async fn list_sessions<P: Profile>(
    State(auth): State<Auth<P>>,
    RequireAdmin(admin): RequireAdmin,
    PathId(id): PathId<UserId>,
) -> Result<Response, ApiError> {
    let sessions: Vec<SessionRead> = auth
        .manager()
        .admin_list_sessions(id)
        .await?
        .into_iter()
        .map(|session| SessionRead::new(session, admin.session_id))
        .collect();
    Ok(json_response(StatusCode::OK, &sessions))
}

/// One session of the user in the path; a session of anyone else is not found.
async fn revoke_one<P: Profile>(
    State(auth): State<Auth<P>>,
    _admin: RequireAdmin,
    PathIds(id, session): PathIds<UserId, SessionId>,
) -> Result<Response, ApiError> {
    auth.manager().admin_revoke_session(id, session).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Every session of the user in the path.
async fn revoke_all<P: Profile>(
    State(auth): State<Auth<P>>,
    _admin: RequireAdmin,
    PathId(id): PathId<UserId>,
) -> Result<Response, ApiError> {
    auth.manager().admin_revoke_sessions(id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
