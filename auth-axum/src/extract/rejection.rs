//! [`AuthRejection`]: why an extractor of this crate refused a request.

use auth_core::AuthError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Why [`CurrentUser`](crate::CurrentUser), the role checks or [`AuthUser`](crate::AuthUser)
/// refused a request.
///
/// Each variant answers as the HTTP contract says: `401 {"detail":"Unauthorized"}` with
/// `WWW-Authenticate: Bearer` for missing or invalid credentials, `403 {"detail":"Forbidden"}`
/// for a missing permission or a cross-site cookie write, `503` with `Retry-After` when a
/// backing service is down, a bare `500` otherwise (the cause is logged when the rejection is made, never sent).
///
/// Handlers that want to tell the cases apart take `Result<CurrentUser, AuthRejection>`:
///
/// ```
/// use auth_axum::{AuthRejection, CurrentUser};
///
/// async fn greet(user: Result<CurrentUser, AuthRejection>) -> String {
///     match user {
///         Ok(user) => format!("welcome back, {}", user.id),
///         Err(AuthRejection::MissingCredentials) => "hello, stranger".to_owned(),
///         Err(AuthRejection::InvalidCredentials) => "please sign in again".to_owned(),
///         Err(_) => "try again later".to_owned(),
///     }
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthRejection {
    /// The request carries no access token (no bearer header, no access cookie): `401`.
    MissingCredentials,
    /// The token is not acceptable (forged, expired, revoked, another kind), or its user is
    /// gone or inactive: `401`.
    InvalidCredentials,
    /// The user lacks what the route asks for (a role, superuser, a verified address): `403`.
    Forbidden,
    /// A cookie-authenticated unsafe request that comes from another site: `403`.
    CrossSite,
    /// A backing service (user or session store) is unavailable: `503` with `Retry-After`.
    Unavailable,
    /// Any other internal failure, already logged: `500`.
    Internal,
}

impl AuthRejection {
    /// Whether the request is anonymous: it has no credentials, or none that count.
    pub fn is_anonymous(self) -> bool {
        matches!(self, Self::MissingCredentials | Self::InvalidCredentials)
    }
}

impl From<AuthError> for AuthRejection {
    /// An invalid token is [`InvalidCredentials`](Self::InvalidCredentials); a store or
    /// signing failure is logged here and becomes [`Unavailable`](Self::Unavailable) or
    /// [`Internal`](Self::Internal).
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::InvalidToken => Self::InvalidCredentials,
            AuthError::Forbidden => Self::Forbidden,
            err if err.is_unavailable() => {
                tracing::error!(
                    error = %err,
                    source = ?std::error::Error::source(&err),
                    "a backing service is unavailable"
                );
                Self::Unavailable
            }
            err => {
                tracing::error!(
                    error = %err,
                    source = ?std::error::Error::source(&err),
                    "internal error"
                );
                Self::Internal
            }
        }
    }
}

impl From<AuthRejection> for ApiError {
    fn from(rejection: AuthRejection) -> Self {
        match rejection {
            AuthRejection::MissingCredentials | AuthRejection::InvalidCredentials => {
                Self::unauthorized()
            }
            AuthRejection::Forbidden | AuthRejection::CrossSite => Self::forbidden(),
            AuthRejection::Unavailable => Self::unavailable(),
            AuthRejection::Internal => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        }
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::MissingCredentials => "the request carries no access token",
            Self::InvalidCredentials => "the access token is not acceptable",
            Self::Forbidden => "the user may not do this",
            Self::CrossSite => "a cookie-authenticated write came from another site",
            Self::Unavailable => "a backing service is unavailable",
            Self::Internal => "an internal error",
        })
    }
}

impl std::error::Error for AuthRejection {}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use axum::http::header;

    use super::*;

    async fn answer(rejection: AuthRejection) -> (StatusCode, Option<String>, String) {
        let response = rejection.into_response();
        let status = response.status();
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .map(|value| value.to_str().unwrap().to_owned());
        let body = to_bytes(response.into_body(), 1024).await.unwrap();
        (status, challenge, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn each_variant_answers_in_the_contract_shape() {
        let bearer = Some("Bearer".to_owned());
        for (rejection, status, challenge, body) in [
            (
                AuthRejection::MissingCredentials,
                StatusCode::UNAUTHORIZED,
                bearer.clone(),
                r#"{"detail":"Unauthorized"}"#,
            ),
            (
                AuthRejection::InvalidCredentials,
                StatusCode::UNAUTHORIZED,
                bearer,
                r#"{"detail":"Unauthorized"}"#,
            ),
            (
                AuthRejection::Forbidden,
                StatusCode::FORBIDDEN,
                None,
                r#"{"detail":"Forbidden"}"#,
            ),
            (
                AuthRejection::CrossSite,
                StatusCode::FORBIDDEN,
                None,
                r#"{"detail":"Forbidden"}"#,
            ),
            (
                AuthRejection::Unavailable,
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                r#"{"detail":"Service Unavailable"}"#,
            ),
            (
                AuthRejection::Internal,
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                r#"{"detail":"Internal Server Error"}"#,
            ),
        ] {
            assert_eq!(
                answer(rejection).await,
                (status, challenge, body.to_owned()),
                "{rejection:?}"
            );
        }
    }

    #[test]
    fn only_unavailable_asks_the_client_to_retry_later() {
        for rejection in [
            AuthRejection::MissingCredentials,
            AuthRejection::InvalidCredentials,
            AuthRejection::Forbidden,
            AuthRejection::CrossSite,
            AuthRejection::Unavailable,
            AuthRejection::Internal,
        ] {
            let response = rejection.into_response();
            let retry_after = response.headers().get(header::RETRY_AFTER);
            if rejection == AuthRejection::Unavailable {
                assert_eq!(retry_after.map(|value| value.to_str().unwrap()), Some("2"));
            } else {
                assert_eq!(retry_after, None, "{rejection:?}");
            }
        }
    }

    #[test]
    fn only_missing_or_invalid_credentials_are_anonymous() {
        assert!(AuthRejection::MissingCredentials.is_anonymous());
        assert!(AuthRejection::InvalidCredentials.is_anonymous());
        for other in [
            AuthRejection::Forbidden,
            AuthRejection::CrossSite,
            AuthRejection::Unavailable,
            AuthRejection::Internal,
        ] {
            assert!(!other.is_anonymous(), "{other:?}");
        }
        assert_eq!(
            AuthRejection::from(AuthError::InvalidToken),
            AuthRejection::InvalidCredentials
        );
    }
}
