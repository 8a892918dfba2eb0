//! `cargo run -p quickstart`, then:
//! `curl -X POST localhost:3000/auth/register -H 'content-type: application/json' -d '{"email":"me@example.com","password":"a long passphrase"}'`,
//! `curl -X POST localhost:3000/auth/jwt/login -d 'username=me@example.com&password=a long passphrase'`,
//! `curl localhost:3000/me -H 'authorization: Bearer <access_token>'`.

use std::error::Error;
use std::process::ExitCode;

use auth_axum::ServeConfig;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A sentence, not `Debug`: `error: invalid password: ...`, then its causes.
            eprintln!("error: {err}");
            let mut cause = err.source();
            while let Some(source) = cause {
                eprintln!("  caused by: {source}");
                cause = source.source();
            }
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let secret = std::env::var("JWT_SECRET_KEY")
        .unwrap_or_else(|_| "quickstart-only: use 32+ random bytes in real life".into());
    let app = quickstart::app("sqlite://quickstart.db?mode=rwc", secret.as_bytes()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    // `auth_axum::serve` hands every request its client's address (without it the per-IP
    // limits are off) and cuts off slow clients; Ctrl-C stops it gracefully.
    auth_axum::serve(listener, app, ServeConfig::default(), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
