//! [`UserManager`]: every rule of registration, login, sessions, recovery and administration.

mod account;
mod admin;
mod audit;
mod config;
mod emit;
mod import;
mod mails;
#[cfg(feature = "mfa")]
mod mfa;
mod oauth;
#[cfg(feature = "mfa")]
mod passkey;
mod recovery;
mod register;
mod session;
mod types;

use std::fmt;
use std::sync::Arc;

use time::OffsetDateTime;

pub use config::{ManagerConfig, RateLimits};
pub use import::{ImportError, ImportedUser};
pub use oauth::OAuthIdentity;
pub use types::{AdminUpdate, CreateOptions, Login, NewUser, Registration, TokenPair, UserUpdate};

use crate::authenticator::Authenticator;
use crate::clock::{Clock, SystemClock};
use crate::error::{AuthError, StoreError, UniqueField};
use crate::events::{AuditQueue, EventKind};
use crate::hasher::{Argon2Hasher, HashGate, HashTicket, PasswordHasher};
use crate::hooks::Throttle;
use crate::hooks::{NoHooks, UserHooks};
use crate::limiter::{MemoryRateLimiter, RateDecision, RateLimit, RateLimiter};
use crate::mail::{DefaultMailTemplates, LogMailer, Mail, MailTemplates, Mailer};
use crate::mail_queue::MailQueue;
use crate::session::ClientInfo;
use crate::store::{AuditLog, OAuthAccountStore, SessionStore, UserStore};
use crate::token::{JwtCodec, JwtStrategy, TokenStrategy};
use crate::user::{NoProfile, Profile, User, UserId};

/// Owns every rule: register, authenticate, login, refresh, logout, sessions, verify, reset,
/// update and delete. The HTTP layer only translates.
///
/// Cheap to clone (one `Arc` inside). Built with [`UserManager::builder`].
///
/// ```
/// use std::sync::Arc;
/// use auth_core::{
///     Argon2Hasher, ClientInfo, Email, JwtAlgorithm, JwtCodec, JwtKeys, MemorySessionStore,
///     MemoryUserStore, NewUser, NoProfile, Password, Registration, UserManager,
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
/// .with_hasher(Arc::new(Argon2Hasher::fast_insecure())) // tests only: use the default in production
/// .build();
///
/// let client = ClientInfo::default();
/// let email = Email::parse("alice@example.com")?;
/// manager.register(NewUser::new(email, "a long enough passphrase"), &client).await?;
/// let login = manager
///     .login("alice@example.com", &Password::new("a long enough passphrase"), &client)
///     .await?;
/// let claims = manager.authenticate_token(&login.tokens.access_token).await?;
/// assert_eq!(claims.sub, login.user.id);
/// # Ok(())
/// # }
/// ```
pub struct UserManager<P: Profile = NoProfile> {
    inner: Arc<Inner<P>>,
}

impl<P: Profile> Clone for UserManager<P> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<P: Profile> fmt::Debug for UserManager<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserManager")
            .field("users", &self.inner.users)
            .field("sessions", &self.inner.sessions)
            .field("tokens", &self.inner.tokens)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

struct Inner<P: Profile> {
    users: Arc<dyn UserStore<P>>,
    oauth_accounts: Option<Arc<dyn OAuthAccountStore<P>>>,
    #[cfg(feature = "mfa")]
    mfa: Option<mfa::MfaSetup<P>>,
    sessions: Arc<dyn SessionStore>,
    tokens: Arc<dyn TokenStrategy>,
    authenticator: Authenticator,
    action_codec: JwtCodec,
    hasher: Arc<dyn PasswordHasher>,
    hash_gate: Option<HashGate>,
    limiter: Arc<dyn RateLimiter>,
    mailer: MailQueue,
    templates: Arc<dyn MailTemplates>,
    hooks: Arc<dyn UserHooks<P>>,
    clock: Arc<dyn Clock>,
    config: ManagerConfig,
    user_cache: crate::UserCache<P>,
    audit: Option<AuditQueue>,
}

/// Builds a [`UserManager`]. Everything but the stores and the signing keys has a default:
/// Argon2id at the OWASP baseline, JWT access tokens, the in-memory rate limiter, the log
/// mailer, the default mail templates, no hooks, the system clock, [`ManagerConfig::default`].
#[must_use]
pub struct UserManagerBuilder<P: Profile> {
    users: Arc<dyn UserStore<P>>,
    oauth_accounts: Option<Arc<dyn OAuthAccountStore<P>>>,
    #[cfg(feature = "mfa")]
    mfa: Option<mfa::MfaSetup<P>>,
    sessions: Arc<dyn SessionStore>,
    action_codec: JwtCodec,
    tokens: Option<Arc<dyn TokenStrategy>>,
    hasher: Arc<dyn PasswordHasher>,
    limiter: Arc<dyn RateLimiter>,
    mailer: Arc<dyn Mailer>,
    templates: Arc<dyn MailTemplates>,
    hooks: Arc<dyn UserHooks<P>>,
    clock: Arc<dyn Clock>,
    config: ManagerConfig,
    session_cache: usize,
    user_cache: usize,
    audit_log: Option<Arc<dyn AuditLog>>,
}

impl<P: Profile> fmt::Debug for UserManagerBuilder<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserManagerBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<P: Profile> UserManager<P> {
    /// Starts a manager over these stores. `codec` signs the verify and reset tokens, and the
    /// access tokens unless another [`TokenStrategy`] is set.
    pub fn builder(
        users: Arc<dyn UserStore<P>>,
        sessions: Arc<dyn SessionStore>,
        codec: JwtCodec,
    ) -> UserManagerBuilder<P> {
        UserManagerBuilder {
            users,
            oauth_accounts: None,
            #[cfg(feature = "mfa")]
            mfa: None,
            sessions,
            action_codec: codec,
            tokens: None,
            hasher: Arc::new(Argon2Hasher::default()),
            limiter: Arc::new(MemoryRateLimiter::new()),
            mailer: Arc::new(LogMailer),
            templates: Arc::new(DefaultMailTemplates),
            hooks: Arc::new(NoHooks),
            clock: Arc::new(SystemClock),
            config: ManagerConfig::default(),
            session_cache: crate::DEFAULT_SESSION_CACHE_CAPACITY,
            user_cache: crate::DEFAULT_USER_CACHE_CAPACITY,
            audit_log: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ManagerConfig {
        &self.inner.config
    }

    /// The current time by the manager's clock, cut to whole microseconds: the precision
    /// every store keeps, so a user read back equals the user written.
    pub fn now(&self) -> OffsetDateTime {
        let now = self.inner.clock.now();
        now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap_or(now)
    }

    /// The user store.
    pub fn users(&self) -> &Arc<dyn UserStore<P>> {
        &self.inner.users
    }

    /// The user behind an authenticated request, for reading: from the
    /// [`UserCache`](crate::UserCache) when the store announces its changes, else from the
    /// store. It may lag a change made on another instance by the feed's delay
    /// (milliseconds); never base a write or an access decision on it that the access
    /// token's claims and the session check do not already make (use
    /// [`users`](Self::users)`().get` for those).
    ///
    /// # Errors
    /// Only when the store fails.
    pub async fn request_user(&self, id: UserId) -> Result<Option<User<P>>, StoreError> {
        self.inner.user_cache.get(id).await
    }

    /// Forgets a user changed by this process from the user cache.
    fn user_changed(&self, id: UserId) {
        self.inner.user_cache.forget(id);
    }

    /// The session store.
    pub fn sessions(&self) -> &Arc<dyn SessionStore> {
        &self.inner.sessions
    }

    /// The access-token strategy.
    pub fn tokens(&self) -> &Arc<dyn TokenStrategy> {
        &self.inner.tokens
    }

    /// The codec that signs verify and reset tokens (and, by default, access tokens): its key
    /// set gives the JWKS document.
    pub fn codec(&self) -> &JwtCodec {
        &self.inner.action_codec
    }

    /// The per-request token check, without the profile type (for web layers' state).
    pub fn authenticator(&self) -> &Authenticator {
        &self.inner.authenticator
    }

    /// The rate limiter.
    pub fn limiter(&self) -> &Arc<dyn RateLimiter> {
        &self.inner.limiter
    }

    /// Waits until every mail queued so far has been delivered or given up. Mail is sent
    /// outside the request, so call this at graceful shutdown (under a timeout, since a dead
    /// mail server is retried), and in tests before reading an outbox.
    ///
    /// ```no_run
    /// # async fn stop(manager: auth_core::UserManager) {
    /// // after axum::serve(..).with_graceful_shutdown(..) returned:
    /// let _ = tokio::time::timeout(std::time::Duration::from_secs(10), manager.flush_mail()).await;
    /// # }
    /// ```
    pub async fn flush_mail(&self) {
        self.inner.mailer.flush().await;
    }

    /// Queues a mail; a full queue is logged, never answered.
    fn queue_mail(&self, mail: Mail) -> bool {
        self.inner.mailer.enqueue(mail).is_ok()
    }

    /// A place among the requests that hash (see [`HashAdmission`](crate::HashAdmission)),
    /// taken before anything is looked up or counted; `Overloaded` when none is free.
    fn admit_hashing(&self) -> Result<Option<HashTicket>, AuthError> {
        let Some(gate) = &self.inner.hash_gate else {
            return Ok(None);
        };
        gate.admit().map(Some).map_err(|retry_after| {
            tracing::debug!(target: "auth", event = "hashing_overloaded", "request refused: too much password hashing under way");
            AuthError::Overloaded { retry_after }
        })
    }

    /// Counts one event against a throttle; `RateLimited` when over it.
    async fn throttle(
        &self,
        limit: Option<RateLimit>,
        key: &str,
        throttle: Throttle,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let Some(limit) = limit else { return Ok(()) };
        match self.inner.limiter.hit(key, &limit, self.now()).await? {
            RateDecision::Allowed { .. } => Ok(()),
            RateDecision::Limited { retry_after } => {
                self.emit(
                    emit::Event::new(EventKind::Throttled)
                        .client(client)
                        .detail(throttle.as_str()),
                )
                .await;
                self.inner.hooks.on_throttled(throttle, client).await;
                Err(AuthError::RateLimited { retry_after })
            }
        }
    }
}

/// The client address as the per-IP throttles count it: an IPv4 address as it is (also when
/// it arrives IPv4-mapped in IPv6), an IPv6 address by its /64 prefix, since one subscriber
/// usually holds a whole /64 and could otherwise rotate through addresses for free.
fn throttle_ip(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// A unique violation from the store as the manager answers it.
fn conflict(err: StoreError) -> AuthError {
    match err {
        StoreError::Conflict(UniqueField::Email) => AuthError::UserAlreadyExists,
        StoreError::Conflict(UniqueField::Username) => AuthError::UsernameAlreadyExists,
        other => AuthError::Store(other),
    }
}

impl<P: Profile> UserManagerBuilder<P> {
    /// Enables sign-in with provider accounts: `store` keeps the links and also becomes the
    /// user store (it must be the one given to [`UserManager::builder`], or one over the same
    /// database), so that a user and their first link are created together.
    pub fn with_oauth_accounts(mut self, store: Arc<dyn OAuthAccountStore<P>>) -> Self {
        self.users = store.clone();
        self.oauth_accounts = Some(store);
        self
    }

    /// Enables second factors (feature `mfa`): `store` keeps them and also becomes the user
    /// store (it must be the one given to [`UserManager::builder`], or one over the same
    /// database); `keys` seal the TOTP secrets and digest the recovery codes. A login with
    /// the right password then answers [`AuthError::MfaRequired`] for a user with a factor.
    #[cfg(feature = "mfa")]
    #[cfg_attr(docsrs, doc(cfg(feature = "mfa")))]
    pub fn with_mfa(
        mut self,
        store: Arc<dyn crate::MfaStore<P>>,
        keys: crate::mfa::MfaKeys,
    ) -> Self {
        self.users = store.clone();
        self.mfa = Some(mfa::MfaSetup { store, keys });
        self
    }

    /// Access tokens of another kind (default: [`JwtStrategy`] over the codec, with
    /// [`ManagerConfig::access_lifetime`]).
    pub fn with_token_strategy(mut self, tokens: Arc<dyn TokenStrategy>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Another password hasher (default: [`Argon2Hasher::default`]).
    pub fn with_hasher(mut self, hasher: Arc<dyn PasswordHasher>) -> Self {
        self.hasher = hasher;
        self
    }

    /// Another rate limiter (default: [`MemoryRateLimiter`]; use Redis for several instances).
    pub fn with_rate_limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.limiter = limiter;
        self
    }

    /// Another mailer (default: [`LogMailer`]).
    pub fn with_mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = mailer;
        self
    }

    /// The words of the mails (default: [`DefaultMailTemplates`]); see [`MailTemplates`] for
    /// an example that overrides one mail.
    pub fn with_mail_templates(mut self, templates: Arc<dyn MailTemplates>) -> Self {
        self.templates = templates;
        self
    }

    /// The app's hooks (default: [`NoHooks`]).
    pub fn with_hooks(mut self, hooks: Arc<dyn UserHooks<P>>) -> Self {
        self.hooks = hooks;
        self
    }

    /// Another clock (tests use a [`ManualClock`](crate::ManualClock)).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The configuration (default: [`ManagerConfig::default`]).
    pub fn with_config(mut self, config: ManagerConfig) -> Self {
        self.config = config;
        self
    }

    /// How many live sessions the manager's [`SessionCache`](crate::SessionCache) holds
    /// (default [`DEFAULT_SESSION_CACHE_CAPACITY`](crate::DEFAULT_SESSION_CACHE_CAPACITY));
    /// zero turns it off, so every revocation check asks the store.
    ///
    /// The cache is put in front of the session store only when the store announces its
    /// revocations ([`SessionStore::revocations`]) and revocation checking is on; it is exact
    /// either way (see [`SessionCache`](crate::SessionCache)). Build the manager inside a
    /// tokio runtime so the cache can listen to the store's feed.
    pub fn session_cache(mut self, capacity: usize) -> Self {
        self.session_cache = capacity;
        self
    }

    /// How many users the manager's [`UserCache`](crate::UserCache) holds (default
    /// [`DEFAULT_USER_CACHE_CAPACITY`](crate::DEFAULT_USER_CACHE_CAPACITY)); zero turns it
    /// off. It serves [`UserManager::request_user`] only, and only when the user store
    /// announces its changes ([`UserStore::changes`]).
    pub fn user_cache(mut self, capacity: usize) -> Self {
        self.user_cache = capacity;
        self
    }

    /// Keeps every event that names a user in `log`: each user's trail of logins,
    /// failures, refreshes, revocations and account changes (see [`crate::events`]), read
    /// with [`UserManager::user_events`] and pruned with [`UserManager::prune_audit_log`]
    /// after [`ManagerConfig::audit_retention`].
    ///
    /// Recording never fails a request and never makes it wait: events go into a bounded
    /// in-process queue (4,096 events) that one background task writes to `log` in order.
    /// A write that fails, or an event offered to a full queue, is logged as an error
    /// (`event = "audit_failed"` / `"audit_dropped"`) and lost; events still queued when the
    /// process is killed are lost too (call [`UserManager::flush_audit`] at graceful
    /// shutdown). Waiting for the log would also tell an attacker which addresses have
    /// accounts, since only those get a trail.
    pub fn with_audit_log(mut self, log: Arc<dyn AuditLog>) -> Self {
        self.audit_log = Some(log);
        self
    }

    /// The manager.
    pub fn build(self) -> UserManager<P> {
        let user_cache = crate::UserCache::new(Arc::clone(&self.users), self.user_cache);
        let sessions: Arc<dyn SessionStore> = if self.session_cache > 0
            && self.config.check_revocation
            && !matches!(self.sessions.revocations(), crate::Revocations::Unannounced)
        {
            Arc::new(crate::SessionCache::new(self.sessions, self.session_cache))
        } else {
            self.sessions
        };
        let tokens = self.tokens.unwrap_or_else(|| {
            Arc::new(JwtStrategy::new(
                self.action_codec.clone(),
                self.config.access_lifetime,
            ))
        });
        let authenticator = Authenticator::new(
            Arc::clone(&tokens),
            Arc::clone(&sessions),
            Arc::clone(&self.clock),
            self.config.check_revocation,
        );
        UserManager {
            inner: Arc::new(Inner {
                users: self.users,
                oauth_accounts: self.oauth_accounts,
                #[cfg(feature = "mfa")]
                mfa: self.mfa,
                sessions,
                tokens,
                authenticator,
                action_codec: self.action_codec,
                hasher: self.hasher,
                hash_gate: self.config.hash_admission.as_ref().map(HashGate::new),
                limiter: self.limiter,
                mailer: MailQueue::new(self.mailer, self.config.mail_queue.clone()),
                templates: self.templates,
                hooks: self.hooks,
                clock: self.clock,
                config: self.config,
                user_cache,
                audit: self.audit_log.map(AuditQueue::new),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::throttle_ip;

    #[test]
    fn ipv6_addresses_are_throttled_by_their_64_prefix() {
        let ip = |s: &str| s.parse().unwrap();
        assert_eq!(throttle_ip(ip("203.0.113.7")), "203.0.113.7");
        assert_eq!(throttle_ip(ip("::ffff:203.0.113.7")), "203.0.113.7");
        assert_eq!(
            throttle_ip(ip("2001:db8:1:2:aaaa::1")),
            throttle_ip(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        );
        assert_ne!(
            throttle_ip(ip("2001:db8:1:2::1")),
            throttle_ip(ip("2001:db8:1:3::1"))
        );
    }
}
