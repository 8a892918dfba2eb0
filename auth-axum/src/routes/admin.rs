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

fn query_int(params: &HashMap<String, String>, name: &str) -> Result<Option<i64>, ApiError> {
    params
        .get(name)
        .map(|raw| {
            raw.parse::<i64>().map_err(|_| {
                ApiError::validation(
                    "int_parsing",
                    &["query", name],
                    "Input should be a valid integer",
                    Value::String(raw.clone()),
                )
            })
        })
        .transpose()
}

async fn list<P: Profile>(
    State(auth): State<Auth<P>>,
    _admin: RequireAdmin,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let limit = query_int(&params, "limit")?.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::validation(
            "less_than_equal",
            &["query", "limit"],
            "Input should be between 1 and 100",
            Value::from(limit),
        ));
    }
    let offset = query_int(&params, "offset")?.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::validation(
            "greater_than_equal",
            &["query", "offset"],
            "Input should be greater than or equal to 0",
            Value::from(offset),
        ));
    }
    let query = UserQuery {
        limit: u32::try_from(limit).unwrap_or(50),
        offset: u64::try_from(offset).unwrap_or(0),
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
