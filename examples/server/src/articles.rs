//! The roles demo: anyone reads articles, authors write them, superusers delete them.

use std::sync::{Arc, Mutex};

use auth_axum::{AuthState, JsonBody, RequireAdmin, RequireAuthor, RequireRole, json_response};
use auth_core::UserId;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// One article.
#[derive(Debug, Clone, Serialize)]
pub struct Article {
    id: Uuid,
    title: String,
    body: String,
    author_id: UserId,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

/// What an author sends.
#[derive(Debug, Deserialize)]
pub struct NewArticle {
    title: String,
    body: String,
}

/// The articles, in memory: the demo is about the role checks, not about storage.
#[derive(Debug, Clone, Default)]
pub struct Articles(Arc<Mutex<Vec<Article>>>);

impl Articles {
    fn all(&self) -> std::sync::MutexGuard<'_, Vec<Article>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[derive(Clone)]
struct DemoState {
    auth: AuthState,
    articles: Articles,
}

impl axum::extract::FromRef<DemoState> for AuthState {
    fn from_ref(state: &DemoState) -> Self {
        state.auth.clone()
    }
}

/// `GET /articles`, `POST /articles`, `DELETE /articles/{id}`.
pub fn routes<S: Clone + Send + Sync + 'static>(auth: AuthState, articles: Articles) -> Router<S> {
    Router::new()
        .route("/articles", get(list).post(create))
        .route("/articles/{id}", delete(remove))
        .with_state(DemoState { auth, articles })
}

async fn list(State(state): State<DemoState>) -> Response {
    json_response(StatusCode::OK, &*state.articles.all())
}

async fn create(
    State(state): State<DemoState>,
    RequireRole(user, ..): RequireAuthor,
    JsonBody(new): JsonBody<NewArticle>,
) -> Response {
    let article = Article {
        id: Uuid::now_v7(),
        title: new.title,
        body: new.body,
        author_id: user.id,
        created_at: OffsetDateTime::now_utc(),
    };
    state.articles.all().push(article.clone());
    json_response(StatusCode::CREATED, &article)
}

async fn remove(
    State(state): State<DemoState>,
    _admin: RequireAdmin,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<Uuid>() else {
        return auth_axum::ApiError::not_found().into_response();
    };
    let mut articles = state.articles.all();
    let before = articles.len();
    articles.retain(|article| article.id != id);
    if articles.len() == before {
        auth_axum::ApiError::not_found().into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    }
}
