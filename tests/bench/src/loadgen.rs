//! The built-in load generator, for machines without `wrk`, and the paced latency probe of the
//! login storm.
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
                Ok(Ok(outcome)) => {
                    latencies.extend(outcome.latencies_us);
                    non2xx += outcome.non2xx;
                }
                Ok(Err(_)) | Err(_) => errors += 1,
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        Ok(Sample::from_latencies(latencies, seconds, errors, non2xx))
    })
}

struct Outcome {
    latencies_us: Vec<u32>,
    non2xx: u64,
}

async fn connection(
    addr: SocketAddr,
    request: Vec<u8>,
    deadline: Instant,
) -> Result<Outcome, BoxError> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(4096);
    let mut outcome = Outcome {
        latencies_us: Vec::new(),
        non2xx: 0,
    };
    while Instant::now() < deadline {
        let sent = Instant::now();
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
        outcome
            .latencies_us
            .push(u32::try_from(micros).unwrap_or(u32::MAX));
        if !(200..300).contains(&head.status) {
            outcome.non2xx += 1;
        }
    }
    Ok(outcome)
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
