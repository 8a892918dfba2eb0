//! The HTTP suite over SQLite users and sessions with the in-process limiter: the embedded
#![allow(clippy::unwrap_used)]
//! default of the reference server.

use std::sync::Arc;

use auth_core::MemoryRateLimiter;
use auth_e2e::Stack;
use auth_sqlx::{DbConfig, SqliteSessionStore, SqliteUserStore, migrate_sqlite};

async fn stack() -> Stack {
    let pool = DbConfig::new("sqlite::memory:")
        .connect_sqlite()
        .await
        .unwrap();
    migrate_sqlite(&pool).await.unwrap();
    Stack {
        name: "sqlite",
        users: Arc::new(SqliteUserStore::new(pool.clone())),
        sessions: Arc::new(SqliteSessionStore::new(pool)),
        limiter: Arc::new(MemoryRateLimiter::new()),
    }
}

auth_e2e::http_suite!(stack().await);
