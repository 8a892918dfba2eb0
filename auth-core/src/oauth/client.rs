//! [`OAuthClient`]: the authorization-code flow with PKCE, state and nonce, for every
//! configured provider.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use oauth2::basic::{BasicClient, BasicErrorResponse, BasicErrorResponseType};
use oauth2::{AuthType, AuthUrl, TokenUrl};
use openidconnect::core::{
    CoreClient, CoreClientAuthMethod, CoreProviderMetadata, CoreResponseType, CoreTokenResponse,
    CoreUserInfoClaims,
};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, JsonWebKeySet, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError,
    Scope, SignatureVerificationError, TokenResponse,
};
use rand::Rng;
use time::OffsetDateTime;
use tokio::sync::Mutex;

use super::http::Http;
use super::keys::OAuthKeys;
use super::provider::{OAuthProvider, ProviderKind};
use super::state::{self, STATE_AUDIENCE, STATE_LIFETIME_SECONDS, StateClaims};
use crate::error::StoreError;
use crate::limiter::{RateDecision, RateLimit, RateLimiter};
use crate::manager::OAuthIdentity;
use crate::user::UserId;

/// An OpenID Connect client as built from a provider's metadata: authorization endpoint set,
/// token and user-info endpoints as the metadata says.
type OidcClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// How long discovered metadata (and keys) are trusted before they are fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// The least time between two fetches of a provider's keys prompted by an unknown key id, so
/// that tokens with made-up key ids cannot make us hammer the provider.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// What the OAuth flow can answer instead of success. Each maps to one answer of the HTTP
/// contract; `auth-axum` does the mapping.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// No provider of that name is configured (`404`).
    #[error("unknown provider")]
    UnknownProvider,
    /// The callback came without a code (`400 Bad Request`).
    #[error("no authorization code")]
    MissingCode,
    /// The provider refused and said why (`400`, with its `error` code).
    #[error("the provider refused: {0}")]
    Denied(String),
    /// The state is not one of ours: bad signature, wrong audience or provider
    /// (`ACCESS_TOKEN_DECODE_ERROR`).
    #[error("the state is not ours")]
    StateInvalid,
    /// The state has expired (`ACCESS_TOKEN_ALREADY_EXPIRED`).
    #[error("the state has expired")]
    StateExpired,
    /// The CSRF cookie is missing or does not match the state, the state was used already,
    /// or the answer does not belong to this request (issuer, nonce): `OAUTH_INVALID_STATE`.
    #[error("the state does not match this browser or was used already")]
    InvalidState,
    /// The provider failed or answered something unusable, or its ID token does not verify
    /// (`502 OAUTH_PROVIDER_ERROR`).
    #[error("the provider failed: {0}")]
    Provider(String),
    /// The store that makes states single-use failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug or a misconfiguration (a redirect URI that does not parse).
    #[error("internal error: {0}")]
    Internal(String),
}

/// What a state binds besides the browser: the signed-in user of an association, and where a
/// browser goes afterwards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateBinding {
    /// The user an association is for (`None` for a sign-in).
    pub user: Option<UserId>,
    /// The page to return to (already checked to be a safe path).
    pub next: Option<String>,
}

/// The start of a sign-in: where to send the browser, and the CSRF cookie to set beside it.
#[derive(Debug, Clone)]
pub struct Authorization {
    /// The provider's authorization URL, with state, PKCE challenge and nonce.
    pub url: String,
    /// The value of the CSRF cookie (`fastapiusersoauthcsrf`) the callback must present.
    pub csrf: String,
}

/// A callback that passed every check: who signed in, and what the state bound.
#[derive(Debug, Clone)]
pub struct Callback {
    /// The provider account, with its tokens sealed.
    pub identity: OAuthIdentity,
    /// What the state bound.
    pub binding: StateBinding,
}

/// The parameters of a callback request, as the provider sent them.
#[derive(Debug, Clone, Default)]
pub struct CallbackParams {
    /// `code`.
    pub code: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `error`, when the provider refused.
    pub error: Option<String>,
    /// `iss` (RFC 9207), when the provider sends it.
    pub iss: Option<String>,
}

struct Provider {
    config: OAuthProvider,
    /// Whether the client's secret goes in the token request's body (`client_secret_post`)
    /// rather than a Basic header.
    secret_in_body: AtomicBool,
    metadata: Mutex<Option<(CoreProviderMetadata, Instant)>>,
    last_jwks_fetch: Mutex<Option<Instant>>,
}

/// The OAuth 2.0 / OpenID Connect flow for a set of providers.
///
/// - Authorization code flow with PKCE (S256) always; the verifier never leaves the server
///   (it is derived from the server's key and the browser's CSRF cookie).
/// - `state` is signed, lives an hour, names its provider, is bound to the CSRF cookie (by
///   digest), and is single-use: the first callback spends it in the rate limiter's store
///   (shared by every instance on Redis).
/// - OpenID Connect: discovery, ID tokens verified against the provider's keys (fetched
///   again when a token names an unknown key, at most every ten seconds), `iss`, `aud`,
///   `exp`, `iat` and the nonce checked; the `iss` callback parameter checked when sent.
/// - GitHub: the account id and the verified primary address from its API.
/// - Provider tokens come back sealed with [`OAuthKeys`]; they are never logged.
pub struct OAuthClient {
    providers: HashMap<String, Arc<Provider>>,
    keys: OAuthKeys,
    limiter: Arc<dyn RateLimiter>,
    http: Http,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl OAuthClient {
    /// A client for `providers`, sealing and signing with `keys`, spending states in
    /// `limiter` (give it the manager's, so that every instance shares it).
    ///
    /// # Errors
    /// [`OAuthError::Internal`] when the HTTP client cannot be built.
    pub fn new(
        providers: impl IntoIterator<Item = OAuthProvider>,
        keys: OAuthKeys,
        limiter: Arc<dyn RateLimiter>,
    ) -> Result<Self, OAuthError> {
        let http = Http::new().map_err(|err| OAuthError::Internal(err.to_string()))?;
        let providers = providers
            .into_iter()
            .map(|config| {
                (
                    config.name().to_owned(),
                    Arc::new(Provider {
                        config,
                        secret_in_body: AtomicBool::new(false),
                        metadata: Mutex::new(None),
                        last_jwks_fetch: Mutex::new(None),
                    }),
                )
            })
            .collect();
        Ok(Self {
            providers,
            keys,
            limiter,
            http,
        })
    }

    /// The configured providers, by name.
    pub fn providers(&self) -> impl Iterator<Item = &OAuthProvider> {
        self.providers.values().map(|provider| &provider.config)
    }

    /// The provider called `name`.
    pub fn provider(&self, name: &str) -> Option<&OAuthProvider> {
        self.providers.get(name).map(|provider| &provider.config)
    }

    /// The keys that seal provider tokens.
    pub fn keys(&self) -> &OAuthKeys {
        &self.keys
    }

    /// Starts a sign-in (or an association, when `binding.user` is set) at provider `name`,
    /// whose callback is `redirect_uri`. `scopes` replaces the provider's default scopes when
    /// not empty.
    ///
    /// # Errors
    /// [`OAuthError::UnknownProvider`]; [`OAuthError::Provider`] when discovery fails.
    pub async fn authorize(
        &self,
        name: &str,
        redirect_uri: &str,
        scopes: &[String],
        binding: &StateBinding,
        now: OffsetDateTime,
    ) -> Result<Authorization, OAuthError> {
        let provider = self
            .providers
            .get(name)
            .ok_or(OAuthError::UnknownProvider)?;
        let csrf = random_token();
        let claims = StateClaims {
            aud: STATE_AUDIENCE.to_owned(),
            iat: now.unix_timestamp(),
            exp: now.unix_timestamp() + STATE_LIFETIME_SECONDS,
            jti: random_token(),
            prv: name.to_owned(),
            csrf: state::csrf_digest(&csrf),
            sub: binding.user.map(|user| user.to_string()),
            next: binding.next.clone(),
        };
        let state = state::encode(&claims, self.keys.state_key())?;
        let verifier = self.pkce_verifier(&claims.jti, &csrf);
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        let redirect = redirect_url(redirect_uri)?;
        let scopes: Vec<Scope> = if scopes.is_empty() {
            provider
                .config
                .scopes()
                .iter()
                .cloned()
                .map(Scope::new)
                .collect()
        } else {
            scopes.iter().cloned().map(Scope::new).collect()
        };
        let url = match provider.config.kind() {
            ProviderKind::OpenId { .. } => {
                let client = self.oidc_client(provider, redirect).await?;
                let nonce = self.nonce(&claims.jti, &csrf);
                // `openid` is always asked for by the client itself.
                let scopes: Vec<Scope> = scopes
                    .into_iter()
                    .filter(|scope| scope.as_str() != "openid")
                    .collect();
                let (url, _, _) = client
                    .authorize_url(
                        AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                        move || CsrfToken::new(state),
                        move || Nonce::new(nonce),
                    )
                    .set_pkce_challenge(challenge)
                    .add_scopes(scopes)
                    .url();
                url
            }
            ProviderKind::GitHub {
                authorize_url,
                token_url,
                ..
            } => {
                let (url, _) = github_client(&provider.config, authorize_url, token_url, redirect)?
                    .authorize_url(move || CsrfToken::new(state))
                    .set_pkce_challenge(challenge)
                    .add_scopes(scopes)
                    .url();
                url
            }
        };
        Ok(Authorization {
            url: url.into(),
            csrf,
        })
    }

    /// Finishes a sign-in at provider `name`: checks the state against `csrf_cookie`, spends
    /// it, exchanges the code (with the PKCE verifier), verifies the ID token and reads the
    /// account. `redirect_uri` must be the one [`OAuthClient::authorize`] was given.
    ///
    /// # Errors
    /// See [`OAuthError`]: the state errors before any request to the provider, then
    /// [`OAuthError::Provider`] for whatever the provider does wrong.
    pub async fn callback(
        &self,
        name: &str,
        redirect_uri: &str,
        params: &CallbackParams,
        csrf_cookie: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Callback, OAuthError> {
        let provider = self
            .providers
            .get(name)
            .ok_or(OAuthError::UnknownProvider)?;
        if let Some(error) = &params.error {
            return Err(OAuthError::Denied(error_code(error)));
        }
        let code = params.code.as_deref().ok_or(OAuthError::MissingCode)?;
        let state = params.state.as_deref().ok_or(OAuthError::StateInvalid)?;
        let claims = state::decode(state, self.keys.state_key())?;
        if claims.prv != name {
            return Err(OAuthError::StateInvalid);
        }
        let csrf = csrf_cookie.ok_or(OAuthError::InvalidState)?;
        if !constant_time_eq(state::csrf_digest(csrf).as_bytes(), claims.csrf.as_bytes()) {
            return Err(OAuthError::InvalidState);
        }
        let binding = StateBinding {
            user: match &claims.sub {
                Some(sub) => Some(sub.parse().map_err(|_| OAuthError::StateInvalid)?),
                None => None,
            },
            next: claims.next.clone(),
        };
        self.spend(&claims, now).await?;
        let verifier = self.pkce_verifier(&claims.jti, csrf);
        let redirect = redirect_url(redirect_uri)?;
        let identity = match provider.config.kind() {
            ProviderKind::OpenId { .. } => {
                let nonce = Nonce::new(self.nonce(&claims.jti, csrf));
                self.openid_identity(provider, redirect, code, verifier, &nonce, params, now)
                    .await?
            }
            ProviderKind::GitHub {
                authorize_url,
                token_url,
                api_url,
            } => {
                let client = github_client(&provider.config, authorize_url, token_url, redirect)?;
                let token = client
                    .exchange_code(AuthorizationCode::new(code.to_owned()))
                    .set_pkce_verifier(verifier)
                    .request_async(&self.http)
                    .await
                    .map_err(|err| OAuthError::Provider(format!("token exchange: {err}")))?;
                self.github_identity(&provider.config, api_url, &token, now)
                    .await?
            }
        };
        Ok(Callback { identity, binding })
    }

    /// Spends a state: the first callback with it goes on, any later one is refused.
    async fn spend(&self, claims: &StateClaims, now: OffsetDateTime) -> Result<(), OAuthError> {
        let once = RateLimit::new(1, time::Duration::seconds(STATE_LIFETIME_SECONDS + 60));
        let key = format!("oauth:state:{}", claims.jti);
        match self.limiter.hit(&key, &once, now).await? {
            RateDecision::Allowed { .. } => Ok(()),
            RateDecision::Limited { .. } => Err(OAuthError::InvalidState),
        }
    }

    fn pkce_verifier(&self, jti: &str, csrf: &str) -> PkceCodeVerifier {
        PkceCodeVerifier::new(self.keys.derive(&["pkce", jti, csrf]))
    }

    fn nonce(&self, jti: &str, csrf: &str) -> String {
        self.keys.derive(&["nonce", jti, csrf])
    }

    /// The provider's metadata and keys, discovered once an hour.
    async fn metadata(&self, provider: &Provider) -> Result<CoreProviderMetadata, OAuthError> {
        let ProviderKind::OpenId { issuer } = provider.config.kind() else {
            return Err(OAuthError::Internal("not an OpenID provider".to_owned()));
        };
        let mut cached = provider.metadata.lock().await;
        if let Some((metadata, fetched)) = cached.as_ref()
            && fetched.elapsed() < METADATA_TTL
        {
            return Ok(metadata.clone());
        }
        let issuer = IssuerUrl::new(issuer.clone())
            .map_err(|err| OAuthError::Internal(format!("issuer URL: {err}")))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|err| OAuthError::Provider(format!("discovery: {err}")))?;
        *cached = Some((metadata.clone(), Instant::now()));
        Ok(metadata)
    }

    /// Fetches the provider's keys again after a token named one we do not know (the
    /// provider rotated its keys), unless that was done moments ago. Whether it did.
    async fn refetch_keys(&self, provider: &Provider) -> Result<bool, OAuthError> {
        {
            let mut last = provider.last_jwks_fetch.lock().await;
            if last.is_some_and(|at| at.elapsed() < JWKS_REFETCH_INTERVAL) {
                return Ok(false);
            }
            *last = Some(Instant::now());
        }
        let metadata = self.metadata(provider).await?;
        let jwks = JsonWebKeySet::fetch_async(metadata.jwks_uri(), &self.http)
            .await
            .map_err(|err| OAuthError::Provider(format!("keys: {err}")))?;
        let mut cached = provider.metadata.lock().await;
        if let Some((metadata, _)) = cached.as_mut() {
            *metadata = metadata.clone().set_jwks(jwks);
        }
        Ok(true)
    }

    async fn oidc_client(
        &self,
        provider: &Provider,
        redirect: RedirectUrl,
    ) -> Result<OidcClient, OAuthError> {
        let metadata = self.metadata(provider).await?;
        // Basic unless the provider says it takes only `client_secret_post`, or a refusal
        // taught us that this client was registered for it.
        let post_only = metadata
            .token_endpoint_auth_methods_supported()
            .is_some_and(|methods| {
                let has = |method: &CoreClientAuthMethod| methods.contains(method);
                has(&CoreClientAuthMethod::ClientSecretPost)
                    && !has(&CoreClientAuthMethod::ClientSecretBasic)
            });
        let auth_type = if post_only || provider.secret_in_body.load(Ordering::Relaxed) {
            AuthType::RequestBody
        } else {
            AuthType::BasicAuth
        };
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(provider.config.client_id().to_owned()),
            Some(ClientSecret::new(
                provider.config.client_secret().to_owned(),
            )),
        )
        .set_auth_type(auth_type)
        .set_redirect_uri(redirect))
    }

    /// Exchanges `code` at the token endpoint; the outer error when there is none.
    async fn exchange(
        &self,
        client: &OidcClient,
        code: &str,
        verifier: &PkceCodeVerifier,
    ) -> Result<
        Result<CoreTokenResponse, RequestTokenError<super::HttpError, BasicErrorResponse>>,
        OAuthError,
    > {
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|err| OAuthError::Provider(format!("no token endpoint: {err}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.secret().clone()));
        Ok(request.request_async(&self.http).await)
    }

    #[allow(clippy::too_many_arguments)]
    async fn openid_identity(
        &self,
        provider: &Provider,
        redirect: RedirectUrl,
        code: &str,
        verifier: PkceCodeVerifier,
        nonce: &Nonce,
        params: &CallbackParams,
        now: OffsetDateTime,
    ) -> Result<OAuthIdentity, OAuthError> {
        if let Some(iss) = &params.iss
            && iss != self.metadata(provider).await?.issuer().as_str()
        {
            return Err(OAuthError::InvalidState);
        }
        let mut client = self.oidc_client(provider, redirect.clone()).await?;
        let token = match self.exchange(&client, code, &verifier).await? {
            Ok(token) => token,
            // The client was registered to send its secret in the body
            // (`client_secret_post`), not in a Basic header: the provider refused it before
            // looking at the code, which is still good. Learn it, and send it that way.
            Err(RequestTokenError::ServerResponse(response))
                if *response.error() == BasicErrorResponseType::InvalidClient
                    && !provider.secret_in_body.swap(true, Ordering::Relaxed) =>
            {
                client = self.oidc_client(provider, redirect.clone()).await?;
                self.exchange(&client, code, &verifier)
                    .await?
                    .map_err(|err| OAuthError::Provider(format!("token exchange: {err}")))?
            }
            Err(err) => return Err(OAuthError::Provider(format!("token exchange: {err}"))),
        };
        let id_token = token
            .id_token()
            .ok_or_else(|| OAuthError::Provider("no ID token".to_owned()))?;
        let verified = id_token.claims(&client.id_token_verifier(), nonce).cloned();
        let claims = match verified {
            Ok(claims) => claims,
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) if self.refetch_keys(provider).await? => {
                let client = self.oidc_client(provider, redirect).await?;
                id_token
                    .claims(&client.id_token_verifier(), nonce)
                    .cloned()
                    .map_err(id_token_error)?
            }
            Err(err) => return Err(id_token_error(err)),
        };
        let subject = claims.subject().clone();
        let mut email = claims.email().map(|email| email.as_str().to_owned());
        let mut email_verified = claims.email_verified().unwrap_or(false);
        if email.is_none()
            && let Ok(request) =
                client.user_info(token.access_token().clone(), Some(subject.clone()))
        {
            let info: CoreUserInfoClaims = request
                .request_async(&self.http)
                .await
                .map_err(|err| OAuthError::Provider(format!("user info: {err}")))?;
            email = info.email().map(|email| email.as_str().to_owned());
            email_verified = info.email_verified().unwrap_or(false);
        }
        let name = provider.config.name();
        let account_id = subject.as_str().to_owned();
        Ok(OAuthIdentity {
            provider: name.to_owned(),
            access_token: Some(
                self.keys
                    .seal(token.access_token().secret(), name, &account_id),
            ),
            refresh_token: token
                .refresh_token()
                .map(|refresh| self.keys.seal(refresh.secret(), name, &account_id)),
            expires_at: expiry(token.expires_in(), now),
            account_id,
            email,
            email_verified,
        })
    }

    async fn github_identity(
        &self,
        provider: &OAuthProvider,
        api_url: &str,
        token: &oauth2::basic::BasicTokenResponse,
        now: OffsetDateTime,
    ) -> Result<OAuthIdentity, OAuthError> {
        let bearer = token.access_token().secret();
        let api = api_url.trim_end_matches('/');
        let user = self
            .http
            .get_json(&format!("{api}/user"), bearer)
            .await
            .map_err(|err| OAuthError::Provider(err.to_string()))?;
        let account_id = match user.get("id") {
            Some(serde_json::Value::Number(id)) => id.to_string(),
            _ => return Err(OAuthError::Provider("GitHub gave no account id".to_owned())),
        };
        let emails = self
            .http
            .get_json(&format!("{api}/user/emails"), bearer)
            .await
            .map_err(|err| OAuthError::Provider(err.to_string()))?;
        let (email, email_verified) = github_email(&emails);
        let name = provider.name();
        Ok(OAuthIdentity {
            provider: name.to_owned(),
            access_token: Some(self.keys.seal(bearer, name, &account_id)),
            refresh_token: token
                .refresh_token()
                .map(|refresh| self.keys.seal(refresh.secret(), name, &account_id)),
            expires_at: expiry(token.expires_in(), now),
            account_id,
            email,
            email_verified,
        })
    }
}

/// GitHub's primary verified address, else any verified one; unverified addresses are never
/// used.
fn github_email(emails: &serde_json::Value) -> (Option<String>, bool) {
    let Some(list) = emails.as_array() else {
        return (None, false);
    };
    let verified = |entry: &&serde_json::Value| entry.get("verified") == Some(&true.into());
    let primary = |entry: &&serde_json::Value| entry.get("primary") == Some(&true.into());
    let chosen = list
        .iter()
        .filter(verified)
        .find(primary)
        .or_else(|| list.iter().find(verified));
    match chosen
        .and_then(|entry| entry.get("email"))
        .and_then(|email| email.as_str())
    {
        Some(email) => (Some(email.to_owned()), true),
        None => (None, false),
    }
}

fn github_client(
    provider: &OAuthProvider,
    authorize_url: &str,
    token_url: &str,
    redirect: RedirectUrl,
) -> Result<
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>,
    OAuthError,
> {
    let auth = AuthUrl::new(authorize_url.to_owned())
        .map_err(|err| OAuthError::Internal(format!("authorize URL: {err}")))?;
    let token = TokenUrl::new(token_url.to_owned())
        .map_err(|err| OAuthError::Internal(format!("token URL: {err}")))?;
    Ok(
        BasicClient::new(ClientId::new(provider.client_id().to_owned()))
            .set_client_secret(ClientSecret::new(provider.client_secret().to_owned()))
            .set_auth_type(AuthType::RequestBody)
            .set_auth_uri(auth)
            .set_token_uri(token)
            .set_redirect_uri(redirect),
    )
}

fn redirect_url(redirect_uri: &str) -> Result<RedirectUrl, OAuthError> {
    RedirectUrl::new(redirect_uri.to_owned())
        .map_err(|err| OAuthError::Internal(format!("redirect URI: {err}")))
}

fn id_token_error(err: ClaimsVerificationError) -> OAuthError {
    match err {
        ClaimsVerificationError::InvalidNonce(_) => OAuthError::InvalidState,
        other => OAuthError::Provider(format!("ID token: {other}")),
    }
}

fn expiry(expires_in: Option<Duration>, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let seconds = i64::try_from(expires_in?.as_secs()).ok()?;
    now.checked_add(time::Duration::seconds(seconds))
}

/// A provider's `error` parameter, kept to the characters RFC 6749 allows in it, so that no
/// attacker-chosen text reaches a response.
fn error_code(error: &str) -> String {
    let code: String = error
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .take(64)
        .collect();
    if code.is_empty() {
        "Bad Request".to_owned()
    } else {
        code
    }
}

fn random_token() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_uses_only_verified_addresses_preferring_the_primary() {
        let emails = serde_json::json!([
            {"email": "old@example.com", "primary": false, "verified": true},
            {"email": "main@example.com", "primary": true, "verified": true},
        ]);
        assert_eq!(
            github_email(&emails),
            (Some("main@example.com".to_owned()), true)
        );
        let unverified_primary = serde_json::json!([
            {"email": "main@example.com", "primary": true, "verified": false},
            {"email": "other@example.com", "primary": false, "verified": true},
        ]);
        assert_eq!(
            github_email(&unverified_primary),
            (Some("other@example.com".to_owned()), true)
        );
        let none =
            serde_json::json!([{"email": "x@example.com", "primary": true, "verified": false}]);
        assert_eq!(github_email(&none), (None, false));
        assert_eq!(
            github_email(&serde_json::json!({"message": "Bad"})),
            (None, false)
        );
    }

    #[test]
    fn provider_errors_are_reduced_to_a_code() {
        assert_eq!(error_code("access_denied"), "access_denied");
        assert_eq!(
            error_code("<script>alert(1)</script>"),
            "scriptalert1script"
        );
        assert_eq!(error_code("\u{202e}"), "Bad Request");
    }
}
