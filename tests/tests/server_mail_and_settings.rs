//! The reference server's binary: mail through SMTP and through the log, and the settings it
//! refuses to start with in production.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use auth_e2e::server::{Backend, Config, PASSWORD};
use auth_e2e::smtp::SmtpSink;
use serde_json::json;

fn email(who: &str) -> String {
    format!("{who}.{}@example.com", auth_e2e::unique())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_url_delivers_the_verify_and_reset_mails_to_an_smtp_server() {
    let sink = SmtpSink::start().await;
    let config = Config::new(Backend::Sqlite)
        .await
        .without("MAIL_OUTBOX_DIR")
        .with("SMTP_URL", &sink.url())
        .with("MAIL_FROM", "Accounts <accounts@example.org>");
    let server = config.start().await;
    let email = email("smtp");
    server.register(&email, PASSWORD).await;
    let verify = sink.wait_for(&email, "Confirm", 1).await;
    assert_eq!(verify.from, "accounts@example.org");
    assert_eq!(verify.to, vec![email.clone()]);
    assert!(
        verify
            .text()
            .contains(&format!("{}/verify#token=", server.base)),
        "{}",
        verify.text()
    );

    let forgot = server
        .post_json("/auth/forgot-password", &json!({ "email": email }))
        .await;
    assert_eq!(forgot.status(), 202);
    let reset = sink.wait_for(&email, "Reset", 1).await;
    let text = reset.text();
    let link = text
        .split_whitespace()
        .find(|word| word.starts_with(&format!("{}/reset-password#token=", server.base)))
        .unwrap_or_else(|| panic!("no reset link in {text}"));
    let token = link.split_once("#token=").unwrap().1;
    // The token survived the transfer encoding intact: it resets the password.
    let reset = server
        .post_json(
            "/auth/reset-password",
            &json!({ "token": token, "password": "a passphrase sent by smtp" }),
        )
        .await;
    assert_eq!(reset.status(), 200);
    server.tokens(&email, "a passphrase sent by smtp").await;
    assert!(
        !config.outbox().exists(),
        "with SMTP_URL nothing goes to the outbox"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_mailer_mails_are_logged_without_their_link() {
    let config = Config::new(Backend::Sqlite)
        .await
        .without("MAIL_OUTBOX_DIR");
    let server = config.start().await;
    let email = email("logged");
    server.register(&email, PASSWORD).await;
    let forgot = server
        .post_json("/auth/forgot-password", &json!({ "email": email }))
        .await;
    assert_eq!(forgot.status(), 202);
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.log().matches("mail not sent").count() < 2 {
        assert!(Instant::now() < deadline, "{}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = server.log();
    assert!(log.contains(&email), "the log names the recipient");
    assert!(!log.contains("#token="), "but never the link: {log}");
}

/// Runs `server serve` with `config` and expects it to refuse to start, quickly, with a
/// message naming `setting`.
fn assert_refuses(config: &Config, setting: &str) {
    let started = Instant::now();
    let output = config.run(&["serve"], "");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "it must not start: {stderr}{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(stderr.contains(setting), "{setting} is named: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_refuses_to_start_without_a_strong_secret_and_names_the_setting() {
    let production = Config::new(Backend::Sqlite)
        .await
        .with("APP_ENV", "production")
        .without("COOKIE_SECURE");
    assert_refuses(
        &production.clone().without("JWT_SECRET_KEY"),
        "JWT_SECRET_KEY",
    );
    assert_refuses(
        &production.clone().with("JWT_SECRET_KEY", "short"),
        "JWT_SECRET_KEY",
    );
    assert_refuses(
        &production.clone().with("JWT_SECRET_KEY", "changeme"),
        "JWT_SECRET_KEY",
    );
    assert_refuses(
        &production.clone().with("COOKIE_SECURE", "false"),
        "COOKIE_SECURE",
    );
    assert!(
        !production.data_dir().join("jwt-secret").exists(),
        "production never generates a secret"
    );

    // With a strong secret and secure cookies it starts, and stops with status 0.
    let server = production.start().await;
    let health = server.http.get(server.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let status = server.stop().await;
    assert!(status.success(), "{status}");
}
