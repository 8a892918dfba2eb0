//! `cargo run -p quickstart`, then:
//! `curl -X POST localhost:3000/auth/register -H 'content-type: application/json' -d '{"email":"me@example.com","password":"a long passphrase"}'`,
//! `curl -X POST localhost:3000/auth/jwt/login -d 'username=me@example.com&password=a long passphrase'`,
//! `curl localhost:3000/me -H 'authorization: Bearer <access_token>'`.

use std::net::SocketAddr;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("JWT_SECRET_KEY")
        .unwrap_or_else(|_| "quickstart-only: use 32+ random bytes in real life".into());
    let app = quickstart::app("sqlite://quickstart.db?mode=rwc", secret.as_bytes()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
