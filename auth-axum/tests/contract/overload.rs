//! Back-pressure on the password hasher: a login, registration or reset beyond the bounded
//! hashing queue is answered `503` with `Retry-After` at once, the same for every account,
//! while requests that do not hash are served as usual.

use std::sync::Arc;

use auth_axum::Auth;
use auth_core::conformance::{CountingHasher, HeldHasher};
use auth_core::{
    HashAdmission, ManagerConfig, ManualClock, MemoryMailer, MemorySessionStore, MemoryUserStore,
    UserManager,
};
use axum::http::StatusCode;
use serde_json::json;

use crate::harness::*;

/// The reference app with one hashing slot and no queue, over a hasher the test can hold.
fn app() -> (App, Arc<HeldHasher>) {
    app_retrying_after(3)
}

/// The same, telling refused clients to come back after `seconds`.
fn app_retrying_after(seconds: i64) -> (App, Arc<HeldHasher>) {
    let hasher = Arc::new(HeldHasher::new());
    let clock = ManualClock::starting_now();
    let mailer = MemoryMailer::new();
    let manager = UserManager::<Names>::builder(
        Arc::new(MemoryUserStore::new()),
        Arc::new(MemorySessionStore::new()),
        codec(),
    )
    .with_hasher(hasher.clone())
    .with_clock(Arc::new(clock.clone()))
    .with_mailer(Arc::new(mailer.clone()))
    .with_config(ManagerConfig {
        hash_admission: Some(HashAdmission {
            slots: 1,
            queue: 0,
            retry_after: time::Duration::seconds(seconds),
        }),
        ..reference_manager_config()
    })
    .build();
    let auth = Auth::new(manager, reference_auth_config());
    let router = auth.routes();
    let parts = (auth, Arc::new(CountingHasher::new()), clock, mailer);
    (App::from_parts(router, parts), hasher)
}

#[track_caller]
fn assert_overloaded(res: &Resp) {
    res.assert_detail(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
    assert_eq!(res.header("retry-after"), Some("3"), "{}", res.text());
    assert!(res.set_cookies().is_empty(), "no token issued");
}

#[tokio::test]
async fn a_full_hashing_queue_is_503_with_retry_after_and_gets_still_answer() {
    let (app, hasher) = app();
    let (_, alice) = app.user("alice@example.com").await;
    let entered = hasher.entered();
    hasher.hold().await;

    let waiting = app.send(
        post("/auth/jwt/login")
            .json(json!({"username": "alice@example.com", "password": "a wrong guess!"})),
    );
    let refused = async {
        hasher.until_entered(entered + 1).await;
        let answers = [
            app.send(
                post("/auth/jwt/login")
                    .json(json!({"username": "alice@example.com", "password": PASSWORD})),
            )
            .await,
            app.send(
                post("/auth/jwt/login")
                    .json(json!({"username": "nobody@example.com", "password": PASSWORD})),
            )
            .await,
            app.send(
                post("/auth/cookie/login")
                    .form(&[("username", "alice@example.com"), ("password", PASSWORD)]),
            )
            .await,
            app.send(
                post("/auth/register")
                    .json(json!({"email": "bob@example.com", "password": PASSWORD})),
            )
            .await,
        ];
        // An authenticated GET does not hash: served while the queue is full.
        let me = app.me(&alice.access).await;
        let during = hasher.entered();
        hasher.release();
        (answers, me, during)
    };
    let (waited, (answers, me, during)) = tokio::join!(waiting, refused);

    waited.assert_detail(StatusCode::BAD_REQUEST, "LOGIN_BAD_CREDENTIALS");
    for res in &answers {
        assert_overloaded(res);
    }
    // The two refused logins are answered byte for byte alike, known account or not.
    assert_eq!(answers[0].body, answers[1].body);
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        during,
        entered + 1,
        "the refused requests never reached the hasher"
    );
    // Once the queue has room again, everything is served.
    app.login("alice@example.com").await;
    app.register("bob@example.com").await;
}

/// Over real sockets, served by `serve`: a client refused for overload that retries on the same
/// connection before its `Retry-After` has run out is not read (nor refused again, at a cost)
/// until at least half of it has passed; other connections are served meanwhile, and the held
/// request is answered once the hold ends.
#[tokio::test]
async fn an_early_retry_on_a_refused_connection_stays_unread_until_its_retry_after() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    let (app, hasher) = app_retrying_after(2);
    app.user("alice@example.com").await;
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let router = app.router.clone().route(
        "/seen",
        axum::routing::get(move || async move {
            counter.fetch_add(1, Ordering::SeqCst);
            "seen"
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = auth_axum::ServeConfig::default().with_max_connections_per_ip(None);
    let server = tokio::spawn(auth_axum::serve(listener, router, config, async move {
        let _ = stopped.await;
    }));

    // One login takes the only hashing place and stays in the hasher.
    let entered = hasher.entered();
    hasher.hold().await;
    let body = r#"{"username":"alice@example.com","password":"a wrong guess!"}"#;
    let login = format!(
        "POST /auth/jwt/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut first = TcpStream::connect(addr).await.unwrap();
    first.write_all(login.as_bytes()).await.unwrap();
    hasher.until_entered(entered + 1).await;

    // The next login is refused with 503 + Retry-After; its client retries at once.
    let mut eager = TcpStream::connect(addr).await.unwrap();
    eager.write_all(login.as_bytes()).await.unwrap();
    let refused = read_response(&mut eager).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(
        refused.to_ascii_lowercase().contains("retry-after: 2\r\n"),
        "{refused}"
    );
    const SEEN: &[u8] = b"GET /seen HTTP/1.1\r\nHost: localhost\r\n\r\n";
    eager.write_all(SEEN).await.unwrap();

    // Another connection is served meanwhile; the early retry is not even read.
    let mut other = TcpStream::connect(addr).await.unwrap();
    other.write_all(SEEN).await.unwrap();
    assert!(read_response(&mut other).await.starts_with("HTTP/1.1 200"));
    let mut buf = [0_u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), eager.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "the early retry was answered within its hold"
    );
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1,
        "the early retry reached the router"
    );

    // Once the hold ends the retry is read and answered as usual.
    let answered = read_response(&mut eager).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    assert_eq!(seen.load(Ordering::SeqCst), 2);

    hasher.release();
    let waited = read_response(&mut first).await;
    assert!(waited.starts_with("HTTP/1.1 400"), "{waited}");
    let _ = stop.send(());
    let _ = server.await;
}

/// Reads one response with a `Content-Length` body from a kept-alive connection.
async fn read_response(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;

    let read = async {
        let mut seen = Vec::new();
        let mut buf = [0_u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&seen).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())
                            .flatten()
                    })
                    .unwrap_or(0);
                if seen.len() >= end + 4 + length {
                    return text;
                }
            }
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the connection closed: {text}");
            seen.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .expect("a response within 10 s")
}
