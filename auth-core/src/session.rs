//! Sessions: one per login, holding the digest of its current refresh token.

use std::fmt;
use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::secret::TokenHash;
use crate::user::UserId;

/// A session's id: 128 bits from a CSPRNG seeded by the operating system (ASVS5 7.2.3), shown as a UUID.
///
/// It travels in the access token's `sid` claim and in the session list, and is not itself a
/// credential: the refresh token's secret is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(Uuid);

impl SessionId {
    /// A new random id.
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        Self(Uuid::from_bytes(bytes))
    }

    /// Wraps an existing UUID.
    pub const fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The UUID inside.
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.0)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for SessionId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// Where a request came from, as far as the server can tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's IP address (from the socket, or from `X-Forwarded-For` behind a trusted
    /// proxy).
    pub ip: Option<IpAddr>,
    /// The `User-Agent` header, cut to 256 characters.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// Client information from an IP address and a user agent.
    pub fn new(ip: Option<IpAddr>, user_agent: Option<&str>) -> Self {
        Self {
            ip,
            user_agent: user_agent.map(|ua| ua.chars().take(256).collect()),
        }
    }
}

/// One login: what the [`SessionStore`](crate::SessionStore) keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session's id.
    pub id: SessionId,
    /// Whose session it is.
    pub user_id: UserId,
    /// The digest of the one refresh token that is currently valid.
    pub refresh_hash: TokenHash,
    /// The digest of the current opaque access token, for the
    /// [`OpaqueTokenStrategy`](crate::OpaqueTokenStrategy); `None` with JWT access tokens.
    pub access_hash: Option<TokenHash>,
    /// When the user logged in.
    pub created_at: OffsetDateTime,
    /// When the session was last refreshed.
    pub last_used_at: OffsetDateTime,
    /// The session dies at this time unless refreshed before (idle timeout, ASVS5 7.3.1).
    pub idle_expires_at: OffsetDateTime,
    /// The session dies at this time whatever happens (absolute lifetime, ASVS5 7.3.2).
    pub expires_at: OffsetDateTime,
    /// The client's user agent at login.
    pub user_agent: Option<String>,
    /// The client's IP address at login.
    pub ip: Option<IpAddr>,
}

impl Session {
    /// Whether the session is still alive at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.idle_expires_at && now < self.expires_at
    }

    /// When the session stops being usable: the earlier of its idle and absolute expiry.
    pub fn effective_expiry(&self) -> OffsetDateTime {
        self.idle_expires_at.min(self.expires_at)
    }
}

/// The outcome of [`SessionStore::rotate`](crate::SessionStore::rotate).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rotation {
    /// The presented token was the current one; the session now holds the new digest.
    Rotated(Session),
    /// The presented token is one the session issued and has since rotated away: a used token
    /// was replayed. The store has already revoked the whole session (RFC 9700 §4.14.2).
    Reused {
        /// Whose session was revoked.
        user_id: UserId,
    },
    /// No live session with that id (never existed, expired or revoked), or a secret the
    /// session never issued (a forgery): nothing changed.
    NotFound,
}

/// How many rotated-away refresh digests a store remembers per session. A replay of one of
/// them is [`Rotation::Reused`] and ends the session; an older one, like a secret that was
/// never issued, is a plain [`Rotation::NotFound`].
pub const REMEMBERED_ROTATIONS: usize = 16;

/// A user's session mark: a counter that [`SessionStore::revoke_all`](crate::SessionStore::revoke_all)
/// moves. A session is admitted only with the mark its login read before checking the
/// credentials, so a login racing a credential or privilege change is refused.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SessionMark(u64);

impl SessionMark {
    /// The mark with this value (stores read it back from their backend).
    pub const fn new(value: u64) -> Self {
        Self(value)
    }

    /// The value, for storing.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The mark after this one.
    #[must_use]
    pub const fn next(self) -> Self {
        Self(self.0.wrapping_add(1))
    }
}

/// What [`SessionStore::create`](crate::SessionStore::create) checks before it stores a
/// session, in the same atomic step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// The user's mark as the login read it before checking the credentials.
    pub mark: SessionMark,
    /// The most live sessions the user may hold, this one included: the least recently used
    /// beyond it are revoked. `None`: no limit.
    pub max_sessions: Option<u32>,
}

/// The outcome of [`SessionStore::create`](crate::SessionStore::create).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Admitted {
    /// The session is stored; these sessions of the user were evicted to make room.
    Created {
        /// The evicted sessions, least recently used first.
        evicted: Vec<SessionId>,
    },
    /// The user's mark has moved since the login read it: nothing was stored.
    StaleMark,
}

/// What a successful rotation writes into the session, all at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewal {
    /// The digest of the new refresh token.
    pub refresh_hash: TokenHash,
    /// The digest of the new opaque access token, if the strategy uses one.
    pub access_hash: Option<TokenHash>,
    /// The time of the refresh: liveness is judged at this time and `last_used_at` set to it.
    pub now: OffsetDateTime,
    /// The new idle expiry; the store caps it at the absolute expiry.
    pub idle_expires_at: OffsetDateTime,
}

/// A refresh token as handed to the client: the session id and a 256-bit secret,
/// base64url-encoded (64 characters).
///
/// Only [`RefreshToken::hash`] is ever stored.
#[derive(Clone)]
pub struct RefreshToken {
    session_id: SessionId,
    secret: [u8; 32],
}

impl RefreshToken {
    /// A new token for `session_id` with a fresh secret from the CSPRNG.
    pub fn generate(session_id: SessionId) -> Self {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        Self { session_id, secret }
    }

    /// Parses a token presented by a client; `None` when it is not one of ours.
    pub fn parse(token: &str) -> Option<Self> {
        if token.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 48];
        let written = URL_SAFE_NO_PAD.decode_slice(token, &mut bytes).ok()?;
        if written != 48 {
            return None;
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[..16]);
        let mut secret = [0u8; 32];
        secret.copy_from_slice(&bytes[16..]);
        Some(Self {
            session_id: SessionId::from_uuid(Uuid::from_bytes(id)),
            secret,
        })
    }

    /// The session this token belongs to.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// The digest the store keeps.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.secret)
    }

    /// The token's text, to give to the client. Never log it.
    pub fn expose(&self) -> String {
        let mut bytes = [0u8; 48];
        bytes[..16].copy_from_slice(self.session_id.as_uuid().as_bytes());
        bytes[16..].copy_from_slice(&self.secret);
        URL_SAFE_NO_PAD.encode(bytes)
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshToken")
            .field("session_id", &self.session_id)
            .field("secret", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_token_round_trips() {
        let id = SessionId::random();
        let token = RefreshToken::generate(id);
        let text = token.expose();
        assert_eq!(text.len(), 64);
        let parsed = RefreshToken::parse(&text).unwrap();
        assert_eq!(parsed.session_id(), id);
        assert_eq!(parsed.hash(), token.hash());
        assert!(!format!("{token:?}").contains(&text));
    }

    #[test]
    fn garbage_is_not_a_refresh_token() {
        assert!(RefreshToken::parse("").is_none());
        assert!(RefreshToken::parse(&"!".repeat(64)).is_none());
        assert!(RefreshToken::parse(&"a".repeat(65)).is_none());
    }

    #[test]
    fn session_ids_are_distinct() {
        assert_ne!(SessionId::random(), SessionId::random());
    }
}
