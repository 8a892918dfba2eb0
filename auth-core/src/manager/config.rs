//! [`ManagerConfig`]: lifetimes, limits and policies of the [`UserManager`](crate::UserManager).

use time::Duration;

use crate::hasher::PasswordPolicy;
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
    /// Lifetime of a verification token (default 24 hours).
    pub verify_token_lifetime: Duration,
    /// Lifetime of a password-reset token (default 1 hour).
    pub reset_token_lifetime: Duration,
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
}

impl Default for ManagerConfig {
    fn default() -> Self {
        Self {
            access_lifetime: Duration::minutes(15),
            refresh_lifetime: Duration::days(14),
            session_lifetime: Duration::days(30),
            verify_token_lifetime: Duration::hours(24),
            reset_token_lifetime: Duration::hours(1),
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
        }
    }
}
