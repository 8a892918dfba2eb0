//! [`AuthUser`]: the whole user, loaded from the store.

use auth_core::{Profile, User};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use super::CurrentUser;
use crate::error::ApiError;
use crate::state::AuthState;

/// The whole [`User`] behind the request's token, loaded from the user store: for handlers
/// that need the e-mail address or the profile. One store round trip; `401` when the user
/// is gone or inactive.
///
/// ```
/// use auth_axum::AuthUser;
/// use auth_core::NoProfile;
///
/// async fn whoami(AuthUser(user): AuthUser<NoProfile>) -> String {
///     user.email.to_string()
/// }
/// ```
#[derive(Debug, Clone)]
pub struct AuthUser<P: Profile>(pub User<P>);

impl<S, P> FromRequestParts<S> for AuthUser<P>
where
    S: Send + Sync,
    P: Profile,
    AuthState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let current =
            <CurrentUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        let auth = AuthState::from_ref(state);
        let Some(manager) = auth.manager::<P>() else {
            tracing::error!(
                profile = std::any::type_name::<P>(),
                "AuthUser<P> is used with another profile type than the UserManager in AuthState"
            );
            return Err(ApiError::new(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
            ));
        };
        match manager
            .users()
            .get(current.id)
            .await
            .map_err(auth_core::AuthError::from)?
        {
            Some(user) if user.is_active => Ok(Self(user)),
            _ => Err(ApiError::unauthorized()),
        }
    }
}
