//! Where tokens travel: the `Authorization` header and the auth cookies.

mod cookie;
mod csrf;

pub(crate) use cookie::{clear_cookies, read_cookie, replace_request_cookies, set_cookies};
pub(crate) use csrf::is_cross_site;

use axum::http::header;
use axum::http::request::Parts;

use crate::config::AuthConfig;

/// How a request presented its access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenSource {
    /// `Authorization: Bearer ...`.
    Bearer,
    /// The access cookie.
    Cookie,
}

/// The access token of a request: the bearer header first, then the access cookie.
pub(crate) fn find_token<'p>(
    parts: &'p Parts,
    config: &AuthConfig,
) -> Option<(&'p str, TokenSource)> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION)
        && let Ok(value) = value.to_str()
        && let Some((scheme, token)) = value.split_once(' ')
        && scheme.eq_ignore_ascii_case("bearer")
    {
        let token = token.trim();
        return (!token.is_empty()).then_some((token, TokenSource::Bearer));
    }
    let settings = config.cookie_settings()?;
    read_cookie(&parts.headers, &settings.access_name).map(|token| (token, TokenSource::Cookie))
}
