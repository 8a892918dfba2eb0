//! The second factors of [`MemoryUserStore`]: [`Factors`], kept in the store's tables under
//! its one lock, and the [`MfaStore`] methods over them. Every method takes the lock once, so
//! each is one atomic step: of concurrent uses of one TOTP step or one recovery code, the
//! first to take the lock wins and the others find it spent.

use std::collections::{BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::user_store::MemoryUserStore;
use crate::error::{StoreError, UniqueField};
use crate::store::{MfaStore, PasskeyRecord, SealedToken, TotpFactor};
use crate::user::{Profile, UserId};

/// The second factors of every user: one TOTP factor each, a set of recovery-code digests
/// each, and passkeys unique by credential id, indexed by user.
#[derive(Debug, Default)]
pub(super) struct Factors {
    totp: HashMap<UserId, TotpFactor>,
    codes: HashMap<UserId, HashSet<Vec<u8>>>,
    passkeys: HashMap<Uuid, PasskeyRecord>,
    by_credential: HashMap<Vec<u8>, Uuid>,
    by_user: HashMap<UserId, BTreeSet<Uuid>>,
}

impl Factors {
    /// Replaces a user's recovery codes (none: the entry goes).
    fn set_codes(&mut self, user_id: UserId, codes: &[Vec<u8>]) {
        if codes.is_empty() {
            self.codes.remove(&user_id);
        } else {
            self.codes.insert(user_id, codes.iter().cloned().collect());
        }
    }

    /// The passkey `id` if `user_id` holds it.
    fn held_mut(&mut self, user_id: UserId, id: Uuid) -> Option<&mut PasskeyRecord> {
        self.passkeys
            .get_mut(&id)
            .filter(|passkey| passkey.user_id == user_id)
    }

    /// Removes a passkey known to be held by `user_id`.
    fn remove_passkey(&mut self, user_id: UserId, id: Uuid) {
        if let Some(passkey) = self.passkeys.remove(&id) {
            self.by_credential.remove(&passkey.credential_id);
        }
        if let Some(ids) = self.by_user.get_mut(&user_id) {
            ids.remove(&id);
            if ids.is_empty() {
                self.by_user.remove(&user_id);
            }
        }
    }

    /// Removes every factor of a user; how many went (the TOTP factor one, each passkey one).
    /// Also what deleting the user does, under the same lock.
    pub(super) fn remove_user(&mut self, user_id: UserId) -> u64 {
        let totp = u64::from(self.totp.remove(&user_id).is_some());
        self.codes.remove(&user_id);
        let mut passkeys = 0;
        for id in self.by_user.remove(&user_id).unwrap_or_default() {
            if let Some(passkey) = self.passkeys.remove(&id) {
                self.by_credential.remove(&passkey.credential_id);
                passkeys += 1;
            }
        }
        totp + passkeys
    }
}

#[async_trait]
impl<P: Profile> MfaStore<P> for MemoryUserStore<P> {
    async fn totp(&self, user_id: UserId) -> Result<Option<TotpFactor>, StoreError> {
        Ok(self.read().factors.totp.get(&user_id).cloned())
    }

    async fn set_pending_totp(
        &self,
        user_id: UserId,
        secret: &SealedToken,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tables = self.write();
        if !tables.users.contains_key(&user_id) {
            return Err(StoreError::NotFound);
        }
        if tables
            .factors
            .totp
            .get(&user_id)
            .is_some_and(|factor| factor.confirmed)
        {
            return Ok(false);
        }
        tables.factors.totp.insert(
            user_id,
            TotpFactor {
                secret: secret.clone(),
                confirmed: false,
                last_step: None,
                created_at: now,
            },
        );
        Ok(true)
    }

    async fn confirm_totp(
        &self,
        user_id: UserId,
        secret: &SealedToken,
        step: i64,
        recovery_codes: &[Vec<u8>],
    ) -> Result<bool, StoreError> {
        let mut tables = self.write();
        let factors = &mut tables.factors;
        let Some(factor) = factors
            .totp
            .get_mut(&user_id)
            .filter(|factor| !factor.confirmed && factor.secret == *secret)
        else {
            return Ok(false);
        };
        factor.confirmed = true;
        factor.last_step = Some(step);
        factors.set_codes(user_id, recovery_codes);
        Ok(true)
    }

    async fn use_totp_step(&self, user_id: UserId, step: i64) -> Result<bool, StoreError> {
        let mut tables = self.write();
        let Some(factor) =
            tables.factors.totp.get_mut(&user_id).filter(|factor| {
                factor.confirmed && factor.last_step.is_none_or(|last| last < step)
            })
        else {
            return Ok(false);
        };
        factor.last_step = Some(step);
        Ok(true)
    }

    async fn remove_totp(&self, user_id: UserId) -> Result<bool, StoreError> {
        let mut tables = self.write();
        tables.factors.codes.remove(&user_id);
        Ok(tables.factors.totp.remove(&user_id).is_some())
    }

    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        codes: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        let mut tables = self.write();
        // As a foreign key would: codes for nobody are refused (and no codes need no user).
        if !codes.is_empty() && !tables.users.contains_key(&user_id) {
            return Err(StoreError::NotFound);
        }
        tables.factors.set_codes(user_id, codes);
        Ok(())
    }

    async fn use_recovery_code(&self, user_id: UserId, digest: &[u8]) -> Result<bool, StoreError> {
        let mut tables = self.write();
        let Some(codes) = tables.factors.codes.get_mut(&user_id) else {
            return Ok(false);
        };
        let used = codes.remove(digest);
        if codes.is_empty() {
            tables.factors.codes.remove(&user_id);
        }
        Ok(used)
    }

    async fn recovery_codes_left(&self, user_id: UserId) -> Result<u64, StoreError> {
        Ok(self
            .read()
            .factors
            .codes
            .get(&user_id)
            .map_or(0, |codes| codes.len() as u64))
    }

    async fn add_passkey(&self, passkey: &PasskeyRecord) -> Result<(), StoreError> {
        let mut tables = self.write();
        if tables
            .factors
            .by_credential
            .contains_key(&passkey.credential_id)
        {
            return Err(StoreError::Conflict(UniqueField::Passkey));
        }
        if !tables.users.contains_key(&passkey.user_id) {
            return Err(StoreError::NotFound);
        }
        let factors = &mut tables.factors;
        if factors.passkeys.contains_key(&passkey.id) {
            return Err(StoreError::backend("duplicate passkey id"));
        }
        factors
            .by_credential
            .insert(passkey.credential_id.clone(), passkey.id);
        factors
            .by_user
            .entry(passkey.user_id)
            .or_default()
            .insert(passkey.id);
        factors.passkeys.insert(passkey.id, passkey.clone());
        Ok(())
    }

    async fn passkeys(&self, user_id: UserId) -> Result<Vec<PasskeyRecord>, StoreError> {
        let tables = self.read();
        let factors = &tables.factors;
        let mut listed: Vec<PasskeyRecord> = factors
            .by_user
            .get(&user_id)
            .into_iter()
            .flatten()
            .filter_map(|id| factors.passkeys.get(id))
            .cloned()
            .collect();
        // The ids are already in order; a stable sort by creation time keeps it among
        // passkeys of one instant.
        listed.sort_by_key(|passkey| passkey.created_at);
        Ok(listed)
    }

    async fn passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<PasskeyRecord>, StoreError> {
        let tables = self.read();
        let factors = &tables.factors;
        Ok(factors
            .by_credential
            .get(credential_id)
            .and_then(|id| factors.passkeys.get(id))
            .cloned())
    }

    async fn update_passkey(&self, passkey: &PasskeyRecord) -> Result<(), StoreError> {
        let mut tables = self.write();
        let stored = tables
            .factors
            .held_mut(passkey.user_id, passkey.id)
            .ok_or(StoreError::NotFound)?;
        stored.credential.clone_from(&passkey.credential);
        stored.last_used_at = passkey.last_used_at;
        Ok(())
    }

    async fn remove_passkey(&self, user_id: UserId, id: Uuid) -> Result<bool, StoreError> {
        let mut tables = self.write();
        if tables.factors.held_mut(user_id, id).is_none() {
            return Ok(false);
        }
        tables.factors.remove_passkey(user_id, id);
        Ok(true)
    }

    async fn remove_all_factors(&self, user_id: UserId) -> Result<u64, StoreError> {
        Ok(self.write().factors.remove_user(user_id))
    }
}
