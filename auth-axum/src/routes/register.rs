//! `POST /auth/register`.

use auth_core::{Email, NewUser, Password, Profile, Registration, Username};
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

/// What a visitor may send. Privileged fields (`is_superuser`, `roles`, ...) have no place
/// here: they fall into the profile, which ignores unknown keys (ASVS5 15.3.3).
#[derive(Debug, Deserialize)]
#[serde(bound = "P: Profile")]
pub(crate) struct RegisterBody<P> {
    email: Email,
    password: Password,
    #[serde(default)]
    username: Option<Username>,
    #[serde(flatten)]
    profile: P,
}

pub(super) fn routes<P: Profile>() -> Router<Auth<P>> {
    Router::new().route("/auth/register", post(register::<P>))
}

async fn register<P: Profile>(
    State(auth): State<Auth<P>>,
    Client(client): Client,
    JsonBody(body): JsonBody<RegisterBody<P>>,
) -> Result<Response, ApiError> {
    let new = NewUser {
        email: body.email,
        password: body.password,
        username: body.username,
        profile: body.profile,
    };
    let outcome = auth
        .manager()
        .register(new, &client)
        .await
        .map_err(|err| ApiError::from_auth(err, Action::Register))?;
    Ok(match outcome {
        Registration::Created(_) if auth.config().enumeration_safe_registration => {
            json_response(StatusCode::ACCEPTED, &())
        }
        Registration::Created(user) => json_response(StatusCode::CREATED, &user),
        _ => json_response(StatusCode::ACCEPTED, &()),
    })
}
