//! `server import-fastapi-users` against a real fastapi-users 15 app from PyPI
//! (`tests/fastapi_users/app.py`, run with uvicorn from the environment `tests/run.sh`
//! creates): users registered through its HTTP API sign in to the reference server with the
//! same passwords, keeping their ids and flags, and a re-run imports nothing twice.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_e2e::fastapi_users::FastapiUsers;
use auth_e2e::server::{Backend, Config};
use auth_sqlx::sqlx::AssertSqlSafe;
use auth_sqlx::sqlx::sqlite::SqlitePoolOptions;
use serde_json::Value;

const PASSWORD: &str = "correct horse battery staple";
/// NFKC turns the ligatures into plain letters; fastapi-users hashed them as typed.
const LIGATURE_PASSWORD: &str = "ﬁne ﬂour for the ﬁeld";

/// Edits fastapi-users' own SQLite file, for what its API does not let a visitor do.
async fn edit(db: &std::path::Path, statements: &[&str]) {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    for statement in statements {
        // Written by this test from UUIDs the app returned: nothing to inject.
        auth_sqlx::sqlx::query(AssertSqlSafe(statement.to_string()))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
}

fn import(config: &Config, db: &std::path::Path) -> (bool, String, String) {
    // SQLAlchemy's form: `sqlite:///` and an absolute path.
    let url = format!("sqlite:///{}", db.display());
    let output = config.run(&["import-fastapi-users", "--from", &url], "");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn fastapi_users_users_sign_in_with_their_passwords_after_an_import() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fastapi-users.db");

    let app = FastapiUsers::start(&db).await;
    let alice = app.register("Alice@Example.COM", PASSWORD).await;
    let bob = app.register("bob@example.com", PASSWORD).await;
    let carol = app.register("carol@example.com", LIGATURE_PASSWORD).await;
    let dave = app.register("dave@example.com", PASSWORD).await;
    assert_eq!(app.login("bob@example.com", PASSWORD).await, 200);
    assert_eq!(
        bob["is_superuser"], false,
        "registration cannot grant superuser"
    );
    app.stop();

    let id = |user: &Value| user["id"].as_str().unwrap().to_owned();
    edit(
        &db,
        &[
            &format!(
                "UPDATE user SET is_superuser = 1, is_verified = 1 WHERE id = '{}'",
                id(&bob)
            ),
            &format!("UPDATE user SET is_active = 0 WHERE id = '{}'", id(&dave)),
            // What fastapi-users' OAuth callback writes for a GitHub sign-in.
            &format!(
                "INSERT INTO oauth_account (id, user_id, oauth_name, access_token, expires_at, \
                 refresh_token, account_id, account_email) VALUES \
                 ('0b5d6c1e-8f0a-4d3e-9d6a-2f1e3c4b5a69', '{}', 'github', 'gho_imported_token', \
                 1900000000, NULL, '583231', 'bob@github.example')",
                id(&bob)
            ),
        ],
    )
    .await;

    let config = Config::new(Backend::Sqlite).await;
    let (ok, stdout, stderr) = import(&config, &db);
    assert!(ok, "import failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("users: 4 imported, 0 skipped (already present), 0 failed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("provider accounts: 1 linked, 0 skipped (already linked), 0 failed"),
        "{stdout}"
    );
    for hash in ["$argon2", "$2b$"] {
        assert!(
            !stdout.contains(hash) && !stderr.contains(hash),
            "no hash is printed"
        );
    }

    let server = config.start().await;
    for (user, email, password, superuser, verified) in [
        (&alice, "alice@example.com", PASSWORD, false, false),
        (&bob, "bob@example.com", PASSWORD, true, true),
        (&carol, "carol@example.com", LIGATURE_PASSWORD, false, false),
    ] {
        let (access, _) = server.tokens(email, password).await;
        let me: Value = server.me(&access).await.json().await.unwrap();
        assert_eq!(me["id"], user["id"], "{email} keeps their id");
        assert_eq!(me["is_superuser"], superuser, "{email}");
        assert_eq!(me["is_verified"], verified, "{email}");
        assert_eq!(me["is_active"], true, "{email}");
        // The upgraded hash (the first login re-hashed it) still takes the password.
        assert_eq!(server.login(email, password).await.status(), 200, "{email}");
        assert_eq!(
            server
                .login(email, "not the password at all")
                .await
                .status(),
            400,
            "{email} with a wrong password"
        );
    }
    assert_eq!(
        server.login("dave@example.com", PASSWORD).await.status(),
        400,
        "an inactive user stays out"
    );

    server.stop().await;

    // The link is in the server's store, its token sealed (the accounts route is mounted
    // only with providers configured).
    let store = SqlitePoolOptions::new()
        .max_connections(1)
        .connect(&format!(
            "sqlite://{}",
            config.data_dir().join("accounts.db").display()
        ))
        .await
        .unwrap();
    let links: Vec<(String, String, Option<Vec<u8>>)> = auth_sqlx::sqlx::query_as(
        "SELECT provider, account_id, access_token FROM auth_oauth_accounts",
    )
    .fetch_all(&store)
    .await
    .unwrap();
    store.close().await;
    assert_eq!(links.len(), 1);
    let (provider, account_id, sealed) = &links[0];
    assert_eq!(
        (provider.as_str(), account_id.as_str()),
        ("github", "583231")
    );
    let sealed = sealed.as_ref().expect("the access token is kept, sealed");
    assert!(sealed.len() > "gho_imported_token".len());
    assert!(
        !sealed
            .windows("gho_imported_token".len())
            .any(|w| w == b"gho_imported_token"),
        "never in the clear"
    );

    let (ok, stdout, stderr) = import(&config, &db);
    assert!(ok, "re-run failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("users: 0 imported, 4 skipped (already present), 0 failed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("provider accounts: 0 linked, 1 skipped (already linked), 0 failed"),
        "{stdout}"
    );
}

#[tokio::test]
async fn an_unreadable_source_or_a_bad_row_fails_the_import() {
    let config = Config::new(Backend::Sqlite).await;
    let missing = config.run(
        &[
            "import-fastapi-users",
            "--from",
            "sqlite:////nonexistent/app.db",
        ],
        "",
    );
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no SQLite file"));

    // A fastapi-users schema with one row whose hash no hasher here can check.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("legacy.db");
    std::fs::File::create(&db).unwrap();
    edit(
        &db,
        &[
            "CREATE TABLE user (id CHAR(36) NOT NULL PRIMARY KEY, email VARCHAR(320) NOT NULL, \
             hashed_password VARCHAR(1024) NOT NULL, is_active BOOLEAN NOT NULL, \
             is_superuser BOOLEAN NOT NULL, is_verified BOOLEAN NOT NULL)",
            "INSERT INTO user VALUES ('5f0c5a8e-3c1b-4a59-9d0e-6b7a2c1d4e3f', 'old@example.com', \
             'pbkdf2_sha256$600000$salt$hash', 1, 0, 0)",
            "INSERT INTO user VALUES ('6a1d6b9f-4d2c-4b6a-8e1f-7c8b3d2e5f40', 'ok@example.com', \
             '$2b$12$e83Hw96tgAowJg1KQ6x.p.kSFnRqLMssW9078xh4jpszBgiiHzqsW', 1, 0, 0)",
        ],
    )
    .await;
    let (ok, stdout, stderr) = import(&config, &db);
    assert!(!ok, "a failed row fails the run:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("users: 1 imported, 0 skipped (already present), 1 failed"),
        "{stdout}"
    );
    assert!(
        stderr.contains(
            "failed user 5f0c5a8e-3c1b-4a59-9d0e-6b7a2c1d4e3f: unsupported password hash"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("pbkdf2_sha256$600000"),
        "no hash is printed"
    );
}

/// fastapi-users' tables as SQLAlchemy creates them on Postgres (its GUID type is `UUID`
/// there), filled by hand: the Postgres reader, without a second Python app.
#[tokio::test]
async fn a_fastapi_users_postgres_database_is_imported_too() {
    let source = auth_e2e::services::fresh_postgres_schema().await;
    let pool = auth_sqlx::sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&source)
        .await
        .unwrap();
    for statement in [
        "CREATE TABLE \"user\" (id UUID NOT NULL PRIMARY KEY, email VARCHAR(320) NOT NULL, \
         hashed_password VARCHAR(1024) NOT NULL, is_active BOOLEAN NOT NULL, \
         is_superuser BOOLEAN NOT NULL, is_verified BOOLEAN NOT NULL)",
        "CREATE TABLE oauth_account (id UUID NOT NULL PRIMARY KEY, user_id UUID NOT NULL \
         REFERENCES \"user\" (id) ON DELETE CASCADE, oauth_name VARCHAR(100) NOT NULL, \
         access_token VARCHAR(1024) NOT NULL, expires_at INTEGER, refresh_token VARCHAR(1024), \
         account_id VARCHAR(320) NOT NULL, account_email VARCHAR(320) NOT NULL)",
        // pwdlib's Argon2id of "a quiet river at dawn", as fastapi-users 15 stores it.
        "INSERT INTO \"user\" VALUES ('7b0e2c4d-1a3f-4e5b-8c6d-9e0f1a2b3c4d', 'pg@example.com', \
         '$argon2id$v=19$m=65536,t=3,p=4$+Cg09oWXDDS3LwXLLfsI7Q$yH4KKBnzQQnu4+UTTjMSXm9X14oLp4YH4DxZXN1xlfw', \
         true, false, true)",
        "INSERT INTO oauth_account VALUES ('8c1f3d5e-2b4a-4f6c-9d7e-0f1a2b3c4d5e', \
         '7b0e2c4d-1a3f-4e5b-8c6d-9e0f1a2b3c4d', 'google', 'ya29.token', NULL, 'refresh', \
         '1234567890', 'pg@gmail.example')",
    ] {
        auth_sqlx::sqlx::query(statement)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;

    let config = Config::new(Backend::Sqlite).await;
    // The driver suffix of a SQLAlchemy URL is accepted.
    let url = source.replacen("postgres://", "postgresql+asyncpg://", 1);
    let output = config.run(&["import-fastapi-users", "--from", &url], "");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("users: 1 imported, 0 skipped (already present), 0 failed"),
        "{stdout}"
    );
    assert!(stdout.contains("provider accounts: 1 linked"), "{stdout}");

    let server = config.start().await;
    let (access, _) = server
        .tokens("pg@example.com", "a quiet river at dawn")
        .await;
    let me: Value = server.me(&access).await.json().await.unwrap();
    assert_eq!(me["id"], "7b0e2c4d-1a3f-4e5b-8c6d-9e0f1a2b3c4d");
    assert_eq!(me["is_verified"], true);
}
