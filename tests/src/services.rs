//! The real backing services the combinations need: a fresh Postgres schema or MySQL database
//! per test, and
//! Redis (single node or cluster) with a unique key prefix per test. Unreachable services
//! fail the test with a message saying how to start them; nothing is skipped.

use auth_redis::{RedisConfig, RedisConnection};
use auth_sqlx::sqlx::mysql::MySqlPoolOptions;
use auth_sqlx::sqlx::postgres::PgPoolOptions;
use auth_sqlx::sqlx::{AssertSqlSafe, Executor, MySqlPool, PgPool};
use auth_sqlx::{DbConfig, migrate_mysql, migrate_postgres};

/// The server to create test schemas in (`TEST_DATABASE_URL`, default
/// `postgres://postgres@127.0.0.1:5432/postgres`).
pub fn postgres_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A pool whose connections use a schema of their own, migrated.
pub async fn fresh_postgres() -> PgPool {
    let scoped = fresh_postgres_schema().await;
    let pool = DbConfig::new(scoped).connect_postgres().await.unwrap();
    migrate_postgres(&pool).await.unwrap();
    pool
}

/// A new, empty schema; returns a URL whose connections use it (`search_path`), for a
/// process that migrates it itself.
pub async fn fresh_postgres_schema() -> String {
    let url = postgres_url();
    let schema = format!("e2e_{}", crate::unique());
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap_or_else(|err| {
            panic!(
                "Postgres is unreachable at {url} ({err}); run `bash tests/run.sh`, which starts it"
            )
        });
    admin
        .execute(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .await
        .unwrap();
    admin.close().await;
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

/// The MySQL or MariaDB server to create test databases in (`TEST_MYSQL_URL`, default
/// `mysql://root@127.0.0.1:3306/test`).
pub fn mysql_url() -> String {
    std::env::var("TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned())
}

/// A new, empty MySQL database; returns its URL, for a process that migrates it itself. Left
/// behind for inspection, like the Postgres schemas; each has a unique name.
pub async fn fresh_mysql_database() -> String {
    let url = mysql_url();
    let name = format!("e2e_{}", crate::unique());
    let admin = MySqlPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap_or_else(|err| {
            panic!("MySQL is unreachable at {url} ({err}); run `bash tests/run.sh`, which starts MariaDB")
        });
    admin
        .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    admin.close().await;
    let (base, _) = url.split_once('?').unwrap_or((&url, ""));
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    format!("{server}/{name}")
}

/// A pool on a fresh MySQL database, migrated.
pub async fn fresh_mysql() -> MySqlPool {
    let url = fresh_mysql_database().await;
    let pool = DbConfig::new(url).connect_mysql().await.unwrap();
    migrate_mysql(&pool).await.unwrap();
    pool
}

/// A connection to the single Redis (`REDIS_URL`, default `redis://127.0.0.1:6379`) with a
/// unique key prefix.
pub async fn redis_single() -> RedisConnection {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    RedisConfig::from_url(&url)
        .unwrap()
        .with_key_prefix(&format!("e2e{}", crate::unique()))
        .unwrap()
        .connect()
        .await
        .unwrap_or_else(|err| {
            panic!(
                "Redis is unreachable at {url} ({err}); run `bash tests/run.sh`, which starts it"
            )
        })
}

/// A connection to the Redis Cluster of `REDIS_CLUSTER_URLS` (set by `tests/run.sh`), with a
/// unique key prefix.
pub async fn redis_cluster() -> RedisConnection {
    let urls = std::env::var("REDIS_CLUSTER_URLS").unwrap_or_else(|_| {
        panic!("REDIS_CLUSTER_URLS is not set; run `bash tests/run.sh`, which starts a cluster")
    });
    RedisConfig::cluster(urls.split(',').map(str::trim))
        .unwrap()
        .with_key_prefix(&format!("e2e{}", crate::unique()))
        .unwrap()
        .connect()
        .await
        .unwrap_or_else(|err| panic!("the Redis Cluster at {urls} is unreachable ({err})"))
}
