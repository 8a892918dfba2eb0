//! A PostgreSQL server of one test's own (`initdb` in a temporary directory, `postgres` on a
//! free loopback port), which the test may stop and start again with its data.
//!
//! The machine's shared Postgres (5432) is never touched. Postgres refuses to run as root, so
//! both programs run as the `postgres` OS user the Debian package creates. A watchdog stops
//! the server (immediate shutdown) when the test process ends, however it ends.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::private_process::{Watchdog, free_port, read_log};

/// How the server is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// `SIGINT`: open sessions are ended, and the server shuts down cleanly.
    Fast,
    /// `SIGQUIT`: every process quits at once, as in a crash; the next start recovers from
    /// the write-ahead log.
    Immediate,
}

/// A private Postgres: a port, a data directory and, while it runs, its process.
pub struct PrivatePostgres {
    port: u16,
    bin: PathBuf,
    user: (u32, u32),
    root: tempfile::TempDir,
    process: Option<(Child, Watchdog)>,
}

impl PrivatePostgres {
    /// Creates a cluster (trust authentication, superuser `postgres`) and starts it on a free
    /// loopback port.
    pub fn start() -> Self {
        let root = tempfile::Builder::new()
            .prefix("auth-e2e-pg-")
            .tempdir()
            .unwrap();
        let user = (os_id("-u"), os_id("-g"));
        std::os::unix::fs::chown(root.path(), Some(user.0), Some(user.1)).unwrap();
        let mut postgres = Self {
            port: free_port(),
            bin: bin_dir(),
            user,
            root,
            process: None,
        };
        let output = postgres
            .as_postgres("initdb")
            .arg("-D")
            .arg(postgres.data())
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C"])
            .arg("--no-sync")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        postgres.restart();
        postgres
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether it runs now.
    pub fn is_running(&self) -> bool {
        self.process.is_some()
    }

    /// Stops it and waits until it is gone.
    pub fn stop(&mut self, how: Stop) {
        let Some((mut server, _watchdog)) = self.process.take() else {
            return;
        };
        let signal = match how {
            Stop::Fast => "INT",
            Stop::Immediate => "QUIT",
        };
        let _ = Command::new("kill")
            .args(["-s", signal, &server.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = server.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = server.kill();
        let _ = server.wait();
    }

    /// Starts it (again) on its port, and waits until it accepts connections.
    pub fn restart(&mut self) {
        assert!(self.process.is_none(), "stop the server first");
        let log = self.root.path().join("postgres.log");
        let server = self
            .as_postgres("postgres")
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string(), "-h", "127.0.0.1"])
            .arg("-k")
            .arg(self.root.path())
            .args(["-c", "max_connections=50", "-c", "shared_buffers=16MB"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let guard = Watchdog::new(server.id(), "QUIT");
        self.process = Some((server, guard));
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.accepts() {
            if let Some((server, _)) = self.process.as_mut()
                && let Ok(Some(status)) = server.try_wait()
            {
                self.process = None;
                panic!("postgres exited ({status}): {}", read_log(&log));
            }
            assert!(
                Instant::now() < deadline,
                "postgres on port {} did not start: {}",
                self.port,
                read_log(&log)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn data(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// `pg_isready`: the server accepts connections.
    fn accepts(&self) -> bool {
        Command::new(self.bin.join("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
            .stdin(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// One of the server's programs, run as the `postgres` OS user.
    fn as_postgres(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command
            .uid(self.user.0)
            .gid(self.user.1)
            .current_dir(self.root.path())
            .env_clear()
            .env("LANG", "C");
        command
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        self.stop(Stop::Immediate);
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` (Debian's layout).
fn bin_dir() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .unwrap_or_else(|err| panic!("no PostgreSQL in {} ({err})", root.display()))
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .unwrap_or_else(|| panic!("no initdb under {}", root.display()))
}

/// `id -u postgres` or `id -g postgres`.
fn os_id(which: &str) -> u32 {
    let output = Command::new("id")
        .args([which, "postgres"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "there is no `postgres` OS user (install Debian's postgresql package)"
    );
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap()
}
