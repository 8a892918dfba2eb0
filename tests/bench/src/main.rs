//! # bench
//!
//! The benchmark harness (what the auth layer costs beside bare axum), in one command:
//!
//! ```text
//! cargo run --release -p bench                       # every case, 3 × 10 s each, then callgrind
//! cargo run --release -p bench -- --quick            # every case, 1 × 3 s, fewer callgrind requests
//! cargo run --release -p bench -- --cases hs256,redis
//! cargo run --release -p bench -- --callgrind        # only the instruction counts
//! cargo run --release -p bench -- --fuzz            # every fuzz target under AFL++, 20 s each
//! cargo run --release -p bench -- --help
//! cargo run --release -p bench -- --soak --minutes 3  # the soak: mixed load, growth checks
//! ```
//!
//! It starts each bench server (this same binary, as `bench serve <kind>`) pinned to one CPU,
//! drives it with `wrk` (or, without wrk, a Rust load generator) pinned to another, reads the
//! server's peak RSS from `/proc/<pid>/status`, repeats each case and keeps the median, and
//! prints a markdown table with every figure's ratio to bare axum measured in the same run. A
//! full run rewrites the marked section of the results file (`README.md` between
//! `<!-- bench:start -->` and `<!-- bench:end -->`, or `tests/bench/RESULTS.md` while the
//! README has no such section).
//!
//! Not part of any library's dependencies: it is a workspace member that nothing depends on.
#![forbid(unsafe_code)]

mod axum_login;
mod callgrind;
mod cases;
mod client;
mod fastapi_users;
mod fuzz;
mod handrolled;
mod hash_time;
mod loadgen;
mod options;
mod propagation;
mod report;
mod runner;
mod server;
mod soak;
mod system;
mod wrk;

use std::process::ExitCode;

/// The reference server's allocator, for every case alike (bare axum included), so that the
/// server cases measure what the reference server runs and the ratios stay like for like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Every error of the harness, with its message.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => server::main(&args[1..]),
        Some("hash-time") => hash_time::main(&args[1..]),
        _ if args.iter().any(|arg| arg == "--soak") => soak::main(&args),
        _ if args.iter().any(|arg| arg == "--fuzz") => fuzz::main(&args),
        _ => runner::main(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench: {err}");
            ExitCode::FAILURE
        }
    }
}
