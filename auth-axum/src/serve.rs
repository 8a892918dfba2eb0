//! [`serve`]: axum's `serve` with what a public server needs against slow clients.

mod per_ip;
mod socket;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use auth_core::env::{Env, EnvError};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower_http::timeout::{DeadlineBody, TimeoutError};

use self::per_ip::PerIp;
use self::socket::{Busy, Held, Watch, Watched};
use crate::error::{ApiError, HoldReads};

/// How many requests one HTTP/2 connection may have in progress at once (RFC 9113 asks that
/// this be no lower than 100).
const MAX_CONCURRENT_STREAMS: u32 = 100;

/// The limits [`serve`] puts on clients. Every limit has a default fit for a public server
/// that clients reach directly.
///
/// What each limit bounds:
///
/// | a client that | is stopped by |
/// |---|---|
/// | sends a request head slowly | the header timeout |
/// | sends a request body slowly | the body timeout (`408`) |
/// | keeps a connection open without using it | the idle timeout |
/// | does not read its responses (its socket buffers stay full) | the write timeout |
/// | reads its socket but never lets a response through (an HTTP/2 flow-control window of zero) | the response timeout |
/// | vanishes while a response is held up (HTTP/2) | a ping after an idle timeout without incoming data, unanswered within the write timeout |
/// | opens many connections | the per-client cap, then the connection cap |
/// | retries a login refused for overload at once, on the same connection | the `Retry-After` hold: its next request is read after half to all of that wait |
/// | holds a request open while the server shuts down | the shutdown timeout |
///
/// Not bounded: a client that reads slowly but steadily holds its connection until the
/// response timeout; clients spread over many addresses are stopped only by the connection
/// cap. Over HTTP/2 one connection has at most 100 requests in progress, and a held-up
/// request keeps its handler's response and up to hyper's per-stream send buffer (about
/// 400 KB) until the response timeout closes the connection.
///
/// ```
/// use std::time::Duration;
/// use auth_axum::ServeConfig;
///
/// let config = ServeConfig::default()
///     .with_header_timeout(Duration::from_secs(5))
///     .with_max_connections(2_000)
///     // Behind a reverse proxy every client has the proxy's address.
///     .with_max_connections_per_ip(None);
/// assert_eq!(config.body_timeout(), Duration::from_secs(30));
/// assert_eq!(config.write_timeout(), Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeConfig {
    header_timeout: Duration,
    body_timeout: Duration,
    idle_timeout: Duration,
    write_timeout: Duration,
    response_timeout: Option<Duration>,
    shutdown_timeout: Duration,
    max_connections: usize,
    max_connections_per_ip: Option<usize>,
}

impl Default for ServeConfig {
    /// Header timeout 10 s, body timeout 30 s, idle timeout 60 s, write timeout 30 s, response
    /// timeout 5 min, shutdown timeout 30 s, 10,000 connections, 64 per client.
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            response_timeout: Some(Duration::from_secs(300)),
            shutdown_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            max_connections_per_ip: Some(64),
        }
    }
}

impl ServeConfig {
    /// How long a client may take to send a request's head (request line and headers), from
    /// its first byte, or on a new connection from the connection's start (default 10 s).
    /// A client that takes longer has its connection closed.
    #[must_use]
    pub fn with_header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// How long a request's body may take to arrive in full, from the end of its head
    /// (default 30 s). A late body is answered `408 {"detail":"Request Timeout"}` and the
    /// connection closed.
    #[must_use]
    pub fn with_body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// How long a kept-alive connection may wait for its next request (default 60 s). Over
    /// HTTP/2 it is also how long the server waits without hearing from a client, while a
    /// request is in progress, before it pings the client.
    #[must_use]
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How long a write to the client may wait without any of it going out (default 30 s);
    /// then the connection is closed. A client that does not read what it is sent (say,
    /// pipelined requests whose answers it never reads) fills the socket's buffers, and would
    /// otherwise hold its connection forever. A client that reads slowly but steadily is not
    /// affected. Over HTTP/2 it is also how long an answer to a ping may take.
    #[must_use]
    pub fn with_write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// How long a request may take from the end of its head until its response has been
    /// handed to the socket in full (default 5 min); a request still in progress then closes
    /// its connection, with every other request on it. This bounds an HTTP/2 client that
    /// reads its socket but lets no response data through (a flow-control window of zero),
    /// which the write timeout cannot see, and a handler that never finishes. It includes the
    /// handler's own time and the upload; responses meant to last (server-sent events, large
    /// downloads) need a longer one, or `None` for no limit. An upgraded connection
    /// (WebSocket) is no longer a request and is not subject to it.
    #[must_use]
    pub fn with_response_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.response_timeout = timeout.into();
        self
    }

    /// How long a shutdown waits for the requests in flight (default 30 s). When the shutdown
    /// future completes, [`serve`] stops accepting, closes idle connections, lets every
    /// request in progress finish and send its response, and closes each connection after
    /// its last response; connections still busy when this time runs out are closed then,
    /// and [`serve`] returns. Keep it below the time your supervisor waits between `SIGTERM`
    /// and `SIGKILL` (Kubernetes: 30 s by default, `terminationGracePeriodSeconds`).
    #[must_use]
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// How many connections are served at once (default 10,000); further connections wait
    /// in the listener's backlog until one closes. At least one. An upgraded connection
    /// (WebSocket) counts until it closes.
    #[must_use]
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How many connections one client may have open at once (default 64; at least one), or
    /// `None` for no limit. A client's further connections are closed as soon as they are
    /// accepted, so that one host cannot take all of [`max_connections`](Self::max_connections).
    /// A client is an IPv4 address (also when written as IPv6, `::ffff:a.b.c.d`) or an IPv6
    /// /64 network, since one subscriber usually holds a whole /64.
    ///
    /// The address is the TCP peer's. Behind a reverse proxy or load balancer every client has
    /// the proxy's address, so raise this to what the proxy may open, or set `None`, and
    /// limit connections per client at the proxy.
    #[must_use]
    pub fn with_max_connections_per_ip(mut self, max: impl Into<Option<usize>>) -> Self {
        self.max_connections_per_ip = max.into().map(|max| max.max(1));
        self
    }

    /// The defaults, with the serving limits read from the process environment (see
    /// [`ServeConfig::from_lookup`]).
    ///
    /// # Errors
    /// As [`ServeConfig::from_lookup`].
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_lookup(&Env::process())
    }

    /// The defaults, with the serving limits read from `env`:
    ///
    /// | variable | limit | default |
    /// |---|---|---|
    /// | `HTTP_HEADER_TIMEOUT` | [`with_header_timeout`](Self::with_header_timeout) | `10s` |
    /// | `HTTP_BODY_TIMEOUT` | [`with_body_timeout`](Self::with_body_timeout) | `30s` |
    /// | `HTTP_IDLE_TIMEOUT` | [`with_idle_timeout`](Self::with_idle_timeout) | `60s` |
    /// | `HTTP_WRITE_TIMEOUT` | [`with_write_timeout`](Self::with_write_timeout) | `30s` |
    /// | `HTTP_SHUTDOWN_TIMEOUT` | [`with_shutdown_timeout`](Self::with_shutdown_timeout) | `30s` |
    /// | `HTTP_MAX_CONNECTIONS` | [`with_max_connections`](Self::with_max_connections) | 10000 |
    /// | `HTTP_MAX_CONNECTIONS_PER_IP` | [`with_max_connections_per_ip`](Self::with_max_connections_per_ip); `0` for none | 64 |
    ///
    /// Durations are `30s`, `2m`, `1h` or bare seconds. The response timeout keeps its
    /// default.
    ///
    /// ```
    /// use std::time::Duration;
    /// use auth_axum::ServeConfig;
    /// use auth_core::env::Env;
    ///
    /// let env = Env::from_map([("HTTP_BODY_TIMEOUT", "2m"), ("HTTP_MAX_CONNECTIONS_PER_IP", "0")]);
    /// let config = ServeConfig::from_lookup(&env)?;
    /// assert_eq!(config.body_timeout(), Duration::from_secs(120));
    /// assert_eq!(config.max_connections_per_ip(), None);
    /// # Ok::<(), auth_core::env::EnvError>(())
    /// ```
    ///
    /// # Errors
    /// An [`EnvError`] naming a variable that does not parse.
    pub fn from_lookup(env: &Env) -> Result<Self, EnvError> {
        let defaults = Self::default();
        let max_connections_per_ip = match env.string("HTTP_MAX_CONNECTIONS_PER_IP") {
            None => defaults.max_connections_per_ip,
            Some(value) => match value.parse::<usize>() {
                Ok(0) => None,
                Ok(max) => Some(max),
                Err(_) => {
                    return Err(EnvError::new(
                        "HTTP_MAX_CONNECTIONS_PER_IP",
                        format!("{value:?} is not a whole number"),
                        "Use a number like 64, or 0 for no limit per client (behind a proxy).",
                    ));
                }
            },
        };
        let max_connections = env.positive_number(
            "HTTP_MAX_CONNECTIONS",
            u64::try_from(defaults.max_connections).unwrap_or(u64::MAX),
        )?;
        Ok(defaults
            .with_header_timeout(env.duration("HTTP_HEADER_TIMEOUT", defaults.header_timeout)?)
            .with_body_timeout(env.duration("HTTP_BODY_TIMEOUT", defaults.body_timeout)?)
            .with_idle_timeout(env.duration("HTTP_IDLE_TIMEOUT", defaults.idle_timeout)?)
            .with_write_timeout(env.duration("HTTP_WRITE_TIMEOUT", defaults.write_timeout)?)
            .with_shutdown_timeout(
                env.duration("HTTP_SHUTDOWN_TIMEOUT", defaults.shutdown_timeout)?,
            )
            .with_max_connections(usize::try_from(max_connections).unwrap_or(usize::MAX))
            .with_max_connections_per_ip(max_connections_per_ip))
    }

    /// The header timeout.
    pub fn header_timeout(&self) -> Duration {
        self.header_timeout
    }

    /// The body timeout.
    pub fn body_timeout(&self) -> Duration {
        self.body_timeout
    }

    /// The idle timeout.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> Duration {
        self.write_timeout
    }

    /// The response timeout, if any.
    pub fn response_timeout(&self) -> Option<Duration> {
        self.response_timeout
    }

    /// The shutdown timeout.
    pub fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }

    /// The connection cap.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// The per-client connection cap, if any.
    pub fn max_connections_per_ip(&self) -> Option<usize> {
        self.max_connections_per_ip
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, closes
/// idle connections and waits for the requests in flight, at most
/// [`ServeConfig::with_shutdown_timeout`]: each gets its whole response, and connections
/// still busy after that time are closed.
///
/// Unlike a bare `axum::serve(listener, router)`, it
/// - gives every request the client's address as `ConnectInfo<SocketAddr>`, which per-IP
///   throttling and [`Client`](crate::Client) read (without it they see no client at all);
/// - closes connections whose request head trickles in, and idle kept-alive connections;
/// - answers `408` when a request body is late;
/// - closes connections whose client does not take its responses (see
///   [`ServeConfig::with_write_timeout`] and [`ServeConfig::with_response_timeout`]);
/// - serves at most [`ServeConfig::max_connections`] connections at once, and at most
///   [`ServeConfig::max_connections_per_ip`] of one client.
///
/// HTTP/1.1 and HTTP/2 (prior knowledge) are served, with upgrades (WebSockets). An upgraded
/// connection counts as idle between messages, so it needs pings more often than the idle
/// timeout.
///
/// # Errors
/// Only when the listener fails for good; failed accepts of single connections (a client
/// that hung up, too many open files) are logged and retried.
///
/// ```no_run
/// use auth_axum::{ServeConfig, serve};
/// use axum::{Router, routing::get};
///
/// # async fn run() -> std::io::Result<()> {
/// let app: Router = Router::new().route("/", get(|| async { "hello" }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// // Anything that completes when it is time to stop (a signal, a channel).
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// # drop(stop);
/// serve(listener, app, ServeConfig::default(), async {
///     let _ = stopped.await;
/// })
/// .await
/// # }
/// ```
pub async fn serve<F>(
    listener: TcpListener,
    router: Router,
    config: ServeConfig,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let per_ip = config.max_connections_per_ip.map(PerIp::new);
    let builder = connection_builder(&config);
    let graceful = GracefulShutdown::new();
    // Dropped when the shutdown timeout runs out: every connection still open then closes.
    let (force_close, closing) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // The cap: no accept until a connection slot is free.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_failed(err).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // The per-client cap: one host must not take every slot. Closing at once is the
        // cheapest answer to a flood.
        let per_ip = match &per_ip {
            None => None,
            Some(per_ip) => match per_ip.admit(peer.ip()) {
                Some(counted) => Some(counted),
                None => {
                    tracing::debug!(peer = %peer.ip(), "too many connections from one client");
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let watch = Arc::new(Watch::new(config));
        // The socket holds the slots, so they are freed when it closes, also after an upgrade.
        let io = TokioIo::new(Watched::new(
            stream,
            Arc::clone(&watch),
            Held {
                _slot: slot,
                _per_ip: per_ip,
            },
        ));
        let router = router.clone();
        let service = {
            let watch = Arc::clone(&watch);
            hyper::service::service_fn(move |request: Request<Incoming>| {
                handle(
                    router.clone(),
                    request,
                    peer,
                    config.body_timeout,
                    Busy::begin(&watch),
                )
            })
        };
        let watcher = graceful.watcher();
        let builder = builder.clone();
        let mut closing = closing.clone();
        tokio::spawn(async move {
            let connection = builder.serve_connection_with_upgrades(io, service);
            tokio::select! {
                ended = watcher.watch(connection) => {
                    if let Err(err) = ended {
                        tracing::debug!(error = ?err, peer = %peer, "connection ended with an error");
                    }
                }
                // Dropping the connection closes the socket and ends all its requests.
                () = socket::overdue(watch) => {
                    tracing::debug!(peer = %peer, "a response took too long; connection closed");
                }
                _ = closing.changed() => {
                    tracing::debug!(peer = %peer, "still busy at the end of the shutdown timeout; connection closed");
                }
            }
        });
    }
    drop(listener);
    let open = graceful.count();
    if tokio::time::timeout(config.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open_at_shutdown = open,
            timeout = ?config.shutdown_timeout,
            "connections still busy at the end of the shutdown timeout were closed"
        );
    }
    drop(force_close);
    Ok(())
}

/// The HTTP/1 and HTTP/2 settings of every connection.
fn connection_builder(config: &ServeConfig) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Pings find a client that vanished while its responses were held up; the cap on streams
    // bounds what one connection holds.
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(config.idle_timeout)
        .keep_alive_timeout(config.write_timeout)
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS);
    builder
}

/// An accept that failed: a client that hung up before it was accepted is nothing; anything
/// else (out of file descriptors) is logged, and accepting pauses a moment to let it pass.
async fn accept_failed(err: io::Error) {
    if matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %err, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One request: the client's address in, the body under its deadline, and the connection
/// busy until the response body is written.
async fn handle(
    router: Router,
    request: Request<Incoming>,
    peer: SocketAddr,
    body_timeout: Duration,
    busy: Busy,
) -> Result<Response, Infallible> {
    let late = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&late);
    let mut request = request.map(|body| {
        Body::new(DeadlineBody::new(body_timeout, body).map_err(move |err| {
            if err.is::<TimeoutError>() {
                flag.store(true, Ordering::Relaxed);
            }
            err
        }))
    });
    request.extensions_mut().insert(ConnectInfo(peer));
    let http1 = request.version() < Version::HTTP_2;
    let mut response = match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    if let Some(HoldReads(wait)) = response.extensions_mut().remove::<HoldReads>()
        && http1
    {
        busy.hold_reads(wait);
    }
    // Whatever the handler made of a body that did not arrive in time, the answer is 408; the
    // rest of the body may still be on its way, so the connection goes.
    if late.load(Ordering::Relaxed) {
        response = ApiError::new(StatusCode::REQUEST_TIMEOUT, "Request Timeout").into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Ok(response.map(|body| {
        Body::new(body.map_frame(move |frame| {
            let _busy = &busy;
            frame
        }))
    }))
}
