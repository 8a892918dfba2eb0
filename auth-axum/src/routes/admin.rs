//! The superusers' `/users` and `/users/{id}`.

use std::collections::HashMap;

use auth_core::{Profile, User, UserId, UserQuery};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Map, Value};

use super::Auth;
use super::paging::limit_offset;
use super::path_id::PathId;
use super::update_body::admin_update;
use crate::error::{Action, ApiError};
use crate::extract::RequireAdmin;
use crate::json::{JsonBody, json_response};

pub(super) fn routes<P: Profile>() -> Router<Auth<P>> {
    Router::new().route("/users", get(list::<P>)).route(
        "/users/{id}",
        get(read::<P>).patch(update::<P>).delete(remove::<P>),
    )
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
    let (limit, offset) = limit_offset(&params)?;
    let query = UserQuery {
        limit,
        offset,
        email_contains: params.get("email").filter(|e| !e.is_empty()).cloned(),
    };
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
