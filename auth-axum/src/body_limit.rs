//! [`BodyLimitLayer`]: `413` for a body over the limit, before any of it is read.

use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, header};
use axum::response::{IntoResponse, Response};
use futures::future::{Either, Ready, ready};
use tower::{Layer, Service};

use crate::error::ApiError;

/// Caps request bodies at `limit` bytes, answering the contract's
/// `413 {"detail":"Payload Too Large"}`.
///
/// A request that declares a longer body (`Content-Length`) is answered at once, before a
/// byte of its body is read, whatever the route. A body without a declared length that turns
/// out longer fails when an extractor reads it (the layer sets axum's `DefaultBodyLimit` to
/// the same limit), and the extractor answers `413` then. `DefaultBodyLimit` alone only acts
/// when an extractor reads the body, so a client could hold a request open announcing a body
/// it never sends. The routers of [`Auth`](crate::Auth)
/// carry this layer with [`AuthConfig::body_limit`](crate::AuthConfig::body_limit).
///
/// ```
/// use auth_axum::BodyLimitLayer;
/// use axum::{Router, routing::post};
///
/// let app: Router = Router::new()
///     .route("/upload", post(|body: String| async move { body.len().to_string() }))
///     .layer(BodyLimitLayer::new(64 * 1024));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct BodyLimitLayer {
    limit: usize,
}

impl BodyLimitLayer {
    /// A layer that refuses bodies longer than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self { limit }
    }
}

impl<S> Layer<S> for BodyLimitLayer {
    type Service = BodyLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BodyLimit {
            inner: DefaultBodyLimit::max(self.limit).layer(inner),
            limit: self.limit,
        }
    }
}

/// The service of [`BodyLimitLayer`].
pub struct BodyLimit<S> {
    inner: <DefaultBodyLimit as Layer<S>>::Service,
    limit: usize,
}

impl<S: Clone> Clone for BodyLimit<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            limit: self.limit,
        }
    }
}

impl<S> std::fmt::Debug for BodyLimit<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyLimit")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl<S> Service<Request<Body>> for BodyLimit<S>
where
    S: Service<Request<Body>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<S::Future, Ready<Result<Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.limit as u64) {
            return Either::Right(ready(Ok(ApiError::payload_too_large().into_response())));
        }
        Either::Left(self.inner.call(request))
    }
}
