//! The task that keeps a [`SessionCache`](super::SessionCache) subscribed to its store's
//! revocation feed, and drops the cache whenever the feed cannot be trusted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::live::LiveTable;
use crate::store::{RevocationEvent, RevocationFeed, RevocationSink};

/// How often a heartbeat is sent through the feed.
const HEARTBEAT_EVERY: Duration = Duration::from_millis(250);
/// How long the feed may stay silent before the cache stops trusting it: a connection that
/// died without the peer saying so is noticed within this.
const SILENCE_LIMIT: Duration = Duration::from_secs(1);
/// The first and the longest wait before subscribing again after a loss.
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(2);

/// The running task; aborted when dropped.
#[derive(Debug)]
pub(super) struct Supervisor {
    task: JoinHandle<()>,
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Supervisor {
    /// Starts listening on the current tokio runtime; `None` (the cache stays untrusted, so
    /// every check asks the store) when there is none.
    pub(super) fn start(feed: Arc<dyn RevocationFeed>, table: Arc<LiveTable>) -> Option<Self> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                target: "auth",
                "no tokio runtime: the session cache stays off and every check asks the store"
            );
            return None;
        };
        let task = runtime.spawn(run(feed, table));
        Some(Self { task })
    }
}

/// What the feed delivers into: the table, and when it was last heard from.
struct Sink {
    table: Arc<LiveTable>,
    started: Instant,
    /// Milliseconds since `started` when something was last heard.
    heard_at: AtomicU64,
}

impl Sink {
    fn heard(&self) {
        let millis = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.heard_at.store(millis, Ordering::Relaxed);
    }

    fn silent_for(&self) -> Duration {
        let heard = Duration::from_millis(self.heard_at.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(heard)
    }
}

impl RevocationSink for Sink {
    fn subscribed(&self) {
        self.heard();
        self.table.trust();
    }

    fn deliver(&self, event: RevocationEvent) {
        self.heard();
        match event {
            RevocationEvent::Session(id) => self.table.forget(id),
            RevocationEvent::User(user) => self.table.forget_user(user),
            RevocationEvent::Heartbeat => {}
        }
    }
}

async fn run(feed: Arc<dyn RevocationFeed>, table: Arc<LiveTable>) {
    let mut retry = RETRY_FIRST;
    loop {
        table.distrust();
        let sink = Sink {
            table: Arc::clone(&table),
            started: Instant::now(),
            heard_at: AtomicU64::new(0),
        };
        let outcome = tokio::select! {
            outcome = feed.listen(&sink) => match outcome {
                Ok(()) => "the feed ended".to_owned(),
                Err(err) => format!("the feed failed: {err}"),
            },
            () = watch(&*feed, &sink) => "the feed went silent".to_owned(),
        };
        let was_trusted = table.is_trusted();
        table.distrust();
        if was_trusted {
            tracing::warn!(
                target: "auth",
                reason = %outcome,
                "session cache off until the revocation feed is back: every check asks the store"
            );
            retry = RETRY_FIRST;
        } else {
            tracing::debug!(target: "auth", reason = %outcome, "revocation feed not subscribed");
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(RETRY_MAX);
    }
}

/// Sends a heartbeat every second; returns once the feed was silent for too long.
async fn watch(feed: &dyn RevocationFeed, sink: &Sink) {
    loop {
        tokio::time::sleep(HEARTBEAT_EVERY).await;
        if sink.table.is_trusted() && sink.silent_for() > SILENCE_LIMIT {
            return;
        }
        if let Err(err) = tokio::time::timeout(HEARTBEAT_EVERY, feed.heartbeat()).await {
            tracing::debug!(target: "auth", error = %err, "revocation feed heartbeat timed out");
        }
    }
}
