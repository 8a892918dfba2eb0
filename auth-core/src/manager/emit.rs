//! The manager's one emission point: every step tells the log, the metrics and the audit
//! trail through [`UserManager::emit`].

use std::borrow::Cow;

use crate::events::{AuditEvent, EventKind, EventMethod};
use crate::session::{ClientInfo, SessionId};
use crate::user::{Profile, UserId};

use super::UserManager;

/// One event as a step of the manager emits it.
#[derive(Debug)]
pub(super) struct Event<'a> {
    kind: EventKind,
    user_id: Option<UserId>,
    session_id: Option<SessionId>,
    client: Option<&'a ClientInfo>,
    method: Option<EventMethod>,
    detail: Option<Cow<'a, str>>,
    /// How many sessions a revocation ended (for the log line only).
    count: Option<u64>,
    /// Whether the account created is a superuser (for the log line only).
    superuser: Option<bool>,
}

impl<'a> Event<'a> {
    pub(super) fn new(kind: EventKind) -> Self {
        Self {
            kind,
            user_id: None,
            session_id: None,
            client: None,
            method: None,
            detail: None,
            count: None,
            superuser: None,
        }
    }

    pub(super) fn user(mut self, user_id: UserId) -> Self {
        self.user_id = Some(user_id);
        self
    }

    pub(super) fn session(mut self, session_id: SessionId) -> Self {
        self.session_id = Some(session_id);
        self
    }

    pub(super) fn client(mut self, client: &'a ClientInfo) -> Self {
        self.client = Some(client);
        self
    }

    pub(super) fn method(mut self, method: EventMethod) -> Self {
        self.method = Some(method);
        self
    }

    pub(super) fn detail(mut self, detail: impl Into<Cow<'a, str>>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub(super) fn count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }

    pub(super) fn superuser(mut self, superuser: bool) -> Self {
        self.superuser = Some(superuser);
        self
    }

    fn ip(&self) -> Option<std::net::IpAddr> {
        self.client.and_then(|client| client.ip)
    }

    fn detail_str(&self) -> Option<&str> {
        self.detail.as_deref()
    }
}

/// One `tracing` line at target `auth` with the event's common fields; `$field = $value`
/// pairs name the detail as the line has always named it.
macro_rules! log_line {
    ($level:ident, $name:literal, $event:expr, $message:literal $(, $field:ident = $value:expr)* $(,)?) => {
        tracing::$level!(
            target: "auth",
            event = $name,
            user_id = $event.user_id.map(tracing::field::display),
            session_id = $event.session_id.map(tracing::field::display),
            ip = $event.ip().map(tracing::field::display),
            $($field = $value,)*
            $message
        )
    };
}

/// Writes the event's log line, under the `event` name the step has always logged.
fn trace(event: &Event<'_>) {
    let detail = event.detail_str();
    let method = event.method.map(EventMethod::as_str);
    match (event.kind, event.method) {
        (EventKind::Registered, Some(EventMethod::Admin)) => {
            log_line!(
                info,
                "user_created",
                event,
                "user created",
                superuser = event.superuser
            );
        }
        (EventKind::Registered, Some(EventMethod::Import)) => {
            log_line!(
                info,
                "user_imported",
                event,
                "user imported",
                superuser = event.superuser
            );
        }
        (EventKind::Registered, _) => {
            log_line!(
                info,
                "registered",
                event,
                "user registered",
                method = method,
                provider = detail
            );
        }
        (EventKind::RegistrationConcealed, _) => log_line!(
            info,
            "register_duplicate_concealed",
            event,
            "registration of a taken address concealed"
        ),
        (EventKind::LoginSucceeded, Some(EventMethod::SecondFactor)) => log_line!(
            info,
            "login_succeeded",
            event,
            "login succeeded with a second factor",
            method = method,
            second_factor = true
        ),
        (EventKind::LoginSucceeded, _) => log_line!(
            info,
            "login_succeeded",
            event,
            "login succeeded",
            method = method,
            passkey_id = detail
        ),
        (EventKind::LoginFailed, Some(EventMethod::SecondFactor)) => {
            log_line!(
                warn,
                "mfa_code_wrong",
                event,
                "wrong second-factor code",
                reason = detail
            );
        }
        (EventKind::LoginFailed, Some(EventMethod::Passkey)) if event.user_id.is_none() => {
            log_line!(
                warn,
                "passkey_unknown",
                event,
                "sign-in with an unknown passkey",
                reason = detail
            );
        }
        (EventKind::LoginFailed, Some(EventMethod::Passkey)) => {
            log_line!(
                warn,
                "passkey_failed",
                event,
                "passkey sign-in failed",
                reason = detail
            );
        }
        (EventKind::LoginFailed, _) => {
            log_line!(
                warn,
                "login_failed",
                event,
                "login failed",
                method = method,
                reason = detail
            );
        }
        (EventKind::LoginRefusedStale, _) => log_line!(
            warn,
            "login_refused_stale",
            event,
            "login refused: the account changed while it was checked"
        ),
        (EventKind::SecondFactorRequired, _) => log_line!(
            info,
            "login_needs_second_factor",
            event,
            "first factor right; a second factor is required",
            method = method
        ),
        (EventKind::Throttled, Some(EventMethod::Password | EventMethod::Passkey)) => log_line!(
            warn,
            "login_throttled",
            event,
            "login throttled",
            method = method,
            throttle = detail
        ),
        (EventKind::Throttled, Some(EventMethod::SecondFactor)) => log_line!(
            warn,
            "mfa_code_throttled",
            event,
            "second-factor code throttled",
            throttle = detail
        ),
        (EventKind::Throttled, Some(EventMethod::CurrentPassword)) => log_line!(
            warn,
            "current_password_throttled",
            event,
            "current password check throttled",
            throttle = detail
        ),
        (EventKind::Throttled, _) => {
            log_line!(warn, "throttled", event, "request throttled", key = detail);
        }
        (EventKind::Refreshed, _) => log_line!(info, "refreshed", event, "session refreshed"),
        (EventKind::RefreshFailed, _) => {
            log_line!(
                info,
                "refresh_failed",
                event,
                "refresh refused",
                reason = detail
            );
        }
        (EventKind::RefreshTokenReused, _) => log_line!(
            warn,
            "refresh_token_reused",
            event,
            "a used refresh token was presented again; session revoked"
        ),
        (EventKind::LoggedOut, _) => log_line!(info, "logout", event, "logged out"),
        (EventKind::LoggedOutEverywhere, _) => log_line!(
            info,
            "logout_everywhere",
            event,
            "every session revoked",
            sessions = event.count
        ),
        (EventKind::SessionRevoked, _) => match detail {
            Some("evicted") => log_line!(
                info,
                "session_evicted",
                event,
                "least recently used session revoked: too many sessions"
            ),
            Some("security_change") => log_line!(
                info,
                "sessions_revoked_on_change",
                event,
                "sessions revoked after a security-relevant change",
                sessions = event.count
            ),
            _ => log_line!(
                info,
                "session_revoked",
                event,
                "session revoked",
                reason = detail
            ),
        },
        (EventKind::PasswordChanged, _) => {
            log_line!(
                info,
                "password_changed",
                event,
                "password changed",
                method = method
            );
        }
        (EventKind::PasswordRehashed, _) => {
            log_line!(info, "password_rehashed", event, "password hash upgraded");
        }
        (EventKind::PasswordResetRequested, _) => {
            log_line!(info, "forgot_password", event, "reset mail queued");
        }
        (EventKind::PasswordReset, _) => log_line!(
            info,
            "password_reset",
            event,
            "password reset; every session revoked"
        ),
        (EventKind::VerificationRequested, _) => {
            log_line!(info, "verify_requested", event, "verification mail queued");
        }
        (EventKind::MailThrottled, _) => match detail {
            Some("reset") => log_line!(
                warn,
                "reset_mail_throttled",
                event,
                "reset mail not sent: throttled"
            ),
            _ => log_line!(
                warn,
                "verify_mail_throttled",
                event,
                "verification mail not sent: throttled"
            ),
        },
        (EventKind::RequestIgnored, _) => match detail {
            Some("reset") => log_line!(
                info,
                "forgot_password_unknown",
                event,
                "reset asked for an unknown or inactive address"
            ),
            _ => log_line!(
                info,
                "verify_request_ignored",
                event,
                "verification asked for an unknown, inactive or verified address"
            ),
        },
        (EventKind::Verified, _) => log_line!(info, "verified", event, "e-mail address verified"),
        (EventKind::EmailChanged, _) => log_line!(
            info,
            "email_changed",
            event,
            "e-mail address changed; the old address was told"
        ),
        (EventKind::CurrentPasswordWrong, _) => {
            log_line!(
                warn,
                "current_password_wrong",
                event,
                "wrong current password"
            );
        }
        (EventKind::MfaChanged, _) => log_line!(
            info,
            "mfa_changed",
            event,
            "second factors changed",
            change = detail,
            sessions_revoked = event.count
        ),
        (EventKind::PasskeyAdded, _) => {
            log_line!(
                info,
                "passkey_registered",
                event,
                "passkey registered",
                passkey_id = detail
            );
        }
        (EventKind::PasskeyRemoved, _) => {
            log_line!(
                info,
                "passkey_removed",
                event,
                "passkey removed",
                passkey_id = detail
            );
        }
        (EventKind::OAuthLinked, Some(EventMethod::Import)) => log_line!(
            info,
            "oauth_imported",
            event,
            "provider account imported",
            provider = detail
        ),
        (EventKind::OAuthLinked, _) => {
            log_line!(
                info,
                "oauth_linked",
                event,
                "provider account linked",
                provider = detail
            );
        }
        (EventKind::OAuthUnlinked, _) => log_line!(
            info,
            "oauth_unlinked",
            event,
            "provider account unlinked",
            provider = detail
        ),
        (EventKind::UserUpdated, _) => {
            log_line!(
                info,
                "user_updated",
                event,
                "user updated",
                fields = detail,
                method = method
            );
        }
        (EventKind::Deactivated, _) => {
            log_line!(info, "user_deactivated", event, "user deactivated")
        }
        (EventKind::Deleted, _) => log_line!(info, "user_deleted", event, "user deleted"),
    }
}

impl<P: Profile> UserManager<P> {
    /// The one emission point of the manager's events: the log line, the counters (feature
    /// `metrics`), and the audit trail of the user the event names, when an
    /// [`AuditLog`](crate::AuditLog) is configured. Never fails and never waits for the log.
    pub(super) async fn emit(&self, event: Event<'_>) {
        trace(&event);
        #[cfg(feature = "metrics")]
        crate::events::metrics::count(event.kind, event.method, event.detail_str());
        let (Some(queue), Some(user_id)) = (&self.inner.audit, event.user_id) else {
            return;
        };
        if !event.kind.is_audited() {
            return;
        }
        let client = event.client;
        let record = AuditEvent::new(user_id, event.kind.as_str(), self.now())
            .with_method(event.method.map(EventMethod::as_str))
            .with_detail(event.detail_str())
            .with_session(event.session_id)
            .with_client(
                client.and_then(|client| client.ip),
                client.and_then(|client| client.user_agent.as_deref()),
            );
        queue.record(record).await;
    }
}
