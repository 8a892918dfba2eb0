//! Sign-in through a provider account: the branches of the callback (log in, link by e-mail,
//! create), associating an account with a signed-in user, and unlinking.

use time::OffsetDateTime;

use crate::email::Email;
use crate::error::{AuthError, StoreError, UniqueField};
use crate::events::{EventKind, EventMethod};
use crate::hooks::LoginFailure;
use crate::secret::PasswordHash;
use crate::session::ClientInfo;
use crate::store::{OAuthAccount, OAuthAccountStore, SealedToken, Unlinked};
use crate::user::{Profile, User, UserId};

use super::emit::Event;
use super::types::Login;
use super::{UserManager, conflict};

/// Who a provider says signed in, after the protocol checks (state, PKCE, ID token) passed.
#[derive(Debug, Clone)]
pub struct OAuthIdentity {
    /// The provider's configured name.
    pub provider: String,
    /// The provider's stable id of the account (`sub`).
    pub account_id: String,
    /// The address the provider gave, if any.
    pub email: Option<String>,
    /// Whether the provider asserts that the account owns that address.
    pub email_verified: bool,
    /// The provider's access token, sealed.
    pub access_token: Option<SealedToken>,
    /// The provider's refresh token, sealed.
    pub refresh_token: Option<SealedToken>,
    /// When the provider's access token expires.
    pub expires_at: Option<OffsetDateTime>,
}

impl OAuthIdentity {
    fn account(&self, user_id: UserId, now: OffsetDateTime) -> OAuthAccount {
        OAuthAccount {
            user_id,
            provider: self.provider.clone(),
            account_id: self.account_id.clone(),
            account_email: self.email.clone(),
            access_token: self.access_token.clone(),
            refresh_token: self.refresh_token.clone(),
            expires_at: self.expires_at,
            created_at: now,
            updated_at: now,
        }
    }
}

impl<P: Profile> UserManager<P> {
    pub(super) fn oauth_store(&self) -> Result<&dyn OAuthAccountStore<P>, AuthError> {
        self.inner.oauth_accounts.as_deref().ok_or_else(|| {
            AuthError::Config(
                "no OAuth account store: see UserManagerBuilder::with_oauth_accounts".to_owned(),
            )
        })
    }

    /// Signs in with a provider account, as fastapi-users' OAuth callback does:
    ///
    /// 1. an account linked before logs its user in, and its stored tokens are replaced;
    /// 2. otherwise, when the address is taken by a user, the account is linked to that user
    ///    and logs them in only if `associate_by_email` is on, the provider asserts the
    ///    address as verified, the user verified it with us too, and the user has no second
    ///    factor; else [`AuthError::OAuthUserAlreadyExists`];
    /// 3. otherwise a user is created with no usable password, verified as the provider says,
    ///    with the account linked in the same step.
    ///
    /// `on_after_register` (for a new user), `on_after_oauth_link` (for a new link) and
    /// `on_after_login` fire as for password users. Concurrent sign-ins of one new account
    /// create one user, and every one of them logs into it.
    ///
    /// # Errors
    /// [`AuthError::MfaRequired`] (feature `mfa`) when the user has a second factor: the
    /// provider stands for the password, and the login finishes with
    /// [`UserManager::mfa_login`] as after one;
    /// [`AuthError::OAuthNotAvailableEmail`] when the provider gave no usable address;
    /// [`AuthError::OAuthUserAlreadyExists`]; [`AuthError::BadCredentials`] for an inactive
    /// user; [`AuthError::UserNotVerified`] when verification is required and the user is
    /// not verified; or an internal error.
    pub async fn oauth_login(
        &self,
        identity: &OAuthIdentity,
        associate_by_email: bool,
        client: &ClientInfo,
    ) -> Result<Login<P>, AuthError> {
        let store = self.oauth_store()?;
        let now = self.now();
        if let Some(linked) = store
            .find_account(&identity.provider, &identity.account_id)
            .await?
        {
            let mut account = identity.account(linked.user_id, linked.created_at);
            account.updated_at = now;
            // Providers send a refresh token only at the first consent (Google): a sign-in
            // without one keeps the one stored.
            if account.refresh_token.is_none() {
                account.refresh_token = linked.refresh_token;
            }
            match store.update_account(&account).await {
                // Unlinked or deleted in between: nobody to log in.
                Err(StoreError::NotFound) => return Err(AuthError::BadCredentials),
                other => other?,
            }
            return self.oauth_open(linked.user_id, client).await;
        }
        let email = identity
            .email
            .as_deref()
            .and_then(|raw| Email::parse(raw).ok())
            .ok_or(AuthError::OAuthNotAvailableEmail)?;
        if let Some(existing) = self.inner.users.find_by_email(&email).await? {
            // Never into an account whose owner never proved the address (someone may have
            // registered it first, with a password of their own, to wait for the real owner),
            // nor past a second factor, which a provider account must not stand in for.
            if !(associate_by_email && identity.email_verified && existing.is_verified)
                || self.has_second_factors(&existing).await?
            {
                return self
                    .oauth_after_race(identity, client, AuthError::OAuthUserAlreadyExists)
                    .await;
            }
            match self.oauth_link(&existing, identity).await {
                Ok(()) => {}
                Err(AuthError::OAuthAccountAlreadyLinked) => {
                    return self
                        .oauth_after_race(identity, client, AuthError::OAuthUserAlreadyExists)
                        .await;
                }
                Err(err) => return Err(err),
            }
            return self.oauth_open(existing.id, client).await;
        }
        let mut user = self.draft(email, None, P::default());
        user.password_hash = PasswordHash::unusable();
        user.is_verified = identity.email_verified;
        let account = identity.account(user.id, now);
        match store.create_with_account(&user, &account).await {
            Ok(()) => {}
            // The same provider account signing up twice at once: the other won; log in as
            // the user it created. A store may name the address rather than the account when
            // both clash (the user row goes in first), so a clash on the address asks too.
            Err(StoreError::Conflict(UniqueField::OAuthAccount)) => {
                return self
                    .oauth_after_race(identity, client, AuthError::BadCredentials)
                    .await;
            }
            Err(StoreError::Conflict(UniqueField::Email)) => {
                return self
                    .oauth_after_race(identity, client, AuthError::OAuthUserAlreadyExists)
                    .await;
            }
            Err(err) => return Err(conflict(err)),
        }
        self.emit(
            Event::new(EventKind::Registered)
                .user(user.id)
                .client(client)
                .method(EventMethod::OAuth)
                .detail(identity.provider.as_str()),
        )
        .await;
        self.emit(
            Event::new(EventKind::OAuthLinked)
                .user(user.id)
                .client(client)
                .detail(identity.provider.as_str()),
        )
        .await;
        self.inner.hooks.on_after_register(&user).await;
        self.inner.hooks.on_after_oauth_link(&user, &account).await;
        self.oauth_open(user.id, client).await
    }

    /// Answers a sign-in that found the provider account unlinked and then ran into a user or
    /// a link in its way. If the account is linked now, a concurrent sign-in of the same
    /// account (a second tab, a retried callback) created or linked it in between, and its user
    /// is logged in as step 1 would have done; otherwise the answer is `refusal`.
    async fn oauth_after_race(
        &self,
        identity: &OAuthIdentity,
        client: &ClientInfo,
        refusal: AuthError,
    ) -> Result<Login<P>, AuthError> {
        match self
            .oauth_store()?
            .find_account(&identity.provider, &identity.account_id)
            .await?
        {
            Some(linked) => self.oauth_open(linked.user_id, client).await,
            None => Err(refusal),
        }
    }

    /// Whether the user has a confirmed second factor (always `false` without feature `mfa`).
    async fn has_second_factors(&self, user: &User<P>) -> Result<bool, AuthError> {
        #[cfg(feature = "mfa")]
        return Ok(!self.second_factors(user).await?.is_empty());
        #[cfg(not(feature = "mfa"))]
        {
            let _ = user;
            Ok(false)
        }
    }

    /// Counts one provider callback of `client` against the per-IP budget of token
    /// submissions ([`RateLimits::token_ip`](crate::RateLimits::token_ip), shared with verify
    /// and reset tokens): each callback costs a request to the provider, so a client cannot
    /// make the server hammer it.
    ///
    /// # Errors
    /// [`AuthError::RateLimited`], or an internal error.
    pub async fn throttle_oauth_callback(&self, client: &ClientInfo) -> Result<(), AuthError> {
        let Some(ip) = client.ip else {
            return Ok(());
        };
        self.throttle(
            self.config().rate_limits.token_ip,
            &format!("oauth:ip:{}", super::throttle_ip(ip)),
            crate::hooks::Throttle::TokenIp,
            client,
        )
        .await
    }

    /// Opens a session for a user a provider vouched for, read afresh with their mark.
    async fn oauth_open(
        &self,
        user_id: UserId,
        client: &ClientInfo,
    ) -> Result<Login<P>, AuthError> {
        let Some((user, mark)) = self.current_with_mark(user_id).await? else {
            return Err(AuthError::BadCredentials);
        };
        let refusal = if !user.is_active {
            Some((LoginFailure::Inactive, AuthError::BadCredentials))
        } else if self.config().require_verification && !user.is_verified {
            Some((LoginFailure::NotVerified, AuthError::UserNotVerified))
        } else {
            None
        };
        if let Some((reason, error)) = refusal {
            self.emit(
                Event::new(EventKind::LoginFailed)
                    .user(user.id)
                    .client(client)
                    .method(EventMethod::OAuth)
                    .detail(reason.as_str()),
            )
            .await;
            return Err(error);
        }
        let require_verified = self.config().require_verification;
        // A provider vouches for the first factor only: a user with a second factor finishes
        // with it, as after a password, so that a taken-over provider account is not enough.
        #[cfg(feature = "mfa")]
        {
            let methods = self.second_factors(&user).await?;
            if !methods.is_empty() {
                self.emit(
                    Event::new(EventKind::SecondFactorRequired)
                        .user(user.id)
                        .client(client)
                        .method(EventMethod::OAuth),
                )
                .await;
                return Err(AuthError::MfaRequired {
                    mfa_token: self.mfa_token(&user, mark)?,
                    methods,
                });
            }
        }
        let (user, tokens) = self
            .admit(user, mark, client, require_verified, false)
            .await?;
        self.emit(
            Event::new(EventKind::LoginSucceeded)
                .user(user.id)
                .session(tokens.session_id)
                .client(client)
                .method(EventMethod::OAuth),
        )
        .await;
        self.inner
            .hooks
            .on_after_login(&user, tokens.session_id, client)
            .await;
        Ok(Login { user, tokens })
    }

    /// Links a provider account to a signed-in user (fastapi-users' associate router).
    ///
    /// # Errors
    /// [`AuthError::OAuthAccountAlreadyLinked`] when the account is linked to anyone (this
    /// user included); [`AuthError::UserNotFound`]; or an internal error.
    pub async fn oauth_associate(
        &self,
        user_id: UserId,
        identity: &OAuthIdentity,
    ) -> Result<User<P>, AuthError> {
        let user = self
            .inner
            .users
            .get(user_id)
            .await?
            .ok_or(AuthError::UserNotFound)?;
        self.oauth_link(&user, identity).await?;
        Ok(user)
    }

    async fn oauth_link(&self, user: &User<P>, identity: &OAuthIdentity) -> Result<(), AuthError> {
        let account = identity.account(user.id, self.now());
        match self.oauth_store()?.link_account(&account).await {
            Ok(()) => {}
            Err(StoreError::Conflict(UniqueField::OAuthAccount)) => {
                return Err(AuthError::OAuthAccountAlreadyLinked);
            }
            Err(StoreError::NotFound) => return Err(AuthError::UserNotFound),
            Err(err) => return Err(err.into()),
        }
        self.emit(
            Event::new(EventKind::OAuthLinked)
                .user(user.id)
                .detail(identity.provider.as_str()),
        )
        .await;
        // A new way into the account: its owner hears of it.
        let what = format!("a {} account was linked for signing in", identity.provider);
        if !self.queue_mail(self.security_notice_mail(&user.email, &what)) {
            tracing::error!(target: "auth", user_id = %user.id, "notice of the new link not queued");
        }
        self.inner.hooks.on_after_oauth_link(user, &account).await;
        Ok(())
    }

    /// A user's linked provider accounts, oldest first.
    ///
    /// # Errors
    /// An internal error.
    pub async fn oauth_accounts(&self, user_id: UserId) -> Result<Vec<OAuthAccount>, AuthError> {
        Ok(self.oauth_store()?.list_accounts(user_id).await?)
    }

    /// Unlinks one of a user's provider accounts, unless it is their last way to sign in (no
    /// usable password and no other link), decided atomically by the store.
    ///
    /// # Errors
    /// [`AuthError::OAuthLastLoginMethod`]; [`AuthError::OAuthAccountNotFound`] when the user
    /// holds no such link; [`AuthError::UserNotFound`]; or an internal error.
    pub async fn oauth_unlink(
        &self,
        user_id: UserId,
        provider: &str,
        account_id: &str,
    ) -> Result<(), AuthError> {
        let user = self
            .inner
            .users
            .get(user_id)
            .await?
            .ok_or(AuthError::UserNotFound)?;
        let keep_one = !user.password_hash.is_usable();
        match self
            .oauth_store()?
            .unlink_account(user_id, provider, account_id, keep_one)
            .await?
        {
            Unlinked::Removed => {}
            Unlinked::NotFound => return Err(AuthError::OAuthAccountNotFound),
            Unlinked::LastLoginMethod => return Err(AuthError::OAuthLastLoginMethod),
        }
        self.emit(
            Event::new(EventKind::OAuthUnlinked)
                .user(user.id)
                .detail(provider),
        )
        .await;
        self.inner
            .hooks
            .on_after_oauth_unlink(&user, provider, account_id)
            .await;
        Ok(())
    }
}
