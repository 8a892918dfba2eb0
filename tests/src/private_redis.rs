//! A `redis-server` of one test's own, which the test may crash and start again on the same
//! port, with its data: the append-only file is written and synced before every answer
//! (`appendfsync always`), so whatever Redis acknowledged survives a `SIGKILL`.
//!
//! The machine's shared Redis (6379) is never touched. A watchdog (`sh` blocked reading a
//! pipe from this process) kills the server when the test process ends, however it ends.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::private_process::{Watchdog, free_port, read_log};

/// A private Redis: a port, a data directory and, while it runs, its process.
pub struct PrivateRedis {
    port: u16,
    dir: tempfile::TempDir,
    process: Option<(Child, Watchdog)>,
}

impl PrivateRedis {
    /// Starts a server on a free loopback port, persisting to a fresh directory.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("auth-e2e-redis-")
            .tempdir()
            .unwrap();
        let mut redis = Self {
            port: free_port(),
            dir,
            process: None,
        };
        redis.restart();
        redis
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether it runs now.
    pub fn is_running(&self) -> bool {
        self.process.is_some()
    }

    /// Crashes it: `SIGKILL`, no shutdown of its own. Open connections are reset.
    pub fn kill(&mut self) {
        if let Some((mut server, _watchdog)) = self.process.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }

    /// Starts it (again) on its port, from what its append-only file holds.
    pub fn restart(&mut self) {
        assert!(self.process.is_none(), "kill the server first");
        let log = self.dir.path().join("redis.log");
        let server = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run redis-server ({err}); is it installed?"));
        let guard = Watchdog::new(server.id(), "KILL");
        self.process = Some((server, guard));
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.answers() {
            if let Some((server, _)) = self.process.as_mut()
                && let Ok(Some(status)) = server.try_wait()
            {
                panic!(
                    "redis-server on port {} exited ({status}): {}",
                    self.port,
                    read_log(&log)
                );
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not start: {}",
                self.port,
                read_log(&log)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `PING` answers `PONG` (and the data set is loaded).
    fn answers(&self) -> bool {
        Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "ping"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "PONG")
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
