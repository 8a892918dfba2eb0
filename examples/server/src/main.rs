//! `server`: the reference server's command line.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    server::cli::main(std::env::args().skip(1).collect()).await
}
