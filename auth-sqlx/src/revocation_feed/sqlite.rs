//! The SQLite revocation feed: a log table, polled.

use std::time::Duration;

use async_trait::async_trait;
use auth_core::{RevocationEvent, RevocationFeed, RevocationSink, SessionId, StoreError};
use sqlx::sqlite::SqlitePool;
use sqlx::{Row, Sqlite};
use uuid::Uuid;

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

/// Reads `auth_session_revocations` every 20 ms from where it left off.
#[derive(Debug)]
pub(crate) struct SqliteRevocationFeed {
    pool: SqlitePool,
}

impl SqliteRevocationFeed {
    pub(crate) fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl RevocationFeed for SqliteRevocationFeed {
    async fn listen(&self, sink: &dyn RevocationSink) -> Result<(), StoreError> {
        let mut last: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM auth_session_revocations")
                .fetch_one(&self.pool)
                .await
                .map_err(store_error::<Sqlite>)?;
        sink.subscribed();
        let mut polls: u32 = 0;
        loop {
            let rows = sqlx::query(
                "SELECT seq, session_id FROM auth_session_revocations \
                 WHERE seq > ? ORDER BY seq LIMIT ?",
            )
            .bind(last)
            .bind(BATCH)
            .fetch_all(&self.pool)
            .await
            .map_err(store_error::<Sqlite>)?;
            let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= BATCH;
            for row in rows {
                let seq: i64 = row.try_get("seq").map_err(store_error::<Sqlite>)?;
                let id: Vec<u8> = row.try_get("session_id").map_err(store_error::<Sqlite>)?;
                if let Ok(uuid) = Uuid::from_slice(&id) {
                    sink.deliver(RevocationEvent::Session(SessionId::from_uuid(uuid)));
                }
                last = last.max(seq);
            }
            sink.deliver(RevocationEvent::Heartbeat);
            polls = polls.wrapping_add(1);
            if polls.is_multiple_of(PRUNE_EVERY) {
                sqlx::query(
                    "DELETE FROM auth_session_revocations WHERE revoked_at < unixepoch() - ?",
                )
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
