//! [`RevocationFeed`]: how a session store tells every app instance that sessions ended, so
//! that each can keep an exact in-process cache of live sessions.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::StoreError;
use crate::session::SessionId;
use crate::user::UserId;

/// How a [`SessionStore`](crate::SessionStore) announces that sessions ended: what decides
/// whether a [`UserManager`](crate::UserManager) may cache "this session is live" answers
/// (see [`SessionCache`](crate::SessionCache)).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Revocations {
    /// The store does not announce revocations: every revocation check asks it. The default,
    /// and the only safe answer for a store shared by several processes without a feed.
    Unannounced,
    /// The store lives in this process only (memory): every revocation goes through the
    /// cache's own calls, which forget the session at once.
    InProcess,
    /// The store announces every ended session on this feed, whoever ended it.
    Feed(Arc<dyn RevocationFeed>),
}

/// One announcement of a [`RevocationFeed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationEvent {
    /// This session ended (logout, eviction, a replayed refresh token, a deleted row).
    Session(SessionId),
    /// Every session of this user may have ended (on a session store's feed), or the user's
    /// record changed (on a user store's feed, [`UserStore::changes`](crate::UserStore::changes)).
    User(UserId),
    /// A sign of life: the feed is connected and delivering (see
    /// [`RevocationFeed::heartbeat`]).
    Heartbeat,
}

/// Where a [`RevocationFeed`] delivers what it hears.
pub trait RevocationSink: Send + Sync {
    /// The subscription is in place: from now on every ended session is delivered. Called
    /// once per [`RevocationFeed::listen`], before any event.
    fn subscribed(&self);

    /// Something was heard.
    fn deliver(&self, event: RevocationEvent);
}

/// A channel on which a store announces ended sessions: Redis pub/sub, Postgres
/// `LISTEN`/`NOTIFY`, or a log table polled.
///
/// The contract that makes a cache built on it exact:
///
/// - every session that ends while [`listen`](RevocationFeed::listen) runs, by any process,
///   is delivered after [`RevocationSink::subscribed`], as [`RevocationEvent::Session`] or
///   [`RevocationEvent::User`];
/// - when the feed cannot promise that any more (a lost connection, a failed poll),
///   `listen` returns, so the cache forgets everything and asks the store until a new
///   `listen` has subscribed;
/// - [`heartbeat`](RevocationFeed::heartbeat) sends a [`RevocationEvent::Heartbeat`] through
///   the same channel, so a connection that is silently dead is noticed: the cache calls it
///   four times a second and stops trusting the feed when nothing was heard for one.
#[async_trait]
pub trait RevocationFeed: Debug + Send + Sync + 'static {
    /// Subscribes, calls [`RevocationSink::subscribed`], then delivers events until the
    /// subscription is lost; returns then.
    ///
    /// # Errors
    /// When subscribing fails or the subscription is lost; returning `Ok` means the same.
    async fn listen(&self, sink: &dyn RevocationSink) -> Result<(), StoreError>;

    /// Sends a heartbeat that every listener delivers as [`RevocationEvent::Heartbeat`]. A
    /// feed that polls delivers one per poll and may do nothing here.
    ///
    /// # Errors
    /// When the backend fails.
    async fn heartbeat(&self) -> Result<(), StoreError>;
}
