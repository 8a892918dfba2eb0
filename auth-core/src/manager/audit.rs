//! Reading and pruning the audit trail.

use crate::error::AuthError;
use crate::events::AuditEvent;
use crate::store::{AuditLog, AuditQuery, Page};
use crate::user::{Profile, UserId};

use super::UserManager;

impl<P: Profile> UserManager<P> {
    /// The audit log, when one is configured
    /// ([`with_audit_log`](super::UserManagerBuilder::with_audit_log)).
    pub fn audit_log(&self) -> Option<&std::sync::Arc<dyn AuditLog>> {
        self.inner.audit.as_ref().map(|queue| queue.log())
    }

    /// One page of a user's events, newest first, with their total; an empty page when no
    /// audit log is configured. Events recorded a moment ago may still be on their way to
    /// the log (see [`with_audit_log`](super::UserManagerBuilder::with_audit_log)).
    ///
    /// # Errors
    /// Only when the log fails.
    pub async fn user_events(
        &self,
        user_id: UserId,
        query: &AuditQuery,
    ) -> Result<Page<AuditEvent>, AuthError> {
        match self.audit_log() {
            Some(log) => Ok(log.list(user_id, query).await?),
            None => Ok(Page {
                items: Vec::new(),
                total: 0,
            }),
        }
    }

    /// Deletes the events older than [`ManagerConfig::audit_retention`](super::ManagerConfig::audit_retention)
    /// by the manager's clock; returns how many (0 without an audit log). Call it from a
    /// timer (the reference server does once an hour); with several instances each may:
    /// pruning is idempotent.
    ///
    /// # Errors
    /// Only when the log fails.
    pub async fn prune_audit_log(&self) -> Result<u64, AuthError> {
        match self.audit_log() {
            Some(log) => Ok(log
                .prune(self.now() - self.config().audit_retention)
                .await?),
            None => Ok(0),
        }
    }

    /// Waits until every event emitted so far is written to the audit log (or given up).
    /// Call it at graceful shutdown (under a timeout), and in tests before reading a trail.
    pub async fn flush_audit(&self) {
        if let Some(queue) = &self.inner.audit {
            queue.flush().await;
        }
    }
}
