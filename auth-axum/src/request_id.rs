//! [`RequestIdLayer`]: a request id for every request, a client's only when it is harmless.

use std::task::{Context, Poll};

use axum::http::{HeaderName, Request};
use tower::{Layer, Service};
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestId, PropagateRequestIdLayer, SetRequestId,
};

/// The longest client request id kept.
const MAX_LEN: usize = 128;

/// Whether a client's request id may be kept: 1 to 128 characters of `A-Z a-z 0-9 . _ -`.
///
/// Anything else (spaces, quotes, newlines, non-ASCII, an id of any length) could forge or
/// break log lines that print it, so it is replaced.
///
/// ```
/// use auth_axum::is_valid_request_id;
///
/// assert!(is_valid_request_id("3f2a.b_c-9"));
/// assert!(!is_valid_request_id("x\" level=error msg=\"forged"));
/// assert!(!is_valid_request_id(&"a".repeat(129)));
/// ```
pub fn is_valid_request_id(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Gives every request an id in a header (`x-request-id` by convention) and echoes it on the
/// response.
///
/// A client's id is kept only when [`is_valid_request_id`] accepts it; otherwise (and when
/// there is none) the request gets a new UUID. The id is also in the request's extensions as
/// [`tower_http::request_id::RequestId`], so a tracing span made after this layer (add it
/// after, i.e. outside, a `TraceLayer`) can print it.
///
/// tower-http's `SetRequestIdLayer` alone keeps any client value, which lets a client write
/// whatever it likes into the logs.
///
/// ```
/// use auth_axum::RequestIdLayer;
/// use axum::{Router, http::{HeaderName, Request}, routing::get};
/// use tower_http::trace::TraceLayer;
///
/// let app: Router = Router::new()
///     .route("/", get(|| async { "hello" }))
///     .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
///         let id = request
///             .headers()
///             .get("x-request-id")
///             .and_then(|v| v.to_str().ok())
///             .unwrap_or("-");
///         tracing::info_span!("request", id = %id)
///     }))
///     .layer(RequestIdLayer::new(HeaderName::from_static("x-request-id")));
/// ```
#[derive(Debug, Clone)]
pub struct RequestIdLayer {
    header: HeaderName,
}

impl RequestIdLayer {
    /// A layer that keeps the id in `header`.
    pub fn new(header: HeaderName) -> Self {
        Self { header }
    }
}

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let propagate = PropagateRequestIdLayer::new(self.header.clone()).layer(inner);
        RequestIdService {
            header: self.header.clone(),
            inner: SetRequestId::new(propagate, self.header.clone(), MakeRequestUuid),
        }
    }
}

/// The service of [`RequestIdLayer`].
#[derive(Clone)]
pub struct RequestIdService<S> {
    header: HeaderName,
    inner: SetRequestId<PropagateRequestId<S>, MakeRequestUuid>,
}

impl<S> std::fmt::Debug for RequestIdService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestIdService")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<Request<B>> for RequestIdService<S>
where
    SetRequestId<PropagateRequestId<S>, MakeRequestUuid>: Service<Request<B>>,
{
    type Response =
        <SetRequestId<PropagateRequestId<S>, MakeRequestUuid> as Service<Request<B>>>::Response;
    type Error =
        <SetRequestId<PropagateRequestId<S>, MakeRequestUuid> as Service<Request<B>>>::Error;
    type Future =
        <SetRequestId<PropagateRequestId<S>, MakeRequestUuid> as Service<Request<B>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let headers = request.headers_mut();
        // One valid value is kept; none, several or a bad one are dropped, and without the
        // header tower-http's `SetRequestId` makes a new UUID.
        let mut values = headers.get_all(&self.header).iter();
        let keep = match (values.next(), values.next()) {
            (Some(value), None) => value.to_str().is_ok_and(is_valid_request_id),
            _ => false,
        };
        if !keep {
            headers.remove(&self.header);
        }
        self.inner.call(request)
    }
}
