//! [`OAuthAccountStore`]: the provider accounts (Google, GitHub, any OpenID Connect provider)
//! linked to users, kept beside the users themselves.

use std::fmt;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{Profile, StoreError, User, UserId, UserStore};

/// A provider account linked to a user: who signed in where, and the provider's tokens for
/// that account, sealed.
///
/// One (`provider`, `account_id`) pair belongs to at most one user at a time, across all
/// users; a user may hold any number of accounts, several at one provider included.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthAccount {
    /// The user the account is linked to.
    pub user_id: UserId,
    /// The provider's configured name (`google`, `github`, `corp`): fastapi-users'
    /// `oauth_name`.
    pub provider: String,
    /// The provider's stable id of the account (OpenID Connect's `sub`, GitHub's numeric id),
    /// compared exactly.
    pub account_id: String,
    /// The address the provider gave for the account, as it gave it, if any.
    pub account_email: Option<String>,
    /// The provider's access token, sealed; never stored in the clear.
    pub access_token: Option<SealedToken>,
    /// The provider's refresh token, sealed.
    pub refresh_token: Option<SealedToken>,
    /// When the provider's access token expires, if it said.
    pub expires_at: Option<OffsetDateTime>,
    /// When the account was linked.
    pub created_at: OffsetDateTime,
    /// When the tokens were last replaced.
    pub updated_at: OffsetDateTime,
}

impl fmt::Debug for OAuthAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthAccount")
            .field("user_id", &self.user_id)
            .field("provider", &self.provider)
            .field("account_id", &self.account_id)
            .field("account_email", &self.account_email)
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("expires_at", &self.expires_at)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// A provider token as the stores keep it: ciphertext, opaque to them. Its `Debug` shows only
/// its length.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedToken(Vec<u8>);

impl SealedToken {
    /// Wraps sealed bytes (as read back from a store).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The sealed bytes, to store.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SealedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedToken({} bytes)", self.0.len())
    }
}

/// What [`OAuthAccountStore::unlink_account`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlinked {
    /// The link is gone.
    Removed,
    /// The user holds no such link.
    NotFound,
    /// The link was the user's last way to sign in (the caller asked to keep one) and stays.
    LastLoginMethod,
}

/// Provider accounts linked to users, in the user store's own database (one transaction can
/// then create a user with their first link, and deleting a user deletes their links).
///
/// Every method is one atomic step in the store:
/// - (`provider`, `account_id`) is unique across all users, decided by the store (a unique
///   index), never by a read before the write: of concurrent links of one provider account,
///   one wins and the others get [`StoreError::Conflict`] with
///   [`UniqueField::OAuthAccount`](crate::UniqueField::OAuthAccount).
/// - [`UserStore::delete`] of a user deletes their links in the same step.
///
/// `auth_core::conformance`'s `oauth_account_store_conformance!` is the definition of done.
#[async_trait]
pub trait OAuthAccountStore<P: Profile>: UserStore<P> {
    /// Creates `user` and links `account` to them, both or neither: a conflict on the e-mail
    /// address or username, or on the provider account, stores nothing. The link goes to
    /// `user.id`, whatever `account.user_id` says.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] naming the field that clashed; [`StoreError::Unavailable`],
    /// [`StoreError::Backend`].
    async fn create_with_account(
        &self,
        user: &User<P>,
        account: &OAuthAccount,
    ) -> Result<(), StoreError>;

    /// Links `account` to its existing user.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the provider account is linked to anyone (this user
    /// included); [`StoreError::NotFound`] when the user does not exist (or is being deleted
    /// at the same moment: a link never outlives its user).
    async fn link_account(&self, account: &OAuthAccount) -> Result<(), StoreError>;

    /// The link of a provider account, whoever holds it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Backend`].
    async fn find_account(
        &self,
        provider: &str,
        account_id: &str,
    ) -> Result<Option<OAuthAccount>, StoreError>;

    /// A user's links, oldest first (then by provider and account id).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Backend`].
    async fn list_accounts(&self, user_id: UserId) -> Result<Vec<OAuthAccount>, StoreError>;

    /// Replaces the e-mail address, tokens, expiry and `updated_at` of the link of
    /// (`account.provider`, `account.account_id`) held by `account.user_id`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when that user holds no such link.
    async fn update_account(&self, account: &OAuthAccount) -> Result<(), StoreError>;

    /// Removes a user's link. With `keep_one`, only if the user holds another link after it
    /// (the caller passes `true` for a user without a usable password), decided in the same
    /// atomic step, so concurrent unlinks can never remove a user's last two links both.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Backend`].
    async fn unlink_account(
        &self,
        user_id: UserId,
        provider: &str,
        account_id: &str,
        keep_one: bool,
    ) -> Result<Unlinked, StoreError>;
}
