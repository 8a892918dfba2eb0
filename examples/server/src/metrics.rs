//! `GET /metrics` in the Prometheus text format, on a listener of its own (`METRICS_ADDR`),
//! never on the public port; and the sampler of the live sessions gauge.
//!
//! The libraries emit through the `metrics` facade; this module installs the Prometheus
//! recorder that collects it (`docs/METRICS.md` lists every metric).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use auth_axum::ServeConfig;
use auth_core::SessionStore;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::settings::MetricsSettings;

/// Buckets of `http_request_duration_seconds`, in seconds: 1 ms to 10 s.
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets of `auth_password_hash_duration_seconds`, in seconds: Argon2 at OWASP's parameters
/// takes tens of milliseconds, and much longer on a starved machine.
const HASH_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// How often the recorder folds recent histogram samples in, between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Installs the Prometheus recorder as the process's `metrics` recorder, with bucketed
/// (true Prometheus) histograms, and keeps it tidy in the background. Call once, inside the
/// Tokio runtime.
///
/// # Errors
/// When a recorder is already installed.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("http_request_duration_seconds".into()),
            HTTP_BUCKETS,
        )?
        .set_buckets_for_metric(
            Matcher::Full("auth_password_hash_duration_seconds".into()),
            HASH_BUCKETS,
        )?
        .install_recorder()?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(UPKEEP_EVERY);
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// Serves `GET /metrics` on `METRICS_ADDR` when it is set: binds it, installs the recorder
/// and serves in the background (with the public port's connection limits and timeouts).
/// Returns the address bound (`METRICS_ADDR` may ask for port 0).
///
/// # Errors
/// When the address cannot be bound, or a recorder is already installed.
pub async fn start(settings: &MetricsSettings) -> Result<Option<SocketAddr>, String> {
    let Some(addr) = settings.addr else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|err| format!("cannot listen on {addr} (METRICS_ADDR): {err}"))?;
    let local = listener.local_addr().map_err(|err| err.to_string())?;
    let handle = install().map_err(|err| format!("metrics: {err}"))?;
    let router = routes(handle, settings.token.as_deref());
    tokio::spawn(async move {
        let served = auth_axum::serve(
            listener,
            router,
            ServeConfig::default(),
            std::future::pending(),
        )
        .await;
        if let Err(err) = served {
            tracing::error!(error = %err, "the metrics listener stopped");
        }
    });
    Ok(Some(local))
}

/// The metrics listener's router: `GET /metrics` and nothing else. With a `token`, a request
/// must carry `Authorization: Bearer <token>`, or it is answered `401` with no metrics.
pub fn routes(handle: PrometheusHandle, token: Option<&str>) -> Router {
    let state = Arc::new(Exporter {
        handle,
        token: token.map(|token| Sha256::digest(token.as_bytes()).to_vec()),
    });
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

/// What the `/metrics` handler needs.
struct Exporter {
    handle: PrometheusHandle,
    /// SHA-256 of the token, compared in constant time.
    token: Option<Vec<u8>>,
}

async fn scrape(State(exporter): State<Arc<Exporter>>, headers: HeaderMap) -> Response {
    if let Some(expected) = &exporter.token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(|token| Sha256::digest(token.as_bytes()));
        let allowed = presented
            .is_some_and(|digest| bool::from(digest.as_slice().ct_eq(expected.as_slice())));
        if !allowed {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
            )
                .into_response();
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        exporter.handle.render(),
    )
        .into_response()
}

/// Sets the gauge `auth_live_sessions` from `sessions` now and every `every`: a count of the
/// store, so never on a request's path. A store that cannot count cheaply (Redis) gets no
/// gauge; a failed count keeps the last value and is logged.
pub fn spawn_session_sampler(sessions: Arc<dyn SessionStore>, every: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sessions.count_live(time::OffsetDateTime::now_utc()).await {
                // A gauge is a float; counts up to 2^53 are exact.
                Ok(Some(live)) => metrics::gauge!("auth_live_sessions").set(live as f64),
                Ok(None) => {
                    tracing::info!(
                        "the session store cannot count live sessions cheaply: no auth_live_sessions gauge"
                    );
                    return;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "counting live sessions failed");
                }
            }
        }
    });
}
