//! The MySQL stores against a real MariaDB or MySQL server: the whole conformance suite (every
//! race included), restarts, concurrent migrations, an unreachable server, a server that kills
//! its connections, and which errors mean "unavailable".
//!
//! Each test gets a database of its own, created for it and dropped with it. The server is
//! taken from `TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`, a user that may
//! create databases); if it cannot be reached the tests fail, they are never skipped.
#![cfg(feature = "mysql")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use auth_core::conformance::sessions::{admit, sample_session};
use auth_core::conformance::users::sample_user;
use auth_core::conformance::{Fixture, TestProfile, now_seconds, unique_tag};
use auth_core::{SessionStore, StoreError, UserId, UserQuery, UserStore};
use auth_sqlx::sqlx::mysql::MySqlPool;
use auth_sqlx::sqlx::{AssertSqlSafe, Connection, Executor, MySqlConnection};
use auth_sqlx::{DbConfig, MySqlAuditLog, MySqlSessionStore, MySqlUserStore, migrate_mysql};

fn admin_url() -> String {
    std::env::var("TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned())
}

/// `url` with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let (scheme, rest) = base.split_once("://").unwrap();
    let authority = rest.split('/').next().unwrap();
    match query {
        Some(query) => format!("{scheme}://{authority}/{database}?{query}"),
        None => format!("{scheme}://{authority}/{database}"),
    }
}

async fn connect(url: &str) -> MySqlConnection {
    MySqlConnection::connect(url).await.unwrap_or_else(|err| {
        panic!(
            "MySQL is not reachable at {url}: {err}. Start MariaDB or MySQL, or point \
             TEST_MYSQL_URL at a server where this user may create databases."
        )
    })
}

/// A fresh, empty database; dropped when the guard is.
#[derive(Debug)]
struct Database {
    name: String,
}

impl Database {
    async fn create() -> Self {
        let name = format!("auth_test_{}", unique_tag());
        let mut admin = connect(&admin_url()).await;
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .unwrap();
        admin.close().await.ok();
        Self { name }
    }

    fn url(&self) -> String {
        with_database(&admin_url(), &self.name)
    }

    async fn pool_of(&self, connections: u32) -> MySqlPool {
        let pool = DbConfig::new(self.url())
            .with_max_connections(connections)
            .connect_mysql()
            .await
            .unwrap();
        migrate_mysql(&pool).await.unwrap();
        pool
    }

    async fn pool(&self) -> MySqlPool {
        self.pool_of(5).await
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let url = admin_url();
        let sql = format!("DROP DATABASE IF EXISTS {}", self.name);
        // No async in `drop`: a thread with a runtime of its own does the cleanup.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(mut conn) = MySqlConnection::connect(&url).await {
                    let _ = conn.execute(AssertSqlSafe(sql)).await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

async fn user_store() -> Fixture<MySqlUserStore, Database> {
    let database = Database::create().await;
    let store = MySqlUserStore::new(database.pool().await);
    Fixture {
        store,
        guard: database,
    }
}

async fn session_store() -> Fixture<MySqlSessionStore, Database> {
    let database = Database::create().await;
    let store = MySqlSessionStore::new(database.pool().await);
    Fixture {
        store,
        guard: database,
    }
}

mod audit_log {
    use super::*;
    auth_core::audit_log_conformance!({
        let database = Database::create().await;
        Fixture {
            store: MySqlAuditLog::new(database.pool().await),
            guard: database,
        }
    });
}

mod users {
    use super::*;
    auth_core::user_store_conformance!(user_store().await);
}

mod oauth_accounts {
    use super::*;
    auth_core::oauth_account_store_conformance!(user_store().await);
}

mod mfa {
    use super::*;
    auth_core::mfa_store_conformance!(user_store().await);
}

mod sessions {
    use super::*;
    auth_core::session_store_conformance!(session_store().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_pool_on_the_same_database_keeps_every_user_and_session() {
    let database = Database::create().await;
    let pool = database.pool().await;
    let users = MySqlUserStore::new(pool.clone());
    let sessions = MySqlSessionStore::new(pool.clone());
    let now = now_seconds();
    let user = sample_user(&unique_tag());
    users.create(&user).await.unwrap();
    let session = sample_session(user.id, now);
    admit(&sessions, &session).await;
    let mark = sessions.mark(user.id).await.unwrap();
    sessions
        .revoke_all(user.id, Some(session.id))
        .await
        .unwrap();
    pool.close().await;
    drop((users, sessions));

    // "Restart": a new pool, migrations run again at start-up.
    let pool = database.pool().await;
    let users = MySqlUserStore::new(pool.clone());
    let sessions = MySqlSessionStore::new(pool);
    let loaded: auth_core::User<TestProfile> = users.get(user.id).await.unwrap().unwrap();
    assert_eq!(loaded.email, user.email);
    assert_eq!(loaded.profile, user.profile);
    assert_eq!(sessions.get(session.id, now).await.unwrap(), Some(session));
    assert_ne!(
        sessions.mark(user.id).await.unwrap(),
        mark,
        "the moved mark is kept too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_beside_the_apps_own_all_succeed() {
    let database = Database::create().await;
    let config = DbConfig::new(database.url());
    let first = config.connect_mysql().await.unwrap();
    let second = config.connect_mysql().await.unwrap();
    let app = auth_sqlx::sqlx::migrate::Migrator::with_migrations(vec![
        auth_sqlx::sqlx::migrate::Migration::new(
            1,
            "app".into(),
            auth_sqlx::sqlx::migrate::MigrationType::Simple,
            auth_sqlx::sqlx::SqlSafeStr::into_sql_str("CREATE TABLE users (id bigint)"),
            false,
        ),
    ]);
    app.run(&first).await.unwrap();
    let (a, b, c) = tokio::join!(
        migrate_mysql(&first),
        migrate_mysql(&second),
        migrate_mysql(&first),
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    app.run(&second).await.unwrap();
    let ours: Vec<(i64,)> =
        auth_sqlx::sqlx::query_as("SELECT version FROM _auth_sqlx_migrations ORDER BY version")
            .fetch_all(&first)
            .await
            .unwrap();
    assert_eq!(ours, vec![(1,), (2,), (3,), (4,), (6,)]);
    let theirs: Vec<(String,)> =
        auth_sqlx::sqlx::query_as("SELECT description FROM _sqlx_migrations")
            .fetch_all(&first)
            .await
            .unwrap();
    assert_eq!(theirs, vec![("app".to_owned(),)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_unavailable_quickly_not_a_panic() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = DbConfig::new(format!("mysql://root@127.0.0.1:{port}/test"))
        .with_acquire_timeout(Duration::from_millis(500));
    let err = config.connect_mysql().await.unwrap_err();
    assert!(matches!(err, auth_sqlx::Error::Connect(_)), "{err:?}");

    let pool = config.connect_mysql_lazy().unwrap();
    let users = MySqlUserStore::new(pool.clone());
    let sessions = MySqlSessionStore::new(pool);
    let started = Instant::now();
    let result: Result<Option<auth_core::User<TestProfile>>, _> = users.get(UserId::new()).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    let live = sessions
        .is_live(auth_core::SessionId::random(), now_seconds())
        .await;
    assert!(matches!(live, Err(StoreError::Unavailable(_))), "{live:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_recover_when_the_server_kills_their_connections() {
    let database = Database::create().await;
    let pool = database.pool().await;
    let users = MySqlUserStore::new(pool.clone());
    let user = sample_user(&unique_tag());
    users.create(&user).await.unwrap();

    let mut admin = connect(&admin_url()).await;
    let ids: Vec<(i64,)> =
        auth_sqlx::sqlx::query_as("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ?")
            .bind(&database.name)
            .fetch_all(&mut admin)
            .await
            .unwrap();
    assert!(!ids.is_empty(), "the pool had connections to kill");
    for (id,) in ids {
        let _ = admin.execute(AssertSqlSafe(format!("KILL {id}"))).await;
    }

    let found: Option<auth_core::User<TestProfile>> = users.get(user.id).await.unwrap();
    assert_eq!(found.map(|u| u.id), Some(user.id));
    let page = UserStore::<TestProfile>::list(&users, &UserQuery::default())
        .await
        .unwrap();
    assert_eq!(page.total, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_profile_is_a_backend_error() {
    let database = Database::create().await;
    let pool = database.pool().await;
    let users = MySqlUserStore::new(pool.clone());
    let user = sample_user(&unique_tag());
    users.create(&user).await.unwrap();
    auth_sqlx::sqlx::query("UPDATE auth_users SET profile = '{\"age\": \"old\"}'")
        .execute(&pool)
        .await
        .unwrap();
    let result: Result<Option<auth_core::User<TestProfile>>, _> = users.get(user.id).await;
    assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn races_on_thirty_connections_still_have_one_winner() {
    // The suite's races, with enough connections that most of the hundred contenders really
    // are inside the server at the same time.
    let database = Database::create().await;
    let pool = database.pool_of(30).await;
    let users = MySqlUserStore::new(pool.clone());
    let sessions = MySqlSessionStore::new(pool);
    for _ in 0..3 {
        auth_core::conformance::every_race(&users, &sessions).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_keep_microseconds() {
    let database = Database::create().await;
    let pool = database.pool().await;
    let now = now_seconds() + time::Duration::microseconds(123_456);
    let sessions = MySqlSessionStore::new(pool.clone());
    let session = sample_session(UserId::new(), now);
    admit(&sessions, &session).await;
    assert_eq!(sessions.get(session.id, now).await.unwrap(), Some(session));
    let users = MySqlUserStore::new(pool);
    let mut user = sample_user(&unique_tag());
    user.created_at = now;
    users.create(&user).await.unwrap();
    let loaded: auth_core::User<TestProfile> = users.get(user.id).await.unwrap().unwrap();
    assert_eq!(loaded.created_at, now);
    let mut account =
        auth_core::conformance::oauth::sample_account(user.id, "google", &unique_tag());
    account.expires_at = Some(now + time::Duration::microseconds(1));
    account.created_at = now;
    account.updated_at = now;
    auth_core::OAuthAccountStore::<TestProfile>::link_account(&users, &account)
        .await
        .unwrap();
    let found = auth_core::OAuthAccountStore::<TestProfile>::find_account(
        &users,
        "google",
        &account.account_id,
    )
    .await
    .unwrap();
    assert_eq!(found, Some(account));
    let mut passkey = auth_core::conformance::mfa::sample_passkey(
        user.id,
        &auth_core::conformance::mfa::sample_credential_id(),
    );
    passkey.created_at = now;
    passkey.last_used_at = Some(now + time::Duration::microseconds(1));
    auth_core::MfaStore::<TestProfile>::add_passkey(&users, &passkey)
        .await
        .unwrap();
    let found =
        auth_core::MfaStore::<TestProfile>::passkey_by_credential(&users, &passkey.credential_id)
            .await
            .unwrap();
    assert_eq!(found, Some(passkey));
    let secret = auth_core::conformance::mfa::sample_secret("micros");
    assert!(
        auth_core::MfaStore::<TestProfile>::set_pending_totp(&users, user.id, &secret, now)
            .await
            .unwrap()
    );
    let factor = auth_core::MfaStore::<TestProfile>::totp(&users, user.id)
        .await
        .unwrap();
    assert_eq!(factor.map(|factor| factor.created_at), Some(now));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_timeouts_are_unavailable_and_bad_statements_are_not() {
    use auth_sqlx::Dialect;
    use auth_sqlx::sqlx::MySql;

    let database = Database::create().await;
    let pool = database.pool().await;
    auth_sqlx::sqlx::query("CREATE TABLE t (id INT PRIMARY KEY)")
        .execute(&pool)
        .await
        .unwrap();
    auth_sqlx::sqlx::query("INSERT INTO t VALUES (1)")
        .execute(&pool)
        .await
        .unwrap();
    let mut holder = connect(&database.url()).await;
    holder.execute("BEGIN").await.unwrap();
    holder
        .execute("SELECT id FROM t WHERE id = 1 FOR UPDATE")
        .await
        .unwrap();
    let mut waiter = connect(&database.url()).await;
    waiter
        .execute("SET SESSION innodb_lock_wait_timeout = 1")
        .await
        .unwrap();
    let timeout = auth_sqlx::sqlx::query("UPDATE t SET id = 2 WHERE id = 1")
        .execute(&mut waiter)
        .await
        .unwrap_err();
    assert!(<MySql as Dialect>::is_unavailable(
        timeout.as_database_error().unwrap()
    ));
    let syntax = auth_sqlx::sqlx::query("SELEC 1")
        .execute(&mut waiter)
        .await
        .unwrap_err();
    assert!(!<MySql as Dialect>::is_unavailable(
        syntax.as_database_error().unwrap()
    ));
    holder.execute("ROLLBACK").await.unwrap();
}

#[test]
fn urls_get_their_database_replaced() {
    assert_eq!(
        with_database("mysql://root@127.0.0.1:3306/test", "t"),
        "mysql://root@127.0.0.1:3306/t"
    );
    assert_eq!(
        with_database("mysql://u:p@h/db?ssl-mode=disabled", "t"),
        "mysql://u:p@h/t?ssl-mode=disabled"
    );
    assert_eq!(with_database("mysql://h", "t"), "mysql://h/t");
}
