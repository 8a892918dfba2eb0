//! [`PathId`]: the `{id}` of `/users/{id}` and `/users/me/sessions/{id}`.

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
