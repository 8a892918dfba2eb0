//! A new user in a real browser: headless Debian Chromium, driven by playwright-core
//! (`tests/browser/pages.mjs`), against the reference server's binary: signs up, verifies the
//! address through the mailed link, logs in through the HTML form (and is refused in words),
//! is redirected away from `/login` while signed in, resets a forgotten password through the
//! mailed link, reads and (as an author) writes articles, is throttled and told when to try
//! again, and uses the API explorer at `/docs`. The script reads the mails from the server's
//! outbox. Screenshots land in `test-artifacts/browser/`.
//!
//! `tests/run.sh` installs what this needs (Debian's `chromium`, and `npm ci` in
//! `tests/browser`); without them the test fails and says so. Nothing is skipped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use auth_e2e::browser;
use auth_e2e::server::{Backend, Config, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_goes_through_every_page_in_chromium() {
    browser::require_tools();
    let artifacts = browser::fresh_artifacts("browser");

    let config = Config::new(Backend::Sqlite).await;
    let author = format!("author.{}@example.com", auth_e2e::unique());
    config.create_user(&author, &["--role", "author", "--verified"]);
    let server = config.start().await;
    let outbox = config.outbox();
    std::fs::create_dir_all(&outbox).unwrap();
    browser::run_script(
        "pages.mjs",
        &[
            &server.base,
            artifacts.to_str().unwrap(),
            outbox.to_str().unwrap(),
        ],
        &[
            ("AUTHOR_EMAIL", author.as_str()),
            ("AUTHOR_PASSWORD", PASSWORD),
        ],
        &artifacts,
        Duration::from_secs(180),
    )
    .await;
    let screenshots = browser::screenshots(&artifacts);
    assert!(
        screenshots >= 24,
        "screenshots are kept as artefacts: {screenshots}"
    );
}
