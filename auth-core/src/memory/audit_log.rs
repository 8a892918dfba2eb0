//! [`MemoryAuditLog`].

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::events::AuditEvent;
use crate::store::{AuditLog, AuditQuery, Page};
use crate::user::UserId;

/// An [`AuditLog`] in process memory: each user's events in a list of their own, kept in
/// time order. Nothing survives a restart; use the SQL log of `auth-sqlx` to keep a trail.
///
/// ```
/// use auth_core::MemoryAuditLog;
/// let log = MemoryAuditLog::new();
/// ```
#[derive(Debug, Default)]
pub struct MemoryAuditLog {
    trails: Mutex<HashMap<UserId, Vec<AuditEvent>>>,
}

impl MemoryAuditLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    fn trails(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Vec<AuditEvent>>> {
        self.trails
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The order of a trail: oldest first, by time, then by id.
fn order(event: &AuditEvent) -> (OffsetDateTime, uuid::Uuid) {
    (event.at(), event.id())
}

#[async_trait]
impl AuditLog for MemoryAuditLog {
    async fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let mut trails = self.trails();
        let trail = trails.entry(event.user_id()).or_default();
        let at = trail.partition_point(|kept| order(kept) <= order(event));
        trail.insert(at, event.clone());
        Ok(())
    }

    async fn list(
        &self,
        user_id: UserId,
        query: &AuditQuery,
    ) -> Result<Page<AuditEvent>, StoreError> {
        let trails = self.trails();
        let Some(trail) = trails.get(&user_id) else {
            return Ok(Page {
                items: Vec::new(),
                total: 0,
            });
        };
        let skip = usize::try_from(query.offset).unwrap_or(usize::MAX);
        let take = usize::try_from(query.limit).unwrap_or(usize::MAX);
        Ok(Page {
            items: trail.iter().rev().skip(skip).take(take).cloned().collect(),
            total: trail.len() as u64,
        })
    }

    async fn prune(&self, older_than: OffsetDateTime) -> Result<u64, StoreError> {
        let mut trails = self.trails();
        let mut pruned = 0;
        trails.retain(|_, trail| {
            let before = trail.len();
            trail.retain(|event| event.at() >= older_than);
            pruned += (before - trail.len()) as u64;
            !trail.is_empty()
        });
        Ok(pruned)
    }
}
