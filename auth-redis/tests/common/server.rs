//! Private `redis-server` processes for tests that stop, restart or count commands on their
//! own server.
//!
//! Every server comes with a watchdog (`sh` blocked reading a pipe from this process): when
//! the test process ends, however it ends, the pipe closes and the watchdog kills the server.

use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

/// Ports for private servers: a range of their own, away from the test cluster's.
static NEXT_PORT: AtomicU16 = AtomicU16::new(7800);

/// A `redis-server` started by this process, killed at the latest when the process ends.
pub struct Process {
    server: Child,
    _watchdog: (Child, ChildStdin),
}

impl Process {
    /// Starts `redis-server` with these arguments; `None` if it exits at once (port taken).
    pub fn spawn(port: u16, dir: &PathBuf, extra: &[&str]) -> Option<Self> {
        std::fs::create_dir_all(dir).unwrap();
        let log = dir.join(format!("redis-{port}.log"));
        let server = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .arg("--logfile")
            .arg(&log)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run redis-server ({err}); is it installed?"));
        let mut watchdog = Command::new("sh")
            .args(["-c", "read -r _; kill \"$1\" 2>/dev/null", "sh"])
            .arg(server.id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pipe = watchdog.stdin.take().unwrap();
        let mut process = Self {
            server,
            _watchdog: (watchdog, pipe),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if process.server.try_wait().unwrap().is_some() {
                return None;
            }
            if cli(port, &["ping"]).is_some_and(|reply| reply.trim() == "PONG") {
                return Some(process);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        process.kill();
        panic!(
            "redis-server on port {port} did not start; see {}",
            log.display()
        );
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.server.id()
    }

    /// Kills the server at once.
    pub fn kill(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }

    /// Waits for the server to exit (after a `SHUTDOWN`).
    pub fn wait(&mut self) {
        let _ = self.server.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `redis-cli -p <port> <args>`; its output, or `None` if it failed.
pub fn cli(port: u16, args: &[&str]) -> Option<String> {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Whether nothing listens on `port` (nor on its cluster bus port).
pub fn port_is_free(port: u16) -> bool {
    let free = |port: u16| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
    free(port) && port.checked_add(10_000).is_some_and(free)
}

/// A directory under the target directory for one server's files, named after this process;
/// directories left by test processes that have ended are removed on first use.
pub fn scratch_dir(name: &str) -> PathBuf {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    SWEPT.call_once(|| sweep_stale_dirs(&root));
    root.join(format!("{name}-{}", std::process::id()))
}

fn sweep_stale_dirs(root: &std::path::Path) {
    let proc = std::path::Path::new("/proc");
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    if !proc.exists() {
        return;
    }
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_ours = name.starts_with("cluster-") || name.starts_with("private-");
        let pid = name
            .rsplit('-')
            .next()
            .and_then(|pid| pid.parse::<u32>().ok());
        if let (true, Some(pid)) = (is_ours, pid)
            && !proc.join(pid.to_string()).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// `n` consecutive ports from the private range whose ports and bus ports are free now.
pub fn reserve_ports(n: u16) -> Vec<u16> {
    loop {
        let first = NEXT_PORT.fetch_add(n, Ordering::Relaxed);
        assert!(
            first + n <= 8000,
            "no free ports left for private redis-servers"
        );
        let ports: Vec<u16> = (first..first + n).collect();
        if ports.iter().all(|port| port_is_free(*port)) {
            return ports;
        }
    }
}

/// A Redis server of one test's own, which the test may stop and restart.
pub struct PrivateRedis {
    port: u16,
    dir: PathBuf,
    process: Option<Process>,
}

impl PrivateRedis {
    /// Starts a server on a free port of its own.
    pub fn start() -> Self {
        loop {
            let port = reserve_ports(1)[0];
            let dir = scratch_dir(&format!("private-{port}"));
            if let Some(process) = Process::spawn(port, &dir, &[]) {
                return Self {
                    port,
                    dir,
                    process: Some(process),
                };
            }
        }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.process.as_ref().map(Process::pid).unwrap()
    }

    /// Stops it as an operator would: `SHUTDOWN NOSAVE`.
    pub fn stop(&mut self) {
        let _ = cli(self.port, &["shutdown", "nosave"]);
        if let Some(mut process) = self.process.take() {
            process.wait();
        }
    }

    /// Starts it again on the same port (empty: nothing was saved).
    pub fn restart(&mut self) {
        assert!(self.process.is_none(), "stop the server first");
        self.process = Some(
            Process::spawn(self.port, &self.dir, &[]).unwrap_or_else(|| {
                panic!("port {} was taken while the server was down", self.port)
            }),
        );
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.process.take();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
