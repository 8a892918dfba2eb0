//! Test Redis Clusters: the shared one (the cluster in `REDIS_CLUSTER_URLS`, or three masters
//! on loopback ports that this test process starts once, shares between its tests, and stops
//! when it ends), and private ones that a test may take nodes of down.
//!
//! Every node has a watchdog (see [`super::server`]), so nodes stop when the process ends.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use auth_redis::{RedisConfig, RedisConnection};

use super::server::{Process, cli, port_is_free, reserve_ports, scratch_dir};

/// A three-master cluster started by this process, with or without a replica per master.
pub struct TestCluster {
    ports: Vec<u16>,
    replicas: usize,
    dir: PathBuf,
    node_timeout_ms: u32,
    nodes: Vec<Option<Process>>,
}

static SHARED: OnceLock<(Vec<String>, Option<TestCluster>)> = OnceLock::new();

/// The node URLs of the shared test cluster, starting it on first use.
pub fn urls() -> &'static [String] {
    &SHARED.get_or_init(init_shared).0
}

/// A connection to the shared test cluster under a fresh key prefix.
pub async fn connection() -> RedisConnection {
    let urls = urls();
    super::connect(
        RedisConfig::cluster(urls.iter().cloned()).unwrap(),
        &format!("the Redis Cluster at {}", urls.join(",")),
    )
    .await
}

fn init_shared() -> (Vec<String>, Option<TestCluster>) {
    if let Ok(urls) = std::env::var("REDIS_CLUSTER_URLS") {
        let urls: Vec<String> = urls
            .split([',', ' '])
            .filter(|url| !url.is_empty())
            .map(str::to_owned)
            .collect();
        assert!(!urls.is_empty(), "REDIS_CLUSTER_URLS is set but empty");
        return (urls, None);
    }
    // Three consecutive free ports (and bus ports) from 7101 on; another process may take
    // them between the check and the start, so a failed start moves on to the next three.
    let mut base = 7101;
    loop {
        assert!(
            base < 7700,
            "no three free ports for the test cluster below 7700"
        );
        let ports = vec![base, base + 1, base + 2];
        base += 10;
        if !ports.iter().all(|port| port_is_free(*port)) {
            continue;
        }
        if let Some(cluster) = TestCluster::start(ports, 0, 5_000) {
            return (cluster.urls(), Some(cluster));
        }
    }
}

impl TestCluster {
    /// A cluster of this test's own, on private ports, whose nodes declare each other failed
    /// after `node_timeout_ms` without an answer.
    pub fn start_private(node_timeout_ms: u32) -> Self {
        Self::start_private_with_replicas(0, node_timeout_ms)
    }

    /// As [`TestCluster::start_private`], with `replicas` replicas of each master (on
    /// private ports too); [`TestCluster::role`] tells which node is which.
    pub fn start_private_with_replicas(replicas: usize, node_timeout_ms: u32) -> Self {
        let nodes = u16::try_from(3 * (1 + replicas)).unwrap();
        loop {
            let ports = reserve_ports(nodes);
            if let Some(cluster) = Self::start(ports, replicas, node_timeout_ms) {
                return cluster;
            }
        }
    }

    fn start(ports: Vec<u16>, replicas: usize, node_timeout_ms: u32) -> Option<Self> {
        let dir = scratch_dir(&format!("cluster-{}", ports[0]));
        let _ = std::fs::remove_dir_all(&dir);
        let mut cluster = Self {
            ports,
            replicas,
            dir,
            node_timeout_ms,
            nodes: Vec::new(),
        };
        for port in cluster.ports.clone() {
            cluster.nodes.push(Some(cluster.spawn(port)?));
        }
        let addresses: Vec<String> = cluster
            .ports
            .iter()
            .map(|port| format!("127.0.0.1:{port}"))
            .collect();
        let replicas = cluster.replicas.to_string();
        let mut create = vec!["--cluster", "create"];
        create.extend(addresses.iter().map(String::as_str));
        create.extend(["--cluster-replicas", &replicas, "--cluster-yes"]);
        assert!(
            cli(cluster.ports[0], &create).is_some(),
            "redis-cli --cluster create failed on ports {:?}",
            cluster.ports
        );
        cluster.wait_until_ok();
        if cluster.replicas > 0 {
            cluster.wait_until_replicated();
        }
        Some(cluster)
    }

    fn spawn(&self, port: u16) -> Option<Process> {
        let config_file = format!("nodes-{port}.conf");
        let node_timeout = self.node_timeout_ms.to_string();
        Process::spawn(
            port,
            &self.dir,
            &[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                &config_file,
                "--cluster-node-timeout",
                &node_timeout,
            ],
        )
    }

    /// The node URLs.
    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|port| format!("redis://127.0.0.1:{port}"))
            .collect()
    }

    /// Waits until every running node reports `cluster_state:ok`.
    pub fn wait_until_ok(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let running: Vec<u16> = self
            .ports
            .iter()
            .zip(&self.nodes)
            .filter(|(_, node)| node.is_some())
            .map(|(port, _)| *port)
            .collect();
        while !running.iter().all(|port| {
            cli(*port, &["cluster", "info"]).is_some_and(|info| info.contains("cluster_state:ok"))
        }) {
            assert!(
                Instant::now() < deadline,
                "the test cluster on ports {:?} did not reach cluster_state:ok",
                self.ports
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until every replica is connected to its master and in sync.
    pub fn wait_until_replicated(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let synced = || {
            let masters: Vec<String> = self
                .ports
                .iter()
                .filter_map(|port| cli(*port, &["info", "replication"]))
                .filter(|info| info.contains("role:master"))
                .collect();
            masters.len() == 3
                && masters.iter().all(|info| {
                    info.contains(&format!("connected_slaves:{}", self.replicas))
                        && info.matches("state=online").count() == self.replicas
                })
        };
        while !synced() {
            assert!(
                Instant::now() < deadline,
                "the replicas of the test cluster on ports {:?} did not sync",
                self.ports
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The role node `n` reports now (`master`, `slave`), or `None` when it does not answer.
    pub fn role(&self, n: usize) -> Option<String> {
        cli(self.ports[n], &["role"]).and_then(|role| role.lines().next().map(str::to_owned))
    }

    /// Kills node `n` (`SIGKILL`): a crash, with no chance to hand over.
    pub fn kill(&mut self, n: usize) {
        if let Some(mut node) = self.nodes[n].take() {
            node.kill();
        }
    }

    /// Stops node `n` as an operator would (`SHUTDOWN NOSAVE`); it keeps its cluster
    /// configuration file, so it rejoins when restarted.
    pub fn stop(&mut self, n: usize) {
        let _ = cli(self.ports[n], &["shutdown", "nosave"]);
        if let Some(mut node) = self.nodes[n].take() {
            node.wait();
        }
    }

    /// Starts node `n` again on its port, with its configuration (and no data).
    pub fn restart(&mut self, n: usize) {
        assert!(self.nodes[n].is_none(), "stop the node first");
        let node = self.spawn(self.ports[n]);
        self.nodes[n] = Some(node.unwrap_or_else(|| panic!("port {} was taken", self.ports[n])));
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
