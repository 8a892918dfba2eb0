//! Setting, reading and clearing the auth cookies.

use auth_core::TokenPair;
use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};

use crate::config::CookieSettings;

/// The value of cookie `name`, if the request has one: without the white space around it
/// and inside its quotes (RFC 6265 §5.2), which no token has.
pub(crate) fn read_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().trim_matches('"').trim())
        .filter(|value| !value.is_empty())
}

/// Puts a fresh pair in place of the auth cookies of a request's `Cookie` header, keeping
/// the app's other cookies. After a transparent refresh, what runs next (the refresh and
/// logout routes included) must see the tokens the browser is about to get, not the spent
/// refresh token: presenting that one again would be taken for a replay and end the session.
pub(crate) fn replace_request_cookies(
    headers: &mut HeaderMap,
    settings: &CookieSettings,
    tokens: &TokenPair,
) {
    let ours = [
        settings.access_name.as_str(),
        settings.refresh_name.as_str(),
    ];
    let mut kept: Vec<HeaderValue> = Vec::new();
    let mut pairs: Vec<String> = Vec::new();
    for value in headers.get_all(header::COOKIE) {
        match value.to_str() {
            Ok(text) => pairs.extend(
                text.split(';')
                    .map(str::trim)
                    .filter(|pair| !pair.is_empty())
                    .filter(|pair| {
                        let name = pair.split_once('=').map_or(*pair, |(name, _)| name);
                        !ours.contains(&name.trim())
                    })
                    .map(str::to_owned),
            ),
            // Not ours to judge: an opaque header stays as it came.
            Err(_) => kept.push(value.clone()),
        }
    }
    pairs.push(format!("{}={}", settings.access_name, tokens.access_token));
    pairs.push(format!(
        "{}={}",
        settings.refresh_name, tokens.refresh_token
    ));
    headers.remove(header::COOKIE);
    for value in kept {
        headers.append(header::COOKIE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&pairs.join("; ")) {
        headers.append(header::COOKIE, value);
    }
}

fn cookie(
    name: &str,
    value: String,
    path: &str,
    same_site: SameSite,
    max_age: i64,
    secure: bool,
) -> Option<HeaderValue> {
    let cookie = Cookie::build((name.to_owned(), value))
        .path(path.to_owned())
        .http_only(true)
        .secure(secure)
        .same_site(same_site)
        .max_age(cookie::time::Duration::seconds(max_age))
        .build();
    HeaderValue::from_str(&cookie.to_string()).ok()
}

/// Appends the two `Set-Cookie` headers of a login or refresh.
pub(crate) fn set_cookies(headers: &mut HeaderMap, settings: &CookieSettings, tokens: &TokenPair) {
    let pairs = [
        cookie(
            &settings.access_name,
            tokens.access_token.clone(),
            &settings.access_path,
            SameSite::Lax,
            tokens.expires_in,
            settings.secure,
        ),
        cookie(
            &settings.refresh_name,
            tokens.refresh_token.clone(),
            &settings.refresh_path,
            SameSite::Strict,
            tokens.refresh_expires_in,
            settings.secure,
        ),
    ];
    for value in pairs.into_iter().flatten() {
        headers.append(header::SET_COOKIE, value);
    }
}

/// Appends `Set-Cookie` headers that overwrite both cookies with an empty value and
/// `Max-Age=0`, same name, path and attributes.
pub(crate) fn clear_cookies(headers: &mut HeaderMap, settings: &CookieSettings) {
    let pairs = [
        cookie(
            &settings.access_name,
            String::new(),
            &settings.access_path,
            SameSite::Lax,
            0,
            settings.secure,
        ),
        cookie(
            &settings.refresh_name,
            String::new(),
            &settings.refresh_path,
            SameSite::Strict,
            0,
            settings.secure,
        ),
    ];
    for value in pairs.into_iter().flatten() {
        headers.append(header::SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::SessionId;

    #[test]
    fn login_cookies_carry_the_contract_attributes() {
        let mut headers = HeaderMap::new();
        let tokens = TokenPair {
            access_token: "a.b.c".into(),
            refresh_token: "r".into(),
            expires_in: 900,
            refresh_expires_in: 1_209_600,
            session_id: SessionId::random(),
        };
        set_cookies(&mut headers, &CookieSettings::default(), &tokens);
        let cookies: Vec<&str> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            cookies,
            [
                "access_token=a.b.c; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=900",
                "refresh_token=r; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age=1209600"
            ]
        );
    }

    #[test]
    fn a_refresh_replaces_the_request_cookies_and_keeps_the_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; access_token=old; refresh_token=spent"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("lang=fr"));
        let tokens = TokenPair {
            access_token: "new.access".into(),
            refresh_token: "fresh".into(),
            expires_in: 900,
            refresh_expires_in: 1_209_600,
            session_id: SessionId::random(),
        };
        replace_request_cookies(&mut headers, &CookieSettings::default(), &tokens);
        assert_eq!(read_cookie(&headers, "access_token"), Some("new.access"));
        assert_eq!(read_cookie(&headers, "refresh_token"), Some("fresh"));
        assert_eq!(read_cookie(&headers, "theme"), Some("dark"));
        assert_eq!(read_cookie(&headers, "lang"), Some("fr"));
        assert!(
            !headers
                .get(header::COOKIE)
                .unwrap()
                .to_str()
                .unwrap()
                .contains("spent")
        );
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; access_token=tok; refresh_token="),
        );
        assert_eq!(read_cookie(&headers, "access_token"), Some("tok"));
        assert_eq!(read_cookie(&headers, "refresh_token"), None);
        assert_eq!(read_cookie(&headers, "missing"), None);
    }

    #[test]
    fn a_cookie_value_is_read_without_white_space_around_it() {
        // Found by the transport fuzz target: the value kept the space after `=`, so the
        // token strategy was handed " tok" (the bearer header trims its token).
        for cookie in [
            "access_token= tok",
            "access_token=tok ;x=y",
            "access_token=\"tok \"",
            "access_token= \" tok\" ",
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
            assert_eq!(
                read_cookie(&headers, "access_token"),
                Some("tok"),
                "{cookie}"
            );
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("access_token= \" \""),
        );
        assert_eq!(read_cookie(&headers, "access_token"), None);
    }
}
