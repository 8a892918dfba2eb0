//! `GET /.well-known/jwks.json`: the public keys of the token key set (RFC 7517 §5), so that
//! other services verify our tokens without sharing a secret.

use auth_core::Profile;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;

use super::Auth;
use crate::error::ApiError;
use crate::json::json_response;

/// Where the document is served (RFC 8414 §3's well-known prefix; the name most libraries
/// look for).
pub(super) const JWKS_PATH: &str = "/.well-known/jwks.json";

/// Verifiers may cache the keys this long. Short, so a key added by a rotation is fetched
/// soon; a verifier that meets an unknown `kid` refetches anyway (jose's `createRemoteJWKSet`
/// does).
const CACHE_CONTROL: &str = "public, max-age=300";

pub(super) fn routes<P: Profile, S: Clone + Send + Sync + 'static>(auth: &Auth<P>) -> Router<S> {
    Router::new()
        .route(JWKS_PATH, get(jwks::<P>))
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .with_state(auth.clone())
}

/// The current set's public keys, read at each request: a reload shows at once (behind the
/// verifiers' cache). HMAC secrets are never listed. (`json_response`'s `no-store` is
/// replaced by the layer's `max-age`: public keys are meant to be cached.)
async fn jwks<P: Profile>(State(auth): State<Auth<P>>) -> Response {
    json_response(StatusCode::OK, &auth.manager().codec().jwks())
}
