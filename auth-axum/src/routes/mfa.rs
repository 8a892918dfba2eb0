//! The second-factor routes (feature `mfa`): TOTP enrolment and removal, recovery codes,
//! passkeys (registration, list, removal), the login's second step and the passkey sign-in
//! for each backend, and the superusers' reset.

use auth_core::mfa::{MfaProof, PasskeyChallenge};
use auth_core::{Password, Profile, UserId};
use axum::Router;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Auth;
use super::login::{guard_cookie_backend, tokens_response};
use super::path_id::PathId;
use crate::client::Client;
use crate::config::Backend;
use crate::error::{Action, ApiError};
use crate::extract::{CurrentUser, RequireAdmin};
use crate::json::{JsonBody, json_response};

pub(super) fn routes<P: Profile>() -> Router<Auth<P>> {
    Router::new()
        .route("/users/me/mfa/totp", post(enroll::<P>).delete(remove::<P>))
        .route("/users/me/mfa/totp/confirm", post(confirm::<P>))
        .route("/users/me/mfa/recovery-codes", post(regenerate::<P>))
        .route("/users/{id}/mfa", delete(reset::<P>))
        .route(
            "/users/me/passkeys/register/start",
            post(passkey_register_start::<P>),
        )
        .route(
            "/users/me/passkeys/register/finish",
            post(passkey_register_finish::<P>),
        )
        .route("/users/me/passkeys", get(passkey_list::<P>))
        .route("/users/me/passkeys/{id}", delete(passkey_remove::<P>))
}

/// `POST /auth/{backend}/mfa`, `POST /auth/{backend}/passkey/start` and
/// `POST /auth/{backend}/passkey/finish`.
pub(super) fn backend_routes<P: Profile>(backend: &Backend) -> Router<Auth<P>> {
    let name = backend.name.clone();
    let (second, start, finish) = (backend.clone(), backend.clone(), backend.clone());
    Router::new()
        .route(
            &format!("/auth/{name}/mfa"),
            post(move |state, client, request| second_step::<P>(state, client, second, request)),
        )
        .route(
            &format!("/auth/{name}/passkey/start"),
            post(move |state, client, request| {
                passkey_login_start::<P>(state, client, start, request)
            }),
        )
        .route(
            &format!("/auth/{name}/passkey/finish"),
            post(move |state, client, request| {
                passkey_login_finish::<P>(state, client, finish, request)
            }),
        )
}

#[derive(Deserialize)]
struct PasswordBody {
    current_password: Option<String>,
}

#[derive(Deserialize)]
struct CodeBody {
    code: String,
}

#[derive(Deserialize)]
struct SecondStepBody {
    mfa_token: String,
    code: Option<String>,
    recovery_code: Option<String>,
}

#[derive(Deserialize)]
struct PasskeyFinishBody {
    #[serde(default)]
    name: String,
    credential: Value,
    state: String,
}

#[derive(Deserialize)]
struct PasskeyLoginStartBody {
    mfa_token: Option<String>,
}

#[derive(Deserialize)]
struct PasskeyLoginFinishBody {
    credential: Value,
    state: String,
    mfa_token: Option<String>,
}

/// The options of a ceremony's start with its sealed `state` beside them.
fn challenge_response(challenge: PasskeyChallenge) -> Response {
    let mut body = challenge.options;
    if let Some(object) = body.as_object_mut() {
        object.insert("state".to_owned(), Value::from(challenge.state));
    }
    json_response(StatusCode::OK, &body)
}

async fn passkey_register_start<P: Profile>(
    State(auth): State<Auth<P>>,
    user: CurrentUser,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Result<Response, ApiError> {
    let password = body.current_password.map(Password::new);
    let challenge = auth
        .manager()
        .passkey_register_start(user.id, Some(user.session_id), password.as_ref())
        .await
        .map_err(|err| ApiError::from_auth(err, Action::Update))?;
    Ok(challenge_response(challenge))
}

async fn passkey_register_finish<P: Profile>(
    State(auth): State<Auth<P>>,
    user: CurrentUser,
    JsonBody(body): JsonBody<PasskeyFinishBody>,
) -> Result<Response, ApiError> {
    let passkey = auth
        .manager()
        .passkey_register_finish(
            user.id,
            Some(user.session_id),
            &body.state,
            &body.name,
            &body.credential,
        )
        .await?;
    Ok(json_response(StatusCode::CREATED, &passkey))
}

async fn passkey_list<P: Profile>(
    State(auth): State<Auth<P>>,
    user: CurrentUser,
) -> Result<Response, ApiError> {
    let passkeys = auth.manager().passkeys(user.id).await?;
    Ok(json_response(StatusCode::OK, &passkeys))
}

async fn passkey_remove<P: Profile>(
    State(auth): State<Auth<P>>,
    user: CurrentUser,
    PathId(id): PathId<uuid::Uuid>,
) -> Result<StatusCode, ApiError> {
    auth.manager()
        .passkey_remove(user.id, Some(user.session_id), id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn passkey_login_start<P: Profile>(
    State(auth): State<Auth<P>>,
    Client(client): Client,
    backend: Backend,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    guard_cookie_backend(&parts, auth.config(), &backend)?;
    let request = Request::from_parts(parts, body);
    let JsonBody(body) = JsonBody::<PasskeyLoginStartBody>::from_request(request, &()).await?;
    let challenge = auth
        .manager()
        .passkey_login_start(body.mfa_token.as_deref(), &client)
        .await
        .map_err(|err| ApiError::from_auth(err, Action::Auth))?;
    Ok(challenge_response(challenge))
}

async fn passkey_login_finish<P: Profile>(
    State(auth): State<Auth<P>>,
    Client(client): Client,
    backend: Backend,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    guard_cookie_backend(&parts, auth.config(), &backend)?;
    let request = Request::from_parts(parts, body);
    let JsonBody(body) = JsonBody::<PasskeyLoginFinishBody>::from_request(request, &()).await?;
    let manager = auth.manager();
    let require_verified = backend.require_verification || manager.config().require_verification;
    let login = manager
        .passkey_login_finish(
            &body.state,
            &body.credential,
            body.mfa_token.as_deref(),
            &client,
            require_verified,
        )
        .await
        .map_err(|err| ApiError::from_auth(err, Action::Auth))?;
    Ok(tokens_response(&backend.transport, &login.tokens))
}

async fn enroll<P: Profile>(
    State(auth): State<Auth<P>>,
    user: CurrentUser,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Result<Response, ApiError> {
    let password = body.current_password.map(Password::new);
    let enrollment = auth
        .manager()
        .totp_enroll(user.id, Some(user.session_id), password.as_ref())
        .await
        .map_err(|err| ApiError::from_auth(err, Action::Update))?;
    Ok(json_response(StatusCode::OK, &enrollment))
}

async fn confirm<P: Profile>(
    State(auth): State<Auth<P>>,
    user: CurrentUser,
    Client(client): Client,
    JsonBody(body): JsonBody<CodeBody>,
) -> Result<Response, ApiError> {
    let codes = auth
        .manager()
        .totp_confirm(user.id, Some(user.session_id), &body.code, &client)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "recovery_codes": codes }),
    ))
}

async fn remove<P: Profile>(
    State(auth): State<Auth<P>>,
    user: CurrentUser,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    let password = body.current_password.map(Password::new);
    auth.manager()
        .totp_remove(user.id, Some(user.session_id), password.as_ref())
        .await
        .map_err(|err| ApiError::from_auth(err, Action::Update))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn regenerate<P: Profile>(
    State(auth): State<Auth<P>>,
    user: CurrentUser,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Result<Response, ApiError> {
    let password = body.current_password.map(Password::new);
    let codes = auth
        .manager()
        .regenerate_recovery_codes(user.id, Some(user.session_id), password.as_ref())
        .await
        .map_err(|err| ApiError::from_auth(err, Action::Update))?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "recovery_codes": codes }),
    ))
}

async fn reset<P: Profile>(
    State(auth): State<Auth<P>>,
    _admin: RequireAdmin,
    PathId(id): PathId<UserId>,
) -> Result<StatusCode, ApiError> {
    auth.manager().mfa_reset(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn second_step<P: Profile>(
    State(auth): State<Auth<P>>,
    Client(client): Client,
    backend: Backend,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    guard_cookie_backend(&parts, auth.config(), &backend)?;
    let request = Request::from_parts(parts, body);
    let JsonBody(body) = JsonBody::<SecondStepBody>::from_request(request, &()).await?;
    let proof = match (&body.code, &body.recovery_code) {
        (Some(code), None) => MfaProof::Totp(code),
        (None, Some(code)) => MfaProof::RecoveryCode(code),
        _ => {
            return Err(ApiError::validation(
                "missing",
                &["body", "code"],
                "Give exactly one of code and recovery_code",
                Value::Null,
            ));
        }
    };
    let manager = auth.manager();
    let require_verified = backend.require_verification || manager.config().require_verification;
    let login = manager
        .mfa_login_requiring(&body.mfa_token, proof, &client, require_verified)
        .await
        .map_err(|err| ApiError::from_auth(err, Action::Auth))?;
    Ok(tokens_response(&backend.transport, &login.tokens))
}
