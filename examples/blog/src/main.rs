//! `cargo run -p blog`: the blog on 127.0.0.1:3000. Set `JWT_SECRET_KEY` (32+ random bytes),
//! `ADMIN_EMAIL` and `ADMIN_PASSWORD` (the first admin, created on the first start).

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

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name}"))
}

async fn run() -> Result<(), Box<dyn Error>> {
    let secret = env("JWT_SECRET_KEY")?;
    let app = blog::app(
        secret.as_bytes(),
        &env("ADMIN_EMAIL")?,
        &env("ADMIN_PASSWORD")?,
    )
    .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    auth_axum::serve(listener, app, ServeConfig::default(), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
