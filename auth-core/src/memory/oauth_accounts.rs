//! The provider accounts of [`MemoryUserStore`]: [`Accounts`], kept in the store's tables
//! under its one lock, and the [`OAuthAccountStore`] methods over them.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;

use super::user_store::MemoryUserStore;
use crate::error::{StoreError, UniqueField};
use crate::store::{OAuthAccount, OAuthAccountStore, Unlinked};
use crate::user::{Profile, User, UserId};

/// A provider account's key: (provider, account id), compared exactly.
type Key = (String, String);

/// The links of every user: unique by (provider, account id), indexed by user.
#[derive(Debug, Default)]
pub(super) struct Accounts {
    by_key: HashMap<Key, OAuthAccount>,
    by_user: HashMap<UserId, BTreeSet<Key>>,
}

impl Accounts {
    fn holds(&self, provider: &str, account_id: &str) -> bool {
        self.by_key
            .contains_key(&(provider.to_owned(), account_id.to_owned()))
    }

    /// Stores a link whose key is free (checked by the caller under the same lock).
    fn insert(&mut self, account: OAuthAccount) {
        let key = (account.provider.clone(), account.account_id.clone());
        self.by_user
            .entry(account.user_id)
            .or_default()
            .insert(key.clone());
        self.by_key.insert(key, account);
    }

    /// The link of `key` if `user_id` holds it.
    fn held_mut(&mut self, user_id: UserId, key: &Key) -> Option<&mut OAuthAccount> {
        self.by_key
            .get_mut(key)
            .filter(|account| account.user_id == user_id)
    }

    fn remove(&mut self, user_id: UserId, key: &Key) {
        self.by_key.remove(key);
        if let Some(keys) = self.by_user.get_mut(&user_id) {
            keys.remove(key);
            if keys.is_empty() {
                self.by_user.remove(&user_id);
            }
        }
    }

    fn count(&self, user_id: UserId) -> usize {
        self.by_user.get(&user_id).map_or(0, BTreeSet::len)
    }

    /// Deletes every link of a user (the user is being deleted, under the same lock).
    pub(super) fn remove_user(&mut self, user_id: UserId) {
        for key in self.by_user.remove(&user_id).unwrap_or_default() {
            self.by_key.remove(&key);
        }
    }
}

#[async_trait]
impl<P: Profile> OAuthAccountStore<P> for MemoryUserStore<P> {
    async fn create_with_account(
        &self,
        user: &User<P>,
        account: &OAuthAccount,
    ) -> Result<(), StoreError> {
        let mut tables = self.write();
        if tables.users.contains_key(&user.id) {
            return Err(StoreError::backend("duplicate user id"));
        }
        if let Some(field) = tables.clash(user) {
            return Err(StoreError::Conflict(field));
        }
        if tables
            .accounts
            .holds(&account.provider, &account.account_id)
        {
            return Err(StoreError::Conflict(UniqueField::OAuthAccount));
        }
        tables.index(user);
        tables.users.insert(user.id, user.clone());
        tables.accounts.insert(OAuthAccount {
            user_id: user.id,
            ..account.clone()
        });
        Ok(())
    }

    async fn link_account(&self, account: &OAuthAccount) -> Result<(), StoreError> {
        let mut tables = self.write();
        if tables
            .accounts
            .holds(&account.provider, &account.account_id)
        {
            return Err(StoreError::Conflict(UniqueField::OAuthAccount));
        }
        if !tables.users.contains_key(&account.user_id) {
            return Err(StoreError::NotFound);
        }
        tables.accounts.insert(account.clone());
        Ok(())
    }

    async fn find_account(
        &self,
        provider: &str,
        account_id: &str,
    ) -> Result<Option<OAuthAccount>, StoreError> {
        let key = (provider.to_owned(), account_id.to_owned());
        Ok(self.read().accounts.by_key.get(&key).cloned())
    }

    async fn list_accounts(&self, user_id: UserId) -> Result<Vec<OAuthAccount>, StoreError> {
        let tables = self.read();
        let accounts = &tables.accounts;
        let mut listed: Vec<OAuthAccount> = accounts
            .by_user
            .get(&user_id)
            .into_iter()
            .flatten()
            .filter_map(|key| accounts.by_key.get(key))
            .cloned()
            .collect();
        // The keys are already in (provider, account id) order; a stable sort by creation
        // time keeps it among links of one instant.
        listed.sort_by_key(|account| account.created_at);
        Ok(listed)
    }

    async fn update_account(&self, account: &OAuthAccount) -> Result<(), StoreError> {
        let key = (account.provider.clone(), account.account_id.clone());
        let mut tables = self.write();
        let stored = tables
            .accounts
            .held_mut(account.user_id, &key)
            .ok_or(StoreError::NotFound)?;
        stored.account_email.clone_from(&account.account_email);
        stored.access_token.clone_from(&account.access_token);
        stored.refresh_token.clone_from(&account.refresh_token);
        stored.expires_at = account.expires_at;
        stored.updated_at = account.updated_at;
        Ok(())
    }

    async fn unlink_account(
        &self,
        user_id: UserId,
        provider: &str,
        account_id: &str,
        keep_one: bool,
    ) -> Result<Unlinked, StoreError> {
        let key = (provider.to_owned(), account_id.to_owned());
        let mut tables = self.write();
        if tables.accounts.held_mut(user_id, &key).is_none() {
            return Ok(Unlinked::NotFound);
        }
        if keep_one && tables.accounts.count(user_id) <= 1 {
            return Ok(Unlinked::LastLoginMethod);
        }
        tables.accounts.remove(user_id, &key);
        Ok(Unlinked::Removed)
    }
}
