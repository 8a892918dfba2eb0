//! The built-in load generator, for machines without `wrk`, the login storm (its answers
//! split into admitted and refused), and the paced latency probe that runs beside it.
//!
//! The load generator is closed-loop like wrk: each connection sends its next request when the
//! previous response is in. It runs on a current-thread runtime on the harness's CPU.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::BoxError;
use crate::client::{Connection, parse_head};
use crate::wrk::Sample;

/// Drives `addr` with `connections` connections sending `request` for `duration`.
pub(crate) fn run(
    addr: SocketAddr,
    request: &[u8],
    connections: usize,
    duration: Duration,
) -> Result<Sample, BoxError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let deadline = Instant::now() + duration;
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(connections);
        for _ in 0..connections {
            let request = request.to_vec();
            tasks.push(tokio::spawn(connection(addr, request, deadline)));
        }
        let mut latencies = Vec::new();
        let mut errors = 0;
        let mut non2xx = 0;
        for task in tasks {
            match task.await {
                Ok(Ok(answers)) => {
                    non2xx += answers.iter().filter(|a| !a.is_2xx()).count() as u64;
                    latencies.extend(answers.into_iter().map(|a| a.latency_us));
                }
                Ok(Err(_)) | Err(_) => errors += 1,
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        Ok(Sample::from_latencies(latencies, seconds, errors, non2xx))
    })
}

/// One response: how long it took, its status, whether it said when to retry, and whether
/// its request was an early retry (sent before the previous answer's `Retry-After` had passed).
#[derive(Debug, Clone, Copy)]
struct Answer {
    latency_us: u32,
    status: u16,
    retry_after: bool,
    early: bool,
}

impl Answer {
    fn is_2xx(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// What a login storm's connections were answered.
#[derive(Debug, Clone, Default)]
pub(crate) struct Storm {
    pub(crate) connections: usize,
    pub(crate) seconds: f64,
    /// Logins answered 2xx.
    pub(crate) admitted: Sample,
    /// Logins answered `503`, sent when no `Retry-After` asked the connection to wait.
    pub(crate) refused: Sample,
    /// Logins answered `503` that retried before the previous answer's `Retry-After` had
    /// passed: the server holds such a retry unread until then, so their latency is mostly
    /// that wait.
    pub(crate) early: Sample,
    /// `503`s without a `Retry-After` header.
    pub(crate) refused_without_retry_after: u64,
    /// Responses neither 2xx nor `503`.
    pub(crate) other: u64,
    /// Connections that failed (connect, reset, closed).
    pub(crate) errors: u64,
}

impl Storm {
    /// The share of the storm's answers that were `503`.
    pub(crate) fn refused_share(&self) -> f64 {
        let refused = self.refused.requests + self.early.requests;
        let all = self.admitted.requests + refused + self.other;
        if all == 0 {
            return f64::NAN;
        }
        refused as f64 / all as f64
    }
}

/// A login storm: `connections` closed-loop connections sending `request` for `duration`
/// (ignoring `Retry-After`, as a hostile client would), its answers split into admitted
/// (2xx) and refused (`503`).
pub(crate) fn storm(
    addr: SocketAddr,
    request: &[u8],
    connections: usize,
    duration: Duration,
) -> Result<Storm, BoxError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let deadline = Instant::now() + duration;
        let started = Instant::now();
        let tasks: Vec<_> = (0..connections)
            .map(|_| tokio::spawn(connection(addr, request.to_vec(), deadline)))
            .collect();
        let (mut admitted, mut refused, mut early) = (Vec::new(), Vec::new(), Vec::new());
        let mut storm = Storm {
            connections,
            ..Storm::default()
        };
        for task in tasks {
            let Ok(Ok(answers)) = task.await else {
                storm.errors += 1;
                continue;
            };
            for answer in answers {
                match answer.status {
                    _ if answer.is_2xx() => admitted.push(answer.latency_us),
                    503 => {
                        if answer.early {
                            early.push(answer.latency_us);
                        } else {
                            refused.push(answer.latency_us);
                        }
                        storm.refused_without_retry_after += u64::from(!answer.retry_after);
                    }
                    _ => storm.other += 1,
                }
            }
        }
        storm.seconds = started.elapsed().as_secs_f64();
        storm.admitted = Sample::from_latencies(admitted, storm.seconds, 0, 0);
        storm.refused = Sample::from_latencies(refused, storm.seconds, 0, 0);
        storm.early = Sample::from_latencies(early, storm.seconds, 0, 0);
        Ok(storm)
    })
}

async fn connection(
    addr: SocketAddr,
    request: Vec<u8>,
    deadline: Instant,
) -> Result<Vec<Answer>, BoxError> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(4096);
    let mut answers = Vec::new();
    // When the last answer's `Retry-After` runs out (this client does not wait for it).
    let mut allowed_at: Option<Instant> = None;
    while Instant::now() < deadline {
        let sent = Instant::now();
        let early = allowed_at.is_some_and(|at| sent < at);
        stream.write_all(&request).await?;
        buf.clear();
        let head = loop {
            if let Some(head) = parse_head(&buf)? {
                break head;
            }
            if stream.read_buf(&mut buf).await? == 0 {
                return Err("connection closed".into());
            }
        };
        while buf.len() < head.head_len + head.body_len {
            if stream.read_buf(&mut buf).await? == 0 {
                return Err("connection closed".into());
            }
        }
        let micros = sent.elapsed().as_micros();
        let retry_after = retry_after_seconds(&buf[..head.head_len]);
        allowed_at = retry_after.map(|seconds| Instant::now() + Duration::from_secs(seconds));
        answers.push(Answer {
            latency_us: u32::try_from(micros).unwrap_or(u32::MAX),
            status: head.status,
            retry_after: retry_after.is_some(),
            early,
        });
    }
    Ok(answers)
}

/// The seconds of a response head's `Retry-After`, when it has one.
fn retry_after_seconds(head: &[u8]) -> Option<u64> {
    String::from_utf8_lossy(head)
        .split("\r\n")
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("retry-after")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
}

/// What the probe saw.
#[derive(Debug, Clone, Default)]
pub(crate) struct Probe {
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
    pub(crate) max_us: f64,
    pub(crate) requests: usize,
    pub(crate) failures: usize,
}

/// Sends one `request` every `interval` on one keep-alive connection for `duration`, and
/// measures each response's latency from its scheduled send time (so a stall also delays
/// the requests queued behind it, as it would for real clients).
pub(crate) fn probe(
    addr: SocketAddr,
    request: &[u8],
    interval: Duration,
    duration: Duration,
) -> Result<Probe, BoxError> {
    let mut conn = Connection::open(addr)?;
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut failures = 0;
    let mut next = started;
    while next.duration_since(started) < duration {
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        match conn.send(request) {
            Ok(200) => latencies.push(next.elapsed().as_secs_f64() * 1e6),
            Ok(_) => failures += 1,
            Err(_) => {
                failures += 1;
                conn = Connection::open(addr)?;
            }
        }
        next += interval;
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies.get(index).copied().unwrap_or(f64::NAN)
    };
    Ok(Probe {
        p50_us: at(0.50),
        p99_us: at(0.99),
        max_us: latencies.last().copied().unwrap_or(f64::NAN),
        requests: latencies.len(),
        failures,
    })
}
