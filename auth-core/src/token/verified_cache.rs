//! A bounded in-process cache of access tokens already verified, so a token presented again
//! costs a hash-map lookup instead of a signature check (an RSA, ECDSA or Ed25519 one, or an
//! HMAC with the decoding and parsing around it).
//!
//! What it may and may not remember:
//!
//! - The key is the whole token, compared in full (a hash map of the token text): a token
//!   that differs in any byte, its signature included, is a miss and is verified from scratch.
//! - An entry is used only while `now` (injected, judged again at every hit) is before its
//!   `exp` and not before its `nbf`, with the codec's leeway: the cache can never stretch a
//!   token's life.
//! - Entries belong to the key set that verified them: when the set is swapped (a reload
//!   removed or added a key), the whole cache is dropped at the next lookup, so a token whose
//!   key was removed is refused at once.
//! - Only the signature and claim checks are cached, never whether the session is live: the
//!   revocation check runs after the strategy, at every request.
//!
//! Memory is bounded by two generations of at most half the capacity each: a hit in the old
//! one moves the entry into the young one, and when the young one is full the old one is
//! dropped, so recently used tokens stay (as in auth-redis's route cache).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};

use super::AccessClaims;

/// How many tokens a [`JwtStrategy`](super::JwtStrategy) remembers when
/// not configured otherwise: about 1 KiB each, so a few MiB at most.
pub const DEFAULT_VERIFIED_TOKEN_CACHE: usize = 4096;

pub(super) struct VerifiedCache {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The key set the entries were verified with.
    generation: u64,
    young: HashMap<Box<str>, Entry, Hasher>,
    old: HashMap<Box<str>, Entry, Hasher>,
}

/// The maps' hasher: foldhash, seeded per process. SipHash over a whole token (a few hundred
/// bytes) cost more than the rest of a cached lookup. Only verified tokens are inserted, and
/// their content (a random session id, the time of issue) is not the client's to choose, so
/// no client can fill a bucket with collisions.
type Hasher = foldhash::fast::RandomState;

#[derive(Clone)]
struct Entry {
    claims: AccessClaims,
    nbf: Option<i64>,
}

impl Entry {
    fn valid_at(&self, now: i64, leeway: i64) -> bool {
        // The same rules as the codec's `check_claims` (RFC 7519 §4.1.4, §4.1.5).
        now < self.claims.exp.saturating_add(leeway)
            && self.nbf.is_none_or(|nbf| now.saturating_add(leeway) >= nbf)
    }
}

impl VerifiedCache {
    /// A cache of at most `capacity` tokens; `None` for `0`.
    pub(super) fn new(capacity: usize) -> Option<Self> {
        (capacity > 0).then(|| Self {
            capacity,
            state: Mutex::new(State::default()),
        })
    }

    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves maps that are still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The claims of `token` if it was verified with key set `generation` and is still valid
    /// at `now`.
    pub(super) fn get(
        &self,
        token: &str,
        generation: u64,
        now: i64,
        leeway: i64,
    ) -> Option<AccessClaims> {
        let mut state = self.state();
        if state.generation != generation {
            // Another key set: nothing verified with the old one counts any more.
            state.young.clear();
            state.old.clear();
            state.generation = generation;
            return None;
        }
        if let Some(entry) = state.young.get(token) {
            return entry.valid_at(now, leeway).then(|| entry.claims.clone());
        }
        let (key, entry) = state.old.remove_entry(token)?;
        let claims = entry.valid_at(now, leeway).then(|| entry.claims.clone());
        if claims.is_some() {
            self.put(&mut state, key, entry);
        }
        claims
    }

    /// Remembers that `token` verified with key set `generation`.
    pub(super) fn insert(
        &self,
        token: &str,
        generation: u64,
        claims: AccessClaims,
        nbf: Option<i64>,
    ) {
        let mut state = self.state();
        if state.generation != generation {
            if generation < state.generation {
                // Verified with a set already replaced: not worth keeping.
                return;
            }
            state.young.clear();
            state.old.clear();
            state.generation = generation;
        }
        self.put(&mut state, token.into(), Entry { claims, nbf });
    }

    fn put(&self, state: &mut State, token: Box<str>, entry: Entry) {
        if state.young.len() >= self.capacity.div_ceil(2) {
            state.old = std::mem::take(&mut state.young);
        }
        state.young.insert(token, entry);
    }

    fn len(&self) -> usize {
        let state = self.state();
        state.young.len() + state.old.len()
    }
}

impl fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Sizes only: the keys are bearer tokens.
        f.debug_struct("VerifiedCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Roles, SessionId, UserId};

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            sub: UserId::new(),
            sid: SessionId::random(),
            exp,
            iat: 0,
            jti: "j".into(),
            roles: Roles::new(),
            is_superuser: false,
            is_verified: false,
        }
    }

    #[test]
    fn an_entry_is_used_only_while_valid_at_the_given_now() {
        let cache = VerifiedCache::new(8).unwrap();
        cache.insert("t", 1, claims(100), Some(50));
        assert!(cache.get("t", 1, 99, 0).is_some());
        assert!(cache.get("t", 1, 100, 0).is_none());
        assert!(cache.get("t", 1, 49, 0).is_none());
        assert!(cache.get("t", 1, 100, 5).is_some());
        assert!(cache.get("t", 1, 99, 0).is_some());
    }

    #[test]
    fn only_the_exact_token_hits() {
        let cache = VerifiedCache::new(8).unwrap();
        cache.insert("header.payload.sig", 1, claims(100), None);
        assert!(cache.get("header.payload.sig", 1, 0, 0).is_some());
        for other in [
            "header.payload.sih",
            "header.payload.sig ",
            "header.payload",
            "",
        ] {
            assert!(cache.get(other, 1, 0, 0).is_none(), "{other}");
        }
    }

    #[test]
    fn another_key_set_empties_it() {
        let cache = VerifiedCache::new(8).unwrap();
        cache.insert("t", 1, claims(100), None);
        assert!(cache.get("t", 2, 0, 0).is_none());
        assert!(cache.get("t", 1, 0, 0).is_none());
        assert_eq!(cache.len(), 0);
        // A late insert verified with the replaced set is dropped.
        cache.insert("late", 0, claims(100), None);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn it_stays_bounded_and_keeps_recent_tokens() {
        let cache = VerifiedCache::new(10).unwrap();
        for i in 0..1000 {
            cache.insert(&format!("t{i}"), 1, claims(100), None);
            cache.get("t0", 1, 0, 0);
            assert!(cache.len() <= 10);
        }
        assert!(cache.get("t0", 1, 0, 0).is_some());
        assert!(cache.get("t999", 1, 0, 0).is_some());
        assert!(cache.get("t500", 1, 0, 0).is_none());
        assert!(VerifiedCache::new(0).is_none());
    }
}
