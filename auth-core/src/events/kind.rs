//! [`EventKind`] and [`EventMethod`]: the vocabulary of the audit trail.

use std::fmt;

/// What happened. Each kind is one step of the [`UserManager`](crate::UserManager); its
/// [`as_str`](EventKind::as_str) name is what the audit log keeps and the HTTP routes show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// An account was created; the method says how (`password`, `oauth`, `import`, `admin`).
    Registered,
    /// Someone tried to register an address that has an account, and enumeration-safe mode
    /// answered as if it worked (recorded on the existing account).
    RegistrationConcealed,
    /// A login opened a session; the method says with what.
    LoginSucceeded,
    /// A login was refused; the detail gives the reason (`unknown_user`, `wrong_password`,
    /// `inactive`, `not_verified`, `wrong_second_factor`).
    LoginFailed,
    /// The credentials were right but the account changed while they were checked.
    LoginRefusedStale,
    /// The first factor was right; a second one is required.
    SecondFactorRequired,
    /// A throttle refused a request; the detail names the throttle.
    Throttled,
    /// A session was refreshed.
    Refreshed,
    /// A refresh was refused (the session's user is gone or deactivated).
    RefreshFailed,
    /// A refresh token the session had rotated away was presented again: the session was
    /// revoked.
    RefreshTokenReused,
    /// A session was logged out.
    LoggedOut,
    /// Every session of the user was logged out.
    LoggedOutEverywhere,
    /// Sessions were revoked other than by their own logout; the detail says why
    /// (`by_user`, `by_admin`, `evicted`, `security_change`).
    SessionRevoked,
    /// The password was changed (by the user or an administrator).
    PasswordChanged,
    /// The stored hash of the password was upgraded at login.
    PasswordRehashed,
    /// A password-reset mail was queued.
    PasswordResetRequested,
    /// The password was reset with a reset link.
    PasswordReset,
    /// A verification mail was queued.
    VerificationRequested,
    /// A verify or reset mail was not sent: the account's mail budget was spent.
    MailThrottled,
    /// A verify or reset mail was asked for an address without an eligible account (never
    /// in the audit log: it names no user).
    RequestIgnored,
    /// The e-mail address was verified.
    Verified,
    /// The e-mail address changed.
    EmailChanged,
    /// A wrong current password was given to change the password or the address.
    CurrentPasswordWrong,
    /// The second factors changed; the detail says how, in words fit for the user.
    MfaChanged,
    /// A passkey was added; the detail is its id.
    PasskeyAdded,
    /// A passkey was removed; the detail is its id.
    PasskeyRemoved,
    /// A provider account was linked; the detail is the provider.
    OAuthLinked,
    /// A provider account was unlinked; the detail is the provider.
    OAuthUnlinked,
    /// The account was changed; the detail names the fields (never their values).
    UserUpdated,
    /// The account was deactivated.
    Deactivated,
    /// The account was deleted.
    Deleted,
}

impl EventKind {
    /// The kind's name, as stored: `snake_case`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::RegistrationConcealed => "registration_concealed",
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::LoginRefusedStale => "login_refused_stale",
            Self::SecondFactorRequired => "second_factor_required",
            Self::Throttled => "throttled",
            Self::Refreshed => "refreshed",
            Self::RefreshFailed => "refresh_failed",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::LoggedOut => "logged_out",
            Self::LoggedOutEverywhere => "logged_out_everywhere",
            Self::SessionRevoked => "session_revoked",
            Self::PasswordChanged => "password_changed",
            Self::PasswordRehashed => "password_rehashed",
            Self::PasswordResetRequested => "password_reset_requested",
            Self::PasswordReset => "password_reset",
            Self::VerificationRequested => "verification_requested",
            Self::MailThrottled => "mail_throttled",
            Self::RequestIgnored => "request_ignored",
            Self::Verified => "verified",
            Self::EmailChanged => "email_changed",
            Self::CurrentPasswordWrong => "current_password_wrong",
            Self::MfaChanged => "mfa_changed",
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyRemoved => "passkey_removed",
            Self::OAuthLinked => "oauth_linked",
            Self::OAuthUnlinked => "oauth_unlinked",
            Self::UserUpdated => "user_updated",
            Self::Deactivated => "deactivated",
            Self::Deleted => "deleted",
        }
    }

    /// Whether events of this kind go to the audit log (when they name a user). The upgrade
    /// of a password hash is housekeeping, not the user's activity: it is only logged.
    pub const fn is_audited(self) -> bool {
        !matches!(self, Self::PasswordRehashed | Self::RequestIgnored)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a step was done: the way of logging in or of creating the account, or what a
/// throttle guarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventMethod {
    /// A password.
    Password,
    /// An OAuth 2.0 / OpenID Connect provider.
    OAuth,
    /// A passkey.
    Passkey,
    /// The second step of a login (a TOTP or recovery code).
    SecondFactor,
    /// An import from another system.
    Import,
    /// An administrator (or the command line).
    Admin,
    /// The current password given to change the password or the address.
    CurrentPassword,
}

impl EventMethod {
    /// The method's name, as stored: `snake_case`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::OAuth => "oauth",
            Self::Passkey => "passkey",
            Self::SecondFactor => "second_factor",
            Self::Import => "import",
            Self::Admin => "admin",
            Self::CurrentPassword => "current_password",
        }
    }

    /// Whether this is a way of logging in (what `auth_logins_total` counts).
    pub const fn is_login(self) -> bool {
        matches!(
            self,
            Self::Password | Self::OAuth | Self::Passkey | Self::SecondFactor
        )
    }
}

impl fmt::Display for EventMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
