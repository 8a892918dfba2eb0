//! The one place where failures become HTTP responses: internals are logged here and never
//! put in a body.

use auth_core::AuthError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::json::json_response;

/// The `Retry-After` of a `503` (in seconds): a backing service that is down is usually back,
/// or failed over, within seconds, and the stores reconnect by themselves.
pub const UNAVAILABLE_RETRY_AFTER_SECONDS: i64 = 2;

/// Which route failed: the same manager error carries a different `detail` code on different
/// routes (`REGISTER_USER_ALREADY_EXISTS` vs `UPDATE_USER_EMAIL_ALREADY_EXISTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// `POST /auth/register`.
    Register,
    /// Login, refresh and logout.
    Auth,
    /// `POST /auth/verify`.
    Verify,
    /// `POST /auth/reset-password`.
    Reset,
    /// `PATCH /users/me` and `PATCH /users/{id}`.
    Update,
    /// Anything else.
    Other,
}

/// A failure on its way to becoming a response.
///
/// Internal failures (stores, hashing, signing, mail) are logged with `tracing::error!` here
/// and answered with a bare `500` (or `503` with `Retry-After` when a backing service is down):
/// nothing internal reaches a body. A request refused because too much password hashing is
/// under way ([`AuthError::Overloaded`]) is answered `503` with `Retry-After` too; served by
/// [`serve`](crate::serve), that connection's next HTTP/1 request is then left unread for half
/// to all of that wait, so a client retrying at once costs the server nothing meanwhile.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: Value,
    retry_after: Option<i64>,
    /// Refused for overload: [`serve`](crate::serve) reads nothing more from the connection
    /// until half to all of `retry_after` has passed.
    overloaded: bool,
}

/// A response extension asking [`serve`](crate::serve) to leave the connection's next request
/// unread for this long (over HTTP/1; the response to an overload refusal carries it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HoldReads(pub(crate) std::time::Duration);

impl ApiError {
    /// A response with this status and `{"detail": detail}`.
    pub fn new(status: StatusCode, detail: impl Into<Value>) -> Self {
        Self {
            status,
            detail: detail.into(),
            retry_after: None,
            overloaded: false,
        }
    }

    /// `401 {"detail":"Unauthorized"}` with `WWW-Authenticate: Bearer`.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized")
    }

    /// `403 {"detail":"Forbidden"}`.
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden")
    }

    /// `404 {"detail":"Not Found"}`.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not Found")
    }

    /// `413 {"detail":"Payload Too Large"}`: a request body over the limit.
    pub fn payload_too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large")
    }

    /// `405 {"detail":"Method Not Allowed"}`, as FastAPI answers a known path with another
    /// method (axum adds the `Allow` header).
    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
    }

    /// `503 {"detail":"Service Unavailable"}` with `Retry-After:`
    /// [`UNAVAILABLE_RETRY_AFTER_SECONDS`]: a backing service is down. Nothing was done, so
    /// the client may send the same request again after the pause.
    pub fn unavailable() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            detail: Value::from("Service Unavailable"),
            retry_after: Some(UNAVAILABLE_RETRY_AFTER_SECONDS),
            overloaded: false,
        }
    }

    /// `500`, after logging `what` (never shown).
    pub fn internal(what: &dyn std::error::Error) -> Self {
        tracing::error!(error = %what, source = ?what.source(), "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
    }

    /// `422` with one validation error in the format of FastAPI.
    pub fn validation(kind: &str, loc: &[&str], msg: impl Into<String>, input: Value) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!([{ "type": kind, "loc": loc, "msg": msg.into(), "input": input }]),
        )
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `detail` of the body.
    pub fn detail(&self) -> &Value {
        &self.detail
    }

    /// Maps a manager error as `action` answers it.
    pub fn from_auth(err: AuthError, action: Action) -> Self {
        let code = |status: StatusCode, code: &str| Self::new(status, code);
        let bad = |c: &str| code(StatusCode::BAD_REQUEST, c);
        match err {
            AuthError::UserAlreadyExists if action == Action::Update => {
                bad("UPDATE_USER_EMAIL_ALREADY_EXISTS")
            }
            AuthError::UserAlreadyExists => bad("REGISTER_USER_ALREADY_EXISTS"),
            AuthError::UsernameAlreadyExists if action == Action::Update => {
                bad("UPDATE_USER_USERNAME_ALREADY_EXISTS")
            }
            AuthError::UsernameAlreadyExists => bad("REGISTER_USERNAME_ALREADY_EXISTS"),
            AuthError::InvalidPassword(rejection) => {
                let code = match action {
                    Action::Update => "UPDATE_USER_INVALID_PASSWORD",
                    Action::Reset => "RESET_PASSWORD_INVALID_PASSWORD",
                    _ => "REGISTER_INVALID_PASSWORD",
                };
                Self::new(
                    StatusCode::BAD_REQUEST,
                    json!({ "code": code, "reason": rejection.reason() }),
                )
            }
            AuthError::BadCredentials => bad("LOGIN_BAD_CREDENTIALS"),
            AuthError::UserNotVerified => bad("LOGIN_USER_NOT_VERIFIED"),
            AuthError::InvalidToken => Self::unauthorized(),
            AuthError::BadVerifyToken => bad("VERIFY_USER_BAD_TOKEN"),
            AuthError::AlreadyVerified => bad("VERIFY_USER_ALREADY_VERIFIED"),
            AuthError::BadResetToken => bad("RESET_PASSWORD_BAD_TOKEN"),
            AuthError::BadCurrentPassword => bad("UPDATE_USER_BAD_CURRENT_PASSWORD"),
            AuthError::UserNotFound | AuthError::SessionNotFound => Self::not_found(),
            AuthError::MfaRequired { mfa_token, methods } => Self::new(
                StatusCode::FORBIDDEN,
                json!({ "code": "LOGIN_MFA_REQUIRED", "mfa_token": mfa_token, "methods": methods }),
            ),
            AuthError::MfaBadCode => bad("MFA_BAD_CODE"),
            AuthError::PasskeysUnavailable => bad("PASSKEYS_UNAVAILABLE"),
            AuthError::MfaTokenInvalid => bad("MFA_TOKEN_INVALID"),
            AuthError::MfaAlreadyEnabled => bad("MFA_ALREADY_ENABLED"),
            AuthError::MfaNotEnabled => bad("MFA_NOT_ENABLED"),
            AuthError::PasskeyInvalid => bad("PASSKEY_INVALID"),
            AuthError::PasskeyNotFound => Self::not_found(),
            AuthError::OAuthUserAlreadyExists => bad("OAUTH_USER_ALREADY_EXISTS"),
            AuthError::OAuthNotAvailableEmail => bad("OAUTH_NOT_AVAILABLE_EMAIL"),
            AuthError::OAuthAccountAlreadyLinked => bad("OAUTH_ACCOUNT_ALREADY_LINKED"),
            AuthError::OAuthLastLoginMethod => bad("OAUTH_LAST_LOGIN_METHOD"),
            AuthError::OAuthAccountNotFound => Self::not_found(),
            AuthError::Forbidden => Self::forbidden(),
            AuthError::RateLimited { retry_after } => Self {
                status: StatusCode::TOO_MANY_REQUESTS,
                detail: Value::from("TOO_MANY_REQUESTS"),
                retry_after: Some(retry_after.whole_seconds().max(1)),
                overloaded: false,
            },
            // Back-pressure, not a fault: nothing to log per request (a storm would flood the
            // log); the client is told when to come back.
            AuthError::Overloaded { retry_after } => Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                detail: Value::from("Service Unavailable"),
                retry_after: Some(retry_after.whole_seconds().max(1)),
                overloaded: true,
            },
            err if err.is_unavailable() => {
                tracing::error!(error = %err, source = ?std::error::Error::source(&err), "a backing service is unavailable");
                Self::unavailable()
            }
            err => Self::internal(&err),
        }
    }
}

/// A fallback handler answering `404 {"detail":"Not Found"}`, for a path no route serves.
///
/// axum's own fallback answers an empty `404`; clients of the contract expect the JSON body.
/// Set it on the whole app, before [`AuthLayer`](crate::AuthLayer), which then also answers
/// anonymous requests for unknown paths with this `404` rather than a login redirect.
///
/// ```
/// use auth_axum::not_found;
/// use axum::{Router, routing::get};
///
/// let app: Router = Router::new()
///     .route("/", get(|| async { "home" }))
///     .fallback(not_found);
/// ```
pub async fn not_found() -> ApiError {
    ApiError::not_found()
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        Self::from_auth(err, Action::Other)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = json_response(self.status, &json!({ "detail": self.detail }));
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            if self.overloaded {
                let wait = std::time::Duration::from_secs(seconds.unsigned_abs());
                response.extensions_mut().insert(HoldReads(wait));
            }
        }
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.detail)
    }
}
