//! Rate limiting: the [`RateLimiter`] trait, limits like `10/15m`, and the in-memory limiter.

use std::collections::HashMap;
use std::fmt::{self, Debug};
use std::str::FromStr;
use std::sync::Mutex;

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use crate::error::StoreError;

/// At most `max` events per `window`, written `count/window` with a unit of `s`, `m` or `h`
/// (`10/15m`, `20/1h`, `30/1m`), the window at most 366 days.
///
/// ```
/// use auth_core::RateLimit;
/// use time::Duration;
/// let limit: RateLimit = "10/15m".parse()?;
/// assert_eq!(limit, RateLimit::new(10, Duration::minutes(15)));
/// assert!("10 per minute".parse::<RateLimit>().is_err());
/// # Ok::<(), auth_core::RateLimitParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// How many events a window allows.
    pub max: u32,
    /// How long a window lasts.
    pub window: Duration,
}

impl RateLimit {
    /// `max` events per `window`.
    pub const fn new(max: u32, window: Duration) -> Self {
        Self { max, window }
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.max, self.window.whole_seconds())
    }
}

/// A limit that is not of the form `count/window`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "rate limit {0:?} is not of the form COUNT/WINDOW with a window like 30s, 15m or 1h, of at \
     most 366 days"
)]
pub struct RateLimitParseError(String);

/// The longest window a limit may have: a year (and a day). Longer ones are refused when
/// parsed, so that a window's end always fits in a date.
const MAX_WINDOW_SECONDS: i64 = 366 * 24 * 3600;

impl FromStr for RateLimit {
    type Err = RateLimitParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || RateLimitParseError(s.to_owned());
        let (count, window) = s.trim().split_once('/').ok_or_else(err)?;
        let max: u32 = count.trim().parse().map_err(|_| err())?;
        let window = window.trim();
        // The unit is the last character, whatever its width.
        let unit_at = window.char_indices().last().map_or(0, |(at, _)| at);
        let (digits, unit) = window.split_at(unit_at);
        let amount: i64 = if digits.is_empty() {
            1
        } else {
            digits.parse().map_err(|_| err())?
        };
        let seconds = match unit {
            "s" => Some(amount),
            "m" => amount.checked_mul(60),
            "h" => amount.checked_mul(3600),
            _ => None,
        }
        .ok_or_else(err)?;
        if !(1..=MAX_WINDOW_SECONDS).contains(&seconds) || max == 0 {
            return Err(err());
        }
        Ok(Self {
            max,
            window: Duration::seconds(seconds),
        })
    }
}

/// Whether an event may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Within the limit.
    Allowed {
        /// Events left in this window.
        remaining: u32,
    },
    /// Over the limit until the window ends.
    Limited {
        /// Time until the window ends, at least one second (the `Retry-After` value).
        retry_after: Duration,
    },
}

impl RateDecision {
    /// Whether the event may go ahead.
    pub fn is_allowed(self) -> bool {
        matches!(self, Self::Allowed { .. })
    }
}

/// Counts events per key in fixed windows.
///
/// Keys are built by the manager (`login:account:<e-mail key>`, `login:ip:<ip>`, ...). A window
/// starts at the first event of a key and lasts `limit.window`; callers pass `now`, so tests
/// move time with a [`ManualClock`](crate::ManualClock).
///
/// # Why `#[async_trait]`
/// Held as `Arc<dyn RateLimiter>` and chosen at start-up (memory or Redis).
///
/// The limiter also makes single-use tokens single-use (the second step's `mfa_token`, an
/// OAuth `state`, a passkey ceremony): each is spent with a budget of one. A limiter must
/// therefore count faithfully, and be shared by every instance (Redis) when there are several.
///
/// # Implementing it
/// The shape of an implementation: one that allows everything. Never give it to a manager:
/// it would make the single-use tokens above replayable; to switch throttles off, set the
/// limits of [`RateLimits`](crate::RateLimits) to `None` instead.
///
/// ```
/// use async_trait::async_trait;
/// use auth_core::{RateDecision, RateLimit, RateLimiter, StoreError};
/// use time::OffsetDateTime;
///
/// #[derive(Debug)]
/// struct Unlimited;
///
/// #[async_trait]
/// impl RateLimiter for Unlimited {
///     async fn hit(&self, _: &str, limit: &RateLimit, _: OffsetDateTime) -> Result<RateDecision, StoreError> {
///         Ok(RateDecision::Allowed { remaining: limit.max })
///     }
///     async fn peek(&self, _: &str, limit: &RateLimit, _: OffsetDateTime) -> Result<RateDecision, StoreError> {
///         Ok(RateDecision::Allowed { remaining: limit.max })
///     }
///     async fn refund(&self, _: &str, _: OffsetDateTime) -> Result<(), StoreError> {
///         Ok(())
///     }
///     async fn clear(&self, _: &str) -> Result<(), StoreError> {
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait RateLimiter: Debug + Send + Sync + 'static {
    /// Counts one event against `key`. The first `limit.max` events of a window are allowed;
    /// later ones are [`RateDecision::Limited`] and not counted.
    ///
    /// # Errors
    /// When the backend fails; callers fail closed.
    async fn hit(
        &self,
        key: &str,
        limit: &RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError>;

    /// Gives back one slot that [`RateLimiter::hit`] took in the current window (a check that
    /// turned out not to count, such as a successful login against the per-IP budget of
    /// failures). Never below zero; a window that has ended is left alone. Atomic like `hit`.
    ///
    /// # Errors
    /// When the backend fails.
    async fn refund(&self, key: &str, now: OffsetDateTime) -> Result<(), StoreError>;

    /// Whether `key` has used up its window, without counting anything.
    ///
    /// # Errors
    /// When the backend fails; callers fail closed.
    async fn peek(
        &self,
        key: &str,
        limit: &RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError>;

    /// Forgets `key`'s count (a successful login clears its account's failures).
    ///
    /// # Errors
    /// When the backend fails.
    async fn clear(&self, key: &str) -> Result<(), StoreError>;
}

/// The time left in a window, as a `Retry-After`: whole seconds, rounded up, at least one.
pub fn retry_after(window_end: OffsetDateTime, now: OffsetDateTime) -> Duration {
    let left = window_end - now;
    let whole = left.whole_seconds() + i64::from(left.subsec_nanoseconds() > 0);
    Duration::seconds(whole.max(1))
}

#[derive(Debug, Clone, Copy)]
struct Window {
    count: u32,
    ends_at: OffsetDateTime,
}

/// An in-process [`RateLimiter`]: exact, concurrent-safe, and forgotten at restart. Right for
/// one instance; several instances share a Redis limiter instead.
///
/// Memory stays bounded: windows that have ended are swept whenever the table doubles.
#[derive(Debug, Default)]
pub struct MemoryRateLimiter {
    windows: Mutex<HashMap<String, Window>>,
    sweep_at: Mutex<usize>,
}

impl MemoryRateLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        Self::default()
    }

    fn windows(&self) -> std::sync::MutexGuard<'_, HashMap<String, Window>> {
        self.windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn sweep_if_large(&self, windows: &mut HashMap<String, Window>, now: OffsetDateTime) {
        let mut sweep_at = self
            .sweep_at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() >= (*sweep_at).max(1024) {
            windows.retain(|_, window| window.ends_at > now);
            *sweep_at = windows.len() * 2;
        }
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(
        &self,
        key: &str,
        limit: &RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        let mut windows = self.windows();
        self.sweep_if_large(&mut windows, now);
        let window = windows.entry(key.to_owned()).or_insert(Window {
            count: 0,
            ends_at: now + limit.window,
        });
        if window.ends_at <= now {
            *window = Window {
                count: 0,
                ends_at: now + limit.window,
            };
        }
        if window.count >= limit.max {
            return Ok(RateDecision::Limited {
                retry_after: retry_after(window.ends_at, now),
            });
        }
        window.count += 1;
        Ok(RateDecision::Allowed {
            remaining: limit.max - window.count,
        })
    }

    async fn peek(
        &self,
        key: &str,
        limit: &RateLimit,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        Ok(match self.windows().get(key) {
            Some(window) if window.ends_at > now && window.count >= limit.max => {
                RateDecision::Limited {
                    retry_after: retry_after(window.ends_at, now),
                }
            }
            Some(window) if window.ends_at > now => RateDecision::Allowed {
                remaining: limit.max - window.count,
            },
            _ => RateDecision::Allowed {
                remaining: limit.max,
            },
        })
    }

    async fn refund(&self, key: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        if let Some(window) = self.windows().get_mut(key)
            && window.ends_at > now
        {
            window.count = window.count.saturating_sub(1);
        }
        Ok(())
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        self.windows().remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse() {
        assert_eq!(
            "20/1h".parse::<RateLimit>().unwrap(),
            RateLimit::new(20, Duration::hours(1))
        );
        assert_eq!(
            "30/1m".parse::<RateLimit>().unwrap(),
            RateLimit::new(30, Duration::minutes(1))
        );
        assert_eq!(
            "5/30s".parse::<RateLimit>().unwrap(),
            RateLimit::new(5, Duration::seconds(30))
        );
        for bad in [
            "", "10", "10/", "x/1m", "10/1d", "0/1m", "10/0m", "-1/1m", "10/-5m",
        ] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_unit_of_several_bytes_is_refused_not_split() {
        // Found by the fuzzer: the unit was cut at the last byte, inside the character.
        for bad in ["1/5é", "1/€", "10/1h²", "1/ß"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn windows_that_overflow_or_exceed_a_year_are_refused() {
        for bad in [
            "1/9223372036854775807h",
            "1/9223372036854775807m",
            "1/9223372036854775807s",
            "1/8785h",
        ] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad:?}");
        }
        assert_eq!(
            "1/8784h".parse::<RateLimit>().unwrap(),
            RateLimit::new(1, Duration::days(366))
        );
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(
            retry_after(now + Duration::milliseconds(1500), now),
            Duration::seconds(2)
        );
        assert_eq!(retry_after(now, now), Duration::seconds(1));
    }
}
