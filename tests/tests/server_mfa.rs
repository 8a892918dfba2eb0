//! Second factors through the reference server's binary: TOTP enrolment and confirmation,
//! the login's second step, a code replayed, a recovery code spent twice in parallel, an
//! `mfa_token` reused or bound to another user, throttled codes, sessions revoked on every
//! factor change, removal, and the administrators' reset. Codes are computed here from the
//! secret the server shows, as an authenticator app would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_e2e::server::{Backend, Config, PASSWORD, Server};
use reqwest::StatusCode;
use serde_json::{Value, json};
use totp_rs::{Algorithm, Secret, TOTP};

/// The authenticator app: codes of `secret` (base 32) at `offset` steps from now.
fn code(secret: &str, offset: i64) -> String {
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
    let totp = TOTP::new_unchecked(Algorithm::SHA1, 6, 0, 30, bytes, None, String::new());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    totp.generate(u64::try_from(now + offset * 30).unwrap())
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

/// A user with a confirmed TOTP factor: `(access, secret, recovery codes)`.
async fn enrolled(server: &Server, email: &str) -> (String, String, Vec<String>) {
    server.register(email, PASSWORD).await;
    let (access, _) = server.tokens(email, PASSWORD).await;
    let (status, enrollment) = send(
        server,
        "POST",
        "/users/me/mfa/totp",
        Some(&access),
        json!({ "current_password": PASSWORD }),
    )
    .await;
    assert_eq!(status, 200, "{enrollment}");
    let secret = enrollment["secret"].as_str().unwrap().to_owned();
    assert!(
        enrollment["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    assert!(enrollment["qr_svg"].as_str().unwrap().contains("<svg"));
    let (status, confirmed) = send(
        server,
        "POST",
        "/users/me/mfa/totp/confirm",
        Some(&access),
        json!({ "code": code(&secret, 0) }),
    )
    .await;
    assert_eq!(status, 200, "{confirmed}");
    let codes: Vec<String> = confirmed["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (access, secret, codes)
}

/// A login that must answer `LOGIN_MFA_REQUIRED`: its `mfa_token`.
async fn mfa_token(server: &Server, email: &str) -> String {
    let response = server.login(email, PASSWORD).await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["detail"]["code"], "LOGIN_MFA_REQUIRED", "{body}");
    let methods = body["detail"]["methods"].as_array().unwrap();
    assert!(methods.contains(&json!("totp")) && methods.contains(&json!("recovery_code")));
    body["detail"]["mfa_token"].as_str().unwrap().to_owned()
}

async fn second_step(server: &Server, body: Value) -> (StatusCode, Value) {
    send(server, "POST", "/auth/jwt/mfa", None, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_enrolment_login_replay_and_removal() {
    let config = Config::new(Backend::Sqlite).await;
    let server = config.start().await;
    server.register("ada@example.com", PASSWORD).await;
    let (other_session, _) = server.tokens("ada@example.com", PASSWORD).await;
    let (access, _) = server.tokens("ada@example.com", PASSWORD).await;

    // Enrolment needs the password; a wrong code confirms nothing.
    let (status, body) = send(
        &server,
        "POST",
        "/users/me/mfa/totp",
        Some(&access),
        json!({ "current_password": "wrong" }),
    )
    .await;
    assert_eq!(
        (status, &body["detail"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("UPDATE_USER_BAD_CURRENT_PASSWORD")
        )
    );
    let (_, enrollment) = send(
        &server,
        "POST",
        "/users/me/mfa/totp",
        Some(&access),
        json!({ "current_password": PASSWORD }),
    )
    .await;
    let secret = enrollment["secret"].as_str().unwrap().to_owned();
    let (status, body) = send(
        &server,
        "POST",
        "/users/me/mfa/totp/confirm",
        Some(&access),
        json!({ "code": "000000" }),
    )
    .await;
    assert_eq!(
        (status, &body["detail"]),
        (StatusCode::BAD_REQUEST, &json!("MFA_BAD_CODE"))
    );
    // Pending, it protects nothing yet.
    assert_eq!(
        server.login("ada@example.com", PASSWORD).await.status(),
        200
    );
    let (status, _) = send(
        &server,
        "POST",
        "/users/me/mfa/totp/confirm",
        Some(&access),
        json!({ "code": code(&secret, 0) }),
    )
    .await;
    assert_eq!(status, 200);
    // Confirming ended the other sessions, not this one.
    assert_eq!(server.me(&other_session).await.status(), 401);
    assert_eq!(server.me(&access).await.status(), 200);
    let mail = auth_e2e::server::wait_for_mail(
        &config.outbox(),
        "ada@example.com",
        "The sign-in of your account changed",
        1,
    )
    .await;
    drop(mail);

    // The password alone opens no session.
    let sessions_before: Value = server
        .get(&access, "/users/me/sessions")
        .await
        .json()
        .await
        .unwrap();
    let token = mfa_token(&server, "ada@example.com").await;
    let sessions_after: Value = server
        .get(&access, "/users/me/sessions")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        sessions_before.as_array().unwrap().len(),
        sessions_after.as_array().unwrap().len()
    );
    // A wrong code, then the right one.
    let (status, body) =
        second_step(&server, json!({ "mfa_token": token, "code": "123456" })).await;
    assert_eq!(
        (status, &body["detail"]),
        (StatusCode::BAD_REQUEST, &json!("MFA_BAD_CODE"))
    );
    // The code of the step that confirmed the factor is spent already: the next one.
    let spent = code(&secret, 0);
    let (status, body) = second_step(&server, json!({ "mfa_token": token, "code": spent })).await;
    assert_eq!(
        (status, &body["detail"]),
        (StatusCode::BAD_REQUEST, &json!("MFA_BAD_CODE"))
    );
    let current = code(&secret, 1);
    let (status, body) = second_step(&server, json!({ "mfa_token": token, "code": current })).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string() && body["refresh_token"].is_string());
    // The token is spent; the code is spent, even with a fresh token.
    let (status, body) = second_step(
        &server,
        json!({ "mfa_token": token, "code": code(&secret, 1) }),
    )
    .await;
    assert_eq!(
        (status, &body["detail"]),
        (StatusCode::BAD_REQUEST, &json!("MFA_TOKEN_INVALID"))
    );
    let fresh = mfa_token(&server, "ada@example.com").await;
    let (status, body) = second_step(&server, json!({ "mfa_token": fresh, "code": current })).await;
    assert_eq!(
        (status, &body["detail"]),
        (StatusCode::BAD_REQUEST, &json!("MFA_BAD_CODE"))
    );
    // Nor does a step before the one accepted work.
    let (status, _) = second_step(
        &server,
        json!({ "mfa_token": fresh, "code": code(&secret, -1) }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = second_step(
        &server,
        json!({ "mfa_token": "not a token", "code": current }),
    )
    .await;
    assert_eq!(
        (status, &body["detail"]),
        (StatusCode::BAD_REQUEST, &json!("MFA_TOKEN_INVALID"))
    );

    // Removal needs the password, ends the other sessions, and logins need no code again.
    let (status, _) = send(
        &server,
        "DELETE",
        "/users/me/mfa/totp",
        Some(&access),
        json!({ "current_password": "wrong" }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(
        &server,
        "DELETE",
        "/users/me/mfa/totp",
        Some(&access),
        json!({ "current_password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(server.me(&access).await.status(), 200);
    assert_eq!(
        server.login("ada@example.com", PASSWORD).await.status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_codes_work_once_even_in_parallel_and_tokens_belong_to_their_user() {
    // Each password step that needs a second factor keeps its slot of the account's budget
    // until a second step succeeds: room for the ten logins below.
    let config = Config::new(Backend::Sqlite)
        .await
        .with("RATE_LIMIT_LOGIN_ACCOUNT", "50/15m");
    let server = config.start().await;
    let (_, ada_secret, codes) = enrolled(&server, "ada@example.com").await;
    let (_, bob_secret, _) = enrolled(&server, "bob@example.com").await;

    // One recovery code, ten parallel second steps (each with its own token): one wins.
    let mut tokens = Vec::new();
    for _ in 0..10 {
        tokens.push(mfa_token(&server, "ada@example.com").await);
    }
    let attempts = tokens.iter().map(|token| {
        second_step(
            &server,
            json!({ "mfa_token": token, "recovery_code": codes[0] }),
        )
    });
    let results = futures::future::join_all(attempts).await;
    let won = results.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(won, 1, "{results:?}");
    for (status, body) in results.iter().filter(|(status, _)| *status != 200) {
        assert_eq!(
            (*status, &body["detail"]),
            (StatusCode::BAD_REQUEST, &json!("MFA_BAD_CODE"))
        );
    }
    // Written differently (lower case, no dash), another code still works once.
    let loose = codes[1].to_lowercase().replace('-', "");
    let token = mfa_token(&server, "ada@example.com").await;
    assert_eq!(
        second_step(
            &server,
            json!({ "mfa_token": token, "recovery_code": loose })
        )
        .await
        .0,
        200
    );

    // Ada's token with Bob's valid code: refused.
    let token = mfa_token(&server, "ada@example.com").await;
    let (status, _) = second_step(
        &server,
        json!({ "mfa_token": token, "code": code(&bob_secret, 0) }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Ada's next code (the current one confirmed her factor), once.
    let (status, _) = second_step(
        &server,
        json!({ "mfa_token": token, "code": code(&ada_secret, 1) }),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_are_throttled_and_tokens_die_with_the_password() {
    let config = Config::new(Backend::Sqlite)
        .await
        .with("RATE_LIMIT_LOGIN_ACCOUNT", "5/15m");
    let server = config.start().await;
    let (access, secret, _) = enrolled(&server, "ada@example.com").await;
    let token = mfa_token(&server, "ada@example.com").await;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(
            second_step(&server, json!({ "mfa_token": token, "code": "000000" }))
                .await
                .0,
        );
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // Even the right code waits out the budget.
    let (status, _) = second_step(
        &server,
        json!({ "mfa_token": token, "code": code(&secret, 0) }),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    // A token made before a password change is void.
    let config2 = Config::new(Backend::Sqlite).await;
    let server2 = config2.start().await;
    let (access2, secret2, _) = enrolled(&server2, "bob@example.com").await;
    let token = mfa_token(&server2, "bob@example.com").await;
    let (status, _) = send(
        &server2,
        "PATCH",
        "/users/me",
        Some(&access2),
        json!({ "password": "another long passphrase 42", "current_password": PASSWORD }),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = second_step(
        &server2,
        json!({ "mfa_token": token, "code": code(&secret2, 0) }),
    )
    .await;
    assert_eq!(
        (status, &body["detail"]),
        (StatusCode::BAD_REQUEST, &json!("MFA_TOKEN_INVALID"))
    );
    drop(access);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_resets_every_factor_and_ends_every_session() {
    let config = Config::new(Backend::Sqlite).await;
    config.create_user("root@example.com", &["--superuser", "--verified"]);
    let server = config.start().await;
    let (access, _, _) = enrolled(&server, "ada@example.com").await;
    let me: Value = server.me(&access).await.json().await.unwrap();
    let id = me["id"].as_str().unwrap();
    let (root, _) = server.tokens("root@example.com", PASSWORD).await;
    let (status, _) = send(
        &server,
        "DELETE",
        &format!("/users/{id}/mfa"),
        Some(&access),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not for the user themselves");
    let (status, _) = send(
        &server,
        "DELETE",
        &format!("/users/{id}/mfa"),
        Some(&root),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        server.me(&access).await.status(),
        401,
        "every session ended"
    );
    assert_eq!(
        server.login("ada@example.com", PASSWORD).await.status(),
        200,
        "no second factor left"
    );
    let (status, _) = send(
        &server,
        "DELETE",
        &format!("/users/{}/mfa", uuid_like()),
        Some(&root),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn uuid_like() -> &'static str {
    "018f2f7e-0000-7000-8000-000000000000"
}
