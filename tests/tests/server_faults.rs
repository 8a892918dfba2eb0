//! The reference server's binary, two instances of one deployment, under a mixed load while
//! its backing services fail: Redis crashes, Postgres stops, both at once (private servers of
//! the test's own), and a slow, cut or half-open network in front of the shared ones.
//!
//! What must hold at every moment: every request gets an answer, never a `500`, never a panic;
//! a store that is down answers `503` with `Retry-After`; no token is issued while a store
//! it needs is down, and no logged-out token is ever accepted, also by the instance that did
//! not log it out and had just accepted it. After the fault: service within 5 seconds, without
//! a restart, and nothing acknowledged is lost (users, sessions, logouts).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use auth_e2e::fault_proxy::{Fault, FaultProxy};
use auth_e2e::mixed_load::{MixedLoad, PROPAGATION, Record, Window, time_to_recover};
use auth_e2e::private_postgres::{PrivatePostgres, Stop};
use auth_e2e::private_redis::PrivateRedis;
use auth_e2e::server::{Config, PASSWORD, Server};

/// Concurrent clients of the load.
const CLIENTS: usize = 4;
/// How long each fault lasts: longer than two store calls' time limits (`DB_ACQUIRE_TIMEOUT`
/// is 2 s here), so that the clients caught in a request when the fault begins (a request
/// can make more than one call before it gives up) are free again and send more within it.
const FAULT: Duration = Duration::from_secs(5);
/// How soon after a service is back the server must serve again.
const RECOVERY: Duration = Duration::from_secs(5);
/// How long the load may take to get under way before the first fault.
const UNDER_WAY: Duration = Duration::from_secs(60);

/// The tests of this file run one at a time (each holds it through its [`Deployment`]): each
/// runs two servers and a load, and what they measure (recovery times, a fault felt within
/// its few seconds) means little on a machine that several of them share.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Two instances of one deployment, its users, and a session of each that is never ended.
struct Deployment {
    _alone: tokio::sync::MutexGuard<'static, ()>,
    a: Server,
    b: Server,
    bases: Vec<String>,
    users: Vec<String>,
    kept: Vec<(String, String)>,
    /// A user of the test's own checks (not in the load).
    probe: String,
}

impl Deployment {
    async fn start(config: Config) -> Self {
        let alone = ONE_AT_A_TIME.lock().await;
        // No throttle or session limit gets in the way of the load (each is tested elsewhere).
        let config = config
            .with("RATE_LIMIT_LOGIN_ACCOUNT", "100000/1m")
            .with("RATE_LIMIT_LOGIN_IP", "100000/1m")
            .with("RATE_LIMIT_REGISTER_IP", "100000/1m")
            .with("RATE_LIMIT_TOKEN_IP", "100000/1m")
            .with("MAX_SESSIONS_PER_USER", "100000")
            .with("HTTP_MAX_CONNECTIONS_PER_IP", "0")
            .with("DB_ACQUIRE_TIMEOUT", "2");
        let (a, b) = tokio::join!(config.start(), config.start());
        let bases = vec![a.base.clone(), b.base.clone()];
        let mut users = Vec::new();
        let mut kept = Vec::new();
        for n in 0..CLIENTS {
            let email = format!("client{n}-{}@example.com", auth_e2e::unique());
            a.register(&email, PASSWORD).await;
            kept.push(b.tokens(&email, PASSWORD).await);
            users.push(email);
        }
        let probe = format!("probe-{}@example.com", auth_e2e::unique());
        a.register(&probe, PASSWORD).await;
        Self {
            _alone: alone,
            a,
            b,
            bases,
            users,
            kept,
            probe,
        }
    }

    /// A fresh session of the probe user that both instances have just accepted (so any
    /// cache holds it), logged out on A: `204`. Returns its tokens and when A answered.
    async fn just_logged_out(&self) -> ((String, String), Instant) {
        let (access, refresh) = self.a.tokens(&self.probe, PASSWORD).await;
        assert_eq!(self.b.me(&access).await.status(), 200);
        assert_eq!(self.a.me(&access).await.status(), 200);
        let logout = self
            .a
            .http
            .post(self.a.url("/auth/jwt/logout"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(logout.status(), 204);
        ((access, refresh), Instant::now())
    }

    /// The instances accept no logged-out token: `401`, or `503` while a store is down. A
    /// refuses it from its logout on, B once the news can have reached it ([`PROPAGATION`]).
    async fn assert_refused(
        &self,
        ((access, refresh), at): &((String, String), Instant),
        allowed: &[u16],
    ) {
        let servers = if at.elapsed() > PROPAGATION {
            vec![&self.a, &self.b]
        } else {
            vec![&self.a]
        };
        for server in servers {
            let me = server.me(access).await;
            assert!(
                allowed.contains(&me.status().as_u16()),
                "{} accepted a logged-out access token: {}",
                server.base,
                me.status()
            );
            let refreshed = server.refresh(refresh).await;
            assert!(
                allowed.contains(&refreshed.status().as_u16()),
                "{} accepted a logged-out refresh token: {}",
                server.base,
                refreshed.status()
            );
        }
    }

    /// One fault under the load: a session is logged out just before it, `broken(true)`
    /// breaks a service, the logged-out tokens are replayed on both instances while it is
    /// broken, `broken(false)` mends it, and the time until both instances serve again is
    /// measured.
    async fn fault(
        &self,
        name: &str,
        refuses_tokens: bool,
        mut broken: impl FnMut(bool),
    ) -> (Window, Option<Duration>) {
        let logged_out = self.just_logged_out().await;
        tokio::task::block_in_place(|| broken(true));
        let from = Instant::now();
        while from.elapsed() < FAULT {
            self.assert_refused(&logged_out, &[401, 503]).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let to = Instant::now();
        tokio::task::block_in_place(|| broken(false));
        let recovered = time_to_recover(&self.bases, &self.probe, Duration::from_secs(15)).await;
        eprintln!("{name}: served again {recovered:.2?} after the service was back");
        if recovered.is_some() {
            self.assert_refused(&logged_out, &[401]).await;
        }
        let window = Window {
            name: name.to_owned(),
            from,
            to,
            refuses_tokens,
        };
        (window, recovered)
    }

    /// What must hold at every moment of the run: no request without an answer, no `500` and
    /// no panic, `503` with `Retry-After`, no token issued
    /// while a store is down, no logged-out token accepted; and each fault was felt.
    fn assert_failed_closed(&self, record: &Record, faults: &[(Window, Option<Duration>)]) {
        let windows: Vec<Window> = faults.iter().map(|(window, _)| window.clone()).collect();
        eprintln!("answers over the whole run: {:?}", record.counts(None));
        for window in &windows {
            eprintln!(
                "answers during {}: {:?}",
                window.name,
                record.counts(Some(window))
            );
        }
        let violations = record.violations(&windows);
        assert!(
            violations.is_empty(),
            "{} broken promises, the first ones:\n{}",
            violations.len(),
            violations[..violations.len().min(20)].join("\n")
        );
        let (late, latest) = record.late_refusals();
        eprintln!(
            "logged-out tokens accepted by the other instance before the news arrived: {late}, at most {latest:?} after the logout"
        );
        for (window, _) in faults {
            if window.refuses_tokens {
                assert!(
                    record.answered(window, 503) > 0,
                    "nothing was answered 503 during {}: the fault was not felt",
                    window.name
                );
            }
        }
        for server in [&self.a, &self.b] {
            assert!(
                !server.log().contains("panicked"),
                "{} panicked:\n{}",
                server.base,
                server.log()
            );
        }
    }

    /// What must hold once the load has stopped and every service is back: the promises of
    /// [`Deployment::assert_failed_closed`], service again within [`RECOVERY`] of each
    /// fault's end, and nothing acknowledged lost.
    async fn assert_promises_kept(&self, record: &Record, faults: &[(Window, Option<Duration>)]) {
        self.assert_failed_closed(record, faults);
        for (window, recovered) in faults {
            assert!(
                recovered.is_some_and(|recovered| recovered <= RECOVERY),
                "{}: served again only after {recovered:?}",
                window.name
            );
        }
        let lost = record.verify_nothing_lost(&self.bases).await;
        assert!(
            lost.is_empty(),
            "lost after the faults:\n{}",
            lost.join("\n")
        );
        let revoked = record.revoked.lock().unwrap().len();
        let registered = record.registered.lock().unwrap().len();
        assert!(revoked > 0 && registered > 0, "the load did too little");
        eprintln!(
            "{revoked} acknowledged logouts still hold, {registered} users registered under load can log in"
        );
        // The sessions opened before the faults live on.
        for (access, _) in &self.kept {
            assert_eq!(self.a.me(access).await.status(), 200);
            assert_eq!(self.b.me(access).await.status(), 200);
        }
        for (_, refresh) in &self.kept {
            assert_eq!(self.b.refresh(refresh).await.status(), 200);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_then_postgres_then_both_stop_under_load_and_come_back() {
    let mut redis = PrivateRedis::start();
    let mut postgres = PrivatePostgres::start();
    let config = Config::on_services(&postgres.url(), &redis.url()).await;
    let deployment = Deployment::start(config).await;
    let load = MixedLoad::start(deployment.bases.clone(), deployment.users.clone());
    load.under_way(UNDER_WAY).await;

    let mut faults = Vec::new();
    faults.push(
        deployment
            .fault("Redis crashed", true, |down| {
                if down {
                    redis.kill();
                } else {
                    redis.restart();
                }
            })
            .await,
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    faults.push(
        deployment
            .fault("Postgres stopped", true, |down| {
                if down {
                    postgres.stop(Stop::Immediate);
                } else {
                    postgres.restart();
                }
            })
            .await,
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    faults.push(
        deployment
            .fault("Redis and Postgres down", true, |down| {
                if down {
                    redis.kill();
                    postgres.stop(Stop::Fast);
                } else {
                    postgres.restart();
                    redis.restart();
                }
            })
            .await,
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let record = load.stop().await;
    deployment.assert_promises_kept(&record, &faults).await;
}

/// The shared Postgres and Redis, each behind a proxy of the test's own.
async fn behind_proxies() -> (Config, FaultProxy, FaultProxy) {
    let database = auth_e2e::services::fresh_postgres_schema().await;
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let (database, postgres_proxy) = proxied(&database).await;
    let (redis, redis_proxy) = proxied(&redis).await;
    let config = Config::on_services(&database, &redis).await;
    (config, postgres_proxy, redis_proxy)
}

/// A proxy to the server of `url`, and `url` pointing at the proxy.
async fn proxied(url: &str) -> (String, FaultProxy) {
    let mut parsed = reqwest::Url::parse(url).unwrap();
    let target = format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap());
    let proxy = FaultProxy::start(&target).await;
    parsed.set_port(Some(proxy.port())).unwrap();
    (parsed.to_string(), proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_or_cut_network_under_load_fails_closed_and_heals() {
    let (config, postgres, redis) = behind_proxies().await;
    let deployment = Deployment::start(config).await;
    let load = MixedLoad::start(deployment.bases.clone(), deployment.users.clone());
    load.under_way(UNDER_WAY).await;

    let mut faults = Vec::new();
    let slow = Fault::Latency(Duration::from_millis(50));
    faults.push(
        deployment
            .fault("50 ms more to both stores", false, |down| {
                let fault = if down { slow } else { Fault::None };
                postgres.set(fault);
                redis.set(fault);
            })
            .await,
    );
    for (name, proxy) in [("Redis cut off", &redis), ("Postgres cut off", &postgres)] {
        tokio::time::sleep(Duration::from_secs(1)).await;
        faults.push(
            deployment
                .fault(name, true, |down| {
                    proxy.set(if down { Fault::Cut } else { Fault::None });
                })
                .await,
        );
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let record = load.stop().await;
    deployment.assert_promises_kept(&record, &faults).await;
}

/// A half-open network to one store under the load: connections through which nothing
/// passes any more, as when the host died without closing them. Then the promises of every
/// fault: failed closed meanwhile, served again soon after, nothing acknowledged lost.
async fn half_open(store: &str) {
    // The proxies live until the end: the checks after the fault go through them too.
    let (config, postgres, redis) = behind_proxies().await;
    let deployment = Deployment::start(config).await;
    let load = MixedLoad::start(deployment.bases.clone(), deployment.users.clone());
    load.under_way(UNDER_WAY).await;
    let proxy = if store == "Redis" { &redis } else { &postgres };
    let fault = deployment
        .fault(&format!("{store} half-open"), true, |down| {
            proxy.set(if down { Fault::Blackhole } else { Fault::None });
        })
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let record = load.stop().await;
    deployment.assert_promises_kept(&record, &[fault]).await;
}

/// Every call to Redis is bounded by its time limit, so the server answers `503` and fails
/// closed; a call that ran out of time gives its connection up, so once the network is back
/// the next calls go through a new connection and the server heals by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_open_redis_under_load_fails_closed_and_heals() {
    half_open("Redis").await;
}

/// Every Postgres statement has the time limit of a call (the pool's acquire timeout): a
/// query sent on a silent connection is answered `503` after it, its connection closed, and
/// new connections replace the silent ones once the network is back. No request hangs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_open_postgres_under_load_fails_closed_and_heals() {
    half_open("Postgres").await;
}
