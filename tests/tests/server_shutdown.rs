//! `SIGTERM` to the reference server's binary while it is busy: every request it has begun
//! gets its whole answer, idle kept-alive connections do not hold the exit up, a request that
//! never ends is cut at the shutdown timeout, and every login whose answer arrived has a
//! complete session on the restarted server, while no login that was cut left one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth_e2e::mixed_load::{Answer, send};
use auth_e2e::server::{Backend, Config, PASSWORD};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Concurrent clients logging in while the server stops.
const CLIENTS: usize = 6;

async fn config() -> Config {
    Config::new(Backend::PostgresRedis)
        .await
        .with("RATE_LIMIT_LOGIN_ACCOUNT", "100000/1m")
        .with("RATE_LIMIT_LOGIN_IP", "100000/1m")
        .with("MAX_SESSIONS_PER_USER", "100000")
        .with("HTTP_MAX_CONNECTIONS_PER_IP", "0")
}

fn address(base: &str) -> String {
    base.trim_start_matches("http://").to_owned()
}

/// The login form of `email`, and a request head announcing it.
fn login_request(base: &str, email: &str) -> (String, String) {
    let body = format!(
        "grant_type=password&username={}&password={}",
        email.replace('@', "%40"),
        PASSWORD.replace(' ', "+")
    );
    let head = format!(
        "POST /auth/jwt/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        address(base),
        body.len()
    );
    (head, body)
}

/// Reads until the server closes the connection.
async fn read_to_close(stream: &mut TcpStream) -> Result<String, std::io::Error> {
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .map_err(|_| std::io::Error::other("no end of the answer within 30 s"))??;
    Ok(String::from_utf8_lossy(&raw).into_owned())
}

/// A kept-alive connection that has had one answer and is now idle.
async fn idle_connection(base: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address(base)).await.unwrap();
    let request = format!("GET /health HTTP/1.1\r\nHost: {}\r\n\r\n", address(base));
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buffer = vec![0_u8; 4096];
    let n = stream.read(&mut buffer).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buffer[..n])
    );
    stream
}

#[derive(Debug)]
struct Login {
    email: String,
    started: Instant,
    answer: Result<Answer, String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_answers_every_request_begun_and_leaves_no_half_session() {
    let config = config().await;
    let mut server = config.start().await;
    let users: Vec<String> = (0..CLIENTS)
        .map(|n| format!("drain{n}-{}@example.com", auth_e2e::unique()))
        .collect();
    for email in &users {
        server.register(email, PASSWORD).await;
    }

    // Logins on fresh connections (no kept-alive connection a request could race with).
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let logins = Arc::new(Mutex::new(Vec::<Login>::new()));
    let clients: Vec<_> = users
        .iter()
        .map(|email| {
            let (http, stop, logins) = (http.clone(), stop.clone(), logins.clone());
            let (url, email) = (server.url("/auth/jwt/login"), email.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let started = Instant::now();
                    let request = http.post(&url).form(&[
                        ("grant_type", "password"),
                        ("username", email.as_str()),
                        ("password", PASSWORD),
                    ]);
                    let answer = send(request).await;
                    let refused = answer.is_err();
                    logins.lock().unwrap().push(Login {
                        email: email.clone(),
                        started,
                        answer,
                    });
                    if refused {
                        // The server has stopped listening.
                        break;
                    }
                }
            })
        })
        .collect();

    // Kept-alive connections left idle, and connections that never send a byte.
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(idle_connection(&server.base).await);
    }
    for _ in 0..2 {
        idle.push(TcpStream::connect(address(&server.base)).await.unwrap());
    }
    // A login whose body is half sent when the signal comes: it is in progress, so it must
    // be served in full.
    let (head, body) = login_request(&server.base, &users[0]);
    let mut in_flight = TcpStream::connect(address(&server.base)).await.unwrap();
    in_flight.write_all(head.as_bytes()).await.unwrap();
    in_flight
        .write_all(&body.as_bytes()[..body.len() / 2])
        .await
        .unwrap();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let signalled = Instant::now();
    server.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    in_flight
        .write_all(&body.as_bytes()[body.len() / 2..])
        .await
        .unwrap();
    let held_answer = read_to_close(&mut in_flight).await.unwrap();

    let status = tokio::task::block_in_place(|| server.wait_for_exit(Duration::from_secs(20)))
        .expect("the server did not exit within 20 s of SIGTERM");
    let exit_time = signalled.elapsed();
    eprintln!("exited {exit_time:.2?} after SIGTERM ({status}), with 5 idle connections open");
    assert!(status.success(), "{status}\n{}", server.log());
    assert!(
        exit_time < Duration::from_secs(5),
        "idle connections held the exit up: {exit_time:?}"
    );
    assert!(!server.log().contains("panicked"), "{}", server.log());
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }

    assert!(
        held_answer.starts_with("HTTP/1.1 200"),
        "the login in progress at SIGTERM: {held_answer}"
    );
    let held_body = held_answer.split_once("\r\n\r\n").unwrap().1;
    let held_tokens: serde_json::Value = serde_json::from_str(held_body).unwrap_or_else(|err| {
        panic!("the login in progress at SIGTERM got a cut answer ({err}): {held_answer}")
    });
    let held_access = held_tokens["access_token"].as_str().unwrap().to_owned();

    // Every login sent before the signal got a whole answer; after it, a login may find the
    // server gone (no connection), never a cut answer.
    let logins = std::mem::take(&mut *logins.lock().unwrap());
    let mut received: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (mut before, mut refused_after) = (0, 0);
    for login in &logins {
        let sent_before = login.started + Duration::from_millis(100) < signalled;
        before += usize::from(sent_before);
        match &login.answer {
            Ok(answer) => {
                let (access, _) = answer.tokens().unwrap_or_else(|| {
                    panic!(
                        "login of {}: {} {}",
                        login.email, answer.status, answer.body
                    )
                });
                received
                    .entry(login.email.clone())
                    .or_default()
                    .push(access);
            }
            Err(err) => {
                assert!(
                    !sent_before,
                    "a login sent {:?} before SIGTERM got no whole answer: {err}",
                    signalled - login.started
                );
                assert!(!err.starts_with("body"), "a cut answer: {err}");
                refused_after += 1;
            }
        }
    }
    let answered: usize = received.values().map(Vec::len).sum();
    eprintln!(
        "{} logins: {before} sent before SIGTERM, {answered} answered in full, {refused_after} found the server gone",
        logins.len()
    );
    assert!(before >= CLIENTS, "too little load before the signal");

    // On the restarted server: every answered login is a working session, and each user has
    // exactly the sessions whose answers arrived (plus the held login's), none of a cut login.
    let restarted = config.start().await;
    assert_eq!(restarted.me(&held_access).await.status(), 200);
    for email in &users {
        let tokens = received.get(email).map(Vec::as_slice).unwrap_or_default();
        for access in tokens {
            assert_eq!(
                restarted.me(access).await.status(),
                200,
                "a session of {email}"
            );
        }
        let Some(access) = tokens.first() else {
            continue;
        };
        let sessions: serde_json::Value = restarted
            .get(access, "/users/me/sessions")
            .await
            .json()
            .await
            .unwrap();
        let expected = tokens.len() + usize::from(email == &users[0]);
        assert_eq!(
            sessions.as_array().map(Vec::len),
            Some(expected),
            "sessions of {email}: {sessions}"
        );
    }
    drop(idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_never_ends_is_cut_at_the_shutdown_timeout() {
    let config = config()
        .await
        .with("HTTP_SHUTDOWN_TIMEOUT", "2s")
        .with("HTTP_BODY_TIMEOUT", "60s");
    let mut server = config.start().await;
    // A body that never arrives in full: the request is in progress until the body timeout.
    let (head, body) = login_request(&server.base, "nobody@example.com");
    let mut stuck = TcpStream::connect(address(&server.base)).await.unwrap();
    stuck.write_all(head.as_bytes()).await.unwrap();
    stuck.write_all(&body.as_bytes()[..4]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let signalled = Instant::now();
    server.terminate();
    let status = tokio::task::block_in_place(|| server.wait_for_exit(Duration::from_secs(20)))
        .expect("the server did not exit within 20 s of SIGTERM");
    let exit_time = signalled.elapsed();
    eprintln!("exited {exit_time:.2?} after SIGTERM with a request stuck in progress");
    assert!(status.success(), "{status}");
    assert!(
        exit_time >= Duration::from_millis(1500),
        "the request in progress was not waited for: {exit_time:?}"
    );
    assert!(
        exit_time < Duration::from_secs(6),
        "not cut at the 2 s shutdown timeout: {exit_time:?}"
    );
    let rest = read_to_close(&mut stuck).await;
    assert!(
        !matches!(&rest, Ok(text) if text.contains("access_token")),
        "a cut request issued a token: {rest:?}"
    );
}
