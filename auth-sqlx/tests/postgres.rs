//! The Postgres stores against a real server: the whole conformance suite, restarts, concurrent
//! migrations, an unreachable server and a server that drops its connections.
//!
//! Each test gets a schema of its own (through the pool's `search_path`) in the database
//! `auth_sqlx_test`, created on first use and dropped with the test. The server is taken
//! from `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`, a
//! superuser); if it cannot be reached the tests fail, they are never skipped.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth_core::conformance::sessions::{admit, sample_session};
use auth_core::conformance::users::sample_user;
use auth_core::conformance::{Fixture, TestProfile, now_seconds, unique_tag};
use auth_core::{
    Admission, Admitted, SessionMark, SessionStore, StoreError, UserId, UserQuery, UserStore,
};
use auth_sqlx::sqlx::postgres::{PgConnectOptions, PgPool};
use auth_sqlx::sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use auth_sqlx::{DbConfig, PgAuditLog, PgSessionStore, PgUserStore, migrate_postgres};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const TEST_DATABASE: &str = "auth_sqlx_test";

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `url` with its database replaced by `database`, and `params` added to its query.
fn with_database(url: &str, database: &str, params: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let server = match base.rsplit_once('/') {
        Some((server, _)) if server.ends_with('/') => base,
        Some((server, _)) => server,
        None => base,
    };
    let server = server.trim_end_matches('/');
    let query: Vec<&str> = [query, params]
        .into_iter()
        .filter(|q| !q.is_empty())
        .collect();
    if query.is_empty() {
        format!("{server}/{database}")
    } else {
        format!("{server}/{database}?{}", query.join("&"))
    }
}

async fn connect(url: &str) -> PgConnection {
    PgConnection::connect(url).await.unwrap_or_else(|err| {
        panic!(
            "Postgres is not reachable at {url}: {err}. Start it, or point TEST_DATABASE_URL at a \
             server where this user may create databases."
        )
    })
}

/// A fresh, empty schema in the test database; dropped when the guard is.
#[derive(Debug)]
struct Schema {
    name: String,
}

impl Schema {
    async fn create() -> Self {
        let mut admin = connect(&admin_url()).await;
        let exists: Option<(i32,)> =
            auth_sqlx::sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
                .bind(TEST_DATABASE)
                .fetch_optional(&mut admin)
                .await
                .unwrap();
        if exists.is_none() {
            // Two test binaries may race to create it: losing that race is fine.
            let _ = admin
                .execute(AssertSqlSafe(format!("CREATE DATABASE {TEST_DATABASE}")))
                .await;
        }
        admin.close().await.ok();
        let name = format!("auth_test_{}", unique_tag());
        let mut conn = connect(&with_database(&admin_url(), TEST_DATABASE, "")).await;
        conn.execute(AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .await
            .unwrap();
        conn.close().await.ok();
        Self { name }
    }

    /// The URL of a pool that works in this schema; its connections are named after it, so
    /// a test can find and kill them.
    fn url(&self) -> String {
        with_database(
            &admin_url(),
            TEST_DATABASE,
            &format!(
                "options=-c%20search_path%3D{0}&application_name={0}",
                self.name
            ),
        )
    }

    async fn pool(&self) -> PgPool {
        let pool = DbConfig::new(self.url())
            .with_max_connections(5)
            .connect_postgres()
            .await
            .unwrap();
        migrate_postgres(&pool).await.unwrap();
        pool
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let url = with_database(&admin_url(), TEST_DATABASE, "");
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        // No async in `drop`: a thread with a runtime of its own does the cleanup.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&url).await {
                    let _ = conn.execute(AssertSqlSafe(sql)).await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

async fn user_store() -> Fixture<PgUserStore, Schema> {
    let schema = Schema::create().await;
    let store = PgUserStore::new(schema.pool().await);
    Fixture {
        store,
        guard: schema,
    }
}

async fn session_store() -> Fixture<PgSessionStore, Schema> {
    let schema = Schema::create().await;
    let store = PgSessionStore::new(schema.pool().await);
    Fixture {
        store,
        guard: schema,
    }
}

mod audit_log {
    use super::*;
    auth_core::audit_log_conformance!({
        let schema = Schema::create().await;
        Fixture {
            store: PgAuditLog::new(schema.pool().await),
            guard: schema,
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

mod sessions_behind_the_session_cache {
    use super::*;
    auth_core::session_store_conformance!({
        let fixture = session_store().await;
        Fixture {
            store: auth_core::SessionCache::new(std::sync::Arc::new(fixture.store), 10_000),
            guard: fixture.guard,
        }
    });
}

/// Two app instances on one schema (two pools): every session one ends reaches the other's
/// cache through `NOTIFY`.
mod revocation_feed {
    use auth_core::SessionStore;
    use auth_core::conformance::revocation;

    use super::*;

    async fn two_instances() -> (Arc<dyn SessionStore>, Arc<dyn SessionStore>, Schema) {
        let schema = Schema::create().await;
        let one: Arc<dyn SessionStore> = Arc::new(PgSessionStore::new(schema.pool().await));
        let other: Arc<dyn SessionStore> = Arc::new(PgSessionStore::new(schema.pool().await));
        (one, other, schema)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_behaviour_of_the_revocation_feed() {
        let (fed, other, _schema) = two_instances().await;
        revocation::every_behaviour(fed, other).await;
    }

    /// Users changed on one instance are read afresh by the other's user cache.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_user_change_reaches_the_other_instance() {
        let schema = Schema::create().await;
        revocation::every_user_change_elsewhere_reaches_the_user_cache(
            Arc::new(PgUserStore::new(schema.pool().await)),
            Arc::new(PgUserStore::new(schema.pool().await)),
        )
        .await;
    }

    /// 1,000 logouts on one instance, each timed until the other refuses it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_thousand_logouts_reach_the_other_instance_in_milliseconds() {
        let (fed, other, _schema) = two_instances().await;
        let times = revocation::propagation_times(fed, other, 1_000).await;
        let p50 = times[times.len() / 2];
        let p99 = times[times.len() * 99 / 100];
        println!("logout propagation over 1,000 logouts (Postgres): p50 {p50:?}, p99 {p99:?}");
        // The promise is a p99 of 50 ms; a loaded test machine gets a margin.
        assert!(p99 < Duration::from_millis(250), "p99 {p99:?}");
    }

    /// The listening connection killed by the server: the cache drops everything at once
    /// and listens again by itself.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_killed_listener_fails_closed_and_recovers() {
        let (fed, other, schema) = two_instances().await;
        let cache = revocation::trusted_cache(fed).await;
        let now = now_seconds();
        let session = sample_session(auth_core::UserId::new(), now);
        admit(&*other, &session).await;
        assert!(cache.is_live(session.id, now).await.unwrap());
        let admin = schema.pool().await;
        let killed: Vec<bool> = auth_sqlx::sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = current_setting('application_name') \
             AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'",
        )
        .fetch_all(&admin)
        .await
        .unwrap();
        assert!(!killed.is_empty(), "no listening connection found");
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while !cache.is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the lost listener went unnoticed"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(other.revoke(session.id).await.unwrap());
        assert!(!cache.is_live(session.id, now).await.unwrap());
        revocation::wait_until_trusted(&cache).await;
        assert!(!cache.is_live(session.id, now).await.unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_pool_on_the_same_database_keeps_every_user_and_session() {
    let schema = Schema::create().await;
    let pool = schema.pool().await;
    let users = PgUserStore::new(pool.clone());
    let sessions = PgSessionStore::new(pool.clone());
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
    let pool = schema.pool().await;
    let users = PgUserStore::new(pool.clone());
    let sessions = PgSessionStore::new(pool);
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
    let schema = Schema::create().await;
    let config = DbConfig::new(schema.url());
    let first = config.connect_postgres().await.unwrap();
    let second = config.connect_postgres().await.unwrap();
    // The app's own migrations, in sqlx's default table, before and after ours.
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
        migrate_postgres(&first),
        migrate_postgres(&second),
        migrate_postgres(&first),
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    app.run(&second).await.unwrap();
    let ours: Vec<(i64,)> = auth_sqlx::sqlx::query_as("SELECT version FROM _auth_sqlx_migrations")
        .fetch_all(&first)
        .await
        .unwrap();
    assert_eq!(ours, vec![(1,), (2,), (3,), (4,), (5,), (6,)]);
    let theirs: Vec<(String,)> =
        auth_sqlx::sqlx::query_as("SELECT description FROM _sqlx_migrations")
            .fetch_all(&first)
            .await
            .unwrap();
    assert_eq!(theirs, vec![("app".to_owned(),)]);
}

/// A port on which nothing listens.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_unavailable_quickly_not_a_panic() {
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", closed_port());
    let config = DbConfig::new(url).with_acquire_timeout(Duration::from_millis(500));
    let err = config.connect_postgres().await.unwrap_err();
    assert!(matches!(err, auth_sqlx::Error::Connect(_)), "{err:?}");

    let pool = config.connect_postgres_lazy().unwrap();
    let users = PgUserStore::new(pool.clone());
    let sessions = PgSessionStore::new(pool);
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
async fn stores_recover_when_the_server_drops_their_connections() {
    let schema = Schema::create().await;
    let pool = schema.pool().await;
    let users = PgUserStore::new(pool.clone());
    let user = sample_user(&unique_tag());
    users.create(&user).await.unwrap();

    let mut admin = connect(&admin_url()).await;
    let killed: Vec<(bool,)> = auth_sqlx::sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(&schema.name)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!killed.is_empty(), "the pool had connections to kill");

    let found: Option<auth_core::User<TestProfile>> = users.get(user.id).await.unwrap();
    assert_eq!(found.map(|u| u.id), Some(user.id));
    let page = UserStore::<TestProfile>::list(&users, &UserQuery::default())
        .await
        .unwrap();
    assert_eq!(page.total, 1);
}

/// A TCP forwarder to the Postgres server that the test can take down and bring back on the
/// same port: a database outage, as the pool sees it.
struct Outage {
    port: u16,
    target: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Outage {
    async fn new(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let outage = Self {
            port,
            target,
            tasks: Arc::default(),
        };
        outage.serve(listener);
        outage
    }

    fn serve(&self, listener: TcpListener) {
        let target = self.target.clone();
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(pipe);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// The server is gone: no new connections, and every open one cut.
    fn down(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// The server is back, on the same port.
    async fn up(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

/// `url` pointing at `host_port` instead of its own server.
fn with_authority(url: &str, host_port: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let user = authority
        .rsplit_once('@')
        .map(|(user, _)| format!("{user}@"));
    format!("{scheme}://{}{host_port}{path}", user.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_are_unavailable_while_the_server_is_down_and_recover_when_it_is_back() {
    let schema = Schema::create().await;
    let direct = PgConnectOptions::from_str(&admin_url()).unwrap();
    let target = format!("{}:{}", direct.get_host(), direct.get_port());
    let outage = Outage::new(target).await;
    let url = with_authority(&schema.url(), &format!("127.0.0.1:{}", outage.port));
    let pool = DbConfig::new(url)
        .with_max_connections(3)
        .with_acquire_timeout(Duration::from_secs(1))
        .connect_postgres()
        .await
        .unwrap();
    migrate_postgres(&pool).await.unwrap();
    let users = PgUserStore::new(pool.clone());
    let sessions = PgSessionStore::new(pool);
    let user = sample_user(&unique_tag());
    users.create(&user).await.unwrap();

    outage.down();
    let during: Result<Option<auth_core::User<TestProfile>>, _> = users.get(user.id).await;
    assert!(
        matches!(during, Err(StoreError::Unavailable(_))),
        "{during:?}"
    );
    let session = sample_session(user.id, now_seconds());
    let admission = Admission {
        mark: SessionMark::default(),
        max_sessions: None,
    };
    let during = sessions.mark(user.id).await;
    assert!(
        matches!(during, Err(StoreError::Unavailable(_))),
        "{during:?}"
    );
    let during = sessions.create(&session, &admission).await;
    assert!(
        matches!(during, Err(StoreError::Unavailable(_))),
        "{during:?}"
    );

    outage.up().await;
    let after: Option<auth_core::User<TestProfile>> = users.get(user.id).await.unwrap();
    assert_eq!(after.map(|u| u.id), Some(user.id));
    assert_eq!(
        sessions.create(&session, &admission).await.unwrap(),
        Admitted::Created { evicted: vec![] }
    );
    outage.down();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_profile_is_a_backend_error() {
    let schema = Schema::create().await;
    let pool = schema.pool().await;
    let users = PgUserStore::new(pool.clone());
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
    // are inside Postgres at the same time.
    let schema = Schema::create().await;
    let pool = DbConfig::new(schema.url())
        .with_max_connections(30)
        .connect_postgres()
        .await
        .unwrap();
    migrate_postgres(&pool).await.unwrap();
    let users = PgUserStore::new(pool.clone());
    let sessions = PgSessionStore::new(pool);
    for _ in 0..3 {
        auth_core::conformance::every_race(&users, &sessions).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_keep_microseconds() {
    let schema = Schema::create().await;
    let pool = schema.pool().await;
    let now = now_seconds() + time::Duration::microseconds(123_456);
    let sessions = PgSessionStore::new(pool.clone());
    let session = sample_session(UserId::new(), now);
    admit(&sessions, &session).await;
    assert_eq!(sessions.get(session.id, now).await.unwrap(), Some(session));
    let users = PgUserStore::new(pool);
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
async fn timeouts_are_unavailable_and_bad_statements_are_not() {
    use auth_sqlx::Dialect;
    use auth_sqlx::sqlx::Postgres;

    let mut conn = connect(&admin_url()).await;
    conn.execute("SET statement_timeout = 10").await.unwrap();
    let timeout = auth_sqlx::sqlx::query("SELECT pg_sleep(1)")
        .execute(&mut conn)
        .await
        .unwrap_err();
    let timeout = timeout.as_database_error().unwrap();
    assert_eq!(timeout.code().as_deref(), Some("57014"));
    assert!(<Postgres as Dialect>::is_unavailable(timeout));
    let syntax = auth_sqlx::sqlx::query("SELEC 1")
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert!(!<Postgres as Dialect>::is_unavailable(
        syntax.as_database_error().unwrap()
    ));
}

#[test]
fn urls_get_their_database_and_parameters_replaced() {
    assert_eq!(
        with_database("postgres://u@h:5432/postgres", "t", "a=1"),
        "postgres://u@h:5432/t?a=1"
    );
    assert_eq!(
        with_database("postgres://u@h/db?sslmode=disable", "t", "a=1"),
        "postgres://u@h/t?sslmode=disable&a=1"
    );
    assert_eq!(with_database("postgres://u@h", "t", ""), "postgres://u@h/t");
    assert_eq!(
        with_authority("postgres://u:p@h:5432/db?x=1", "127.0.0.1:9"),
        "postgres://u:p@127.0.0.1:9/db?x=1"
    );
    assert_eq!(
        with_authority("postgres://h", "127.0.0.1:9"),
        "postgres://127.0.0.1:9"
    );
}
