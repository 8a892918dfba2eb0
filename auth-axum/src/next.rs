//! [`safe_next`]: the one rule for where a login may send the browser afterwards.

use percent_encoding::percent_decode_str;

/// Accepts a `next` (the page to return to after logging in) only when it is a path of this
/// site, and returns it unchanged; `None` for anything else.
///
/// Browsers read more than `//host` as "another site": `/\host` (a backslash counts as a
/// slash), `/<TAB>/host` (tabs and newlines are dropped from URLs), and a login page that
/// decodes its query once more turns `/%5Chost` into `/\host`. So a `next` is accepted only
/// when, both as given and after percent-decoding it once more:
///
/// - it starts with one `/` and holds no `//` anywhere;
/// - it holds no backslash and no control character (tab, newline, NUL, DEL, ...);
/// - it decodes to UTF-8.
///
/// Starting with `/` also rules out a scheme (`https:`, `javascript:`). Pass the value as the
/// app received it (a query parameter is already decoded once by the query parser); the
/// server and the page must both use the value this function returns, so there is one rule.
///
/// ```
/// use auth_axum::safe_next;
///
/// assert_eq!(safe_next("/account?tab=a"), Some("/account?tab=a"));
/// assert_eq!(safe_next("//evil.example"), None);
/// assert_eq!(safe_next("/\\evil.example"), None);
/// assert_eq!(safe_next("/%5Cevil.example"), None);
/// assert_eq!(safe_next("https://evil.example"), None);
/// ```
pub fn safe_next(next: &str) -> Option<&str> {
    let decoded = percent_decode_str(next).decode_utf8().ok()?;
    (is_local_path(next) && is_local_path(&decoded)).then_some(next)
}

fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.contains("//")
        && !path.chars().any(|c| c == '\\' || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_paths_of_this_site_pass() {
        for good in ["/", "/account", "/account?tab=a", "/a%20b", "/caf%C3%A9"] {
            assert_eq!(safe_next(good), Some(good), "{good}");
        }
        for bad in [
            "",
            "account",
            "//evil.com",
            "/\\evil.com",
            "/%5Cevil.com",
            "/%5cevil.com",
            "/%09/evil.com",
            "/\t/evil.com",
            "/%2F/evil.com",
            "/%2F%2Fevil.com",
            "/%0A",
            "/%0D",
            "/%00",
            "/%7F",
            "/%FF",
            "https://evil.com",
            "javascript:alert(1)",
            " /account",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }
}
