//! The smallest useful app: a stock axum router, users in SQLite, one public and one
//! protected route, and every route of the HTTP contract.
#![allow(missing_docs)]

use std::sync::Arc;

use auth_axum::{Auth, AuthConfig, Backend, CurrentUser};
use auth_core::{JwtAlgorithm, JwtCodec, JwtKeys, NoProfile, UserManager};
use auth_sqlx::{DbConfig, SqliteSessionStore, SqliteUserStore, migrate_sqlite};
use axum::{Router, routing::get};

async fn hello() -> &'static str {
    "hello, world"
}

async fn me(user: CurrentUser) -> String {
    format!("hello, user {}", user.id)
}

/// The app over the SQLite database at `url`, signing tokens with `secret` (32+ bytes).
pub async fn app(url: &str, secret: &[u8]) -> Result<Router, Box<dyn std::error::Error>> {
    let pool = DbConfig::new(url).connect_sqlite().await?;
    migrate_sqlite(&pool).await?;
    let codec = JwtCodec::new(JwtKeys::hmac(JwtAlgorithm::HS256, secret)?, "quickstart");
    let users = Arc::new(SqliteUserStore::new(pool.clone()));
    let manager =
        UserManager::<NoProfile>::builder(users, Arc::new(SqliteSessionStore::new(pool)), codec)
            .build();
    let auth = Auth::new(
        manager,
        AuthConfig::default().with_backends([Backend::bearer("jwt")]),
    );
    Ok(Router::new()
        .route("/", get(hello))
        .route("/me", get(me))
        .merge(auth.routes())
        .with_state(auth))
}

/// The README's Rust snippets, compiled by `cargo test -p quickstart --doc` so the README
/// cannot drift from the API.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
