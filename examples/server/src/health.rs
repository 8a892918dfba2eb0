//! `GET /health`: the server and each backing service.

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

/// One backing service that can say whether it is up.
#[async_trait]
pub trait Probe: Send + Sync + 'static {
    /// The service's name in the health answer.
    fn name(&self) -> &'static str;
    /// Whether it answers now.
    async fn is_up(&self) -> bool;
}

/// `GET /health`: `200 {"status":"ok","services":{...}}`, or `503` with `"status":"degraded"`
/// when a service is down.
pub fn routes<S: Clone + Send + Sync + 'static>(probes: Vec<Arc<dyn Probe>>) -> Router<S> {
    Router::new()
        .route("/health", get(health))
        .with_state(Arc::new(probes))
}

async fn health(State(probes): State<Arc<Vec<Arc<dyn Probe>>>>) -> Response {
    let mut services = Map::new();
    let mut all_up = true;
    for probe in probes.iter() {
        let up = tokio::time::timeout(std::time::Duration::from_secs(2), probe.is_up())
            .await
            .unwrap_or(false);
        all_up &= up;
        services.insert(
            probe.name().to_owned(),
            Value::from(if up { "ok" } else { "down" }),
        );
    }
    let (status, word) = if all_up {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "degraded")
    };
    auth_axum::json_response(status, &json!({"status": word, "services": services}))
}
