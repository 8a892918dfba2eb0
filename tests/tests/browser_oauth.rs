//! "Continue with corp" in a real browser: headless Debian Chromium, driven by playwright-core
//! (`tests/browser/oauth.mjs`), against the reference server's binary and a real OpenID
//! provider (oidc-provider, `tests/oidc`), both on loopback. The visitor signs in from the login
//! page through the provider's own login and consent pages and lands on the account page, logs
//! out, signs in with the provider again, and is told in words on the login page when a
//! replayed callback is refused. Screenshots land in `test-artifacts/browser-oauth/`.
//!
//! `tests/run.sh` installs what this needs (Debian's `chromium`, `npm ci` in `tests/browser` and
//! in `tests/oidc`); without them the test fails and says so. Nothing is skipped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use auth_e2e::browser;
use auth_e2e::oidc::{Provider, ProviderConfig};
use auth_e2e::server::{Backend, Config};
use serde_json::json;

const CLIENT_SECRET: &str = "corp client secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_signs_in_with_the_provider_in_chromium() {
    browser::require_tools();
    let artifacts = browser::fresh_artifacts("browser-oauth");

    let login = "ada";
    let email = format!("ada.{}@example.com", auth_e2e::unique());
    let provider =
        Provider::start(&ProviderConfig::new().account(login, &email, "Ada Lovelace")).await;
    let config = Config::new(Backend::Sqlite)
        .await
        .with("OAUTH_PROVIDERS", "corp")
        .with("OAUTH_CORP_CLIENT_ID", "corp-client")
        .with("OAUTH_CORP_CLIENT_SECRET", CLIENT_SECRET)
        .with("OAUTH_CORP_ISSUER", provider.issuer())
        .with(
            "OAUTH_TOKEN_KEY",
            &format!("oauth token key {} of 32+ bytes", auth_e2e::unique()),
        );
    let server = config.start().await;
    provider
        .add_client(&json!({
            "client_id": "corp-client",
            "client_secret": CLIENT_SECRET,
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "redirect_uris": [server.url("/auth/cookie/corp/callback")],
        }))
        .await;

    let stdout = browser::run_script(
        "oauth.mjs",
        &[&server.base, provider.issuer(), artifacts.to_str().unwrap()],
        &[("PROVIDER_LOGIN", login), ("ACCOUNT_EMAIL", email.as_str())],
        &artifacts,
        Duration::from_secs(90),
    )
    .await;
    println!("{stdout}");
    let screenshots = browser::screenshots(&artifacts);
    assert!(
        screenshots >= 10,
        "screenshots are kept as artefacts: {screenshots}"
    );
    assert!(!server.log().contains(CLIENT_SECRET));
}
