//! `bench --fuzz`: a bounded AFL++ run of every fuzz target (`tests/fuzz`), with the
//! executions, speed, coverage and crashes of each in the results.
//!
//! It installs what it needs when missing: `cargo-afl` (from crates.io) and the AFL++ it
//! builds (`cargo afl config --build`). The targets are built with AFL++'s instrumentation
//! (`cargo afl build --release`) from their own workspace (`tests/fuzz/afl`) into
//! `target/fuzz-afl`, so nothing of the normal build is rebuilt. Each target starts from its
//! seeds (`tests/fuzz/corpus/<target>`); every crash found is copied into
//! `tests/fuzz/crashes/<target>/`, which the normal suite replays.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::BoxError;
use crate::report;
use crate::system::{self, workspace_root};

/// The cargo-afl this harness was written against (it builds AFL++ 4.40c).
const CARGO_AFL_VERSION: &str = "0.18.2";

/// Seconds per target unless `--seconds` says otherwise: eight targets, a few minutes.
const DEFAULT_SECONDS: u64 = 20;

/// The names of the targets, in their order.
fn target_names() -> Vec<&'static str> {
    auth_fuzz::TARGETS
        .iter()
        .map(|target| target.name)
        .collect()
}

pub(crate) const START: &str = "<!-- fuzz:start -->";
pub(crate) const END: &str = "<!-- fuzz:end -->";

#[derive(Debug)]
struct FuzzOptions {
    seconds: u64,
    targets: Vec<&'static str>,
    write: bool,
    command: String,
}

fn parse(args: &[String]) -> Result<FuzzOptions, BoxError> {
    let mut options = FuzzOptions {
        seconds: DEFAULT_SECONDS,
        targets: target_names(),
        write: true,
        command: std::iter::once("cargo run --release -p bench --")
            .chain(args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" "),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| BoxError::from(format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--fuzz" => {}
            "--seconds" => {
                options.seconds = value()?.parse()?;
                if options.seconds == 0 {
                    return Err("--seconds must be at least 1".into());
                }
            }
            "--targets" => {
                let list = value()?;
                options.targets = list
                    .split(',')
                    .map(str::trim)
                    .filter(|name| !name.is_empty())
                    .map(|name| {
                        auth_fuzz::target(name)
                            .map(|target| target.name)
                            .ok_or_else(|| {
                                BoxError::from(format!(
                                    "unknown fuzz target `{name}` (known: {})",
                                    target_names().join(", ")
                                ))
                            })
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--write" => options.write = true,
            "--no-write" => options.write = false,
            other => return Err(format!("unknown option with --fuzz: `{other}`").into()),
        }
    }
    Ok(options)
}

/// One target's run, from AFL++'s `fuzzer_stats`.
#[derive(Debug, Default)]
struct Stats {
    seconds: f64,
    execs: u64,
    execs_per_sec: f64,
    edges_found: u64,
    total_edges: u64,
    map_density: String,
    corpus: u64,
    crashes: u64,
    hangs: u64,
    stability: String,
    /// Crash inputs not yet in `tests/fuzz/crashes`.
    new_crashes: Vec<PathBuf>,
}

pub(crate) fn main(args: &[String]) -> Result<(), BoxError> {
    let options = parse(args)?;
    let root = workspace_root();
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("fuzz-afl");
    ensure_afl()?;
    let binary = build(&root, &target_dir)?;

    let mut results = Vec::new();
    for target in &options.targets {
        eprintln!("bench: fuzzing {target} for {} s ...", options.seconds);
        let outcome = fuzz_one(&root, &target_dir, &binary, target, options.seconds)
            .map_err(|err| err.to_string());
        if let Err(err) = &outcome {
            eprintln!("bench: {target}: {err}");
        }
        results.push((*target, outcome));
    }

    let markdown = markdown(&options, &results);
    print!("{markdown}");
    let dir = system::work_dir()?;
    std::fs::write(dir.join("fuzz.md"), &markdown)?;
    if options.write {
        let written = report::write_marked(
            &root.join("tests").join("bench").join("RESULTS.md"),
            START,
            END,
            &markdown,
        )?;
        eprintln!("bench: wrote the fuzz results into {}", written.display());
    }
    let crashed: Vec<&str> = results
        .iter()
        .filter(|(_, outcome)| outcome.as_ref().map_or(true, |stats| stats.crashes > 0))
        .map(|(target, _)| *target)
        .collect();
    if crashed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fuzz targets with crashes or failed runs: {} (crash inputs are in \
             tests/fuzz/crashes/, replayed by `cargo test -p auth-fuzz`)",
            crashed.join(", ")
        )
        .into())
    }
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Installs cargo-afl and builds AFL++ when they are missing.
fn ensure_afl() -> Result<(), BoxError> {
    let installed = cargo()
        .args(["afl", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !installed {
        eprintln!("bench: installing cargo-afl {CARGO_AFL_VERSION} from crates.io (once) ...");
        let status = cargo()
            .args([
                "install",
                "cargo-afl",
                "--locked",
                "--version",
                CARGO_AFL_VERSION,
            ])
            .status()?;
        if !status.success() {
            return Err("cargo install cargo-afl failed".into());
        }
    }
    // Builds AFL++ for this toolchain; says so and fails when it is built already.
    let output = cargo().args(["afl", "config", "--build"]).output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && !stderr.contains("already built") {
        return Err(format!("cargo afl config --build failed:\n{stderr}").into());
    }
    Ok(())
}

/// Builds the instrumented harness; returns its path.
fn build(root: &Path, target_dir: &Path) -> Result<PathBuf, BoxError> {
    eprintln!("bench: building the fuzz targets with AFL++'s instrumentation ...");
    let manifest = root
        .join("tests")
        .join("fuzz")
        .join("afl")
        .join("Cargo.toml");
    let status = cargo()
        .args(["afl", "build", "--release", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", target_dir)
        .status()?;
    if !status.success() {
        return Err("cargo afl build failed".into());
    }
    Ok(target_dir.join("release").join("auth-fuzz-afl"))
}

fn fuzz_one(
    root: &Path,
    target_dir: &Path,
    binary: &Path,
    target: &str,
    seconds: u64,
) -> Result<Stats, BoxError> {
    let seeds = root.join("tests").join("fuzz").join("corpus").join(target);
    let out = target_dir.join("out").join(target);
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    std::fs::create_dir_all(&out)?;
    let log = std::fs::File::create(target_dir.join("out").join(format!("{target}.log")))?;
    let status = cargo()
        .args(["afl", "fuzz", "-V"])
        .arg(seconds.to_string())
        // Argon2 in the body target takes milliseconds: allow it, skip slower inputs.
        .args(["-t", "1000+", "-m", "none", "-i"])
        .arg(&seeds)
        .arg("-o")
        .arg(&out)
        .arg("--")
        .arg(binary)
        .arg(target)
        .env("AFL_NO_UI", "1")
        // A shared machine: no CPU binding, no frequency check, no core-dump check.
        .env("AFL_NO_AFFINITY", "1")
        .env("AFL_SKIP_CPUFREQ", "1")
        .env("AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES", "1")
        .env("AFL_NO_CRASH_README", "1")
        .env("AFL_FAST_CAL", "1")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()?;
    let stats_file = out.join("default").join("fuzzer_stats");
    let text = std::fs::read_to_string(&stats_file).map_err(|err| {
        format!(
            "afl-fuzz exited with {status} and left no {} ({err}); see {}",
            stats_file.display(),
            target_dir
                .join("out")
                .join(format!("{target}.log"))
                .display()
        )
    })?;
    let mut stats = read_stats(&text);
    stats.new_crashes = keep_crashes(root, target, &out.join("default").join("crashes"))?;
    Ok(stats)
}

fn read_stats(text: &str) -> Stats {
    let field = |name: &str| {
        text.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(key, _)| key.trim() == name)
            .map(|(_, value)| value.trim().to_owned())
            .unwrap_or_default()
    };
    let number = |name: &str| field(name).parse::<u64>().unwrap_or(0);
    let start = number("start_time");
    let last = number("last_update");
    Stats {
        seconds: last.saturating_sub(start) as f64,
        execs: number("execs_done"),
        execs_per_sec: field("execs_per_sec").parse().unwrap_or(0.0),
        edges_found: number("edges_found"),
        total_edges: number("total_edges"),
        map_density: field("bitmap_cvg"),
        corpus: number("corpus_count"),
        crashes: number("saved_crashes"),
        hangs: number("saved_hangs"),
        stability: field("stability"),
        new_crashes: Vec::new(),
    }
}

/// Copies each crash input not kept yet into `tests/fuzz/crashes/<target>/`, named by a
/// digest of its bytes; returns the files written.
fn keep_crashes(root: &Path, target: &str, crashes: &Path) -> Result<Vec<PathBuf>, BoxError> {
    let Ok(entries) = std::fs::read_dir(crashes) else {
        return Ok(Vec::new());
    };
    let kept_dir = root.join("tests").join("fuzz").join("crashes").join(target);
    let mut written = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if !path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("id:"))
        {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        let kept = kept_dir.join(format!("crash-{:016x}", fnv1a(&bytes)));
        if !kept.exists() {
            std::fs::create_dir_all(&kept_dir)?;
            std::fs::write(&kept, &bytes)?;
            written.push(kept);
        }
    }
    Ok(written)
}

/// FNV-1a, 64 bits: a stable name for a crash input.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn markdown(options: &FuzzOptions, results: &[(&str, Result<Stats, String>)]) -> String {
    let mut out = String::new();
    let machine = system::Machine::detect(0, 1);
    let date = time::OffsetDateTime::now_utc().date();
    let _ = writeln!(out, "### Fuzzing results\n");
    let _ = writeln!(
        out,
        "- Machine: {} CPUs (`nproc`), {}, Linux {}; measured {date}.",
        machine.cores, machine.cpu_model, machine.kernel
    );
    let _ = writeln!(out, "- Command: `{}`", options.command);
    let _ = writeln!(
        out,
        "- AFL++ (cargo-afl {CARGO_AFL_VERSION}), one instance per target, {} s each, from the \
         seeds in `tests/fuzz/corpus/`; edges are AFL++'s instrumented branch edges of the \
         harness binary (the targets and every crate they link), map density its `bitmap_cvg`.\n",
        options.seconds
    );
    let _ = writeln!(
        out,
        "| target | time | executions | execs/s | edges found / instrumented | map density | corpus | crashes (new kept) | hangs | stability |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut total_execs = 0;
    for (target, outcome) in results {
        match outcome {
            Ok(stats) => {
                total_execs += stats.execs;
                let _ = writeln!(
                    out,
                    "| {target} | {:.0} s | {} | {} | {} / {} | {} | {} | {} ({}) | {} | {} |",
                    stats.seconds,
                    thousands(stats.execs),
                    thousands(stats.execs_per_sec.round() as u64),
                    thousands(stats.edges_found),
                    thousands(stats.total_edges),
                    stats.map_density,
                    stats.corpus,
                    stats.crashes,
                    stats.new_crashes.len(),
                    stats.hangs,
                    stats.stability
                );
            }
            Err(err) => {
                let _ = writeln!(
                    out,
                    "| {target} | failed: {} | | | | | | | | |",
                    err.replace('|', "/").replace('\n', " ")
                );
            }
        }
    }
    let _ = writeln!(out, "\nTotal executions: {}.", thousands(total_execs));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_are_read_from_afl_output() {
        let text = "start_time        : 100\nlast_update       : 130\nexecs_done        : 12345\n\
                    execs_per_sec     : 411.50\nedges_found       : 2000\ntotal_edges       : 65536\n\
                    bitmap_cvg        : 3.05%\ncorpus_count      : 77\nsaved_crashes     : 2\n\
                    saved_hangs       : 0\nstability         : 99.10%\n";
        let stats = read_stats(text);
        assert_eq!(stats.seconds, 30.0);
        assert_eq!(stats.execs, 12345);
        assert_eq!(stats.edges_found, 2000);
        assert_eq!(stats.total_edges, 65536);
        assert_eq!(stats.map_density, "3.05%");
        assert_eq!(stats.crashes, 2);
        assert_eq!(stats.stability, "99.10%");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn options_name_known_targets_only() {
        let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let options = parse(&args(&[
            "--fuzz",
            "--seconds",
            "5",
            "--targets",
            "jwt,email",
        ]))
        .unwrap();
        assert_eq!(options.seconds, 5);
        assert_eq!(options.targets, ["jwt", "email"]);
        assert!(parse(&args(&["--fuzz", "--targets", "nope"])).is_err());
        assert!(parse(&args(&["--fuzz", "--seconds", "0"])).is_err());
    }
}
