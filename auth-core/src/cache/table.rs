//! The bounded table behind the caches, and the bookkeeping that keeps a read racing an
//! announcement from planting a stale entry.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

/// What the table holds for one key.
#[derive(Debug, Clone)]
enum Slot<V> {
    /// A read of the store is under way; its answer may be kept only if this slot is still
    /// here, with this ticket, when it returns.
    Reading { ticket: u64 },
    /// What the store answered.
    Known(V),
}

#[derive(Debug)]
struct Inner<K, V> {
    /// Whether the announcements are flowing: answers are kept and given only then.
    trusted: bool,
    next_ticket: u64,
    young: HashMap<K, Slot<V>, Hasher>,
    old: HashMap<K, Slot<V>, Hasher>,
}

/// The maps' hasher: foldhash, seeded per process. The keys are session and user ids the
/// store or a verified token gave, never chosen by a client, so SipHash's resistance to
/// chosen collisions buys nothing here, and it cost a request more than the lookup itself.
type Hasher = foldhash::fast::RandomState;

impl<K: Hash + Eq, V> Inner<K, V> {
    fn get(&self, key: &K) -> Option<&Slot<V>> {
        self.young.get(key).or_else(|| self.old.get(key))
    }

    fn remove(&mut self, key: &K) {
        self.young.remove(key);
        self.old.remove(key);
    }

    fn clear(&mut self) {
        self.young.clear();
        self.old.clear();
    }
}

/// At most `capacity` entries, in two generations of half each: when the young one fills
/// up, the old one is dropped and the young one takes its place, so busy keys stay and the
/// memory is bounded.
#[derive(Debug)]
pub(crate) struct Table<K, V> {
    half: usize,
    inner: Mutex<Inner<K, V>>,
}

/// A read of the store that may be remembered: see [`Table::begin_read`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket<K> {
    key: K,
    ticket: u64,
}

impl<K: Hash + Eq + Copy, V: Clone> Table<K, V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            half: (capacity / 2).max(1),
            inner: Mutex::new(Inner {
                trusted: false,
                next_ticket: 0,
                young: HashMap::default(),
                old: HashMap::default(),
            }),
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner<K, V>> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What the store last said about `key`, if it is known and the table is trusted.
    pub(crate) fn lookup(&self, key: &K) -> Option<V> {
        let inner = self.inner();
        if !inner.trusted {
            return None;
        }
        match inner.get(key) {
            Some(Slot::Known(value)) => Some(value.clone()),
            _ => None,
        }
    }

    /// Marks a read of the store about to start; `None` when its answer may not be kept
    /// (the table is not trusted).
    pub(crate) fn begin_read(&self, key: K) -> Option<Ticket<K>> {
        let mut inner = self.inner();
        if !inner.trusted {
            return None;
        }
        inner.next_ticket = inner.next_ticket.wrapping_add(1);
        let ticket = inner.next_ticket;
        self.put(&mut inner, key, Slot::Reading { ticket });
        Some(Ticket { key, ticket })
    }

    /// Keeps what the read found (`None`: nothing to keep), unless the key was forgotten,
    /// or the table distrusted, since the read began.
    pub(crate) fn finish_read(&self, ticket: Ticket<K>, found: Option<V>) {
        let mut inner = self.inner();
        if !matches!(inner.get(&ticket.key), Some(Slot::Reading { ticket: t }) if *t == ticket.ticket)
        {
            return;
        }
        match found {
            Some(value) if inner.trusted => self.put(&mut inner, ticket.key, Slot::Known(value)),
            _ => inner.remove(&ticket.key),
        }
    }

    fn put(&self, inner: &mut Inner<K, V>, key: K, slot: Slot<V>) {
        if inner.old.remove(&key).is_none() && inner.young.len() >= self.half {
            inner.old = std::mem::take(&mut inner.young);
        }
        inner.young.insert(key, slot);
    }

    /// Forgets one key, and any read of it under way.
    pub(crate) fn forget(&self, key: &K) {
        self.inner().remove(key);
    }

    /// Forgets every known entry for which `matches` holds, and every read under way (whose
    /// answer is not known yet).
    pub(crate) fn forget_where(&self, matches: impl Fn(&V) -> bool) {
        let mut inner = self.inner();
        let keep =
            |_: &K, slot: &mut Slot<V>| matches!(slot, Slot::Known(value) if !matches(value));
        inner.young.retain(keep);
        inner.old.retain(keep);
    }

    /// The announcements flow: answers may be kept from now on.
    pub(crate) fn trust(&self) {
        let mut inner = self.inner();
        inner.clear();
        inner.trusted = true;
    }

    /// The announcements stopped: forget everything, keep nothing until [`Table::trust`].
    pub(crate) fn distrust(&self) {
        let mut inner = self.inner();
        inner.clear();
        inner.trusted = false;
    }

    /// Whether answers are kept and given.
    pub(crate) fn is_trusted(&self) -> bool {
        self.inner().trusted
    }

    /// How many entries (and reads under way) the table holds.
    pub(crate) fn len(&self) -> usize {
        let inner = self.inner();
        inner.young.len() + inner.old.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_read_racing_a_forget_is_not_kept() {
        let table: Table<u32, &str> = Table::new(10);
        table.trust();
        let ticket = table.begin_read(1).unwrap();
        table.forget(&1);
        table.finish_read(ticket, Some("live"));
        assert_eq!(table.lookup(&1), None);

        let ticket = table.begin_read(1).unwrap();
        table.forget_where(|_| false);
        table.finish_read(ticket, Some("live"));
        assert_eq!(
            table.lookup(&1),
            None,
            "reads under way are forgotten by forget_where"
        );

        let ticket = table.begin_read(1).unwrap();
        table.distrust();
        table.trust();
        table.finish_read(ticket, Some("live"));
        assert_eq!(table.lookup(&1), None);

        let ticket = table.begin_read(1).unwrap();
        table.finish_read(ticket, Some("live"));
        assert_eq!(table.lookup(&1), Some("live"));
        table.forget_where(|value| *value == "live");
        assert_eq!(table.lookup(&1), None);
    }

    #[test]
    fn nothing_is_kept_or_answered_while_untrusted() {
        let table: Table<u32, u32> = Table::new(10);
        assert!(table.begin_read(1).is_none());
        table.trust();
        let ticket = table.begin_read(1).unwrap();
        table.finish_read(ticket, Some(7));
        assert_eq!(table.lookup(&1), Some(7));
        table.distrust();
        assert_eq!(table.lookup(&1), None);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn the_table_is_bounded() {
        let table: Table<u32, u32> = Table::new(100);
        table.trust();
        for key in 0..1_000 {
            let ticket = table.begin_read(key).unwrap();
            table.finish_read(ticket, Some(key));
        }
        assert!(table.len() <= 100, "{}", table.len());
        assert_eq!(table.lookup(&999), Some(999), "the newest stay");
    }
}
