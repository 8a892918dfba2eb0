//! The bounded table of sessions the store last found live, and the bookkeeping that keeps
//! a read racing a revocation from planting a stale "live".

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use time::OffsetDateTime;

use crate::session::{Session, SessionId};
use crate::user::UserId;

/// What the table holds for one session.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// A read of the store is under way; its answer may be kept only if this slot is still
    /// here, with this ticket, when it returns.
    Reading { ticket: u64 },
    /// The store found the session live, with these expiry times.
    Live {
        user: UserId,
        idle_expires_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    },
}

#[derive(Debug, Default)]
struct Table {
    /// Whether the revocation channel is up: answers are kept only then.
    trusted: bool,
    next_ticket: u64,
    young: HashMap<SessionId, Slot>,
    old: HashMap<SessionId, Slot>,
}

impl Table {
    fn get(&self, id: &SessionId) -> Option<Slot> {
        self.young.get(id).or_else(|| self.old.get(id)).copied()
    }

    fn remove(&mut self, id: &SessionId) {
        self.young.remove(id);
        self.old.remove(id);
    }

    fn clear(&mut self) {
        self.young.clear();
        self.old.clear();
    }
}

/// Sessions found live, at most `capacity` of them (two generations of half each: when the
/// young one fills up, the old one is dropped and the young one takes its place, so busy
/// sessions stay and the memory is bounded).
#[derive(Debug)]
pub(super) struct LiveTable {
    half: usize,
    table: Mutex<Table>,
}

/// A read of the store that may be remembered: see [`LiveTable::begin_read`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Ticket {
    id: SessionId,
    ticket: u64,
}

/// What the table says about a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Answer {
    /// Live at `now` by the expiry times the store gave.
    Live,
    /// Not known: ask the store.
    Ask,
}

impl LiveTable {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            half: (capacity / 2).max(1),
            table: Mutex::new(Table::default()),
        }
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether `id` is known live at `now`. Never "revoked": an unknown session is asked about.
    pub(super) fn lookup(&self, id: SessionId, now: OffsetDateTime) -> Answer {
        let table = self.table();
        if !table.trusted {
            return Answer::Ask;
        }
        match table.get(&id) {
            Some(Slot::Live {
                idle_expires_at,
                expires_at,
                ..
            }) if now < idle_expires_at && now < expires_at => Answer::Live,
            _ => Answer::Ask,
        }
    }

    /// Marks a read of the store about to start; `None` when its answer may not be kept
    /// (the channel is down).
    pub(super) fn begin_read(&self, id: SessionId) -> Option<Ticket> {
        let mut table = self.table();
        if !table.trusted {
            return None;
        }
        table.next_ticket = table.next_ticket.wrapping_add(1);
        let ticket = table.next_ticket;
        self.put(&mut table, id, Slot::Reading { ticket });
        Some(Ticket { id, ticket })
    }

    /// Keeps what the read found, unless the session was revoked, or the channel lost,
    /// since the read began (its slot is gone or belongs to a later read).
    pub(super) fn finish_read(&self, ticket: Ticket, found: Option<&Session>) {
        let mut table = self.table();
        let current = table.get(&ticket.id);
        if !matches!(current, Some(Slot::Reading { ticket: t }) if t == ticket.ticket) {
            return;
        }
        match found {
            Some(session) if table.trusted => {
                let slot = Slot::Live {
                    user: session.user_id,
                    idle_expires_at: session.idle_expires_at,
                    expires_at: session.expires_at,
                };
                self.put(&mut table, ticket.id, slot);
            }
            _ => table.remove(&ticket.id),
        }
    }

    fn put(&self, table: &mut Table, id: SessionId, slot: Slot) {
        if table.old.remove(&id).is_none() && table.young.len() >= self.half {
            table.old = std::mem::take(&mut table.young);
        }
        table.young.insert(id, slot);
    }

    /// Forgets one session, and any read of it under way.
    pub(super) fn forget(&self, id: SessionId) {
        self.table().remove(&id);
    }

    /// Forgets every session of `user`, and every read under way (whose owner is not known
    /// yet).
    pub(super) fn forget_user(&self, user: UserId) {
        let mut table = self.table();
        let keep = |_: &SessionId, slot: &mut Slot| matches!(slot, Slot::Live { user: u, .. } if *u != user);
        table.young.retain(keep);
        table.old.retain(keep);
    }

    /// The channel is up: answers may be kept from now on.
    pub(super) fn trust(&self) {
        let mut table = self.table();
        table.clear();
        table.trusted = true;
    }

    /// The channel is down: forget everything, keep nothing until [`LiveTable::trust`].
    pub(super) fn distrust(&self) {
        let mut table = self.table();
        table.clear();
        table.trusted = false;
    }

    /// Whether answers are kept and given.
    pub(super) fn is_trusted(&self) -> bool {
        self.table().trusted
    }

    /// How many sessions (and reads) the table holds.
    pub(super) fn len(&self) -> usize {
        let table = self.table();
        table.young.len() + table.old.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use time::Duration;

    use super::*;
    use crate::secret::TokenHash;

    fn session(now: OffsetDateTime) -> Session {
        Session {
            id: SessionId::random(),
            user_id: UserId::new(),
            refresh_hash: TokenHash::of(b"refresh"),
            access_hash: None,
            created_at: now,
            last_used_at: now,
            idle_expires_at: now + Duration::minutes(5),
            expires_at: now + Duration::hours(1),
            user_agent: None,
            ip: None,
        }
    }

    #[test]
    fn a_read_racing_a_revocation_is_not_kept() {
        let table = LiveTable::new(10);
        table.trust();
        let now = OffsetDateTime::now_utc();
        let s = session(now);
        let ticket = table.begin_read(s.id).unwrap();
        table.forget(s.id);
        table.finish_read(ticket, Some(&s));
        assert_eq!(table.lookup(s.id, now), Answer::Ask);

        let ticket = table.begin_read(s.id).unwrap();
        table.forget_user(s.user_id);
        table.finish_read(ticket, Some(&s));
        assert_eq!(table.lookup(s.id, now), Answer::Ask);

        let ticket = table.begin_read(s.id).unwrap();
        table.distrust();
        table.trust();
        table.finish_read(ticket, Some(&s));
        assert_eq!(table.lookup(s.id, now), Answer::Ask);

        let ticket = table.begin_read(s.id).unwrap();
        table.finish_read(ticket, Some(&s));
        assert_eq!(table.lookup(s.id, now), Answer::Live);
        // Judged by the expiry times on every lookup.
        assert_eq!(table.lookup(s.id, now + Duration::minutes(6)), Answer::Ask);
    }

    #[test]
    fn nothing_is_kept_or_answered_while_the_channel_is_down() {
        let table = LiveTable::new(10);
        let now = OffsetDateTime::now_utc();
        let s = session(now);
        assert!(table.begin_read(s.id).is_none());
        table.trust();
        let ticket = table.begin_read(s.id).unwrap();
        table.finish_read(ticket, Some(&s));
        assert_eq!(table.lookup(s.id, now), Answer::Live);
        table.distrust();
        assert_eq!(table.lookup(s.id, now), Answer::Ask);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn the_table_is_bounded() {
        let table = LiveTable::new(100);
        table.trust();
        let now = OffsetDateTime::now_utc();
        for _ in 0..1_000 {
            let s = session(now);
            let ticket = table.begin_read(s.id).unwrap();
            table.finish_read(ticket, Some(&s));
        }
        assert!(table.len() <= 100, "{}", table.len());
    }
}
