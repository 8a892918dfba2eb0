//! [`CurrentUser`]: the user behind a verified access token, without a store round trip.

use auth_core::{AccessClaims, Roles, SessionId, UserId};
use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;

use super::AuthRejection;
use crate::state::AuthCore;
use crate::transport::{TokenSource, find_token, is_cross_site};

/// The user behind the request's access token (bearer header or access cookie).
///
/// Built from the token's verified claims alone: no user-store round trip. With revocation
/// checking on (the default), the token's session must still be live, so logout is
/// immediate. Reads the profile-free [`AuthCore`] of the state, so it works with any profile.
/// Rejects with an [`AuthRejection`]: `MissingCredentials` or `InvalidCredentials` (`401`),
/// `CrossSite` (`403`) for a cookie-authenticated unsafe request from another site.
///
/// ```
/// use auth_axum::CurrentUser;
///
/// async fn me(user: CurrentUser) -> String {
///     format!("hello, {}", user.id)
/// }
/// ```
///
/// As `Option<CurrentUser>`, an anonymous request is `None` instead of `401`: one without a
/// token ([`AuthRejection::MissingCredentials`]) and one whose token does not count
/// ([`AuthRejection::InvalidCredentials`], say a stale cookie of an expired session, so a
/// public page still shows). Every other rejection (a cross-site cookie write, a store that
/// is down) still refuses the request:
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

/// Authenticates a request, once: the user is kept in the request's extensions.
pub(crate) async fn authenticate(
    parts: &mut Parts,
    auth: &AuthCore,
) -> Result<CurrentUser, AuthRejection> {
    if let Some(user) = parts.extensions.get::<CurrentUser>() {
        return Ok(user.clone());
    }
    let Some((token, source)) = find_token(parts, auth.config()) else {
        return Err(AuthRejection::MissingCredentials);
    };
    // CSRF: a browser sends cookies with cross-site requests; refuse unsafe ones
    // (ASVS5 3.5; OWASP Fetch Metadata).
    if source == TokenSource::Cookie && is_cross_site(parts, auth.config()) {
        return Err(AuthRejection::CrossSite);
    }
    let claims = auth.authenticator().authenticate(token).await?;
    let user = CurrentUser::from_claims(claims, source);
    parts.extensions.insert(user.clone());
    Ok(user)
}

impl<S> FromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    AuthCore: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        authenticate(parts, &AuthCore::from_ref(state)).await
    }
}

impl<S> OptionalFromRequestParts<S> for CurrentUser
where
    S: Send + Sync,
    AuthCore: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match authenticate(parts, &AuthCore::from_ref(state)).await {
            Ok(user) => Ok(Some(user)),
            Err(rejection) if rejection.is_anonymous() => Ok(None),
            Err(rejection) => Err(rejection),
        }
    }
}

/// A [`CurrentUser`] whose e-mail address is verified: rejects like [`CurrentUser`], and
/// with [`AuthRejection::Forbidden`] (`403`) while the address is unverified.
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
    AuthCore: FromRef<S>,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = <CurrentUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if user.is_verified {
            Ok(Self(user))
        } else {
            Err(AuthRejection::Forbidden)
        }
    }
}
