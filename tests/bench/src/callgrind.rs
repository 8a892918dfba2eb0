//! Instructions per request under `valgrind --tool=callgrind`: repeatable where wall-clock
//! figures move 10-20 % between passes.
//!
//! Each server runs twice under callgrind, serving N and then 2N sequential requests on one
//! keep-alive connection from a client on the other CPU, and stops gracefully so callgrind
//! writes its totals. Start-up, the first requests' one-off costs and shutdown are the same in
//! both runs, so (I(2N) − I(N)) ÷ N is the steady cost of one request. The 2N run's profile is
//! kept (`target/bench/callgrind.<server>.out`) with its top functions by own cost
//! (`target/bench/callgrind-<server>.txt`, from `callgrind_annotate`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::BoxError;
use crate::cases::{Credential, ServerKind};
use crate::client::{Connection, get_request};
use crate::options::Options;
use crate::system::{Launch, Machine, Server, has_program};

/// The servers counted, in order; EdDSA is left out (half a million instructions per request
/// would take valgrind minutes). The counts of servers with a feed task (the SQL and Redis
/// ones: heartbeats, and SQLite's polls every 20 ms) include that task's work during the
/// extra requests, which valgrind's slowness inflates.
const SERVERS: [ServerKind; 11] = [
    ServerKind::Bare,
    ServerKind::Hs256,
    ServerKind::Cookie,
    ServerKind::Redis,
    ServerKind::RedisNoCache,
    ServerKind::HandRolled,
    ServerKind::HandRolledRedis,
    ServerKind::Sqlite,
    ServerKind::Postgres,
    ServerKind::ServerSqlite,
    ServerKind::ServerPgRedis,
];

/// One server's count.
#[derive(Debug, Clone)]
pub(crate) struct Count {
    pub(crate) kind: ServerKind,
    pub(crate) per_request: f64,
}

pub(crate) fn run(
    options: &Options,
    machine: &Machine,
    dir: &Path,
) -> Result<Vec<Result<Count, String>>, BoxError> {
    if !has_program("valgrind") {
        return Ok(vec![Err(
            "valgrind is not installed (apt-get install valgrind)".to_owned(),
        )]);
    }
    let selected: Vec<ServerKind> = SERVERS
        .into_iter()
        .filter(|kind| {
            options.all_cases
                || *kind == ServerKind::Bare
                || options.cases.iter().any(|case| case.server == *kind)
        })
        .collect();
    let mut counts = Vec::new();
    for kind in selected {
        eprintln!("bench: callgrind {} ...", kind.name());
        let count = count(kind, options, machine, dir).map_err(|err| err.to_string());
        match &count {
            Ok(count) => eprintln!(
                "bench: callgrind {}: {:.0} instructions per request",
                kind.name(),
                count.per_request
            ),
            Err(err) => eprintln!("bench: callgrind {} failed: {err}", kind.name()),
        }
        counts.push(count);
    }
    Ok(counts)
}

fn count(
    kind: ServerKind,
    options: &Options,
    machine: &Machine,
    dir: &Path,
) -> Result<Count, BoxError> {
    let n = options.requests;
    let once = dir.join(format!("callgrind.{}.n.out", kind.name()));
    let twice = dir.join(format!("callgrind.{}.out", kind.name()));
    let one = total(kind, n, &once, options, machine)?;
    let two = total(kind, 2 * n, &twice, options, machine)?;
    if two <= one {
        return Err(format!("2N requests counted no more than N ({two} ≤ {one})").into());
    }
    let per_function = per_request_profile(&once, &twice, n);
    let _ = std::fs::remove_file(&once);
    std::fs::write(
        dir.join(format!("callgrind-{}.txt", kind.name())),
        per_function,
    )?;
    Ok(Count {
        kind,
        per_request: (two - one) as f64 / n as f64,
    })
}

/// The instructions of a whole server run that served `requests` requests.
fn total(
    kind: ServerKind,
    requests: u64,
    out: &PathBuf,
    options: &Options,
    machine: &Machine,
) -> Result<u64, BoxError> {
    let _ = std::fs::remove_file(out);
    let server = Server::start(&Launch {
        kind,
        cpu: machine.server_cpu(),
        redis_url: &options.redis_url,
        database_url: &options.database_url,
        callgrind_out: Some(out.clone()),
    })?;
    let credential = match kind {
        ServerKind::Bare => Credential::None,
        ServerKind::Cookie => Credential::Cookie,
        _ => Credential::Bearer,
    };
    let request = get_request(server.addr, credential, &server.token, kind.path());
    {
        let mut conn = Connection::open(server.addr)?;
        for _ in 0..requests {
            let status = conn.send(&request)?;
            if status != 200 {
                return Err(format!("the {} server answered {status}", kind.name()).into());
            }
        }
    }
    server.stop(Duration::from_secs(300))?;
    let text = std::fs::read_to_string(out)?;
    text.lines()
        .find_map(|line| {
            line.strip_prefix("totals:")
                .or_else(|| line.strip_prefix("summary:"))
        })
        .and_then(|value| value.split_whitespace().next())
        .ok_or("no totals in the callgrind output")?
        .parse()
        .map_err(Into::into)
}

/// Each function's own instructions per request: its count in the 2N run minus its count in
/// the N run, over N, from `callgrind_annotate` of both; the functions above 0.1 % of the
/// request, largest first.
fn per_request_profile(once: &Path, twice: &Path, n: u64) -> String {
    let (Some(one), Some(two)) = (functions(once), functions(twice)) else {
        return "callgrind_annotate is not available\n".to_owned();
    };
    let mut rows: Vec<(f64, &str)> = two
        .iter()
        .map(|(name, count)| {
            let before = one.get(name).copied().unwrap_or(0);
            ((*count as f64 - before as f64) / n as f64, name.as_str())
        })
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let total: f64 = rows.iter().map(|(per, _)| per).sum();
    let mut out = format!(
        "# own instructions per request, (I(2N) - I(N)) / N with N = {n}; total {total:.0}\n"
    );
    for (per, name) in rows.iter().take_while(|(per, _)| *per >= total * 0.001) {
        out.push_str(&format!(
            "{per:>9.0} {:>5.1} %  {name}\n",
            100.0 * per / total
        ));
    }
    out
}

/// Own cost per function (`file:function` as `callgrind_annotate` names it).
fn functions(profile: &Path) -> Option<std::collections::HashMap<String, u64>> {
    let output = Command::new("callgrind_annotate")
        .args(["--threshold=100", "--inclusive=no", "--auto=no"])
        .arg(profile)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut functions = std::collections::HashMap::new();
    for line in text.lines() {
        let line = line.trim_start();
        let Some((count, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(count) = count.replace(',', "").parse::<u64>() else {
            continue;
        };
        // `1,234 (12.3%)  file:function [object]`
        let name = rest.split_once(')').map_or(rest, |(_, name)| name).trim();
        if name.is_empty() || name.contains("PROGRAM TOTALS") {
            continue;
        }
        // Keep the function, not the source file of an inlined line (`file:function`; paths
        // have no colon, Rust functions have many).
        let function = name.split_once(':').map_or(name, |(_, f)| f);
        let function = function.split(" [").next().unwrap_or(function).to_owned();
        *functions.entry(function).or_insert(0) += count;
    }
    Some(functions)
}
