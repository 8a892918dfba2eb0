//! The cross-site check for cookie-authenticated unsafe requests (Fetch Metadata and Origin).

use axum::http::request::Parts;
use axum::http::{Method, header};

use crate::config::AuthConfig;

/// Whether an unsafe request must be refused as cross-site: `Sec-Fetch-Site: cross-site`,
/// or an `Origin` that is neither the server's own (from `Host`) nor an allowed origin.
/// Safe methods and requests with neither header (not from a browser) pass.
pub(crate) fn is_cross_site(parts: &Parts, config: &AuthConfig) -> bool {
    if matches!(
        parts.method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return false;
    }
    let header = |name| {
        parts
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    if header("sec-fetch-site").is_some_and(|site| site.eq_ignore_ascii_case("cross-site")) {
        return true;
    }
    let Some(origin) = header(header::ORIGIN.as_str()) else {
        return false;
    };
    let origin = origin.trim_end_matches('/');
    if config
        .allowed_origins
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(origin))
    {
        return false;
    }
    let host = header(header::HOST.as_str())
        .or_else(|| parts.uri.authority().map(|authority| authority.as_str()));
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    !host.is_some_and(|host| host.eq_ignore_ascii_case(origin_host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(method: Method, headers: &[(&str, &str)]) -> Parts {
        let mut builder = Request::builder().method(method).uri("/users/me");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn cross_site_unsafe_requests_are_refused() {
        let config = AuthConfig::default().with_allowed_origins(["https://app.example.com"]);
        let host = ("host", "api.example.com");
        assert!(is_cross_site(
            &parts(Method::POST, &[host, ("sec-fetch-site", "cross-site")]),
            &config
        ));
        assert!(is_cross_site(
            &parts(Method::DELETE, &[host, ("origin", "https://evil.example")]),
            &config
        ));
        assert!(!is_cross_site(
            &parts(
                Method::PATCH,
                &[host, ("origin", "https://api.example.com")]
            ),
            &config
        ));
        assert!(!is_cross_site(
            &parts(Method::POST, &[host, ("origin", "https://app.example.com")]),
            &config
        ));
        assert!(!is_cross_site(
            &parts(Method::POST, &[host, ("sec-fetch-site", "same-origin")]),
            &config
        ));
        assert!(
            !is_cross_site(&parts(Method::POST, &[host]), &config),
            "not a browser"
        );
        assert!(!is_cross_site(
            &parts(Method::GET, &[host, ("sec-fetch-site", "cross-site")]),
            &config
        ));
    }
}
