//! `server`: the reference server's command line.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // One process-wide TLS provider for the outgoing https requests (OAuth providers).
    let _ = rustls::crypto::ring::default_provider().install_default();
    server::cli::main(std::env::args().skip(1).collect()).await
}
