//! [`MemoryUserStore`].

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use async_trait::async_trait;

use super::mfa::Factors;
use super::oauth_accounts::Accounts;
use crate::email::Email;
use crate::error::{StoreError, UniqueField};
use crate::store::{Page, UserQuery, UserStore};
use crate::user::{NoProfile, Profile, User, UserId};
use crate::username::Username;

/// Everything the store keeps, behind its one lock: a write that touches users and provider
/// accounts or second factors both (a creation with a first link, a deletion) is one step.
#[derive(Debug)]
pub(super) struct Tables<P> {
    // Ordered by id, and ids are time-ordered (UUIDv7): iteration is creation order.
    pub(super) users: BTreeMap<UserId, User<P>>,
    by_email: HashMap<String, UserId>,
    by_username: HashMap<String, UserId>,
    /// The provider accounts linked to the users.
    pub(super) accounts: Accounts,
    /// The users' second factors.
    pub(super) factors: Factors,
}

impl<P> Default for Tables<P> {
    fn default() -> Self {
        Self {
            users: BTreeMap::new(),
            by_email: HashMap::new(),
            by_username: HashMap::new(),
            accounts: Accounts::default(),
            factors: Factors::default(),
        }
    }
}

impl<P: Profile> Tables<P> {
    /// The unique field `user` would collide on, ignoring its own row.
    pub(super) fn clash(&self, user: &User<P>) -> Option<UniqueField> {
        if self
            .by_email
            .get(&user.email.key())
            .is_some_and(|owner| *owner != user.id)
        {
            return Some(UniqueField::Email);
        }
        let name = user.username.as_ref()?;
        self.by_username
            .get(&name.key())
            .is_some_and(|owner| *owner != user.id)
            .then_some(UniqueField::Username)
    }

    fn unindex(&mut self, user: &User<P>) {
        self.by_email.remove(&user.email.key());
        if let Some(name) = &user.username {
            self.by_username.remove(&name.key());
        }
    }

    pub(super) fn index(&mut self, user: &User<P>) {
        self.by_email.insert(user.email.key(), user.id);
        if let Some(name) = &user.username {
            self.by_username.insert(name.key(), user.id);
        }
    }
}

/// A [`UserStore`] in process memory: unique indexes on the e-mail and username keys, one lock
/// per write, so concurrent registrations of one address have exactly one winner. Nothing
/// survives a restart.
///
/// It keeps the users' provider accounts ([`OAuthAccountStore`](crate::OAuthAccountStore))
/// and second factors ([`MfaStore`](crate::MfaStore)) too, under the same lock: deleting a
/// user deletes their links and factors in the same step.
///
/// ```
/// use auth_core::{MemoryUserStore, NoProfile};
/// let store = MemoryUserStore::<NoProfile>::new();
/// ```
#[derive(Debug)]
pub struct MemoryUserStore<P = NoProfile> {
    tables: RwLock<Tables<P>>,
}

impl<P> Default for MemoryUserStore<P> {
    fn default() -> Self {
        Self {
            tables: RwLock::new(Tables::default()),
        }
    }
}

impl<P: Profile> MemoryUserStore<P> {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    pub(super) fn read(&self) -> std::sync::RwLockReadGuard<'_, Tables<P>> {
        self.tables
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tables<P>> {
        self.tables
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl<P: Profile> UserStore<P> for MemoryUserStore<P> {
    async fn create(&self, user: &User<P>) -> Result<(), StoreError> {
        let mut tables = self.write();
        if tables.users.contains_key(&user.id) {
            return Err(StoreError::backend("duplicate user id"));
        }
        if let Some(field) = tables.clash(user) {
            return Err(StoreError::Conflict(field));
        }
        tables.index(user);
        tables.users.insert(user.id, user.clone());
        Ok(())
    }

    async fn get(&self, id: UserId) -> Result<Option<User<P>>, StoreError> {
        Ok(self.read().users.get(&id).cloned())
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User<P>>, StoreError> {
        let tables = self.read();
        Ok(tables
            .by_email
            .get(&email.key())
            .and_then(|id| tables.users.get(id))
            .cloned())
    }

    async fn find_by_username(&self, username: &Username) -> Result<Option<User<P>>, StoreError> {
        let tables = self.read();
        Ok(tables
            .by_username
            .get(&username.key())
            .and_then(|id| tables.users.get(id))
            .cloned())
    }

    async fn update(&self, user: &User<P>) -> Result<(), StoreError> {
        let mut tables = self.write();
        let old = tables
            .users
            .get(&user.id)
            .cloned()
            .ok_or(StoreError::NotFound)?;
        if old.version != user.version {
            return Err(StoreError::Stale);
        }
        if let Some(field) = tables.clash(user) {
            return Err(StoreError::Conflict(field));
        }
        tables.unindex(&old);
        tables.index(user);
        let mut stored = user.clone();
        stored.version = user.version.wrapping_add(1);
        tables.users.insert(user.id, stored);
        Ok(())
    }

    async fn delete(&self, id: UserId) -> Result<bool, StoreError> {
        let mut tables = self.write();
        let Some(old) = tables.users.remove(&id) else {
            return Ok(false);
        };
        tables.unindex(&old);
        tables.accounts.remove_user(id);
        tables.factors.remove_user(id);
        Ok(true)
    }

    async fn list(&self, query: &UserQuery) -> Result<Page<User<P>>, StoreError> {
        let tables = self.read();
        let mut matching: Vec<&User<P>> = tables
            .users
            .values()
            .filter(|user| query.matches(user))
            .collect();
        // Stable, and the table iterates in id order: ties keep id order.
        matching.sort_by(|a, b| query.sort.compare(a, b));
        let total = matching.len() as u64;
        let items = matching
            .into_iter()
            .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
            .take(query.limit as usize)
            .cloned()
            .collect();
        Ok(Page { items, total })
    }
}
