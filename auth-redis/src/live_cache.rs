//! An optional in-process memory of sessions just found live, so that the revocation check on
//! every request need not ask Redis each time: [`RedisSessionStore::with_live_cache`].
//!
//! **The staleness bound.** An entry is used for at most its time to live (never more than
//! one second, [`MAX_LIVE_CACHE_TTL`]), measured on the monotonic clock from the moment the
//! Redis answer was read. So a session revoked on *another* instance is refused there within
//! that time; a revocation made through *this* store (logout, "log out everywhere", a replayed
//! refresh token, a session evicted by a login beyond the session limit) removes its entries
//! at once. A session that expires (idle or absolute) is
//! refused at once everywhere: each hit is judged against the expiry times Redis returned
//! and the caller's `now`.
//!
//! Only "live" answers are kept, never "revoked" or "not found". Memory is bounded as in the
//! route cache: two generations of at most half the capacity each.
//!
//! [`RedisSessionStore::with_live_cache`]: crate::RedisSessionStore::with_live_cache

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use auth_core::SessionId;
use time::OffsetDateTime;

/// The longest time a cached "live" answer is used: one second.
pub const MAX_LIVE_CACHE_TTL: Duration = Duration::from_secs(1);

/// How many sessions the live cache holds when not configured otherwise (about 80 bytes each).
pub(crate) const DEFAULT_LIVE_CACHE_CAPACITY: usize = 100_000;

/// What Redis said about a live session, and when.
#[derive(Debug, Clone, Copy)]
struct Entry {
    read_at: Instant,
    idle_expires_at: OffsetDateTime,
    expires_at: OffsetDateTime,
}

#[derive(Default)]
struct Generations {
    young: HashMap<SessionId, Entry>,
    old: HashMap<SessionId, Entry>,
}

pub(crate) struct LiveCache {
    ttl: Duration,
    capacity: usize,
    generations: Mutex<Generations>,
}

impl std::fmt::Debug for LiveCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let generations = self.generations();
        f.debug_struct("LiveCache")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .field("len", &(generations.young.len() + generations.old.len()))
            .finish()
    }
}

impl LiveCache {
    /// A cache whose entries live `ttl` (at most [`MAX_LIVE_CACHE_TTL`]); a zero `ttl` or
    /// `capacity` turns it off.
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl: ttl.min(MAX_LIVE_CACHE_TTL),
            capacity,
            generations: Mutex::new(Generations::default()),
        }
    }

    /// No cache: every check asks Redis.
    pub(crate) fn off() -> Self {
        Self::new(Duration::ZERO, 0)
    }

    fn is_on(&self) -> bool {
        !self.ttl.is_zero() && self.capacity > 0
    }

    /// How long an answer is used.
    pub(crate) fn ttl(&self) -> Duration {
        if self.is_on() {
            self.ttl
        } else {
            Duration::ZERO
        }
    }

    fn generations(&self) -> MutexGuard<'_, Generations> {
        self.generations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether `id` was found live less than the time to live ago, and is still live at
    /// `now` by the expiry times read then. `false` means "ask Redis", not "revoked".
    pub(crate) fn is_live(&self, id: SessionId, now: OffsetDateTime) -> bool {
        if !self.is_on() {
            return false;
        }
        let entry = {
            let generations = self.generations();
            generations
                .young
                .get(&id)
                .or_else(|| generations.old.get(&id))
                .copied()
        };
        entry.is_some_and(|entry| {
            entry.read_at.elapsed() < self.ttl
                && now < entry.idle_expires_at
                && now < entry.expires_at
        })
    }

    /// Remembers that Redis, read at `read_at`, found `id` live with these expiry times.
    pub(crate) fn insert(
        &self,
        id: SessionId,
        read_at: Instant,
        idle_expires_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) {
        if !self.is_on() {
            return;
        }
        let entry = Entry {
            read_at,
            idle_expires_at,
            expires_at,
        };
        let mut generations = self.generations();
        if generations.young.len() >= self.capacity.div_ceil(2) {
            generations.old = std::mem::take(&mut generations.young);
        }
        generations.young.insert(id, entry);
    }

    /// Forgets `id`: its session was revoked through this store.
    pub(crate) fn remove(&self, id: SessionId) {
        if !self.is_on() {
            return;
        }
        let mut generations = self.generations();
        generations.young.remove(&id);
        generations.old.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_an_hour() -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::hours(1)
    }

    #[test]
    fn a_live_answer_is_used_until_its_time_to_live_ends() {
        let cache = LiveCache::new(Duration::from_millis(50), 10);
        let id = SessionId::random();
        let now = OffsetDateTime::now_utc();
        assert!(!cache.is_live(id, now));
        cache.insert(id, Instant::now(), in_an_hour(), in_an_hour());
        assert!(cache.is_live(id, now));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!cache.is_live(id, now));
    }

    #[test]
    fn the_time_to_live_is_at_most_one_second() {
        assert_eq!(
            LiveCache::new(Duration::from_secs(30), 10).ttl(),
            MAX_LIVE_CACHE_TTL
        );
        let id = SessionId::random();
        let cache = LiveCache::new(Duration::from_secs(30), 10);
        // Read 1.5 s ago: older than the cap, so not used whatever was asked for.
        let read_at = Instant::now()
            .checked_sub(Duration::from_millis(1_500))
            .unwrap_or_else(Instant::now);
        cache.insert(id, read_at, in_an_hour(), in_an_hour());
        assert!(!cache.is_live(id, OffsetDateTime::now_utc()));
    }

    #[test]
    fn expiry_is_judged_at_the_callers_now() {
        let cache = LiveCache::new(MAX_LIVE_CACHE_TTL, 10);
        let id = SessionId::random();
        let now = OffsetDateTime::now_utc();
        let idle = now + time::Duration::minutes(5);
        cache.insert(id, Instant::now(), idle, in_an_hour());
        assert!(cache.is_live(id, now));
        assert!(!cache.is_live(id, idle));
        assert!(!cache.is_live(id, now + time::Duration::hours(2)));
    }

    #[test]
    fn removed_entries_and_a_cache_that_is_off_answer_ask_redis() {
        let cache = LiveCache::new(MAX_LIVE_CACHE_TTL, 10);
        let id = SessionId::random();
        let now = OffsetDateTime::now_utc();
        cache.insert(id, Instant::now(), in_an_hour(), in_an_hour());
        cache.remove(id);
        assert!(!cache.is_live(id, now));

        for off in [LiveCache::off(), LiveCache::new(Duration::ZERO, 10)] {
            off.insert(id, Instant::now(), in_an_hour(), in_an_hour());
            assert!(!off.is_live(id, now));
            assert_eq!(off.ttl(), Duration::ZERO);
        }
    }

    #[test]
    fn stays_within_its_capacity() {
        let cache = LiveCache::new(MAX_LIVE_CACHE_TTL, 100);
        for _ in 0..1_000 {
            cache.insert(
                SessionId::random(),
                Instant::now(),
                in_an_hour(),
                in_an_hour(),
            );
            let generations = cache.generations();
            assert!(generations.young.len() + generations.old.len() <= 100);
        }
    }
}
