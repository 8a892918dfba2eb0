//! The reference server's administration subcommands, run as processes against the SQLite
//! database of a server that is running: each one does what it says, refuses bad input with a
//! non-zero exit, and what it revokes is refused by the running server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use auth_e2e::server::{Backend, Config, PASSWORD, Server, wait_for_mail};
use auth_e2e::server_admin::{current_session, own_sessions};
use serde_json::{Value, json};
use totp_rs::{Algorithm, Secret, TOTP};

/// Runs `server ARGS`: exit code, standard output, standard error.
fn cli(config: &Config, args: &[&str]) -> (i32, String, String) {
    let output = config.run(args, "");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs a subcommand that must succeed; its standard output.
fn ok(config: &Config, args: &[&str]) -> String {
    let (code, stdout, stderr) = cli(config, args);
    assert_eq!(code, 0, "{args:?} failed:\n{stdout}\n{stderr}");
    stdout
}

/// Runs a subcommand that must print JSON.
fn ok_json(config: &Config, args: &[&str]) -> Value {
    let stdout = ok(config, args);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|err| panic!("{args:?}: not JSON ({err}):\n{stdout}"))
}

/// Runs a subcommand that must fail with `code`, saying `says` on standard error.
fn fails(config: &Config, args: &[&str], code: i32, says: &str) {
    let (actual, stdout, stderr) = cli(config, args);
    assert_eq!(actual, code, "{args:?}:\n{stdout}\n{stderr}");
    assert!(stderr.contains(says), "{args:?} said:\n{stderr}");
}

/// Waits until the running server refuses `access`, at most two seconds (a change made by
/// another process reaches the server's session cache through the database's change feed);
/// how long it took.
async fn refused(server: &Server, access: &str) -> Duration {
    let start = Instant::now();
    loop {
        let status = server.me(access).await.status();
        if status == 401 {
            return start.elapsed();
        }
        assert_eq!(status, 200);
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "the running server still accepts a token revoked from the command line"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn emails(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["email"].as_str().unwrap())
        .collect()
}

/// The authenticator app's current code of `secret` (base 32).
fn code(secret: &str) -> String {
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
    let totp = TOTP::new_unchecked(Algorithm::SHA1, 6, 0, 30, bytes, None, String::new());
    totp.generate_current().unwrap()
}

/// Enrols and confirms a TOTP factor for the holder of `access`.
async fn enrol_totp(server: &Server, access: &str) {
    let enrolment: Value = server
        .http
        .post(server.url("/users/me/mfa/totp"))
        .bearer_auth(access)
        .json(&json!({ "current_password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = enrolment["secret"].as_str().unwrap();
    let confirmed = server
        .http
        .post(server.url("/users/me/mfa/totp/confirm"))
        .bearer_auth(access)
        .json(&json!({ "code": code(secret) }))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_and_showing_users() {
    let config = Config::new(Backend::Sqlite).await;
    config.create_user("root@example.com", &["--superuser", "--verified"]);
    let server = config.start().await;
    server.register("alice@example.com", PASSWORD).await;
    server.register("bob@example.com", PASSWORD).await;
    let (alice, _) = server.tokens("alice@example.com", PASSWORD).await;
    server.tokens("alice@example.com", PASSWORD).await;

    let page = ok_json(&config, &["list-users", "--json"]);
    assert_eq!(page["total"], 3);
    assert_eq!(
        emails(&page),
        ["root@example.com", "alice@example.com", "bob@example.com"]
    );
    assert!(page["items"][0].get("hashed_password").is_none());
    let page = ok_json(
        &config,
        &[
            "list-users",
            "--superuser",
            "false",
            "--sort",
            "-email",
            "--json",
        ],
    );
    assert_eq!(emails(&page), ["bob@example.com", "alice@example.com"]);
    let page = ok_json(
        &config,
        &["list-users", "--limit", "1", "--offset", "1", "--json"],
    );
    assert_eq!(page["total"], 3);
    assert_eq!(emails(&page), ["alice@example.com"]);
    let page = ok_json(&config, &["list-users", "--role", "%", "--json"]);
    assert_eq!(page["total"], 0, "a wildcard is a literal role");
    let page = ok_json(
        &config,
        &[
            "list-users",
            "--verified",
            "true",
            "--role",
            "reader",
            "--json",
        ],
    );
    // Only the superuser is verified, and create-user gave it the default role too.
    assert_eq!(emails(&page), ["root@example.com"]);

    let table = ok(&config, &["list-users", "--sort", "email"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    for column in [
        "ID",
        "EMAIL",
        "ACTIVE",
        "VERIFIED",
        "SUPERUSER",
        "ROLES",
        "CREATED",
    ] {
        assert!(lines[0].contains(column), "{table}");
    }
    assert!(lines[1].contains("alice@example.com") && lines[1].contains("reader"));
    assert!(lines[2].contains("bob@example.com"));
    assert!(lines[3].contains("root@example.com"));
    assert_eq!(lines[4], "users 1 to 3 of 3");
    // Columns line up: the e-mail address starts at the same place on every row.
    let at = lines[0].find("EMAIL").unwrap();
    assert!(
        lines[1..4]
            .iter()
            .all(|line| line[at..].contains("@example.com"))
    );

    let shown = ok_json(&config, &["show-user", "alice@example.com", "--json"]);
    assert_eq!(shown["user"]["email"], "alice@example.com");
    assert_eq!(shown["user"]["roles"], json!(["reader"]));
    assert_eq!(shown["sessions"].as_array().unwrap().len(), 2);
    assert_eq!(shown["second_factors"]["count"], 0);
    let own = own_sessions(&server, &alice).await;
    let listed: Vec<&str> = shown["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, own);
    let id = shown["user"]["id"].as_str().unwrap();
    let by_id = ok(&config, &["show-user", id]);
    assert!(
        by_id.contains("email:          alice@example.com"),
        "{by_id}"
    );
    assert!(by_id.contains("sessions:       2"), "{by_id}");
    assert!(by_id.contains(&own[0]), "{by_id}");
    assert!(by_id.contains("second factors: 0"), "{by_id}");

    fails(&config, &["show-user", "nobody@example.com"], 1, "no user");
    fails(
        &config,
        &["show-user", "not an address"],
        1,
        "neither a user id",
    );
    fails(&config, &["list-users", "--active", "maybe"], 2, "usage:");
    fails(
        &config,
        &["list-users", "--sort", "hashed_password"],
        2,
        "--sort",
    );
    fails(
        &config,
        &["list-users", "--frobnicate", "1"],
        2,
        "unknown argument",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_from_the_command_line_reach_a_running_server() {
    let config = Config::new(Backend::Sqlite).await;
    let server = config.start().await;
    server.register("alice@example.com", PASSWORD).await;
    server.register("bob@example.com", PASSWORD).await;
    let (first, first_refresh) = server.tokens("alice@example.com", PASSWORD).await;
    let (second, _) = server.tokens("alice@example.com", PASSWORD).await;
    let (bob, _) = server.tokens("bob@example.com", PASSWORD).await;
    let first_session = current_session(&server, &first).await;
    let bob_session = own_sessions(&server, &bob).await.remove(0);

    // One session: refused by the running server, the other one kept.
    let said = ok(
        &config,
        &["revoke-sessions", "alice@example.com", &first_session],
    );
    assert!(said.contains("revoked session"), "{said}");
    let took = refused(&server, &first).await;
    eprintln!("a session revoked from the command line was refused after {took:?}");
    assert_eq!(server.refresh(&first_refresh).await.status(), 401);
    assert_eq!(server.me(&second).await.status(), 200);
    // Bob's session through Alice: refused, and Bob stays signed in.
    fails(
        &config,
        &["revoke-sessions", "alice@example.com", &bob_session],
        1,
        "has no session",
    );
    fails(
        &config,
        &["revoke-sessions", "alice@example.com", "x"],
        1,
        "not a session id",
    );
    assert_eq!(server.me(&bob).await.status(), 200);

    // Roles: a change signs the user out everywhere.
    let said = ok(
        &config,
        &["set-roles", "alice@example.com", "editor", "writer"],
    );
    assert!(said.contains("editor,writer"), "{said}");
    refused(&server, &second).await;
    ok(&config, &["add-role", "alice@example.com", "extra"]);
    ok(&config, &["remove-role", "alice@example.com", "writer"]);
    let shown = ok_json(&config, &["show-user", "alice@example.com", "--json"]);
    assert_eq!(shown["user"]["roles"], json!(["editor", "extra"]));
    let (access, _) = server.tokens("alice@example.com", PASSWORD).await;
    let me: Value = server.me(&access).await.json().await.unwrap();
    assert_eq!(
        me["roles"],
        json!(["editor", "extra"]),
        "the server reads the new roles"
    );
    fails(
        &config,
        &["add-role", "alice@example.com"],
        2,
        "at least one role",
    );

    // All sessions.
    server.tokens("alice@example.com", PASSWORD).await;
    let said = ok(&config, &["revoke-sessions", "alice@example.com"]);
    assert!(said.contains("revoked 2 session(s)"), "{said}");
    refused(&server, &access).await;

    // Flags.
    ok(
        &config,
        &[
            "set-flags",
            "bob@example.com",
            "--verified",
            "true",
            "--superuser",
            "true",
        ],
    );
    let shown = ok_json(&config, &["show-user", "bob@example.com", "--json"]);
    assert_eq!(shown["user"]["is_verified"], true);
    assert_eq!(shown["user"]["is_superuser"], true);
    refused(&server, &bob).await;
    let (bob, _) = server.tokens("bob@example.com", PASSWORD).await;
    assert_eq!(
        server.get(&bob, "/users").await.status(),
        200,
        "now a superuser"
    );
    fails(&config, &["set-flags", "bob@example.com"], 2, "--active");
    fails(
        &config,
        &["set-flags", "bob@example.com", "--active", "yes"],
        2,
        "true or false",
    );

    // Deactivation ends the sessions and the logins.
    let said = ok(&config, &["deactivate", "bob@example.com"]);
    assert!(
        said.contains("deactivated bob@example.com and revoked 1 session(s)"),
        "{said}"
    );
    refused(&server, &bob).await;
    assert_eq!(
        server.login("bob@example.com", PASSWORD).await.status(),
        400
    );
    let page = ok_json(&config, &["list-users", "--active", "false", "--json"]);
    assert_eq!(emails(&page), ["bob@example.com"]);

    // Second factors.
    let (access, _) = server.tokens("alice@example.com", PASSWORD).await;
    enrol_totp(&server, &access).await;
    let shown = ok_json(&config, &["show-user", "alice@example.com", "--json"]);
    assert_eq!(shown["second_factors"]["count"], 1);
    assert_eq!(shown["second_factors"]["totp"], true);
    assert_eq!(shown["second_factors"]["recovery_codes_left"], 10);
    let said = ok(&config, &["reset-second-factors", "alice@example.com"]);
    assert!(
        said.contains("removed 1 second factor(s) and 10 recovery code(s)"),
        "{said}"
    );
    refused(&server, &access).await;
    let shown = ok_json(&config, &["show-user", "alice@example.com", "--json"]);
    assert_eq!(shown["second_factors"]["count"], 0);
    assert_eq!(shown["second_factors"]["recovery_codes_left"], 0);
    wait_for_mail(
        &config.outbox(),
        "alice@example.com",
        "The sign-in of your account changed",
        1,
    )
    .await;
    // No second step any more: the password alone signs in.
    let login: Value = server
        .login("alice@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert!(login["access_token"].is_string(), "{login}");
}
