//! A served connection's deadlines: which one applies to a read, the write stall timer, and
//! the watch for a response that takes too long.

use std::collections::BTreeMap;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

use super::ServeConfig;
use super::per_ip::IpSlot;

/// What a connection waits for between requests, when no request is in progress.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Between requests, since this instant: the idle timeout.
    Idle(Instant),
    /// A request head is arriving, since this instant: the header timeout.
    Head(Instant),
}

#[derive(Debug)]
struct State {
    phase: Phase,
    /// The requests in progress, by the instant each began (several may share one).
    started: BTreeMap<Instant, usize>,
    /// The task waiting to read, to wake when the read deadline changes.
    reader: Option<Waker>,
    /// The task watching for an overdue response, to wake when a first request begins.
    overseer: Option<Waker>,
    /// Until when the next request is not read: the client was refused for overload and
    /// told to come back later.
    hold: Option<Instant>,
}

/// A connection's state, shared by its socket, its requests and its task.
#[derive(Debug)]
pub(super) struct Watch {
    config: ServeConfig,
    state: Mutex<State>,
    /// Whether `state.hold` may be set: a read checks this before taking the lock.
    holding: AtomicBool,
}

impl Watch {
    pub(super) fn new(config: ServeConfig) -> Self {
        // A new connection owes its first request head at once.
        Self {
            config,
            state: Mutex::new(State {
                phase: Phase::Head(Instant::now()),
                started: BTreeMap::new(),
                reader: None,
                overseer: None,
                hold: None,
            }),
            holding: AtomicBool::new(false),
        }
    }

    /// Reads nothing more from the client for between half of `wait` and `wait` (at most the
    /// idle timeout). The spread keeps clients refused together from all coming back at once.
    fn hold(&self, wait: std::time::Duration) {
        let wait = wait.min(self.config.idle_timeout());
        let until = Instant::now().checked_add(wait / 2 + wait.mul_f64(spread() / 2.0));
        self.with(|state| {
            state.hold = state.hold.max(until);
        });
        self.holding.store(true, Ordering::Release);
    }

    /// Until when reads are held, if they are; a hold that has run out is lifted, and the
    /// idle timeout starts again from then.
    fn held_until(&self) -> Option<Instant> {
        if !self.holding.load(Ordering::Acquire) {
            return None;
        }
        self.with(|state| {
            let now = Instant::now();
            match state.hold {
                Some(until) if until > now => Some(until),
                _ => {
                    state.hold = None;
                    self.holding.store(false, Ordering::Release);
                    if let Phase::Idle(_) = state.phase {
                        state.phase = Phase::Idle(now);
                    }
                    None
                }
            }
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Bytes arrived: between requests, they start a request head.
    fn received(&self) {
        self.with(|state| {
            if let Phase::Idle(_) = state.phase {
                state.phase = Phase::Head(Instant::now());
            }
        });
    }

    /// Until when a read may wait, and the waker to call when that changes. While a request is
    /// in progress a read waits without limit: its body has its own deadline, and the response
    /// the response timeout.
    fn read_deadline(&self, waker: &Waker) -> Option<Instant> {
        self.with(|state| {
            state.reader = Some(waker.clone());
            if !state.started.is_empty() {
                return None;
            }
            match state.phase {
                Phase::Idle(since) => since.checked_add(self.config.idle_timeout()),
                Phase::Head(since) => since.checked_add(self.config.header_timeout()),
            }
        })
    }

    /// When the oldest request in progress began, and the waker to call when a first begins.
    fn oldest(&self, waker: &Waker) -> Option<Instant> {
        self.with(|state| {
            state.overseer = Some(waker.clone());
            state.started.keys().next().copied()
        })
    }
}

/// A number in `[0, 1)`, different at each call (not for secrets: std's per-call hasher keys).
fn spread() -> f64 {
    use std::hash::BuildHasher;
    let bits = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// A request in progress; dropping it (when the response body is written or dropped) ends it.
#[derive(Debug)]
pub(super) struct Busy {
    watch: Arc<Watch>,
    since: Instant,
}

impl Busy {
    pub(super) fn begin(watch: &Arc<Watch>) -> Self {
        let since = Instant::now();
        let overseer = watch.with(|state| {
            let first = state.started.is_empty();
            *state.started.entry(since).or_default() += 1;
            // Later requests never move the oldest start, so only the first needs the wake.
            if first { state.overseer.take() } else { None }
        });
        if let Some(waker) = overseer {
            waker.wake();
        }
        Self {
            watch: Arc::clone(watch),
            since,
        }
    }

    /// Holds the connection's next request unread for `wait`: the response to this one told
    /// the client to come back no sooner (a `503` for overload, with `Retry-After`). A client
    /// that retries at once on the same connection waits in its socket's buffer, at no cost to
    /// the server, instead of being refused again and again; one that honours the header never
    /// notices. Over HTTP/2 nothing is held (other streams share the connection).
    pub(super) fn hold_reads(&self, wait: std::time::Duration) {
        self.watch.hold(wait);
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let reader = self.watch.with(|state| {
            if let Some(count) = state.started.get_mut(&self.since) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    state.started.remove(&self.since);
                }
            }
            if state.started.is_empty() {
                state.phase = Phase::Idle(Instant::now());
                state.reader.take()
            } else {
                None
            }
        });
        // A read may be waiting with no deadline; let it pick up the idle timeout.
        if let Some(waker) = reader {
            waker.wake();
        }
    }
}

/// Completes once a request has been in progress for longer than the response timeout (never
/// when there is none): the connection is then closed, which ends all its requests.
pub(super) async fn overdue(watch: Arc<Watch>) {
    let Some(limit) = watch.config.response_timeout() else {
        return std::future::pending().await;
    };
    let mut timer = Box::pin(tokio::time::sleep(limit));
    poll_fn(|cx| {
        // The timer may fire for a request that has since ended: the next oldest sets it anew.
        let Some(deadline) = watch
            .oldest(cx.waker())
            .and_then(|since| since.checked_add(limit))
        else {
            return Poll::Pending;
        };
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        timer.as_mut().poll(cx)
    })
    .await;
}

/// What an open connection holds until its socket is dropped, even after an upgrade: its place
/// under the connection cap and under its client's.
#[derive(Debug)]
pub(super) struct Held {
    pub(super) _slot: OwnedSemaphorePermit,
    pub(super) _per_ip: Option<IpSlot>,
}

/// The socket, failing a read that waits past the connection's deadline and a write that makes
/// no progress for the write timeout: hyper then closes the connection.
pub(super) struct Watched {
    stream: TcpStream,
    watch: Arc<Watch>,
    read_timer: Pin<Box<Sleep>>,
    write_timer: Pin<Box<Sleep>>,
    /// Whether the last write waited for the socket, and until when it may go on waiting.
    write_stall: Option<Option<Instant>>,
    _held: Held,
}

impl Watched {
    pub(super) fn new(stream: TcpStream, watch: Arc<Watch>, held: Held) -> Self {
        let config = watch.config;
        Self {
            stream,
            watch,
            read_timer: Box::pin(tokio::time::sleep(config.header_timeout())),
            write_timer: Box::pin(tokio::time::sleep(config.write_timeout())),
            write_stall: None,
            _held: held,
        }
    }

    /// Runs a write under the stall timer: the timer starts when a write first has to wait, and
    /// a write that goes through stops it. A client that does not read its
    /// responses leaves the socket's buffers full, so its writes wait until the timer fails them.
    fn stall_timed<T>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match op(Pin::new(&mut self.stream), cx) {
            Poll::Pending => {
                let deadline = *self.write_stall.get_or_insert_with(|| {
                    let deadline = Instant::now().checked_add(self.watch.config.write_timeout());
                    if let Some(deadline) = deadline {
                        self.write_timer.as_mut().reset(deadline);
                    }
                    deadline
                });
                if deadline.is_some() && self.write_timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client did not read its response for too long",
                    )));
                }
                Poll::Pending
            }
            ready => {
                self.write_stall = None;
                ready
            }
        }
    }
}

/// Sets `timer` to `deadline` and reports whether that has passed (waking the task when it does).
fn poll_deadline(timer: &mut Pin<Box<Sleep>>, deadline: Instant, cx: &mut Context<'_>) -> bool {
    if timer.deadline() != deadline {
        timer.as_mut().reset(deadline);
    }
    timer.as_mut().poll(cx).is_ready()
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        // A held connection's next request waits in the socket, unread, until the hold ends.
        if let Some(until) = this.watch.held_until() {
            if !poll_deadline(&mut this.read_timer, until, cx) {
                return Poll::Pending;
            }
            // Run out now: lift it (and restart the idle timeout) before reading.
            let _ = this.watch.held_until();
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.watch.received();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                if let Some(deadline) = this.watch.read_deadline(cx.waker())
                    && poll_deadline(&mut this.read_timer, deadline, cx)
                {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client was too slow or idle too long",
                    )));
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
        self.stall_timed(cx, |stream, cx| stream.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.stall_timed(cx, |stream, cx| stream.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    // A TCP socket's flush and shutdown never wait (the kernel takes them at once), and they
    // move no bytes, so they neither start nor stop the stall timer.
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
