//! [`AuditLog`]: where each user's trail of authentication events is kept.

use std::fmt::Debug;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::events::AuditEvent;
use crate::store::Page;
use crate::user::UserId;

/// Which page of a user's events to list, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditQuery {
    /// At most this many events (the HTTP routes cap it at 100).
    pub limit: u32,
    /// Skip this many of the newest events first.
    pub offset: u64,
}

impl Default for AuditQuery {
    fn default() -> Self {
        Self {
            limit: 50,
            offset: 0,
        }
    }
}

/// Where each user's trail of authentication events is kept: what the
/// [`UserManager`](crate::UserManager) records when it is given one
/// ([`with_audit_log`](crate::UserManagerBuilder::with_audit_log)), and what
/// `GET /users/me/events` shows.
///
/// A log only keeps rows; the events it is given are already safe to keep (see
/// [`AuditEvent`]). It must:
/// - keep every field of an event as given, texts included (they may hold any Unicode);
/// - list one user's events newest first (by time, then by id, descending), with the
///   number of that user's events as the page's total, and never another user's;
/// - accept records from many tasks at once;
/// - delete, in [`prune`](AuditLog::prune), every event older than a time, and nothing
///   newer.
///
/// The `auth_core::conformance` suite (feature `test-suite`, module `audit`) checks all of
/// that; [`MemoryAuditLog`](crate::MemoryAuditLog) is the reference.
#[async_trait]
pub trait AuditLog: Debug + Send + Sync + 'static {
    /// Keeps one event.
    ///
    /// # Errors
    /// When the backend fails.
    async fn record(&self, event: &AuditEvent) -> Result<(), StoreError>;

    /// One page of a user's events, newest first, and how many they have in all.
    ///
    /// # Errors
    /// When the backend fails.
    async fn list(
        &self,
        user_id: UserId,
        query: &AuditQuery,
    ) -> Result<Page<AuditEvent>, StoreError>;

    /// Deletes every event that happened before `older_than`; returns how many.
    ///
    /// # Errors
    /// When the backend fails.
    async fn prune(&self, older_than: OffsetDateTime) -> Result<u64, StoreError>;
}
