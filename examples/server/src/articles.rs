//! The roles demo: anyone reads articles, authors write them, superusers delete them. The
//! JSON API is at `/articles`; the page at `/blog` lists them for people, with a form for
//! authors.

use std::sync::{Arc, Mutex};

use auth_axum::{
    AuthCore, CurrentUser, JsonBody, RequireAdmin, RequireAuthor, RequireRole, json_response,
};
use auth_core::UserId;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::pages::{self, escape};

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
    auth: AuthCore,
    articles: Articles,
}

impl axum::extract::FromRef<DemoState> for AuthCore {
    fn from_ref(state: &DemoState) -> Self {
        state.auth.clone()
    }
}

/// `GET /articles`, `POST /articles`, `DELETE /articles/{id}`, and the page `GET /blog`.
pub fn routes<S: Clone + Send + Sync + 'static>(auth: AuthCore, articles: Articles) -> Router<S> {
    Router::new()
        .route("/blog", get(page))
        .route("/articles", get(list).post(create))
        .route("/articles/{id}", delete(remove))
        .with_state(DemoState { auth, articles })
}

async fn list(State(state): State<DemoState>) -> Response {
    json_response(StatusCode::OK, &*state.articles.all())
}

/// One article on the page, with a delete button for superusers.
fn article_html(article: &Article, can_delete: bool) -> String {
    let date = article
        .created_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let delete = if can_delete {
        format!(r#" <button data-article="{}">Delete</button>"#, article.id)
    } else {
        String::new()
    };
    format!(
        r#"<article><h2>{title}</h2><p class="meta"><time datetime="{date}">{day}</time>{delete}</p><p class="text">{body}</p></article>"#,
        title = escape(&article.title),
        day = escape(&article.created_at.date().to_string()),
        date = escape(&date),
        body = escape(&article.body),
    )
}

/// The script of the page: the form posts to the JSON API, the buttons delete.
const PAGE_SCRIPT: &str = r#"<script>
const form = document.getElementById('write');
if (form) form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const data = Object.fromEntries(new FormData(e.target).entries());
  const r = await send('/articles', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(data)});
  if (r.status === 201) location.reload(); else show('msg', explain(r), false);
});
document.querySelectorAll('button[data-article]').forEach(b => b.addEventListener('click', async () => {
  const r = await send('/articles/' + b.dataset.article, {method: 'DELETE'});
  if (r.status === 204) b.closest('article').remove(); else show('msg', explain(r), false);
}));
</script>"#;

/// `GET /blog`: every article, newest first; a form for authors.
async fn page(State(state): State<DemoState>, user: Option<CurrentUser>) -> Response {
    let can_delete = user.as_ref().is_some_and(|user| user.is_superuser);
    let list: String = state
        .articles
        .all()
        .iter()
        .rev()
        .map(|article| article_html(article, can_delete))
        .collect();
    let list = if list.is_empty() {
        r#"<p id="none">No articles yet.</p>"#.to_owned()
    } else {
        list
    };
    let write = match &user {
        Some(user) if user.has_role("author") => r#"<h2>Write an article</h2>
<form id="write"><label>Title <input name="title" required></label>
<label>Text <textarea name="body" rows="6" required></textarea></label>
<button>Publish</button></form>"#
            .to_owned(),
        Some(_) => "<p>Only authors can write articles.</p>".to_owned(),
        None => {
            r#"<p><a href="/login?next=/blog">Log in</a> as an author to write one.</p>"#.to_owned()
        }
    };
    pages::page(
        "Articles",
        &format!(
            r#"<p class="api">The same list as JSON: <a href="/articles">/articles</a>.</p>{write}<p id="msg"></p><section id="articles">{list}</section>{PAGE_SCRIPT}"#
        ),
    )
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
