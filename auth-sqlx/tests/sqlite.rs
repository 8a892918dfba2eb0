//! The SQLite stores: the whole conformance suite against a file and in memory, restarts,
//! concurrent migrations, WAL mode, and a database locked past the busy timeout.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use auth_core::conformance::sessions::{admit, sample_session};
use auth_core::conformance::users::sample_user;
use auth_core::conformance::{Fixture, TestProfile, now_seconds, unique_tag};
use auth_core::{ManualClock, SessionMark, SessionStore, StoreError, SystemClock, User, UserStore};
use auth_sqlx::sqlx::sqlite::SqlitePool;
use auth_sqlx::{
    DbConfig, SqliteAuditLog, SqliteSessionStore, SqliteUserStore, migrate_sqlite, spawn_sweeper,
};
use tempfile::TempDir;

fn file_config(dir: &TempDir) -> DbConfig {
    DbConfig::new(format!("sqlite://{}", dir.path().join("auth.db").display()))
}

async fn migrated(config: &DbConfig) -> SqlitePool {
    let pool = config.connect_sqlite().await.unwrap();
    migrate_sqlite(&pool).await.unwrap();
    pool
}

async fn file_pool() -> (SqlitePool, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (migrated(&file_config(&dir)).await, dir)
}

async fn memory_pool() -> SqlitePool {
    migrated(&DbConfig::new("sqlite::memory:")).await
}

mod file_users {
    use super::*;
    auth_core::user_store_conformance!({
        let (pool, dir) = file_pool().await;
        Fixture {
            store: SqliteUserStore::new(pool),
            guard: dir,
        }
    });
}

mod file_audit_log {
    use super::*;
    auth_core::audit_log_conformance!({
        let (pool, dir) = file_pool().await;
        Fixture {
            store: SqliteAuditLog::new(pool),
            guard: dir,
        }
    });
}

mod memory_audit_log {
    use super::*;
    auth_core::audit_log_conformance!(SqliteAuditLog::new(memory_pool().await));
}

mod file_sessions {
    use super::*;
    auth_core::session_store_conformance!({
        let (pool, dir) = file_pool().await;
        Fixture {
            store: SqliteSessionStore::new(pool),
            guard: dir,
        }
    });
}

mod file_sessions_behind_the_session_cache {
    use super::*;
    auth_core::session_store_conformance!({
        let (pool, dir) = file_pool().await;
        Fixture {
            store: auth_core::SessionCache::new(Arc::new(SqliteSessionStore::new(pool)), 10_000),
            guard: dir,
        }
    });
}

/// Two processes on one database file (two pools): every session one ends reaches the
/// other's cache through the log table.
mod revocation_feed {
    use auth_core::conformance::revocation;

    use super::*;

    async fn two_processes() -> (Arc<dyn SessionStore>, Arc<dyn SessionStore>, TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let one = migrated(&file_config(&dir)).await;
        let other = migrated(&file_config(&dir)).await;
        (
            Arc::new(SqliteSessionStore::new(one)),
            Arc::new(SqliteSessionStore::new(other)),
            dir,
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_behaviour_of_the_revocation_feed() {
        let (fed, other, _dir) = two_processes().await;
        revocation::every_behaviour(fed, other).await;
    }

    /// 1,000 logouts in one process, each timed until the other refuses it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_thousand_logouts_reach_the_other_process_within_a_poll() {
        let (fed, other, _dir) = two_processes().await;
        let times = revocation::propagation_times(fed, other, 1_000).await;
        let p50 = times[times.len() / 2];
        let p99 = times[times.len() * 99 / 100];
        println!("logout propagation over 1,000 logouts (SQLite): p50 {p50:?}, p99 {p99:?}");
        // One poll (20 ms) plus the read; a loaded test machine gets a margin.
        assert!(p99 < Duration::from_millis(250), "p99 {p99:?}");
    }

    /// Users changed in one process are read afresh by the other's user cache.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_user_change_reaches_the_other_process() {
        let dir = tempfile::tempdir().unwrap();
        let one = migrated(&file_config(&dir)).await;
        let other = migrated(&file_config(&dir)).await;
        revocation::every_user_change_elsewhere_reaches_the_user_cache(
            Arc::new(SqliteUserStore::new(one)),
            Arc::new(SqliteUserStore::new(other)),
        )
        .await;
    }

    /// A poll that fails (the table is gone) drops the cache: every check reads the
    /// database again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_poll_fails_closed() {
        let (fed, other, dir) = two_processes().await;
        let pool = migrated(&file_config(&dir)).await;
        let cache = revocation::trusted_cache(fed).await;
        let now = now_seconds();
        let session = sample_session(auth_core::UserId::new(), now);
        admit(&*other, &session).await;
        assert!(cache.is_live(session.id, now).await.unwrap());
        auth_sqlx::sqlx::query("ALTER TABLE auth_session_revocations RENAME TO moved_away")
            .execute(&pool)
            .await
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while cache.is_trusted() {
            assert!(
                std::time::Instant::now() < deadline,
                "the failing feed went unnoticed"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(cache.is_empty());
    }
}

mod file_oauth_accounts {
    use super::*;
    auth_core::oauth_account_store_conformance!({
        let (pool, dir) = file_pool().await;
        Fixture {
            store: SqliteUserStore::new(pool),
            guard: dir,
        }
    });
}

mod memory_oauth_accounts {
    use super::*;
    auth_core::oauth_account_store_conformance!(SqliteUserStore::new(memory_pool().await));
}

mod file_mfa {
    use super::*;
    auth_core::mfa_store_conformance!({
        let (pool, dir) = file_pool().await;
        Fixture {
            store: SqliteUserStore::new(pool),
            guard: dir,
        }
    });
}

mod memory_mfa {
    use super::*;
    auth_core::mfa_store_conformance!(SqliteUserStore::new(memory_pool().await));
}

mod memory_users {
    use super::*;
    auth_core::user_store_conformance!(SqliteUserStore::new(memory_pool().await));
}

mod memory_sessions {
    use super::*;
    auth_core::session_store_conformance!(SqliteSessionStore::new(memory_pool().await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_pool_on_the_same_file_keeps_every_user_and_session() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_seconds();
    let user = sample_user(&unique_tag());
    let session = sample_session(user.id, now);
    {
        let pool = migrated(&file_config(&dir)).await;
        SqliteUserStore::new(pool.clone())
            .create(&user)
            .await
            .unwrap();
        let sessions = SqliteSessionStore::new(pool.clone());
        admit(&sessions, &session).await;
        sessions
            .revoke_all(user.id, Some(session.id))
            .await
            .unwrap();
        pool.close().await;
    }
    let pool = migrated(&file_config(&dir)).await;
    let loaded: User<TestProfile> = SqliteUserStore::new(pool.clone())
        .get(user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.email, user.email);
    assert_eq!(loaded.roles, user.roles);
    assert_eq!(loaded.profile, user.profile);
    let sessions = SqliteSessionStore::new(pool);
    assert_eq!(sessions.get(session.id, now).await.unwrap(), Some(session));
    assert_eq!(
        sessions.mark(user.id).await.unwrap(),
        SessionMark::new(1),
        "the moved mark is kept too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_of_one_file_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let config = file_config(&dir);
    let first = config.connect_sqlite().await.unwrap();
    let second = config.connect_sqlite().await.unwrap();
    let (a, b, c) = tokio::join!(
        migrate_sqlite(&first),
        migrate_sqlite(&second),
        migrate_sqlite(&first),
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    let versions: Vec<(i64,)> =
        auth_sqlx::sqlx::query_as("SELECT version FROM _auth_sqlx_migrations")
            .fetch_all(&first)
            .await
            .unwrap();
    assert_eq!(versions, vec![(1,), (2,), (3,), (4,), (5,), (6,)]);
    let default_table: Option<(String,)> =
        auth_sqlx::sqlx::query_as("SELECT name FROM sqlite_master WHERE name = '_sqlx_migrations'")
            .fetch_optional(&first)
            .await
            .unwrap();
    assert_eq!(
        default_table, None,
        "the app's migrations table is left alone"
    );
}

#[tokio::test]
async fn files_are_in_wal_mode() {
    let (pool, _dir) = file_pool().await;
    let (mode,): (String,) = auth_sqlx::sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_locked_past_the_busy_timeout_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let holder = migrated(&file_config(&dir)).await;
    let impatient = file_config(&dir)
        .with_busy_timeout(Duration::from_millis(50))
        .connect_sqlite()
        .await
        .unwrap();
    let users = SqliteUserStore::new(impatient);
    let lock = holder.begin_with("BEGIN IMMEDIATE").await.unwrap();
    let result = users.create(&sample_user(&unique_tag())).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    lock.rollback().await.unwrap();
    users.create(&sample_user(&unique_tag())).await.unwrap();
}

#[tokio::test]
async fn a_file_that_cannot_be_created_is_a_connect_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}",
        dir.path().join("missing/dir/auth.db").display()
    );
    let err = DbConfig::new(url).connect_sqlite().await.unwrap_err();
    assert!(matches!(err, auth_sqlx::Error::Connect(_)), "{err:?}");
}

#[tokio::test]
async fn times_keep_microseconds() {
    let pool = memory_pool().await;
    let now = now_seconds() + time::Duration::microseconds(123_456);
    let sessions = SqliteSessionStore::new(pool.clone());
    let session = sample_session(auth_core::UserId::new(), now);
    admit(&sessions, &session).await;
    assert_eq!(sessions.get(session.id, now).await.unwrap(), Some(session));
    let users = SqliteUserStore::new(pool);
    let mut user = sample_user(&unique_tag());
    user.created_at = now;
    users.create(&user).await.unwrap();
    let loaded: User<TestProfile> = users.get(user.id).await.unwrap().unwrap();
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

#[tokio::test]
async fn the_sweeper_deletes_expired_rows() {
    let pool = memory_pool().await;
    let sessions = Arc::new(SqliteSessionStore::new(pool.clone()));
    let now = now_seconds();
    let live = sample_session(auth_core::UserId::new(), now);
    let mut dead = sample_session(live.user_id, now - time::Duration::days(3));
    dead.idle_expires_at = now - time::Duration::days(2);
    admit(&*sessions, &live).await;
    admit(&*sessions, &dead).await;
    let clock = Arc::new(ManualClock::new(now));
    let sweeper = spawn_sweeper(sessions.clone(), clock, Duration::from_millis(10)).unwrap();
    let rows = || async {
        let (count,): (i64,) = auth_sqlx::sqlx::query_as("SELECT COUNT(*) FROM auth_sessions")
            .fetch_one(&pool)
            .await
            .unwrap();
        count
    };
    // The first sweep runs at once; wait for it, but not forever.
    for _ in 0..500 {
        if rows().await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sweeper.abort();
    assert_eq!(rows().await, 1, "the dead row is gone, the live one kept");
    assert!(sessions.get(live.id, now).await.unwrap().is_some());
}

#[test]
fn the_sweeper_needs_a_runtime() {
    let sessions = Arc::new(auth_core::MemorySessionStore::new());
    let err = spawn_sweeper(sessions, Arc::new(SystemClock), Duration::from_secs(1)).unwrap_err();
    assert!(matches!(err, auth_sqlx::Error::Config(_)), "{err:?}");
}
