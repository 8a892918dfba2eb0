//! `auth_axum::serve` over real sockets on 127.0.0.1, with one-second limits: slow and idle
//! clients are cut off, the connection cap holds, and an announced oversized body is refused
//! before it is sent.

use std::net::SocketAddr;
use std::time::Duration;

use auth_axum::{ServeConfig, serve};
use axum::routing;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::time::timeout;

use crate::harness::App;

/// How long a test waits for something that must happen (liveness only, never speed).
const PATIENCE: Duration = Duration::from_secs(10);
const SECOND: Duration = Duration::from_secs(1);
const LONG: Duration = Duration::from_secs(60);

/// A running server; dropping it stops the server.
struct Server {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn start(config: ServeConfig) -> Server {
    let router = App::new()
        .router
        .route("/", routing::get(|| async { "hello" }))
        .route("/echo", routing::post(|body: String| async move { body }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, router, config, async move {
        let _ = stopped.await;
    }));
    Server { addr, _stop: stop }
}

fn config() -> ServeConfig {
    ServeConfig::default()
        .with_header_timeout(LONG)
        .with_body_timeout(LONG)
        .with_idle_timeout(LONG)
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// Reads until the server closes the connection (or `PATIENCE` runs out: `None`).
async fn read_until_closed(stream: &mut TcpStream) -> Option<String> {
    let mut seen = Vec::new();
    let outcome = timeout(PATIENCE, async {
        let mut buf = [0_u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    outcome
        .ok()
        .map(|()| String::from_utf8_lossy(&seen).into_owned())
}

/// Reads one whole response to `GET /` ("hello") on a kept-alive connection.
async fn read_hello(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    timeout(PATIENCE, async {
        let mut buf = [0_u8; 4096];
        while !seen.ends_with(b"hello") {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("a response");
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test]
async fn a_trickled_request_head_is_cut_off() {
    let server = start(config().with_header_timeout(SECOND)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    let mut closed = false;
    let mut seen = Vec::new();
    // One header line every quarter second, for at most ten seconds.
    for i in 0..40 {
        if stream
            .write_all(format!("X-Slow-{i}: a\r\n").as_bytes())
            .await
            .is_err()
        {
            closed = true;
            break;
        }
        let mut buf = [0_u8; 1024];
        match timeout(Duration::from_millis(250), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    assert!(closed, "the connection stayed open for a trickled head");
    let seen = String::from_utf8_lossy(&seen);
    assert!(
        seen.is_empty() || seen.starts_with("HTTP/1.1 408"),
        "{seen}"
    );
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let server = start(config().with_idle_timeout(SECOND)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(GET).await.unwrap();
    let first = read_hello(&mut stream).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let rest = read_until_closed(&mut stream)
        .await
        .expect("the idle connection is closed");
    assert_eq!(rest, "");
}

#[tokio::test]
async fn a_kept_alive_connection_serves_several_requests() {
    // The control for the idle test: within the limits, keep-alive works.
    let server = start(config()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    for _ in 0..3 {
        stream.write_all(GET).await.unwrap();
        assert!(read_hello(&mut stream).await.starts_with("HTTP/1.1 200"));
    }
}

#[tokio::test]
async fn a_slow_body_gets_408_or_the_connection_closed() {
    let server = start(config().with_body_timeout(SECOND)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nabc")
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream)
        .await
        .expect("the slow body is not waited for");
    assert!(
        answer.is_empty()
            || (answer.starts_with("HTTP/1.1 408")
                && answer.contains(r#"{"detail":"Request Timeout"}"#)),
        "{answer}"
    );
}

#[tokio::test]
async fn the_connection_cap_holds() {
    let server = start(config().with_max_connections(2)).await;
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    for stream in [&mut first, &mut second] {
        stream.write_all(GET).await.unwrap();
        read_hello(stream).await;
    }
    // The third connects (the kernel queues it) but is not served while two are open.
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    third.write_all(GET).await.unwrap();
    let mut buf = [0_u8; 64];
    assert!(
        timeout(SECOND, third.read(&mut buf)).await.is_err(),
        "a third connection was served"
    );
    drop(first);
    assert!(read_hello(&mut third).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn an_announced_oversized_body_is_413_before_it_is_sent() {
    let server = start(config()).await;
    for path in ["/auth/jwt/login", "/auth/register"] {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(
                format!(
                    "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        let mut seen = Vec::new();
        timeout(PATIENCE, async {
            let mut buf = [0_u8; 4096];
            while !seen.ends_with(b"}") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await
        .expect("an answer without the body");
        let answer = String::from_utf8_lossy(&seen);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(
            answer.ends_with(r#"{"detail":"Payload Too Large"}"#),
            "{answer}"
        );
    }
}

#[tokio::test]
async fn handlers_see_the_client_address() {
    let router = axum::Router::new().route(
        "/peer",
        routing::get(
            |axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>| async move {
                peer.to_string()
            },
        ),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, router, config(), async move {
        let _ = stopped.await;
    }));
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let local = stream.local_addr().unwrap();
    stream
        .write_all(b"GET /peer HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream).await.expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with(&local.to_string()), "{answer}");
    // Graceful shutdown: the server returns once told to stop.
    stop.send(()).unwrap();
    timeout(PATIENCE, server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
}
