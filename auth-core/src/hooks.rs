//! [`UserHooks`]: the app's code around every step of the manager.

use async_trait::async_trait;

use crate::email::Email;
use crate::error::AuthError;
use crate::hasher::PasswordRejection;
use crate::secret::Password;
use crate::session::{ClientInfo, SessionId};
use crate::store::OAuthAccount;
use crate::user::{NoProfile, Profile, User, UserId};

/// Why a login failed, as told to [`UserHooks::on_failed_login`]. The client was told only
/// "bad credentials"; the hook may know more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginFailure {
    /// No user with that e-mail address or username.
    UnknownUser,
    /// The password did not match.
    WrongPassword,
    /// The password matched, but the account is deactivated.
    Inactive,
    /// The password matched, but the backend requires a verified address.
    NotVerified,
    /// The account or address is throttled.
    Throttled,
    /// The second step of a login got a wrong or used code.
    WrongSecondFactor,
}

impl LoginFailure {
    /// The reason's name in logs, metrics and the audit trail: `snake_case`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UnknownUser => "unknown_user",
            Self::WrongPassword => "wrong_password",
            Self::Inactive => "inactive",
            Self::NotVerified => "not_verified",
            Self::Throttled => "throttled",
            Self::WrongSecondFactor => "wrong_second_factor",
        }
    }
}

/// The app's code around every step of the [`UserManager`](crate::UserManager).
///
/// Every method has a default that does nothing, so an app overrides only what it needs;
/// [`NoHooks`] overrides nothing. Hooks never see a hashed password, a token or a reset link
/// (ASVS5 14.2.1); the only one that sees a plaintext password is
/// [`UserHooks::validate_password`], whose purpose that is. Hooks run inline: slow work
/// (sending a welcome mail, calling a CRM) belongs in a spawned task.
///
/// # Why `#[async_trait]`
/// The manager holds its hooks as `Arc<dyn UserHooks<P>>`, and a trait with `async fn`s is
/// object-safe only through [`async_trait`](crate::async_trait). This crate re-exports the
/// attribute (`auth_core::async_trait`, also reachable as `auth_axum::auth_core::async_trait`),
/// so an app needs no dependency of its own for it.
///
/// # Implementing it
/// With nothing but this crate:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// use auth_core::{
///     JwtAlgorithm, JwtCodec, JwtKeys, MemorySessionStore, MemoryUserStore, NoProfile,
///     Password, PasswordRejection, User, UserHooks, UserManager, async_trait,
/// };
///
/// #[derive(Debug, Default)]
/// struct MyHooks {
///     registered: AtomicUsize,
/// }
///
/// #[async_trait]
/// impl UserHooks<NoProfile> for MyHooks {
///     async fn validate_password(
///         &self,
///         password: &Password,
///         _user: &User<NoProfile>,
///     ) -> Result<(), PasswordRejection> {
///         if password.expose().contains("acme") {
///             return Err(PasswordRejection::Custom(
///                 "Password should not contain the company name".into(),
///             ));
///         }
///         Ok(())
///     }
///
///     async fn on_after_register(&self, user: &User<NoProfile>) {
///         self.registered.fetch_add(1, Ordering::Relaxed);
///         println!("welcome aboard, {}", user.email);
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let keys = JwtKeys::hmac(JwtAlgorithm::HS256, b"replace me with 32+ random bytes!!")?;
/// let manager = UserManager::<NoProfile>::builder(
///     Arc::new(MemoryUserStore::new()),
///     Arc::new(MemorySessionStore::new()),
///     JwtCodec::new(keys, "my-app"),
/// )
/// .with_hooks(Arc::new(MyHooks::default()))
/// .build();
/// # drop(manager);
/// # Ok(())
/// # }
/// ```
///
/// A typed [`Profile`] (for `UserHooks<MyProfile>`) derives `serde`'s `Serialize` and
/// `Deserialize`: that derive is the one thing the app adds to its own `Cargo.toml`
/// (`serde = { version = "1", features = ["derive"] }`); this crate does not re-export it.
#[async_trait]
#[allow(unused_variables)]
pub trait UserHooks<P: Profile = NoProfile>: std::fmt::Debug + Send + Sync + 'static {
    /// Extra password rules, run after the built-in [`PasswordPolicy`](crate::PasswordPolicy)
    /// whenever a password is set. `user` is the account as it will be (at registration, not
    /// yet stored).
    ///
    /// # Errors
    /// A [`PasswordRejection`] (usually `Custom`) whose reason the user sees.
    async fn validate_password(
        &self,
        password: &Password,
        user: &User<P>,
    ) -> Result<(), PasswordRejection> {
        Ok(())
    }

    /// A user registered.
    async fn on_after_register(&self, user: &User<P>) {}

    /// A user was imported from another system with their password hash
    /// ([`UserManager::import`](crate::UserManager::import)). Registration's hook does not
    /// fire for them (no welcome mail to every migrated account); provision here whatever
    /// `on_after_register` provisions.
    async fn on_after_import(&self, user: &User<P>) {}

    /// Someone tried to register an address that exists, in enumeration-safe mode (the client
    /// was answered as if it worked). A good place to mail the owner "you already have an
    /// account".
    async fn on_duplicate_registration(&self, existing: &User<P>) {}

    /// A user logged in and got session `session`.
    async fn on_after_login(&self, user: &User<P>, session: SessionId, client: &ClientInfo) {}

    /// A login failed. `identifier` is the e-mail address or username as typed.
    async fn on_failed_login(&self, identifier: &str, reason: LoginFailure, client: &ClientInfo) {}

    /// A session was logged out.
    async fn on_after_logout(&self, user_id: UserId, session: SessionId) {}

    /// A user was changed; `fields` names what changed (`"password"` when the password did,
    /// never its value).
    async fn on_after_update(&self, user: &User<P>, fields: &[&'static str]) {}

    /// A verification mail was queued. Runs inside the request, and only for a real address:
    /// keep it quick (hand slow work to a spawned task), or its duration tells an attacker
    /// which addresses have accounts.
    async fn on_after_request_verify(&self, user: &User<P>) {}

    /// A user verified their address.
    async fn on_after_verify(&self, user: &User<P>) {}

    /// A reset mail was queued. Runs inside the request, and only for a real address: keep it
    /// quick (hand slow work to a spawned task), or its duration tells an attacker which
    /// addresses have accounts.
    async fn on_after_forgot_password(&self, user: &User<P>) {}

    /// A user reset their password (every session of theirs is revoked by then).
    async fn on_after_reset_password(&self, user: &User<P>) {}

    /// A user is about to be deleted.
    ///
    /// # Errors
    /// Any [`AuthError`] vetoes the deletion and is answered to the caller (usually
    /// [`AuthError::Forbidden`]).
    async fn on_before_delete(&self, user: &User<P>) -> Result<(), AuthError> {
        Ok(())
    }

    /// A user was deleted (their sessions are revoked by then).
    async fn on_after_delete(&self, user: &User<P>) {}

    /// A refresh token that its session had already rotated away was presented again: it was
    /// stolen or copied. The whole session is revoked by then. A security event worth
    /// alerting on.
    async fn on_refresh_token_reused(
        &self,
        user_id: UserId,
        session: SessionId,
        client: &ClientInfo,
    ) {
    }

    /// A session was revoked other than by its own logout: by the user from their session
    /// list, by an administrator, or evicted because the user opened more than
    /// [`ManagerConfig::max_sessions_per_user`](crate::ManagerConfig::max_sessions_per_user).
    async fn on_session_revoked(&self, user_id: UserId, session: SessionId, reason: Revocation) {}

    /// A user's e-mail address changed from `old_email` to `user.email`. The manager has
    /// already mailed a notice to the old address and revoked the other sessions.
    async fn on_email_changed(&self, user: &User<P>, old_email: &Email) {}

    /// A provider account was linked to `user` (at sign-up through the provider, by e-mail,
    /// or by the associate flow).
    async fn on_after_oauth_link(&self, user: &User<P>, account: &OAuthAccount) {}

    /// A second factor of `user` was added or removed, or their recovery codes replaced;
    /// `what` says which, in words fit for the user. The manager has already ended the other
    /// sessions and mailed a notice.
    async fn on_mfa_changed(&self, user: &User<P>, what: &str) {}

    /// A provider account was unlinked from `user`.
    async fn on_after_oauth_unlink(&self, user: &User<P>, provider: &str, account_id: &str) {}

    /// A request was refused by a throttle (`429`).
    async fn on_throttled(&self, throttle: Throttle, client: &ClientInfo) {}
}

/// Why [`UserHooks::on_session_revoked`] fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Revocation {
    /// The user revoked it from their session list.
    ByUser,
    /// An administrator revoked it, alone or with every other session of the user
    /// ([`UserManager::admin_revoke_session`](crate::UserManager::admin_revoke_session),
    /// [`UserManager::admin_revoke_sessions`](crate::UserManager::admin_revoke_sessions)).
    ByAdmin,
    /// The user opened one session too many; this one was the least recently used.
    Evicted,
}

impl Revocation {
    /// The reason's name in logs, metrics and the audit trail: `snake_case`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ByUser => "by_user",
            Self::Evicted => "evicted",
            Self::ByAdmin => "by_admin",
        }
    }
}

/// Which throttle refused a request ([`UserHooks::on_throttled`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Throttle {
    /// Failed logins (or wrong current passwords) of one account.
    LoginAccount,
    /// Failed logins from one client address.
    LoginIp,
    /// Registrations from one client address.
    RegisterIp,
    /// Verify and reset token submissions from one client address.
    TokenIp,
}

impl Throttle {
    /// The throttle's name in logs, metrics and the audit trail: `snake_case`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LoginAccount => "login_account",
            Self::LoginIp => "login_ip",
            Self::RegisterIp => "register_ip",
            Self::TokenIp => "token_ip",
        }
    }
}

/// Hooks that do nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl<P: Profile> UserHooks<P> for NoHooks {}
