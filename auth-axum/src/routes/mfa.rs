//! The second-factor routes (feature `mfa`): TOTP enrolment and removal, recovery codes, the
//! login's second step for each backend, and the superusers' reset.

use auth_core::mfa::MfaProof;
use auth_core::{Password, Profile, UserId};
use axum::Router;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, post};
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
}

/// `POST /auth/{backend}/mfa`.
pub(super) fn backend_routes<P: Profile>(backend: &Backend) -> Router<Auth<P>> {
    let backend = backend.clone();
    let path = format!("/auth/{}/mfa", backend.name);
    Router::new().route(
        &path,
        post(move |state, client, request| second_step::<P>(state, client, backend, request)),
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

async fn enroll<P: Profile>(
    State(auth): State<Auth<P>>,
    user: CurrentUser,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Result<Response, ApiError> {
    let password = body.current_password.map(Password::new);
    let enrollment = auth
        .manager()
        .totp_enroll(user.id, password.as_ref())
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
    let login = auth
        .manager()
        .mfa_login(&body.mfa_token, proof, &client)
        .await
        .map_err(|err| ApiError::from_auth(err, Action::Auth))?;
    Ok(tokens_response(&backend.transport, &login.tokens))
}
