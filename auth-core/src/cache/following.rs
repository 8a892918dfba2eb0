//! [`Following`]: a table that follows a store's feed, the part both caches share.

use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::supervisor::{FeedTarget, Supervisor};
use super::table::{Table, Ticket};
use crate::store::{RevocationEvent, Revocations};

/// How a cache's table takes one announcement.
pub(crate) type Apply<K, V> = fn(&Table<K, V>, RevocationEvent);

/// A table kept by the announcements of a store: trusted while the feed is up (or always,
/// for a store in this process), never with no feed at all.
pub(crate) struct Following<K, V> {
    target: Arc<Target<K, V>>,
    hits: AtomicU64,
    /// Keeps the feed's task alive; stops it when the cache is dropped.
    _supervisor: Option<Supervisor>,
}

/// The table and its way of taking announcements, as the feed's task sees them.
struct Target<K, V> {
    table: Table<K, V>,
    apply: Apply<K, V>,
}

impl<K, V> FeedTarget for Target<K, V>
where
    K: Hash + Eq + Copy + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn trust(&self) {
        self.table.trust();
    }

    fn distrust(&self) {
        self.table.distrust();
    }

    fn is_trusted(&self) -> bool {
        self.table.is_trusted()
    }

    fn apply(&self, event: RevocationEvent) {
        (self.apply)(&self.table, event);
    }
}

impl<K, V> Following<K, V>
where
    K: Hash + Eq + Copy + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A table of at most `capacity` entries following `revocations`; a zero capacity, no
    /// feed, or no tokio runtime to run the feed on leaves it untrusted for good.
    pub(crate) fn new(revocations: Revocations, capacity: usize, apply: Apply<K, V>) -> Self {
        let target = Arc::new(Target {
            table: Table::new(capacity),
            apply,
        });
        let supervisor = if capacity == 0 {
            None
        } else {
            match revocations {
                Revocations::Unannounced => None,
                Revocations::InProcess => {
                    target.table.trust();
                    None
                }
                Revocations::Feed(feed) => {
                    Supervisor::start(feed, Arc::clone(&target) as Arc<dyn FeedTarget>)
                }
            }
        };
        Self {
            target,
            hits: AtomicU64::new(0),
            _supervisor: supervisor,
        }
    }

    /// The table.
    pub(crate) fn table(&self) -> &Table<K, V> {
        &self.target.table
    }

    /// What the table knows of `key` and `accept`s, counted as a hit.
    pub(crate) fn lookup(&self, key: &K, accept: impl FnOnce(&V) -> bool) -> Option<V> {
        let found = self.table().lookup(key).filter(accept)?;
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(found)
    }

    /// See [`Table::begin_read`].
    pub(crate) fn begin_read(&self, key: K) -> Option<Ticket<K>> {
        self.table().begin_read(key)
    }

    /// How many reads were answered from memory so far.
    pub(crate) fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
}
