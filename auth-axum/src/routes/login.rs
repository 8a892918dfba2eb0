//! `POST /auth/{backend}/login`, `/refresh` and `/logout`.

use auth_core::{Password, Profile, TokenPair};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Auth;
use crate::client::Client;
use crate::config::{Backend, CookieSettings, Transport};
use crate::error::{Action, ApiError};
use crate::extract::CurrentUser;
use crate::json::{JsonBody, body_rejection, is_json, json_response};
use crate::transport::{clear_cookies, is_cross_site, read_cookie, set_cookies};

pub(super) fn routes<P: Profile>(backend: &Backend) -> Router<Auth<P>> {
    let prefix = format!("/auth/{}", backend.name);
    let login_backend = backend.clone();
    let refresh_backend = backend.clone();
    let logout_backend = backend.clone();
    Router::new()
        .route(
            &format!("{prefix}/login"),
            post(move |state, client, request| login::<P>(state, client, login_backend, request)),
        )
        .route(
            &format!("{prefix}/refresh"),
            post(move |state, client, request| {
                refresh::<P>(state, client, refresh_backend, request)
            }),
        )
        .route(
            &format!("{prefix}/logout"),
            post(move |state, user| logout::<P>(state, user, logout_backend)),
        )
}

/// The bearer backend's answer to login and refresh.
#[derive(Debug, Serialize)]
struct BearerResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    refresh_token: &'a str,
    expires_in: i64,
}

pub(super) fn tokens_response(transport: &Transport, tokens: &TokenPair) -> Response {
    match transport {
        Transport::Bearer => json_response(
            StatusCode::OK,
            &BearerResponse {
                access_token: &tokens.access_token,
                token_type: "bearer",
                refresh_token: &tokens.refresh_token,
                expires_in: tokens.expires_in,
            },
        ),
        Transport::Cookie(settings) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            set_cookies(response.headers_mut(), settings, tokens);
            response
        }
    }
}

/// Refuses cookie-backend requests that come cross-site (login CSRF included).
pub(super) fn guard_cookie_backend(
    parts: &Parts,
    auth_config: &crate::AuthConfig,
    backend: &Backend,
) -> Result<(), ApiError> {
    if matches!(backend.transport, Transport::Cookie(_)) && is_cross_site(parts, auth_config) {
        return Err(ApiError::forbidden());
    }
    Ok(())
}

/// A login's credentials, from a form (OAuth2's password form) or JSON.
struct Credentials {
    identifier: String,
    password: Password,
}

#[derive(Deserialize)]
struct JsonCredentials {
    username: Option<String>,
    email: Option<String>,
    password: Option<Value>,
}

async fn credentials<S: Send + Sync>(request: Request, state: &S) -> Result<Credentials, ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("application/json")
        .to_ascii_lowercase();
    let (identifier, password) = if content_type.starts_with("application/x-www-form-urlencoded") {
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(request, state)
            .await
            .map_err(|rejection| match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => body_rejection(StatusCode::PAYLOAD_TOO_LARGE),
                _ => {
                    ApiError::validation("value_error", &["body"], "Invalid form body", Value::Null)
                }
            })?;
        let field = |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, v)| v.clone())
        };
        (field("username"), field("password").map(Value::String))
    } else if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, state)
            .await
            .map_err(|rejection| body_rejection(rejection.status()))?;
        let (mut username, mut password) = (None, None);
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|err| body_rejection(err.status()))?
        {
            let name = field.name().unwrap_or_default().to_owned();
            let text = field
                .text()
                .await
                .map_err(|err| body_rejection(err.status()))?;
            match name.as_str() {
                "username" => username = Some(text),
                "password" => password = Some(Value::String(text)),
                _ => {}
            }
        }
        (username, password)
    } else if is_json(&content_type) {
        let JsonBody(body) = JsonBody::<JsonCredentials>::from_request(request, state).await?;
        (body.username.or(body.email), body.password)
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type",
        ));
    };
    let identifier = identifier.ok_or_else(|| {
        ApiError::validation(
            "missing",
            &["body", "username"],
            "Field required",
            Value::Null,
        )
    })?;
    let password = match password {
        Some(Value::String(password)) => Password::new(password),
        Some(other) => {
            return Err(ApiError::validation(
                "string_type",
                &["body", "password"],
                "Input should be a valid string",
                other,
            ));
        }
        None => {
            return Err(ApiError::validation(
                "missing",
                &["body", "password"],
                "Field required",
                Value::Null,
            ));
        }
    };
    Ok(Credentials {
        identifier,
        password,
    })
}

async fn login<P: Profile>(
    State(auth): State<Auth<P>>,
    Client(client): Client,
    backend: Backend,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    guard_cookie_backend(&parts, auth.config(), &backend)?;
    let request = Request::from_parts(parts, body);
    let Credentials {
        identifier,
        password,
    } = credentials(request, &()).await?;
    let manager = auth.manager();
    let require_verified = backend.require_verification || manager.config().require_verification;
    let login = manager
        .login_requiring(&identifier, &password, &client, require_verified)
        .await
        .map_err(|err| ApiError::from_auth(err, Action::Auth))?;
    Ok(tokens_response(&backend.transport, &login.tokens))
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: String,
}

async fn refresh<P: Profile>(
    State(auth): State<Auth<P>>,
    Client(client): Client,
    backend: Backend,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    guard_cookie_backend(&parts, auth.config(), &backend)?;
    let token = match &backend.transport {
        Transport::Bearer => {
            let request = Request::from_parts(parts, body);
            let JsonBody(body) = JsonBody::<RefreshBody>::from_request(request, &()).await?;
            body.refresh_token
        }
        Transport::Cookie(settings) => refresh_cookie(&parts.headers, settings)
            .ok_or_else(ApiError::unauthorized)?
            .to_owned(),
    };
    let tokens = auth
        .manager()
        .refresh(&token, &client)
        .await
        .map_err(|err| ApiError::from_auth(err, Action::Auth))?;
    Ok(tokens_response(&backend.transport, &tokens))
}

fn refresh_cookie<'h>(headers: &'h HeaderMap, settings: &CookieSettings) -> Option<&'h str> {
    read_cookie(headers, &settings.refresh_name)
}

async fn logout<P: Profile>(
    State(auth): State<Auth<P>>,
    user: CurrentUser,
    backend: Backend,
) -> Result<Response, ApiError> {
    auth.manager().logout(user.id, user.session_id).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Transport::Cookie(settings) = &backend.transport {
        clear_cookies(response.headers_mut(), settings);
    }
    Ok(response)
}
