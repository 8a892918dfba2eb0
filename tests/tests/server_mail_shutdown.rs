//! The reference server's binary at `SIGTERM`: mail still queued is delivered before the
//! process exits, and a mail server that never answers delays the exit by a bounded time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use auth_e2e::server::{Backend, Config, PASSWORD};
use auth_e2e::smtp::{Behaviour, SmtpSink};
use serde_json::json;

fn email(who: &str) -> String {
    format!("{who}.{}@example.com", auth_e2e::unique())
}

async fn smtp_server(sink: &SmtpSink) -> (Config, auth_e2e::server::Server) {
    let config = Config::new(Backend::Sqlite)
        .await
        .without("MAIL_OUTBOX_DIR")
        .with("SMTP_URL", &sink.url());
    let server = config.start().await;
    (config, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_delivers_every_queued_mail_before_the_process_exits() {
    // Each message waits 1.5 s before its content is taken.
    let sink = SmtpSink::start_with(Behaviour::Slow(Duration::from_millis(1500))).await;
    let (_config, server) = smtp_server(&sink).await;
    let emails: Vec<String> = (0..4).map(|n| email(&format!("leaving{n}"))).collect();
    for email in &emails {
        server.register(email, PASSWORD).await;
    }
    for email in &emails {
        let forgot = server
            .post_json("/auth/forgot-password", &json!({ "email": email }))
            .await;
        assert_eq!(forgot.status(), 202);
    }
    let expected = emails.len() * 2;
    let before = sink.received().len();
    assert!(
        before < expected,
        "mail is still queued when the server is told to stop ({before} of {expected} delivered)"
    );

    let (status, log) = server.stop_with_log().await;
    assert!(status.success(), "{status}\n{log}");
    // Everything was delivered by the time the process was gone: nothing is waited for now.
    let received = sink.received();
    for email in &emails {
        for subject in ["Confirm your e-mail address", "Reset your password"] {
            let copies = received
                .iter()
                .filter(|mail| {
                    mail.to == [email.clone()] && mail.header("Subject").as_deref() == Some(subject)
                })
                .count();
            assert_eq!(copies, 1, "{subject:?} to {email}\n{log}");
        }
    }
    assert_eq!(received.len(), expected, "{log}");
    assert!(
        !log.contains("mail still queued at shutdown was dropped"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_mail_server_that_never_answers_exits_in_bounded_time() {
    let sink = SmtpSink::start_with(Behaviour::Silent).await;
    let (_config, server) = smtp_server(&sink).await;
    let email = email("stuck");
    server.register(&email, PASSWORD).await;
    let forgot = server
        .post_json("/auth/forgot-password", &json!({ "email": email }))
        .await;
    assert_eq!(forgot.status(), 202);
    // The mailer is stuck in a conversation that will never go on.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sink.connections() < 1 {
        assert!(Instant::now() < deadline, "{}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let started = Instant::now();
    let (status, log) = server.stop_with_log().await;
    let took = started.elapsed();
    assert!(status.success(), "{status}\n{log}");
    // The server waits up to 10 s for the queue, then gives up on it.
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(15),
        "the exit took {took:?}\n{log}"
    );
    assert!(
        log.contains("mail still queued at shutdown was dropped"),
        "{log}"
    );
    assert!(sink.received().is_empty());
}
