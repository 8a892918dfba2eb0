//! [`AuthLayer`]: deny by default, refresh expired access cookies transparently, and send
//! visitors where they belong.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use auth_core::{AuthError, Profile};
use axum::body::Body;
use axum::extract::{MatchedPath, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, Request, header};
use axum::response::{IntoResponse, Redirect, Response};
use futures::future::BoxFuture;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tower::{Layer, Service};

use crate::client::client_info;
use crate::error::ApiError;
use crate::extract::{AuthRejection, CurrentUser};
use crate::next::safe_next;
use crate::routes::Auth;
use crate::transport::{is_cross_site, read_cookie, replace_request_cookies, set_cookies};

/// Which paths anyone may open. A pattern is an exact path (`/health`) or a prefix ending in
/// `/*` (`/auth/*` matches `/auth` and everything below it).
#[derive(Debug, Clone, Default)]
struct Rules {
    public: Vec<String>,
    login_page: Option<String>,
    signed_in_pages: Vec<String>,
    signed_in_target: String,
}

fn matches(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix("/*") {
        Some(prefix) => {
            path == prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/') || prefix.is_empty())
        }
        None => pattern == path,
    }
}

/// A tower layer for apps that protect everything but their declared public routes.
///
/// For every request it:
/// 1. authenticates the access token (bearer or cookie) and, when the access cookie is
///    missing or expired but the refresh cookie is valid, refreshes the pair transparently:
///    the request goes on authenticated and the response carries the new cookies;
/// 2. sends a signed-in visitor of a login or registration page to the account page;
/// 3. refuses an anonymous request to a non-public path: a `GET` that accepts HTML (or
///    `*/*`) is redirected to the login page with `?next=` (only when the path passes
///    [`safe_next`](crate::safe_next); otherwise without `next`); a request for JSON only,
///    one without `Accept`, and every other method get `401`;
/// 4. answers an anonymous request for a path that no route serves with
///    `404 {"detail":"Not Found"}`, never with a login redirect; signed-in requests for it go
///    on to the router's fallback (use [`not_found`](crate::not_found) there, so they get the
///    same answer).
///
/// Add it with [`Router::layer`](axum::Router::layer): axum routes first and runs the layer
/// around the matched route or the fallback, so the layer knows whether a route matched (a
/// [`MatchedPath`] is there). Wrapped around a whole router from outside, it cannot tell, and
/// refuses unknown paths like protected ones.
///
/// Handlers behind it read the user with [`CurrentUser`] as usual, without checking the
/// token a second time.
///
/// ```
/// use auth_axum::{Auth, AuthLayer};
/// use auth_core::NoProfile;
/// use axum::{Router, routing::get};
///
/// fn app(auth: Auth<NoProfile>) -> Router {
///     Router::new()
///         .route("/", get(|| async { "public" }))
///         .route("/account", get(|| async { "private" }))
///         .fallback(auth_axum::not_found)
///         .layer(
///             AuthLayer::new(auth.clone())
///                 .public(["/", "/login", "/register", "/auth/*"])
///                 .login_page("/login")
///                 .redirect_signed_in(["/login", "/register"], "/account"),
///         )
///         .with_state(auth)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct AuthLayer<P: Profile> {
    state: Auth<P>,
    rules: Arc<Rules>,
}

impl<P: Profile> AuthLayer<P> {
    /// A layer that lets nobody through anonymously, until paths are declared public. It
    /// takes the app's state: the transparent refresh needs the manager.
    pub fn new(state: Auth<P>) -> Self {
        Self {
            state,
            rules: Arc::new(Rules::default()),
        }
    }

    fn rules(&mut self) -> &mut Rules {
        Arc::make_mut(&mut self.rules)
    }

    /// Declares paths anyone may open (see the patterns above).
    #[must_use]
    pub fn public<S: Into<String>>(mut self, patterns: impl IntoIterator<Item = S>) -> Self {
        self.rules()
            .public
            .extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Redirects anonymous browsers asking for a protected page to `path?next=<page>`.
    #[must_use]
    pub fn login_page(mut self, path: impl Into<String>) -> Self {
        self.rules().login_page = Some(path.into());
        self
    }

    /// Redirects signed-in visitors of `pages` (the login and registration pages) to
    /// `target`.
    #[must_use]
    pub fn redirect_signed_in<S: Into<String>>(
        mut self,
        pages: impl IntoIterator<Item = S>,
        target: impl Into<String>,
    ) -> Self {
        let rules = self.rules();
        rules.signed_in_pages = pages.into_iter().map(Into::into).collect();
        rules.signed_in_target = target.into();
        self
    }
}

impl<P: Profile, S> Layer<S> for AuthLayer<P> {
    type Service = AuthService<P, S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            state: self.state.clone(),
            rules: Arc::clone(&self.rules),
        }
    }
}

/// The service of [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct AuthService<P: Profile, S> {
    inner: S,
    state: Auth<P>,
    rules: Arc<Rules>,
}

impl<P: Profile, S> Service<Request<Body>> for AuthService<P, S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The clone that was made ready serves this request; a fresh clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let state = self.state.clone();
        let rules = Arc::clone(&self.rules);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let (user, renewed) = match identify(&mut parts, &state).await {
                Ok(found) => found,
                Err(err) => return Ok(err.into_response()),
            };
            let path = parts.uri.path().to_owned();
            if user.is_some()
                && parts.method == Method::GET
                && rules
                    .signed_in_pages
                    .iter()
                    .any(|page| matches(page, &path))
            {
                return Ok(with_headers(
                    Redirect::to(&rules.signed_in_target).into_response(),
                    renewed,
                ));
            }
            if user.is_none() && !rules.public.iter().any(|pattern| matches(pattern, &path)) {
                return Ok(if is_unrouted(&parts) {
                    ApiError::not_found().into_response()
                } else {
                    refuse(&parts, &rules)
                });
            }
            let response = inner.call(Request::from_parts(parts, body)).await?;
            Ok(with_headers(response, renewed))
        })
    }
}

/// Who the request is, refreshing an expired access cookie on the way; the second value
/// holds the `Set-Cookie` headers of a transparent refresh.
async fn identify<P: Profile>(
    parts: &mut Parts,
    state: &Auth<P>,
) -> Result<(Option<CurrentUser>, Option<HeaderMap>), ApiError> {
    match crate::extract::authenticate(parts, state.core_ref()).await {
        Ok(user) => return Ok((Some(user), None)),
        // No token, or one that does not count: an expired access cookie may be renewed.
        Err(AuthRejection::MissingCredentials | AuthRejection::InvalidCredentials) => {}
        Err(rejection) => return Err(rejection.into()),
    }
    let Some(settings) = state.config().cookie_settings() else {
        return Ok((None, None));
    };
    let Some(refresh) = read_cookie(&parts.headers, &settings.refresh_name).map(str::to_owned)
    else {
        return Ok((None, None));
    };
    if is_cross_site(parts, state.config()) {
        return Ok((None, None));
    }
    let client = client_info(parts, state.config());
    let tokens = match state.manager().refresh(&refresh, &client).await {
        Ok(tokens) => tokens,
        Err(AuthError::InvalidToken) => return Ok((None, None)),
        Err(err) => return Err(err.into()),
    };
    let claims = state
        .core_ref()
        .authenticator()
        .authenticate(&tokens.access_token)
        .await
        .map_err(AuthRejection::from)?;
    let user = CurrentUser::from_claims(claims, crate::transport::TokenSource::Cookie);
    parts.extensions.insert(user.clone());
    replace_request_cookies(&mut parts.headers, settings, &tokens);
    let mut cookies = HeaderMap::new();
    set_cookies(&mut cookies, settings, &tokens);
    Ok((Some(user), Some(cookies)))
}

/// Whether the layer runs around the router's fallback: inside a router (which records the
/// `OriginalUri` before routing) but with no route matched (no `MatchedPath`).
fn is_unrouted(parts: &Parts) -> bool {
    parts.extensions.get::<OriginalUri>().is_some()
        && parts.extensions.get::<MatchedPath>().is_none()
}

fn refuse(parts: &Parts, rules: &Rules) -> Response {
    // A page visit when the client accepts HTML: browsers send `text/html`, and plain HTTP
    // clients `*/*`. A client that asks for JSON only, or sends no `Accept`, is an API call.
    let wants_page = parts.method == Method::GET
        && parts
            .headers
            .get(header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html") || accept.contains("*/*"));
    match &rules.login_page {
        Some(login) if wants_page => {
            let requested = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
            // Open redirect: the login page sends the visitor back to `next`, so it must be a
            // path of this site by the one rule the page applies too.
            let target = match safe_next(requested) {
                Some(next) => format!("{login}?next={}", encode_next(next)),
                None => login.clone(),
            };
            Redirect::to(&target).into_response()
        }
        _ => ApiError::unauthorized().into_response(),
    }
}

/// What stays readable in `next`: RFC 3986's unreserved characters and `/`.
const NEXT_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// Percent-encodes what would break the query string of the redirect.
fn encode_next(next: &str) -> String {
    utf8_percent_encode(next, NEXT_KEEP).to_string()
}

/// Adds the `Set-Cookie` headers of a transparent refresh to a response, unless the handler
/// already set an auth cookie itself: its answer about the session is newer (a logout's
/// clearing, a login's new session, an explicit refresh's next pair) and must be what the
/// browser keeps.
fn with_headers(mut response: Response, extra: Option<HeaderMap>) -> Response {
    if let Some(extra) = extra {
        let renewed = extra.get_all(header::SET_COOKIE);
        let names: Vec<&str> = renewed.iter().filter_map(cookie_name).collect();
        let handler_decided = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(cookie_name)
            .any(|name| names.contains(&name));
        if !handler_decided {
            for value in renewed {
                response
                    .headers_mut()
                    .append(header::SET_COOKIE, value.clone());
            }
        }
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The name of the cookie a `Set-Cookie` value sets.
fn cookie_name(value: &HeaderValue) -> Option<&str> {
    value
        .to_str()
        .ok()
        .and_then(|text| text.split_once('='))
        .map(|(name, _)| name.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_exact_paths_and_prefixes() {
        assert!(matches("/health", "/health"));
        assert!(!matches("/health", "/healthz"));
        assert!(matches("/auth/*", "/auth"));
        assert!(matches("/auth/*", "/auth/jwt/login"));
        assert!(!matches("/auth/*", "/authors"));
        assert!(matches("/*", "/anything"));
    }

    #[test]
    fn next_is_only_ever_a_safe_path() {
        let rules = Rules {
            login_page: Some("/login".to_owned()),
            ..Rules::default()
        };
        for (path, location) in [
            ("//evil.example/x", "/login"),
            ("/\\evil.example", "/login"),
            ("/%5Cevil.example", "/login"),
            ("/%09/evil.example", "/login"),
            ("/account", "/login?next=/account"),
        ] {
            let request = Request::builder()
                .uri(path)
                .header(header::ACCEPT, "text/html")
                .body(())
                .unwrap();
            let response = refuse(&request.into_parts().0, &rules);
            assert_eq!(response.headers()[header::LOCATION], location, "{path}");
        }
    }

    #[test]
    fn next_is_encoded() {
        assert_eq!(
            encode_next("/account?tab=a&b=c"),
            "/account%3Ftab%3Da%26b%3Dc"
        );
    }
}
