//! Back-pressure in front of the hasher: a bounded number of password checks may be running
//! or waiting; beyond it a request is refused at once instead of queueing without end.

use std::num::NonZeroUsize;
use std::sync::Arc;

use time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How much password-hashing work the [`UserManager`](crate::UserManager) admits at once.
///
/// A login, a registration or a password reset takes one place before it looks anything up
/// and keeps it until its hashing is done. There are `slots + queue` places: `slots` checks
/// run (match the hasher's concurrency cap, by default the number of CPUs, as
/// [`Argon2Hasher::with_max_concurrent`](crate::Argon2Hasher::with_max_concurrent) does) and
/// up to `queue` more wait for them. When every place is taken the request is answered
/// [`AuthError::Overloaded`](crate::AuthError::Overloaded) (HTTP `503` with `Retry-After`)
/// without touching the stores, the throttles or the hasher: a storm of logins costs the
/// server a bounded wait per admitted login, and the refused ones learn nothing about the
/// account they named.
///
/// The longest wait of an admitted request is about `queue / slots` hash times (with the
/// default Argon2 parameters, some 20-40 ms each).
///
/// ```
/// use auth_core::{HashAdmission, ManagerConfig};
///
/// let config = ManagerConfig {
///     hash_admission: Some(HashAdmission { slots: 4, queue: 16, ..HashAdmission::default() }),
///     ..ManagerConfig::default()
/// };
/// assert_eq!(config.hash_admission.map(|a| a.capacity()), Some(20));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashAdmission {
    /// How many password checks run at once (default: the number of CPUs). `0` is taken as
    /// `1`.
    pub slots: usize,
    /// How many more may wait for a slot (default 64).
    pub queue: usize,
    /// What a refused request is told to wait before trying again (default one second; at
    /// least one second is announced).
    pub retry_after: Duration,
}

/// The default length of the wait queue.
const DEFAULT_QUEUE: usize = 64;

impl Default for HashAdmission {
    fn default() -> Self {
        Self {
            slots: default_slots(),
            queue: DEFAULT_QUEUE,
            retry_after: Duration::seconds(1),
        }
    }
}

impl HashAdmission {
    /// How many requests may hold a place at once: `slots` (at least one) plus `queue`.
    pub fn capacity(&self) -> usize {
        self.slots.max(1).saturating_add(self.queue)
    }
}

/// The number of CPUs, or one when it cannot be told.
pub(crate) fn default_slots() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// The places of a [`HashAdmission`], shared by the clones of one manager.
#[derive(Debug, Clone)]
pub(crate) struct HashGate {
    places: Arc<Semaphore>,
    retry_after: Duration,
}

/// One admitted request's place; dropping it (the request finished or was cancelled) frees
/// the place.
#[derive(Debug)]
pub(crate) struct HashTicket {
    _place: OwnedSemaphorePermit,
}

impl HashGate {
    /// The places of `admission`.
    pub(crate) fn new(admission: &HashAdmission) -> Self {
        Self {
            places: Arc::new(Semaphore::new(
                admission.capacity().min(Semaphore::MAX_PERMITS),
            )),
            retry_after: admission.retry_after,
        }
    }

    /// A place, or how long to wait before asking again when none is free.
    pub(crate) fn admit(&self) -> Result<HashTicket, Duration> {
        Arc::clone(&self.places)
            .try_acquire_owned()
            .map(|place| HashTicket { _place: place })
            .map_err(|_| self.retry_after.max(Duration::seconds(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(slots: usize, queue: usize) -> HashGate {
        HashGate::new(&HashAdmission {
            slots,
            queue,
            retry_after: Duration::milliseconds(10),
        })
    }

    #[test]
    fn slots_and_queue_are_the_places_and_a_freed_place_is_taken_again() {
        let gate = gate(2, 3);
        let tickets: Vec<HashTicket> = (0..5).map_while(|_| gate.admit().ok()).collect();
        assert_eq!(tickets.len(), 5);
        assert_eq!(gate.admit().unwrap_err(), Duration::seconds(1));
        drop(tickets);
        assert!(gate.admit().is_ok());
    }

    #[test]
    fn zero_slots_still_admit_one() {
        let gate = gate(0, 0);
        let ticket = gate.admit();
        assert!(ticket.is_ok());
        assert!(gate.admit().is_err());
    }

    #[test]
    fn the_default_has_one_slot_per_cpu_and_a_queue() {
        let admission = HashAdmission::default();
        assert_eq!(admission.slots, default_slots());
        assert_eq!(admission.capacity(), default_slots() + DEFAULT_QUEUE);
    }
}
