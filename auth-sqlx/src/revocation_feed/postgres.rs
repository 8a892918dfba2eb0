//! The Postgres feeds: `LISTEN auth_sessions_revoked` and `LISTEN auth_users_changed`.

use async_trait::async_trait;
use auth_core::{RevocationEvent, RevocationFeed, RevocationSink, StoreError};
use sqlx::Postgres;
use sqlx::postgres::{PgListener, PgPool};
use uuid::Uuid;

use super::Announces;
use crate::error::store_error;
use crate::query::{bounded, call_limit};

/// The payload of a heartbeat (never an id, which is a UUID).
const HEARTBEAT: &str = "heartbeat";

/// Listens on a connection of its own (opened with the pool's options), and sends heartbeats
/// through the pool.
#[derive(Debug)]
pub(crate) struct PgFeed {
    pool: PgPool,
    announces: Announces,
}

impl PgFeed {
    pub(crate) fn new(pool: PgPool, announces: Announces) -> Self {
        Self { pool, announces }
    }

    /// The channel the triggers of migration 5 notify.
    fn channel(&self) -> &'static str {
        match self.announces {
            Announces::Sessions => "auth_sessions_revoked",
            Announces::Users => "auth_users_changed",
        }
    }
}

#[async_trait]
impl RevocationFeed for PgFeed {
    async fn listen(&self, sink: &dyn RevocationSink) -> Result<(), StoreError> {
        // Subscribing has the time limit of a call: on a silent network it would otherwise
        // wait for good, before the silence of the feed could be noticed.
        let mut listener = bounded(call_limit(&self.pool), async {
            let mut listener = PgListener::connect_with(&self.pool)
                .await
                .map_err(store_error::<Postgres>)?;
            listener
                .listen(self.channel())
                .await
                .map_err(store_error::<Postgres>)?;
            Ok(listener)
        })
        .await?;
        sink.subscribed();
        // `try_recv` answers `None` when the connection was lost (notifications may have
        // been missed meanwhile): that ends this subscription.
        while let Some(notification) = listener.try_recv().await.map_err(store_error::<Postgres>)? {
            let payload = notification.payload();
            if payload == HEARTBEAT {
                sink.deliver(RevocationEvent::Heartbeat);
            } else if let Ok(id) = Uuid::parse_str(payload) {
                sink.deliver(self.announces.event(id));
            }
        }
        Ok(())
    }

    async fn heartbeat(&self) -> Result<(), StoreError> {
        bounded(call_limit(&self.pool), async {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(self.channel())
                .bind(HEARTBEAT)
                .execute(&self.pool)
                .await
                .map_err(store_error::<Postgres>)
        })
        .await
        .map(drop)
    }
}
