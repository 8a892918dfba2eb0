//! The HTTP suite over MySQL (MariaDB) users with sessions and rate limits in one Redis.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use auth_e2e::Stack;
use auth_e2e::services::{fresh_mysql, redis_single};
use auth_redis::{RedisRateLimiter, RedisSessionStore};
use auth_sqlx::MySqlUserStore;

async fn stack() -> Stack {
    let pool = fresh_mysql().await;
    let redis = redis_single().await;
    Stack {
        name: "mysql+redis",
        users: Arc::new(MySqlUserStore::new(pool)),
        sessions: Arc::new(RedisSessionStore::new(redis.clone())),
        limiter: Arc::new(RedisRateLimiter::new(redis)),
    }
}

auth_e2e::http_suite!(stack().await);
