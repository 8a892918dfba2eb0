//! Passkeys and an authenticator app in a real browser: headless Debian Chromium, driven by
//! playwright-core (`tests/browser/mfa.mjs`), against the reference server's binary, with a
//! virtual authenticator of the DevTools protocol answering the pages' WebAuthn calls. A new
//! user adds a passkey on the account page and signs in with it alone; sets up an
//! authenticator app (the script computes the codes from the key the page shows) and finishes
//! password logins with a code, a recovery code and the passkey; removes the passkey and is
//! refused it; adds one again where the browser lacks WebAuthn's JSON helpers; and is told
//! that passkeys need the site's name at 127.0.0.1. Screenshots land in
//! `test-artifacts/browser-mfa/`.
//!
//! The server keeps its default public URL, `http://127.0.0.1:<port>`, whose passkeys are
//! offered for `localhost` on the same port: the browser opens the pages there.
//!
//! `tests/run.sh` installs what this needs (Debian's `chromium`, and `npm ci` in
//! `tests/browser`); without them the test fails and says so. Nothing is skipped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use auth_e2e::browser;
use auth_e2e::server::{Backend, Config, wait_for_mail};

const NOTICE: &str = "The sign-in of your account changed";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkeys_and_an_authenticator_app_through_the_pages_in_chromium() {
    browser::require_tools();
    let artifacts = browser::fresh_artifacts("browser-mfa");

    let config = Config::new(Backend::Sqlite).await;
    let server = config.start().await;
    let loopback = server.base.clone();
    assert!(loopback.starts_with("http://127.0.0.1:"), "{loopback}");
    let base = loopback.replacen("127.0.0.1", "localhost", 1);
    let email = format!("ada.{}@example.com", auth_e2e::unique());

    let stdout = browser::run_script(
        "mfa.mjs",
        &[&base, &loopback, artifacts.to_str().unwrap()],
        &[("ACCOUNT_EMAIL", email.as_str())],
        &artifacts,
        Duration::from_secs(180),
    )
    .await;
    println!("{stdout}");
    let screenshots = browser::screenshots(&artifacts);
    assert!(
        screenshots >= 16,
        "screenshots are kept as artefacts: {screenshots}"
    );

    // Every change of the factors was mailed to the user, in order.
    let outbox = config.outbox();
    let mut notices = Vec::new();
    for n in 1..=4 {
        notices.push(wait_for_mail(&outbox, &email, NOTICE, n).await.text);
    }
    for (notice, what) in notices.iter().zip([
        "a passkey was added",
        "an authenticator app was added",
        "a passkey was removed",
        "a passkey was added",
    ]) {
        assert!(notice.contains(what), "{what}: {notice}");
    }
}
