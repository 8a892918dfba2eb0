//! The revocation feed of [`RedisSessionStore`](crate::RedisSessionStore): every script that
//! ends a session publishes its id on `<prefix>:revoked`, in the same atomic step, and each
//! app instance subscribes to that channel.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::{RevocationEvent, RevocationFeed, RevocationSink, SessionId, StoreError};
use futures::StreamExt;

use crate::connection::RedisConnection;
use crate::error::store_error;

/// The payload of a heartbeat (never a session id, which is a UUID).
const HEARTBEAT: &str = "heartbeat";

/// Subscribes to the revocation channel through one of the nodes (on a cluster, a `PUBLISH`
/// reaches every node, so any one will do).
#[derive(Debug)]
pub(crate) struct RedisRevocationFeed {
    conn: RedisConnection,
    nodes: Arc<[redis::Client]>,
    channel: String,
}

impl RedisRevocationFeed {
    pub(crate) fn new(conn: RedisConnection, nodes: Arc<[redis::Client]>) -> Self {
        let channel = conn.keys().revocations();
        Self {
            conn,
            nodes,
            channel,
        }
    }

    /// A subscription through the first node that takes it.
    async fn subscribe(&self) -> Result<redis::aio::PubSub, StoreError> {
        let limit = self.conn.timeout().max(Duration::from_secs(1));
        let mut last = None;
        for node in self.nodes.iter() {
            let attempt = async {
                let mut pubsub = node.get_async_pubsub().await?;
                pubsub.subscribe(&self.channel).await?;
                Ok::<_, redis::RedisError>(pubsub)
            };
            match tokio::time::timeout(limit, attempt).await {
                Ok(Ok(pubsub)) => return Ok(pubsub),
                Ok(Err(err)) => last = Some(store_error(err)),
                Err(_) => last = Some(StoreError::unavailable(crate::Error::Timeout(limit))),
            }
        }
        Err(last.unwrap_or_else(|| StoreError::unavailable(crate::Error::Timeout(limit))))
    }
}

#[async_trait]
impl RevocationFeed for RedisRevocationFeed {
    async fn listen(&self, sink: &dyn RevocationSink) -> Result<(), StoreError> {
        let mut pubsub = self.subscribe().await?;
        sink.subscribed();
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let Ok(payload) = message.get_payload::<String>() else {
                continue;
            };
            if payload == HEARTBEAT {
                sink.deliver(RevocationEvent::Heartbeat);
            } else if let Ok(id) = payload.parse::<SessionId>() {
                sink.deliver(RevocationEvent::Session(id));
            } else {
                tracing::debug!(target: "auth", "ignored a malformed message on the revocation channel");
            }
        }
        Ok(())
    }

    async fn heartbeat(&self) -> Result<(), StoreError> {
        self.conn
            .bounded(
                self.conn
                    .query::<()>(redis::cmd("PUBLISH").arg(&self.channel).arg(HEARTBEAT)),
            )
            .await
    }
}
