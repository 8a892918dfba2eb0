//! `POST /auth/register`.

use auth_core::{Email, NewUser, Password, Profile, Registration, Username};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::Auth;
use super::update_body::new_profile;
use crate::client::Client;
use crate::error::{Action, ApiError};
use crate::json::{JsonBody, from_value, json_response};

/// The account fields a visitor may send. Privileged fields (`is_superuser`, `roles`, ...)
/// have no place here, and are kept out of the profile too (ASVS5 15.3.3).
#[derive(Debug, Deserialize)]
struct RegisterFields {
    email: Email,
    password: Password,
    #[serde(default)]
    username: Option<Username>,
}

pub(super) fn routes<P: Profile>() -> Router<Auth<P>> {
    Router::new().route("/auth/register", post(register::<P>))
}

async fn register<P: Profile>(
    State(auth): State<Auth<P>>,
    Client(client): Client,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let fields: RegisterFields = from_value(Value::Object(body.clone()))?;
    let new = NewUser {
        email: fields.email,
        password: fields.password,
        username: fields.username,
        profile: new_profile::<P>(body)?,
    };
    let outcome = auth
        .manager()
        .register(new, &client)
        .await
        .map_err(|err| ApiError::from_auth(err, Action::Register))?;
    Ok(match outcome {
        // Enumeration-safe mode answers a new and a taken address alike.
        Registration::Created(_) if auth.manager().config().enumeration_safe_registration => {
            json_response(StatusCode::ACCEPTED, &())
        }
        Registration::Created(user) => json_response(StatusCode::CREATED, &user),
        _ => json_response(StatusCode::ACCEPTED, &()),
    })
}
