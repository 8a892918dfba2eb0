//! [`HttpMetricsLayer`]: requests and their duration, by matched route, for operators
//! (feature `metrics`).
//!
//! Two metrics go through the [`metrics`] facade, so any exporter the app installs
//! sees them (Prometheus, StatsD, OpenTelemetry, ...):
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `http_requests_total` | counter | `method`, `route`, `status` |
//! | `http_request_duration_seconds` | histogram | `method`, `route` |
//!
//! Every label has a bounded set of values, whatever clients send: `route` is the route
//! template axum matched (`/users/{id}`, never `/users/0b6c...`), or `unmatched` for a
//! request no route took (the fallback's 404s); `method` is one of the nine standard methods,
//! or `other`; `status` is the response's three-digit code. So a client requesting random
//! paths or inventing methods cannot grow the exporter's memory or a dashboard's series.
//!
//! The duration runs from the request reaching the layer to the response's head being ready
//! (a streamed body is not waited for).

use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Instant;

use ::metrics::SharedString;
use axum::extract::MatchedPath;
use axum::http::{Method, Request, Response};
use futures::future::BoxFuture;
use tower::{Layer, Service};

/// The `route` label of a request that no route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Counts requests and times them, labelled by method, matched route and status (see the
/// [module docs](self) for the metrics).
///
/// Add it with [`Router::layer`](axum::Router::layer) *after* the routes, so that it runs once
/// axum has matched the route (axum routes first, then runs the layers added to the router),
/// and last among the layers, so that it sees the status the client gets, including the
/// answers of the layers below it (401 from [`AuthLayer`](crate::AuthLayer), 413 from
/// [`BodyLimitLayer`](crate::BodyLimitLayer), ...).
///
/// ```
/// use auth_axum::metrics::HttpMetricsLayer;
/// use axum::{Router, routing::get};
///
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "a user" }))
///     .layer(HttpMetricsLayer::new());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpMetricsLayer {
    _private: (),
}

impl HttpMetricsLayer {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for HttpMetricsLayer {
    type Service = HttpMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetrics { inner }
    }
}

/// The service of [`HttpMetricsLayer`].
#[derive(Debug, Clone)]
pub struct HttpMetrics<S> {
    inner: S,
}

impl<S, B, R> Service<Request<B>> for HttpMetrics<S>
where
    S: Service<Request<B>, Response = Response<R>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<R>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<R>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let started = Instant::now();
        let method = method_label(request.method());
        let route = route_label(request.extensions().get::<MatchedPath>());
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            let status = response.status().as_u16().to_string();
            ::metrics::histogram!(
                "http_request_duration_seconds",
                "method" => method,
                "route" => route.clone(),
            )
            .record(started.elapsed());
            ::metrics::counter!(
                "http_requests_total",
                "method" => method,
                "route" => route,
                "status" => status,
            )
            .increment(1);
            Ok(response)
        })
    }
}

/// The method, when it is one of the standard ones; `other` for anything a client invented.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// The matched route template, or [`UNMATCHED_ROUTE`]: never the path the client sent.
fn route_label(matched: Option<&MatchedPath>) -> SharedString {
    match matched {
        Some(path) => SharedString::from(path.as_str().to_owned()),
        None => SharedString::const_str(UNMATCHED_ROUTE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::TRACE), "TRACE");
        for invented in ["BREW", "PROPFIND", "X-RANDOM-1234"] {
            let method = Method::from_bytes(invented.as_bytes()).unwrap();
            assert_eq!(method_label(&method), "other");
        }
    }

    #[test]
    fn requests_without_a_matched_route_are_unmatched() {
        assert_eq!(route_label(None).as_ref(), UNMATCHED_ROUTE);
    }
}
