//! [`AuditEvent`]: one entry of a user's audit trail, safe to store and to show.

use std::net::IpAddr;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::session::SessionId;
use crate::user::UserId;

/// The most characters a kind or a method keeps.
pub const MAX_NAME_CHARS: usize = 64;
/// The most characters a detail or a user agent keeps.
pub const MAX_TEXT_CHARS: usize = 256;

/// One entry of a user's audit trail, as an [`AuditLog`](crate::AuditLog) keeps it.
///
/// Safe by construction: every text is cut to a bound ([`MAX_NAME_CHARS`],
/// [`MAX_TEXT_CHARS`]) and its control and bidirectional-formatting characters are replaced
/// by U+FFFD, so a hostile user agent can neither flood a store nor forge a line of a log or
/// a page; the time is cut to whole microseconds, the precision every store keeps. It never
/// holds a secret: the manager puts no password, token, code or link into one.
///
/// ```
/// use auth_core::{AuditEvent, UserId};
///
/// let event = AuditEvent::new(UserId::new(), "login_failed", time::OffsetDateTime::now_utc())
///     .with_detail(Some("wrong_password"))
///     .with_client(None, Some("curl/8\r\nforged: line"));
/// assert_eq!(event.user_agent(), Some("curl/8\u{fffd}\u{fffd}forged: line"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    id: Uuid,
    user_id: UserId,
    at: OffsetDateTime,
    kind: String,
    method: Option<String>,
    detail: Option<String>,
    session_id: Option<SessionId>,
    ip: Option<IpAddr>,
    user_agent: Option<String>,
}

impl AuditEvent {
    /// An event of `kind` (an [`EventKind`](crate::EventKind) name) about `user_id`, at `at`,
    /// with a fresh time-ordered id.
    pub fn new(user_id: UserId, kind: &str, at: OffsetDateTime) -> Self {
        Self {
            id: Uuid::now_v7(),
            user_id,
            at: at
                .replace_nanosecond(at.nanosecond() / 1_000 * 1_000)
                .unwrap_or(at),
            kind: clean(kind, MAX_NAME_CHARS),
            method: None,
            detail: None,
            session_id: None,
            ip: None,
            user_agent: None,
        }
    }

    /// This event with another id (a store reading a row back).
    #[must_use]
    pub fn with_id(mut self, id: Uuid) -> Self {
        self.id = id;
        self
    }

    /// This event with a method (an [`EventMethod`](crate::EventMethod) name).
    #[must_use]
    pub fn with_method(mut self, method: Option<&str>) -> Self {
        self.method = method.map(|text| clean(text, MAX_NAME_CHARS));
        self
    }

    /// This event with a detail: a reason, a provider, the names of changed fields.
    #[must_use]
    pub fn with_detail(mut self, detail: Option<&str>) -> Self {
        self.detail = detail.map(|text| clean(text, MAX_TEXT_CHARS));
        self
    }

    /// This event with the session it concerns.
    #[must_use]
    pub fn with_session(mut self, session_id: Option<SessionId>) -> Self {
        self.session_id = session_id;
        self
    }

    /// This event with the client's address and user agent.
    #[must_use]
    pub fn with_client(mut self, ip: Option<IpAddr>, user_agent: Option<&str>) -> Self {
        self.ip = ip;
        self.user_agent = user_agent.map(|text| clean(text, MAX_TEXT_CHARS));
        self
    }

    /// The event's id (UUID v7: time-ordered).
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Whose trail the event is in.
    pub fn user_id(&self) -> UserId {
        self.user_id
    }

    /// When it happened, by the manager's clock.
    pub fn at(&self) -> OffsetDateTime {
        self.at
    }

    /// What happened: an [`EventKind`](crate::EventKind) name.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// How: an [`EventMethod`](crate::EventMethod) name, when there is one.
    pub fn method(&self) -> Option<&str> {
        self.method.as_deref()
    }

    /// The reason or the names involved, when there are any.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The session it concerns, when known.
    pub fn session_id(&self) -> Option<SessionId> {
        self.session_id
    }

    /// The client's IP address, when known.
    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    /// The client's user agent, when known.
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }
}

/// `text` cut to `max` characters, its control and bidirectional-formatting characters
/// replaced by U+FFFD.
fn clean(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| {
            if c.is_control() || is_bidi_control(c) {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

/// The characters that reorder text when shown (a "trojan source" in a page or a log).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_cut_and_cleaned() {
        let long = "x".repeat(10_000);
        let event = AuditEvent::new(UserId::new(), &long, OffsetDateTime::now_utc())
            .with_method(Some("pass\u{0}word"))
            .with_detail(Some(&long))
            .with_client(None, Some("a\u{1b}[31m\u{202e}b"));
        assert_eq!(event.kind().chars().count(), MAX_NAME_CHARS);
        assert_eq!(
            event.detail().map(|d| d.chars().count()),
            Some(MAX_TEXT_CHARS)
        );
        assert_eq!(event.method(), Some("pass\u{fffd}word"));
        assert_eq!(event.user_agent(), Some("a\u{fffd}[31m\u{fffd}b"));
    }

    #[test]
    fn the_time_is_cut_to_microseconds() {
        let at = time::macros::datetime!(2026-01-02 03:04:05.123_456_789 UTC);
        let event = AuditEvent::new(UserId::new(), "deleted", at);
        assert_eq!(
            event.at(),
            time::macros::datetime!(2026-01-02 03:04:05.123_456 UTC)
        );
    }
}
