//! The superusers' session and user-list routes through the reference server's binary, on
//! SQLite and on Postgres with sessions in Redis.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_e2e::server::{Backend, Config};
use auth_e2e::server_admin;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_admin_revokes_another_users_sessions() {
    server_admin::an_admin_revokes_another_users_sessions(Config::new(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_redis_an_admin_revokes_another_users_sessions() {
    server_admin::an_admin_revokes_another_users_sessions(
        Config::new(Backend::PostgresRedis).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_admin_filters_and_sorts_the_user_list() {
    server_admin::an_admin_filters_and_sorts_the_user_list(Config::new(Backend::Sqlite).await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_redis_an_admin_filters_and_sorts_the_user_list() {
    server_admin::an_admin_filters_and_sorts_the_user_list(
        Config::new(Backend::PostgresRedis).await,
    )
    .await;
}
