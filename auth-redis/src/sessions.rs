//! [`RedisSessionStore`]: sessions, rotation and revocation in Redis or Redis Cluster.

use std::sync::Arc;

use async_trait::async_trait;
use auth_core::{
    Admission, Admitted, REMEMBERED_ROTATIONS, Renewal, Revocations, Rotation, Session, SessionId,
    SessionMark, SessionStore, StoreError, TokenHash, UserId,
};
use redis::Value;
use time::OffsetDateTime;

use crate::codec::{bytes, decode_session, decode_time, encode_session, encode_time, int};
use crate::connection::RedisConnection;
use crate::error::corrupt;
use crate::revocation_feed::RedisRevocationFeed;
use crate::route_cache::{DEFAULT_ROUTE_CACHE_CAPACITY, RouteCache};
use crate::scripts;
use crate::ttl::ttl_ms;

/// How many routing keys one `DEL` removes after a "log out everywhere".
const DEL_BATCH: usize = 256;

/// A [`SessionStore`] in Redis or Redis Cluster, shared by every app instance: a logout on one
/// instance is refused on all of them at once.
///
/// - **Expiry**: each session key expires at the session's effective expiry (the earlier of
///   idle and absolute), renewed at each rotation. Expiry only frees memory: whether a session
///   is live is decided by the caller's `now` against the stored expiry times, so a test clock
///   ahead of real time sees sessions expire.
/// - **Rotation** is one Lua script (compare, swap, renew; or revoke on reuse), so of parallel
///   refreshes with one token exactly one wins. Reuse is a digest among the session's last
///   [`REMEMBERED_ROTATIONS`] rotated-away ones; any other wrong digest changes nothing.
/// - **Admission** is one Lua script too: the user's mark is compared, the least recently
///   used live sessions beyond the limit are evicted, and the session is stored.
/// - **Per-user index**: "log out everywhere" and "list my sessions" read one sorted set of the
///   user's session ids; no `KEYS`, no `SCAN`.
/// - **Cluster**: a user's session keys and index share the hash tag `{u:<user id>}`, so every
///   multi-key script runs in one slot. The session id's routing key lives elsewhere, and is
///   read first (or found in the [route cache](RedisSessionStore::with_route_cache)).
///
/// See the [crate docs](crate) for the key layout and the memory used per session.
///
/// ```no_run
/// use std::sync::Arc;
/// use auth_redis::{RedisConfig, RedisSessionStore};
///
/// # async fn run() -> Result<(), auth_redis::Error> {
/// let redis = RedisConfig::from_env()?.connect().await?;
/// let sessions: Arc<dyn auth_core::SessionStore> = Arc::new(RedisSessionStore::new(redis));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct RedisSessionStore {
    conn: RedisConnection,
    routes: RouteCache,
}

impl RedisSessionStore {
    /// A store on this connection, with a route cache of 100,000 entries.
    pub fn new(conn: RedisConnection) -> Self {
        Self {
            conn,
            routes: RouteCache::new(DEFAULT_ROUTE_CACHE_CAPACITY),
        }
    }

    /// Another capacity for the in-process cache of session owners (default 100,000, about
    /// 80 bytes each; `0` turns it off).
    ///
    /// A session's owner never changes, so a cached owner is never stale: every call still
    /// reads the session itself from Redis, and revocation is seen at once. What the cache
    /// saves is the lookup of the owner, which makes [`SessionStore::is_live`] (the revocation
    /// check on every request) one round trip instead of two.
    #[must_use]
    pub fn with_route_cache(mut self, capacity: usize) -> Self {
        self.routes = RouteCache::new(capacity);
        self
    }

    /// The connection.
    pub fn connection(&self) -> &RedisConnection {
        &self.conn
    }

    /// Who owns session `id`: from the cache, else from its routing key.
    async fn owner(&self, id: SessionId) -> Result<Option<UserId>, StoreError> {
        if let Some(user) = self.routes.get(id) {
            return Ok(Some(user));
        }
        let stored: Option<String> = self
            .conn
            .query(redis::cmd("GET").arg(self.conn.keys().route(id)))
            .await?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        let user: UserId = stored.parse().map_err(|_| corrupt("routing key"))?;
        self.routes.insert(id, user);
        Ok(Some(user))
    }

    /// Deletes the routing keys of sessions that are gone. Best effort, within its own time
    /// limit: the session is already revoked when this runs, and a routing key without its
    /// session finds nothing and expires by itself, so a failure here costs only memory and
    /// must not turn a done revocation into an error.
    async fn forget_routes(&self, ids: &[SessionId]) {
        for id in ids {
            self.routes.remove(*id);
        }
        let delete = async {
            for batch in ids.chunks(DEL_BATCH) {
                let mut del = redis::cmd("DEL");
                for id in batch {
                    del.arg(self.conn.keys().route(*id));
                }
                // On a cluster the driver splits a multi-key DEL by slot.
                self.conn.query::<i64>(&del).await?;
            }
            Ok(())
        };
        if let Err(err) = self.conn.bounded(delete).await {
            tracing::warn!(
                target: "auth",
                error = ?err,
                routes = ids.len(),
                "could not delete the routing keys of revoked sessions; they expire by themselves"
            );
        }
    }
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    /// The mark is the key `<prefix>:{u:<uid>}:mark`, absent (mark 0) until the user's first
    /// "log out everywhere". It has no time to live, on purpose: if it expired, it would read
    /// 0 again, and a login that read 0 before a revocation would then be admitted after it
    /// (the very race the mark is there to close), however long the time to live. The price is
    /// one small string key (about 100 bytes) per user ever revoked, including deleted users.
    async fn mark(&self, user_id: UserId) -> Result<SessionMark, StoreError> {
        let stored: Option<u64> = self
            .conn
            .bounded(
                self.conn
                    .query(redis::cmd("GET").arg(self.conn.keys().mark(user_id))),
            )
            .await?;
        Ok(SessionMark::new(stored.unwrap_or(0)))
    }

    /// One script checks the mark, evicts the least recently used live sessions beyond the
    /// limit (by their last use, the hash's `l` field) and stores the session. Evicted
    /// sessions are gone for every instance at once (their hashes are deleted, and their ids
    /// published on the revocation channel); this store deletes their routing keys
    /// afterwards.
    async fn create(
        &self,
        session: &Session,
        admission: &Admission,
    ) -> Result<Admitted, StoreError> {
        let keys = self.conn.keys();
        let (id, user) = (session.id, session.user_id);
        // TTLs are relative to the session's own clock, so a test clock far ahead of real
        // time does not keep keys for years; the script also ends the hash's no later than
        // the session's expiry by the server's clock.
        let ttl = ttl_ms(session.effective_expiry() - session.last_used_at);
        let route_ttl = ttl_ms(session.expires_at - session.last_used_at).max(ttl);
        let fields = encode_session(session)?;
        let now = encode_time(session.created_at)?;
        let expiry = encode_time(session.effective_expiry())?;
        let limit = admission
            .max_sessions
            .map(|max| max.to_string())
            .unwrap_or_default();
        let reply: Vec<Value> = self
            .conn
            .bounded(async {
                // The routing key first: if the script then fails or refuses, what is left is
                // a routing key to nothing, which finds nothing.
                self.conn
                    .query::<()>(
                        redis::cmd("SET")
                            .arg(keys.route(id))
                            .arg(user.to_string())
                            .arg("PX")
                            .arg(route_ttl),
                    )
                    .await?;
                let mut create = scripts::CREATE.key(keys.session(user, id));
                create
                    .key(keys.index(user))
                    .key(keys.mark(user))
                    .arg(ttl)
                    .arg(id.to_string())
                    .arg(admission.mark.get())
                    .arg(limit)
                    .arg(now)
                    .arg(keys.session_prefix(user))
                    .arg(expiry)
                    .arg(keys.revocations())
                    .arg(fields);
                self.conn.invoke(&create).await
            })
            .await?;
        let mut reply = reply.into_iter();
        let outcome = reply.next().as_ref().map(int).transpose()?;
        match (outcome, reply.next()) {
            (Some(0), None) => {
                self.forget_routes(&[id]).await;
                Ok(Admitted::StaleMark)
            }
            (Some(1), Some(evicted)) => {
                let evicted = session_ids(evicted)?;
                self.routes.insert(id, user);
                if !evicted.is_empty() {
                    self.forget_routes(&evicted).await;
                }
                Ok(Admitted::Created { evicted })
            }
            _ => Err(corrupt("creation reply")),
        }
    }

    async fn get(&self, id: SessionId, now: OffsetDateTime) -> Result<Option<Session>, StoreError> {
        self.conn
            .bounded(async {
                let Some(user) = self.owner(id).await? else {
                    return Ok(None);
                };
                let fields: Value = self
                    .conn
                    .query(redis::cmd("HGETALL").arg(self.conn.keys().session(user, id)))
                    .await?;
                Ok(decode_session(id, user, fields)?.filter(|session| session.is_live(now)))
            })
            .await
    }

    /// One round trip when the owner is cached (see
    /// [`with_route_cache`](RedisSessionStore::with_route_cache)): `HMGET` of the two expiry
    /// times, judged against `now`. A [`SessionCache`](auth_core::SessionCache) in front of
    /// the store answers most of these from memory (see [`SessionStore::revocations`]).
    async fn is_live(&self, id: SessionId, now: OffsetDateTime) -> Result<bool, StoreError> {
        self.conn
            .bounded(async {
                let Some(user) = self.owner(id).await? else {
                    return Ok(false);
                };
                let (idle, absolute): (Option<Vec<u8>>, Option<Vec<u8>>) = self
                    .conn
                    .query(
                        redis::cmd("HMGET")
                            .arg(self.conn.keys().session(user, id))
                            .arg("i")
                            .arg("e"),
                    )
                    .await?;
                let (Some(idle), Some(absolute)) = (idle, absolute) else {
                    return Ok(false);
                };
                let (idle, absolute) = (decode_time(&idle)?, decode_time(&absolute)?);
                Ok(now < idle && now < absolute)
            })
            .await
    }

    async fn rotate(
        &self,
        id: SessionId,
        presented: &TokenHash,
        renewal: &Renewal,
    ) -> Result<Rotation, StoreError> {
        let now = encode_time(renewal.now)?;
        let idle = encode_time(renewal.idle_expires_at)?;
        let outcome = self
            .conn
            .bounded(async {
                let Some(user) = self.owner(id).await? else {
                    return Ok(Rotation::NotFound);
                };
                let keys = self.conn.keys();
                let access: &[u8] = match &renewal.access_hash {
                    Some(access) => access.as_bytes(),
                    None => b"",
                };
                let mut rotate = scripts::ROTATE.key(keys.session(user, id));
                rotate
                    .key(keys.index(user))
                    .arg(id.to_string())
                    .arg(presented.as_bytes())
                    .arg(renewal.refresh_hash.as_bytes())
                    .arg(access)
                    .arg(now)
                    .arg(idle)
                    .arg(REMEMBERED_ROTATIONS)
                    .arg(keys.revocations());
                let reply: Vec<Value> = self.conn.invoke(&rotate).await?;
                let mut reply = reply.into_iter();
                let outcome = reply.next().as_ref().map(int).transpose()?;
                match (outcome, reply.next()) {
                    (Some(0), None) => Ok(Rotation::NotFound),
                    (Some(1), None) => Ok(Rotation::Reused { user_id: user }),
                    (Some(2), Some(fields)) => decode_session(id, user, fields)?
                        .map(Rotation::Rotated)
                        .ok_or_else(|| corrupt("rotated session")),
                    _ => Err(corrupt("rotation reply")),
                }
            })
            .await?;
        if matches!(outcome, Rotation::Reused { .. }) {
            self.forget_routes(&[id]).await;
        }
        Ok(outcome)
    }

    async fn revoke(&self, id: SessionId) -> Result<bool, StoreError> {
        let found = self
            .conn
            .bounded(async {
                let Some(user) = self.owner(id).await? else {
                    return Ok(None);
                };
                let keys = self.conn.keys();
                let mut revoke = scripts::REVOKE.key(keys.session(user, id));
                revoke
                    .key(keys.index(user))
                    .arg(id.to_string())
                    .arg(keys.revocations());
                // Deleting the session key is the revocation; the routing key goes after.
                let existed: i64 = self.conn.invoke(&revoke).await?;
                Ok(Some(existed == 1))
            })
            .await?;
        match found {
            Some(existed) => {
                self.forget_routes(&[id]).await;
                Ok(existed)
            }
            None => Ok(false),
        }
    }

    async fn revoke_all(
        &self,
        user_id: UserId,
        except: Option<SessionId>,
    ) -> Result<u64, StoreError> {
        let keys = self.conn.keys();
        let mut revoke_all = scripts::REVOKE_ALL.key(keys.index(user_id));
        revoke_all
            .key(keys.mark(user_id))
            .arg(keys.session_prefix(user_id))
            .arg(except.map(|id| id.to_string()).unwrap_or_default())
            .arg(keys.revocations());
        let (deleted, removed): (u64, Vec<String>) =
            self.conn.bounded(self.conn.invoke(&revoke_all)).await?;
        let removed: Vec<SessionId> = removed.iter().filter_map(|id| id.parse().ok()).collect();
        self.forget_routes(&removed).await;
        Ok(deleted)
    }

    async fn list(&self, user_id: UserId, now: OffsetDateTime) -> Result<Vec<Session>, StoreError> {
        let reply: Vec<Value> = self
            .conn
            .bounded(async {
                let keys = self.conn.keys();
                let mut list = scripts::LIST.key(keys.index(user_id));
                list.arg(keys.session_prefix(user_id));
                self.conn.invoke(&list).await
            })
            .await?;
        let mut sessions = Vec::with_capacity(reply.len() / 2);
        let mut reply = reply.into_iter();
        while let (Some(id), Some(fields)) = (reply.next(), reply.next()) {
            let id = session_id(id)?;
            if let Some(session) = decode_session(id, user_id, fields)?
                && session.is_live(now)
            {
                sessions.push(session);
            }
        }
        sessions.sort_by_key(|session| (session.created_at, session.id));
        Ok(sessions)
    }

    /// Every script that ends a session publishes its id on `<prefix>:revoked` in the same
    /// atomic step; each instance subscribes to it (when the connection knows its nodes, as
    /// one from [`RedisConfig::connect`](crate::RedisConfig::connect) does).
    fn revocations(&self) -> Revocations {
        match self.conn.subscribers() {
            Some(nodes) => Revocations::Feed(Arc::new(RedisRevocationFeed::new(
                self.conn.clone(),
                Arc::clone(nodes),
            ))),
            None => Revocations::Unannounced,
        }
    }

    // `sweep_expired` keeps the default (nothing to do): Redis expires the keys itself, and
    // the indexes drop expired ids whenever they are written or listed.
}

/// A session id as a script returns it.
fn session_id(value: Value) -> Result<SessionId, StoreError> {
    let id = String::from_utf8(bytes(value)?).map_err(|_| corrupt("session id"))?;
    id.parse().map_err(|_| corrupt("session id"))
}

/// The session ids of a script's array reply.
fn session_ids(value: Value) -> Result<Vec<SessionId>, StoreError> {
    match value {
        Value::Array(items) => items.into_iter().map(session_id).collect(),
        _ => Err(corrupt("not a list of session ids")),
    }
}
