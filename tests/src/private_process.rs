//! What the private services of a test share: a free loopback port, and a watchdog that
//! ends a service when the test process ends, however it ends (a panic, a kill).

use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

/// A loopback port that nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `sh` blocked reading a pipe from this process: when the pipe closes (this value is
/// dropped, or the process ends), it sends the signal to the service.
pub struct Watchdog {
    shell: Child,
    pipe: Option<ChildStdin>,
}

impl Watchdog {
    /// Watches process `pid`; `signal` is a name for `kill -s` (`KILL`, `INT`, ...).
    pub fn new(pid: u32, signal: &str) -> Self {
        let mut shell = Command::new("sh")
            .args(["-c", "read -r _; kill -s \"$1\" \"$2\" 2>/dev/null", "sh"])
            .arg(signal)
            .arg(pid.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pipe = shell.stdin.take().unwrap();
        Self {
            shell,
            pipe: Some(pipe),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.pipe.take();
        let _ = self.shell.wait();
    }
}

/// A service's log file, for a failure message (empty when there is none).
pub fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
