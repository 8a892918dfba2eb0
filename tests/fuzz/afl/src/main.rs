//! The AFL++ harness: `auth-fuzz-afl <target>` runs that target (see `auth_fuzz::TARGETS`)
//! on the inputs AFL++ feeds it, in persistent mode.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = auth_fuzz::target(&name) else {
        let names: Vec<&str> = auth_fuzz::TARGETS.iter().map(|target| target.name).collect();
        eprintln!("usage: auth-fuzz-afl <target>, one of: {}", names.join(", "));
        return ExitCode::FAILURE;
    };
    afl::fuzz!(|data: &[u8]| {
        (target.run)(data);
    });
    ExitCode::SUCCESS
}
