//! The soak (`--soak [--minutes N]`): a realistic mixed load against the reference server on
//! SQLite, then on Postgres + Redis, for N minutes each (10 by default), sampling the
//! server's memory and file descriptors, Redis memory under its prefix and the database's
//! rows every few seconds; after it, a straight line is fitted to the second half of each
//! series, and a series that still grows fails the soak.
//!
//! Sessions live 30 s idle and 90 s at most, and the server sweeps expired ones every 10 s
//! (Redis expires its keys by itself), so a run of a few minutes reaches the steady state in
//! which as many sessions end as begin.
//!
//! How many sessions are live at once, and what they hold in Redis, follow the rate of
//! logins (Little's law), and that rate drifts with whatever else the machine runs. So those
//! series are judged per login a second over the last 30 s, not as raw counts; and every
//! sample must hold no more sessions than logins of the last session lifetime (plus the
//! sweep's period): a session that outlives its lifetime fails the soak however slowly the
//! rest moves. Each sample is also written to a CSV file beside the results.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use auth_redis::redis;
use auth_sqlx::sqlx::{self, Connection as _};

use crate::BoxError;
use crate::cases::{ServerKind, default_database_url, default_redis_url};
use crate::client::Connection;
use crate::server::with_params;
use crate::system::{self, Launch, Machine, Server};

/// How often the figures are sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// Concurrent clients, each a closed loop of user journeys.
const CLIENTS: usize = 4;
/// `GET /users/me` per journey.
const GETS_PER_JOURNEY: usize = 10;
/// The window over which the login rate of a sample is measured.
const RATE_WINDOW: f64 = 30.0;
/// How long after its login a session can still be counted: its longest life (90 s), the
/// sweep's period (10 s) and one sampling period.
const SESSION_HORIZON: f64 = 90.0 + 10.0 + 5.0;

pub(crate) const USAGE: &str = "\
usage: cargo run --release -p bench -- --soak [--minutes N] [--backends sqlite,pg-redis]
                                           [--redis URL] [--database URL]

  --minutes N          minutes per backend (default 10; decimals allowed)
  --backends a,b       sqlite, pg-redis (default both)
";

/// One sample of the figures.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    seconds: f64,
    rss_kib: f64,
    fds: f64,
    users: f64,
    sessions: f64,
    audit_rows: Option<f64>,
    redis: Option<RedisUsage>,
    journeys: f64,
    /// Successful logins so far (each began a session).
    logins: f64,
    /// Logins a second over the last [`RATE_WINDOW`] (NaN before that much has passed).
    login_rate: f64,
    /// Logins of the last [`SESSION_HORIZON`]: the most sessions that can be live.
    recent_logins: f64,
    /// Registrations answered `201` just before the sample was taken, and just after.
    registrations_before: f64,
    registrations: f64,
}

/// What the load did, counted by the clients.
#[derive(Debug, Default)]
struct Counts {
    journeys: AtomicU64,
    registrations: AtomicU64,
    logins: AtomicU64,
    requests: AtomicU64,
    /// Answers other than the one the step expects.
    unexpected: AtomicU64,
    /// Connections that failed.
    errors: AtomicU64,
}

pub(crate) fn main(args: &[String]) -> Result<(), BoxError> {
    let mut minutes = 10.0_f64;
    let mut kinds = vec![ServerKind::SoakSqlite, ServerKind::SoakPgRedis];
    let mut redis_url = default_redis_url();
    let mut database_url = default_database_url();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| BoxError::from(format!("{arg} needs a value\n\n{USAGE}")))
        };
        match arg.as_str() {
            "--soak" => {}
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            "--minutes" => minutes = value()?.parse()?,
            "--redis" => redis_url = value()?,
            "--database" => database_url = value()?,
            "--backends" => {
                kinds = value()?
                    .split(',')
                    .map(|name| match name.trim() {
                        "sqlite" => Ok(ServerKind::SoakSqlite),
                        "pg-redis" => Ok(ServerKind::SoakPgRedis),
                        other => Err(BoxError::from(format!("unknown backend `{other}`"))),
                    })
                    .collect::<Result<_, _>>()?;
            }
            other => return Err(format!("unknown soak option `{other}`\n\n{USAGE}").into()),
        }
    }
    if minutes.is_nan() || minutes <= 0.0 {
        return Err("--minutes must be above zero".into());
    }
    let duration = Duration::from_secs_f64(minutes * 60.0);
    let machine = Machine::detect(0, 1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut out = format!(
        "## Soak\n\n`{}`: {CLIENTS} clients, each repeating a user journey (sometimes register; \
         log in; {GETS_PER_JOURNEY} × `GET /users/me`; refresh; one failed login of an unknown \
         address; log out, or abandon the session one time in four); sessions live 30 s idle, \
         90 s at most, swept every 10 s; sampled every {} s. A series fails when the line \
         fitted to its second half grows by more than its allowance over that half.\n",
        std::iter::once("cargo run --release -p bench --")
            .chain(
                std::env::args()
                    .skip(1)
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str)
            )
            .collect::<Vec<_>>()
            .join(" "),
        SAMPLE_EVERY.as_secs()
    );
    let mut failed = false;
    for kind in kinds {
        eprintln!("bench: soak on {} for {minutes} min ...", kind.name());
        let server = Server::start(&Launch {
            kind,
            cpu: machine.server_cpu(),
            redis_url: &redis_url,
            database_url: &database_url,
            callgrind_out: None,
        })?;
        let probe = Probe::new(kind, &server, &redis_url, &database_url);
        let result = soak(&runtime, &server, &probe, duration);
        let _ = server.stop(Duration::from_secs(20));
        let (mut samples, counts) = result?;
        derive_rates(&mut samples);
        let series = system::work_dir()?.join(format!("soak-{}.csv", kind.name()));
        std::fs::write(&series, csv(&samples))?;
        eprintln!("bench: soak samples in {}", series.display());
        let (section, ok) = report(kind, &samples, &counts);
        failed |= !ok;
        eprint!("{section}");
        out.push_str(&section);
    }
    println!("{out}");
    let path = system::work_dir()?.join("soak.md");
    std::fs::write(&path, &out)?;
    eprintln!("bench: soak results in {}", path.display());
    if failed {
        return Err("something grew without bound during the soak (see the table)".into());
    }
    Ok(())
}

/// Runs the load for `duration`, sampling as it goes.
fn soak(
    runtime: &tokio::runtime::Runtime,
    server: &Server,
    probe: &Probe,
    duration: Duration,
) -> Result<(Vec<Sample>, Counts), BoxError> {
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (counts, stop, addr) = (counts.clone(), stop.clone(), server.addr);
            std::thread::spawn(move || journeys(addr, client, &counts, &stop))
        })
        .collect();
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut next = started;
    while started.elapsed() < duration {
        let before = counts.registrations.load(Ordering::Relaxed) as f64;
        let mut sample = runtime.block_on(probe.sample(server.pid()))?;
        sample.registrations_before = before;
        sample.seconds = started.elapsed().as_secs_f64();
        sample.journeys = counts.journeys.load(Ordering::Relaxed) as f64;
        sample.registrations = counts.registrations.load(Ordering::Relaxed) as f64;
        sample.logins = counts.logins.load(Ordering::Relaxed) as f64;
        samples.push(sample);
        next += SAMPLE_EVERY;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait.min(duration.saturating_sub(started.elapsed())));
        }
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client
            .join()
            .map_err(|_| BoxError::from("a soak client panicked"))?;
    }
    let counts = Arc::try_unwrap(counts).map_err(|_| BoxError::from("clients still running"))?;
    Ok((samples, counts))
}

/// One client: user journeys until `stop`. Its users are its own (`soak-<client>-<n>`).
fn journeys(addr: SocketAddr, client: usize, counts: &Counts, stop: &AtomicBool) {
    let mut users: Vec<String> = Vec::new();
    let mut n: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut conn) = Connection::open(addr) else {
            counts.errors.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            if journey(addr, &mut conn, client, n, &mut users, counts).is_err() {
                counts.errors.fetch_add(1, Ordering::Relaxed);
                break;
            }
            counts.journeys.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One journey of one user, counting answers other than the expected ones.
fn journey(
    addr: SocketAddr,
    conn: &mut Connection,
    client: usize,
    n: u64,
    users: &mut Vec<String>,
    counts: &Counts,
) -> Result<(), BoxError> {
    let expect = |conn: &mut Connection, request: Vec<u8>, status: u16| {
        counts.requests.fetch_add(1, Ordering::Relaxed);
        let got = conn.send(&request)?;
        if got != status {
            counts.unexpected.fetch_add(1, Ordering::Relaxed);
            eprintln!(
                "bench: soak: expected {status}, got {got}: {}",
                String::from_utf8_lossy(conn.body())
            );
        }
        Ok::<bool, BoxError>(got == status)
    };
    // A new user now and then (every journey at first, until each client has ten).
    if users.len() < 10 || n.is_multiple_of(10) {
        let email = format!("soak-{client}-{n}-{}@example.com", std::process::id());
        let body = format!(r#"{{"email":"{email}","password":"{PASSWORD}"}}"#);
        if expect(conn, post(addr, "/auth/register", &body, None), 201)? {
            counts.registrations.fetch_add(1, Ordering::Relaxed);
            users.push(email);
        }
    }
    let Some(email) = users.get(usize::try_from(n).unwrap_or(0) % users.len().max(1)) else {
        return Ok(());
    };
    let login = format!(r#"{{"username":"{email}","password":"{PASSWORD}"}}"#);
    if !expect(conn, post(addr, "/auth/jwt/login", &login, None), 200)? {
        return Ok(());
    }
    counts.logins.fetch_add(1, Ordering::Relaxed);
    let (access, refresh) = tokens(conn.body())?;
    for _ in 0..GETS_PER_JOURNEY {
        expect(conn, get(addr, "/users/me", &access), 200)?;
    }
    let body = format!(r#"{{"refresh_token":"{refresh}"}}"#);
    let (access, _) = if expect(conn, post(addr, "/auth/jwt/refresh", &body, None), 200)? {
        tokens(conn.body())?
    } else {
        (access, refresh)
    };
    let wrong = format!(
        r#"{{"username":"nobody-{client}-{n}@example.com","password":"not the password"}}"#
    );
    expect(conn, post(addr, "/auth/jwt/login", &wrong, None), 400)?;
    expect(conn, get(addr, "/users/me", &access), 200)?;
    if !n.is_multiple_of(4) {
        expect(conn, post(addr, "/auth/jwt/logout", "", Some(&access)), 204)?;
    }
    Ok(())
}

/// The soak users' password.
const PASSWORD: &str = "soak test passphrase 42";

fn post(addr: SocketAddr, path: &str, body: &str, bearer: Option<&str>) -> Vec<u8> {
    let auth = bearer.map_or_else(String::new, |token| {
        format!("Authorization: Bearer {token}\r\n")
    });
    format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn get(addr: SocketAddr, path: &str, token: &str) -> Vec<u8> {
    crate::client::get_request(addr, crate::cases::Credential::Bearer, token, path)
}

/// The access and refresh tokens of a login or refresh answer.
fn tokens(body: &[u8]) -> Result<(String, String), BoxError> {
    let value: serde_json::Value = serde_json::from_slice(body)?;
    let field = |name: &str| {
        value[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| BoxError::from(format!("no {name} in the answer")))
    };
    Ok((field("access_token")?, field("refresh_token")?))
}

/// Where the figures of one server are read.
struct Probe {
    /// The database (the SQLite file, or the Postgres schema).
    database: String,
    redis: Option<(String, String)>,
}

impl Probe {
    /// The bench server works under `bench_<pid>`: its scratch directory (with the SQLite
    /// file in it), its Postgres schema and its Redis key prefix.
    fn new(kind: ServerKind, server: &Server, redis_url: &str, database_url: &str) -> Self {
        let prefix = format!("bench_{}", server.pid());
        match kind {
            ServerKind::SoakPgRedis => Self {
                database: with_params(
                    database_url,
                    &format!("options=-c%20search_path%3D{prefix}"),
                ),
                redis: Some((redis_url.to_owned(), prefix)),
            },
            _ => Self {
                database: format!(
                    "sqlite://{}?mode=ro",
                    std::env::temp_dir()
                        .join(&prefix)
                        .join("accounts.db")
                        .display()
                ),
                redis: None,
            },
        }
    }

    async fn sample(&self, pid: u32) -> Result<Sample, BoxError> {
        let mut sample = Sample {
            rss_kib: proc_status(pid, "VmRSS:").unwrap_or(f64::NAN),
            fds: std::fs::read_dir(format!("/proc/{pid}/fd"))
                .map_or(f64::NAN, |dir| dir.count() as f64),
            ..Sample::default()
        };
        let (users, sql_sessions, audit) = if self.database.starts_with("sqlite:") {
            let mut conn = sqlx::SqliteConnection::connect(&self.database).await?;
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%audit%'",
            )
            .fetch_all(&mut conn)
            .await?;
            let count = |table: String| format!("SELECT COUNT(*) FROM {table}");
            let users: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count("auth_users".into())))
                .fetch_one(&mut conn)
                .await?;
            let sessions: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(count("auth_sessions".into())))
                    .fetch_one(&mut conn)
                    .await?;
            let audit = match tables.into_iter().next() {
                Some(table) => Some(
                    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count(table)))
                        .fetch_one(&mut conn)
                        .await?,
                ),
                None => None,
            };
            conn.close().await?;
            (users, Some(sessions), audit)
        } else {
            let mut conn = sqlx::PgConnection::connect(&self.database).await?;
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name LIKE '%audit%'",
            )
            .fetch_all(&mut conn)
            .await?;
            let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM auth_users")
                .fetch_one(&mut conn)
                .await?;
            let audit = match tables.into_iter().next() {
                Some(table) => Some(
                    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
                        "SELECT COUNT(*) FROM {table}"
                    )))
                    .fetch_one(&mut conn)
                    .await?,
                ),
                None => None,
            };
            conn.close().await?;
            (users, None, audit)
        };
        sample.users = users as f64;
        sample.audit_rows = audit.map(|rows| rows as f64);
        sample.sessions = sql_sessions.map_or(f64::NAN, |rows| rows as f64);
        if let Some((url, prefix)) = &self.redis {
            let usage = redis_usage(url, prefix).await?;
            sample.sessions = usage.sessions.keys;
            sample.redis = Some(usage);
        }
        Ok(sample)
    }
}

/// Keys of one kind under the prefix, and their memory.
#[derive(Debug, Clone, Copy, Default)]
struct KeyCount {
    keys: f64,
    bytes: f64,
}

impl KeyCount {
    fn add(&mut self, bytes: u64) {
        self.keys += 1.0;
        self.bytes += bytes as f64;
    }
}

/// The keys under the prefix by kind (see `auth-redis`'s key layout).
#[derive(Debug, Clone, Copy, Default)]
struct RedisUsage {
    /// Sessions (`{u:..}:s:<id>`).
    sessions: KeyCount,
    /// Users' session indexes and marks (`{u:..}:sessions`, `{u:..}:mark`): per user, by
    /// design; an index lives as long as its user's longest-lived session.
    per_user: KeyCount,
    /// Rate-limit windows of the mail sent to one account (`rl:mail:account:<address>`, the
    /// verification mail of a registration): per account, by design; each lives for its
    /// window of an hour, so they follow the registrations of the last hour.
    mail_windows: KeyCount,
    /// Everything else: session routes (`sid:`, kept as long as a session could be presented,
    /// its rotated ids included), the other rate-limit windows (`rl:`).
    other: KeyCount,
}

impl RedisUsage {
    fn all(&self) -> KeyCount {
        KeyCount {
            keys: self.sessions.keys
                + self.per_user.keys
                + self.mail_windows.keys
                + self.other.keys,
            bytes: self.sessions.bytes
                + self.per_user.bytes
                + self.mail_windows.bytes
                + self.other.bytes,
        }
    }

    /// What follows the sessions rather than the users: all but the per-user keys and the
    /// mail windows.
    fn per_session(&self) -> KeyCount {
        KeyCount {
            keys: self.sessions.keys + self.other.keys,
            bytes: self.sessions.bytes + self.other.bytes,
        }
    }
}

/// The keys under `prefix`, counted by kind with their memory (`MEMORY USAGE`).
async fn redis_usage(url: &str, prefix: &str) -> Result<RedisUsage, BoxError> {
    let client = redis::Client::open(url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut keys: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        keys.extend(batch);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    let mut usage = RedisUsage::default();
    for chunk in keys.chunks(500) {
        let mut pipe = redis::pipe();
        for key in chunk {
            pipe.cmd("MEMORY").arg("USAGE").arg(key);
        }
        let bytes: Vec<Option<u64>> = pipe.query_async(&mut conn).await?;
        for (key, bytes) in chunk.iter().zip(bytes) {
            // A key that expired between the scan and its `MEMORY USAGE` is gone: not counted.
            let Some(bytes) = bytes else { continue };
            let kind = if key.contains("}:s:") {
                &mut usage.sessions
            } else if key.ends_with("}:sessions") || key.ends_with("}:mark") {
                &mut usage.per_user
            } else if key.contains(":rl:mail:") {
                &mut usage.mail_windows
            } else {
                &mut usage.other
            };
            kind.add(bytes);
        }
    }
    Ok(usage)
}

/// Fills in each sample's login rate and recent logins from the samples before it.
fn derive_rates(samples: &mut [Sample]) {
    for i in 0..samples.len() {
        let now = samples[i];
        let earlier = &samples[..=i];
        let at_or_before = |seconds: f64| earlier.iter().rev().find(|s| s.seconds <= seconds);
        let login_rate = match at_or_before(now.seconds - RATE_WINDOW) {
            Some(then) if now.seconds > then.seconds => {
                (now.logins - then.logins) / (now.seconds - then.seconds)
            }
            _ => f64::NAN,
        };
        // The sample at or before the horizon's start counted no more logins than there were
        // then: the window it leaves is, if anything, too wide.
        let recent_logins = now.logins
            - at_or_before(now.seconds - SESSION_HORIZON).map_or(0.0, |then| then.logins);
        samples[i].login_rate = login_rate;
        samples[i].recent_logins = recent_logins;
    }
}

/// `value` per login a second (NaN while the rate is unknown or zero).
fn per_rate(value: f64, sample: &Sample) -> f64 {
    if sample.login_rate > 0.0 {
        value / sample.login_rate
    } else {
        f64::NAN
    }
}

/// The samples as CSV, one row each.
fn csv(samples: &[Sample]) -> String {
    let mut out = "seconds,rss_kib,fds,users,registrations,logins,login_rate,recent_logins,\
                   sessions,audit_rows,redis_session_keys,redis_session_bytes,redis_per_user_keys,\
                   redis_per_user_bytes,redis_mail_window_keys,redis_mail_window_bytes,\
                   redis_other_keys,redis_other_bytes\n"
        .to_owned();
    for s in samples {
        let r = s.redis.unwrap_or_default();
        let _ = writeln!(
            out,
            "{:.1},{},{},{},{},{},{:.2},{},{},{},{},{},{},{},{},{},{},{}",
            s.seconds,
            s.rss_kib,
            s.fds,
            s.users,
            s.registrations,
            s.logins,
            s.login_rate,
            s.recent_logins,
            s.sessions,
            s.audit_rows.unwrap_or(f64::NAN),
            r.sessions.keys,
            r.sessions.bytes,
            r.per_user.keys,
            r.per_user.bytes,
            r.mail_windows.keys,
            r.mail_windows.bytes,
            r.other.keys,
            r.other.bytes,
        );
    }
    out
}

fn proc_status(pid: u32, field: &str) -> Option<f64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The slope (per second) of the least-squares line through `points`.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return f64::NAN;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let cov: f64 = points
        .iter()
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum();
    let var: f64 = points.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
    if var == 0.0 { f64::NAN } else { cov / var }
}

/// One series' verdict: the growth of its fitted line over the second half, against an
/// allowance of `relative` × its mean there plus `absolute`.
struct Verdict {
    name: &'static str,
    unit: &'static str,
    first: f64,
    mean: f64,
    last: f64,
    growth: f64,
    allowance: Option<f64>,
}

impl Verdict {
    fn of(
        name: &'static str,
        unit: &'static str,
        samples: &[Sample],
        pick: impl Fn(&Sample) -> Option<f64>,
        allowance: Option<(f64, f64)>,
    ) -> Option<Self> {
        let all: Vec<(f64, f64)> = samples
            .iter()
            .filter_map(|s| pick(s).filter(|v| !v.is_nan()).map(|v| (s.seconds, v)))
            .collect();
        let half_start = samples.last()?.seconds / 2.0;
        let half: Vec<(f64, f64)> = all
            .iter()
            .copied()
            .filter(|(t, _)| *t >= half_start)
            .collect();
        let span = half.last()?.0 - half.first()?.0;
        let mean = half.iter().map(|p| p.1).sum::<f64>() / half.len() as f64;
        Some(Self {
            name,
            unit,
            first: all.first()?.1,
            mean,
            last: all.last()?.1,
            growth: slope(&half) * span,
            allowance: allowance.map(|(relative, absolute)| relative * mean + absolute),
        })
    }

    fn ok(&self) -> bool {
        self.allowance
            .is_none_or(|allowance| self.growth.is_nan() || self.growth <= allowance)
    }
}

/// The markdown section of one backend, and whether every series stayed bounded.
fn report(kind: ServerKind, samples: &[Sample], counts: &Counts) -> (String, bool) {
    let seconds = samples.last().map_or(0.0, |s| s.seconds);
    let journeys = counts.journeys.load(Ordering::Relaxed);
    let requests = counts.requests.load(Ordering::Relaxed);
    let registrations = counts.registrations.load(Ordering::Relaxed);
    let unexpected = counts.unexpected.load(Ordering::Relaxed);
    let errors = counts.errors.load(Ordering::Relaxed);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n### {}\n\n{:.0} s, {journeys} journeys, {requests} requests ({:.0}/s), \
         {registrations} registrations; {unexpected} unexpected answers, {errors} failed \
         connections.\n",
        kind.name(),
        seconds,
        requests as f64 / seconds.max(1.0),
    );
    let verdicts: Vec<Verdict> = [
        Verdict::of(
            "server RSS",
            "MiB",
            samples,
            |s| Some(s.rss_kib / 1024.0),
            Some((0.05, 4.0)),
        ),
        Verdict::of(
            "open file descriptors",
            "",
            samples,
            |s| Some(s.fds),
            Some((0.0, 4.0)),
        ),
        // Live sessions follow the login rate (Little's law): judged per login a second,
        // i.e. how long a login's session stays, in seconds.
        Verdict::of(
            "live + unswept sessions per login/s",
            "s",
            samples,
            |s| Some(per_rate(s.sessions, s)),
            Some((0.10, 1.0)),
        ),
        Verdict::of(
            "live + unswept sessions",
            "",
            samples,
            |s| Some(s.sessions),
            None,
        ),
        Verdict::of("logins a second", "", samples, |s| Some(s.login_rate), None),
        // The keys and memory that follow the sessions (sessions, their routes, rate-limit
        // windows), per login a second.
        Verdict::of(
            "Redis keys of sessions and limits per login/s",
            "s",
            samples,
            |s| s.redis.map(|r| per_rate(r.per_session().keys, s)),
            Some((0.10, 1.0)),
        ),
        Verdict::of(
            "Redis memory of sessions and limits per login/s",
            "KiB·s",
            samples,
            |s| s.redis.map(|r| per_rate(r.per_session().bytes / 1024.0, s)),
            Some((0.10, 1.0)),
        ),
        // Users' indexes and marks grow with the users, by design; what each holds must not
        // (an index keeping ids of sessions long gone would).
        Verdict::of(
            "Redis memory per user's index or mark",
            "B",
            samples,
            |s| s.redis.map(|r| r.per_user.bytes / r.per_user.keys.max(1.0)),
            Some((0.10, 16.0)),
        ),
        Verdict::of(
            "Redis memory per account's mail window",
            "B",
            samples,
            |s| {
                s.redis.and_then(|r| {
                    (r.mail_windows.keys > 0.0).then(|| r.mail_windows.bytes / r.mail_windows.keys)
                })
            },
            Some((0.10, 16.0)),
        ),
        Verdict::of(
            "Redis memory under the prefix",
            "KiB",
            samples,
            |s| s.redis.map(|r| r.all().bytes / 1024.0),
            None,
        ),
        Verdict::of(
            "Redis keys under the prefix",
            "",
            samples,
            |s| s.redis.map(|r| r.all().keys),
            None,
        ),
        // Users grow with registrations, by design: reported, checked against them below.
        Verdict::of("users", "", samples, |s| Some(s.users), None),
        Verdict::of("audit rows", "", samples, |s| s.audit_rows, None),
    ]
    .into_iter()
    .flatten()
    .collect();
    let _ = writeln!(
        out,
        "| series | first | mean of 2nd half | last | growth of the fit over the 2nd half | \
         allowance | verdict |\n|---|---|---|---|---|---|---|"
    );
    for v in &verdicts {
        let _ = writeln!(
            out,
            "| {}{} | {:.1} | {:.1} | {:.1} | {:+.1} | {} | {} |",
            v.name,
            if v.unit.is_empty() {
                String::new()
            } else {
                format!(" ({})", v.unit)
            },
            v.first,
            v.mean,
            v.last,
            v.growth,
            v.allowance
                .map_or("-".to_owned(), |allowance| format!("{allowance:.1}")),
            match (v.allowance, v.ok()) {
                (None, _) => "follows the load or the users (not judged)",
                (Some(_), true) => "bounded",
                (Some(_), false) => "**grows**",
            }
        );
    }
    // Each sample's users against the registrations answered just before and just after it
    // (a user is stored before its `201` is counted, and one registration may be in flight
    // on each client).
    let users_ok = samples.iter().all(|s| {
        s.users > s.registrations_before && s.users <= s.registrations + 1.0 + CLIENTS as f64
    });
    let _ = writeln!(
        out,
        "\nusers rows = registrations + the bench user (give or take one in flight per client) \
         in every sample: {}",
        if users_ok { "yes" } else { "**no**" }
    );
    // No session outlives its lifetime: each sample holds at most the logins of the last
    // lifetime (plus the sweep's period and one sample's), and one in flight per client.
    let overdue = samples
        .iter()
        .filter(|s| s.sessions > s.recent_logins + CLIENTS as f64)
        .count();
    let _ = writeln!(
        out,
        "live + unswept sessions ≤ logins of the last {SESSION_HORIZON:.0} s in every sample: {}",
        if overdue == 0 {
            "yes".to_owned()
        } else {
            format!("**no** ({overdue} samples)")
        }
    );
    // Mail windows are per account (the soak mails only accounts it registered): never more
    // of them than accounts, give or take a registration in flight per client.
    let windows_ok = samples.iter().all(|s| {
        s.redis
            .is_none_or(|r| r.mail_windows.keys <= s.users + CLIENTS as f64)
    });
    if samples.iter().any(|s| s.redis.is_some()) {
        let _ = writeln!(
            out,
            "Redis mail windows ≤ users in every sample: {}",
            if windows_ok { "yes" } else { "**no**" }
        );
    }
    let ok = verdicts.iter().all(Verdict::ok)
        && users_ok
        && windows_ok
        && overdue == 0
        && unexpected == 0
        && errors == 0;
    (out, ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slope_of_a_line_and_of_a_flat_series() {
        let line: Vec<(f64, f64)> = (0..10)
            .map(|t| (f64::from(t), 3.0 * f64::from(t) + 1.0))
            .collect();
        assert!((slope(&line) - 3.0).abs() < 1e-9);
        let flat: Vec<(f64, f64)> = (0..10).map(|t| (f64::from(t), 7.0)).collect();
        assert!(slope(&flat).abs() < 1e-9);
    }

    #[test]
    fn a_series_growing_in_its_second_half_fails_and_a_plateau_passes() {
        let samples = |f: fn(f64) -> f64| -> Vec<Sample> {
            (0..40)
                .map(|i| {
                    let seconds = f64::from(i) * 5.0;
                    Sample {
                        seconds,
                        sessions: f(seconds),
                        ..Sample::default()
                    }
                })
                .collect()
        };
        let plateau = samples(|t| 200.0 * (1.0 - (-t / 20.0).exp()));
        let leak = samples(|t| 2.0 * t);
        let pick = |s: &Sample| Some(s.sessions);
        assert!(
            Verdict::of("s", "", &plateau, pick, Some((0.1, 20.0)))
                .unwrap()
                .ok()
        );
        assert!(
            !Verdict::of("s", "", &leak, pick, Some((0.1, 20.0)))
                .unwrap()
                .ok()
        );
    }

    #[test]
    fn the_login_rate_and_the_recent_logins_come_from_earlier_samples() {
        let mut samples: Vec<Sample> = (0..40)
            .map(|i| Sample {
                seconds: f64::from(i) * 5.0,
                logins: f64::from(i) * 50.0,
                ..Sample::default()
            })
            .collect();
        derive_rates(&mut samples);
        assert!(
            samples[5].login_rate.is_nan(),
            "less than a window has passed"
        );
        assert!((samples[6].login_rate - 10.0).abs() < 1e-9);
        assert!((samples[39].login_rate - 10.0).abs() < 1e-9);
        // 195 s in: the logins since 90 s (the last sample at or before 195 - 105).
        assert!((samples[39].recent_logins - 1050.0).abs() < 1e-9);
        assert!((samples[10].recent_logins - 500.0).abs() < 1e-9);
        assert!((per_rate(75.0, &samples[39]) - 7.5).abs() < 1e-9);
    }
}
