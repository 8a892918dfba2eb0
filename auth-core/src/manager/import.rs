//! Importing users from another system with their password hashes (fastapi-users, Django,
//! passlib): no password is known, so none is hashed; the old hash is upgraded at the next
//! login.

use crate::email::Email;
use crate::error::{AuthError, StoreError, UniqueField};
use crate::events::{EventKind, EventMethod};
use crate::secret::{PasswordHash, UnsupportedHash};
use crate::store::OAuthAccount;
use crate::user::{NoProfile, Profile, Roles, User, UserId};
use crate::username::Username;

use super::UserManager;
use super::emit::Event;

/// A user as another system kept them, to be created by [`UserManager::import`].
///
/// Unlike [`NewUser`](super::NewUser), every privileged field is given: this is for
/// administrators and migration tools, never for request input.
#[derive(Debug, Clone)]
pub struct ImportedUser<P = NoProfile> {
    /// The id to keep (fastapi-users' ids are UUIDs, so links elsewhere keep working).
    pub id: UserId,
    /// The e-mail address, canonicalised by [`Email::parse`] as at registration.
    pub email: Email,
    /// An optional username.
    pub username: Option<Username>,
    /// The existing hash: [`PasswordHash::from_imported`] (Argon2 PHC or bcrypt), or
    /// [`PasswordHash::unusable`] for an account without a password.
    pub password_hash: PasswordHash,
    /// Whether the user may sign in.
    pub is_active: bool,
    /// Whether the user is a superuser.
    pub is_superuser: bool,
    /// Whether the e-mail address is verified.
    pub is_verified: bool,
    /// The roles, as they are (the configured default roles are not added).
    pub roles: Roles,
    /// The app's profile fields.
    pub profile: P,
}

impl<P: Default> ImportedUser<P> {
    /// An active, unverified, non-superuser user without roles or username, with a default
    /// profile: set the other fields before importing.
    pub fn new(id: UserId, email: Email, password_hash: PasswordHash) -> Self {
        Self {
            id,
            email,
            username: None,
            password_hash,
            is_active: true,
            is_superuser: false,
            is_verified: false,
            roles: Roles::new(),
            profile: P::default(),
        }
    }
}

/// Why an import was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The password hash is of a kind or shape the hasher cannot verify.
    #[error(transparent)]
    UnsupportedHash(#[from] UnsupportedHash),
    /// A user with this id exists already (for a re-run, usually this very user).
    #[error("a user with this id already exists")]
    IdTaken,
    /// Another user holds this e-mail address.
    #[error("a user with this e-mail address already exists")]
    EmailTaken,
    /// Another user holds this username.
    #[error("a user with this username already exists")]
    UsernameTaken,
    /// The provider account is linked already (to this user or another).
    #[error("this provider account is already linked")]
    OAuthAccountTaken,
    /// The user of a provider account does not exist.
    #[error("user not found")]
    UserNotFound,
    /// The manager has no store of provider accounts, or another internal failure.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl ImportError {
    /// Whether the record exists already (a re-run of the same import): the id, e-mail
    /// address, username or provider account is taken.
    pub fn is_duplicate(&self) -> bool {
        matches!(
            self,
            Self::IdTaken | Self::EmailTaken | Self::UsernameTaken | Self::OAuthAccountTaken
        )
    }
}

impl From<StoreError> for ImportError {
    fn from(err: StoreError) -> Self {
        Self::Auth(AuthError::Store(err))
    }
}

impl<P: Profile> UserManager<P> {
    /// Creates a user from another system with their existing password hash, id and flags,
    /// so that they sign in with the password they had: the first successful
    /// [`login`](Self::login) verifies the old hash (Argon2 with any parameters, or bcrypt)
    /// and replaces it with one of the configured Argon2id parameters.
    ///
    /// - The hash is checked again here ([`PasswordHash::from_imported`]), so a hash wrapped
    ///   with [`PasswordHash::new`] cannot slip through; it is never logged.
    /// - No password rule applies (the password is unknown), no mail is sent, nothing is
    ///   throttled.
    /// - Fires [`UserHooks::on_after_import`](crate::UserHooks::on_after_import), not
    ///   `on_after_register`: an app that welcomes new users by mail must not greet every
    ///   migrated account. An app that provisions data in `on_after_register` does the same
    ///   in `on_after_import`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use auth_core::{
    ///     Argon2Hasher, ClientInfo, Email, ImportedUser, JwtAlgorithm, JwtCodec, JwtKeys,
    ///     MemorySessionStore, MemoryUserStore, NoProfile, Password, PasswordHash, UserId,
    ///     UserManager,
    /// };
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let keys = JwtKeys::hmac(JwtAlgorithm::HS256, b"an example secret of at least 32 bytes!")?;
    /// let manager = UserManager::<NoProfile>::builder(
    ///     Arc::new(MemoryUserStore::new()),
    ///     Arc::new(MemorySessionStore::new()),
    ///     JwtCodec::new(keys, "my-app"),
    /// )
    /// .with_hasher(Arc::new(Argon2Hasher::fast_insecure())) // tests only
    /// .build();
    ///
    /// // As another system stored it (Argon2id, m=8 KiB here to keep the example fast).
    /// let stored = "$argon2id$v=19$m=8,t=1,p=1$/btnVE0cJjULejZLzIOjfg$O0BqwEPG0OeNpsPV3zEZQXOmJfrtFpjuLySzO15UnXA";
    /// let mut user = ImportedUser::new(
    ///     UserId::new(),
    ///     Email::parse("alice@example.com")?,
    ///     PasswordHash::from_imported(stored)?,
    /// );
    /// user.is_verified = true;
    /// manager.import(user).await?;
    ///
    /// let login = manager
    ///     .login("alice@example.com", &Password::new("a quiet river at dawn"), &ClientInfo::default())
    ///     .await?;
    /// assert!(login.user.is_verified);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`ImportError::UnsupportedHash`]; [`ImportError::IdTaken`],
    /// [`ImportError::EmailTaken`] or [`ImportError::UsernameTaken`] when the user or their
    /// address exists already; [`ImportError::Auth`] for an internal error.
    pub async fn import(&self, imported: ImportedUser<P>) -> Result<User<P>, ImportError> {
        if imported.password_hash.is_usable() {
            PasswordHash::from_imported(imported.password_hash.as_str())?;
        }
        // The id is checked first for a clear answer; the store's unique indexes still
        // decide the e-mail address and username atomically.
        if self.inner.users.get(imported.id).await?.is_some() {
            return Err(ImportError::IdTaken);
        }
        let now = self.now();
        let user = User {
            id: imported.id,
            email: imported.email,
            username: imported.username,
            password_hash: imported.password_hash,
            is_active: imported.is_active,
            is_superuser: imported.is_superuser,
            is_verified: imported.is_verified,
            roles: imported.roles,
            created_at: now,
            updated_at: now,
            profile: imported.profile,
            version: 0,
        };
        match self.inner.users.create(&user).await {
            Ok(()) => {}
            Err(StoreError::Conflict(UniqueField::Email)) => return Err(ImportError::EmailTaken),
            Err(StoreError::Conflict(UniqueField::Username)) => {
                return Err(ImportError::UsernameTaken);
            }
            Err(err) => {
                // A store reports a clash of primary keys as it likes: an import racing
                // another import of the same id lands here.
                if self.inner.users.get(user.id).await?.is_some() {
                    return Err(ImportError::IdTaken);
                }
                return Err(err.into());
            }
        }
        self.user_changed(user.id);
        self.emit(
            Event::new(EventKind::Registered)
                .user(user.id)
                .method(EventMethod::Import)
                .superuser(user.is_superuser),
        )
        .await;
        self.inner.hooks.on_after_import(&user).await;
        Ok(user)
    }

    /// Links a provider account from another system to an imported user (fastapi-users'
    /// `oauth_account` rows), through the store of
    /// [`with_oauth_accounts`](super::UserManagerBuilder::with_oauth_accounts). Its tokens
    /// must be sealed already, as `auth_core::oauth::OAuthKeys::seal` (feature `oauth`) seals
    /// them for the sign-in flow, or left out. No mail is sent;
    /// [`UserHooks::on_after_oauth_link`](crate::UserHooks::on_after_oauth_link) fires.
    ///
    /// # Errors
    /// [`ImportError::OAuthAccountTaken`] when the account is linked to anyone (this user
    /// included); [`ImportError::UserNotFound`]; [`ImportError::Auth`] with
    /// [`AuthError::Config`] when the manager keeps no provider accounts, or for an internal
    /// error.
    pub async fn import_oauth_account(&self, account: &OAuthAccount) -> Result<(), ImportError> {
        let store = self.oauth_store()?;
        let user = self
            .inner
            .users
            .get(account.user_id)
            .await?
            .ok_or(ImportError::UserNotFound)?;
        match store.link_account(account).await {
            Ok(()) => {}
            Err(StoreError::Conflict(UniqueField::OAuthAccount)) => {
                return Err(ImportError::OAuthAccountTaken);
            }
            Err(StoreError::NotFound) => return Err(ImportError::UserNotFound),
            Err(err) => return Err(err.into()),
        }
        self.emit(
            Event::new(EventKind::OAuthLinked)
                .user(user.id)
                .method(EventMethod::Import)
                .detail(account.provider.as_str()),
        )
        .await;
        self.inner.hooks.on_after_oauth_link(&user, account).await;
        Ok(())
    }

    /// Whether this manager keeps linked provider accounts
    /// ([`with_oauth_accounts`](super::UserManagerBuilder::with_oauth_accounts)).
    pub fn keeps_oauth_accounts(&self) -> bool {
        self.inner.oauth_accounts.is_some()
    }
}
