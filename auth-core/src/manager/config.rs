//! [`ManagerConfig`]: lifetimes, limits and policies of the [`UserManager`](crate::UserManager).

use time::Duration;

use crate::env::{Env, EnvError};
use crate::hasher::{HashAdmission, PasswordPolicy};
use crate::limiter::RateLimit;
use crate::mail_queue::MailQueueConfig;
use crate::user::Roles;

/// The throttles (`docs/HTTP_CONTRACT.md` §10). `None` turns one off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// Failed logins per account (default `10/15m`). While over it, even the right password
    /// is answered `429`; a successful login or a password reset clears it.
    pub login_account: Option<RateLimit>,
    /// Failed logins per client IP (default `100/15m`).
    pub login_ip: Option<RateLimit>,
    /// Registrations per client IP (default `20/1h`).
    pub register_ip: Option<RateLimit>,
    /// Verify and reset mails per account (default `3/1h`); over it the request still
    /// answers as usual but no mail goes out.
    pub mail_account: Option<RateLimit>,
    /// Verify and reset token submissions per client IP (default `30/1m`).
    pub token_ip: Option<RateLimit>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            login_account: Some(RateLimit::new(10, Duration::minutes(15))),
            login_ip: Some(RateLimit::new(100, Duration::minutes(15))),
            register_ip: Some(RateLimit::new(20, Duration::hours(1))),
            mail_account: Some(RateLimit::new(3, Duration::hours(1))),
            token_ip: Some(RateLimit::new(30, Duration::minutes(1))),
        }
    }
}

impl RateLimits {
    /// Every throttle off (for tests that hammer one account).
    pub fn none() -> Self {
        Self {
            login_account: None,
            login_ip: None,
            register_ip: None,
            mail_account: None,
            token_ip: None,
        }
    }
}

/// Everything about the manager's behaviour that an app may tune. `Default` gives the
/// reference server's settings.
///
/// From the environment with [`ManagerConfig::from_env`] or [`ManagerConfig::from_lookup`]
/// (over the defaults), or [`ManagerConfig::with_lookup`] (over a configuration of the
/// app's own):
///
/// | variable | field | default |
/// |---|---|---|
/// | `ACCESS_TOKEN_EXPIRE_MINUTES` | `access_lifetime` | 15 |
/// | `REFRESH_TOKEN_EXPIRE_DAYS` | `refresh_lifetime`; `session_lifetime` is raised to it if shorter | 14 |
/// | `REQUIRE_VERIFICATION` | `require_verification` | `false` |
/// | `PUBLIC_URL` | `public_base_url` | `http://127.0.0.1:8000` |
/// | `APP_NAME` | `app_name` | `Accounts` |
/// | `VERIFY_TOKEN_EXPIRE_MINUTES` | `verify_token_lifetime` | 1440 (24 hours) |
/// | `RESET_TOKEN_EXPIRE_MINUTES` | `reset_token_lifetime` | 60 |
/// | `RATE_LIMIT_LOGIN_ACCOUNT` | `rate_limits.login_account` | `10/15m` |
/// | `RATE_LIMIT_LOGIN_IP` | `rate_limits.login_ip` | `100/15m` |
/// | `RATE_LIMIT_REGISTER_IP` | `rate_limits.register_ip` | `20/1h` |
/// | `RATE_LIMIT_FORGOT_ACCOUNT` | `rate_limits.mail_account` | `3/1h` |
/// | `RATE_LIMIT_TOKEN_IP` | `rate_limits.token_ip` | `30/1m` |
/// | `MAX_SESSIONS_PER_USER` | `max_sessions_per_user` | 32 |
/// | `AUDIT_RETENTION_DAYS` | `audit_retention` | 90 |
/// | `HASH_SLOTS` | `hash_admission.slots` | the number of CPUs |
/// | `HASH_QUEUE` | `hash_admission.queue` | 64 |
///
/// ```
/// use auth_core::{ManagerConfig, Roles};
/// use time::Duration;
///
/// let config = ManagerConfig {
///     access_lifetime: Duration::minutes(5),
///     default_roles: Roles::from_iter(["reader"]),
///     require_verification: true,
///     ..ManagerConfig::default()
/// };
/// ```
#[derive(Debug, Clone)]
pub struct ManagerConfig {
    /// Lifetime of an access token (default 15 minutes).
    pub access_lifetime: Duration,
    /// Lifetime of a refresh token: a session not refreshed for this long dies (idle timeout,
    /// default 14 days).
    pub refresh_lifetime: Duration,
    /// Absolute lifetime of a session, however often it is refreshed (default 30 days).
    pub session_lifetime: Duration,
    /// Lifetime of a verification token (default 24 hours); the verification mail states it.
    pub verify_token_lifetime: Duration,
    /// Lifetime of a password-reset token (default 1 hour); the reset mail states it.
    pub reset_token_lifetime: Duration,
    /// The app's name as its users know it, given to the mail templates (default
    /// `Accounts`).
    pub app_name: String,
    /// Roles every new user gets (default none; the reference server gives `reader`).
    pub default_roles: Roles,
    /// The built-in password rules.
    pub password_policy: PasswordPolicy,
    /// Refuse login with `UserNotVerified` until the address is verified (default off).
    pub require_verification: bool,
    /// Check on every request that the access token's session is still live, so logout is
    /// immediate (default on). Off means an access token lives until its `exp`.
    pub check_revocation: bool,
    /// Answer a registration with a taken e-mail address as if it worked, and call
    /// [`UserHooks::on_duplicate_registration`](crate::UserHooks::on_duplicate_registration)
    /// instead (default off).
    pub enumeration_safe_registration: bool,
    /// Send the verification mail right after registration (default off).
    pub send_verification_on_register: bool,
    /// Where links in mails point: the public base URL of the front end (never taken from
    /// the `Host` header). Default `http://127.0.0.1:8000`.
    pub public_base_url: String,
    /// Path of the verification page; the token travels in the fragment (`#token=`), so it
    /// never reaches a server log. Default `/verify`.
    pub verify_path: String,
    /// Path of the reset page, with the token in the fragment. Default `/reset-password`.
    pub reset_path: String,
    /// The throttles.
    pub rate_limits: RateLimits,
    /// The most live sessions one user may hold (default 32); a login beyond it revokes the
    /// user's least recently used session. `None`: no limit.
    pub max_sessions_per_user: Option<u32>,
    /// How mail is queued and retried outside the request (see [`MailQueue`](crate::MailQueue)).
    pub mail_queue: MailQueueConfig,
    /// How long the audit log keeps an event (default 90 days); older ones go at the next
    /// [`UserManager::prune_audit_log`](crate::UserManager::prune_audit_log).
    pub audit_retention: Duration,
    /// How many logins, registrations and password resets may be hashing or waiting to hash
    /// at once; beyond it they are refused with [`AuthError::Overloaded`](crate::AuthError::Overloaded)
    /// (see [`HashAdmission`]). `None`: no bound (each waits for the hasher however long).
    pub hash_admission: Option<HashAdmission>,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        Self {
            access_lifetime: Duration::minutes(15),
            refresh_lifetime: Duration::days(14),
            session_lifetime: Duration::days(30),
            verify_token_lifetime: Duration::hours(24),
            reset_token_lifetime: Duration::hours(1),
            app_name: "Accounts".to_owned(),
            default_roles: Roles::new(),
            password_policy: PasswordPolicy::default(),
            require_verification: false,
            check_revocation: true,
            enumeration_safe_registration: false,
            send_verification_on_register: false,
            public_base_url: "http://127.0.0.1:8000".to_owned(),
            verify_path: "/verify".to_owned(),
            reset_path: "/reset-password".to_owned(),
            rate_limits: RateLimits::default(),
            max_sessions_per_user: Some(32),
            mail_queue: MailQueueConfig::default(),
            audit_retention: Duration::days(90),
            hash_admission: Some(HashAdmission::default()),
        }
    }
}

impl ManagerConfig {
    /// The defaults, with the variables of the table above read from the process
    /// environment.
    ///
    /// # Errors
    /// An [`EnvError`] naming a variable that does not parse.
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_lookup(&Env::process())
    }

    /// The defaults, with the variables of the table above read from `env`.
    ///
    /// ```
    /// use auth_core::ManagerConfig;
    /// use auth_core::env::Env;
    ///
    /// let env = Env::from_map([("ACCESS_TOKEN_EXPIRE_MINUTES", "5")]);
    /// let config = ManagerConfig::from_lookup(&env)?;
    /// assert_eq!(config.access_lifetime, time::Duration::minutes(5));
    /// # Ok::<(), auth_core::env::EnvError>(())
    /// ```
    ///
    /// # Errors
    /// An [`EnvError`] naming a variable that does not parse.
    pub fn from_lookup(env: &Env) -> Result<Self, EnvError> {
        Self::default().with_lookup(env)
    }

    /// This configuration with the variables of the table above that `env` sets: an unset
    /// variable keeps this configuration's value (a throttle turned off stays off unless its
    /// variable is set).
    ///
    /// # Errors
    /// An [`EnvError`] naming a variable that does not parse.
    pub fn with_lookup(mut self, env: &Env) -> Result<Self, EnvError> {
        let minutes = env.positive_number(
            "ACCESS_TOKEN_EXPIRE_MINUTES",
            whole(self.access_lifetime.whole_minutes()),
        )?;
        self.access_lifetime = Duration::minutes(signed(minutes));
        let days = env.positive_number(
            "REFRESH_TOKEN_EXPIRE_DAYS",
            whole(self.refresh_lifetime.whole_days()),
        )?;
        self.refresh_lifetime = Duration::days(signed(days));
        self.session_lifetime = self.session_lifetime.max(self.refresh_lifetime);
        let minutes = env.positive_number(
            "VERIFY_TOKEN_EXPIRE_MINUTES",
            whole(self.verify_token_lifetime.whole_minutes()),
        )?;
        self.verify_token_lifetime = Duration::minutes(signed(minutes));
        let minutes = env.positive_number(
            "RESET_TOKEN_EXPIRE_MINUTES",
            whole(self.reset_token_lifetime.whole_minutes()),
        )?;
        self.reset_token_lifetime = Duration::minutes(signed(minutes));
        if let Some(name) = env.string("APP_NAME") {
            self.app_name = name;
        }
        self.require_verification = env.flag("REQUIRE_VERIFICATION", self.require_verification)?;
        if let Some(url) = env.string("PUBLIC_URL") {
            self.public_base_url = url;
        }
        let defaults = RateLimits::default();
        let limits = &mut self.rate_limits;
        for (name, limit, default) in [
            (
                "RATE_LIMIT_LOGIN_ACCOUNT",
                &mut limits.login_account,
                defaults.login_account,
            ),
            (
                "RATE_LIMIT_LOGIN_IP",
                &mut limits.login_ip,
                defaults.login_ip,
            ),
            (
                "RATE_LIMIT_REGISTER_IP",
                &mut limits.register_ip,
                defaults.register_ip,
            ),
            (
                "RATE_LIMIT_FORGOT_ACCOUNT",
                &mut limits.mail_account,
                defaults.mail_account,
            ),
            (
                "RATE_LIMIT_TOKEN_IP",
                &mut limits.token_ip,
                defaults.token_ip,
            ),
        ] {
            if env.string(name).is_some() {
                let fallback = default
                    .or(*limit)
                    .unwrap_or(RateLimit::new(1, Duration::minutes(1)));
                *limit = Some(env.rate_limit(name, fallback)?);
            }
        }
        if env.string("MAX_SESSIONS_PER_USER").is_some() {
            let max = env.positive_number(
                "MAX_SESSIONS_PER_USER",
                u64::from(self.max_sessions_per_user.unwrap_or(32)),
            )?;
            self.max_sessions_per_user = Some(u32::try_from(max).unwrap_or(u32::MAX));
        }
        let days = env.positive_number(
            "AUDIT_RETENTION_DAYS",
            whole(self.audit_retention.whole_days()),
        )?;
        self.audit_retention = Duration::days(signed(days));
        if env.string("HASH_SLOTS").is_some() || env.string("HASH_QUEUE").is_some() {
            let mut admission = self.hash_admission.unwrap_or_default();
            let slots = u64::try_from(admission.slots).unwrap_or(u64::MAX).max(1);
            admission.slots =
                usize::try_from(env.positive_number("HASH_SLOTS", slots)?).unwrap_or(usize::MAX);
            if let Some(queue) = env.parse::<usize>("HASH_QUEUE", "Use a whole number like 64.")? {
                admission.queue = queue;
            }
            self.hash_admission = Some(admission);
        }
        Ok(self)
    }
}

/// A count that the defaults keep positive, as the environment getters take it.
fn whole(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(1).max(1)
}

/// A count from the environment, capped where `time` would overflow.
fn signed(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX).min(1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_variables_keep_the_defaults() {
        let config =
            ManagerConfig::from_lookup(&Env::from_map(Vec::<(String, String)>::new())).unwrap();
        let defaults = ManagerConfig::default();
        assert_eq!(config.access_lifetime, defaults.access_lifetime);
        assert_eq!(config.refresh_lifetime, defaults.refresh_lifetime);
        assert_eq!(config.session_lifetime, Duration::days(30));
        assert_eq!(config.rate_limits, defaults.rate_limits);
        assert_eq!(config.max_sessions_per_user, Some(32));
        assert_eq!(config.audit_retention, Duration::days(90));
        assert_eq!(config.public_base_url, "http://127.0.0.1:8000");
        assert!(!config.require_verification);
        assert_eq!(config.verify_token_lifetime, Duration::hours(24));
        assert_eq!(config.reset_token_lifetime, Duration::hours(1));
        assert_eq!(config.app_name, "Accounts");
        assert_eq!(config.hash_admission, Some(HashAdmission::default()));
    }

    #[test]
    fn variables_are_read_and_bad_ones_named() {
        let env = Env::from_map([
            ("ACCESS_TOKEN_EXPIRE_MINUTES", "5"),
            ("REFRESH_TOKEN_EXPIRE_DAYS", "60"),
            ("REQUIRE_VERIFICATION", "on"),
            ("PUBLIC_URL", "https://accounts.example"),
            ("RATE_LIMIT_TOKEN_IP", "7/1h"),
            ("MAX_SESSIONS_PER_USER", "3"),
            ("AUDIT_RETENTION_DAYS", "7"),
            ("VERIFY_TOKEN_EXPIRE_MINUTES", "120"),
            ("RESET_TOKEN_EXPIRE_MINUTES", "30"),
            ("APP_NAME", "Example Shop"),
        ]);
        let config = ManagerConfig::from_lookup(&env).unwrap();
        assert_eq!(config.access_lifetime, Duration::minutes(5));
        assert_eq!(config.refresh_lifetime, Duration::days(60));
        assert_eq!(config.session_lifetime, Duration::days(60));
        assert!(config.require_verification);
        assert_eq!(config.public_base_url, "https://accounts.example");
        assert_eq!(
            config.rate_limits.token_ip,
            Some(RateLimit::new(7, Duration::hours(1)))
        );
        assert_eq!(config.max_sessions_per_user, Some(3));
        assert_eq!(config.audit_retention, Duration::days(7));
        assert_eq!(config.verify_token_lifetime, Duration::hours(2));
        assert_eq!(config.reset_token_lifetime, Duration::minutes(30));
        assert_eq!(config.app_name, "Example Shop");
        let env = Env::from_map([("HASH_SLOTS", "3"), ("HASH_QUEUE", "0")]);
        let admission = ManagerConfig::from_lookup(&env)
            .unwrap()
            .hash_admission
            .unwrap();
        assert_eq!((admission.slots, admission.queue), (3, 0));
        for (name, value) in [
            ("ACCESS_TOKEN_EXPIRE_MINUTES", "0"),
            ("REFRESH_TOKEN_EXPIRE_DAYS", "x"),
            ("REQUIRE_VERIFICATION", "maybe"),
            ("RATE_LIMIT_LOGIN_IP", "lots"),
            ("MAX_SESSIONS_PER_USER", "-1"),
            ("AUDIT_RETENTION_DAYS", "0"),
            ("VERIFY_TOKEN_EXPIRE_MINUTES", "0"),
            ("RESET_TOKEN_EXPIRE_MINUTES", "1h"),
            ("HASH_SLOTS", "0"),
            ("HASH_QUEUE", "many"),
        ] {
            let err = ManagerConfig::from_lookup(&Env::from_map([(name, value)])).unwrap_err();
            assert!(err.to_string().starts_with(name), "{err}");
        }
    }
}
