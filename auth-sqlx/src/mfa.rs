//! [`MfaStore`] for [`SqlUserStore`]: users' second factors, in `auth_mfa_totp`,
//! `auth_recovery_codes` and `auth_passkeys` beside `auth_users`.
//!
//! - Every table's `user_id` is a foreign key to `auth_users` with `ON DELETE CASCADE`: a
//!   factor for a user that does not exist is refused ([`StoreError::NotFound`]), and deleting
//!   a user deletes their factors in the same statement.
//! - [`MfaStore::use_totp_step`] is one conditional `UPDATE` (`... AND confirmed AND
//!   (last_step IS NULL OR last_step < step)`), and [`MfaStore::use_recovery_code`] one
//!   `DELETE`, each judged by the rows it changed: the row lock (Postgres, MySQL) or the write
//!   lock (SQLite) lets one of concurrent submissions of a code change the row, and the others
//!   re-read it and change nothing.
//! - A credential id is unique by the table's unique key: of concurrent registrations of one
//!   credential, the database lets one in and refuses the others
//!   ([`UniqueField::Passkey`](auth_core::UniqueField::Passkey)).
//! - Several statements that must be one step run in one transaction, and every such
//!   transaction begins by locking the user's row (SQLite: the transaction's write lock), so
//!   that they run one at a time per user and always take their locks in one order (the user,
//!   then the factors): none can deadlock with another, nor with the foreign key checks of the
//!   recovery codes it inserts. [`MfaStore::set_pending_totp`] then replaces a pending factor
//!   or inserts one where there is none; [`MfaStore::confirm_totp`] confirms the pending factor
//!   only if its secret is the one given, then replaces the recovery codes; removals delete
//!   from every table together.

use std::collections::HashSet;

use async_trait::async_trait;
use auth_core::{MfaStore, PasskeyRecord, Profile, SealedToken, StoreError, TotpFactor, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::dialect::{Columns, Dialect};
use crate::query::{Sql, Tx};
use crate::row::{bind_passkey, read_passkey, read_totp};
use crate::users::SqlUserStore;

/// Locks the user's row for the rest of `tx`; whether the user exists. A user that does not
/// exist has no factors either (they went with the user).
async fn lock_user<DB: Dialect>(tx: &mut Tx<DB>, user_id: UserId) -> Result<bool, StoreError> {
    let row = Sql::<DB>::new(DB::SQL.user_lock)
        .bind(*user_id.as_uuid())
        .fetch_optional_in(tx)
        .await?;
    Ok(row.is_some())
}

/// Replaces the user's recovery codes with `codes` inside `tx` (each distinct digest once:
/// the table's key is the user and the digest).
async fn replace_codes<DB: Dialect>(
    tx: &mut Tx<DB>,
    user_id: UserId,
    codes: &[Vec<u8>],
) -> Result<(), StoreError> {
    Sql::<DB>::new(DB::SQL.recovery_delete_all)
        .bind(*user_id.as_uuid())
        .execute_in(tx)
        .await?;
    let mut seen = HashSet::new();
    for code in codes.iter().filter(|code| seen.insert(code.as_slice())) {
        Sql::<DB>::new(DB::SQL.recovery_insert)
            .bind(*user_id.as_uuid())
            .bind(code.clone())
            .execute_in(tx)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl<DB: Dialect, P: Profile> MfaStore<P> for SqlUserStore<DB> {
    async fn totp(&self, user_id: UserId) -> Result<Option<TotpFactor>, StoreError> {
        Sql::<DB>::new(DB::SQL.totp_get)
            .bind(*user_id.as_uuid())
            .fetch_optional(self.pool())
            .await?
            .map(|row| read_totp::<DB>(&row))
            .transpose()
    }

    async fn set_pending_totp(
        &self,
        user_id: UserId,
        secret: &SealedToken,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = Tx::<DB>::begin(self.pool()).await?;
        // The user's row lock orders enrolments of one user: none can insert between this
        // one's read and its insert, and the user cannot go meanwhile.
        if !lock_user(&mut tx, user_id).await? {
            tx.rollback().await?;
            return Err(StoreError::NotFound);
        }
        let replaced = Sql::<DB>::new(DB::SQL.totp_repend)
            .bind(secret.as_bytes().to_vec())
            .bind_time(now)
            .bind(*user_id.as_uuid())
            .execute_in(&mut tx)
            .await?;
        if replaced == 0 {
            // No pending factor: either a confirmed one, left alone, or none at all.
            let exists = Sql::<DB>::new(DB::SQL.totp_exists)
                .bind(*user_id.as_uuid())
                .fetch_optional_in(&mut tx)
                .await?;
            if exists.is_some() {
                tx.rollback().await?;
                return Ok(false);
            }
            Sql::<DB>::new(DB::SQL.totp_insert_pending)
                .bind(*user_id.as_uuid())
                .bind(secret.as_bytes().to_vec())
                .bind_time(now)
                .execute_in(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn confirm_totp(
        &self,
        user_id: UserId,
        secret: &SealedToken,
        step: i64,
        recovery_codes: &[Vec<u8>],
    ) -> Result<bool, StoreError> {
        let mut tx = Tx::<DB>::begin(self.pool()).await?;
        if !lock_user(&mut tx, user_id).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        // Conditional on the pending row holding this very secret: a factor replaced or
        // confirmed meanwhile changes nothing, and the row lock it takes orders confirmations.
        let confirmed = Sql::<DB>::new(DB::SQL.totp_confirm)
            .bind(step)
            .bind(*user_id.as_uuid())
            .bind(secret.as_bytes().to_vec())
            .execute_in(&mut tx)
            .await?;
        if confirmed == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        replace_codes(&mut tx, user_id, recovery_codes).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn use_totp_step(&self, user_id: UserId, step: i64) -> Result<bool, StoreError> {
        let accepted = Sql::<DB>::new(DB::SQL.totp_use_step)
            .bind(step)
            .bind(*user_id.as_uuid())
            .bind(step)
            .execute(self.pool())
            .await?;
        Ok(accepted > 0)
    }

    async fn remove_totp(&self, user_id: UserId) -> Result<bool, StoreError> {
        let mut tx = Tx::<DB>::begin(self.pool()).await?;
        if !lock_user(&mut tx, user_id).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        let removed = Sql::<DB>::new(DB::SQL.totp_delete)
            .bind(*user_id.as_uuid())
            .execute_in(&mut tx)
            .await?;
        Sql::<DB>::new(DB::SQL.recovery_delete_all)
            .bind(*user_id.as_uuid())
            .execute_in(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(removed > 0)
    }

    async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        codes: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        let mut tx = Tx::<DB>::begin(self.pool()).await?;
        if !lock_user(&mut tx, user_id).await? {
            tx.rollback().await?;
            // Codes for nobody are refused; no codes need no user.
            return if codes.is_empty() {
                Ok(())
            } else {
                Err(StoreError::NotFound)
            };
        }
        replace_codes(&mut tx, user_id, codes).await?;
        tx.commit().await
    }

    async fn use_recovery_code(&self, user_id: UserId, digest: &[u8]) -> Result<bool, StoreError> {
        let deleted = Sql::<DB>::new(DB::SQL.recovery_use)
            .bind(*user_id.as_uuid())
            .bind(digest.to_vec())
            .execute(self.pool())
            .await?;
        Ok(deleted > 0)
    }

    async fn recovery_codes_left(&self, user_id: UserId) -> Result<u64, StoreError> {
        let row = Sql::<DB>::new(DB::SQL.recovery_count)
            .bind(*user_id.as_uuid())
            .fetch_optional(self.pool())
            .await?;
        let total = match row {
            Some(row) => row.int("total").map_err(StoreError::backend)?,
            None => 0,
        };
        u64::try_from(total).map_err(StoreError::backend)
    }

    async fn add_passkey(&self, passkey: &PasskeyRecord) -> Result<(), StoreError> {
        // A taken credential id is the unique key's violation, a missing user the foreign
        // key's.
        bind_passkey(Sql::new(DB::SQL.passkey_insert), passkey)
            .execute(self.pool())
            .await
            .map(drop)
    }

    async fn passkeys(&self, user_id: UserId) -> Result<Vec<PasskeyRecord>, StoreError> {
        Sql::<DB>::new(DB::SQL.passkey_list)
            .bind(*user_id.as_uuid())
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(read_passkey::<DB>)
            .collect()
    }

    async fn passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<PasskeyRecord>, StoreError> {
        Sql::<DB>::new(DB::SQL.passkey_by_credential)
            .bind(credential_id.to_vec())
            .fetch_optional(self.pool())
            .await?
            .map(|row| read_passkey::<DB>(&row))
            .transpose()
    }

    async fn update_passkey(&self, passkey: &PasskeyRecord) -> Result<(), StoreError> {
        let changed = Sql::<DB>::new(DB::SQL.passkey_update)
            .bind(passkey.credential.clone())
            .bind_opt_time(passkey.last_used_at)
            .bind(passkey.id)
            .bind(*passkey.user_id.as_uuid())
            .execute(self.pool())
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn remove_passkey(&self, user_id: UserId, id: Uuid) -> Result<bool, StoreError> {
        let deleted = Sql::<DB>::new(DB::SQL.passkey_delete)
            .bind(id)
            .bind(*user_id.as_uuid())
            .execute(self.pool())
            .await?;
        Ok(deleted > 0)
    }

    async fn remove_all_factors(&self, user_id: UserId) -> Result<u64, StoreError> {
        let mut tx = Tx::<DB>::begin(self.pool()).await?;
        if !lock_user(&mut tx, user_id).await? {
            tx.rollback().await?;
            return Ok(0);
        }
        let totp = Sql::<DB>::new(DB::SQL.totp_delete)
            .bind(*user_id.as_uuid())
            .execute_in(&mut tx)
            .await?;
        Sql::<DB>::new(DB::SQL.recovery_delete_all)
            .bind(*user_id.as_uuid())
            .execute_in(&mut tx)
            .await?;
        let passkeys = Sql::<DB>::new(DB::SQL.passkey_delete_all)
            .bind(*user_id.as_uuid())
            .execute_in(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(totp + passkeys)
    }
}
