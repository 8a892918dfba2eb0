//! How a [`Session`] is laid out in its Redis hash, and read back.
//!
//! | field | value |
//! |---|---|
//! | `r` | refresh-token digest, 32 raw bytes |
//! | `a` | opaque access-token digest, 32 raw bytes (absent with JWT access tokens) |
//! | `c`, `l`, `i`, `e` | created, last used, idle expiry, absolute expiry: integer nanoseconds since the Unix epoch |
//! | `ua`, `ua1`, `ua2`, ... | user agent, in pieces of at most 64 bytes (absent if unknown) |
//! | `ip` | IP address as text (absent if unknown) |
//!
//! The user and session ids are not stored in the hash: both are in its key name.
//!
//! Redis keeps a small hash as a compact listpack only while every value is at most
//! `hash-max-listpack-value` bytes (64 by default); one longer value turns the whole hash into
//! a hash table of more than twice the size (measured: 800 instead of about 390 bytes for a
//! session with a typical 111-byte browser user agent). Hence the short field names, raw
//! digests, times as integers (which a listpack stores in 9 bytes), and the user agent cut
//! into pieces.

use std::net::IpAddr;

use auth_core::{Session, SessionId, StoreError, TokenHash, UserId};
use redis::Value;
use time::OffsetDateTime;

use crate::error::corrupt;

/// The longest value a listpack-encoded hash holds by default (`hash-max-listpack-value`).
const PIECE: usize = 64;

/// A time as stored: integer nanoseconds since the Unix epoch (exact, unlike a float; fits
/// an `i64` from 1677 to 2262).
pub(crate) fn encode_time(time: OffsetDateTime) -> Result<i64, StoreError> {
    i64::try_from(time.unix_timestamp_nanos()).map_err(|_| corrupt("time out of range"))
}

/// A stored time.
pub(crate) fn decode_time(bytes: &[u8]) -> Result<OffsetDateTime, StoreError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| text.parse::<i64>().ok())
        .and_then(|nanos| OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)).ok())
        .ok_or_else(|| corrupt("time"))
}

/// The hash fields of a session, as `HSET` arguments.
pub(crate) fn encode_session(session: &Session) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut fields: Vec<Vec<u8>> = Vec::with_capacity(24);
    let mut put = |name: &str, value: Vec<u8>| {
        fields.push(name.as_bytes().to_vec());
        fields.push(value);
    };
    put("r", session.refresh_hash.as_bytes().to_vec());
    if let Some(access) = &session.access_hash {
        put("a", access.as_bytes().to_vec());
    }
    put(
        "c",
        encode_time(session.created_at)?.to_string().into_bytes(),
    );
    put(
        "l",
        encode_time(session.last_used_at)?.to_string().into_bytes(),
    );
    put(
        "i",
        encode_time(session.idle_expires_at)?
            .to_string()
            .into_bytes(),
    );
    put(
        "e",
        encode_time(session.expires_at)?.to_string().into_bytes(),
    );
    if let Some(user_agent) = &session.user_agent {
        if user_agent.is_empty() {
            put("ua", Vec::new());
        }
        for (n, piece) in user_agent.as_bytes().chunks(PIECE).enumerate() {
            let name = if n == 0 {
                "ua".to_owned()
            } else {
                format!("ua{n}")
            };
            put(&name, piece.to_vec());
        }
    }
    if let Some(ip) = session.ip {
        put("ip", ip.to_string().into_bytes());
    }
    Ok(fields)
}

/// The session of `user_id` with id `id` from its hash fields (as `HGETALL` answers them, in
/// RESP2 or RESP3 form). `None` for an empty hash (no such key).
pub(crate) fn decode_session(
    id: SessionId,
    user_id: UserId,
    fields: Value,
) -> Result<Option<Session>, StoreError> {
    let pairs = field_pairs(fields)?;
    if pairs.is_empty() {
        return Ok(None);
    }
    let mut refresh_hash = None;
    let mut access_hash = None;
    let (mut created_at, mut last_used_at, mut idle_expires_at, mut expires_at) =
        (None, None, None, None);
    let mut user_agent: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut ip = None;
    for (name, value) in pairs {
        match name.as_slice() {
            b"r" => refresh_hash = Some(digest(&value)?),
            b"a" => access_hash = Some(digest(&value)?),
            b"c" => created_at = Some(decode_time(&value)?),
            b"l" => last_used_at = Some(decode_time(&value)?),
            b"i" => idle_expires_at = Some(decode_time(&value)?),
            b"e" => expires_at = Some(decode_time(&value)?),
            b"ua" => user_agent.push((0, value)),
            other if other.starts_with(b"ua") => {
                let n = std::str::from_utf8(&other[2..])
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| corrupt("user agent piece"))?;
                user_agent.push((n, value));
            }
            b"ip" => {
                let text = std::str::from_utf8(&value).map_err(|_| corrupt("ip"))?;
                ip = Some(text.parse::<IpAddr>().map_err(|_| corrupt("ip"))?);
            }
            // Fields a later version may add are no reason to refuse the session.
            _ => {}
        }
    }
    let user_agent = if user_agent.is_empty() {
        None
    } else {
        user_agent.sort_unstable_by_key(|(n, _)| *n);
        let joined: Vec<u8> = user_agent
            .into_iter()
            .flat_map(|(_, piece)| piece)
            .collect();
        Some(String::from_utf8(joined).map_err(|_| corrupt("user agent"))?)
    };
    let missing = || corrupt("session hash lacks a field");
    Ok(Some(Session {
        id,
        user_id,
        refresh_hash: refresh_hash.ok_or_else(missing)?,
        access_hash,
        created_at: created_at.ok_or_else(missing)?,
        last_used_at: last_used_at.ok_or_else(missing)?,
        idle_expires_at: idle_expires_at.ok_or_else(missing)?,
        expires_at: expires_at.ok_or_else(missing)?,
        user_agent,
        ip,
    }))
}

fn digest(bytes: &[u8]) -> Result<TokenHash, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(TokenHash::from_bytes)
        .map_err(|_| corrupt("digest"))
}

/// A hash field's name and value.
type Field = (Vec<u8>, Vec<u8>);

/// Field-value pairs from a flat array (RESP2, and what scripts return) or a map (RESP3).
pub(crate) fn field_pairs(value: Value) -> Result<Vec<Field>, StoreError> {
    match value {
        Value::Nil => Ok(Vec::new()),
        Value::Array(items) => {
            if items.len() % 2 != 0 {
                return Err(corrupt("odd number of hash fields"));
            }
            let mut pairs = Vec::with_capacity(items.len() / 2);
            let mut items = items.into_iter();
            while let (Some(name), Some(value)) = (items.next(), items.next()) {
                pairs.push((bytes(name)?, bytes(value)?));
            }
            Ok(pairs)
        }
        Value::Map(entries) => entries
            .into_iter()
            .map(|(name, value)| Ok((bytes(name)?, bytes(value)?)))
            .collect(),
        _ => Err(corrupt("not a hash")),
    }
}

/// The bytes of a string reply.
pub(crate) fn bytes(value: Value) -> Result<Vec<u8>, StoreError> {
    match value {
        Value::BulkString(bytes) => Ok(bytes),
        Value::SimpleString(text) => Ok(text.into_bytes()),
        Value::Int(number) => Ok(number.to_string().into_bytes()),
        _ => Err(corrupt("not a string")),
    }
}

/// An integer reply.
pub(crate) fn int(value: &Value) -> Result<i64, StoreError> {
    match value {
        Value::Int(number) => Ok(*number),
        Value::BulkString(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| corrupt("not an integer")),
        _ => Err(corrupt("not an integer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::conformance::sessions::sample_session;

    fn as_reply(fields: Vec<Vec<u8>>) -> Value {
        Value::Array(fields.into_iter().map(Value::BulkString).collect())
    }

    #[test]
    fn sessions_round_trip_with_and_without_optional_fields() {
        let now = OffsetDateTime::now_utc();
        let full = sample_session(UserId::new(), now);
        let reply = as_reply(encode_session(&full).unwrap());
        assert_eq!(
            decode_session(full.id, full.user_id, reply).unwrap(),
            Some(full.clone())
        );
        let mut bare = full;
        bare.access_hash = None;
        bare.user_agent = None;
        bare.ip = None;
        let reply = as_reply(encode_session(&bare).unwrap());
        assert_eq!(
            decode_session(bare.id, bare.user_id, reply).unwrap(),
            Some(bare)
        );
    }

    #[test]
    fn long_user_agents_are_stored_in_pieces_that_keep_the_hash_compact() {
        let now = OffsetDateTime::now_utc();
        let mut session = sample_session(UserId::new(), now);
        // 256 characters of up to four bytes: pieces may cut a character in two.
        session.user_agent = Some("Mozilla/5.0 ✓😀".repeat(20).chars().take(256).collect());
        let fields = encode_session(&session).unwrap();
        assert!(fields.iter().all(|value| value.len() <= PIECE));
        assert!(fields.iter().any(|name| name == b"ua5"));
        let reply = as_reply(fields);
        assert_eq!(
            decode_session(session.id, session.user_id, reply).unwrap(),
            Some(session.clone())
        );
        session.user_agent = Some(String::new());
        let reply = as_reply(encode_session(&session).unwrap());
        assert_eq!(
            decode_session(session.id, session.user_id, reply).unwrap(),
            Some(session)
        );
    }

    #[test]
    fn an_empty_hash_is_no_session_and_garbage_is_an_error() {
        let (id, user) = (SessionId::random(), UserId::new());
        assert_eq!(
            decode_session(id, user, Value::Array(vec![])).unwrap(),
            None
        );
        let garbage = as_reply(vec![b"r".to_vec(), b"short".to_vec()]);
        assert!(decode_session(id, user, garbage).is_err());
    }

    #[test]
    fn times_keep_their_nanoseconds_and_may_precede_the_epoch() {
        for nanos in [0i128, 1, -1, -1_500_000_000, 1_767_225_600_123_456_789] {
            let time = OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap();
            let stored = encode_time(time).unwrap().to_string();
            assert_eq!(decode_time(stored.as_bytes()).unwrap(), time);
        }
    }
}
