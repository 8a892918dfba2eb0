//! [`serve`]: axum's `serve` with what a public server needs against slow clients.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;
use tower_http::timeout::{DeadlineBody, TimeoutError};

use crate::error::ApiError;

/// The limits [`serve`] puts on clients. Every limit has a default fit for a public server.
///
/// ```
/// use std::time::Duration;
/// use auth_axum::ServeConfig;
///
/// let config = ServeConfig::default()
///     .with_header_timeout(Duration::from_secs(5))
///     .with_max_connections(2_000);
/// assert_eq!(config.body_timeout(), Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeConfig {
    header_timeout: Duration,
    body_timeout: Duration,
    idle_timeout: Duration,
    max_connections: usize,
}

impl Default for ServeConfig {
    /// Header timeout 10 s, body timeout 30 s, idle timeout 60 s, 10,000 connections.
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
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

    /// How long a kept-alive connection may wait for its next request (default 60 s).
    #[must_use]
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How many connections are served at once (default 10,000); further connections wait
    /// in the listener's backlog until one closes. At least one.
    #[must_use]
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
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

    /// The connection cap.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and waits
/// for the requests in flight.
///
/// Unlike a bare `axum::serve(listener, router)`, it
/// - gives every request the client's address as `ConnectInfo<SocketAddr>`, which per-IP
///   throttling and [`Client`](crate::Client) read (without it they see no client at all);
/// - closes connections whose request head trickles in, and idle kept-alive connections;
/// - answers `408` when a request body is late;
/// - serves at most [`ServeConfig::max_connections`] connections at once.
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
    let graceful = GracefulShutdown::new();
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
        let _ = stream.set_nodelay(true);
        let watch = Arc::new(Watch::new(config));
        let io = TokioIo::new(Watched {
            stream,
            watch: Arc::clone(&watch),
            timer: Box::pin(tokio::time::sleep(config.header_timeout)),
        });
        let router = router.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            handle(
                router.clone(),
                request,
                peer,
                config.body_timeout,
                Busy::begin(&watch),
            )
        });
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection_with_upgrades(io, service);
            if let Err(err) = watcher.watch(connection).await {
                tracing::debug!(error = ?err, peer = %peer, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
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
    let mut response = match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
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

/// Where a connection is: which timeout applies while it waits to read.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Between requests, since this instant: the idle timeout.
    Idle(Instant),
    /// A request head is arriving, since this instant: the header timeout.
    Head(Instant),
    /// This many requests are being answered: no read timeout (the body has its own).
    Busy(usize),
}

/// A connection's phase, shared by its socket and its requests.
#[derive(Debug)]
struct Watch {
    config: ServeConfig,
    state: Mutex<(Phase, Option<Waker>)>,
}

impl Watch {
    fn new(config: ServeConfig) -> Self {
        // A new connection owes its first request head at once.
        Self {
            config,
            state: Mutex::new((Phase::Head(Instant::now()), None)),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut (Phase, Option<Waker>)) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Bytes arrived: between requests, they start a request head.
    fn received(&self) {
        self.with(|(phase, _)| {
            if let Phase::Idle(_) = phase {
                *phase = Phase::Head(Instant::now());
            }
        });
    }

    /// Until when a read may wait, and the waker to call when that changes.
    fn deadline(&self, waker: &Waker) -> Option<Instant> {
        self.with(|(phase, stored)| {
            *stored = Some(waker.clone());
            match *phase {
                Phase::Idle(since) => Some(since + self.config.idle_timeout),
                Phase::Head(since) => Some(since + self.config.header_timeout),
                Phase::Busy(_) => None,
            }
        })
    }
}

/// A request in progress; dropping it (when the response body is written or dropped) ends it.
#[derive(Debug)]
struct Busy(Arc<Watch>);

impl Busy {
    fn begin(watch: &Arc<Watch>) -> Self {
        watch.with(|(phase, _)| {
            *phase = match *phase {
                Phase::Busy(count) => Phase::Busy(count + 1),
                Phase::Idle(_) | Phase::Head(_) => Phase::Busy(1),
            };
        });
        Self(Arc::clone(watch))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let waker = self.0.with(|(phase, waker)| {
            *phase = match *phase {
                Phase::Busy(count) if count > 1 => Phase::Busy(count - 1),
                _ => Phase::Idle(Instant::now()),
            };
            waker.take()
        });
        // A read may be waiting with no deadline; let it pick up the idle timeout.
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The socket, failing a read that waits past the connection's deadline: hyper then closes
/// the connection.
struct Watched {
    stream: TcpStream,
    watch: Arc<Watch>,
    timer: Pin<Box<Sleep>>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.watch.received();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                if let Some(deadline) = this.watch.deadline(cx.waker()) {
                    if this.timer.deadline() != deadline {
                        this.timer.as_mut().reset(deadline);
                    }
                    if this.timer.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "the client was too slow or idle too long",
                        )));
                    }
                }
                Poll::Pending
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
