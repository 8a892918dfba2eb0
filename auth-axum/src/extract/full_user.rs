//! [`AuthUser`]: the whole user, loaded from the store.

use auth_core::{AuthError, Profile, User};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use super::{AuthRejection, authenticate};
use crate::routes::Auth;

/// The whole [`User`] behind the request's token, loaded from the user store: for handlers
/// that need the e-mail address or the profile. One store round trip.
///
/// It reads the manager from the state's [`Auth<P>`](crate::Auth), so its profile is the
/// state's: `AuthUser<Other>` on a router whose state holds `Auth<Mine>` does not compile.
/// Rejects like [`CurrentUser`](crate::CurrentUser), and with
/// [`AuthRejection::InvalidCredentials`] (`401`) when the user is gone or inactive.
///
/// ```
/// use auth_axum::{Auth, AuthUser};
/// use auth_core::NoProfile;
/// use axum::{Router, routing::get};
///
/// async fn whoami(AuthUser(user): AuthUser<NoProfile>) -> String {
///     user.email.to_string()
/// }
///
/// fn app(auth: Auth<NoProfile>) -> Router {
///     Router::new().route("/whoami", get(whoami)).with_state(auth)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct AuthUser<P: Profile>(pub User<P>);

impl<S, P> FromRequestParts<S> for AuthUser<P>
where
    S: Send + Sync,
    P: Profile,
    Auth<P>: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Auth::<P>::from_ref(state);
        let current = authenticate(parts, auth.core_ref()).await?;
        // From the manager's user cache when the store announces its changes: the token and
        // its session were just checked, this read only fills in the record.
        match auth
            .manager()
            .request_user(current.id)
            .await
            .map_err(AuthError::from)?
        {
            Some(user) if user.is_active => Ok(Self(user)),
            _ => Err(AuthRejection::InvalidCredentials),
        }
    }
}
