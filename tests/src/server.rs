//! The reference server (`examples/server`) as a real process: built once per test process,
//! started with a clean environment on a free loopback port, stopped with `SIGTERM`.
//!
//! A [`Config`] is one deployment: a data directory, a mail outbox, a JWT secret and,
//! optionally, a Postgres schema and a Redis key prefix of its own. Every [`Server`] started
//! from one `Config` shares all of them, so two processes of one `Config` are two instances
//! of one deployment, and a process started after another one stopped is a restart.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a server may take to print its address, and to stop.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// The password every helper uses.
pub const PASSWORD: &str = "correct horse battery staple";

/// The `server` binary, built the first time a test asks for it (once per test process; cargo's
/// own lock serialises concurrent test processes). It is built in the target directory and
/// profile of the running test executable, so `CARGO_TARGET_DIR` and `--release` are honoured.
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(build_binary)
}

fn build_binary() -> PathBuf {
    // The test executable is `<target>/<profile>/deps/<name>-<hash>`.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable lives in <target>/<profile>/deps")
        .to_owned();
    let target_dir = profile_dir.parent().unwrap().to_owned();
    let profile = profile_dir
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(&cargo);
    command
        .current_dir(workspace)
        .args(["build", "--quiet", "--package", "server", "--bin", "server"])
        .env("CARGO_TARGET_DIR", &target_dir);
    // Cargo gives the test process variables about this test crate (`CARGO_MANIFEST_DIR`,
    // `CARGO_PKG_NAME`, ...). Build scripts that watch them (ring's does) would see them
    // change and rebuild, here and again in the next plain `cargo build`: drop them.
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
            ]
            .contains(&name)
        {
            command.env_remove(name);
        }
    }
    match profile.as_str() {
        "debug" => {}
        "release" => {
            command.arg("--release");
        }
        other => {
            command.args(["--profile", other]);
        }
    }
    let started = Instant::now();
    let status = command
        .status()
        .unwrap_or_else(|err| panic!("cannot run {cargo} to build the server: {err}"));
    assert!(status.success(), "building the server failed ({status})");
    let binary = profile_dir.join(format!("server{}", std::env::consts::EXE_SUFFIX));
    assert!(binary.exists(), "no server binary at {}", binary.display());
    if started.elapsed() > Duration::from_secs(5) {
        eprintln!("built {} in {:.0?}", binary.display(), started.elapsed());
    }
    binary
}

/// The backing services of one deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: a SQLite file in the data directory, limits in process.
    Sqlite,
    /// Users in a fresh Postgres schema; sessions and limits in Redis under a fresh prefix.
    PostgresRedis,
    /// As [`Backend::PostgresRedis`], with the Redis Cluster of `REDIS_CLUSTER_URLS` (set by
    /// `tests/run.sh`) given to the server as a list of node URLs.
    PostgresRedisCluster,
    /// Users in a fresh MySQL (MariaDB) database; sessions and limits in Redis under a fresh
    /// prefix.
    MySqlRedis,
}

impl Backend {
    /// Whether users live in a database server and sessions in Redis (single node or cluster).
    pub fn is_shared(self) -> bool {
        self != Self::Sqlite
    }
}

/// One deployment of the server: where its state lives and the settings all its processes
/// share. Cheap to clone; the temporary directory goes when the last clone does.
#[derive(Debug, Clone)]
pub struct Config {
    pub backend: Backend,
    root: Arc<tempfile::TempDir>,
    vars: BTreeMap<String, String>,
}

impl Config {
    /// A deployment on `backend` with development settings fit for plain-http tests: a fixed
    /// JWT secret, `COOKIE_SECURE=false`, mails written to [`Config::outbox`].
    pub async fn new(backend: Backend) -> Self {
        let root = tempfile::Builder::new()
            .prefix("auth-e2e-server-")
            .tempdir()
            .unwrap();
        let mut config = Self {
            backend,
            vars: BTreeMap::new(),
            root: Arc::new(root),
        };
        let data = config.data_dir();
        let outbox = config.outbox();
        config = config
            .with("HOST", "127.0.0.1")
            .with("PORT", "0")
            .with("DATA_DIR", data.to_str().unwrap())
            .with("MAIL_OUTBOX_DIR", outbox.to_str().unwrap())
            .with("COOKIE_SECURE", "false")
            .with(
                "JWT_SECRET_KEY",
                &format!("e2e secret {} of at least 32 bytes", crate::unique()),
            )
            .with("RUST_LOG", "info,tower_http=warn");
        if backend.is_shared() {
            let database = if backend == Backend::MySqlRedis {
                crate::services::fresh_mysql_database().await
            } else {
                crate::services::fresh_postgres_schema().await
            };
            let redis = if backend == Backend::PostgresRedisCluster {
                std::env::var("REDIS_CLUSTER_URLS").unwrap_or_else(|_| {
                    panic!(
                        "REDIS_CLUSTER_URLS is not set; run `bash tests/run.sh`, which starts a cluster"
                    )
                })
            } else {
                std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
            };
            config = config
                .with("DATABASE_URL", &database)
                .with("REDIS_URL", &redis)
                .with("REDIS_KEY_PREFIX", &format!("e2e{}", crate::unique()));
        }
        config
    }

    /// A deployment on services of the test's own (private servers, or proxies in front of
    /// the shared ones): users in the Postgres at `database_url`, which the server migrates,
    /// sessions and limits in the Redis at `redis_url` under a fresh key prefix.
    pub async fn on_services(database_url: &str, redis_url: &str) -> Self {
        let mut config = Self::new(Backend::Sqlite)
            .await
            .with("DATABASE_URL", database_url)
            .with("REDIS_URL", redis_url)
            .with("REDIS_KEY_PREFIX", &format!("e2e{}", crate::unique()));
        config.backend = Backend::PostgresRedis;
        config
    }

    /// Sets a variable of every process started from now on.
    #[must_use]
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Unsets a variable (the server's default applies).
    #[must_use]
    pub fn without(mut self, name: &str) -> Self {
        self.vars.remove(name);
        self
    }

    /// `DATA_DIR`: the SQLite file and the generated development secret.
    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// `MAIL_OUTBOX_DIR`: one file per mail.
    pub fn outbox(&self) -> PathBuf {
        self.root.path().join("outbox")
    }

    /// A `server` command with exactly this configuration's environment, run from the
    /// temporary directory (so no `.env` of the developer's is read).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary());
        command
            .args(args)
            .env_clear()
            .envs(&self.vars)
            .current_dir(self.root.path());
        command
    }

    /// Runs a subcommand to its end, with `stdin` on its standard input.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// `server create-user --email EMAIL ARGS...` with [`PASSWORD`]; panics unless it succeeds.
    pub fn create_user(&self, email: &str, args: &[&str]) {
        let mut all = vec!["create-user", "--email", email];
        all.extend_from_slice(args);
        let output = self.run(&all, &format!("{PASSWORD}\n"));
        assert!(
            output.status.success(),
            "create-user failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains("created user"));
    }

    /// Starts `server serve` and waits until it prints the address it listens on.
    pub async fn start(&self) -> Server {
        let mut child = self
            .command(&["serve"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (address_tx, address_rx) = tokio::sync::oneshot::channel();
        let stdout = child.stdout.take().unwrap();
        let stdout_log = log.clone();
        std::thread::spawn(move || {
            let mut address_tx = Some(address_tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("listening on ")
                    && let Some(tx) = address_tx.take()
                {
                    let _ = tx.send(address.trim().to_owned());
                }
                push_line(&stdout_log, &line);
            }
        });
        let stderr = child.stderr.take().unwrap();
        let stderr_log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                push_line(&stderr_log, &line);
            }
        });
        let mut server = Server {
            child: Some(child),
            base: String::new(),
            http: reqwest::Client::new(),
            log,
        };
        match tokio::time::timeout(START_TIMEOUT, address_rx).await {
            Ok(Ok(base)) => server.base = base,
            Ok(Err(_)) => {
                let status = server.wait_for_exit(STOP_TIMEOUT);
                panic!(
                    "the server exited before listening ({status:?}):\n{}",
                    server.log()
                );
            }
            Err(_) => panic!(
                "the server did not listen within {START_TIMEOUT:?}:\n{}",
                server.log()
            ),
        }
        server
    }
}

fn push_line(log: &Mutex<String>, line: &str) {
    let mut log = log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    log.push_str(line);
    log.push('\n');
}

/// A running `server serve` process and a client for it. Dropping it stops the process
/// (`SIGTERM`, then `SIGKILL` if it lingers) and, when the test is failing, prints its log.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// A plain client (no cookie store).
    pub http: reqwest::Client,
    log: Arc<Mutex<String>>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything the process printed so far, stdout and stderr.
    pub fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Sends `SIGHUP`, which makes the server reload its key directory.
    pub fn hangup(&self) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        // `kill(1)` rather than libc: the workspace forbids unsafe code.
        let status = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
        assert!(status.success(), "kill -HUP {pid} failed: {status}");
    }

    /// Asks the server to shut down gracefully (`SIGTERM`) and waits for it to exit.
    pub async fn stop(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        tokio::task::spawn_blocking(move || terminate(&mut child))
            .await
            .unwrap()
            .expect("the server did not stop after SIGTERM")
    }

    /// As [`Server::stop`], and everything the process printed, to its last line.
    pub async fn stop_with_log(self) -> (ExitStatus, String) {
        let log = self.log.clone();
        let status = self.stop().await;
        // The threads that read the pipes reach their end just after the exit.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let log = log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        (status, log)
    }

    /// Sends `SIGTERM` and returns at once (the server starts its graceful shutdown).
    pub fn terminate(&self) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success(), "kill -TERM {pid} failed: {status}");
    }

    /// Waits up to `limit` for the process to exit; its status, or `None` if it still runs.
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    // --- a small client -------------------------------------------------------------------

    /// `POST /auth/register` with both profile fields; asserts `201`.
    pub async fn register(&self, email: &str, password: &str) -> Value {
        let response = self
            .http
            .post(self.url("/auth/register"))
            .json(&serde_json::json!({
                "email": email,
                "password": password,
                "first_name": "Ada",
                "second_name": "Lovelace",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "register {email}");
        response.json().await.unwrap()
    }

    /// `POST /auth/jwt/login` with the OAuth2 password form.
    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("/auth/jwt/login"))
            .form(&[
                ("grant_type", "password"),
                ("username", email),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Logs in; returns `(access, refresh)`.
    pub async fn tokens(&self, email: &str, password: &str) -> (String, String) {
        let response = self.login(email, password).await;
        assert_eq!(response.status(), 200, "login {email}");
        let body: Value = response.json().await.unwrap();
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    /// `GET /users/me` with a bearer token.
    pub async fn me(&self, access: &str) -> reqwest::Response {
        self.get(access, "/users/me").await
    }

    /// `GET path` with a bearer token.
    pub async fn get(&self, access: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
    }

    /// `POST /auth/jwt/refresh`.
    pub async fn refresh(&self, refresh: &str) -> reqwest::Response {
        self.http
            .post(self.url("/auth/jwt/refresh"))
            .json(&serde_json::json!({ "refresh_token": refresh }))
            .send()
            .await
            .unwrap()
    }

    /// `POST path` with a JSON body and no credentials.
    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take()
            && terminate(&mut child).is_none()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- log of the server at {} ---\n{}", self.base, self.log());
        }
    }
}

/// `SIGTERM`, then up to [`STOP_TIMEOUT`] for the process to exit.
fn terminate(child: &mut Child) -> Option<ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    // `kill(1)` rather than libc: the workspace forbids unsafe code.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// One mail of the outbox: its headers and text.
#[derive(Debug, Clone)]
pub struct OutboxMail {
    pub path: PathBuf,
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl OutboxMail {
    /// The first link in the text.
    pub fn link(&self) -> String {
        self.text
            .split_whitespace()
            .find(|word| word.starts_with("http://") || word.starts_with("https://"))
            .unwrap_or_else(|| panic!("no link in {}", self.text))
            .to_owned()
    }

    /// The token in the link's fragment (`#token=...`).
    pub fn token(&self) -> String {
        let link = self.link();
        link.split_once("#token=")
            .unwrap_or_else(|| panic!("no #token= in {link}"))
            .1
            .to_owned()
    }
}

/// Every mail in `dir`, oldest first (file names start with a timestamp).
pub fn outbox(dir: &Path) -> Vec<OutboxMail> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let raw = std::fs::read_to_string(&path).unwrap();
            let (head, text) = raw.split_once("\n\n").unwrap();
            let header = |name: &str| {
                head.lines()
                    .find_map(|line| line.strip_prefix(name))
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            };
            OutboxMail {
                to: header("To:"),
                subject: header("Subject:"),
                text: text.to_owned(),
                path,
            }
        })
        .collect()
}

/// Waits (up to ten seconds) for the `n`-th mail (counting from 1) to `to` whose subject
/// contains `subject`, and returns it.
pub async fn wait_for_mail(dir: &Path, to: &str, subject: &str, n: usize) -> OutboxMail {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found: Vec<OutboxMail> = outbox(dir)
            .into_iter()
            .filter(|mail| mail.to.eq_ignore_ascii_case(to) && mail.subject.contains(subject))
            .collect();
        if let Some(mail) = found.get(n - 1) {
            return mail.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no mail #{n} {subject:?} to {to} in {}: {:?}",
            dir.display(),
            outbox(dir)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
