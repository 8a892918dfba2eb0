//! `GET /users/me/events` and the superusers' `GET /users/{id}/events`: a user's recent
//! activity from the audit log, newest first.

use std::collections::HashMap;

use auth_core::{AuditEvent, AuditQuery, Profile, SessionId, UserId};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;
use time::OffsetDateTime;

use super::Auth;
use super::paging::limit_offset;
use super::path_id::PathId;
use crate::error::ApiError;
use crate::extract::{CurrentUser, RequireAdmin};
use crate::json::json_response;

pub(super) fn routes<P: Profile>() -> Router<Auth<P>> {
    Router::new()
        .route("/users/me/events", get(mine::<P>))
        .route("/users/{id}/events", get(theirs::<P>))
}

/// One event as the routes show it.
#[derive(Debug, Serialize)]
struct EventRead {
    id: uuid::Uuid,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    kind: String,
    method: Option<String>,
    detail: Option<String>,
    session_id: Option<SessionId>,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl From<AuditEvent> for EventRead {
    fn from(event: AuditEvent) -> Self {
        Self {
            id: event.id(),
            at: event.at(),
            kind: event.kind().to_owned(),
            method: event.method().map(str::to_owned),
            detail: event.detail().map(str::to_owned),
            session_id: event.session_id(),
            ip: event.ip().map(|ip| ip.to_string()),
            user_agent: event.user_agent().map(str::to_owned),
        }
    }
}

/// One page of events and the user's total.
#[derive(Debug, Serialize)]
struct EventPage {
    items: Vec<EventRead>,
    total: u64,
}

async fn page<P: Profile>(
    auth: &Auth<P>,
    user_id: UserId,
    params: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let (limit, offset) = limit_offset(params)?;
    let page = auth
        .manager()
        .user_events(user_id, &AuditQuery { limit, offset })
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &EventPage {
            items: page.items.into_iter().map(EventRead::from).collect(),
            total: page.total,
        },
    ))
}

async fn mine<P: Profile>(
    State(auth): State<Auth<P>>,
    user: CurrentUser,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    page(&auth, user.id, &params).await
}

async fn theirs<P: Profile>(
    State(auth): State<Auth<P>>,
    _admin: RequireAdmin,
    PathId(id): PathId<UserId>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    // An unknown user is a 404, as for the user's other routes.
    let user = auth.manager().get_user(id).await?;
    page(&auth, user.id, &params).await
}
