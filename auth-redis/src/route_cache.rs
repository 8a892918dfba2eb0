//! A bounded in-process cache of which user owns which session.
//!
//! A session's key lives in its user's hash slot, but `get`, `is_live`, `rotate` and `revoke`
//! are called with the session id alone; the owner is read from the routing key
//! `<prefix>:sid:<id>` first. That answer never changes (a session never changes owner, and
//! ids are 128 random bits, never reused), so caching it cannot go stale: revocation is still
//! checked in Redis on every call, against the session key itself. With the owner cached, the
//! per-request revocation check is one round trip.
//!
//! Only owners of sessions that exist are cached (after a create, or a routing key that was
//! found), never "no such session", so a session created by another instance is seen at once.
//! Memory is bounded by two generations: lookups promote entries into the young one, and when
//! it is full the old one is dropped, so the cache keeps roughly the recently used entries.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use auth_core::{SessionId, UserId};

/// How many owners the cache holds when not configured otherwise (about 80 bytes each).
pub const DEFAULT_ROUTE_CACHE_CAPACITY: usize = 100_000;

pub(crate) struct RouteCache {
    capacity: usize,
    generations: Mutex<Generations>,
}

#[derive(Default)]
struct Generations {
    young: HashMap<SessionId, UserId>,
    old: HashMap<SessionId, UserId>,
}

impl std::fmt::Debug for RouteCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Its size, not its up to 100,000 entries.
        f.debug_struct("RouteCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl RouteCache {
    /// A cache of at most `capacity` entries; `0` turns it off.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            generations: Mutex::new(Generations::default()),
        }
    }

    fn generations(&self) -> MutexGuard<'_, Generations> {
        self.generations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn half(&self) -> usize {
        self.capacity.div_ceil(2)
    }

    /// The cached owner of `id`.
    pub(crate) fn get(&self, id: SessionId) -> Option<UserId> {
        if self.capacity == 0 {
            return None;
        }
        let mut generations = self.generations();
        if let Some(user) = generations.young.get(&id) {
            return Some(*user);
        }
        let user = generations.old.remove(&id)?;
        self.put(&mut generations, id, user);
        Some(user)
    }

    /// Remembers that `user` owns `id`.
    pub(crate) fn insert(&self, id: SessionId, user: UserId) {
        if self.capacity == 0 {
            return;
        }
        let mut generations = self.generations();
        self.put(&mut generations, id, user);
    }

    fn put(&self, generations: &mut Generations, id: SessionId, user: UserId) {
        if generations.young.len() >= self.half() {
            generations.old = std::mem::take(&mut generations.young);
        }
        generations.young.insert(id, user);
    }

    /// Forgets `id` (its session is gone; this only frees memory).
    pub(crate) fn remove(&self, id: SessionId) {
        if self.capacity == 0 {
            return;
        }
        let mut generations = self.generations();
        generations.young.remove(&id);
        generations.old.remove(&id);
    }

    /// How many owners are cached.
    fn len(&self) -> usize {
        let generations = self.generations();
        generations.young.len() + generations.old.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_forgets_owners() {
        let cache = RouteCache::new(10);
        let (id, user) = (SessionId::random(), UserId::new());
        assert_eq!(cache.get(id), None);
        cache.insert(id, user);
        assert_eq!(cache.get(id), Some(user));
        cache.remove(id);
        assert_eq!(cache.get(id), None);
    }

    #[test]
    fn stays_within_its_capacity_and_keeps_recently_used_entries() {
        let cache = RouteCache::new(100);
        let hot = SessionId::random();
        let user = UserId::new();
        cache.insert(hot, user);
        for _ in 0..1_000 {
            cache.insert(SessionId::random(), UserId::new());
            assert_eq!(cache.get(hot), Some(user));
            assert!(cache.len() <= 100);
        }
    }

    #[test]
    fn debug_shows_the_size_not_the_entries() {
        let cache = RouteCache::new(10);
        let id = SessionId::random();
        cache.insert(id, UserId::new());
        let debug = format!("{cache:?}");
        assert_eq!(debug, "RouteCache { capacity: 10, len: 1 }");
    }

    #[test]
    fn capacity_zero_turns_it_off() {
        let cache = RouteCache::new(0);
        let id = SessionId::random();
        cache.insert(id, UserId::new());
        assert_eq!(cache.get(id), None);
    }
}
