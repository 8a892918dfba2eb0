//! Passkeys through the reference server's binary, with webauthn-rs's software authenticator
//! doing real ceremonies (real keys, real signatures, user verification asserted):
//! registration (password or fresh session), the list, the discoverable sign-in, a passkey
//! as the second step after the password, replayed assertions, one user's passkey against
//! another's login, and removal. Sessions end on every change.
//!
//! The software authenticator keeps no resident credentials: for the discoverable sign-in the
//! test plays the browser that picked one, naming the credential in the request and putting
//! the user handle a resident credential would give into the answer (the handle is not
//! signed by any authenticator, so this changes nothing the server checks).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_e2e::server::{Backend, Config, PASSWORD, Server, wait_for_mail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url, WebauthnAuthenticator,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

/// The server's public URL: the relying party is `localhost`, the origin this.
const ORIGIN: &str = "http://localhost:8000";

fn origin() -> Url {
    Url::parse(ORIGIN).unwrap()
}

/// An authenticator that does user verification (as a platform passkey does).
fn authenticator() -> SoftPasskey {
    SoftPasskey::new(true)
}

async fn send(
    server: &Server,
    method: &str,
    path: &str,
    access: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut request = server
        .http
        .request(method.parse().unwrap(), server.url(path))
        .json(&body);
    if let Some(access) = access {
        request = request.bearer_auth(access);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn detail(answer: &(StatusCode, Value)) -> (StatusCode, &Value) {
    (answer.0, &answer.1["detail"])
}

/// Registers a passkey of `key` for the holder of `access`: the finish's answer and the
/// credential's id (base64url).
async fn register_passkey(
    server: &Server,
    access: &str,
    key: &mut SoftPasskey,
    name: &str,
) -> (Value, String) {
    let (status, start) = send(
        server,
        "POST",
        "/users/me/passkeys/register/start",
        Some(access),
        json!({ "current_password": PASSWORD }),
    )
    .await;
    assert_eq!(status, 200, "{start}");
    let state = start["state"].as_str().unwrap().to_owned();
    let options: CreationChallengeResponse = serde_json::from_value(start).unwrap();
    let credential = key.do_registration(origin(), options).unwrap();
    let credential = serde_json::to_value(&credential).unwrap();
    let (status, body) = send(
        server,
        "POST",
        "/users/me/passkeys/register/finish",
        Some(access),
        json!({ "name": name, "credential": credential, "state": state }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (body, credential["id"].as_str().unwrap().to_owned())
}

/// The user's id as the user handle of their credentials: the UUID's 16 bytes, base64url.
async fn user_handle(server: &Server, access: &str) -> String {
    let me: Value = server.me(access).await.json().await.unwrap();
    let hex: String = me["id"].as_str().unwrap().replace('-', "");
    let bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `POST /auth/jwt/passkey/start` with `body`: the options and the state.
async fn login_start(server: &Server, body: Value) -> (Value, String) {
    let (status, start) = send(server, "POST", "/auth/jwt/passkey/start", None, body).await;
    assert_eq!(status, 200, "{start}");
    let state = start["state"].as_str().unwrap().to_owned();
    (start, state)
}

/// The browser's part of a sign-in: `key` answers `options`; for a discoverable sign-in
/// (`handle`), the credential `credential_id` is the one picked, and its user handle comes
/// back with the answer.
fn assert_with(
    key: &mut SoftPasskey,
    mut options: Value,
    credential_id: &str,
    handle: Option<&str>,
) -> Value {
    let allowed = options["publicKey"]["allowCredentials"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if allowed.is_empty() || handle.is_some() {
        options["publicKey"]["allowCredentials"] =
            json!([{ "type": "public-key", "id": credential_id }]);
    }
    let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    let assertion = key.do_authentication(origin(), options).unwrap();
    let mut assertion = serde_json::to_value(&assertion).unwrap();
    if let Some(handle) = handle {
        assertion["response"]["userHandle"] = json!(handle);
    }
    assertion
}

async fn login_finish(server: &Server, body: Value) -> (StatusCode, Value) {
    send(server, "POST", "/auth/jwt/passkey/finish", None, body).await
}

/// A discoverable sign-in with `key`'s credential `credential_id`, named as `handle`'s.
async fn discoverable(
    server: &Server,
    key: &mut SoftPasskey,
    credential_id: &str,
    handle: &str,
) -> (StatusCode, Value) {
    let (options, state) = login_start(server, json!({})).await;
    assert!(options["publicKey"]["challenge"].is_string(), "{options}");
    assert_eq!(options["publicKey"]["userVerification"], "required");
    let credential = assert_with(key, options, credential_id, Some(handle));
    login_finish(server, json!({ "credential": credential, "state": state })).await
}

/// A password login that must ask for a second factor: its `mfa_token`.
async fn mfa_token(server: &Server, email: &str) -> String {
    let response = server.login(email, PASSWORD).await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["detail"]["code"], "LOGIN_MFA_REQUIRED", "{body}");
    assert_eq!(body["detail"]["methods"], json!(["passkey"]));
    body["detail"]["mfa_token"].as_str().unwrap().to_owned()
}

async fn config() -> Config {
    Config::new(Backend::Sqlite)
        .await
        .with("PUBLIC_URL", ORIGIN)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_discoverable_sign_in_second_step_and_removal() {
    let config = config().await;
    let server = config.start().await;
    server.register("ada@example.com", PASSWORD).await;
    let (older, _) = server.tokens("ada@example.com", PASSWORD).await;
    let (access, _) = server.tokens("ada@example.com", PASSWORD).await;
    let handle = user_handle(&server, &access).await;
    let mut key = authenticator();

    // Registration: a wrong password is refused; no login at all is 401.
    let refused = send(
        &server,
        "POST",
        "/users/me/passkeys/register/start",
        Some(&access),
        json!({ "current_password": "wrong" }),
    )
    .await;
    assert_eq!(
        detail(&refused),
        (
            StatusCode::BAD_REQUEST,
            &json!("UPDATE_USER_BAD_CURRENT_PASSWORD")
        )
    );
    let anonymous = send(
        &server,
        "POST",
        "/users/me/passkeys/register/start",
        None,
        json!({}),
    )
    .await;
    assert_eq!(anonymous.0, StatusCode::UNAUTHORIZED);
    let (status, list) = send(
        &server,
        "GET",
        "/users/me/passkeys",
        Some(&access),
        json!({}),
    )
    .await;
    assert_eq!((status, list), (StatusCode::OK, json!([])));

    // A session opened a moment ago stands in for the password. The options ask for user
    // verification, a discoverable credential, and name the relying party.
    let (status, start) = send(
        &server,
        "POST",
        "/users/me/passkeys/register/start",
        Some(&access),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{start}");
    let public_key = &start["publicKey"];
    assert_eq!(public_key["rp"]["id"], "localhost");
    assert_eq!(
        public_key["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(
        public_key["authenticatorSelection"]["residentKey"],
        "preferred"
    );
    assert_eq!(public_key["user"]["id"], json!(handle));
    let state = start["state"].as_str().unwrap().to_owned();
    let options: CreationChallengeResponse = serde_json::from_value(start).unwrap();
    let credential = key.do_registration(origin(), options).unwrap();
    let credential = serde_json::to_value(&credential).unwrap();

    // A garbled answer fails, and spends the ceremony.
    let mut garbled = credential.clone();
    garbled["response"]["clientDataJSON"] = json!(URL_SAFE_NO_PAD.encode(b"{}"));
    let finish = |credential: &Value| json!({ "name": " Laptop ", "credential": credential, "state": state });
    let garbled_answer = send(
        &server,
        "POST",
        "/users/me/passkeys/register/finish",
        Some(&access),
        finish(&garbled),
    )
    .await;
    assert_eq!(
        detail(&garbled_answer),
        (StatusCode::BAD_REQUEST, &json!("PASSKEY_INVALID"))
    );
    let spent = send(
        &server,
        "POST",
        "/users/me/passkeys/register/finish",
        Some(&access),
        finish(&credential),
    )
    .await;
    assert_eq!(
        detail(&spent),
        (StatusCode::BAD_REQUEST, &json!("PASSKEY_INVALID"))
    );

    // A real registration: 201, the other session ends, the user is told.
    let (passkey, credential_id) = register_passkey(&server, &access, &mut key, " Laptop ").await;
    assert_eq!(passkey["name"], "Laptop");
    assert!(passkey["created_at"].is_string());
    assert_eq!(passkey["last_used_at"], Value::Null);
    let passkey_id = passkey["id"].as_str().unwrap().to_owned();
    assert_eq!(server.me(&older).await.status(), 401);
    assert_eq!(server.me(&access).await.status(), 200);
    let mail = wait_for_mail(
        &config.outbox(),
        "ada@example.com",
        "The sign-in of your account changed",
        1,
    )
    .await;
    assert!(mail.text.contains("a passkey was added"), "{}", mail.text);
    let (status, list) = send(
        &server,
        "GET",
        "/users/me/passkeys",
        Some(&access),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, list.as_array().unwrap().len()),
        (StatusCode::OK, 1)
    );
    assert_eq!(list[0], passkey);

    // The discoverable sign-in: no password, tokens at once.
    let (status, tokens) = discoverable(&server, &mut key, &credential_id, &handle).await;
    assert_eq!(status, 200, "{tokens}");
    let passkey_access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(server.me(&passkey_access).await.status(), 200);
    let (_, list) = send(
        &server,
        "GET",
        "/users/me/passkeys",
        Some(&access),
        json!({}),
    )
    .await;
    assert!(list[0]["last_used_at"].is_string(), "{list}");

    // A replayed assertion: with its own state (spent) and with a fresh one (another
    // challenge) alike.
    let (options, state) = login_start(&server, json!({})).await;
    let assertion = assert_with(&mut key, options, &credential_id, Some(&handle));
    let body = json!({ "credential": assertion, "state": state });
    assert_eq!(login_finish(&server, body.clone()).await.0, 200);
    let replayed = login_finish(&server, body).await;
    assert_eq!(
        detail(&replayed),
        (StatusCode::BAD_REQUEST, &json!("PASSKEY_INVALID"))
    );
    let (_, fresh_state) = login_start(&server, json!({})).await;
    let replayed = login_finish(
        &server,
        json!({ "credential": assertion, "state": fresh_state }),
    )
    .await;
    assert_eq!(
        detail(&replayed),
        (StatusCode::BAD_REQUEST, &json!("PASSKEY_INVALID"))
    );
    // A state that is not one.
    let forged = login_finish(&server, json!({ "credential": assertion, "state": "AAAA" })).await;
    assert_eq!(
        detail(&forged),
        (StatusCode::BAD_REQUEST, &json!("PASSKEY_INVALID"))
    );

    // The password now needs the passkey as its second step.
    let token = mfa_token(&server, "ada@example.com").await;
    let (options, state) = login_start(&server, json!({ "mfa_token": token })).await;
    assert_eq!(
        options["publicKey"]["allowCredentials"][0]["id"],
        json!(credential_id),
        "{options}"
    );
    let assertion = assert_with(&mut key, options, &credential_id, None);
    let finished = login_finish(
        &server,
        json!({ "credential": assertion, "state": state, "mfa_token": token }),
    )
    .await;
    assert_eq!(finished.0, 200, "{}", finished.1);
    assert!(finished.1["access_token"].is_string());
    // The token was spent with it.
    let (options, state) = login_start(&server, json!({ "mfa_token": token })).await;
    let assertion = assert_with(&mut key, options, &credential_id, None);
    let reused = login_finish(
        &server,
        json!({ "credential": assertion, "state": state, "mfa_token": token }),
    )
    .await;
    assert_eq!(
        detail(&reused),
        (StatusCode::BAD_REQUEST, &json!("MFA_TOKEN_INVALID"))
    );

    // Removal: 204, the other sessions end, the user is told; then 404.
    let (options, state) = login_start(&server, json!({})).await;
    let credential = assert_with(&mut key, options, &credential_id, Some(&handle));
    let (status, tokens) =
        login_finish(&server, json!({ "credential": credential, "state": state })).await;
    assert_eq!(status, 200, "{tokens}");
    let spare = tokens["access_token"].as_str().unwrap().to_owned();
    let path = format!("/users/me/passkeys/{passkey_id}");
    let (status, _) = send(&server, "DELETE", &path, Some(&access), json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(server.me(&spare).await.status(), 401);
    assert_eq!(server.me(&access).await.status(), 200);
    let mail = wait_for_mail(
        &config.outbox(),
        "ada@example.com",
        "The sign-in of your account changed",
        2,
    )
    .await;
    assert!(mail.text.contains("a passkey was removed"), "{}", mail.text);
    let again = send(&server, "DELETE", &path, Some(&access), json!({})).await;
    assert_eq!(again.0, StatusCode::NOT_FOUND);
    let garbage = send(
        &server,
        "DELETE",
        "/users/me/passkeys/not-an-id",
        Some(&access),
        json!({}),
    )
    .await;
    assert_eq!(garbage.0, StatusCode::NOT_FOUND);
    let (_, list) = send(
        &server,
        "GET",
        "/users/me/passkeys",
        Some(&access),
        json!({}),
    )
    .await;
    assert_eq!(list, json!([]));
    // The removed passkey signs in no one; the password alone works again.
    let gone = discoverable(&server, &mut key, &credential_id, &handle).await;
    assert_eq!(
        detail(&gone),
        (StatusCode::BAD_REQUEST, &json!("PASSKEY_INVALID"))
    );
    assert_eq!(
        server.login("ada@example.com", PASSWORD).await.status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_users_passkey_never_signs_in_another() {
    let config = config().await;
    let server = config.start().await;
    server.register("ada@example.com", PASSWORD).await;
    server.register("bob@example.com", PASSWORD).await;
    let (ada_access, _) = server.tokens("ada@example.com", PASSWORD).await;
    let (bob_access, _) = server.tokens("bob@example.com", PASSWORD).await;
    let bob_handle = user_handle(&server, &bob_access).await;
    let mut ada_key = authenticator();
    let mut bob_key = authenticator();
    let (_, ada_credential) = register_passkey(&server, &ada_access, &mut ada_key, "Ada's").await;
    let (_, bob_credential) = register_passkey(&server, &bob_access, &mut bob_key, "Bob's").await;

    // Ada's passkey answering Bob's second step.
    let bob_token = mfa_token(&server, "bob@example.com").await;
    let (options, state) = login_start(&server, json!({ "mfa_token": bob_token })).await;
    assert_eq!(
        options["publicKey"]["allowCredentials"],
        json!([{ "type": "public-key", "id": bob_credential }]),
        "{options}"
    );
    let mut forged = options.clone();
    forged["publicKey"]["allowCredentials"] =
        json!([{ "type": "public-key", "id": ada_credential }]);
    let assertion = assert_with(&mut ada_key, forged, &ada_credential, None);
    let refused = login_finish(
        &server,
        json!({ "credential": assertion, "state": state, "mfa_token": bob_token }),
    )
    .await;
    assert_eq!(
        detail(&refused),
        (StatusCode::BAD_REQUEST, &json!("PASSKEY_INVALID"))
    );

    // Ada's second-step ceremony finished with Bob's token.
    let ada_token = mfa_token(&server, "ada@example.com").await;
    let (options, state) = login_start(&server, json!({ "mfa_token": ada_token })).await;
    let assertion = assert_with(&mut ada_key, options, &ada_credential, None);
    let refused = login_finish(
        &server,
        json!({ "credential": assertion, "state": state, "mfa_token": bob_token }),
    )
    .await;
    assert_eq!(
        detail(&refused),
        (StatusCode::BAD_REQUEST, &json!("MFA_TOKEN_INVALID"))
    );
    // A second step without its token.
    let (options, state) = login_start(&server, json!({ "mfa_token": ada_token })).await;
    let assertion = assert_with(&mut ada_key, options, &ada_credential, None);
    let refused = login_finish(&server, json!({ "credential": assertion, "state": state })).await;
    assert_eq!(
        detail(&refused),
        (StatusCode::BAD_REQUEST, &json!("MFA_TOKEN_INVALID"))
    );

    // Ada's passkey claiming to be Bob's in a discoverable sign-in.
    let refused = discoverable(&server, &mut ada_key, &ada_credential, &bob_handle).await;
    assert_eq!(
        detail(&refused),
        (StatusCode::BAD_REQUEST, &json!("PASSKEY_INVALID"))
    );

    // Bob's own passkey still finishes Bob's second step (the refusals gave his token back).
    let (options, state) = login_start(&server, json!({ "mfa_token": bob_token })).await;
    let assertion = assert_with(&mut bob_key, options, &bob_credential, None);
    let (status, body) = login_finish(
        &server,
        json!({ "credential": assertion, "state": state, "mfa_token": bob_token }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let me: Value = server
        .me(body["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "bob@example.com");
}

/// The development default, `PUBLIC_URL` on 127.0.0.1: browsers refuse IP addresses as
/// relying parties, so the server offers passkeys for `localhost` on the same port (which
/// reaches it) rather than failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_public_url_offers_passkeys_for_localhost() {
    let config = Config::new(Backend::Sqlite).await;
    let server = config.start().await;
    server.register("ada@example.com", PASSWORD).await;
    let (access, _) = server.tokens("ada@example.com", PASSWORD).await;
    let answer = send(
        &server,
        "POST",
        "/users/me/passkeys/register/start",
        Some(&access),
        json!({ "current_password": PASSWORD }),
    )
    .await;
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
    assert_eq!(answer.1["publicKey"]["rp"]["id"], "localhost");
    let started = send(&server, "POST", "/auth/jwt/passkey/start", None, json!({})).await;
    assert_eq!(started.0, StatusCode::OK, "{}", started.1);
    assert_eq!(started.1["publicKey"]["rpId"], "localhost");
}
