//! Verification and password reset: `/auth/request-verify-token`, `/auth/verify`,
//! `/auth/forgot-password`, `/auth/reset-password`.

use auth_core::{Email, Password, Profile};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;

use super::Auth;
use crate::client::Client;
use crate::error::{Action, ApiError};
use crate::json::{JsonBody, json_response};

#[derive(Deserialize)]
struct EmailBody {
    email: Email,
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

#[derive(Deserialize)]
struct ResetBody {
    token: String,
    password: Password,
}

pub(super) fn verify_routes<P: Profile>() -> Router<Auth<P>> {
    Router::new()
        .route("/auth/request-verify-token", post(request_verify::<P>))
        .route("/auth/verify", post(verify::<P>))
}

pub(super) fn reset_routes<P: Profile>() -> Router<Auth<P>> {
    Router::new()
        .route("/auth/forgot-password", post(forgot_password::<P>))
        .route("/auth/reset-password", post(reset_password::<P>))
}

/// Always `202` with `null`: unknown, inactive and verified users get the same answer.
async fn request_verify<P: Profile>(
    State(auth): State<Auth<P>>,
    Client(client): Client,
    JsonBody(body): JsonBody<EmailBody>,
) -> Result<Response, ApiError> {
    auth.manager().request_verify(&body.email, &client).await?;
    Ok(json_response(StatusCode::ACCEPTED, &()))
}

async fn verify<P: Profile>(
    State(auth): State<Auth<P>>,
    Client(client): Client,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<Response, ApiError> {
    let user = auth
        .manager()
        .verify(&body.token, &client)
        .await
        .map_err(|err| ApiError::from_auth(err, Action::Verify))?;
    Ok(json_response(StatusCode::OK, &user))
}

/// Always `202` with `null`.
async fn forgot_password<P: Profile>(
    State(auth): State<Auth<P>>,
    Client(client): Client,
    JsonBody(body): JsonBody<EmailBody>,
) -> Result<Response, ApiError> {
    auth.manager().forgot_password(&body.email, &client).await?;
    Ok(json_response(StatusCode::ACCEPTED, &()))
}

async fn reset_password<P: Profile>(
    State(auth): State<Auth<P>>,
    Client(client): Client,
    JsonBody(body): JsonBody<ResetBody>,
) -> Result<Response, ApiError> {
    auth.manager()
        .reset_password(&body.token, &body.password, &client)
        .await
        .map_err(|err| ApiError::from_auth(err, Action::Reset))?;
    Ok(json_response(StatusCode::OK, &()))
}
