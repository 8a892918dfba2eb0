//! [`AuditQueue`]: audit records leave the request path.
//!
//! Recording an event never makes a request fail and never makes it wait for the log: the
//! event goes into a bounded in-process queue, and one background task writes the queue to
//! the [`AuditLog`] in order. Waiting would also tell an attacker something: a failed login
//! for an existing account is recorded on that account, one for an unknown address is not,
//! and an inline write would make the first slower. A log that fails or falls behind costs
//! events (each one logged as an error), never requests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::{Notify, mpsc};

use crate::events::AuditEvent;
use crate::store::AuditLog;

/// How many events may wait for the log at once; more are dropped (and logged).
pub(crate) const AUDIT_QUEUE_CAPACITY: usize = 4096;

/// What the writing task shares with the queue.
#[derive(Debug)]
struct Shared {
    log: Arc<dyn AuditLog>,
    /// Events accepted and not yet written or given up.
    pending: AtomicUsize,
    /// Woken whenever `pending` drops to zero.
    idle: Notify,
}

impl Shared {
    async fn write(&self, event: &AuditEvent) {
        if let Err(err) = self.log.record(event).await {
            tracing::error!(target: "auth", event = "audit_failed", kind = %event.kind(), user_id = %event.user_id(), error = %err, "audit event not recorded");
        }
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }
}

/// A bounded queue in front of an [`AuditLog`], written by one background task.
#[derive(Debug)]
pub(crate) struct AuditQueue {
    shared: Arc<Shared>,
    sender: OnceLock<mpsc::Sender<AuditEvent>>,
}

impl AuditQueue {
    pub(crate) fn new(log: Arc<dyn AuditLog>) -> Self {
        Self {
            shared: Arc::new(Shared {
                log,
                pending: AtomicUsize::new(0),
                idle: Notify::new(),
            }),
            sender: OnceLock::new(),
        }
    }

    /// The log behind the queue.
    pub(crate) fn log(&self) -> &Arc<dyn AuditLog> {
        &self.shared.log
    }

    /// Queues an event for the log; outside a Tokio runtime it is written at once.
    pub(crate) async fn record(&self, event: AuditEvent) {
        self.shared.pending.fetch_add(1, Ordering::AcqRel);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.shared.write(&event).await;
            return;
        };
        let sender = self.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(AUDIT_QUEUE_CAPACITY);
            runtime.spawn(run(Arc::clone(&self.shared), receiver));
            sender
        });
        if let Err(err) = sender.try_send(event) {
            let event = match err {
                mpsc::error::TrySendError::Full(event)
                | mpsc::error::TrySendError::Closed(event) => event,
            };
            tracing::error!(target: "auth", event = "audit_dropped", kind = %event.kind(), user_id = %event.user_id(), "audit queue full: event dropped");
            if self.shared.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
                self.shared.idle.notify_waiters();
            }
        }
    }

    /// Waits until every event queued so far is written or given up.
    pub(crate) async fn flush(&self) {
        loop {
            let idle = self.shared.idle.notified();
            if self.shared.pending.load(Ordering::Acquire) == 0 {
                return;
            }
            idle.await;
        }
    }
}

/// The writing task: one event at a time, in order, until the queue is dropped.
async fn run(shared: Arc<Shared>, mut receiver: mpsc::Receiver<AuditEvent>) {
    while let Some(event) = receiver.recv().await {
        shared.write(&event).await;
    }
}
