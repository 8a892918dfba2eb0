//! Runs the cases: a server per case, a warm-up, several measured runs, the server's peak
//! memory; then the callgrind counts and the report.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::BoxError;
use crate::callgrind;
use crate::cases::{Case, Credential, Load, ServerKind};
use crate::client::{get_request, login_request};
use crate::fastapi_users;
use crate::loadgen::{self, Probe, Storm};
use crate::options::{Callgrind, LoadGen, Options, USAGE};
use crate::propagation;
use crate::report::{self, CaseResult, Extra, Measured, Report};
use crate::system::{self, Launch, Machine, Server};
use crate::wrk::{self, Sample, Shape};

/// Probe requests per second during the login storm.
pub(crate) const PROBE_RATE: u32 = 200;

pub(crate) fn main(args: &[String]) -> Result<(), BoxError> {
    let Some(options) = Options::parse(args)? else {
        print!("{USAGE}");
        return Ok(());
    };
    let machine = Machine::detect(options.server_cpu, options.load_cpu);
    if machine.pinning.is_none() {
        eprintln!(
            "bench: not pinning (needs 2 CPUs and taskset): server and load share the machine"
        );
    }
    let dir = system::work_dir()?;
    let background = system::background_busy(Duration::from_secs(1));
    machine.pin_self()?;

    let mut results = Vec::new();
    let mut load_name = String::new();
    if options.callgrind != Callgrind::Only {
        let load = match options.load {
            Some(LoadGen::Wrk) if !wrk::available() => {
                return Err("--load wrk, but wrk is not installed and could not be".into());
            }
            Some(load) => load,
            None if wrk::available() => LoadGen::Wrk,
            None => {
                eprintln!("bench: wrk unavailable; using the built-in Rust load generator");
                LoadGen::Rust
            }
        };
        load_name = match load {
            LoadGen::Wrk => wrk_version(),
            LoadGen::Rust => "the built-in Rust load generator".to_owned(),
        };
        let driver = Driver {
            load,
            dir: &dir,
            cpu: machine.load_cpu(),
            connections: options.connections,
        };
        if options
            .cases
            .iter()
            .any(|case| case.server == ServerKind::FastapiUsers)
            && let Err(err) = fastapi_users::install(&dir)
        {
            eprintln!("bench: fastapi-users not installed: {err}");
        }
        let (gets, others): (Vec<Case>, Vec<Case>) = options
            .cases
            .iter()
            .partition(|case| matches!(case.load, Load::Get(_)));
        results = run_get_cases(&gets, &options, &machine, &driver);
        for case in &others {
            eprintln!("bench: {} ...", case.name);
            let outcome =
                run_case(case, &options, &machine, &driver).map_err(|err| err.to_string());
            if let Err(err) = &outcome {
                eprintln!("bench: {} failed: {err}", case.name);
            }
            results.push(CaseResult {
                case: *case,
                outcome,
            });
        }
    }
    let propagation = if options.propagation && options.callgrind != Callgrind::Only {
        propagation::run(&options)
    } else {
        Vec::new()
    };
    let counts = if options.callgrind == Callgrind::Skip {
        Vec::new()
    } else {
        callgrind::run(&options, &machine, &dir)?
    };
    let report = Report {
        machine,
        options: options.clone(),
        load_name,
        background,
        background_after: system::background_busy(Duration::from_secs(1)),
        results,
        propagation,
        counts,
    };
    let markdown = report.markdown();
    println!("{markdown}");
    std::fs::write(
        dir.join("results.md"),
        format!("{markdown}{}", report.raw_runs()),
    )?;
    if options.write {
        let path = report::write_section(&markdown)?;
        eprintln!("bench: results written to {}", path.display());
    } else {
        eprintln!(
            "bench: results in {} (pass --write to update the results section)",
            dir.join("results.md").display()
        );
    }
    if report.failed() {
        return Err("some cases failed (see the table)".into());
    }
    Ok(())
}

fn wrk_version() -> String {
    std::process::Command::new("wrk")
        .arg("--version")
        .stderr(Stdio::null())
        .output()
        .ok()
        .and_then(|out| {
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .nth(1)
                .map(|version| format!("wrk {version}"))
        })
        .unwrap_or_else(|| "wrk".to_owned())
}

/// Where and how load is generated.
struct Driver<'a> {
    load: LoadGen,
    dir: &'a Path,
    cpu: Option<usize>,
    connections: usize,
}

/// A load run going on in the background.
enum Running {
    Wrk(std::process::Child),
    Rust(JoinHandle<Result<Sample, BoxError>>),
}

impl Driver<'_> {
    fn start(
        &self,
        addr: SocketAddr,
        shape: &Shape<'_>,
        duration: Duration,
    ) -> Result<Running, BoxError> {
        match self.load {
            LoadGen::Wrk => Ok(Running::Wrk(wrk::spawn(
                self.dir,
                self.cpu,
                addr,
                shape,
                self.connections,
                duration,
            )?)),
            LoadGen::Rust => {
                let request = match shape {
                    Shape::Get(credential, token, path) => {
                        get_request(addr, *credential, token, path)
                    }
                    Shape::Login => login_request(addr),
                };
                let connections = self.connections;
                Ok(Running::Rust(std::thread::spawn(move || {
                    loadgen::run(addr, &request, connections, duration)
                })))
            }
        }
    }

    fn run(
        &self,
        addr: SocketAddr,
        shape: &Shape<'_>,
        duration: Duration,
    ) -> Result<Sample, BoxError> {
        finish(self.start(addr, shape, duration)?)
    }
}

fn finish(running: Running) -> Result<Sample, BoxError> {
    match running {
        Running::Wrk(child) => wrk::finish(child),
        Running::Rust(handle) => handle
            .join()
            .map_err(|_| BoxError::from("the load generator panicked"))?,
    }
}

/// Refuses a run in which requests failed: a fast `401` is not a result.
fn checked(sample: Sample, what: &str) -> Result<Sample, BoxError> {
    if sample.requests == 0 {
        return Err(format!("{what}: no request completed").into());
    }
    if sample.non2xx > 0 || sample.errors > 0 {
        return Err(format!(
            "{what}: {} of {} responses were not 2xx and {} connections failed",
            sample.non2xx, sample.requests, sample.errors
        )
        .into());
    }
    Ok(sample)
}

/// The GET cases, interleaved: every server is started and warmed up, then each round
/// drives each server once, each between two runs of bare axum. A change in the machine's
/// background load then hits a case and its bare reference alike, and each ratio to bare is
/// taken against the bare runs just before and after it.
fn run_get_cases(
    cases: &[Case],
    options: &Options,
    machine: &Machine,
    driver: &Driver<'_>,
) -> Vec<CaseResult> {
    struct Entry {
        case: Case,
        server: Option<Server>,
        samples: Vec<Sample>,
        /// For each sample, bare axum's figures around it.
        bare_refs: Vec<Sample>,
        error: Option<String>,
    }
    let mut entries: Vec<Entry> = cases
        .iter()
        .map(|case| {
            eprintln!("bench: starting {} ...", case.name);
            let started = Server::start(&Launch {
                kind: case.server,
                cpu: machine.server_cpu(),
                redis_url: &options.redis_url,
                database_url: &options.database_url,
                callgrind_out: None,
            });
            let (server, error) = match started {
                Ok(server) => (Some(server), None),
                Err(err) => (None, Some(err.to_string())),
            };
            Entry {
                case: *case,
                server,
                samples: Vec::with_capacity(options.runs),
                bare_refs: Vec::with_capacity(options.runs),
                error,
            }
        })
        .collect();
    let measure = |entry: &mut Entry, duration: Duration, keep: bool| {
        let (Some(server), Load::Get(credential)) = (&entry.server, entry.case.load) else {
            return;
        };
        let shape = Shape::Get(credential, &server.token, entry.case.server.path());
        match driver
            .run(server.addr, &shape, duration)
            .and_then(|sample| checked(sample, entry.case.name))
        {
            Ok(sample) if keep => entry.samples.push(sample),
            Ok(_) => {}
            Err(err) => {
                eprintln!("bench: {} failed: {err}", entry.case.name);
                entry.error = Some(err.to_string());
                entry.server = None;
            }
        }
    };
    for entry in &mut entries {
        measure(entry, options.warmup, false);
    }
    // Each case runs between two runs of bare axum, and is compared with their mean: the
    // background load of this machine drifts from minute to minute.
    let bare = entries.iter().position(|entry| entry.case.name == "bare");
    let bare_run = |entries: &mut Vec<Entry>| {
        let index = bare?;
        let entry = entries.get_mut(index)?;
        let before = entry.samples.len();
        measure(entry, options.duration, true);
        entry.samples.get(before).copied()
    };
    for round in 1..=options.runs {
        eprintln!("bench: round {round} of {} ...", options.runs);
        let mut before = bare_run(&mut entries);
        for index in 0..entries.len() {
            if Some(index) == bare {
                continue;
            }
            let kept = entries[index].samples.len();
            measure(&mut entries[index], options.duration, true);
            let measured = entries[index].samples.len() > kept;
            let after = bare_run(&mut entries);
            if measured && let Some(reference) = Sample::mean(before.as_ref(), after.as_ref()) {
                entries[index].bare_refs.push(reference);
            }
            before = after;
        }
    }
    entries
        .into_iter()
        .map(|entry| {
            let outcome = match (entry.error, entry.server) {
                (None, Some(server)) => {
                    let peak_rss_kib = server.peak_rss_kib();
                    let _ = server.stop(Duration::from_secs(10));
                    Ok(Measured {
                        samples: entry.samples,
                        bare_refs: entry.bare_refs,
                        peak_rss_kib,
                        extra: Extra::None,
                    })
                }
                (error, _) => Err(error.unwrap_or_else(|| "the server stopped".to_owned())),
            };
            CaseResult {
                case: entry.case,
                outcome,
            }
        })
        .collect()
}

fn run_case(
    case: &Case,
    options: &Options,
    machine: &Machine,
    driver: &Driver<'_>,
) -> Result<Measured, BoxError> {
    let server = Server::start(&Launch {
        kind: case.server,
        cpu: machine.server_cpu(),
        redis_url: &options.redis_url,
        database_url: &options.database_url,
        callgrind_out: None,
    })?;
    let mut samples = Vec::with_capacity(options.runs);
    let mut hash_ms = Vec::with_capacity(options.runs);
    let mut probes = Vec::new();
    let mut storms = Vec::new();
    let mut idle = None;
    match case.load {
        Load::Get(_) => return Err("GET cases run interleaved".into()),
        Load::Login => {
            checked(
                driver.run(server.addr, &Shape::Login, options.warmup)?,
                "warm-up",
            )?;
            for _ in 0..options.runs {
                // The hash time in this run's conditions, measured just before it.
                hash_ms.push(hash_time(machine)?);
                samples.push(checked(
                    driver.run(server.addr, &Shape::Login, options.duration)?,
                    case.name,
                )?);
            }
        }
        Load::Storm => {
            let get = get_request(
                server.addr,
                Credential::Bearer,
                &server.token,
                case.server.path(),
            );
            let interval = Duration::from_secs(1) / PROBE_RATE;
            // The probe alone first: its latency on an idle server, for comparison.
            idle = Some(loadgen::probe(
                server.addr,
                &get,
                interval,
                options.warmup.max(Duration::from_secs(2)),
            )?);
            for _ in 0..options.runs {
                // Far more logins than Argon2 can serve: the server's bounded hashing queue
                // fills and the rest are refused with 503 at once.
                let (addr, request) = (server.addr, login_request(server.addr));
                let connections = options.storm_connections;
                let duration = options.duration;
                let storm = std::thread::spawn(move || {
                    loadgen::storm(addr, &request, connections, duration)
                });
                // Let the storm fill the hashing queue, then probe while it runs.
                let settle = Duration::from_millis(500);
                std::thread::sleep(settle);
                let window = options
                    .duration
                    .saturating_sub(settle * 3)
                    .max(Duration::from_secs(1));
                let probe = loadgen::probe(server.addr, &get, interval, window)?;
                let storm = storm
                    .join()
                    .map_err(|_| BoxError::from("the login storm panicked"))??;
                checked_storm(&storm)?;
                samples.push(storm.admitted);
                if probe.failures > 0 {
                    return Err(format!(
                        "{} of the probe's GETs failed during the storm",
                        probe.failures
                    )
                    .into());
                }
                probes.push(probe);
                storms.push(storm);
            }
        }
    }
    let peak_rss_kib = server.peak_rss_kib();
    server.stop(Duration::from_secs(10))?;
    let extra = match case.load {
        Load::Login => Extra::Login {
            hash_ms,
            cores: machine.server_cores(),
        },
        Load::Storm => Extra::Storm {
            probe: median_probe(&probes),
            idle: idle.unwrap_or_default(),
            storm: Box::new(median_storm(&storms)),
        },
        Load::Get(_) => Extra::None,
    };
    Ok(Measured {
        samples,
        bare_refs: Vec::new(),
        peak_rss_kib,
        extra,
    })
}

/// The median of each of the probe's figures.
fn median_probe(probes: &[Probe]) -> Probe {
    let median = |f: fn(&Probe) -> f64| report::median(probes.iter().map(f));
    Probe {
        p50_us: median(|p| p.p50_us),
        p99_us: median(|p| p.p99_us),
        max_us: median(|p| p.max_us),
        requests: probes.iter().map(|p| p.requests).sum(),
        failures: probes.iter().map(|p| p.failures).sum(),
    }
}

/// Refuses a storm in which a login was answered anything but 2xx or `503` with
/// `Retry-After`, or a connection failed: back-pressure must be an answer, not an error.
fn checked_storm(storm: &Storm) -> Result<(), BoxError> {
    if storm.errors > 0 || storm.other > 0 || storm.refused_without_retry_after > 0 {
        return Err(format!(
            "login storm: {} connections failed, {} answers were neither 2xx nor 503, {} 503s \
             had no Retry-After",
            storm.errors, storm.other, storm.refused_without_retry_after
        )
        .into());
    }
    if storm.admitted.requests == 0 {
        return Err("login storm: no login was admitted".into());
    }
    Ok(())
}

/// The median of each of the storms' figures.
fn median_storm(storms: &[Storm]) -> Storm {
    let median = |f: &dyn Fn(&Storm) -> f64| report::median(storms.iter().map(f));
    let sample = |pick: fn(&Storm) -> &Sample| Sample {
        requests: median(&|s| pick(s).requests as f64) as u64,
        rps: median(&|s| pick(s).rps),
        p50_us: median(&|s| pick(s).p50_us),
        p99_us: median(&|s| pick(s).p99_us),
        errors: 0,
        non2xx: 0,
    };
    Storm {
        connections: storms.first().map_or(0, |s| s.connections),
        seconds: median(&|s| s.seconds),
        admitted: sample(|s| &s.admitted),
        refused: sample(|s| &s.refused),
        early: sample(|s| &s.early),
        refused_without_retry_after: 0,
        other: 0,
        errors: 0,
    }
}

/// One Argon2id hash at the OWASP parameters on the server's CPU, in milliseconds.
fn hash_time(machine: &Machine) -> Result<f64, BoxError> {
    let exe = std::env::current_exe()?;
    let output = system::pinned(machine.server_cpu(), exe)
        .arg("hash-time")
        .stderr(Stdio::inherit())
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("HASH_MS "))
        .ok_or_else(|| format!("hash-time printed no time: {stdout}"))?
        .trim()
        .parse()
        .map_err(Into::into)
}
