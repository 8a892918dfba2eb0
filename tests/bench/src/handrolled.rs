//! The reference points of the benchmarks that need no other framework: the bearer extractor people
//! write by hand with `jsonwebtoken` (HS256, `Validation` with audience and issuer), alone and
//! with one Redis `GET` per request standing in for a revocation check.
//!
//! Deliberately the common hand-rolled shape, not ours: jsonwebtoken's own clock, no header
//! checks beyond the algorithm, claims into a struct with owned strings.

use std::sync::Arc;

use auth_redis::redis::AsyncCommands;
use auth_redis::redis::aio::ConnectionManager;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::routing::get;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::BoxError;
use crate::cases::ISSUER;
use crate::server::{HELLO, SECRET};

#[derive(Clone)]
pub(crate) struct HandRolled {
    key: Arc<DecodingKey>,
    validation: Arc<Validation>,
    redis: Option<(ConnectionManager, Arc<str>)>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    sid: String,
    #[allow(dead_code)]
    exp: i64,
    #[serde(default)]
    #[allow(dead_code)]
    roles: Vec<String>,
}

struct User(Claims);

impl FromRequestParts<HandRolled> for User {
    type Rejection = StatusCode;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &HandRolled,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(StatusCode::UNAUTHORIZED)?;
        let data = jsonwebtoken::decode::<Claims>(token, &state.key, &state.validation)
            .map_err(|_| StatusCode::UNAUTHORIZED)?;
        if let Some((conn, prefix)) = &state.redis {
            let mut conn = conn.clone();
            let live: Option<String> = conn
                .get(format!("{prefix}:live:{}", data.claims.sid))
                .await
                .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
            if live.is_none() {
                return Err(StatusCode::UNAUTHORIZED);
            }
        }
        Ok(Self(data.claims))
    }
}

async fn hello(user: User) -> &'static str {
    std::hint::black_box(&user.0.sub);
    HELLO
}

/// The hand-rolled app; with `redis`, each request also reads one key.
pub(crate) fn router(redis: Option<(ConnectionManager, Arc<str>)>) -> Router {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[auth_core::ACCESS_AUDIENCE]);
    validation.set_issuer(&[ISSUER]);
    let state = HandRolled {
        key: Arc::new(DecodingKey::from_secret(SECRET)),
        validation: Arc::new(validation),
        redis,
    };
    Router::new().route("/", get(hello)).with_state(state)
}

/// A connection to Redis, and the key of the token's session set to live.
pub(crate) async fn connect(
    url: &str,
    prefix: &str,
    token: &str,
) -> Result<(ConnectionManager, Arc<str>), BoxError> {
    let client = auth_redis::redis::Client::open(url)?;
    let mut conn = ConnectionManager::new(client).await?;
    let sid = jsonwebtoken::dangerous::insecure_decode::<Claims>(token)?
        .claims
        .sid;
    let key = format!("{prefix}:live:{sid}");
    let () = conn.set_ex(&key, "1", 24 * 3600).await?;
    Ok((conn, Arc::from(prefix)))
}
