//! The OAuth routes (feature `oauth`): sign-in through a provider (bearer and cookie
//! flavours), associating a provider account with a signed-in user, and the user's list of
//! linked accounts. One set of routes per configured provider, so an unknown provider is a
//! plain `404`.

use std::borrow::Cow;

use auth_core::oauth::{CallbackParams, OAuthClient, OAuthError, StateBinding};
use auth_core::{AuthError, OAuthAccount, Profile};
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use percent_encoding::percent_decode_str;
use serde::Serialize;
use serde_json::{Value, json};

use super::Auth;
use super::login::tokens_response;
use crate::client::Client;
use crate::config::Transport;
use crate::error::ApiError;
use crate::extract::CurrentUser;
use crate::json::json_response;
use crate::next::safe_next;
use crate::transport::read_cookie;

/// The CSRF cookie of the flow, named as fastapi-users names it.
pub(super) const CSRF_COOKIE: &str = "fastapiusersoauthcsrf";

/// Where a browser lands after a cookie sign-in without a `next`.
const DEFAULT_NEXT: &str = "/account";

pub(super) fn routes<P: Profile>(client: &OAuthClient) -> Router<Auth<P>> {
    let mut router = Router::new()
        .route("/users/me/oauth-accounts", get(list::<P>))
        .route(
            "/users/me/oauth-accounts/{provider}/{account_id}",
            axum::routing::delete(unlink::<P>),
        );
    for provider in client.providers() {
        let name = provider.name().to_owned();
        let flows = [
            (format!("/auth/{name}"), Flow::Bearer),
            (format!("/auth/cookie/{name}"), Flow::Cookie),
            (format!("/auth/associate/{name}"), Flow::Associate),
        ];
        for (prefix, flow) in flows {
            let (start_name, finish_name) = (name.clone(), name.clone());
            router = router
                .route(
                    &format!("{prefix}/authorize"),
                    get(move |state, user, query| {
                        authorize::<P>(state, user, query, start_name, flow)
                    }),
                )
                .route(
                    &format!("{prefix}/callback"),
                    get(move |state, client, user, headers, query| {
                        callback::<P>(state, client, user, headers, query, finish_name, flow)
                    }),
                );
        }
    }
    router
}

/// Which of the three flows a route belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// Tokens in JSON.
    Bearer,
    /// A browser: cookies and redirects.
    Cookie,
    /// Linking an account to the signed-in user.
    Associate,
}

impl Flow {
    fn path(self, name: &str) -> String {
        match self {
            Self::Bearer => format!("/auth/{name}/callback"),
            Self::Cookie => format!("/auth/cookie/{name}/callback"),
            Self::Associate => format!("/auth/associate/{name}/callback"),
        }
    }
}

fn oauth_client<P: Profile>(auth: &Auth<P>) -> Result<&OAuthClient, ApiError> {
    auth.oauth_client().ok_or_else(ApiError::not_found)
}

fn redirect_uri<P: Profile>(auth: &Auth<P>, name: &str, flow: Flow) -> String {
    let base = auth
        .manager()
        .config()
        .public_base_url
        .trim_end_matches('/');
    format!("{base}{}", flow.path(name))
}

async fn authorize<P: Profile>(
    State(auth): State<Auth<P>>,
    user: Option<CurrentUser>,
    RawQuery(query): RawQuery,
    name: String,
    flow: Flow,
) -> Response {
    let query = Query::parse(query.as_deref());
    let binding = match flow {
        Flow::Associate => match user {
            Some(user) => StateBinding {
                user: Some(user.id),
                next: None,
            },
            None => return ApiError::unauthorized().into_response(),
        },
        Flow::Cookie => StateBinding {
            user: None,
            next: query
                .first("next")
                .and_then(|next| safe_next(next).map(str::to_owned)),
        },
        Flow::Bearer => StateBinding::default(),
    };
    let started = match oauth_client(&auth) {
        Ok(client) => {
            client
                .authorize(
                    &name,
                    &redirect_uri(&auth, &name, flow),
                    &query.all("scopes"),
                    &binding,
                    auth.manager().now(),
                )
                .await
        }
        Err(err) => return err.into_response(),
    };
    let started = match started {
        Ok(started) => started,
        Err(err) => return oauth_error(err, flow).into_response(),
    };
    let mut response = match flow {
        Flow::Cookie => redirect(&started.url),
        Flow::Bearer | Flow::Associate => {
            json_response(StatusCode::OK, &json!({ "authorization_url": started.url }))
        }
    };
    let secure = if auth.config().cookies_secure() {
        "; Secure"
    } else {
        ""
    };
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}={}; Max-Age=3600; Path=/; SameSite=Lax; HttpOnly{secure}",
        started.csrf
    )) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn callback<P: Profile>(
    State(auth): State<Auth<P>>,
    Client(client): Client,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    name: String,
    flow: Flow,
) -> Response {
    let result = finish::<P>(
        &auth,
        &client,
        user,
        &headers,
        query.as_deref(),
        &name,
        flow,
    )
    .await;
    let mut response = match (result, flow) {
        (Ok(response), _) => response,
        (Err(err), Flow::Cookie) if err.detail["code"] == "LOGIN_MFA_REQUIRED" => {
            // The second step happens on the login page; the token travels in the fragment,
            // which never reaches a server or its logs.
            let token = err.detail["mfa_token"].as_str().unwrap_or_default();
            let methods: Vec<&str> = err.detail["methods"]
                .as_array()
                .map(|methods| methods.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let next = err.next.as_deref().unwrap_or(DEFAULT_NEXT);
            redirect(&format!(
                "/login?next={}#mfa_token={token}&methods={}",
                percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC),
                methods.join(",")
            ))
        }
        (Err(err), Flow::Cookie) => {
            let code = match &err.detail {
                Value::String(code) => code.clone(),
                _ => "OAUTH_PROVIDER_ERROR".to_owned(),
            };
            let code: String = code
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                .collect();
            redirect(&format!("/login?error={code}"))
        }
        (Err(err), _) => err.error.into_response(),
    };
    // The flow is over either way: the cookie has done its job.
    let secure = if auth.config().cookies_secure() {
        "; Secure"
    } else {
        ""
    };
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}=; Max-Age=0; Path=/; SameSite=Lax; HttpOnly{secure}"
    )) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// An error of the callback, with its `detail` kept for the browser redirect, and the page
/// the state named, for a second step that still has to happen.
struct Failed {
    detail: Value,
    error: ApiError,
    next: Option<String>,
}

impl From<ApiError> for Failed {
    fn from(error: ApiError) -> Self {
        Self {
            detail: error.detail().clone(),
            error,
            next: None,
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn finish<P: Profile>(
    auth: &Auth<P>,
    client: &auth_core::ClientInfo,
    user: Option<CurrentUser>,
    headers: &HeaderMap,
    query: Option<&str>,
    name: &str,
    flow: Flow,
) -> Result<Response, Failed> {
    if flow == Flow::Associate && user.is_none() {
        return Err(ApiError::unauthorized().into());
    }
    let oauth = oauth_client(auth)?;
    auth.manager()
        .throttle_oauth_callback(client)
        .await
        .map_err(ApiError::from)?;
    let query = Query::parse(query);
    let params = CallbackParams {
        code: query.first("code").map(str::to_owned),
        state: query.first("state").map(str::to_owned),
        error: query.first("error").map(str::to_owned),
        iss: query.first("iss").map(str::to_owned),
    };
    let manager = auth.manager();
    let done = oauth
        .callback(
            name,
            &redirect_uri(auth, name, flow),
            &params,
            read_cookie(headers, CSRF_COOKIE),
            manager.now(),
        )
        .await
        .map_err(|err| oauth_error(err, flow))?;
    let associate_by_email = oauth
        .provider(name)
        .is_some_and(|provider| provider.associate_by_email());
    match flow {
        Flow::Associate => {
            let signed_in = user.map(|user| user.id);
            if done.binding.user.is_none() || done.binding.user != signed_in {
                return Err(ApiError::new(StatusCode::BAD_REQUEST, "Bad Request").into());
            }
            let Some(user_id) = signed_in else {
                return Err(ApiError::unauthorized().into());
            };
            let linked = manager
                .oauth_associate(user_id, &done.identity)
                .await
                .map_err(ApiError::from)?;
            let accounts = manager
                .oauth_accounts(user_id)
                .await
                .map_err(ApiError::from)?;
            let mut body = serde_json::to_value(&linked).map_err(|err| ApiError::internal(&err))?;
            if let Value::Object(fields) = &mut body {
                fields.insert(
                    "oauth_accounts".to_owned(),
                    json!(accounts.iter().map(AccountRead::from).collect::<Vec<_>>()),
                );
            }
            Ok(json_response(StatusCode::OK, &body))
        }
        Flow::Bearer | Flow::Cookie => {
            // A sign-in state carries no user; one that does was made for an association.
            if done.binding.user.is_some() {
                return Err(ApiError::new(StatusCode::BAD_REQUEST, "Bad Request").into());
            }
            let login = manager
                .oauth_login(&done.identity, associate_by_email, client)
                .await
                .map_err(|err| Failed {
                    next: done.binding.next.clone(),
                    ..Failed::from(ApiError::from(err))
                })?;
            if flow == Flow::Bearer {
                return Ok(tokens_response(&Transport::Bearer, &login.tokens));
            }
            let cookies = auth
                .config()
                .backends
                .iter()
                .find_map(|backend| match &backend.transport {
                    Transport::Cookie(settings) => Some(settings),
                    Transport::Bearer => None,
                })
                .ok_or_else(ApiError::not_found)?;
            let next = done
                .binding
                .next
                .as_deref()
                .and_then(safe_next)
                .unwrap_or(DEFAULT_NEXT);
            let mut response = redirect(next);
            crate::transport::set_cookies(response.headers_mut(), cookies, &login.tokens);
            Ok(response)
        }
    }
}

/// The contract's answer to a flow error.
fn oauth_error(err: OAuthError, flow: Flow) -> ApiError {
    let bad = |code: &str| ApiError::new(StatusCode::BAD_REQUEST, code.to_owned());
    match err {
        OAuthError::UnknownProvider => ApiError::not_found(),
        OAuthError::MissingCode => bad("Bad Request"),
        OAuthError::Denied(code) => bad(&code),
        OAuthError::StateInvalid => bad("ACCESS_TOKEN_DECODE_ERROR"),
        OAuthError::StateExpired => bad("ACCESS_TOKEN_ALREADY_EXPIRED"),
        OAuthError::InvalidState => bad("OAUTH_INVALID_STATE"),
        OAuthError::Provider(reason) => {
            tracing::warn!(target: "auth", event = "oauth_provider_error", flow = ?flow, reason = ?reason, "the provider failed");
            ApiError::new(StatusCode::BAD_GATEWAY, "OAUTH_PROVIDER_ERROR")
        }
        OAuthError::Store(err) => ApiError::from(AuthError::Store(err)),
        err => ApiError::internal(&err),
    }
}

/// A linked account as the routes show it: never a token.
#[derive(Debug, Serialize)]
struct AccountRead<'a> {
    oauth_name: &'a str,
    account_id: &'a str,
    account_email: Option<&'a str>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: time::OffsetDateTime,
}

impl<'a> From<&'a OAuthAccount> for AccountRead<'a> {
    fn from(account: &'a OAuthAccount) -> Self {
        Self {
            oauth_name: &account.provider,
            account_id: &account.account_id,
            account_email: account.account_email.as_deref(),
            created_at: account.created_at,
        }
    }
}

async fn list<P: Profile>(
    State(auth): State<Auth<P>>,
    user: CurrentUser,
) -> Result<Response, ApiError> {
    let accounts = auth.manager().oauth_accounts(user.id).await?;
    let body: Vec<AccountRead<'_>> = accounts.iter().map(AccountRead::from).collect();
    Ok(json_response(StatusCode::OK, &body))
}

async fn unlink<P: Profile>(
    State(auth): State<Auth<P>>,
    user: CurrentUser,
    Path((provider, account_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    match auth
        .manager()
        .oauth_unlink(user.id, &provider, &account_id)
        .await
    {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(AuthError::OAuthAccountNotFound) => Err(ApiError::not_found()),
        Err(err) => Err(err.into()),
    }
}

fn redirect(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A query string's pairs, percent-decoded; keys may repeat (`scopes=a&scopes=b`).
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(query: Option<&str>) -> Self {
        let decode = |raw: &str| -> String {
            let spaced: Cow<'_, str> = if raw.contains('+') {
                Cow::Owned(raw.replace('+', " "))
            } else {
                Cow::Borrowed(raw)
            };
            percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
        };
        Self(
            query
                .unwrap_or_default()
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode(key), decode(value))
                })
                .collect(),
        )
    }

    fn first(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }

    fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(name, value)| name == key && !value.is_empty())
            .map(|(_, value)| value.clone())
            .collect()
    }
}
