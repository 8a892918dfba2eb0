//! [`RedisRateLimiter`]: fixed-window throttling counters in Redis, shared by every instance.

use async_trait::async_trait;
use auth_core::{RateDecision, RateLimit, RateLimiter, StoreError, retry_after};
use time::OffsetDateTime;

use crate::codec::{decode_time, encode_time};
use crate::connection::RedisConnection;
use crate::scripts;
use crate::ttl::ttl_ms;

/// A [`RateLimiter`] in Redis or Redis Cluster: the login, registration, forgot-password and
/// token-submission throttles of the [`UserManager`](auth_core::UserManager), counted once
/// for all app instances.
///
/// Each key is one hash `<prefix>:rl:<key>` holding the count and the end of the current
/// window. A window starts at the first event of a key and lasts `limit.window`, as in the
/// in-memory limiter. Counting is one Lua script, so concurrent hits are counted exactly, and
/// a refused event is not counted; a refund (one script too) gives one event back, never
/// below zero and never into a window that has ended. Whether a window has ended is judged by the caller's `now`;
/// the key's expiry (the window's length) only frees memory. A refusal carries the time left
/// in the window, in whole seconds rounded up and at least one: the `Retry-After` value.
///
/// ```no_run
/// use std::sync::Arc;
/// use auth_redis::{RedisConfig, RedisRateLimiter};
///
/// # async fn run() -> Result<(), auth_redis::Error> {
/// let redis = RedisConfig::from_env()?.connect().await?;
/// let limiter: Arc<dyn auth_core::RateLimiter> = Arc::new(RedisRateLimiter::new(redis));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RedisRateLimiter {
    conn: RedisConnection,
}

impl RedisRateLimiter {
    /// A limiter on this connection.
    pub fn new(conn: RedisConnection) -> Self {
        Self { conn }
    }

    /// The connection.
    pub fn connection(&self) -> &RedisConnection {
        &self.conn
    }
}

fn remaining(limit: &RateLimit, count: i64) -> u32 {
    limit
        .max
        .saturating_sub(u32::try_from(count.max(0)).unwrap_or(u32::MAX))
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(
        &self,
        key: &str,
        limit: &RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        let mut hit = scripts::HIT.key(self.conn.keys().limit(key));
        hit.arg(encode_time(now)?)
            .arg(encode_time(now + limit.window)?)
            .arg(limit.max)
            .arg(ttl_ms(limit.window));
        let (allowed, ends, count): (i64, Vec<u8>, i64) =
            self.conn.bounded(self.conn.invoke(&hit)).await?;
        Ok(if allowed == 1 {
            RateDecision::Allowed {
                remaining: remaining(limit, count),
            }
        } else {
            RateDecision::Limited {
                retry_after: retry_after(decode_time(&ends)?, now),
            }
        })
    }

    async fn peek(
        &self,
        key: &str,
        limit: &RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        let (count, ends): (Option<i64>, Option<Vec<u8>>) = self
            .conn
            .bounded(
                self.conn.query(
                    redis::cmd("HMGET")
                        .arg(self.conn.keys().limit(key))
                        .arg("c")
                        .arg("e"),
                ),
            )
            .await?;
        let (Some(count), Some(ends)) = (count, ends) else {
            return Ok(RateDecision::Allowed {
                remaining: limit.max,
            });
        };
        let ends = decode_time(&ends)?;
        Ok(if ends <= now {
            RateDecision::Allowed {
                remaining: limit.max,
            }
        } else if count >= i64::from(limit.max) {
            RateDecision::Limited {
                retry_after: retry_after(ends, now),
            }
        } else {
            RateDecision::Allowed {
                remaining: remaining(limit, count),
            }
        })
    }

    /// One script: takes one from the window's count if the window exists, has not ended at
    /// `now` and counts more than zero; otherwise nothing changes, and no key is created.
    async fn refund(&self, key: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let mut refund = scripts::REFUND.key(self.conn.keys().limit(key));
        refund.arg(encode_time(now)?);
        self.conn
            .bounded(self.conn.invoke::<i64>(&refund))
            .await
            .map(drop)
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        self.conn
            .bounded(
                self.conn
                    .query::<i64>(redis::cmd("DEL").arg(self.conn.keys().limit(key))),
            )
            .await
            .map(drop)
    }
}
