//! Sign-in with an OpenID provider through the reference server's binary, against a real
//! provider nobody here wrote (panva's oidc-provider, `tests/oidc`), on loopback: sign-up and
//! sign-in again, linking by a verified address only, association and unlinking, a replayed
//! state, a CSRF cookie that does not match, a tampered nonce, rotated and unpublished
//! provider keys, and a provider that is down.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_e2e::oidc::{Provider, ProviderConfig, UserAgent};
use auth_e2e::server::{Backend, Config, Server};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{StatusCode, Url};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";
const CSRF: &str = "fastapiusersoauthcsrf";

/// A provider with these accounts (sub → address, verified or not), and a server on SQLite
/// with two clients of it: `corp` (no linking by e-mail) and `trusted` (linking by a verified
/// e-mail).
struct Setup {
    provider: Provider,
    server: Server,
    /// Holds the server's data directory.
    _config: Config,
}

async fn setup(accounts: &[(&str, &str, bool)]) -> Setup {
    setup_with(accounts, false, "client_secret_basic").await
}

/// As [`setup`], with the provider keeping `email` out of ID tokens (`conform`: only the
/// userinfo endpoint tells it) and the clients registered for `auth_method` at its token
/// endpoint.
async fn setup_with(accounts: &[(&str, &str, bool)], conform: bool, auth_method: &str) -> Setup {
    let mut provider_config = ProviderConfig::new().conform_id_token_claims(conform);
    for (sub, email, verified) in accounts {
        provider_config = provider_config.account_claims(
            sub,
            json!({ "email": email, "email_verified": verified, "name": sub }),
        );
    }
    let provider = Provider::start(&provider_config).await;
    let config = Config::new(Backend::Sqlite)
        .await
        .with("OAUTH_PROVIDERS", "corp,trusted")
        .with("OAUTH_CORP_CLIENT_ID", "corp-client")
        .with("OAUTH_CORP_CLIENT_SECRET", "corp client secret")
        .with("OAUTH_CORP_ISSUER", provider.issuer())
        .with("OAUTH_TRUSTED_CLIENT_ID", "trusted-client")
        .with("OAUTH_TRUSTED_CLIENT_SECRET", "trusted client secret")
        .with("OAUTH_TRUSTED_ISSUER", provider.issuer())
        .with("OAUTH_TRUSTED_ASSOCIATE_BY_EMAIL", "true")
        .with(
            "OAUTH_TOKEN_KEY",
            &format!("oauth token key {} of 32+ bytes", auth_e2e::unique()),
        );
    let server = config.start().await;
    for (name, id, secret) in [
        ("corp", "corp-client", "corp client secret"),
        ("trusted", "trusted-client", "trusted client secret"),
    ] {
        provider
            .add_client(&json!({
                "client_id": id,
                "client_secret": secret,
                "token_endpoint_auth_method": auth_method,
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "redirect_uris": [
                    server.url(&format!("/auth/{name}/callback")),
                    server.url(&format!("/auth/cookie/{name}/callback")),
                    server.url(&format!("/auth/associate/{name}/callback")),
                ],
            }))
            .await;
    }
    Setup {
        provider,
        server,
        _config: config,
    }
}

/// The value of the CSRF cookie a response sets.
fn csrf_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.strip_prefix(&format!("{CSRF}=")))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
        .expect("the CSRF cookie")
}

/// `GET path` (an authorize route), optionally signed in: the authorization URL and the CSRF
/// cookie.
async fn authorize(server: &Server, path: &str, access: Option<&str>) -> (String, String) {
    let mut request = server.http.get(server.url(path));
    if let Some(access) = access {
        request = request.bearer_auth(access);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let csrf = csrf_cookie(&response);
    let set_cookie = response
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let body: Value = response.json().await.unwrap();
    (body["authorization_url"].as_str().unwrap().to_owned(), csrf)
}

/// Opens the provider's redirect back to the server, with `csrf` as the cookie.
async fn callback(
    server: &Server,
    redirect: &str,
    csrf: Option<&str>,
    access: Option<&str>,
) -> reqwest::Response {
    let mut request = server.http.get(redirect);
    if let Some(csrf) = csrf {
        request = request.header(COOKIE, format!("{CSRF}={csrf}"));
    }
    if let Some(access) = access {
        request = request.bearer_auth(access);
    }
    request.send().await.unwrap()
}

async fn detail(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["detail"].clone())
}

/// Signs in at provider `name` as `login` through the bearer routes; the callback response.
async fn sign_in(setup: &Setup, name: &str, login: &str) -> reqwest::Response {
    let (url, csrf) = authorize(&setup.server, &format!("/auth/{name}/authorize"), None).await;
    let redirect = UserAgent::new().sign_in(&url, login).await;
    callback(&setup.server, &redirect, Some(&csrf), None).await
}

async fn access_of(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert!(body["refresh_token"].is_string());
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_then_sign_in_again_through_the_provider() {
    let setup = setup(&[("alice", "alice@example.com", true)]).await;
    let server = &setup.server;
    let (url, _) = authorize(
        server,
        "/auth/corp/authorize?scopes=openid&scopes=email",
        None,
    )
    .await;
    let parsed = Url::parse(&url).unwrap();
    let params: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    assert!(param("nonce").is_some() && param("state").is_some());
    assert_eq!(param("scope").as_deref(), Some("openid email"));

    let access = access_of(sign_in(&setup, "corp", "alice").await).await;
    let me: Value = server.me(&access).await.json().await.unwrap();
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["is_verified"], true, "as the provider asserted");
    let again = access_of(sign_in(&setup, "corp", "alice").await).await;
    let me_again: Value = server.me(&again).await.json().await.unwrap();
    assert_eq!(me_again["id"], me["id"], "the same user signs in again");

    let accounts: Value = server
        .get(&again, "/users/me/oauth-accounts")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(accounts.as_array().unwrap().len(), 1, "{accounts}");
    assert_eq!(accounts[0]["oauth_name"], "corp");
    assert_eq!(accounts[0]["account_id"], "alice");
    assert_eq!(accounts[0]["account_email"], "alice@example.com");
    let text = accounts.to_string();
    assert!(
        !text.contains("token"),
        "no provider token is shown: {text}"
    );
    // The user has no password: a password login cannot work.
    assert_eq!(
        server.login("alice@example.com", PASSWORD).await.status(),
        400
    );
    // Its only way in cannot be unlinked.
    let (status, code) = detail(
        server
            .http
            .delete(server.url("/users/me/oauth-accounts/corp/alice"))
            .bearer_auth(&again)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code),
        (StatusCode::BAD_REQUEST, json!("OAUTH_LAST_LOGIN_METHOD"))
    );
    assert!(!server.log().contains("corp client secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_are_single_use_bound_to_the_cookie_and_signed() {
    let setup = setup(&[("alice", "alice@example.com", true)]).await;
    let server = &setup.server;
    let (url, csrf) = authorize(server, "/auth/corp/authorize", None).await;
    let redirect = UserAgent::new().sign_in(&url, "alice").await;

    // Another browser's cookie, or none: refused, and the state is not spent by it.
    let (_, other_csrf) = authorize(server, "/auth/corp/authorize", None).await;
    for cookie in [Some(other_csrf.as_str()), None] {
        let (status, code) = detail(callback(server, &redirect, cookie, None).await).await;
        assert_eq!(
            (status, code),
            (StatusCode::BAD_REQUEST, json!("OAUTH_INVALID_STATE"))
        );
    }
    let first = callback(server, &redirect, Some(&csrf), None).await;
    assert_eq!(first.status(), 200);
    // Replayed: refused.
    let (status, code) = detail(callback(server, &redirect, Some(&csrf), None).await).await;
    assert_eq!(
        (status, code),
        (StatusCode::BAD_REQUEST, json!("OAUTH_INVALID_STATE"))
    );

    // A state that is not ours.
    let mut forged = Url::parse(&redirect).unwrap();
    let pairs: Vec<(String, String)> = forged
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "state" {
                let mut parts: Vec<&str> = v.split('.').collect();
                parts[2] = "c2lnbmF0dXJl";
                (k, parts.join("."))
            } else {
                (k, v)
            }
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let (status, code) = detail(callback(server, forged.as_str(), Some(&csrf), None).await).await;
    assert_eq!(
        (status, code),
        (StatusCode::BAD_REQUEST, json!("ACCESS_TOKEN_DECODE_ERROR"))
    );
    // A state of another provider.
    let (trusted_url, trusted_csrf) = authorize(server, "/auth/trusted/authorize", None).await;
    let state = Url::parse(&trusted_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let cross = format!("{}?code=x&state={state}", server.url("/auth/corp/callback"));
    let (status, code) = detail(callback(server, &cross, Some(&trusted_csrf), None).await).await;
    assert_eq!(
        (status, code),
        (StatusCode::BAD_REQUEST, json!("ACCESS_TOKEN_DECODE_ERROR"))
    );
    // No code; the provider's own refusal.
    let (status, code) = detail(
        callback(
            server,
            &server.url("/auth/corp/callback?state=x"),
            Some(&csrf),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code),
        (StatusCode::BAD_REQUEST, json!("Bad Request"))
    );
    let (url, csrf) = authorize(server, "/auth/corp/authorize", None).await;
    let refused = UserAgent::new().cancel(&url).await;
    let (status, code) = detail(callback(server, &refused, Some(&csrf), None).await).await;
    assert_eq!(
        (status, code),
        (StatusCode::BAD_REQUEST, json!("access_denied"))
    );
    // An unknown provider.
    let unknown = server
        .http
        .get(server.url("/auth/nobody/authorize"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_nonce_is_refused() {
    let setup = setup(&[("alice", "alice@example.com", true)]).await;
    let server = &setup.server;
    let (url, csrf) = authorize(server, "/auth/corp/authorize", None).await;
    let mut tampered = Url::parse(&url).unwrap();
    let pairs: Vec<(String, String)> = tampered
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "nonce" {
                (k, "attacker-nonce".to_owned())
            } else {
                (k, v)
            }
        })
        .collect();
    tampered.query_pairs_mut().clear().extend_pairs(pairs);
    let redirect = UserAgent::new().sign_in(tampered.as_str(), "alice").await;
    let (status, code) = detail(callback(server, &redirect, Some(&csrf), None).await).await;
    assert_eq!(
        (status, code),
        (StatusCode::BAD_REQUEST, json!("OAUTH_INVALID_STATE"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_address_is_linked_only_when_verified_and_allowed() {
    let setup = setup(&[
        ("bob-at-corp", "bob@example.com", true),
        ("carol-at-corp", "carol@example.com", false),
        ("nomail", "", false),
    ])
    .await;
    let server = &setup.server;
    // Bob verified his address with us; linking never reaches into an unverified account.
    setup
        ._config
        .create_user("bob@example.com", &["--verified"]);
    let (bob_access, _) = server.tokens("bob@example.com", PASSWORD).await;
    let bob: Value = server.me(&bob_access).await.json().await.unwrap();
    server.register("carol@example.com", PASSWORD).await;

    // Linking by e-mail is off for `corp`.
    let (status, code) = detail(sign_in(&setup, "corp", "bob-at-corp").await).await;
    assert_eq!(
        (status, code),
        (StatusCode::BAD_REQUEST, json!("OAUTH_USER_ALREADY_EXISTS"))
    );
    // On for `trusted`, with a verified address: Bob signs in.
    let access = access_of(sign_in(&setup, "trusted", "bob-at-corp").await).await;
    let me: Value = server.me(&access).await.json().await.unwrap();
    assert_eq!(me["id"], bob["id"]);
    // An unverified address is never linked.
    let (status, code) = detail(sign_in(&setup, "trusted", "carol-at-corp").await).await;
    assert_eq!(
        (status, code),
        (StatusCode::BAD_REQUEST, json!("OAUTH_USER_ALREADY_EXISTS"))
    );
    // No address at all.
    let (status, code) = detail(sign_in(&setup, "corp", "nomail").await).await;
    assert_eq!(
        (status, code),
        (StatusCode::BAD_REQUEST, json!("OAUTH_NOT_AVAILABLE_EMAIL"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_are_associated_with_the_signed_in_user_and_unlinked() {
    let setup = setup(&[
        ("dave-at-corp", "dave.work@example.com", true),
        ("erin-at-corp", "erin@example.com", true),
    ])
    .await;
    let server = &setup.server;
    server.register("dave@example.com", PASSWORD).await;
    let (dave, _) = server.tokens("dave@example.com", PASSWORD).await;
    server.register("frank@example.com", PASSWORD).await;
    let (frank, _) = server.tokens("frank@example.com", PASSWORD).await;

    let anonymous = server
        .http
        .get(server.url("/auth/associate/corp/authorize"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let (url, csrf) = authorize(server, "/auth/associate/corp/authorize", Some(&dave)).await;
    let redirect = UserAgent::new().sign_in(&url, "dave-at-corp").await;
    // Frank cannot finish Dave's association.
    let (status, code) = detail(callback(server, &redirect, Some(&csrf), Some(&frank)).await).await;
    assert_eq!(
        (status, code),
        (StatusCode::BAD_REQUEST, json!("Bad Request"))
    );
    let (url, csrf) = authorize(server, "/auth/associate/corp/authorize", Some(&dave)).await;
    let redirect = UserAgent::new().sign_in(&url, "dave-at-corp").await;
    assert_eq!(
        callback(server, &redirect, Some(&csrf), None)
            .await
            .status(),
        401
    );
    let (url, csrf) = authorize(server, "/auth/associate/corp/authorize", Some(&dave)).await;
    let redirect = UserAgent::new().sign_in(&url, "dave-at-corp").await;
    let linked = callback(server, &redirect, Some(&csrf), Some(&dave)).await;
    assert_eq!(linked.status(), 200);
    let user: Value = linked.json().await.unwrap();
    assert_eq!(user["email"], "dave@example.com");
    assert_eq!(user["oauth_accounts"][0]["account_id"], "dave-at-corp");
    assert!(!user.to_string().contains("token"), "{user}");
    // Dave now signs in through the provider.
    let access = access_of(sign_in(&setup, "corp", "dave-at-corp").await).await;
    let me: Value = server.me(&access).await.json().await.unwrap();
    assert_eq!(me["email"], "dave@example.com");
    // Frank cannot take the same provider account.
    let (url, csrf) = authorize(server, "/auth/associate/corp/authorize", Some(&frank)).await;
    let redirect = UserAgent::new().sign_in(&url, "dave-at-corp").await;
    let (status, code) = detail(callback(server, &redirect, Some(&csrf), Some(&frank)).await).await;
    assert_eq!(
        (status, code),
        (
            StatusCode::BAD_REQUEST,
            json!("OAUTH_ACCOUNT_ALREADY_LINKED")
        )
    );

    // Dave has a password: the link can go. Unknown links are 404.
    let unlink = |path: &str, access: &str| {
        server
            .http
            .delete(server.url(path))
            .bearer_auth(access.to_owned())
            .send()
    };
    assert_eq!(
        unlink("/users/me/oauth-accounts/corp/nobody", &dave)
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        unlink("/users/me/oauth-accounts/corp/dave-at-corp", &frank)
            .await
            .unwrap()
            .status(),
        404,
        "not Frank's"
    );
    assert_eq!(
        unlink("/users/me/oauth-accounts/corp/dave-at-corp", &dave)
            .await
            .unwrap()
            .status(),
        204
    );
    let accounts: Value = server
        .get(&dave, "/users/me/oauth-accounts")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(accounts, json!([]));
    // Signing in with it again now makes a new account? No: Dave's address is taken.
    let (status, code) = detail(sign_in(&setup, "corp", "dave-at-corp").await).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{code}: a new user with the provider's own address"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_keys_are_fetched_again_and_unpublished_keys_are_refused() {
    let setup = setup(&[("alice", "alice@example.com", true)]).await;
    access_of(sign_in(&setup, "corp", "alice").await).await;
    setup.provider.rotate_key().await;
    access_of(sign_in(&setup, "corp", "alice").await).await;
    setup.provider.sign_with_rogue_key().await;
    let (status, code) = detail(sign_in(&setup, "corp", "alice").await).await;
    assert_eq!(
        (status, code),
        (StatusCode::BAD_GATEWAY, json!("OAUTH_PROVIDER_ERROR"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_is_down_is_a_502_not_a_500() {
    let mut setup = setup(&[("alice", "alice@example.com", true)]).await;
    let (url, csrf) = authorize(&setup.server, "/auth/corp/authorize", None).await;
    let redirect = UserAgent::new().sign_in(&url, "alice").await;
    setup.provider.stop();
    let (status, code) = detail(callback(&setup.server, &redirect, Some(&csrf), None).await).await;
    assert_eq!(
        (status, code),
        (StatusCode::BAD_GATEWAY, json!("OAUTH_PROVIDER_ERROR"))
    );
    // Discovery for the provider never reached yet fails the same way.
    let response = setup
        .server
        .http
        .get(setup.server.url("/auth/trusted/authorize"))
        .send()
        .await
        .unwrap();
    let (status, code) = detail(response).await;
    assert_eq!(
        (status, code),
        (StatusCode::BAD_GATEWAY, json!("OAUTH_PROVIDER_ERROR"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_flow_sets_the_cookies_and_returns_to_a_safe_page() {
    let setup = setup(&[("alice", "alice@example.com", true)]).await;
    let server = &setup.server;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login_page = browser.get(server.url("/login")).send().await.unwrap();
    let page = login_page.text().await.unwrap();
    assert!(page.contains("/auth/cookie/corp/authorize"), "{page}");

    let start = browser
        .get(server.url("/auth/cookie/corp/authorize?next=/blog"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 303);
    let csrf = csrf_cookie(&start);
    let to_provider = start.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(to_provider.starts_with(setup.provider.issuer()));
    let redirect = UserAgent::new().sign_in(&to_provider, "alice").await;
    let done = browser
        .get(&redirect)
        .header(COOKIE, format!("{CSRF}={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(done.headers()[LOCATION], "/blog");
    let cookies: Vec<&str> = done
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("access_token=")),
        "{cookies:?}"
    );
    assert!(
        cookies.iter().any(|c| c.starts_with("refresh_token=")),
        "{cookies:?}"
    );

    // The same callback again: back to the login page with the reason.
    let again = browser
        .get(&redirect)
        .header(COOKIE, format!("{CSRF}={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 303);
    assert_eq!(
        again.headers()[LOCATION],
        "/login?error=OAUTH_INVALID_STATE"
    );
    // An unsafe `next` is not followed.
    let start = browser
        .get(server.url("/auth/cookie/corp/authorize?next=//evil.example"))
        .send()
        .await
        .unwrap();
    let csrf = csrf_cookie(&start);
    let to_provider = start.headers()[LOCATION].to_str().unwrap().to_owned();
    let redirect = UserAgent::new().sign_in(&to_provider, "alice").await;
    let done = browser
        .get(&redirect)
        .header(COOKIE, format!("{CSRF}={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(done.headers()[LOCATION], "/account");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_registered_for_secret_post_and_addresses_only_in_userinfo_work() {
    let setup = setup_with(
        &[("alice", "alice@example.com", true)],
        true,
        "client_secret_post",
    )
    .await;
    let access = access_of(sign_in(&setup, "corp", "alice").await).await;
    let me: Value = setup.server.me(&access).await.json().await.unwrap();
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["is_verified"], true);
    // Learnt once, used from then on.
    access_of(sign_in(&setup, "corp", "alice").await).await;
}

/// The authenticator app of a test: the code of `secret` (base 32) `offset` steps from now.
fn totp_code(secret: &str, offset: i64) -> String {
    use totp_rs::{Algorithm, Secret, TOTP};
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
    let totp = TOTP::new_unchecked(Algorithm::SHA1, 6, 0, 30, bytes, None, String::new());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp.generate(now.saturating_add_signed(offset * 30))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_sign_in_of_an_account_with_a_second_factor_still_asks_for_it() {
    let setup = setup(&[("dave-at-corp", "dave.work@example.com", true)]).await;
    let server = &setup.server;
    server.register("dave@example.com", PASSWORD).await;
    let (dave, _) = server.tokens("dave@example.com", PASSWORD).await;
    let (url, csrf) = authorize(server, "/auth/associate/corp/authorize", Some(&dave)).await;
    let redirect = UserAgent::new().sign_in(&url, "dave-at-corp").await;
    assert_eq!(
        callback(server, &redirect, Some(&csrf), Some(&dave))
            .await
            .status(),
        200
    );
    let enrollment: Value = server
        .http
        .post(server.url("/users/me/mfa/totp"))
        .bearer_auth(&dave)
        .json(&json!({ "current_password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = enrollment["secret"].as_str().unwrap().to_owned();
    let confirmed = server
        .http
        .post(server.url("/users/me/mfa/totp/confirm"))
        .bearer_auth(&dave)
        .json(&json!({ "code": totp_code(&secret, 0) }))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);

    // The provider alone opens no session: the second step follows, as after a password.
    let response = sign_in(&setup, "corp", "dave-at-corp").await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["detail"]["code"], "LOGIN_MFA_REQUIRED", "{body}");
    let token = body["detail"]["mfa_token"].as_str().unwrap();
    let finished = server
        .http
        .post(server.url("/auth/jwt/mfa"))
        .json(&json!({ "mfa_token": token, "code": totp_code(&secret, 1) }))
        .send()
        .await
        .unwrap();
    assert_eq!(finished.status(), 200);

    // In a browser: back to the login page, the token in the fragment only.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = browser
        .get(server.url("/auth/cookie/corp/authorize?next=/blog"))
        .send()
        .await
        .unwrap();
    let csrf = csrf_cookie(&start);
    let to_provider = start.headers()[LOCATION].to_str().unwrap().to_owned();
    let redirect = UserAgent::new().sign_in(&to_provider, "dave-at-corp").await;
    let done = browser
        .get(&redirect)
        .header(COOKIE, format!("{CSRF}={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let location = done.headers()[LOCATION].to_str().unwrap();
    assert!(
        location.starts_with("/login?next=%2Fblog#mfa_token="),
        "{location}"
    );
    assert!(
        !done
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .any(|c| c.to_str().unwrap_or_default().starts_with("access_token=")),
        "no session before the second step"
    );
}

/// Every callback costs a request to the provider: a client's callbacks spend the per-IP
/// budget of token submissions, checked before anything else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_are_throttled_per_client() {
    let config = Config::new(Backend::Sqlite)
        .await
        .with("OAUTH_PROVIDERS", "corp")
        .with("OAUTH_CORP_CLIENT_ID", "corp-client")
        .with("OAUTH_CORP_CLIENT_SECRET", "corp client secret")
        // Never contacted: every callback here fails on its state first.
        .with("OAUTH_CORP_ISSUER", "http://127.0.0.1:9")
        .with(
            "OAUTH_TOKEN_KEY",
            &format!("oauth token key {} of 32+ bytes", auth_e2e::unique()),
        )
        .with("RATE_LIMIT_TOKEN_IP", "3/1m");
    let server = config.start().await;
    let url = server.url("/auth/corp/callback?code=x&state=not-ours");
    for _ in 0..3 {
        let (status, code) = detail(server.http.get(&url).send().await.unwrap()).await;
        assert_eq!(
            (status, code),
            (StatusCode::BAD_REQUEST, json!("ACCESS_TOKEN_DECODE_ERROR"))
        );
    }
    let refused = server.http.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
}

/// An account created through a provider has no password to give: a fresh session (under
/// five minutes old) enrols the authenticator app instead. An account with a password still
/// needs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_only_account_enrols_totp_from_a_fresh_session() {
    let setup = setup(&[("alice", "alice@example.com", true)]).await;
    let server = &setup.server;
    let access = access_of(sign_in(&setup, "corp", "alice").await).await;
    let enrollment = server
        .http
        .post(server.url("/users/me/mfa/totp"))
        .bearer_auth(&access)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(enrollment.status(), 200);
    let enrollment: Value = enrollment.json().await.unwrap();
    let secret = enrollment["secret"].as_str().unwrap().to_owned();
    let confirmed = server
        .http
        .post(server.url("/users/me/mfa/totp/confirm"))
        .bearer_auth(&access)
        .json(&json!({ "code": totp_code(&secret, 0) }))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    let response = sign_in(&setup, "corp", "alice").await;
    assert_eq!(
        response.status(),
        403,
        "the provider now needs the second step"
    );

    server.register("bob@example.com", PASSWORD).await;
    let (bob, _) = server.tokens("bob@example.com", PASSWORD).await;
    let (status, code) = detail(
        server
            .http
            .post(server.url("/users/me/mfa/totp"))
            .bearer_auth(&bob)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code),
        (
            StatusCode::BAD_REQUEST,
            json!("UPDATE_USER_BAD_CURRENT_PASSWORD")
        )
    );
}
