//! The harness's command line.

use std::time::Duration;

use crate::BoxError;
use crate::cases::{self, Case};

pub(crate) const USAGE: &str = "\
usage: cargo run --release -p bench -- [options]

  --quick              1 run × 3 s per case, 5,000 callgrind requests (default 3 × 10 s, 20,000)
  --cases a,b,...      only these cases (bare is always run); `all` by default:
                       bare, hs256, eddsa, redis, redis-nocache, sqlite, postgres,
                       server-sqlite, server-pg-redis, fastapi-users, axum-login, cookie,
                       handrolled,
                       handrolled-redis, login, storm
  --runs N             runs per case (the median is reported)
  --duration SECS      seconds per run
  --connections N      connections of the load generator (default 64)
  --storm-connections N  login connections of the storm case (default 1000)
  --load wrk|rust      load generator (default: wrk, installed with apt if missing and root;
                       else the built-in Rust one)
  --callgrind          only the callgrind instruction counts per request
  --no-callgrind       skip the callgrind instruction counts
  --requests N         requests per callgrind run (runs of N and 2N are subtracted)
  --server-cpu N       CPU of the server (default 0)
  --load-cpu N         CPU of the load generator (default 1)
  --redis URL          Redis for the revocation cases (default $REDIS_URL or
                       redis://127.0.0.1:6379)
  --database URL       Postgres for the postgres cases (default $DATABASE_URL or
                       postgres://postgres@127.0.0.1:5432/postgres); each server works
                       in a schema of its own, dropped when it stops
  --no-propagation     skip the logout propagation times (Redis, Postgres)
  --write / --no-write rewrite the results section (default: only for full runs of all cases)
  --soak [--minutes N] the soak instead of the cases: a mixed load on the reference server
                       (SQLite, then Postgres + Redis), N minutes each (default 10), failing
                       when memory, descriptors, sessions or Redis keys keep growing
                       (`--soak --help` for its options)

usage: cargo run --release -p bench -- --fuzz [--seconds N] [--targets a,b,...] [--no-write]

  --fuzz               instead of the cases: each fuzz target of tests/fuzz under AFL++
                       (cargo-afl installed and AFL++ built when missing), crashes copied
                       into tests/fuzz/crashes/, results into tests/bench/RESULTS.md
  --seconds N          seconds per target (default 20)
  --targets a,b,...    only these: jwt, opaque, transport, email, username, body,
                       settings, oauth_state
";

/// Which load generator drives the servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoadGen {
    Wrk,
    Rust,
}

#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) cases: Vec<Case>,
    pub(crate) all_cases: bool,
    pub(crate) runs: usize,
    pub(crate) duration: Duration,
    pub(crate) warmup: Duration,
    pub(crate) connections: usize,
    pub(crate) storm_connections: usize,
    pub(crate) load: Option<LoadGen>,
    pub(crate) callgrind: Callgrind,
    pub(crate) requests: u64,
    pub(crate) server_cpu: usize,
    pub(crate) load_cpu: usize,
    pub(crate) redis_url: String,
    pub(crate) database_url: String,
    pub(crate) propagation: bool,
    pub(crate) write: bool,
    /// The command line, as the results section quotes it.
    pub(crate) command: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Callgrind {
    /// Load cases, then the counts.
    Also,
    /// The counts only.
    Only,
    /// Load cases only.
    Skip,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Option<Self>, BoxError> {
        let quick = args.iter().any(|arg| arg == "--quick");
        let mut options = Self {
            cases: cases::CASES.to_vec(),
            all_cases: true,
            runs: if quick { 1 } else { 3 },
            duration: Duration::from_secs(if quick { 3 } else { 10 }),
            warmup: Duration::from_secs(if quick { 1 } else { 2 }),
            connections: 64,
            storm_connections: 1000,
            load: None,
            callgrind: Callgrind::Also,
            requests: if quick { 5_000 } else { 20_000 },
            server_cpu: 0,
            load_cpu: 1,
            redis_url: cases::default_redis_url(),
            database_url: cases::default_database_url(),
            propagation: true,
            write: false,
            command: std::iter::once("cargo run --release -p bench")
                .chain((!args.is_empty()).then_some("--"))
                .chain(args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
        };
        let mut write = None;
        let mut args = args.iter();
        let value = |name: &str, args: &mut std::slice::Iter<'_, String>| {
            args.next()
                .cloned()
                .ok_or_else(|| BoxError::from(format!("{name} needs a value")))
        };
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "-h" | "--help" => return Ok(None),
                "--quick" => {}
                "--cases" => {
                    let list = value("--cases", &mut args)?;
                    options.cases = cases::select(&list)?;
                    options.all_cases = options.cases.len() == cases::CASES.len();
                }
                "--runs" => options.runs = value("--runs", &mut args)?.parse()?,
                "--duration" => {
                    options.duration =
                        Duration::from_secs_f64(value("--duration", &mut args)?.parse()?);
                }
                "--connections" => {
                    options.connections = value("--connections", &mut args)?.parse()?;
                }
                "--storm-connections" => {
                    options.storm_connections = value("--storm-connections", &mut args)?.parse()?;
                }
                "--load" => {
                    options.load = Some(match value("--load", &mut args)?.as_str() {
                        "wrk" => LoadGen::Wrk,
                        "rust" => LoadGen::Rust,
                        other => return Err(format!("unknown load generator `{other}`").into()),
                    });
                }
                "--callgrind" => options.callgrind = Callgrind::Only,
                "--no-callgrind" => options.callgrind = Callgrind::Skip,
                "--requests" => options.requests = value("--requests", &mut args)?.parse()?,
                "--server-cpu" => options.server_cpu = value("--server-cpu", &mut args)?.parse()?,
                "--load-cpu" => options.load_cpu = value("--load-cpu", &mut args)?.parse()?,
                "--redis" => options.redis_url = value("--redis", &mut args)?,
                "--database" => options.database_url = value("--database", &mut args)?,
                "--no-propagation" => options.propagation = false,
                "--write" => write = Some(true),
                "--no-write" => write = Some(false),
                other => return Err(format!("unknown option `{other}`\n\n{USAGE}").into()),
            }
        }
        if options.runs == 0
            || options.connections == 0
            || options.storm_connections == 0
            || options.requests == 0
        {
            return Err(
                "--runs, --connections, --storm-connections and --requests must be at least 1"
                    .into(),
            );
        }
        options.write =
            write.unwrap_or(!quick && options.all_cases && options.callgrind == Callgrind::Also);
        Ok(Some(options))
    }
}
