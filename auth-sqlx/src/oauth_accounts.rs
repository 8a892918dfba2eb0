//! [`OAuthAccountStore`] for [`SqlUserStore`]: provider accounts linked to users, in
//! `auth_oauth_accounts` beside `auth_users`.
//!
//! - (provider, account id) is unique by the table's unique key: of concurrent links of one
//!   provider account, the database lets one in and refuses the others
//!   ([`UniqueField::OAuthAccount`](auth_core::UniqueField::OAuthAccount)).
//! - `user_id` is a foreign key to `auth_users` with `ON DELETE CASCADE`: a link to a user
//!   that does not exist (or is being deleted at that moment) is refused
//!   ([`StoreError::NotFound`]), and deleting a user deletes their links in the same
//!   statement.
//! - [`OAuthAccountStore::create_with_account`] inserts the user and the link in one
//!   transaction.
//! - [`OAuthAccountStore::unlink_account`] with `keep_one` is a transaction that first locks
//!   the user's row (SQLite: the transaction's write lock), then counts the user's links, then
//!   deletes: unlinks of one user run one at a time, so two of them can never both see two
//!   links and remove both.

use async_trait::async_trait;
use auth_core::{OAuthAccount, OAuthAccountStore, Profile, StoreError, Unlinked, User, UserId};

use crate::dialect::{Columns, Dialect};
use crate::query::{Sql, Tx};
use crate::row::{bind_oauth_account, read_oauth_account, sealed_bytes};
use crate::users::{SqlUserStore, insert_user};

#[async_trait]
impl<DB: Dialect, P: Profile> OAuthAccountStore<P> for SqlUserStore<DB> {
    async fn create_with_account(
        &self,
        user: &User<P>,
        account: &OAuthAccount,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::<DB>::begin(self.pool()).await?;
        // An error returns early and drops `tx`, which rolls back: both or neither.
        insert_user::<DB, P>(user)?.execute_in(&mut tx).await?;
        bind_oauth_account(Sql::new(DB::SQL.oauth_insert), user.id, account)
            .execute_in(&mut tx)
            .await?;
        tx.commit().await
    }

    async fn link_account(&self, account: &OAuthAccount) -> Result<(), StoreError> {
        // A missing user is the foreign key's violation, mapped to `NotFound`.
        bind_oauth_account(Sql::new(DB::SQL.oauth_insert), account.user_id, account)
            .execute(self.pool())
            .await
            .map(drop)
    }

    async fn find_account(
        &self,
        provider: &str,
        account_id: &str,
    ) -> Result<Option<OAuthAccount>, StoreError> {
        Sql::<DB>::new(DB::SQL.oauth_by_key)
            .bind(provider.to_owned())
            .bind(account_id.to_owned())
            .fetch_optional(self.pool())
            .await?
            .map(|row| read_oauth_account::<DB>(&row))
            .transpose()
    }

    async fn list_accounts(&self, user_id: UserId) -> Result<Vec<OAuthAccount>, StoreError> {
        Sql::<DB>::new(DB::SQL.oauth_list)
            .bind(*user_id.as_uuid())
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(read_oauth_account::<DB>)
            .collect()
    }

    async fn update_account(&self, account: &OAuthAccount) -> Result<(), StoreError> {
        let changed = Sql::<DB>::new(DB::SQL.oauth_update)
            .bind(account.account_email.clone())
            .bind(sealed_bytes(account.access_token.as_ref()))
            .bind(sealed_bytes(account.refresh_token.as_ref()))
            .bind_opt_time(account.expires_at)
            .bind_time(account.updated_at)
            .bind(*account.user_id.as_uuid())
            .bind(account.provider.clone())
            .bind(account.account_id.clone())
            .execute(self.pool())
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn unlink_account(
        &self,
        user_id: UserId,
        provider: &str,
        account_id: &str,
        keep_one: bool,
    ) -> Result<Unlinked, StoreError> {
        let delete = Sql::<DB>::new(DB::SQL.oauth_delete)
            .bind(*user_id.as_uuid())
            .bind(provider.to_owned())
            .bind(account_id.to_owned());
        if !keep_one {
            let deleted = delete.execute(self.pool()).await?;
            return Ok(if deleted > 0 {
                Unlinked::Removed
            } else {
                Unlinked::NotFound
            });
        }
        let mut tx = Tx::<DB>::begin(self.pool()).await?;
        // No row when the user does not exist: then they hold no links either, as the count
        // says.
        Sql::<DB>::new(DB::SQL.user_lock)
            .bind(*user_id.as_uuid())
            .fetch_optional_in(&mut tx)
            .await?;
        let counts = Sql::<DB>::new(DB::SQL.oauth_count)
            .bind(provider.to_owned())
            .bind(account_id.to_owned())
            .bind(*user_id.as_uuid())
            .fetch_optional_in(&mut tx)
            .await?;
        let (total, this_one) = match counts {
            Some(row) => (
                row.int("total").map_err(StoreError::backend)?,
                row.int("this_one").map_err(StoreError::backend)?,
            ),
            None => (0, 0),
        };
        if this_one == 0 {
            tx.rollback().await?;
            return Ok(Unlinked::NotFound);
        }
        if total <= 1 {
            tx.rollback().await?;
            return Ok(Unlinked::LastLoginMethod);
        }
        let deleted = delete.execute_in(&mut tx).await?;
        tx.commit().await?;
        Ok(if deleted > 0 {
            Unlinked::Removed
        } else {
            Unlinked::NotFound
        })
    }
}
