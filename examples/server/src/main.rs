//! `server`: the reference server's command line.

use std::process::ExitCode;

/// mimalloc: a request allocates a few dozen small objects (headers, the token's claims, the
/// JSON answer), and glibc's allocator spends a fifth of the request's instructions on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    server::cli::main(std::env::args().skip(1).collect()).await
}
