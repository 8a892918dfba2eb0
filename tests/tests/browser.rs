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

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use auth_e2e::server::{Backend, Config, PASSWORD};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Panics, saying how to get it, when something the browser test needs is missing.
fn require_tools(browser_dir: &Path) {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let fix = "run the tests with `bash tests/run.sh`, which installs Debian's chromium and \
               runs `npm ci` in tests/browser";
    assert!(
        Path::new(&chromium).exists(),
        "Chromium is missing at {chromium}: {fix}"
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|output| output.status.success()),
        "Node.js (`node`) is missing: install it (Debian's nodejs), then {fix}"
    );
    assert!(
        browser_dir.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed in {}: {fix}",
        browser_dir.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_goes_through_every_page_in_chromium() {
    let browser_dir = workspace().join("tests/browser");
    require_tools(&browser_dir);
    let artifacts = workspace().join("test-artifacts/browser");
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).unwrap();

    let config = Config::new(Backend::Sqlite).await;
    let author = format!("author.{}@example.com", auth_e2e::unique());
    config.create_user(&author, &["--role", "author", "--verified"]);
    let server = config.start().await;
    let outbox = config.outbox();
    std::fs::create_dir_all(&outbox).unwrap();
    let mut script = tokio::process::Command::new("node");
    script
        .arg(browser_dir.join("pages.mjs"))
        .arg(&server.base)
        .arg(&artifacts)
        .arg(&outbox)
        .env("AUTHOR_EMAIL", &author)
        .env("AUTHOR_PASSWORD", PASSWORD)
        .current_dir(&browser_dir)
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(180), script.output())
        .await
        .expect("the browser script did not finish within three minutes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser script failed ({}); screenshots in {}\n{stdout}{stderr}",
        output.status,
        artifacts.display()
    );
    assert!(stdout.contains("ok: "), "{stdout}");
    let screenshots = std::fs::read_dir(&artifacts)
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|entry| entry.path().extension().is_some_and(|ext| ext == "png"))
        })
        .count();
    assert!(
        screenshots >= 24,
        "screenshots are kept as artefacts: {screenshots}"
    );
}
