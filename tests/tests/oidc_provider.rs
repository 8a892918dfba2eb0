//! The OpenID provider of the tests (`tests/oidc`, panva's oidc-provider) against itself,
//! without the library: discovery, the authorization code flow with PKCE through its login and
//! consent pages, the code exchanged at the token endpoint for an ID token signed with a key
//! of its JWKS, a key rotation, a key it does not publish, and a provider that is down.
//!
//! `tests/run.sh` runs `npm ci` in `tests/oidc`; without it the first provider installs itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_e2e::oidc::{Provider, ProviderConfig, UserAgent};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;
use serde_json::Value;
use sha2::{Digest, Sha256};

const CLIENT_ID: &str = "app";
const SECRET: &str = "client secret of the app";
/// Never fetched: the user agent stops at the redirect to it.
const REDIRECT_URI: &str = "http://127.0.0.1:9/auth/provider/callback";

fn config() -> ProviderConfig {
    ProviderConfig::new()
        .client(CLIENT_ID, SECRET, REDIRECT_URI)
        .account("alice", "alice@example.com", "Alice Liddell")
}

/// `(code_verifier, code_challenge)` for `S256`.
fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(Sha256::digest(auth_e2e::unique().as_bytes()));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The decoded JSON of one part (0 = header, 1 = claims) of a compact JWS.
fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn query(url: &str) -> Vec<(String, String)> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn param(url: &str, name: &str) -> Option<String> {
    query(url)
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

struct Flow {
    discovery: Value,
    http: reqwest::Client,
}

impl Flow {
    async fn new(provider: &Provider) -> Flow {
        let http = reqwest::Client::new();
        let response = http
            .get(provider.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        Flow {
            discovery: response.json().await.unwrap(),
            http,
        }
    }

    fn endpoint(&self, name: &str) -> &str {
        self.discovery[name].as_str().unwrap()
    }

    fn authorization_url(&self, state: &str, nonce: &str, challenge: Option<&str>) -> String {
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid email profile"),
            ("state", state),
            ("nonce", nonce),
        ];
        if let Some(challenge) = challenge {
            params.push(("code_challenge", challenge));
            params.push(("code_challenge_method", "S256"));
        }
        Url::parse_with_params(self.endpoint("authorization_endpoint"), &params)
            .unwrap()
            .into()
    }

    /// The code flow with PKCE for `login`, through a fresh user agent; returns the ID token.
    async fn id_token(&self, issuer: &str, login: &str) -> String {
        let (verifier, challenge) = pkce();
        let state = auth_e2e::unique();
        let nonce = auth_e2e::unique();
        let url = self.authorization_url(&state, &nonce, Some(&challenge));
        let redirect = UserAgent::new().sign_in(&url, login).await;
        assert!(
            redirect.starts_with(&format!("{REDIRECT_URI}?")),
            "{redirect}"
        );
        assert_eq!(param(&redirect, "state").as_deref(), Some(state.as_str()));
        assert_eq!(param(&redirect, "iss").as_deref(), Some(issuer));
        let code = param(&redirect, "code").unwrap_or_else(|| panic!("no code in {redirect}"));

        let response = self
            .http
            .post(self.endpoint("token_endpoint"))
            .basic_auth(CLIENT_ID, Some(SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
            ])
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert!(body["access_token"].is_string(), "{body}");
        let id_token = body["id_token"].as_str().unwrap().to_owned();
        let claims = jwt_part(&id_token, 1);
        assert_eq!(claims["iss"], issuer);
        assert_eq!(claims["aud"], CLIENT_ID);
        assert_eq!(claims["sub"], login);
        assert_eq!(claims["nonce"], nonce.as_str());
        id_token
    }

    async fn jwks_kids(&self) -> Vec<String> {
        let jwks: Value = self
            .http
            .get(self.endpoint("jwks_uri"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| {
                assert!(key.get("d").is_none(), "a private key in the JWKS: {key}");
                key["kid"].as_str().unwrap().to_owned()
            })
            .collect()
    }
}

fn kid(id_token: &str) -> String {
    let header = jwt_part(id_token, 0);
    assert_eq!(header["alg"], "RS256");
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_flow_with_pkce_then_rotation_rogue_key_and_down() {
    let mut provider = Provider::start(&config()).await;
    let issuer = provider.issuer().to_owned();
    assert!(issuer.starts_with("http://127.0.0.1:"), "{issuer}");
    let flow = Flow::new(&provider).await;
    assert_eq!(flow.discovery["issuer"], issuer.as_str());
    for endpoint in [
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "userinfo_endpoint",
    ] {
        assert!(
            flow.endpoint(endpoint).starts_with(&issuer),
            "{endpoint}: {}",
            flow.discovery
        );
    }
    assert_eq!(
        flow.discovery["code_challenge_methods_supported"][0],
        "S256"
    );
    let methods = flow.discovery["token_endpoint_auth_methods_supported"].to_string();
    assert!(methods.contains("client_secret_basic") && methods.contains("client_secret_post"));

    // A code for alice, exchanged for an ID token with her claims, signed with a listed key.
    let first = flow.id_token(&issuer, "alice").await;
    let claims = jwt_part(&first, 1);
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "Alice Liddell");
    let first_kid = kid(&first);
    let kids = flow.jwks_kids().await;
    assert!(kids.contains(&first_kid), "{first_kid} not in {kids:?}");
    assert_eq!(provider.keys().await.published, kids);

    // Rotation: a new kid, listed; the old one is no longer.
    let keys = provider.rotate_key().await;
    let second_kid = kid(&flow.id_token(&issuer, "alice").await);
    assert_ne!(second_kid, first_kid);
    assert_eq!(second_kid, keys.signing[0]);
    let kids = flow.jwks_kids().await;
    assert!(kids.contains(&second_kid), "{second_kid} not in {kids:?}");
    assert!(!kids.contains(&first_kid), "{first_kid} still in {kids:?}");

    // A gentle rotation keeps the previous key listed.
    provider.rotate_key_keeping_old().await;
    let third_kid = kid(&flow.id_token(&issuer, "alice").await);
    let kids = flow.jwks_kids().await;
    assert!(
        kids.contains(&third_kid) && kids.contains(&second_kid),
        "{kids:?}"
    );

    // A rogue key: the token is signed with a kid the JWKS does not list.
    let listed = flow.jwks_kids().await;
    provider.sign_with_rogue_key().await;
    let rogue_kid = kid(&flow.id_token(&issuer, "alice").await);
    let kids = flow.jwks_kids().await;
    assert_eq!(kids, listed, "the rogue key changed the JWKS");
    assert!(
        !kids.contains(&rogue_kid),
        "{rogue_kid} is listed: {kids:?}"
    );
    // Rotating ends it.
    provider.rotate_key().await;
    let honest_kid = kid(&flow.id_token(&issuer, "alice").await);
    assert!(flow.jwks_kids().await.contains(&honest_kid));

    // Down: the port refuses connections.
    let address = issuer.trim_start_matches("http://").to_owned();
    provider.stop();
    let refused = tokio::net::TcpStream::connect(&address).await;
    assert!(refused.is_err(), "{address} still accepts connections");
    assert!(flow.http.get(&issuer).send().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkce_is_required_and_checked() {
    let provider = Provider::start(&config()).await;
    let flow = Flow::new(&provider).await;

    // No code_challenge: refused at the authorization endpoint, back to the client.
    let url = flow.authorization_url("s1", "n1", None);
    let redirect = UserAgent::new().sign_in(&url, "alice").await;
    assert_eq!(
        param(&redirect, "error").as_deref(),
        Some("invalid_request"),
        "{redirect}"
    );
    assert_eq!(param(&redirect, "state").as_deref(), Some("s1"));

    // The wrong code_verifier: the code is refused at the token endpoint.
    let (_, challenge) = pkce();
    let (wrong, _) = pkce();
    let url = flow.authorization_url("s2", "n2", Some(&challenge));
    let redirect = provider.sign_in(&url, "alice").await;
    let code = param(&redirect, "code").unwrap();
    let response = flow
        .http
        .post(flow.endpoint("token_endpoint"))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &wrong),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_in_the_body_unknown_login_cancel_and_a_client_added_later() {
    let post_redirect = "http://127.0.0.1:9/auth/post/callback";
    let provider = Provider::start(
        &ProviderConfig::new()
            .client_post("poster", "post secret", post_redirect)
            .account("alice", "alice@example.com", "Alice Liddell"),
    )
    .await;
    let flow = Flow::new(&provider).await;
    let (verifier, challenge) = pkce();
    let authorize = |client_id: &str, redirect_uri: &str, challenge: &str| {
        Url::parse_with_params(
            flow.endpoint("authorization_endpoint"),
            &[
                ("response_type", "code"),
                ("client_id", client_id),
                ("redirect_uri", redirect_uri),
                ("scope", "openid email profile"),
                ("state", "st"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .unwrap()
        .to_string()
    };

    // A login that is no configured account: signed in, with a sub and no email.
    let redirect = provider
        .sign_in(&authorize("poster", post_redirect, &challenge), "stranger")
        .await;
    let code = param(&redirect, "code").unwrap_or_else(|| panic!("{redirect}"));
    let response = flow
        .http
        .post(flow.endpoint("token_endpoint"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", post_redirect),
            ("code_verifier", &verifier),
            ("client_id", "poster"),
            ("client_secret", "post secret"),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let claims = jwt_part(body["id_token"].as_str().unwrap(), 1);
    assert_eq!(claims["sub"], "stranger");
    assert!(claims.get("email").is_none(), "{claims}");

    // The user cancels: the client hears access_denied.
    let redirect = UserAgent::new()
        .cancel(&authorize("poster", post_redirect, &challenge))
        .await;
    assert!(redirect.starts_with(post_redirect), "{redirect}");
    assert_eq!(param(&redirect, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&redirect, "state").as_deref(), Some("st"));

    // A client added while the provider runs (its redirect URI known late); an agent that
    // signed in once is not asked to log in again.
    let late_redirect = "http://127.0.0.1:9/auth/late/callback";
    provider
        .add_client(&serde_json::json!({
            "client_id": "late",
            "client_secret": "late secret",
            "redirect_uris": [late_redirect],
        }))
        .await;
    let agent = UserAgent::new();
    let first = agent
        .sign_in(&authorize("late", late_redirect, &challenge), "alice")
        .await;
    assert!(param(&first, "code").is_some(), "{first}");
    let again = agent
        .sign_in(&authorize("late", late_redirect, &challenge), "not asked")
        .await;
    let code = param(&again, "code").unwrap_or_else(|| panic!("{again}"));
    let body: Value = flow
        .http
        .post(flow.endpoint("token_endpoint"))
        .basic_auth("late", Some("late secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", late_redirect),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let claims = jwt_part(body["id_token"].as_str().unwrap(), 1);
    assert_eq!(claims["sub"], "alice", "{body}");
}
