//! A real OpenID Connect provider for the tests: panva's `oidc-provider` (npm, v9) run by
//! `tests/oidc/provider.mjs` as a process on a free loopback port, over plain HTTP, with its
//! development login and consent pages. Nobody here wrote it, so a client that works against
//! it speaks the protocol, not our idea of it.
//!
//! [`ProviderConfig`] names the clients and the accounts; [`Provider::start`] writes it to a
//! temporary directory, starts `node provider.mjs` and reads the issuer it prints. The
//! provider signs ID tokens with fresh keys (RS256 and ES256, random `kid`s) and can be told to
//! [rotate](Provider::rotate_key) them or to [sign with a key it does not
//! publish](Provider::sign_with_rogue_key). [`UserAgent`] plays the user at the provider:
//! from an authorization URL to the redirect back to the client.
//!
//! `tests/run.sh` runs `npm ci` in `tests/oidc`; when `node_modules` is missing anyway, the first
//! [`Provider::start`] of a test process runs it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use reqwest::Url;
use reqwest::header::LOCATION;
use serde::Deserialize;
use serde_json::{Value, json};

/// How long the provider may take to print its issuer.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The most redirects and pages a sign-in may go through at the provider.
const MAX_STEPS: usize = 20;

/// The directory of the npm package: `tests/oidc`.
pub fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc")
}

/// Clients and accounts of a [`Provider`]. Scopes are `openid email profile` (and
/// `offline_access`); PKCE with `S256` is required of every client.
#[derive(Debug, Clone, Default)]
pub struct ProviderConfig {
    clients: Vec<Value>,
    accounts: BTreeMap<String, Value>,
    conform_id_token_claims: bool,
}

impl ProviderConfig {
    pub fn new() -> Self {
        Self::default()
    }

    /// A confidential client that authenticates at the token endpoint with HTTP Basic
    /// (`client_secret_basic`), for the authorization code flow.
    pub fn client(self, client_id: &str, client_secret: &str, redirect_uri: &str) -> Self {
        self.client_metadata(client_metadata(
            client_id,
            client_secret,
            redirect_uri,
            "client_secret_basic",
        ))
    }

    /// The same with the secret in the form body (`client_secret_post`).
    pub fn client_post(self, client_id: &str, client_secret: &str, redirect_uri: &str) -> Self {
        self.client_metadata(client_metadata(
            client_id,
            client_secret,
            redirect_uri,
            "client_secret_post",
        ))
    }

    /// A client described by its oidc-provider metadata as it is (`client_id`,
    /// `client_secret`, `redirect_uris`, `token_endpoint_auth_method`,
    /// `id_token_signed_response_alg` (`RS256`, the default, or `ES256`), ...).
    /// `response_types` defaults to `["code"]`, `grant_types` to `["authorization_code"]`.
    pub fn client_metadata(mut self, metadata: Value) -> Self {
        self.clients.push(metadata);
        self
    }

    /// An account whose `sub` is `sub` (the login to type), with a verified `email` and a
    /// `name`.
    pub fn account(self, sub: &str, email: &str, name: &str) -> Self {
        self.account_claims(
            sub,
            json!({ "email": email, "email_verified": true, "name": name }),
        )
    }

    /// An account with exactly these claims besides `sub` (`email`, `email_verified`,
    /// `name`, `given_name`, `family_name`, `picture`, `locale` are released). Any login
    /// that is not a configured account signs in as an account with a `sub` and no claims.
    pub fn account_claims(mut self, sub: &str, claims: Value) -> Self {
        self.accounts.insert(sub.to_owned(), claims);
        self
    }

    /// When `true`, ID tokens from the authorization code flow carry only `sub` (and the
    /// protocol claims); `email` and `name` come from the userinfo endpoint alone, as the
    /// specification has it. The default, `false`, puts them in the ID token too, like most
    /// real providers do.
    pub fn conform_id_token_claims(mut self, conform: bool) -> Self {
        self.conform_id_token_claims = conform;
        self
    }

    fn to_json(&self) -> Value {
        json!({
            "clients": self.clients,
            "accounts": self.accounts,
            "conform_id_token_claims": self.conform_id_token_claims,
        })
    }
}

fn client_metadata(client_id: &str, client_secret: &str, redirect_uri: &str, auth: &str) -> Value {
    json!({
        "client_id": client_id,
        "client_secret": client_secret,
        "redirect_uris": [redirect_uri],
        "token_endpoint_auth_method": auth,
    })
}

/// The `kid`s the provider signs with and the ones its JWKS lists.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Keys {
    /// First the RS256 key, then the ES256 one: new ID tokens are signed with these.
    pub signing: Vec<String>,
    /// What `GET /jwks` lists.
    pub published: Vec<String>,
}

/// A running oidc-provider. Dropping it kills the process and, when the test is failing,
/// prints the provider's log.
pub struct Provider {
    child: Option<Child>,
    /// Closing it makes the provider exit even if this process dies without dropping us.
    stdin: Option<ChildStdin>,
    issuer: String,
    http: reqwest::Client,
    log: Arc<Mutex<String>>,
    _config_dir: tempfile::TempDir,
}

impl Provider {
    /// Starts a provider with `config` on a free loopback port; returns once it listens.
    pub async fn start(config: &ProviderConfig) -> Provider {
        let dir = package_dir();
        ensure_installed(&dir);
        let config_dir = tempfile::tempdir().unwrap();
        let config_path = config_dir.path().join("provider.json");
        std::fs::write(&config_path, config.to_json().to_string()).unwrap();
        let mut child = Command::new("node")
            .arg(dir.join("provider.mjs"))
            .arg(&config_path)
            .arg("0")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("cannot run `node` (Node.js 20+ is needed for the OpenID provider): {error}")
            });
        let log = Arc::new(Mutex::new(String::new()));
        let (issuer_tx, issuer_rx) = tokio::sync::oneshot::channel();
        let stdout = child.stdout.take().unwrap();
        let stdout_log = log.clone();
        std::thread::spawn(move || {
            let mut issuer_tx = Some(issuer_tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let issuer = serde_json::from_str::<Value>(&line)
                    .ok()
                    .and_then(|value| value["issuer"].as_str().map(str::to_owned));
                if let Some(issuer) = issuer
                    && let Some(tx) = issuer_tx.take()
                {
                    let _ = tx.send(issuer);
                }
                push_line(&stdout_log, &line);
            }
        });
        let stderr = child.stderr.take().unwrap();
        let stderr_log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                push_line(&stderr_log, &line);
            }
        });
        let stdin = child.stdin.take();
        let mut provider = Provider {
            child: Some(child),
            stdin,
            issuer: String::new(),
            http: reqwest::Client::new(),
            log,
            _config_dir: config_dir,
        };
        match tokio::time::timeout(START_TIMEOUT, issuer_rx).await {
            Ok(Ok(issuer)) => provider.issuer = issuer,
            Ok(Err(_)) => {
                let status = provider.child.as_mut().unwrap().wait();
                panic!(
                    "the OpenID provider exited before listening ({status:?}):\n{}",
                    provider.log()
                );
            }
            Err(_) => panic!(
                "the OpenID provider did not listen within {START_TIMEOUT:?}:\n{}",
                provider.log()
            ),
        }
        provider
    }

    /// `http://127.0.0.1:<port>`, also the base of every endpoint.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `issuer` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Everything the process printed so far, stdout and stderr.
    pub fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// New signing keys with new `kid`s: new ID tokens are signed with them and the JWKS lists
    /// them alone (the previous keys are gone from it). Ends
    /// [`sign_with_rogue_key`](Self::sign_with_rogue_key).
    pub async fn rotate_key(&self) -> Keys {
        self.control("/__test/rotate").await
    }

    /// The same, with the previous keys still listed in the JWKS (a gentle rotation).
    pub async fn rotate_key_keeping_old(&self) -> Keys {
        self.control("/__test/rotate?keep=1").await
    }

    /// From now on ID tokens are signed with keys the JWKS does not list (fresh `kid`s), as
    /// if someone else had signed them. [`rotate_key`](Self::rotate_key) ends it.
    pub async fn sign_with_rogue_key(&self) -> Keys {
        self.control("/__test/rogue").await
    }

    /// The keys in use now.
    pub async fn keys(&self) -> Keys {
        let response = self
            .http
            .get(self.url("/__test/state"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "GET /__test/state");
        response.json().await.unwrap()
    }

    /// Adds a client, or replaces the client with the same `client_id`: for a redirect URI
    /// known only once the application listens. `metadata` as in
    /// [`ProviderConfig::client_metadata`]; panics if the provider refuses it.
    pub async fn add_client(&self, metadata: &Value) {
        let response = self
            .http
            .post(self.url("/__test/client"))
            .json(metadata)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert_eq!(
            status, 200,
            "the provider refused the client {metadata}: {body}"
        );
    }

    /// Kills the provider and waits until it is gone: its port refuses connections (a
    /// provider that is down).
    pub fn stop(&mut self) {
        self.stdin.take();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Signs in as `login` with a fresh [`UserAgent`]; see [`UserAgent::sign_in`].
    pub async fn sign_in(&self, authorization_url: &str, login: &str) -> String {
        UserAgent::new().sign_in(authorization_url, login).await
    }

    async fn control(&self, path: &str) -> Keys {
        let response = self.http.post(self.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "POST {path}");
        response.json().await.unwrap()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "--- log of the OpenID provider at {} ---\n{}",
                self.issuer,
                self.log()
            );
        }
    }
}

fn push_line(log: &Mutex<String>, line: &str) {
    let mut log = log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    log.push_str(line);
    log.push('\n');
}

/// Runs `npm ci` in `tests/oidc` when oidc-provider or jose is not installed there (once per
/// test process). It installs into a scratch directory beside it and moves `node_modules` into
/// place in one rename, so test processes racing here never see half an installation.
pub fn ensure_installed(dir: &Path) {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let target = dir.join("node_modules");
        if target.join("oidc-provider/package.json").exists()
            && target.join("jose/package.json").exists()
        {
            return;
        }
        let staging = tempfile::Builder::new()
            .prefix(".npm-ci-")
            .tempdir_in(dir)
            .unwrap();
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(dir.join(file), staging.path().join(file)).unwrap();
        }
        let output = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(staging.path())
            .output()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot run `npm` to install oidc-provider in {}: {error}",
                    dir.display()
                )
            });
        assert!(
            output.status.success(),
            "`npm ci` in {} failed ({}): {}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        // An installation from before jose was added is replaced whole.
        if !target.join("jose/package.json").exists() {
            let _ = std::fs::remove_dir_all(&target);
        }
        // Another process may have won the race: its copy is as good as ours.
        if std::fs::rename(staging.path().join("node_modules"), &target).is_err() {
            assert!(
                target.join("oidc-provider/package.json").exists(),
                "could not move node_modules into {}",
                dir.display()
            );
        }
    });
}

/// A user with a browser at the provider: a cookie store (so a second authorization in the
/// same agent finds the provider's session) and no automatic redirects.
pub struct UserAgent {
    http: reqwest::Client,
}

impl Default for UserAgent {
    fn default() -> Self {
        Self::new()
    }
}

impl UserAgent {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { http }
    }

    /// Opens `authorization_url` (at the provider), signs in as `login` with any password on
    /// the login page and accepts on the consent page (each only when the provider shows it),
    /// and returns the URL the provider redirects to off its own origin: the client's
    /// `redirect_uri` with `code`, `state` and `iss`, or with `error`. It is not fetched.
    /// Panics on a page it does not know (an error page of the provider, say), with its text.
    pub async fn sign_in(&self, authorization_url: &str, login: &str) -> String {
        self.walk(authorization_url, Some(login)).await
    }

    /// Opens `authorization_url` and follows "Cancel" on the first page the provider shows;
    /// returns the redirect to the client (with `error=access_denied`).
    pub async fn cancel(&self, authorization_url: &str) -> String {
        self.walk(authorization_url, None).await
    }

    async fn walk(&self, authorization_url: &str, login: Option<&str>) -> String {
        let start = Url::parse(authorization_url).unwrap();
        let provider = start.origin();
        let mut response = self.http.get(start).send().await.unwrap();
        for _ in 0..MAX_STEPS {
            let here = response.url().clone();
            if response.status().is_redirection() {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_else(|| panic!("a redirect without Location from {here}"));
                let next = here.join(location).unwrap();
                if next.origin() != provider {
                    return next.into();
                }
                response = self.http.get(next).send().await.unwrap();
                continue;
            }
            let status = response.status();
            let page = response.text().await.unwrap_or_default();
            let Some(login) = login else {
                let abort = cancel_link(&page)
                    .unwrap_or_else(|| panic!("no Cancel link at {here} ({status}):\n{page}"));
                response = self
                    .http
                    .get(here.join(&abort).unwrap())
                    .send()
                    .await
                    .unwrap();
                continue;
            };
            let form = Form::parse(&page)
                .filter(|_| status == 200)
                .unwrap_or_else(|| panic!("an unexpected page at {here} ({status}):\n{page}"));
            let mut fields = form.hidden.clone();
            match form.prompt() {
                Some("login") => {
                    fields.push(("login".to_owned(), login.to_owned()));
                    fields.push(("password".to_owned(), "any password".to_owned()));
                }
                Some("consent") => {}
                other => panic!("a form for {other:?} at {here}:\n{page}"),
            }
            response = self
                .http
                .post(here.join(&form.action).unwrap())
                .form(&fields)
                .send()
                .await
                .unwrap();
        }
        panic!("still at the provider after {MAX_STEPS} steps from {authorization_url}")
    }
}

/// The one form of a devInteractions page (oidc-provider's `lib/views/login.js` and
/// `interaction.js`): `POST action`, a hidden `prompt` (`login` or `consent`); the login page
/// adds the text input `login` and the password input `password`.
#[derive(Debug)]
struct Form {
    action: String,
    hidden: Vec<(String, String)>,
}

impl Form {
    fn parse(page: &str) -> Option<Form> {
        let start = page.find("<form")?;
        let end = start + page[start..].find("</form>")?;
        let form = &page[start..end];
        let action = attribute(tag_at(form, 0), "action")?;
        let mut hidden = Vec::new();
        let mut rest = form;
        while let Some(at) = rest.find("<input") {
            let tag = tag_at(rest, at);
            if attribute(tag, "type").as_deref() == Some("hidden")
                && let Some(name) = attribute(tag, "name")
            {
                hidden.push((name, attribute(tag, "value").unwrap_or_default()));
            }
            rest = &rest[at + tag.len()..];
        }
        Some(Form { action, hidden })
    }

    fn prompt(&self) -> Option<&str> {
        self.hidden
            .iter()
            .find(|(name, _)| name == "prompt")
            .map(|(_, value)| value.as_str())
    }
}

/// The `href` of the `[ Cancel ]` link of a devInteractions page.
fn cancel_link(page: &str) -> Option<String> {
    let label = page.find("[ Cancel ]")?;
    let start = page[..label].rfind("<a ")?;
    attribute(tag_at(page, start), "href")
}

/// The tag that starts at `at`, up to its `>`.
fn tag_at(text: &str, at: usize) -> &str {
    let rest = &text[at..];
    let end = rest.find('>').map_or(rest.len(), |end| end + 1);
    &rest[..end]
}

/// The value of a double-quoted attribute of one tag, HTML entities decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x2F;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
