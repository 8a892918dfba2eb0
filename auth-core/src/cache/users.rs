//! [`UserCache`]: the signed-in user of a request from memory, forgotten the moment the user's
//! record changes anywhere.

use std::fmt;
use std::sync::Arc;

use super::following::Following;
use super::table::Table;
use crate::error::StoreError;
use crate::store::{RevocationEvent, UserStore};
use crate::user::{NoProfile, Profile, User, UserId};

/// How many users a [`UserCache`] holds unless told otherwise.
pub const DEFAULT_USER_CACHE_CAPACITY: usize = 10_000;

/// Users by id, as the store last gave them, for the read that every authenticated request
/// with a full user makes (the `AuthUser` extractor of `auth-axum`,
/// [`UserManager::request_user`](crate::UserManager::request_user)).
///
/// A user is answered from memory only while the store's change feed
/// ([`UserStore::changes`]) is subscribed and heard from, and until an announcement that the
/// user's record changed (any update or deletion, by any process) arrives; a read that races
/// such an announcement is not kept. Changes made through the [`UserManager`](crate::UserManager)
/// are forgotten before its call returns, so a client reads its own writes.
///
/// **Only for reads that decide nothing.** A copy may lag a change made on another instance
/// by the feed's delay (milliseconds), so the manager never uses it where a stale copy could
/// matter: logins, refreshes, and every read followed by a write go to the store. A
/// deactivation or demotion also ends the user's sessions, which the
/// [`SessionCache`](crate::SessionCache) refuses exactly.
pub struct UserCache<P: Profile = NoProfile> {
    store: Arc<dyn UserStore<P>>,
    users: Following<UserId, User<P>>,
}

impl<P: Profile> UserCache<P> {
    /// A cache of at most `capacity` users over `store`, following its
    /// [`changes`](UserStore::changes) as [`SessionCache::new`](crate::SessionCache::new)
    /// follows a session store's revocations: with no feed (or a zero capacity, or no tokio
    /// runtime) every read goes to the store.
    pub fn new(store: Arc<dyn UserStore<P>>, capacity: usize) -> Self {
        let users = Following::new(store.changes(), capacity, forget_changed::<P>);
        Self { store, users }
    }

    /// The user with this id: from memory when known, else from the store (and kept, if no
    /// change of the user was announced meanwhile).
    ///
    /// # Errors
    /// Only when the store fails.
    pub async fn get(&self, id: UserId) -> Result<Option<User<P>>, StoreError> {
        if let Some(user) = self.users.lookup(&id, |_| true) {
            return Ok(Some(user));
        }
        let Some(ticket) = self.users.begin_read(id) else {
            return self.store.get(id).await;
        };
        let found = self.store.get(id).await;
        let keep = match &found {
            Ok(Some(user)) => Some(user.clone()),
            _ => None,
        };
        self.users.table().finish_read(ticket, keep);
        found
    }

    /// Forgets the user (after a change made in this process).
    pub fn forget(&self, id: UserId) {
        self.users.table().forget(&id);
    }

    /// Whether users are answered from memory right now.
    pub fn is_trusted(&self) -> bool {
        self.users.table().is_trusted()
    }

    /// How many reads were answered from memory so far.
    pub fn hits(&self) -> u64 {
        self.users.hits()
    }

    /// How many users (and reads under way) the cache holds.
    pub fn len(&self) -> usize {
        self.users.table().len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What an announcement on a user store's feed makes stale.
fn forget_changed<P: Profile>(table: &Table<UserId, User<P>>, event: RevocationEvent) {
    if let RevocationEvent::User(id) = event {
        table.forget(&id);
    }
}

impl<P: Profile> fmt::Debug for UserCache<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserCache")
            .field("store", &self.store)
            .field("trusted", &self.is_trusted())
            .field("len", &self.len())
            .finish()
    }
}
