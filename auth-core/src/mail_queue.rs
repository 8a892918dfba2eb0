//! [`MailQueue`]: mail leaves the request path.
//!
//! The manager never waits for a mailer inside a request: a slow SMTP server would make
//! "forgot password" answer slower for an address that has an account than for one that has
//! not, which tells an attacker which addresses are registered. Mail goes into a bounded
//! in-process queue instead, and a background task delivers it, with retries.
//!
//! # What can be lost
//! The queue lives in the process's memory. Mail still queued when the process is killed
//! (not shut down gracefully) is lost; so is mail offered while the queue is full (logged as
//! an error), and mail whose every attempt failed (logged as an error). Each of these is a
//! link the user can ask for again. Call [`UserManager::flush_mail`](crate::UserManager::flush_mail)
//! at graceful shutdown to deliver what is queued.
//!
//! # Metrics
//! With feature `metrics`, every mail counts once in `auth_mails_total{kind, outcome}` when it
//! is accepted (`queued`) or refused because the queue is full (`dropped`), and once more
//! when it is delivered (`sent`) or given up after its last attempt (`failed`). Retries are
//! not counted: a mail that fails twice and then goes through is one `sent`.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, mpsc};

use crate::mail::{Mail, MailError, Mailer};

/// How the [`MailQueue`] holds and retries mail.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailQueueConfig {
    /// How many mails may wait at once; more are dropped and logged (default 1,024).
    pub capacity: usize,
    /// How many times one mail is tried before it is given up (default 5).
    pub attempts: u32,
    /// The wait before the first retry; each further retry waits twice as long
    /// (default 2 s: retries after 2, 4, 8 and 16 s).
    pub first_retry: Duration,
    /// How many mails are sent at once (default 4).
    pub concurrency: usize,
}

impl Default for MailQueueConfig {
    fn default() -> Self {
        Self {
            capacity: 1024,
            attempts: 5,
            first_retry: Duration::from_secs(2),
            concurrency: 4,
        }
    }
}

impl MailQueueConfig {
    /// This config with another first retry delay (tests use milliseconds).
    #[must_use]
    pub fn with_first_retry(mut self, first_retry: Duration) -> Self {
        self.first_retry = first_retry;
        self
    }

    /// This config with another number of attempts (at least one).
    #[must_use]
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// This config with another capacity (at least one).
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }
}

/// What the delivery task shares with the queue's handle.
struct Shared {
    mailer: Arc<dyn Mailer>,
    config: MailQueueConfig,
    /// Mails accepted and not yet delivered or given up.
    pending: AtomicUsize,
    /// Woken whenever `pending` drops to zero.
    idle: Notify,
}

/// A bounded queue in front of a [`Mailer`], drained by a background task with retries.
///
/// The [`UserManager`](crate::UserManager) puts one in front of whatever mailer it is given.
/// The task starts with the first mail, on the Tokio runtime that offers it; outside a Tokio
/// runtime mail is sent at once instead. It ends when the queue is dropped and everything
/// queued is delivered.
///
/// ```
/// use std::sync::Arc;
/// use auth_core::{Email, Mail, MailContent, MailKind, MailQueue, MailQueueConfig, MemoryMailer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let outbox = MemoryMailer::new();
/// let queue = MailQueue::new(Arc::new(outbox.clone()), MailQueueConfig::default());
/// let to = Email::parse("alice@example.com")?;
/// queue.enqueue(Mail::new(to, MailKind::SecurityNotice, MailContent::new("Hi", "Hi.\n", "<p>Hi.</p>")))?;
/// queue.flush().await;
/// assert_eq!(outbox.sent().len(), 1);
/// # Ok(())
/// # }
/// ```
pub struct MailQueue {
    shared: Arc<Shared>,
    sender: OnceLock<mpsc::Sender<Mail>>,
}

impl fmt::Debug for MailQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailQueue")
            .field("mailer", &self.shared.mailer)
            .field("config", &self.shared.config)
            .field("pending", &self.pending())
            .finish()
    }
}

/// The queue was full: the mail was not accepted.
#[derive(Debug, thiserror::Error)]
#[error("the mail queue is full")]
struct QueueFull;

impl MailQueue {
    /// A queue in front of `mailer`.
    pub fn new(mailer: Arc<dyn Mailer>, config: MailQueueConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                mailer,
                config,
                pending: AtomicUsize::new(0),
                idle: Notify::new(),
            }),
            sender: OnceLock::new(),
        }
    }

    /// How many mails are queued or being sent.
    pub fn pending(&self) -> usize {
        self.shared.pending.load(Ordering::Acquire)
    }

    /// Queues a mail without waiting for it to be sent.
    ///
    /// # Errors
    /// When the queue is full (the mail is dropped; the caller logs it).
    pub fn enqueue(&self, mail: Mail) -> Result<(), MailError> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to run the delivery task on: deliver on a thread of our own.
            let shared = Arc::clone(&self.shared);
            shared.pending.fetch_add(1, Ordering::AcqRel);
            record(mail.kind.name(), Outcome::Queued);
            std::thread::spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(deliver(&shared, mail)),
                    Err(err) => {
                        tracing::error!(target: "auth", event = "mail_failed", error = %err, "no runtime to send mail on");
                        record(mail.kind.name(), Outcome::Failed);
                        shared.done();
                    }
                }
            });
            return Ok(());
        };
        let sender = self.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(self.shared.config.capacity.max(1));
            runtime.spawn(run(Arc::clone(&self.shared), receiver));
            sender
        });
        self.shared.pending.fetch_add(1, Ordering::AcqRel);
        let kind = mail.kind.name();
        if let Err(err) = sender.try_send(mail) {
            self.shared.done();
            let to = match &err {
                mpsc::error::TrySendError::Full(mail) | mpsc::error::TrySendError::Closed(mail) => {
                    mail.to.to_string()
                }
            };
            record(kind, Outcome::Dropped);
            tracing::error!(target: "auth", event = "mail_dropped", to = ?to, "mail queue full: mail dropped");
            return Err(MailError(Box::new(QueueFull)));
        }
        record(kind, Outcome::Queued);
        Ok(())
    }

    /// Waits until every mail queued so far has been delivered or given up. Use it at
    /// graceful shutdown (under a timeout), and in tests before reading an outbox.
    pub async fn flush(&self) {
        loop {
            let idle = self.shared.idle.notified();
            if self.pending() == 0 {
                return;
            }
            idle.await;
        }
    }
}

impl Shared {
    fn done(&self) {
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }
}

/// The delivery task: up to `concurrency` mails at once, until the queue is dropped.
async fn run(shared: Arc<Shared>, mut receiver: mpsc::Receiver<Mail>) {
    let slots = Arc::new(Semaphore::new(shared.config.concurrency.max(1)));
    while let Some(mail) = receiver.recv().await {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            // The semaphore is never closed; give the mail up rather than loop.
            shared.done();
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            deliver(&shared, mail).await;
            drop(slot);
        });
    }
}

/// Sends one mail, retrying with doubling waits; logs the outcome and marks it done.
async fn deliver(shared: &Shared, mail: Mail) {
    let attempts = shared.config.attempts.max(1);
    let mut wait = shared.config.first_retry;
    for attempt in 1..=attempts {
        match shared.mailer.send(&mail).await {
            Ok(()) => {
                tracing::debug!(target: "auth", event = "mail_sent", to = ?mail.to.to_string(), subject = ?mail.subject, attempt, "mail sent");
                record(mail.kind.name(), Outcome::Sent);
                break;
            }
            Err(err) if attempt < attempts => {
                tracing::warn!(target: "auth", event = "mail_retry", to = ?mail.to.to_string(), attempt, error = %err, "sending mail failed; will retry");
                tokio::time::sleep(wait).await;
                wait = wait.saturating_mul(2);
            }
            Err(err) => {
                tracing::error!(target: "auth", event = "mail_failed", to = ?mail.to.to_string(), attempts, error = %err, "sending mail failed; given up");
                record(mail.kind.name(), Outcome::Failed);
            }
        }
    }
    shared.done();
}

/// What became of a mail, as the `outcome` label of `auth_mails_total`.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// Accepted into the queue.
    Queued,
    /// Refused: the queue was full.
    Dropped,
    /// Delivered to the mailer.
    Sent,
    /// Given up after its last attempt.
    Failed,
}

/// Counts one outcome of a mail of `kind` ([`MailKind::name`](crate::MailKind::name)) in
/// `auth_mails_total`; nothing without feature `metrics`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
fn record(kind: &'static str, outcome: Outcome) {
    #[cfg(feature = "metrics")]
    {
        let outcome = match outcome {
            Outcome::Queued => "queued",
            Outcome::Dropped => "dropped",
            Outcome::Sent => "sent",
            Outcome::Failed => "failed",
        };
        metrics::counter!("auth_mails_total", "kind" => kind, "outcome" => outcome).increment(1);
    }
}
