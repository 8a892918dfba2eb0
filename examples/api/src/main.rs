//! `cargo run -p api`: the JSON API on 127.0.0.1:3000 (`JWT_SECRET_KEY`: 32+ random bytes).

use std::error::Error;
use std::process::ExitCode;

use auth_axum::ServeConfig;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let secret = std::env::var("JWT_SECRET_KEY")
        .map_err(|_| "set JWT_SECRET_KEY to at least 32 random bytes")?;
    let app = api::app("sqlite://api.db?mode=rwc", secret.as_bytes()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    auth_axum::serve(listener, app, ServeConfig::default(), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
