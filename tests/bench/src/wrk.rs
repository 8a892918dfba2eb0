//! Driving a server with `wrk`: a Lua script per request shape whose `done()` prints the
//! figures on one line, and its parser.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::BoxError;
use crate::cases::Credential;
use crate::client::login_body;
use crate::system::{has_program, pinned};

/// One run of one case.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sample {
    pub(crate) requests: u64,
    pub(crate) rps: f64,
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
    /// Connect, read, write and timeout errors.
    pub(crate) errors: u64,
    /// Responses that were not 2xx (or 3xx, for wrk).
    pub(crate) non2xx: u64,
}

impl Sample {
    /// The mean of two runs' figures, or the one there is.
    pub(crate) fn mean(a: Option<&Self>, b: Option<&Self>) -> Option<Self> {
        match (a, b) {
            (Some(a), Some(b)) => Some(Self {
                requests: (a.requests + b.requests) / 2,
                rps: (a.rps + b.rps) / 2.0,
                p50_us: (a.p50_us + b.p50_us) / 2.0,
                p99_us: (a.p99_us + b.p99_us) / 2.0,
                errors: a.errors + b.errors,
                non2xx: a.non2xx + b.non2xx,
            }),
            (Some(one), None) | (None, Some(one)) => Some(*one),
            (None, None) => None,
        }
    }

    pub(crate) fn from_latencies(
        mut latencies_us: Vec<u32>,
        seconds: f64,
        errors: u64,
        non2xx: u64,
    ) -> Self {
        latencies_us.sort_unstable();
        let at = |q: f64| {
            let index = ((latencies_us.len() as f64 - 1.0) * q).round() as usize;
            latencies_us
                .get(index)
                .map_or(f64::NAN, |&us| f64::from(us))
        };
        let requests = latencies_us.len() as u64;
        Self {
            requests,
            rps: requests as f64 / seconds,
            p50_us: at(0.50),
            p99_us: at(0.99),
            errors,
            non2xx,
        }
    }
}

/// What a run sends.
#[derive(Debug, Clone)]
pub(crate) enum Shape<'a> {
    /// The credential, the token and the path.
    Get(Credential, &'a str, &'a str),
    Login,
}

const DONE: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%.0f p99_us=%.0f connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"#;

/// Writes the Lua script of `shape` into `dir`.
fn script(dir: &Path, shape: &Shape<'_>) -> Result<std::path::PathBuf, BoxError> {
    let (name, setup) = match shape {
        Shape::Get(Credential::None, _, _) => ("get.lua", String::new()),
        Shape::Get(Credential::Bearer, token, _) => (
            "bearer.lua",
            format!("wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n"),
        ),
        Shape::Get(Credential::Cookie, token, _) => (
            "cookie.lua",
            format!("wrk.headers[\"Cookie\"] = \"access_token={token}\"\n"),
        ),
        Shape::Login => (
            "login.lua",
            format!(
                "wrk.method = \"POST\"\nwrk.path = \"/auth/jwt/login\"\n\
                 wrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = '{}'\n",
                login_body()
            ),
        ),
    };
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!("-- written by the bench harness\n{setup}{DONE}"),
    )?;
    Ok(path)
}

/// Starts wrk (one thread, pinned to `cpu`) against `addr` with `shape`.
pub(crate) fn spawn(
    dir: &Path,
    cpu: Option<usize>,
    addr: SocketAddr,
    shape: &Shape<'_>,
    connections: usize,
    duration: Duration,
) -> Result<Child, BoxError> {
    let script = script(dir, shape)?;
    let path = match shape {
        Shape::Get(_, _, path) => path,
        Shape::Login => "/",
    };
    let child = pinned(cpu, "wrk")
        .arg("-t1")
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", duration.as_secs_f64().max(1.0).round()))
        .arg("--timeout")
        .arg("30s")
        .arg("-s")
        .arg(script)
        .arg(format!("http://{addr}{path}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    Ok(child)
}

/// Waits for a wrk started by [`spawn`] and reads its figures.
pub(crate) fn finish(child: Child) -> Result<Sample, BoxError> {
    let output = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "wrk failed: {}{}",
            stdout,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    parse(&stdout)
}

fn parse(stdout: &str) -> Result<Sample, BoxError> {
    let line = stdout
        .lines()
        .find(|line| line.starts_with("BENCH "))
        .ok_or_else(|| format!("no figures in wrk's output:\n{stdout}"))?;
    let field = |name: &str| -> Result<f64, BoxError> {
        line.split_whitespace()
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .ok_or_else(|| format!("wrk output lacks {name}"))?
            .parse::<f64>()
            .map_err(Into::into)
    };
    let requests = field("requests")?;
    let seconds = field("duration_us")? / 1e6;
    let errors = field("connect")? + field("read")? + field("write")? + field("timeout")?;
    Ok(Sample {
        requests: requests as u64,
        rps: requests / seconds,
        p50_us: field("p50_us")?,
        p99_us: field("p99_us")?,
        errors: errors as u64,
        non2xx: field("status")? as u64,
    })
}

/// Whether wrk is there; installs it with apt when it is not and we are root.
pub(crate) fn available() -> bool {
    if has_program("wrk") {
        return true;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0");
    if !root || !has_program("apt-get") {
        return false;
    }
    eprintln!("bench: wrk is missing; installing it with apt-get");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "wrk"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if !install() {
        let _ = Command::new("apt-get")
            .args(["update", "-qq"])
            .stdout(Stdio::null())
            .status();
        install();
    }
    has_program("wrk")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_done_line_is_parsed() -> Result<(), BoxError> {
        let sample = parse(
            "Running 1s test\nBENCH requests=1000 duration_us=2000000 p50_us=250 p99_us=900 \
             connect=0 read=1 write=0 status=3 timeout=0\n",
        )?;
        assert_eq!(sample.requests, 1000);
        assert!((sample.rps - 500.0).abs() < 1e-9);
        assert_eq!((sample.p50_us, sample.p99_us), (250.0, 900.0));
        assert_eq!((sample.errors, sample.non2xx), (1, 3));
        Ok(())
    }
}
