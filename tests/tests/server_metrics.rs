//! The reference server's Prometheus metrics (`METRICS_ADDR`): a known load over real sockets,
//! then the scrape must count exactly that load. `/metrics` is never on the public port, a
//! scrape needs the token when one is set, and random paths cannot grow the label sets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use auth_e2e::server::{Backend, Config, PASSWORD, Server};
use futures::future::join_all;

/// Whether the manager emits its own counters (logins, throttles, refreshes, reuse,
/// revocations, registrations; `docs/METRICS.md`). They come with the manager's event
/// emission: switch this on once that is in, and [`assert_manager_counters`] checks them
/// against the same load.
const MANAGER_COUNTERS: bool = true;

/// The token a scrape presents.
const TOKEN: &str = "a metrics token for the e2e test";

/// The load, in numbers: every count below is compared exactly with the scrape.
const REGISTRATIONS: usize = 3; // alice, bob, burst
const LOGINS: usize = 4; // alice, each a session
const WRONG_PASSWORDS: usize = 2; // bob
const UNKNOWN_USERS: usize = 1;
const REFRESHES: usize = 2; // alice's first session, twice
const GETS: usize = 5; // GET /users/me as alice
const BURST: usize = 8; // parallel wrong passwords for "burst", against a limit of
const BURST_LIMIT: usize = 5; // five per account
const RANDOM_PATHS: usize = 1000;
const INVENTED_METHODS: usize = 3;

/// One scrape: every sample, by metric name, with its labels.
struct Scrape {
    text: String,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Scrape {
    /// Parses the Prometheus text format (comments skipped; label values here hold no
    /// escaped quotes or commas).
    fn parse(text: String) -> Self {
        let mut samples = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').unwrap();
            let value: f64 = value.parse().unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => {
                    let labels = rest.strip_suffix('}').unwrap();
                    let labels = labels
                        .split("\",")
                        .filter(|pair| !pair.is_empty())
                        .map(|pair| {
                            let (key, value) = pair.split_once("=\"").unwrap();
                            (key.to_owned(), value.trim_end_matches('"').to_owned())
                        })
                        .collect();
                    (name.to_owned(), labels)
                }
                None => (series.to_owned(), BTreeMap::new()),
            };
            samples.push((name, labels, value));
        }
        Self { text, samples }
    }

    /// The sum of the samples of `name` that carry every label of `labels` (an empty value
    /// also matches an absent label, as in Prometheus), whatever their other labels.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(sample, found, _)| {
                sample == name
                    && labels.iter().all(|(key, value)| {
                        found
                            .get(*key)
                            .map_or(value.is_empty(), |found| found == value)
                    })
            })
            .map(|(_, _, value)| value)
            .sum()
    }

    /// [`Scrape::sum`] as a count.
    fn count(&self, name: &str, labels: &[(&str, &str)]) -> usize {
        let sum = self.sum(name, labels);
        assert!(
            sum >= 0.0 && sum.fract() == 0.0,
            "{name} {labels:?} = {sum}"
        );
        sum as usize
    }

    /// How many series `name` has.
    fn series(&self, name: &str) -> usize {
        self.samples
            .iter()
            .filter(|(sample, _, _)| sample == name)
            .count()
    }

    /// Every value of the label `key` of `name`.
    fn values(&self, name: &str, key: &str) -> Vec<String> {
        let mut values: Vec<String> = self
            .samples
            .iter()
            .filter(|(sample, _, _)| sample == name)
            .filter_map(|(_, labels, _)| labels.get(key).cloned())
            .collect();
        values.sort();
        values.dedup();
        values
    }
}

/// `GET /metrics` on the metrics listener, with the token.
async fn scrape(server: &Server, metrics: &str) -> Scrape {
    let response = server
        .http
        .get(format!("{metrics}/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    Scrape::parse(response.text().await.unwrap())
}

/// Scrapes until `done` holds (work finishing in the background: mail delivery, the
/// sessions sampler), for at most ten seconds; returns the last scrape either way.
async fn scrape_until(server: &Server, metrics: &str, done: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let scrape = scrape(server, metrics).await;
        if done(&scrape) || Instant::now() > deadline {
            return scrape;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The address the server printed for its metrics listener.
fn metrics_base(server: &Server) -> String {
    server
        .log()
        .lines()
        .find_map(|line| line.strip_prefix("metrics on "))
        .unwrap_or_else(|| panic!("no metrics address in the log:\n{}", server.log()))
        .trim()
        .trim_end_matches("/metrics")
        .to_owned()
}

fn email(who: &str) -> String {
    format!("{who}.{}@example.com", auth_e2e::unique())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scrape_counts_exactly_the_load_and_never_leaks_to_the_public_port() {
    let config = Config::new(Backend::Sqlite)
        .await
        .with("METRICS_ADDR", "127.0.0.1:0")
        .with("METRICS_TOKEN", TOKEN)
        .with("METRICS_SESSIONS_INTERVAL", "1s")
        .with("RATE_LIMIT_LOGIN_ACCOUNT", &format!("{BURST_LIMIT}/15m"));
    let server = config.start().await;
    let metrics = metrics_base(&server);
    assert_ne!(metrics, server.base, "a listener of its own");

    // Not on the public port, whoever asks.
    let mut public_404s = 0;
    for path in ["/metrics", "/metrics/"] {
        let public = server.http.get(server.url(path)).send().await.unwrap();
        assert_eq!(public.status(), 404, "{path} on the public port");
        let public = server
            .http
            .get(server.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_ne!(
            public.status(),
            200,
            "{path} on the public port, with the token"
        );
        public_404s += usize::from(public.status() == 404);
        let body = public.text().await.unwrap();
        assert!(!body.contains("http_requests_total"), "{body}");
    }
    // Only with the token.
    let url = format!("{metrics}/metrics");
    let anonymous = server.http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = server
        .http
        .get(&url)
        .bearer_auth("a metrics token for the e2e tesT")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong.text().await.unwrap().is_empty(),
        "no metrics for a wrong token"
    );
    let elsewhere = server
        .http
        .get(format!("{metrics}/users/me"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        elsewhere.status(),
        404,
        "the metrics listener serves /metrics only"
    );

    // --- the load ---------------------------------------------------------------------
    let (alice, bob, burst) = (email("alice"), email("bob"), email("burst"));
    for who in [&alice, &bob, &burst] {
        server.register(who, PASSWORD).await;
    }
    let mut sessions = Vec::new();
    for _ in 0..LOGINS {
        sessions.push(server.tokens(&alice, PASSWORD).await);
    }
    for _ in 0..WRONG_PASSWORDS {
        let response = server.login(&bob, "not the password at all").await;
        assert_eq!(response.status(), 400);
    }
    for _ in 0..UNKNOWN_USERS {
        let response = server.login(&email("nobody"), PASSWORD).await;
        assert_eq!(response.status(), 400);
    }
    // Two rotations of the first session, then its first token replayed: reuse, and the
    // session is revoked.
    let first_refresh = sessions[0].1.clone();
    let mut refresh = first_refresh.clone();
    for _ in 0..REFRESHES {
        let response = server.refresh(&refresh).await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        refresh = body["refresh_token"].as_str().unwrap().to_owned();
    }
    assert_eq!(server.refresh(&first_refresh).await.status(), 401);
    for _ in 0..GETS {
        assert_eq!(server.me(&sessions[1].0).await.status(), 200);
    }
    // A burst of parallel guesses: the limit lets exactly five through, to the hasher.
    let statuses = join_all(
        (0..BURST).map(|_| async { server.login(&burst, "guessing away").await.status() }),
    )
    .await;
    let throttled = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!(throttled, BURST - BURST_LIMIT, "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|status| **status == 400).count(),
        BURST_LIMIT
    );
    // Random paths and invented methods: each would be a new series if labels took them in.
    let mut random = Vec::new();
    for chunk in 0..RANDOM_PATHS / 50 {
        let paths: Vec<String> = (0..50)
            .map(|i| format!("/x{}{chunk}r{i}/{}", auth_e2e::unique(), auth_e2e::unique()))
            .collect();
        let statuses = join_all(paths.iter().map(|path| async {
            server
                .http
                .get(server.url(path))
                .send()
                .await
                .unwrap()
                .status()
        }))
        .await;
        assert!(statuses.iter().all(|status| *status == 404), "{statuses:?}");
        random.extend(paths);
    }
    let brew = reqwest::Method::from_bytes(b"BREW").unwrap();
    for _ in 0..INVENTED_METHODS {
        server
            .http
            .request(brew.clone(), server.url("/users/me"))
            .bearer_auth(&sessions[1].0)
            .send()
            .await
            .unwrap();
    }

    // --- the scrape ----------------------------------------------------------------------
    let live = LOGINS - 1; // the replayed session is gone
    let scrape = scrape_until(&server, &metrics, |scrape| {
        scrape.count("auth_mails_total", &[("outcome", "sent")]) == REGISTRATIONS
            && scrape.sum("auth_live_sessions", &[]) == live as f64
    })
    .await;
    let log = || format!("{}\n--- log ---\n{}", scrape.text, server.log());

    // Mail: one verification mail per registration, queued and sent, nothing else.
    for (outcome, expected) in [("queued", REGISTRATIONS), ("sent", REGISTRATIONS)] {
        assert_eq!(
            scrape.count(
                "auth_mails_total",
                &[("kind", "verify"), ("outcome", outcome)]
            ),
            expected,
            "mails {outcome}: {}",
            log()
        );
    }
    assert_eq!(
        scrape.count("auth_mails_total", &[]),
        2 * REGISTRATIONS,
        "no other mail outcome: {}",
        log()
    );

    // The hasher: one hash per registration; one verification per login that reached the
    // password (the unknown user's stand-in run included); none for throttled attempts.
    let hashes = scrape.count(
        "auth_password_hash_duration_seconds_count",
        &[("op", "hash")],
    );
    let verifications = scrape.count(
        "auth_password_hash_duration_seconds_count",
        &[("op", "verify")],
    );
    assert_eq!(hashes, REGISTRATIONS, "{}", log());
    assert_eq!(
        verifications,
        LOGINS + WRONG_PASSWORDS + UNKNOWN_USERS + BURST_LIMIT,
        "{}",
        log()
    );
    assert_eq!(
        scrape.count(
            "auth_password_hash_duration_seconds_bucket",
            &[("op", "verify"), ("le", "+Inf")]
        ),
        verifications,
        "a true histogram, with buckets: {}",
        log()
    );
    assert!(
        scrape.sum(
            "auth_password_hash_duration_seconds_sum",
            &[("op", "verify")]
        ) > 0.0
    );

    // HTTP: by method, matched route and status.
    let requests = |method: &str, route: &str, status: &str| {
        scrape.count(
            "http_requests_total",
            &[("method", method), ("route", route), ("status", status)],
        )
    };
    let login = "/auth/jwt/login";
    assert_eq!(
        requests("POST", "/auth/register", "201"),
        REGISTRATIONS,
        "{}",
        log()
    );
    assert_eq!(requests("POST", login, "200"), LOGINS, "{}", log());
    assert_eq!(
        requests("POST", login, "400"),
        WRONG_PASSWORDS + UNKNOWN_USERS + BURST_LIMIT,
        "{}",
        log()
    );
    assert_eq!(
        requests("POST", login, "429"),
        BURST - BURST_LIMIT,
        "{}",
        log()
    );
    assert_eq!(
        requests("POST", "/auth/jwt/refresh", "200"),
        REFRESHES,
        "{}",
        log()
    );
    assert_eq!(requests("POST", "/auth/jwt/refresh", "401"), 1, "{}", log());
    assert_eq!(requests("GET", "/users/me", "200"), GETS, "{}", log());
    assert_eq!(
        scrape.count("http_requests_total", &[("method", "other")]),
        INVENTED_METHODS,
        "{}",
        log()
    );
    // The random paths, and four probes of /metrics on the public port (the one of
    // /users/me on the metrics port is another router's, not counted): all "unmatched".
    assert_eq!(
        requests("GET", "unmatched", "404"),
        2 + public_404s + RANDOM_PATHS,
        "{}",
        log()
    );
    assert_eq!(
        scrape.count("http_requests_total", &[("route", "unmatched")]),
        4 + RANDOM_PATHS,
        "{}",
        log()
    );
    assert_eq!(
        scrape.count(
            "http_request_duration_seconds_count",
            &[("method", "GET"), ("route", "/users/me")]
        ),
        GETS,
        "{}",
        log()
    );
    assert_eq!(
        scrape.count(
            "http_request_duration_seconds_bucket",
            &[("method", "GET"), ("route", "/users/me"), ("le", "+Inf")]
        ),
        GETS
    );

    // A thousand random paths grew no label: every route is a template of the app, and the
    // series stay few.
    let routes = scrape.values("http_requests_total", "route");
    for route in &routes {
        assert!(route == "unmatched" || route.starts_with('/'), "{route}");
    }
    assert!(
        random
            .iter()
            .all(|path| !scrape.text.contains(path.as_str())),
        "a requested path reached the metrics"
    );
    assert!(
        scrape.series("http_requests_total") < 20,
        "{} series: {routes:?}",
        scrape.series("http_requests_total")
    );
    assert_eq!(
        scrape.values("http_requests_total", "method"),
        vec!["GET", "POST", "other"]
    );

    // The live sessions, counted by the store: alice's four logins but the revoked one.
    assert_eq!(
        scrape.sum("auth_live_sessions", &[]),
        live as f64,
        "{}",
        log()
    );

    if MANAGER_COUNTERS {
        assert_manager_counters(&scrape);
    }
    server.stop().await;
}

/// The manager's counters against the same load (switched on by [`MANAGER_COUNTERS`]).
fn assert_manager_counters(scrape: &Scrape) {
    let logins = |labels: &[(&str, &str)]| scrape.count("auth_logins_total", labels);
    let success = [
        ("method", "password"),
        ("outcome", "success"),
        ("reason", ""),
    ];
    assert_eq!(logins(&success), LOGINS, "{}", scrape.text);
    let failure = |reason| {
        [
            ("method", "password"),
            ("outcome", "failure"),
            ("reason", reason),
        ]
    };
    assert_eq!(
        logins(&failure("wrong_password")),
        WRONG_PASSWORDS + BURST_LIMIT,
        "{}",
        scrape.text
    );
    assert_eq!(
        logins(&failure("unknown_user")),
        UNKNOWN_USERS,
        "{}",
        scrape.text
    );
    assert_eq!(
        logins(&failure("throttled")),
        BURST - BURST_LIMIT,
        "{}",
        scrape.text
    );
    assert_eq!(
        logins(&[("outcome", "failure")]),
        WRONG_PASSWORDS + BURST_LIMIT + UNKNOWN_USERS + BURST - BURST_LIMIT,
        "no other failure: {}",
        scrape.text
    );
    assert_eq!(
        scrape.count("auth_throttled_total", &[("throttle", "login_account")]),
        BURST - BURST_LIMIT,
        "{}",
        scrape.text
    );
    assert_eq!(
        scrape.count("auth_throttled_total", &[]),
        BURST - BURST_LIMIT,
        "{}",
        scrape.text
    );
    assert_eq!(
        scrape.count("auth_refreshes_total", &[("outcome", "success")]),
        REFRESHES,
        "{}",
        scrape.text
    );
    assert_eq!(
        scrape.count("auth_refreshes_total", &[("outcome", "failure")]),
        1,
        "{}",
        scrape.text
    );
    assert_eq!(
        scrape.count("auth_refresh_reuse_total", &[]),
        1,
        "{}",
        scrape.text
    );
    assert_eq!(
        scrape.count("auth_revocations_total", &[("reason", "reuse")]),
        1,
        "{}",
        scrape.text
    );
    assert_eq!(
        scrape.count("auth_revocations_total", &[]),
        1,
        "no other revocation: {}",
        scrape.text
    );
    assert_eq!(
        scrape.count("auth_registrations_total", &[("method", "password")]),
        REGISTRATIONS,
        "{}",
        scrape.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_metrics_addr_no_metrics_are_served_anywhere() {
    let config = Config::new(Backend::Sqlite).await;
    let server = config.start().await;
    assert!(!server.log().contains("metrics on "), "{}", server.log());
    let public = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 404);
    server.stop().await;
}
