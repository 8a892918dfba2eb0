//! Role checks: [`RequireRole`], [`RequireAdmin`] and the reference server's roles.

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use super::CurrentUser;
use crate::error::ApiError;
use crate::state::AuthState;

/// A role an app checks for. Superusers pass every role check.
///
/// ```
/// use auth_axum::{RequireRole, Role};
///
/// struct Editor;
/// impl Role for Editor {
///     const NAME: &'static str = "editor";
/// }
///
/// async fn publish(RequireRole(user, ..): RequireRole<Editor>) -> String {
///     format!("published by {}", user.id)
/// }
/// ```
pub trait Role: Send + Sync + 'static {
    /// The role's name, as stored in the user's roles.
    const NAME: &'static str;
}

/// The `reader` role.
#[derive(Debug)]
pub struct Reader;
impl Role for Reader {
    const NAME: &'static str = "reader";
}

/// The `author` role.
#[derive(Debug)]
pub struct Author;
impl Role for Author {
    const NAME: &'static str = "author";
}

/// Superusers only (no role name grants it).
#[derive(Debug)]
pub struct Admin;

/// A [`CurrentUser`] with role `R`: `401` without a valid token, `403` without the role.
/// Checked against the token's claims, which only the server writes.
#[derive(Debug)]
pub struct RequireRole<R>(pub CurrentUser, pub PhantomData<R>);

impl<S, R> FromRequestParts<S> for RequireRole<R>
where
    S: Send + Sync,
    R: Role,
    AuthState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = <CurrentUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if user.has_role(R::NAME) {
            Ok(Self(user, PhantomData))
        } else {
            Err(ApiError::forbidden())
        }
    }
}

/// A superuser: `401` without a valid token, `403` for everyone else.
#[derive(Debug)]
pub struct RequireAdmin(pub CurrentUser);

impl<S> FromRequestParts<S> for RequireAdmin
where
    S: Send + Sync,
    AuthState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = <CurrentUser as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if user.is_superuser {
            Ok(Self(user))
        } else {
            Err(ApiError::forbidden())
        }
    }
}

/// Users with the `author` role.
pub type RequireAuthor = RequireRole<Author>;

/// Users with the `reader` role.
pub type RequireReader = RequireRole<Reader>;
