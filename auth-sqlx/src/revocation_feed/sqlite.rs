//! The SQLite feeds: a log table, polled.

use std::time::Duration;

use async_trait::async_trait;
use auth_core::{RevocationEvent, RevocationFeed, RevocationSink, StoreError};
use sqlx::sqlite::SqlitePool;
use sqlx::{Row, Sqlite};
use uuid::Uuid;

use super::Announces;
use crate::error::store_error;

/// How often the log is read: the longest a session ended by another process stays
/// accepted here.
const POLL_EVERY: Duration = Duration::from_millis(20);
/// How many entries one poll reads at most (the next poll goes on from there at once).
const BATCH: i64 = 1_000;
/// Entries older than this are deleted by the pollers (a poller that fell this far behind
/// has long been distrusted: it must be heard from every second).
const KEEP_SECONDS: i64 = 600;
/// How many polls between two prunings.
const PRUNE_EVERY: u32 = 3_000;

/// Reads its log table every 20 ms from where it left off.
#[derive(Debug)]
pub(crate) struct SqliteFeed {
    pool: SqlitePool,
    announces: Announces,
}

impl SqliteFeed {
    pub(crate) fn new(pool: SqlitePool, announces: Announces) -> Self {
        Self { pool, announces }
    }

    /// The statements on the log table that migration 5 fills: the last entry, the entries
    /// after one, and the pruning.
    fn statements(&self) -> [&'static str; 3] {
        match self.announces {
            Announces::Sessions => [
                "SELECT COALESCE(MAX(seq), 0) FROM auth_session_revocations",
                "SELECT seq, session_id AS id FROM auth_session_revocations \
                 WHERE seq > ? ORDER BY seq LIMIT ?",
                "DELETE FROM auth_session_revocations WHERE revoked_at < unixepoch() - ?",
            ],
            Announces::Users => [
                "SELECT COALESCE(MAX(seq), 0) FROM auth_user_changes",
                "SELECT seq, user_id AS id FROM auth_user_changes \
                 WHERE seq > ? ORDER BY seq LIMIT ?",
                "DELETE FROM auth_user_changes WHERE changed_at < unixepoch() - ?",
            ],
        }
    }
}

#[async_trait]
impl RevocationFeed for SqliteFeed {
    async fn listen(&self, sink: &dyn RevocationSink) -> Result<(), StoreError> {
        let [last_entry, entries_after, prune] = self.statements();
        let mut last: i64 = sqlx::query_scalar(last_entry)
            .fetch_one(&self.pool)
            .await
            .map_err(store_error::<Sqlite>)?;
        sink.subscribed();
        let mut polls: u32 = 0;
        loop {
            let rows = sqlx::query(entries_after)
                .bind(last)
                .bind(BATCH)
                .fetch_all(&self.pool)
                .await
                .map_err(store_error::<Sqlite>)?;
            let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= BATCH;
            for row in rows {
                let seq: i64 = row.try_get("seq").map_err(store_error::<Sqlite>)?;
                let id: Vec<u8> = row.try_get("id").map_err(store_error::<Sqlite>)?;
                if let Ok(uuid) = Uuid::from_slice(&id) {
                    sink.deliver(self.announces.event(uuid));
                }
                last = last.max(seq);
            }
            sink.deliver(RevocationEvent::Heartbeat);
            polls = polls.wrapping_add(1);
            if polls.is_multiple_of(PRUNE_EVERY) {
                sqlx::query(prune)
                    .bind(KEEP_SECONDS)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error::<Sqlite>)?;
            }
            if !full {
                tokio::time::sleep(POLL_EVERY).await;
            }
        }
    }

    /// Every poll is a heartbeat: nothing to send.
    async fn heartbeat(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
