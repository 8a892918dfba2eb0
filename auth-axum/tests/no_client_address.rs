//! Served without the client's address, the auth routes cannot throttle per IP: the first such
//! request logs one loud warning that says so and how to fix it.
//!
//! Its own test binary: the warning is logged once per process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use auth_axum::Auth;
use auth_core::{
    JwtAlgorithm, JwtCodec, JwtKeys, ManagerConfig, MemorySessionStore, MemoryUserStore, NoProfile,
    RateLimits, UserManager,
};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use tower::ServiceExt;

/// A log sink the test can read back.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn router(config: ManagerConfig) -> Router {
    let keys = JwtKeys::hmac(JwtAlgorithm::HS256, &[7; 32]).unwrap();
    let manager = UserManager::<NoProfile>::builder(
        Arc::new(MemoryUserStore::new()),
        Arc::new(MemorySessionStore::new()),
        JwtCodec::new(keys, "test"),
    )
    .with_config(config)
    .build();
    let auth = Auth::new(manager, auth_axum::AuthConfig::default());
    auth.routes().with_state(auth)
}

/// A registration attempt (its body is refused, but the client is read first).
fn register(peer: Option<SocketAddr>) -> Request<Body> {
    let mut request = Request::post("/auth/register")
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    if let Some(peer) = peer {
        request.extensions_mut().insert(ConnectInfo(peer));
    }
    request
}

const WARNING: &str = "per-IP limits";

#[tokio::test]
async fn a_missing_client_address_is_reported_once_when_per_ip_limits_are_on() {
    let buffer = Buffer::default();
    let sink = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // Per-IP limits off: nothing is lost, nothing to say.
    let quiet = ManagerConfig {
        rate_limits: RateLimits {
            login_ip: None,
            register_ip: None,
            token_ip: None,
            ..RateLimits::default()
        },
        ..ManagerConfig::default()
    };
    router(quiet).oneshot(register(None)).await.unwrap();
    assert!(!buffer.text().contains(WARNING), "{}", buffer.text());

    // Limits on and the address known: all is well.
    let app = router(ManagerConfig::default());
    let peer: SocketAddr = "198.51.100.4:5000".parse().unwrap();
    app.clone().oneshot(register(Some(peer))).await.unwrap();
    assert!(!buffer.text().contains(WARNING), "{}", buffer.text());

    // Limits on and no address: one warning, however many requests.
    for _ in 0..3 {
        app.clone().oneshot(register(None)).await.unwrap();
    }
    let log = buffer.text();
    assert_eq!(log.matches(WARNING).count(), 1, "{log}");
    assert!(log.contains("WARN"), "{log}");
    assert!(log.contains("auth_axum::serve"), "{log}");
    assert!(
        log.contains("into_make_service_with_connect_info::<SocketAddr>()"),
        "{log}"
    );
    assert!(log.contains("with_trusted_proxies"), "{log}");
}
