//! STUB
#![allow(missing_docs, unreachable_pub, dead_code)]
use async_trait::async_trait;
use serde::{Serialize, de::DeserializeOwned};
use time::{Duration, OffsetDateTime};
use super::{AccessClaims, AccessSubject, IssuedToken, TokenError, TokenStrategy};
use crate::SessionId;
pub const ACCESS_AUDIENCE: &str = "accounts:access";
pub const VERIFY_AUDIENCE: &str = "accounts:verify";
pub const RESET_AUDIENCE: &str = "accounts:reset";
#[derive(Debug, Clone, Copy)] pub enum JwtAlgorithm { HS256 }
#[derive(Debug, Clone)] pub struct JwtKeys;
impl JwtKeys { pub fn hmac(_a: JwtAlgorithm, _s: &[u8]) -> Result<Self, JwtError> { Ok(Self) } }
#[derive(Debug, thiserror::Error)] pub enum JwtError { #[error("rejected")] Rejected }
#[derive(Debug, Clone)] pub struct JwtCodec;
impl JwtCodec {
    pub fn new(_k: JwtKeys, _i: impl Into<String>) -> Self { Self }
    pub fn encode<T: Serialize>(&self, c: &T, aud: &str) -> Result<String, JwtError> { Ok(format!("{aud}|{}", serde_json::to_string(c).map_err(|_| JwtError::Rejected)?)) }
    pub fn decode<T: DeserializeOwned>(&self, t: &str, aud: &str, _now: OffsetDateTime) -> Result<T, JwtError> { let (a, b) = t.split_once('|').ok_or(JwtError::Rejected)?; if a != aud { return Err(JwtError::Rejected) } serde_json::from_str(b).map_err(|_| JwtError::Rejected) }
}
#[derive(Debug, Clone)] pub struct JwtStrategy { codec: JwtCodec, lifetime: Duration }
impl JwtStrategy { pub fn new(codec: JwtCodec, lifetime: Duration) -> Self { Self { codec, lifetime } } }
#[async_trait]
impl TokenStrategy for JwtStrategy {
    async fn issue(&self, s: &AccessSubject, sid: SessionId, now: OffsetDateTime) -> Result<IssuedToken, TokenError> {
        let c = AccessClaims { sub: s.user_id, sid, exp: (now + self.lifetime).unix_timestamp(), iat: now.unix_timestamp(), jti: "x".into(), roles: s.roles.clone(), is_superuser: s.is_superuser, is_verified: s.is_verified };
        Ok(IssuedToken { token: self.codec.encode(&c, ACCESS_AUDIENCE).map_err(|e| TokenError::Backend(Box::new(e)))?, expires_in: self.lifetime.whole_seconds(), stored_hash: None })
    }
    async fn authenticate(&self, t: &str, now: OffsetDateTime) -> Result<AccessClaims, TokenError> {
        let c: AccessClaims = self.codec.decode(t, ACCESS_AUDIENCE, now).map_err(|_| TokenError::Invalid)?;
        if c.exp <= now.unix_timestamp() { return Err(TokenError::Invalid) } Ok(c)
    }
}
