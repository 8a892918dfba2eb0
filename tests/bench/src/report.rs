//! The results: a markdown table with every figure's ratio to bare axum, the performance
//! targets with a verdict each, the instruction counts, and the results file's section.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::BoxError;
use crate::callgrind::Count;
use crate::cases::{Case, Load};
use crate::loadgen::{Probe, Storm};
use crate::options::Options;
use crate::propagation::{self, Propagation};
use crate::system::{Machine, workspace_root};
use crate::wrk::Sample;

pub(crate) const START: &str = "<!-- bench:start -->";
pub(crate) const END: &str = "<!-- bench:end -->";

/// What one case measured.
#[derive(Debug, Clone)]
pub(crate) struct Measured {
    pub(crate) samples: Vec<Sample>,
    /// For each sample of a GET case, bare axum's figures just before and after it.
    pub(crate) bare_refs: Vec<Sample>,
    pub(crate) peak_rss_kib: Option<u64>,
    pub(crate) extra: Extra,
}

#[derive(Debug, Clone)]
pub(crate) enum Extra {
    None,
    /// One hash time per run, measured just before it.
    Login {
        hash_ms: Vec<f64>,
        cores: usize,
    },
    /// The probe during the storms, and on the idle server before them; the storm's answers.
    Storm {
        probe: Probe,
        idle: Probe,
        storm: Box<Storm>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct CaseResult {
    pub(crate) case: Case,
    pub(crate) outcome: Result<Measured, String>,
}

pub(crate) struct Report {
    pub(crate) machine: Machine,
    pub(crate) options: Options,
    pub(crate) load_name: String,
    pub(crate) background: String,
    pub(crate) background_after: String,
    pub(crate) results: Vec<CaseResult>,
    pub(crate) propagation: Vec<Propagation>,
    pub(crate) counts: Vec<Result<Count, String>>,
}

/// The median of some figures (the mean of the middle two for an even count).
pub(crate) fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.filter(|v| !v.is_nan()).collect();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The medians of a case's runs.
#[derive(Debug, Clone, Copy)]
struct Figures {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    rss_kib: f64,
}

impl Measured {
    fn figures(&self) -> Figures {
        Figures {
            rps: median(self.samples.iter().map(|s| s.rps)),
            p50_us: median(self.samples.iter().map(|s| s.p50_us)),
            p99_us: median(self.samples.iter().map(|s| s.p99_us)),
            rss_kib: self.peak_rss_kib.map_or(f64::NAN, |kib| kib as f64),
        }
    }

    /// Each figure's ratio to `bare`: for req/s and latencies the median over the runs of the
    /// ratio to the bare runs just before and after (the same background load), for memory
    /// the ratio of the peaks.
    fn ratios(&self, bare: &Self) -> Figures {
        let references = if self.bare_refs.is_empty() {
            &bare.samples
        } else {
            &self.bare_refs
        };
        let per_round = |f: fn(&Sample) -> f64| {
            median(
                self.samples
                    .iter()
                    .zip(references)
                    .map(|(case, bare)| f(case) / f(bare)),
            )
        };
        let f = self.figures();
        Figures {
            rps: per_round(|s| s.rps),
            p50_us: per_round(|s| s.p50_us),
            p99_us: per_round(|s| s.p99_us),
            rss_kib: f.rss_kib / bare.figures().rss_kib,
        }
    }

    /// Login throughput over the limit (cores ÷ hash time), median of the runs, each against
    /// the hash time measured just before it.
    fn of_limit(&self) -> Option<f64> {
        let Extra::Login { hash_ms, cores } = &self.extra else {
            return None;
        };
        Some(median(
            self.samples
                .iter()
                .zip(hash_ms)
                .map(|(sample, ms)| sample.rps / (*cores as f64 * 1e3 / ms)),
        ))
    }
}

fn thousands(value: f64) -> String {
    if value.is_nan() {
        return "-".to_owned();
    }
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 && c != '-' {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn latency(us: f64) -> String {
    if us.is_nan() {
        "-".to_owned()
    } else if us >= 10_000.0 {
        format!("{:.0} ms", us / 1e3)
    } else {
        format!("{:.2} ms", us / 1e3)
    }
}

fn mib(kib: f64) -> String {
    if kib.is_nan() {
        "-".to_owned()
    } else {
        format!("{:.1} MiB", kib / 1024.0)
    }
}

fn ratio(ratio: Option<f64>) -> String {
    match ratio {
        Some(ratio) if ratio.is_finite() => format!(" ({ratio:.2})"),
        _ => String::new(),
    }
}

impl Report {
    fn result(&self, name: &str) -> Option<&Measured> {
        self.results
            .iter()
            .find(|result| result.case.name == name)
            .and_then(|result| result.outcome.as_ref().ok())
    }

    fn count(&self, name: &str) -> Option<&Count> {
        self.counts
            .iter()
            .filter_map(|count| count.as_ref().ok())
            .find(|count| count.kind.name() == name)
    }

    pub(crate) fn failed(&self) -> bool {
        self.results.iter().any(|result| result.outcome.is_err())
            || self.counts.iter().any(Result::is_err)
            || self.propagation.iter().any(|p| p.outcome.is_err())
    }

    pub(crate) fn markdown(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let date = time::OffsetDateTime::now_utc().date();
        let o = &self.options;
        let _ = writeln!(out, "### Benchmark results\n");
        let _ = writeln!(
            out,
            "- Machine: {} CPUs (`nproc`), {}, Linux {}; measured {date}.",
            m.cores, m.cpu_model, m.kernel
        );
        let _ = writeln!(out, "- Command: `{}`", o.command);
        if !self.results.is_empty() {
            let pinning = match m.pinning {
                Some((server, load)) => format!(
                    "server pinned to CPU {server} (one tokio worker), load generator and \
                     probe to CPU {load}, Redis unpinned"
                ),
                None => "no pinning: server and load generator share the CPUs".to_owned(),
            };
            let _ = writeln!(
                out,
                "- Load: {}, {} connections, {} run(s) × {} s per case after a {} s warm-up, \
                 median of the runs; {pinning}.",
                self.load_name,
                o.connections,
                o.runs,
                o.duration.as_secs_f64(),
                o.warmup.as_secs_f64()
            );
        }
        let _ = writeln!(out, "- Before: {}.", self.background);
        let _ = writeln!(out, "- After: {}.", self.background_after);
        if !self.results.is_empty() {
            self.table(&mut out);
        }
        if !self.propagation.is_empty() {
            self.propagation(&mut out);
        }
        self.targets(&mut out);
        if !self.counts.is_empty() {
            self.instruction_counts(&mut out);
        }
        out
    }

    /// Every run's figures, in run order (for `target/bench/results.md`, not the README).
    pub(crate) fn raw_runs(&self) -> String {
        let mut out = String::from(
            "\n### Every run\n\n| case | run | req/s | p50 | p99 | errors | non-2xx |\n\
             |---|---:|---:|---:|---:|---:|---:|\n",
        );
        for result in &self.results {
            let Ok(measured) = &result.outcome else {
                continue;
            };
            for (run, sample) in measured.samples.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.1} | {} | {} | {} | {} |",
                    result.case.name,
                    run + 1,
                    sample.rps,
                    latency(sample.p50_us),
                    latency(sample.p99_us),
                    sample.errors,
                    sample.non2xx
                );
            }
            if let Extra::Login { hash_ms, .. } = &measured.extra {
                let times: Vec<String> = hash_ms.iter().map(|ms| format!("{ms:.2}")).collect();
                let _ = writeln!(
                    out,
                    "| {} | hash ms before each run | {} | | | | |",
                    result.case.name,
                    times.join(", ")
                );
            }
        }
        out
    }

    fn table(&self, out: &mut String) {
        let bare = self.result("bare");
        let _ = writeln!(
            out,
            "\nEach figure with its ratio to bare axum in this run, in parentheses (req/s and \
             latency: the median over the runs of the ratio to the bare axum runs just before \
             and after).\n\n\
             | case | req/s | p50 | p99 | peak RSS |\n|---|---:|---:|---:|---:|"
        );
        for result in &self.results {
            let case = &result.case;
            let measured = match &result.outcome {
                Ok(measured) => measured,
                Err(err) => {
                    let _ = writeln!(
                        out,
                        "| {} | failed: {} | | | |",
                        case.title,
                        err.replace('|', "/").replace('\n', " ")
                    );
                    continue;
                }
            };
            let f = measured.figures();
            let r = bare.map(|bare| measured.ratios(bare));
            let rss = format!("{}{}", mib(f.rss_kib), ratio(r.map(|r| r.rss_kib)));
            match (&case.load, &measured.extra) {
                (Load::Login, Extra::Login { hash_ms, cores }) => {
                    let hash_ms = median(hash_ms.iter().copied());
                    let _ = writeln!(
                        out,
                        "| {} | {:.1} logins/s = {:.2} of the limit ({cores} core ÷ {hash_ms:.1} \
                         ms per hash = {:.1}/s) | {} | {} | {rss} |",
                        case.title,
                        f.rps,
                        measured.of_limit().unwrap_or(f64::NAN),
                        *cores as f64 * 1e3 / hash_ms,
                        latency(f.p50_us),
                        latency(f.p99_us),
                    );
                }
                (Load::Storm, Extra::Storm { probe, idle, storm }) => {
                    let _ = writeln!(
                        out,
                        "| {}: {} GETs/s on one connection while {} connections log in \
                         ({:.1} logins/s admitted, p50 {} p99 {}; {:.1} % refused with 503 + \
                         Retry-After: {} sent when allowed, p50 {} p99 {}, and {} retries sent \
                         before their Retry-After ran out, held unread by the server until then, \
                         p50 {}); idle server: p50 {}, p99 {} | - | {} | {} (max {}) | {rss} |",
                        case.title,
                        crate::runner::PROBE_RATE,
                        storm.connections,
                        f.rps,
                        latency(storm.admitted.p50_us),
                        latency(storm.admitted.p99_us),
                        storm.refused_share() * 100.0,
                        storm.refused.requests,
                        latency(storm.refused.p50_us),
                        latency(storm.refused.p99_us),
                        storm.early.requests,
                        latency(storm.early.p50_us),
                        latency(idle.p50_us),
                        latency(idle.p99_us),
                        latency(probe.p50_us),
                        latency(probe.p99_us),
                        latency(probe.max_us),
                    );
                }
                _ => {
                    let _ = writeln!(
                        out,
                        "| {} | {}{} | {}{} | {}{} | {rss} |",
                        case.title,
                        thousands(f.rps),
                        ratio(r.map(|r| r.rps)),
                        latency(f.p50_us),
                        ratio(r.map(|r| r.p50_us)),
                        latency(f.p99_us),
                        ratio(r.map(|r| r.p99_us)),
                    );
                }
            }
        }
    }

    fn targets(&self, out: &mut String) {
        let bare = self.result("bare");
        let to_bare = |name: &str| -> Option<f64> { Some(self.result(name)?.ratios(bare?).rps) };
        let mut rows: Vec<(String, String, Option<bool>)> = Vec::new();
        let ratio_row = |name: &str, target: f64| match to_bare(name) {
            Some(r) => (format!("{r:.2} × bare"), Some(r >= target)),
            None => ("not run".to_owned(), None),
        };
        /// The throughput targets: case, what it is, and its least ratio to bare axum.
        const RATIO_TARGETS: [(&str, &str, f64); 7] = [
            ("hs256", "`CurrentUser` HS256, no revocation check", 0.85),
            ("eddsa", "`CurrentUser` EdDSA, a repeated token", 0.65),
            ("redis", "`CurrentUser` + revocation on Redis, exact", 0.75),
            (
                "sqlite",
                "`CurrentUser` + revocation on SQLite (the default)",
                0.75,
            ),
            (
                "postgres",
                "`CurrentUser` + revocation on Postgres sessions",
                0.70,
            ),
            (
                "server-sqlite",
                "reference server `GET /users/me`, SQLite",
                0.50,
            ),
            (
                "server-pg-redis",
                "reference server `GET /users/me`, Postgres + Redis",
                0.35,
            ),
        ];
        for (name, what, target) in RATIO_TARGETS {
            let (measured, ok) = ratio_row(name, target);
            let measured = if name == "redis" {
                let nocache = to_bare("redis-nocache").map_or(String::new(), |r| {
                    format!("; without the session cache {r:.2} × bare")
                });
                format!("{measured}{nocache}")
            } else {
                measured
            };
            rows.push((format!("{what}: ≥ {target:.2} × bare req/s"), measured, ok));
        }
        const INSTRUCTIONS: f64 = 24_000.0;
        let instructions =
            "`CurrentUser` HS256: ≤ 24,000 instructions per request (SHA-256 included)";
        match (self.count("hs256"), self.count("handrolled")) {
            (Some(ours), handrolled) => {
                let reference = handrolled.map_or(String::new(), |h| {
                    format!(" (hand-rolled jsonwebtoken: {})", thousands(h.per_request))
                });
                rows.push((
                    instructions.into(),
                    format!("{}{reference}", thousands(ours.per_request)),
                    Some(ours.per_request <= INSTRUCTIONS),
                ));
            }
            (None, _) => rows.push((instructions.into(), "not run".into(), None)),
        }
        for row in &self.propagation {
            let p99 = row.outcome.as_ref().ok().map(|times| times.p99);
            rows.push((
                format!("logout propagation over {}: p99 ≤ 50 ms", row.store),
                p99.map_or("failed".into(), |p99| {
                    format!("{:.2} ms", p99.as_secs_f64() * 1e3)
                }),
                p99.map(|p99| p99 <= std::time::Duration::from_millis(50)),
            ));
        }
        let login = self.result("login").and_then(Measured::of_limit);
        rows.push((
            "login throughput: ≥ 0.90 × cores ÷ hash time".into(),
            login.map_or("not run".into(), |r| format!("{r:.2} of the limit")),
            login.map(|r| r >= 0.90),
        ));
        let storm = self.result("storm");
        let connections = self.options.storm_connections;
        let rss = storm
            .and_then(|m| m.peak_rss_kib)
            .map(|kib| kib as f64 / 1024.0);
        rows.push((
            format!("peak RSS during a {connections}-connection login storm: ≤ 100 MiB"),
            rss.map_or("not run".into(), |mib| format!("{mib:.1} MiB")),
            rss.map(|mib| mib <= 100.0),
        ));
        let (p99, idle_p99, refused) = match storm.map(|m| &m.extra) {
            Some(Extra::Storm { probe, idle, storm }) => (
                Some(probe.p99_us / 1e3),
                Some(idle.p99_us / 1e3),
                Some(storm),
            ),
            _ => (None, None, None),
        };
        // GETs keep their p99: within twice the idle server's of the same run, or 5 ms
        // where that is more (a quiet machine's idle p99 is a fraction of a millisecond; a
        // busy virtual machine's alone can exceed 5 ms).
        rows.push((
            "p99 of an authenticated GET during the login storm: ≤ 5 ms or ≤ 2 × the idle server's p99, whichever is more".into(),
            p99.map_or("not run".into(), |ms| {
                format!(
                    "{ms:.2} ms (idle server: {:.2} ms)",
                    idle_p99.unwrap_or(f64::NAN)
                )
            }),
            p99.map(|ms| ms <= 5.0_f64.max(2.0 * idle_p99.unwrap_or(0.0))),
        ));
        rows.push((
            "logins beyond the hashing queue refused at once: p99 of the 503s to requests sent when allowed ≤ 50 ms".into(),
            refused.map_or("not run".into(), |storm| {
                format!(
                    "{:.2} ms ({:.1} % of the storm's answers)",
                    storm.refused.p99_us / 1e3,
                    storm.refused_share() * 100.0
                )
            }),
            refused.map(|storm| storm.refused.p99_us <= 50_000.0),
        ));
        let _ = writeln!(out, "\n| target | measured | verdict |\n|---|---|---|");
        for (target, measured, ok) in rows {
            let verdict = match ok {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "-",
            };
            let _ = writeln!(out, "| {target} | {measured} | {verdict} |");
        }
    }

    fn propagation(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\nLogout propagation: a logout on one session store instance, timed until the exact \
             session cache of another instance over the same store refuses the session \
             (`auth_core::conformance::revocation::propagation_times`, {} logouts per store, \
             harness on the load generator's CPU).\n\n| store | p50 | p99 | max |\n|---|---:|---:|---:|",
            thousands(propagation::LOGOUTS as f64)
        );
        let ms = |d: std::time::Duration| latency(d.as_secs_f64() * 1e6);
        for row in &self.propagation {
            match &row.outcome {
                Ok(times) => {
                    let _ = writeln!(
                        out,
                        "| {} ({} logouts) | {} | {} | {} |",
                        row.store,
                        thousands(times.logouts as f64),
                        ms(times.p50),
                        ms(times.p99),
                        ms(times.max)
                    );
                }
                Err(err) => {
                    let _ = writeln!(
                        out,
                        "| {} | failed: {} | | |",
                        row.store,
                        err.replace('|', "/").replace('\n', " ")
                    );
                }
            }
        }
    }

    fn instruction_counts(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\nInstructions per request (valgrind --tool=callgrind, user space, server only): \
             runs of N and 2N sequential requests on one keep-alive connection, \
             (I(2N) − I(N)) ÷ N with N = {}.\n\n| server | instructions / request | × bare |\n|---|---:|---:|",
            thousands(self.options.requests as f64)
        );
        let bare = self.count("bare").map(|count| count.per_request);
        for count in &self.counts {
            match count {
                Ok(count) => {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} |",
                        count.kind.name(),
                        thousands(count.per_request),
                        bare.map_or("-".to_owned(), |bare| format!(
                            "{:.2}",
                            count.per_request / bare
                        )),
                    );
                }
                Err(err) => {
                    let _ = writeln!(out, "| failed: {} | | |", err.replace('|', "/"));
                }
            }
        }
    }
}

/// Rewrites the marked section of `README.md`, or of `tests/bench/RESULTS.md` while the README
/// has no markers; returns the file written.
pub(crate) fn write_section(markdown: &str) -> Result<PathBuf, BoxError> {
    let root = workspace_root();
    let readme = root.join("README.md");
    let target = match std::fs::read_to_string(&readme) {
        Ok(text) if text.contains(START) && text.contains(END) => readme,
        _ => root.join("tests").join("bench").join("RESULTS.md"),
    };
    write_marked(&target, START, END, markdown)
}

/// Rewrites the section of `target` between the markers `start` and `end` (appended to the
/// file, or to a new one, when it has none); returns the file written.
pub(crate) fn write_marked(
    target: &Path,
    start_marker: &str,
    end_marker: &str,
    markdown: &str,
) -> Result<PathBuf, BoxError> {
    let mut text = std::fs::read_to_string(target).unwrap_or_else(|_| {
        "# Benchmarks\n\nRegenerated by `cargo run --release -p bench` (see `tests/bench`).\n"
            .to_owned()
    });
    if !text.contains(start_marker) && !text.contains(end_marker) {
        text = format!("{}\n\n{start_marker}\n{end_marker}\n", text.trim_end());
    }
    let (Some(start), Some(end)) = (text.find(start_marker), text.find(end_marker)) else {
        return Err(format!("{} lacks the markers {start_marker}", target.display()).into());
    };
    if end < start {
        return Err(format!("{}: the markers are out of order", target.display()).into());
    }
    let updated = format!(
        "{}{start_marker}\n{}\n{}",
        &text[..start],
        markdown.trim_end(),
        &text[end..]
    );
    std::fs::write(target, updated)?;
    Ok(target.to_path_buf())
}
