//! A real fastapi-users 15 app (`tests/fastapi_users/app.py`, SQLAlchemy on SQLite, JWT
//! bearer) run with uvicorn from the virtual environment `tests/run.sh` creates, for the
//! import test. A missing Python or environment is a failure, never a skip.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long uvicorn may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The Python of the virtual environment with fastapi-users installed:
/// `FASTAPI_USERS_PYTHON`, or `target/fastapi-users-venv/bin/python` in the workspace.
pub fn python() -> PathBuf {
    let python = std::env::var_os("FASTAPI_USERS_PYTHON").map_or_else(
        || workspace().join("target/fastapi-users-venv/bin/python"),
        PathBuf::from,
    );
    assert!(
        python.is_file(),
        "no Python with fastapi-users at {}: run `bash tests/run.sh`, which creates the \
         virtual environment (python3 -m venv target/fastapi-users-venv; pip install \
         \"fastapi-users[sqlalchemy]>=15,<16\" uvicorn aiosqlite), or set FASTAPI_USERS_PYTHON",
        python.display()
    );
    let check = Command::new(&python)
        .args([
            "-c",
            "import fastapi_users, uvicorn, aiosqlite; print(fastapi_users.__version__)",
        ])
        .output()
        .unwrap_or_else(|err| panic!("cannot run {}: {err}", python.display()));
    let version = String::from_utf8_lossy(&check.stdout).trim().to_owned();
    assert!(
        check.status.success() && version.starts_with("15."),
        "{} lacks fastapi-users 15, uvicorn or aiosqlite (found {version:?}): {}; run `bash tests/run.sh`",
        python.display(),
        String::from_utf8_lossy(&check.stderr)
    );
    python
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// A running fastapi-users app over the SQLite file `db`; dropping it kills the process.
pub struct FastapiUsers {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    http: reqwest::Client,
    log: Arc<Mutex<String>>,
}

impl FastapiUsers {
    /// Starts uvicorn on a free loopback port and waits until the app answers.
    pub async fn start(db: &Path) -> Self {
        let python = python();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(python)
            .args(["-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .arg("--app-dir")
            .arg(workspace().join("tests/fastapi_users"))
            .env("FASTAPI_USERS_DB", db)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let app = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            log,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(response) = app.http.get(app.url("/openapi.json")).send().await
                && response.status() == 200
            {
                return app;
            }
            assert!(
                Instant::now() < deadline,
                "fastapi-users did not answer within {START_TIMEOUT:?}:\n{}",
                app.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything uvicorn printed so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `POST /auth/register`; asserts `201` and returns the user.
    pub async fn register(&self, email: &str, password: &str) -> Value {
        let response = self
            .http
            .post(self.url("/auth/register"))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "fastapi-users register {email}: {body}");
        body
    }

    /// `POST /auth/jwt/login` with the OAuth2 password form.
    pub async fn login(&self, email: &str, password: &str) -> reqwest::StatusCode {
        self.http
            .post(self.url("/auth/jwt/login"))
            .form(&[("username", email), ("password", password)])
            .send()
            .await
            .unwrap()
            .status()
    }

    /// Stops the app.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for FastapiUsers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- fastapi-users log ---\n{}", self.log());
        }
    }
}
