//! The machine: CPUs, pinning, the servers as child processes, and their memory.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::BoxError;
use crate::cases::ServerKind;

/// What the results say about where they were measured.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    pub(crate) cores: usize,
    pub(crate) cpu_model: String,
    pub(crate) kernel: String,
    /// The server's and the load generator's CPUs, when there are two to pin to.
    pub(crate) pinning: Option<(usize, usize)>,
}

impl Machine {
    pub(crate) fn detect(server_cpu: usize, load_cpu: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map_or_else(
                || "unknown CPU".to_owned(),
                |(_, model)| model.trim().to_owned(),
            );
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".to_owned(), |text| text.trim().to_owned());
        let can_pin = cores >= 2
            && server_cpu != load_cpu
            && server_cpu.max(load_cpu) < cores
            && has_program("taskset");
        Self {
            cores,
            cpu_model,
            kernel,
            pinning: can_pin.then_some((server_cpu, load_cpu)),
        }
    }

    /// How many CPUs the server may use: the physical limit of hashing.
    pub(crate) fn server_cores(&self) -> usize {
        if self.pinning.is_some() {
            1
        } else {
            self.cores
        }
    }

    pub(crate) fn server_cpu(&self) -> Option<usize> {
        self.pinning.map(|(server, _)| server)
    }

    pub(crate) fn load_cpu(&self) -> Option<usize> {
        self.pinning.map(|(_, load)| load)
    }

    /// Pins this process (the harness, its probe and the Rust load generator) to the load
    /// generator's CPU.
    pub(crate) fn pin_self(&self) -> Result<(), BoxError> {
        if let Some(cpu) = self.load_cpu() {
            let status = Command::new("taskset")
                .args([
                    "-a",
                    "-p",
                    "-c",
                    &cpu.to_string(),
                    &std::process::id().to_string(),
                ])
                .stdout(Stdio::null())
                .status()?;
            if !status.success() {
                return Err("taskset could not pin the harness".into());
            }
        }
        Ok(())
    }
}

/// A command that runs pinned to `cpu`, when there is one.
pub(crate) fn pinned(cpu: Option<usize>, program: impl AsRef<Path>) -> Command {
    match cpu {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpu.to_string()).arg(program.as_ref());
            command
        }
        None => Command::new(program.as_ref()),
    }
}

pub(crate) fn has_program(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
}

/// What else the machine was doing: how busy its CPUs were over `window` (before the
/// harness starts anything, or after it stopped everything), the load average, and the
/// busiest processes.
pub(crate) fn background_busy(window: Duration) -> String {
    let busy = match (cpu_times(), {
        std::thread::sleep(window);
        cpu_times()
    }) {
        (Some((busy0, total0)), Some((busy1, total1))) if total1 > total0 => {
            format!(
                "{:.0} % of all CPUs busy",
                100.0 * (busy1 - busy0) as f64 / (total1 - total0) as f64
            )
        }
        _ => "CPU use unknown".to_owned(),
    };
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let loadavg: Vec<&str> = loadavg.split_whitespace().take(3).collect();
    let top = Command::new("ps")
        .args(["-eo", "pcpu,pid,comm", "--sort=-pcpu", "--no-headers"])
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    let me = std::process::id().to_string();
    let others: Vec<String> = top
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let cpu: f64 = fields.next()?.parse().ok()?;
            let pid = fields.next()?;
            let comm = fields.next()?;
            (cpu >= 5.0 && pid != me).then(|| format!("{comm} ({cpu:.0} %)"))
        })
        .take(5)
        .collect();
    format!(
        "{busy} over {} s, load average {}; processes above 5 % CPU (lifetime average): {}",
        window.as_secs_f64(),
        loadavg.join(" "),
        if others.is_empty() {
            "none".to_owned()
        } else {
            others.join(", ")
        }
    )
}

/// Busy and total jiffies of all CPUs, from `/proc/stat`.
fn cpu_times() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .filter_map(|field| field.parse().ok())
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    // idle and iowait
    let idle = fields.get(3)? + fields.get(4)?;
    Some((total - idle, total))
}

/// A running bench server.
pub(crate) struct Server {
    child: Child,
    /// The process whose memory is reported, when not the child (fastapi-users: uvicorn).
    measured_pid: Option<u32>,
    pub(crate) addr: SocketAddr,
    pub(crate) token: String,
}

/// How to start a bench server.
pub(crate) struct Launch<'a> {
    pub(crate) kind: ServerKind,
    pub(crate) cpu: Option<usize>,
    pub(crate) redis_url: &'a str,
    pub(crate) database_url: &'a str,
    /// Run under `valgrind --tool=callgrind`, writing counts to this file.
    pub(crate) callgrind_out: Option<PathBuf>,
}

impl Server {
    pub(crate) fn start(launch: &Launch<'_>) -> Result<Self, BoxError> {
        let exe = std::env::current_exe()?;
        let mut command = match &launch.callgrind_out {
            Some(out) => {
                let mut command = pinned(launch.cpu, "valgrind");
                command
                    .arg("--tool=callgrind")
                    .arg(format!("--callgrind-out-file={}", out.display()))
                    .arg(exe);
                command
            }
            None => pinned(launch.cpu, exe),
        };
        command
            .arg("serve")
            .arg(launch.kind.name())
            .arg("--redis")
            .arg(launch.redis_url)
            .arg("--database")
            .arg(launch.database_url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if launch.callgrind_out.is_some() {
                Stdio::null()
            } else {
                Stdio::inherit()
            });
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.find_map(|line| line.ok().filter(|line| line.starts_with("READY ")));
            let _ = tx.send(first);
            // Keep draining, so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let limit = if launch.callgrind_out.is_some() {
            Duration::from_secs(300)
        } else {
            Duration::from_secs(60)
        };
        let ready = match rx.recv_timeout(limit) {
            Ok(Some(line)) => line,
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("the {} server did not start", launch.kind.name()).into());
            }
        };
        let field = |name: &str| {
            ready
                .split_whitespace()
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
                .map(str::to_owned)
        };
        let addr = field("addr").ok_or("READY without addr")?.parse()?;
        let token = field("token").unwrap_or_default();
        let measured_pid = field("pid").and_then(|pid| pid.parse().ok());
        Ok(Self {
            child,
            measured_pid,
            addr,
            token,
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's peak resident set (VmHWM), in KiB.
    pub(crate) fn peak_rss_kib(&self) -> Option<u64> {
        status_field(self.measured_pid.unwrap_or(self.pid()), "VmHWM:")
    }

    /// Asks the server to stop (SIGTERM, a graceful shutdown) and waits for it.
    pub(crate) fn stop(mut self, limit: Duration) -> Result<(), BoxError> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Err("the server did not stop in time".into())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn status_field(pid: u32, name: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

/// Where the harness writes its scripts and callgrind files: `target/bench`.
pub(crate) fn work_dir() -> Result<PathBuf, BoxError> {
    let root = workspace_root();
    let dir = root.join("target").join("bench");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The workspace root: two levels above this crate.
pub(crate) fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .map_or_else(|| manifest.to_path_buf(), Path::to_path_buf)
}
