//! The test Redis Cluster: the one in `REDIS_CLUSTER_URLS`, or three masters on loopback
//! ports that this test process starts once, shares between its tests, and stops when it ends
//! (each node has a watchdog, see [`super::server`]).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use auth_redis::{RedisConfig, RedisConnection};

use super::server::{Process, cli, port_is_free, scratch_dir};

struct Cluster {
    urls: Vec<String>,
    _nodes: Vec<Process>,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

/// The node URLs of the test cluster, starting it on first use.
pub fn urls() -> &'static [String] {
    &CLUSTER.get_or_init(init).urls
}

/// A connection to the test cluster under a fresh key prefix.
pub async fn connection() -> RedisConnection {
    let urls = urls();
    super::connect(
        RedisConfig::cluster(urls.iter().cloned()).unwrap(),
        &format!("the Redis Cluster at {}", urls.join(",")),
    )
    .await
}

fn init() -> Cluster {
    if let Ok(urls) = std::env::var("REDIS_CLUSTER_URLS") {
        let urls: Vec<String> = urls
            .split([',', ' '])
            .filter(|url| !url.is_empty())
            .map(str::to_owned)
            .collect();
        assert!(!urls.is_empty(), "REDIS_CLUSTER_URLS is set but empty");
        return Cluster {
            urls,
            _nodes: Vec::new(),
        };
    }
    // Three consecutive free ports (and bus ports) from 7101 on; another process may take
    // them between the check and the start, so a failed start moves on to the next three.
    let mut base = 7101;
    loop {
        assert!(
            base < 7700,
            "no three free ports for the test cluster below 7700"
        );
        let ports = [base, base + 1, base + 2];
        base += 10;
        if !ports.iter().all(|port| port_is_free(*port)) {
            continue;
        }
        if let Some(cluster) = start(ports) {
            return cluster;
        }
    }
}

fn start(ports: [u16; 3]) -> Option<Cluster> {
    let dir = scratch_dir(&format!("cluster-{}", ports[0]));
    let _ = std::fs::remove_dir_all(&dir);
    let mut nodes = Vec::new();
    for port in ports {
        let config_file = format!("nodes-{port}.conf");
        nodes.push(Process::spawn(
            port,
            &dir,
            &[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                &config_file,
                "--cluster-node-timeout",
                "5000",
            ],
        )?);
    }
    let addresses: Vec<String> = ports
        .iter()
        .map(|port| format!("127.0.0.1:{port}"))
        .collect();
    let mut create = vec!["--cluster", "create"];
    create.extend(addresses.iter().map(String::as_str));
    create.extend(["--cluster-replicas", "0", "--cluster-yes"]);
    assert!(
        cli(ports[0], &create).is_some(),
        "redis-cli --cluster create failed on ports {ports:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ports.iter().all(|port| {
        cli(*port, &["cluster", "info"]).is_some_and(|info| info.contains("cluster_state:ok"))
    }) {
        assert!(
            Instant::now() < deadline,
            "the test cluster on ports {ports:?} did not reach cluster_state:ok"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Cluster {
        urls: ports
            .iter()
            .map(|port| format!("redis://127.0.0.1:{port}"))
            .collect(),
        _nodes: nodes,
    })
}
