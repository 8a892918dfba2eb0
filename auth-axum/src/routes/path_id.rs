//! [`PathId`]: the `{id}` of `/users/{id}` and `/users/me/sessions/{id}`; [`PathIds`]: both ids
//! of `/users/{id}/sessions/{sid}`.

use std::str::FromStr;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use crate::error::ApiError;

/// An id from the path. Whatever does not parse as one (not a UUID, not even UTF-8 once
/// percent-decoded) is `404 {"detail":"Not Found"}`, the same answer as an unknown id
/// (`docs/HTTP_CONTRACT.md` §1), instead of axum's plain-text `400`.
pub(super) struct PathId<T>(pub(super) T);

impl<S, T> FromRequestParts<S> for PathId<T>
where
    S: Send + Sync,
    T: FromStr,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found())?;
        raw.parse().map(Self).map_err(|_| ApiError::not_found())
    }
}

/// Two ids from the path (`/users/{id}/sessions/{sid}`), each answered like [`PathId`]'s.
pub(super) struct PathIds<A, B>(pub(super) A, pub(super) B);

impl<S, A, B> FromRequestParts<S> for PathIds<A, B>
where
    S: Send + Sync,
    A: FromStr,
    B: FromStr,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path((first, second)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found())?;
        match (first.parse(), second.parse()) {
            (Ok(first), Ok(second)) => Ok(Self(first, second)),
            _ => Err(ApiError::not_found()),
        }
    }
}
