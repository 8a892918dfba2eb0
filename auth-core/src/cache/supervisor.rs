//! The task that keeps a cache subscribed to its store's feed, and drops the cache whenever
//! the feed cannot be trusted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::store::{RevocationEvent, RevocationFeed, RevocationSink};

/// What a feed feeds: a cache's table.
pub(crate) trait FeedTarget: Send + Sync + 'static {
    /// The feed is subscribed: start keeping answers (from an empty table).
    fn trust(&self);
    /// The feed is lost: forget everything, keep nothing.
    fn distrust(&self);
    /// Whether answers are kept.
    fn is_trusted(&self) -> bool;
    /// One announcement.
    fn apply(&self, event: RevocationEvent);
}

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
pub(crate) struct Supervisor {
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
    pub(crate) fn start(feed: Arc<dyn RevocationFeed>, table: Arc<dyn FeedTarget>) -> Option<Self> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                target: "auth",
                "no tokio runtime: the cache stays off and every read asks the store"
            );
            return None;
        };
        let task = runtime.spawn(run(feed, table));
        Some(Self { task })
    }
}

/// What the feed delivers into: the table, and when it was last heard from.
struct Sink {
    table: Arc<dyn FeedTarget>,
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
        if event != RevocationEvent::Heartbeat {
            self.table.apply(event);
        }
    }
}

async fn run(feed: Arc<dyn RevocationFeed>, table: Arc<dyn FeedTarget>) {
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
                "cache off until its feed is back: every read asks the store"
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
