//! The key layout: every key this crate writes, under one prefix.
//!
//! ```text
//! <prefix>:sid:<session id>                   string   the owner's user id (routing)
//! <prefix>:{u:<user id>}:s:<session id>       hash     one session
//! <prefix>:{u:<user id>}:sessions             zset     the user's session ids
//! <prefix>:{u:<user id>}:mark                 string   the user's session mark
//! <prefix>:rl:<limiter key>                   hash     one rate-limit window
//! <prefix>:revoked                           channel  ids of ended sessions (pub/sub)
//! ```
//!
//! The `{u:<user id>}` hash tag puts all of one user's keys in one Redis Cluster hash slot, so
//! the scripts that touch a session and its user's index together run on a cluster.

use std::sync::Arc;

use auth_core::{SessionId, UserId};

use crate::error::Error;

/// The prefix used when none is configured.
pub const DEFAULT_KEY_PREFIX: &str = "auth";

/// Builds key names under a validated prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Keys {
    prefix: Arc<str>,
}

impl Keys {
    /// Keys under `prefix`, which must be non-empty and free of `{` and `}`: a brace in the
    /// prefix would become the hash tag of every key and pile the whole keyspace into one
    /// cluster slot.
    pub(crate) fn new(prefix: &str) -> Result<Self, Error> {
        if prefix.is_empty() || prefix.contains(['{', '}']) {
            return Err(Error::InvalidKeyPrefix(prefix.to_owned()));
        }
        Ok(Self {
            prefix: prefix.into(),
        })
    }

    /// The prefix.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The routing key of a session: holds its owner's user id. It lives in the session id's
    /// own slot, because `get(id)` knows nothing else.
    pub(crate) fn route(&self, id: SessionId) -> String {
        format!("{}:sid:{id}", self.prefix)
    }

    /// The start of every session key of one user (the scripts append the session id).
    pub(crate) fn session_prefix(&self, user: UserId) -> String {
        format!("{}:{{u:{user}}}:s:", self.prefix)
    }

    /// The hash holding one session.
    pub(crate) fn session(&self, user: UserId, id: SessionId) -> String {
        format!("{}{id}", self.session_prefix(user))
    }

    /// The sorted set of one user's session ids (scored by when their keys expire).
    pub(crate) fn index(&self, user: UserId) -> String {
        format!("{}:{{u:{user}}}:sessions", self.prefix)
    }

    /// The session mark of one user: a counter that "log out everywhere" moves, checked by
    /// every creation in the same script. In the user's slot, so both scripts reach it.
    pub(crate) fn mark(&self, user: UserId) -> String {
        format!("{}:{{u:{user}}}:mark", self.prefix)
    }

    /// The pub/sub channel on which the scripts publish the id of every session they end
    /// (see [`RedisSessionStore`](crate::RedisSessionStore)'s revocation feed).
    pub(crate) fn revocations(&self) -> String {
        format!("{}:revoked", self.prefix)
    }

    /// The window of one rate-limiter key.
    pub(crate) fn limit(&self, key: &str) -> String {
        format!("{}:rl:{key}", self.prefix)
    }
}

impl Default for Keys {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_KEY_PREFIX.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_keys_share_one_hash_tag() {
        let keys = Keys::new("app").unwrap();
        let user = UserId::new();
        let id = SessionId::random();
        let tag = format!("{{u:{user}}}");
        assert_eq!(keys.session(user, id), format!("app:{tag}:s:{id}"));
        assert_eq!(keys.index(user), format!("app:{tag}:sessions"));
        assert_eq!(keys.mark(user), format!("app:{tag}:mark"));
        assert_eq!(keys.route(id), format!("app:sid:{id}"));
        assert!(!keys.route(id).contains('{'));
        assert_eq!(keys.limit("login:ip:::1"), "app:rl:login:ip:::1");
    }

    #[test]
    fn prefixes_with_braces_or_nothing_are_refused() {
        for bad in ["", "a{b", "}", "{x}"] {
            assert!(Keys::new(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Keys::default().prefix(), "auth");
    }
}
