//! [`CurrentUser`]: the user behind a verified access token, without a store round trip.

use auth_core::{AccessClaims, Roles, SessionId, UserId};
use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::state::AuthState;
use crate::transport::{TokenSource, find_token, is_cross_site};

/// The user behind the request's access token (bearer header or access cookie).
///
/// Built from the token's verified claims alone: no user-store round trip. With revocation
/// checking on (the default), the token's session must still be live, so logout is
/// immediate. Rejections: `401` without a valid token, `403` for a cookie-authenticated
/// unsafe request that comes cross-site.
///
/// ```
/// use auth_axum::CurrentUser;
///
/// async fn me(user: CurrentUser) -> String {
///     format!("hello, {}", user.id)
/// }
/// ```
///
/// As `Option<CurrentUser>`, a request without a valid token is `None` instead of `401`:
///
/// ```
/// use auth_axum::CurrentUser;
///
/// async fn greet(user: Option<CurrentUser>) -> String {
///     match user {
///         Some(user) => format!("welcome back, {}", user.id),
///         None => "hello, stranger".to_owned(),
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    /// The user's id.
    pub id: UserId,
    /// The session (login) the token belongs to.
    pub session_id: SessionId,
    /// The user's roles, from the token.
    pub roles: Roles,
    /// Whether the user is a superuser.
    pub is_superuser: bool,
    /// Whether the user's address is verified.
    pub is_verified: bool,
    /// How the token came.
    pub source: TokenSource,
}

impl CurrentUser {
    /// Whether the user has `role` (superusers have every role).
    pub fn has_role(&self, role: &str) -> bool {
        self.is_superuser || self.roles.contains(role)
    }

    pub(crate) fn from_claims(claims: AccessClaims, source: TokenSource) -> Self {
        Self {
            id: claims.sub,
            session_id: claims.sid,
            roles: claims.roles,
            is_superuser: claims.is_superuser,
            is_verified: claims.is_verified,
            source,
        }
    }
}

/// Authenticates a request: `Ok(None)` when it carries no token at all.
pub(crate) async fn authenticate(
    parts: &mut Parts,
    auth: &AuthState,
) -> Result<Option<CurrentUser>, ApiError> {
    if let Some(user) = parts.extensions.get::<CurrentUser>() {
        return Ok(Some(user.clone()));
    }
    let Some((token, source)) = find_token(parts, auth.config()) else {
        return Ok(None);
    };
    // CSRF: a browser sends cookies with cross-site requests; refuse unsafe ones
    // (ASVS5 3.5; OWASP Fetch Metadata).
    if source == TokenSource::Cookie && is_cross_site(parts, auth.config()) {
        return Err(ApiError::forbidden());
    }
    let claims = auth.authenticator().authenticate(token).await?;
    let user = CurrentUser::from_claims(claims, source);
    parts.extensions.insert(user.clone());
    Ok(Some(user))
}

impl<S> FromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    AuthState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        authenticate(parts, &AuthState::from_ref(state))
            .await?
            .ok_or_else(ApiError::unauthorized)
    }
}

impl<S> OptionalFromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    AuthState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match authenticate(parts, &AuthState::from_ref(state)).await {
            Ok(user) => Ok(user),
            Err(err) if err.status() == http::StatusCode::UNAUTHORIZED => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// A [`CurrentUser`] whose e-mail address is verified; `401` without a valid token, `403`
/// while the address is unverified.
///
/// ```
/// use auth_axum::VerifiedUser;
///
/// async fn post_comment(VerifiedUser(user): VerifiedUser) -> String {
///     format!("comment by {}", user.id)
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedUser(pub CurrentUser);

impl<S> FromRequestParts<S> for VerifiedUser
where
    S: Send + Sync,
    AuthState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = <CurrentUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if user.is_verified {
            Ok(Self(user))
        } else {
            Err(ApiError::forbidden())
        }
    }
}
