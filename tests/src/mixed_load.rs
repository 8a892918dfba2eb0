//! A small, bounded mixed load on one or more instances of the reference server (one
//! deployment): a few clients, each looping over register (now and then), login, an
//! authenticated `GET`, refresh, `GET`, logout, and a replay of a token logged out earlier.
//! Each step goes to another instance than the one before.
//!
//! Every answer is recorded with its start and end time, so that a test can check what was
//! answered while it had a backing service down ([`Record::violations`]), and afterwards that
//! nothing acknowledged was lost ([`Record::verify_nothing_lost`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::server::PASSWORD;

/// How long a client waits for an answer: far above every timeout of the server's own, so a
/// request that gets none was left hanging.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// A step of the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    Register,
    Login,
    Me,
    Refresh,
    Logout,
    /// `GET /users/me` with an access token whose logout was acknowledged.
    RevokedMe,
    /// `POST /auth/jwt/refresh` with a refresh token whose logout was acknowledged.
    RevokedRefresh,
}

/// What a request got.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: String,
}

impl Answer {
    /// The token pair of a `200` login or refresh.
    pub fn tokens(&self) -> Option<(String, String)> {
        if self.status != 200 {
            return None;
        }
        let body: Value = serde_json::from_str(&self.body).ok()?;
        Some((
            body["access_token"].as_str()?.to_owned(),
            body["refresh_token"].as_str()?.to_owned(),
        ))
    }
}

/// One request of the load.
#[derive(Debug, Clone)]
pub struct Observation {
    pub op: Op,
    /// Which instance answered (an index into the list of bases).
    pub instance: usize,
    pub started: Instant,
    pub ended: Instant,
    /// The answer, or why there was none (a reset connection, a timeout).
    pub answer: Result<Answer, String>,
    /// For a replay: the logout of the replayed token.
    pub replays: Option<Revoked>,
}

/// How long after a logout answered on one instance the others may still accept its tokens:
/// they hear of it through the store's revocation feed (milliseconds), and a feed that dies
/// silently is noticed within a second. The instance that logged out refuses them at once.
pub const PROPAGATION: Duration = Duration::from_secs(1);

/// A logout answered `204`.
#[derive(Debug, Clone)]
pub struct Revoked {
    pub access: String,
    pub refresh: String,
    /// When the answer arrived, and which instance gave it.
    pub at: Instant,
    pub instance: usize,
}

/// A span of time in which a fault was in place.
#[derive(Debug, Clone)]
pub struct Window {
    pub name: String,
    pub from: Instant,
    pub to: Instant,
    /// Whether no login or refresh may succeed in it (a store they need is down).
    pub refuses_tokens: bool,
}

impl Window {
    /// Whether `observation` was sent and answered inside the window.
    fn holds(&self, observation: &Observation) -> bool {
        observation.started >= self.from && observation.ended <= self.to
    }
}

/// Everything the load saw.
#[derive(Debug, Default)]
pub struct Record {
    pub observations: Mutex<Vec<Observation>>,
    /// The logouts answered `204`.
    pub revoked: Mutex<Vec<Revoked>>,
    /// Addresses whose registration was answered `201`.
    pub registered: Mutex<Vec<String>>,
}

impl Record {
    /// Every broken promise: a request left without an answer, a `500`, a `503` without
    /// `Retry-After`, a token in a failure's body, a logged-out token accepted (by the
    /// instance that logged it out, or by another one later than [`PROPAGATION`]), or a token
    /// issued inside a window that refuses them.
    pub fn violations(&self, windows: &[Window]) -> Vec<String> {
        let observations = self.observations.lock().unwrap();
        let mut found = Vec::new();
        for seen in observations.iter() {
            let at = |what: &str| {
                let window = windows
                    .iter()
                    .find(|window| window.holds(seen))
                    .map_or("outside the fault windows", |window| window.name.as_str());
                format!(
                    "{:?} on instance {}: {what} ({window})",
                    seen.op, seen.instance
                )
            };
            let answer = match &seen.answer {
                Ok(answer) => answer,
                Err(err) => {
                    found.push(at(&format!("no answer: {err}")));
                    continue;
                }
            };
            if answer.status >= 500 && answer.status != 503 {
                found.push(at(&format!("{} {}", answer.status, answer.body)));
            }
            if answer.status == 503 && answer.retry_after.is_none() {
                found.push(at("503 without Retry-After"));
            }
            if answer.status != 200 && answer.body.contains("_token") {
                found.push(at(&format!("a token in a {} answer", answer.status)));
            }
            if let Some(logout) = &seen.replays
                && answer.status == 200
                && (logout.instance == seen.instance
                    || seen.started.saturating_duration_since(logout.at) > PROPAGATION)
            {
                found.push(at(&format!(
                    "a token logged out on instance {} {:?} earlier was accepted",
                    logout.instance,
                    seen.started.saturating_duration_since(logout.at)
                )));
            }
            if matches!(seen.op, Op::Login | Op::Refresh)
                && answer.status == 200
                && windows
                    .iter()
                    .any(|window| window.refuses_tokens && window.holds(seen))
            {
                found.push(at("a token was issued while a store was down"));
            }
        }
        found
    }

    /// Replays that another instance accepted within [`PROPAGATION`] of the logout: how many,
    /// and the longest time after the logout's answer.
    pub fn late_refusals(&self) -> (usize, Duration) {
        let observations = self.observations.lock().unwrap();
        let late: Vec<Duration> = observations
            .iter()
            .filter(|seen| {
                seen.answer
                    .as_ref()
                    .is_ok_and(|answer| answer.status == 200)
            })
            .filter_map(|seen| {
                let logout = seen.replays.as_ref()?;
                Some(seen.started.saturating_duration_since(logout.at))
            })
            .collect();
        (late.len(), late.into_iter().max().unwrap_or_default())
    }

    /// How many answers of each status each step got, inside `window` (or over the whole run).
    pub fn counts(&self, window: Option<&Window>) -> BTreeMap<(Op, String), usize> {
        let observations = self.observations.lock().unwrap();
        let mut counts = BTreeMap::new();
        for seen in observations
            .iter()
            .filter(|seen| window.is_none_or(|window| window.holds(seen)))
        {
            let outcome = match &seen.answer {
                Ok(answer) => answer.status.to_string(),
                Err(_) => "no answer".to_owned(),
            };
            *counts.entry((seen.op, outcome)).or_insert(0) += 1;
        }
        counts
    }

    /// How many requests sent during the window were answered `status` (whenever the answer
    /// came).
    pub fn answered(&self, window: &Window, status: u16) -> usize {
        self.observations
            .lock()
            .unwrap()
            .iter()
            .filter(|seen| {
                (window.from..window.to).contains(&seen.started)
                    && seen.answer.as_ref().is_ok_and(|a| a.status == status)
            })
            .count()
    }

    /// With every service up again: each logout acknowledged during the run still holds on
    /// every instance (`401` for its access and its refresh token), and each registration
    /// acknowledged can log in. A `503` says "not known" (a store slow for a moment): the
    /// check is asked again after its `Retry-After`, up to five times. Returns what does not
    /// hold.
    pub async fn verify_nothing_lost(&self, bases: &[String]) -> Vec<String> {
        let http = client();
        let revoked = self.revoked.lock().unwrap().clone();
        let registered = self.registered.lock().unwrap().clone();
        let mut checks = Vec::new();
        for logout in &revoked {
            for base in bases {
                checks.push((Op::RevokedMe, base.clone(), logout.access.clone(), 401));
                checks.push((
                    Op::RevokedRefresh,
                    base.clone(),
                    logout.refresh.clone(),
                    401,
                ));
            }
        }
        for (n, email) in registered.iter().enumerate() {
            checks.push((
                Op::Login,
                bases[n % bases.len()].clone(),
                email.clone(),
                200,
            ));
        }
        futures::stream::iter(checks)
            .map(|(op, base, credential, expected)| {
                let http = http.clone();
                async move {
                    let request = || match op {
                        Op::RevokedMe => http
                            .get(format!("{base}/users/me"))
                            .bearer_auth(&credential),
                        Op::RevokedRefresh => refresh_request(&http, &base, &credential),
                        _ => login_request(&http, &base, &credential),
                    };
                    let mut answer = send(request()).await;
                    for _ in 0..5 {
                        if !answer.as_ref().is_ok_and(|answer| answer.status == 503) {
                            break;
                        }
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        answer = send(request()).await;
                    }
                    match answer {
                        Ok(answer) if answer.status == expected => None,
                        Ok(answer) => Some(format!(
                            "{op:?} at {base}: {} {} (expected {expected})",
                            answer.status, answer.body
                        )),
                        Err(err) => Some(format!("{op:?} at {base}: no answer: {err}")),
                    }
                }
            })
            .buffer_unordered(8)
            .filter_map(|failure| async move { failure })
            .collect()
            .await
    }
}

/// The load while it runs; [`MixedLoad::stop`] ends it.
pub struct MixedLoad {
    stop: Arc<AtomicBool>,
    record: Arc<Record>,
    clients: Vec<JoinHandle<()>>,
}

impl MixedLoad {
    /// One client per address of `users` (registered with [`PASSWORD`]), on the instances at
    /// `bases` (`http://127.0.0.1:<port>`).
    pub fn start(bases: Vec<String>, users: Vec<String>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let record = Arc::new(Record::default());
        let http = client();
        let clients = users
            .into_iter()
            .enumerate()
            .map(|(n, email)| {
                let client = Client {
                    http: http.clone(),
                    bases: bases.clone(),
                    email,
                    record: record.clone(),
                    turn: n,
                };
                tokio::spawn(client.run(stop.clone()))
            })
            .collect();
        Self {
            stop,
            record,
            clients,
        }
    }

    /// Waits until the load is under way: a user registered and a session logged out. Panics
    /// after `limit` (a machine too busy for the test to mean anything).
    pub async fn under_way(&self, limit: Duration) {
        let started = Instant::now();
        loop {
            let registered = !self.record.registered.lock().unwrap().is_empty();
            let revoked = !self.record.revoked.lock().unwrap().is_empty();
            if registered && revoked {
                return;
            }
            assert!(
                started.elapsed() < limit,
                "the load did not get under way in {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the load saw so far.
    pub fn record(&self) -> Arc<Record> {
        self.record.clone()
    }

    /// Ends the load after the cycles in progress, and returns what it saw.
    pub async fn stop(self) -> Arc<Record> {
        self.stop.store(true, Ordering::SeqCst);
        for client in self.clients {
            client.await.unwrap();
        }
        self.record
    }
}

struct Client {
    http: reqwest::Client,
    bases: Vec<String>,
    email: String,
    record: Arc<Record>,
    turn: usize,
}

impl Client {
    async fn run(mut self, stop: Arc<AtomicBool>) {
        let mut cycle = 0_usize;
        while !stop.load(Ordering::SeqCst) {
            cycle += 1;
            let mut troubled = false;
            if cycle.is_multiple_of(5) {
                let email = format!("load-{}@example.com", crate::unique());
                let base = self.next();
                let request =
                    self.http
                        .post(format!("{base}/auth/register"))
                        .json(&serde_json::json!({
                            "email": email,
                            "password": PASSWORD,
                            "first_name": "Load",
                            "second_name": "Client",
                        }));
                let answer = self.observe(Op::Register, request, None).await;
                if answer.as_ref().is_some_and(|answer| answer.status == 201) {
                    self.record.registered.lock().unwrap().push(email);
                }
            }
            let base = self.next();
            let login = self
                .observe(
                    Op::Login,
                    login_request(&self.http, &base, &self.email),
                    None,
                )
                .await;
            if let Some((mut access, mut refresh)) = login.as_ref().and_then(Answer::tokens) {
                let base = self.next();
                let request = self
                    .http
                    .get(format!("{base}/users/me"))
                    .bearer_auth(&access);
                troubled |= self
                    .observe(Op::Me, request, None)
                    .await
                    .is_none_or(|a| a.status != 200);
                let base = self.next();
                let refreshed = self
                    .observe(
                        Op::Refresh,
                        refresh_request(&self.http, &base, &refresh),
                        None,
                    )
                    .await;
                if let Some(pair) = refreshed.as_ref().and_then(Answer::tokens) {
                    (access, refresh) = pair;
                }
                let base = self.next();
                let request = self
                    .http
                    .get(format!("{base}/users/me"))
                    .bearer_auth(&access);
                troubled |= self
                    .observe(Op::Me, request, None)
                    .await
                    .is_none_or(|a| a.status != 200);
                let base = self.next();
                let request = self
                    .http
                    .post(format!("{base}/auth/jwt/logout"))
                    .bearer_auth(&access);
                let instance = self.turn % self.bases.len();
                let logout = self.observe(Op::Logout, request, None).await;
                if logout.is_some_and(|answer| answer.status == 204) {
                    self.record.revoked.lock().unwrap().push(Revoked {
                        access,
                        refresh,
                        at: Instant::now(),
                        instance,
                    });
                } else {
                    troubled = true;
                }
            } else {
                troubled = true;
            }
            let replay = {
                let revoked = self.record.revoked.lock().unwrap();
                (!revoked.is_empty())
                    .then(|| revoked[(cycle * 7 + self.turn) % revoked.len()].clone())
            };
            if let Some(logout) = replay {
                let base = self.next();
                let request = self
                    .http
                    .get(format!("{base}/users/me"))
                    .bearer_auth(&logout.access);
                self.observe(Op::RevokedMe, request, Some(logout.clone()))
                    .await;
                let base = self.next();
                let request = refresh_request(&self.http, &base, &logout.refresh);
                self.observe(Op::RevokedRefresh, request, Some(logout))
                    .await;
            }
            if troubled {
                // A store is down: keep asking, a little less often.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// The next instance, in turn.
    fn next(&mut self) -> String {
        self.turn += 1;
        self.bases[self.turn % self.bases.len()].clone()
    }

    async fn observe(
        &self,
        op: Op,
        request: reqwest::RequestBuilder,
        replays: Option<Revoked>,
    ) -> Option<Answer> {
        let instance = request
            .try_clone()
            .and_then(|request| request.build().ok())
            .and_then(|request| {
                let url = request.url().as_str().to_owned();
                self.bases
                    .iter()
                    .position(|base| url.starts_with(base.as_str()))
            })
            .unwrap_or(usize::MAX);
        let started = Instant::now();
        let answer = send(request).await;
        let ended = Instant::now();
        self.record.observations.lock().unwrap().push(Observation {
            op,
            instance,
            started,
            ended,
            answer: answer.clone(),
            replays,
        });
        answer.ok()
    }
}

/// A client for the load: no cookie store, a generous answer timeout.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(ANSWER_TIMEOUT)
        .build()
        .unwrap()
}

fn login_request(http: &reqwest::Client, base: &str, email: &str) -> reqwest::RequestBuilder {
    http.post(format!("{base}/auth/jwt/login")).form(&[
        ("grant_type", "password"),
        ("username", email),
        ("password", PASSWORD),
    ])
}

fn refresh_request(http: &reqwest::Client, base: &str, refresh: &str) -> reqwest::RequestBuilder {
    http.post(format!("{base}/auth/jwt/refresh"))
        .json(&serde_json::json!({ "refresh_token": refresh }))
}

/// Sends a request and reads its whole answer; an error says why there was none.
pub async fn send(request: reqwest::RequestBuilder) -> Result<Answer, String> {
    let response = request.send().await.map_err(|err| format!("{err:?}"))?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response
        .text()
        .await
        .map_err(|err| format!("body: {err:?}"))?;
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

/// From the moment it is called, how long until a login and an authenticated `GET` succeed on
/// every instance (tried every 50 ms, for at most `limit`); `None` if they never did.
pub async fn time_to_recover(bases: &[String], email: &str, limit: Duration) -> Option<Duration> {
    let http = client();
    let started = Instant::now();
    while started.elapsed() < limit {
        let mut all = true;
        for base in bases {
            let Ok(login) = send(login_request(&http, base, email)).await else {
                all = false;
                break;
            };
            let Some((access, _)) = login.tokens() else {
                all = false;
                break;
            };
            let me = send(http.get(format!("{base}/users/me")).bearer_auth(&access)).await;
            if !me.is_ok_and(|answer| answer.status == 200) {
                all = false;
                break;
            }
        }
        if all {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}
