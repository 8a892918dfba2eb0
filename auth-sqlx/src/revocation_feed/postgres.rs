//! The Postgres revocation feed: `LISTEN auth_sessions_revoked`.

use async_trait::async_trait;
use auth_core::{RevocationEvent, RevocationFeed, RevocationSink, SessionId, StoreError};
use sqlx::Postgres;
use sqlx::postgres::{PgListener, PgPool};

use crate::error::store_error;

/// The channel the trigger of migration 5 notifies.
const CHANNEL: &str = "auth_sessions_revoked";
/// The payload of a heartbeat (never a session id, which is a UUID).
const HEARTBEAT: &str = "heartbeat";

/// Listens on a connection of its own (opened with the pool's options), and sends heartbeats
/// through the pool.
#[derive(Debug)]
pub(crate) struct PgRevocationFeed {
    pool: PgPool,
}

impl PgRevocationFeed {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl RevocationFeed for PgRevocationFeed {
    async fn listen(&self, sink: &dyn RevocationSink) -> Result<(), StoreError> {
        let mut listener = PgListener::connect_with(&self.pool)
            .await
            .map_err(store_error::<Postgres>)?;
        listener
            .listen(CHANNEL)
            .await
            .map_err(store_error::<Postgres>)?;
        sink.subscribed();
        // `try_recv` answers `None` when the connection was lost (notifications may have
        // been missed meanwhile): that ends this subscription.
        while let Some(notification) = listener.try_recv().await.map_err(store_error::<Postgres>)? {
            let payload = notification.payload();
            if payload == HEARTBEAT {
                sink.deliver(RevocationEvent::Heartbeat);
            } else if let Ok(id) = payload.parse::<SessionId>() {
                sink.deliver(RevocationEvent::Session(id));
            }
        }
        Ok(())
    }

    async fn heartbeat(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(HEARTBEAT)
            .execute(&self.pool)
            .await
            .map_err(store_error::<Postgres>)?;
        Ok(())
    }
}
