//! The reference server's binary: mail through SMTP and through the log, and the settings it
//! refuses to start with in production.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use auth_e2e::server::{Backend, Config, PASSWORD};
use auth_e2e::smtp::{Behaviour, Received, SmtpSink};
use serde_json::json;

fn email(who: &str) -> String {
    format!("{who}.{}@example.com", auth_e2e::unique())
}

/// An app name that would run a script if the HTML body did not escape it.
const HOSTILE_APP: &str = "<script>alert(\"x\")</script> & 'Co'";
const ESCAPED_APP: &str = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Co&#39;";

/// Checks one delivered mail with a link: headers, both parts, the link in both, the stated
/// lifetime, the escaping; returns the link.
fn check_link_mail(
    mail: &Received,
    email: &str,
    link_start: &str,
    subject: &str,
    expires: &str,
) -> String {
    assert_eq!(mail.from, "accounts@example.org");
    assert_eq!(mail.to, vec![email.to_owned()]);
    assert_eq!(
        mail.header("From").unwrap(),
        "Accounts <accounts@example.org>"
    );
    assert_eq!(mail.header("To").unwrap(), email);
    assert_eq!(mail.header("Subject").unwrap(), subject);
    let content_type = mail.header("Content-Type").unwrap();
    assert!(
        content_type.starts_with("multipart/alternative;"),
        "{content_type}"
    );
    let parts = mail.parts();
    let types: Vec<&str> = parts.iter().map(|p| p.content_type.as_str()).collect();
    assert_eq!(
        types,
        ["text/plain; charset=utf-8", "text/html; charset=utf-8"],
        "the text first, the preferred HTML last"
    );
    let text = mail.text();
    let html = mail.html().unwrap();
    let link = text
        .split_whitespace()
        .find(|word| word.starts_with(link_start))
        .unwrap_or_else(|| panic!("no link {link_start} in {text}"))
        .to_owned();
    // A token is URL-safe: the link reads the same escaped.
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    assert!(text.contains(&format!("expires in {expires}.")), "{text}");
    assert!(html.contains(&format!("expires in {expires}.")), "{html}");
    // The app name as written in the text, escaped in the HTML; the address too.
    assert!(text.contains(HOSTILE_APP), "{text}");
    assert!(html.contains(ESCAPED_APP), "{html}");
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains(&email.replace('\'', "&#39;")), "{html}");
    assert!(!html.contains(email), "{html}");
    link
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_url_delivers_multipart_mails_that_state_the_configured_lifetimes() {
    let sink = SmtpSink::start().await;
    let config = Config::new(Backend::Sqlite)
        .await
        .without("MAIL_OUTBOX_DIR")
        .with("SMTP_URL", &sink.url())
        .with("MAIL_FROM", "Accounts <accounts@example.org>")
        .with("APP_NAME", HOSTILE_APP)
        .with("VERIFY_TOKEN_EXPIRE_MINUTES", "120")
        .with("RESET_TOKEN_EXPIRE_MINUTES", "30");
    let server = config.start().await;
    let email = email("o'smtp");
    server.register(&email, PASSWORD).await;
    let verify = sink.wait_for(&email, "Confirm", 1).await;
    check_link_mail(
        &verify,
        &email,
        &format!("{}/verify#token=", server.base),
        "Confirm your e-mail address",
        "2 hours",
    );

    let forgot = server
        .post_json("/auth/forgot-password", &json!({ "email": email }))
        .await;
    assert_eq!(forgot.status(), 202);
    let reset = sink.wait_for(&email, "Reset", 1).await;
    let link = check_link_mail(
        &reset,
        &email,
        &format!("{}/reset-password#token=", server.base),
        "Reset your password",
        "30 minutes",
    );
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

/// A loopback port nothing listens on (it was free a moment ago).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Registers a user (a verification mail) and asks twice for a reset (two reset mails), and
/// checks every answer came at once, whatever the mail server does.
async fn answers_at_once(server: &auth_e2e::server::Server, email: &str) {
    // Mail waits for its server for up to 30 s (the send timeout) and is retried for longer:
    // an answer that waited for it would take that long.
    let limit = Duration::from_secs(5);
    let started = Instant::now();
    server.register(email, PASSWORD).await;
    assert!(
        started.elapsed() < limit,
        "register took {:?}",
        started.elapsed()
    );
    for _ in 0..2 {
        let started = Instant::now();
        let forgot = server
            .post_json("/auth/forgot-password", &json!({ "email": email }))
            .await;
        assert_eq!(forgot.status(), 202);
        assert!(
            started.elapsed() < limit,
            "forgot took {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_server_that_is_down_fails_no_request_and_its_password_stays_out_of_the_log() {
    let port = closed_port();
    let password = "Pw-of-the-mailer-93";
    let config = Config::new(Backend::Sqlite)
        .await
        .without("MAIL_OUTBOX_DIR")
        .with(
            "SMTP_URL",
            &format!("smtp://mailer:{password}@127.0.0.1:{port}"),
        );
    let server = config.start().await;
    answers_at_once(&server, &email("down")).await;
    // Each of the three mails fails at once and is retried; the failure is logged with the
    // server it tried and why, not with the URL's password.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server
        .log()
        .matches("sending mail failed; will retry")
        .count()
        < 3
    {
        assert!(Instant::now() < deadline, "{}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = server.log();
    assert!(log.contains(&format!("smtp://127.0.0.1:{port}")), "{log}");
    assert!(log.contains("Connection refused"), "{log}");
    assert!(!log.contains(password), "{log}");
    assert!(!log.contains("mailer:"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_server_that_never_answers_holds_no_request() {
    let sink = SmtpSink::start_with(Behaviour::Silent).await;
    let config = Config::new(Backend::Sqlite)
        .await
        .without("MAIL_OUTBOX_DIR")
        .with("SMTP_URL", &sink.url());
    let server = config.start().await;
    answers_at_once(&server, &email("silent")).await;
    // The mailer is indeed stuck talking to it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sink.connections() < 1 {
        assert!(Instant::now() < deadline, "{}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(sink.received().is_empty());
    // And the server still answers everything else.
    let health = server.http.get(server.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
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
