//! The metrics of feature `metrics`, read back from a recorder installed for this test process:
//! the hasher's duration histogram counts exactly its runs, and the mail queue counts each
//! mail's outcomes (queued, dropped, sent, failed).
#![cfg(feature = "metrics")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use auth_core::{
    Argon2Hasher, Email, Mail, MailContent, MailError, MailKind, MailQueue, MailQueueConfig,
    Mailer, Password, PasswordHasher, Verification,
};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tokio::sync::Semaphore;

/// One metric read back: its name, labels and value.
type Seen = (String, Vec<(String, String)>, DebugValue);

/// What the recorder saw since the last reading: `(name, labels, value)`. Counters and
/// histograms are drained by each reading.
fn read(snapshotter: &Snapshotter) -> Vec<Seen> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let (_, key) = key.into_parts();
            let labels = key
                .labels()
                .map(|label| (label.key().to_owned(), label.value().to_owned()))
                .collect();
            (key.name().to_owned(), labels, value)
        })
        .collect()
}

/// The counter `name` with exactly these labels (0 when never incremented).
fn counter(seen: &[Seen], name: &str, labels: &[(&str, &str)]) -> u64 {
    seen.iter()
        .filter(|(found, found_labels, _)| found == name && same_labels(found_labels, labels))
        .map(|(_, _, value)| match value {
            DebugValue::Counter(count) => *count,
            other => panic!("{name} is not a counter: {other:?}"),
        })
        .sum()
}

/// The samples of the histogram `name` with exactly these labels.
fn samples(seen: &[Seen], name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
    seen.iter()
        .filter(|(found, found_labels, _)| found == name && same_labels(found_labels, labels))
        .flat_map(|(_, _, value)| match value {
            DebugValue::Histogram(values) => {
                values.iter().map(|v| v.into_inner()).collect::<Vec<_>>()
            }
            other => panic!("{name} is not a histogram: {other:?}"),
        })
        .collect()
}

fn same_labels(found: &[(String, String)], wanted: &[(&str, &str)]) -> bool {
    found.len() == wanted.len()
        && wanted
            .iter()
            .all(|(key, value)| found.iter().any(|(k, v)| k == key && v == value))
}

/// A mailer that fails its first `failures` sends, and then waits for a permit of `gate`
/// before each send.
#[derive(Debug)]
struct TestMailer {
    failures: AtomicUsize,
    gate: Arc<Semaphore>,
}

#[async_trait]
impl Mailer for TestMailer {
    async fn send(&self, _mail: &Mail) -> Result<(), MailError> {
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok()
        {
            return Err(MailError(Box::new(std::io::Error::other(
                "the mail server is down",
            ))));
        }
        self.gate.acquire().await.unwrap().forget();
        Ok(())
    }
}

fn mail(kind: &str) -> Mail {
    let to = Email::parse("alice@example.com").unwrap();
    let link = format!("https://example.com/{kind}#token=x");
    let content = MailContent::new("A mail", link.clone(), link.clone());
    let kind = match kind {
        "verify" => MailKind::Verify { link },
        _ => MailKind::ResetPassword { link },
    };
    Mail::new(to, kind, content)
}

/// One test: the recorder is the process's, and each reading drains it, so the steps run
/// one after another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashing_and_mail_are_counted_exactly() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    // --- the hasher: one sample per run of the hash function, none for refused input -----
    let hasher = Argon2Hasher::fast_insecure();
    let password = Password::new("violet tractor lantern");
    let first = hasher.hash(&password).await.unwrap();
    let _second = hasher.hash(&password).await.unwrap();
    assert_eq!(
        hasher.verify(&password, &first).await.unwrap(),
        Verification::Valid
    );
    assert_eq!(
        hasher
            .verify(&Password::new("wrong"), &first)
            .await
            .unwrap(),
        Verification::Invalid
    );
    hasher.dummy_verify(&password).await.unwrap();
    // Never hashed: too long, or a stored hash that does not parse.
    let too_long = Password::new("x".repeat(auth_core::MAX_PASSWORD_BYTES + 1));
    assert!(hasher.hash(&too_long).await.is_err());
    assert_eq!(
        hasher.verify(&too_long, &first).await.unwrap(),
        Verification::Invalid
    );
    assert_eq!(
        hasher
            .verify(&password, &auth_core::PasswordHash::new("not a hash"))
            .await
            .unwrap(),
        Verification::Invalid
    );
    let seen = read(&snapshotter);
    let name = "auth_password_hash_duration_seconds";
    let hashes = samples(&seen, name, &[("op", "hash")]);
    let verifications = samples(&seen, name, &[("op", "verify")]);
    assert_eq!(hashes.len(), 2, "{seen:?}");
    assert_eq!(verifications.len(), 3, "{seen:?}");
    assert!(
        hashes
            .iter()
            .chain(&verifications)
            .all(|secs| *secs > 0.0 && *secs < 10.0),
        "durations in seconds: {seen:?}"
    );

    // --- the mail queue: a mail that fails every attempt ----------------------------------
    let gate = Arc::new(Semaphore::new(0));
    let failing = MailQueue::new(
        Arc::new(TestMailer {
            failures: AtomicUsize::new(usize::MAX),
            gate: gate.clone(),
        }),
        MailQueueConfig::default()
            .with_attempts(3)
            .with_first_retry(Duration::from_millis(1)),
    );
    failing.enqueue(mail("reset")).unwrap();
    failing.flush().await;
    let seen = read(&snapshotter);
    let mails = |outcome| {
        counter(
            &seen,
            "auth_mails_total",
            &[("kind", "reset"), ("outcome", outcome)],
        )
    };
    assert_eq!(
        (mails("queued"), mails("failed"), mails("sent")),
        (1, 1, 0),
        "retries are not counted: {seen:?}"
    );

    // --- a full queue drops, and what was accepted is sent (after a retry) --------------
    let queue = MailQueue::new(
        Arc::new(TestMailer {
            failures: AtomicUsize::new(1),
            gate: gate.clone(),
        }),
        MailQueueConfig::default()
            .with_capacity(1)
            .with_first_retry(Duration::from_millis(1)),
    );
    // The mailer holds every send at the gate, so at most the four sends in flight, one
    // waiting for a slot and one in the channel are accepted of ten offers.
    let (mut accepted, mut dropped) = (0u64, 0u64);
    for _ in 0..10 {
        match queue.enqueue(mail("verify")) {
            Ok(()) => accepted += 1,
            Err(_) => dropped += 1,
        }
    }
    assert!(
        accepted >= 1 && dropped >= 1,
        "accepted {accepted}, dropped {dropped}"
    );
    gate.add_permits(usize::try_from(accepted).unwrap());
    queue.flush().await;
    let seen = read(&snapshotter);
    let mails = |outcome| {
        counter(
            &seen,
            "auth_mails_total",
            &[("kind", "verify"), ("outcome", outcome)],
        )
    };
    assert_eq!(mails("queued"), accepted, "{seen:?}");
    assert_eq!(mails("dropped"), dropped, "{seen:?}");
    assert_eq!(mails("sent"), accepted, "{seen:?}");
    assert_eq!(mails("failed"), 0, "{seen:?}");
}
