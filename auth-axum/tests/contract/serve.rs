//! `auth_axum::serve` over real sockets on 127.0.0.1, with one-second limits: slow and idle
//! clients and clients that do not take their responses are cut off, the connection caps
//! hold, and an announced oversized body is refused before it is sent.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use auth_axum::{ServeConfig, serve};
use axum::routing;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
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
        .route("/echo", routing::post(|body: String| async move { body }))
        .route("/big", routing::get(|| async { vec![b'x'; BIG] }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, router, config, async move {
        let _ = stopped.await;
    }));
    Server { addr, _stop: stop }
}

/// Every limit out of the way; each test sets the one it checks.
fn config() -> ServeConfig {
    ServeConfig::default()
        .with_header_timeout(LONG)
        .with_body_timeout(LONG)
        .with_idle_timeout(LONG)
        .with_write_timeout(LONG)
        .with_response_timeout(LONG)
        .with_max_connections_per_ip(None)
}

/// The size of `GET /big`.
const BIG: usize = 1 << 20;

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

#[tokio::test]
async fn a_client_that_never_reads_its_responses_is_cut_off() {
    // One connection at a time: a fresh client is served only once the stuck one is gone.
    let server = start(config().with_write_timeout(SECOND).with_max_connections(1)).await;
    let socket = TcpSocket::new_v4().unwrap();
    // A small receive buffer, so that a few responses fill it whatever the kernel's tuning.
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stuck = socket.connect(server.addr).await.unwrap();
    let pipelined = b"GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n".repeat(32);
    stuck.write_all(&pipelined).await.unwrap();
    // 32 MiB of answers wait for a client that reads none of them.
    let mut fresh = TcpStream::connect(server.addr).await.unwrap();
    fresh.write_all(GET).await.unwrap();
    assert!(read_hello(&mut fresh).await.starts_with("HTTP/1.1 200"));
    read_until_closed(&mut stuck)
        .await
        .expect("the stuck connection is closed");
}

/// A connection to `addr` from `from` (any loopback address works on Linux).
async fn connect_from(from: Ipv4Addr, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::V4(from), 0)).unwrap();
    socket.connect(addr).await.unwrap()
}

#[tokio::test]
async fn one_client_gets_only_its_share_of_connections() {
    let server = start(config().with_max_connections_per_ip(2)).await;
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    for stream in [&mut first, &mut second] {
        stream.write_all(GET).await.unwrap();
        read_hello(stream).await;
    }
    // The third from 127.0.0.1 is closed unanswered...
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    let _ = third.write_all(GET).await;
    let answer = read_until_closed(&mut third)
        .await
        .expect("the third connection is closed");
    assert!(!answer.contains("200"), "{answer}");
    // ... while another client is served.
    let mut other = connect_from(Ipv4Addr::new(127, 0, 0, 2), server.addr).await;
    other.write_all(GET).await.unwrap();
    assert!(read_hello(&mut other).await.starts_with("HTTP/1.1 200"));
    // Once one of its connections closes, the client may open another (the server notices
    // the close a moment later, so a few tries).
    drop(first);
    let mut served = false;
    for _ in 0..50 {
        let mut again = TcpStream::connect(server.addr).await.unwrap();
        if again.write_all(GET).await.is_ok() {
            let mut buf = [0_u8; 1024];
            if let Ok(Ok(n)) = timeout(PATIENCE, again.read(&mut buf)).await
                && String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200")
            {
                served = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "the closed connection's place was not given back");
}

#[tokio::test]
async fn an_http2_response_the_client_never_lets_through_is_cut_off() {
    // One connection at a time: a fresh client is served only once the stuck one is gone.
    let server = start(
        config()
            .with_response_timeout(SECOND)
            .with_max_connections(1),
    )
    .await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    // A stream window of zero: the client reads its socket but lets no response data through.
    let (mut client, connection) = h2::client::Builder::new()
        .initial_window_size(0)
        .handshake::<_, &'static [u8]>(tcp)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    let request = http::Request::get("http://localhost/big").body(()).unwrap();
    let (response, _) = client.send_request(request, true).unwrap();
    let response = timeout(PATIENCE, response)
        .await
        .expect("the response head")
        .unwrap();
    assert_eq!(response.status(), 200);
    // Holding the body keeps the stream open (dropping it would cancel the request).
    let _body = response.into_body();
    let mut fresh = TcpStream::connect(server.addr).await.unwrap();
    fresh.write_all(GET).await.unwrap();
    assert!(read_hello(&mut fresh).await.starts_with("HTTP/1.1 200"));
    let _ended = timeout(PATIENCE, connection)
        .await
        .expect("the stuck connection is closed")
        .unwrap();
    drop(client);
}
