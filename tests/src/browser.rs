//! Running a browser script of `tests/browser` (headless Debian Chromium driven by
//! playwright-core) from a test: the checks that its tools are installed, a fresh folder for
//! its screenshots under `test-artifacts/`, and the run itself, with a time limit.
//!
//! `tests/run.sh` installs what this needs (Debian's `chromium`, and `npm ci` in
//! `tests/browser`); without them a test fails and says so. Nothing is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The workspace's root folder.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The npm package of the browser scripts: `tests/browser`.
pub fn package_dir() -> PathBuf {
    workspace().join("tests/browser")
}

/// Panics, saying how to get it, when something the browser scripts need is missing.
pub fn require_tools() {
    let browser_dir = package_dir();
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

/// `test-artifacts/<name>`, emptied: where a script's screenshots go.
pub fn fresh_artifacts(name: &str) -> PathBuf {
    let artifacts = workspace().join("test-artifacts").join(name);
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).unwrap();
    artifacts
}

/// `node <script>` in `tests/browser` with `args` and `envs`; panics, with its output, when it
/// fails or takes longer than `limit`. Returns its standard output.
pub async fn run_script(
    script: &str,
    args: &[&str],
    envs: &[(&str, &str)],
    artifacts: &Path,
    limit: Duration,
) -> String {
    let browser_dir = package_dir();
    let mut command = tokio::process::Command::new("node");
    command
        .arg(browser_dir.join(script))
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(&browser_dir)
        .kill_on_drop(true);
    let output = tokio::time::timeout(limit, command.output())
        .await
        .unwrap_or_else(|_| panic!("the browser script {script} did not finish within {limit:?}"))
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser script {script} failed ({}); screenshots in {}\n{stdout}{stderr}",
        output.status,
        artifacts.display()
    );
    assert!(stdout.contains("ok: "), "{stdout}");
    stdout
}

/// How many PNG files `dir` holds.
pub fn screenshots(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|entry| entry.path().extension().is_some_and(|ext| ext == "png"))
        })
        .count()
}
