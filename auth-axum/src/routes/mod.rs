//! The ready-made routers of the HTTP contract, and [`Auth`], which builds them.

mod admin;
mod events;
mod jwks;
mod login;
mod me;
#[cfg(feature = "mfa")]
mod mfa;
#[cfg(feature = "oauth")]
mod oauth;
mod paging;
mod path_id;
mod recovery;
mod register;
mod session_read;
mod update_body;
mod user_list_query;

use auth_core::{Profile, UserManager};
use axum::Router;
use axum::extract::FromRef;
use axum::http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::body_limit::BodyLimitLayer;
use crate::config::AuthConfig;
use crate::error::ApiError;
use crate::state::AuthCore;

/// The state of an app: a [`UserManager`] with its HTTP settings. It builds the routers, and
/// is the state the extractors read: [`AuthUser<P>`](crate::AuthUser) takes the manager from
/// it, the profile-free extractors take its [`AuthCore`] (`FromRef`). Cheap to clone.
///
/// ```
/// use std::sync::Arc;
/// use auth_axum::{Auth, AuthConfig, CurrentUser};
/// use auth_core::{JwtAlgorithm, JwtCodec, JwtKeys, MemorySessionStore, MemoryUserStore, NoProfile, UserManager};
/// use axum::{Router, routing::get};
///
/// async fn me(user: CurrentUser) -> String {
///     user.id.to_string()
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let keys = JwtKeys::hmac(JwtAlgorithm::HS256, b"replace me with 32+ random bytes!!")?;
/// let manager = UserManager::<NoProfile>::builder(
///     Arc::new(MemoryUserStore::new()),
///     Arc::new(MemorySessionStore::new()),
///     JwtCodec::new(keys, "my-app"),
/// )
/// .build();
/// let auth = Auth::new(manager, AuthConfig::default());
/// let app: Router = Router::new()
///     .route("/me", get(me))
///     .merge(auth.routes())
///     .with_state(auth);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Auth<P: Profile> {
    manager: UserManager<P>,
    core: AuthCore,
    #[cfg(feature = "oauth")]
    oauth: Option<std::sync::Arc<auth_core::oauth::OAuthClient>>,
}

impl<P: Profile> Clone for Auth<P> {
    fn clone(&self) -> Self {
        Self {
            manager: self.manager.clone(),
            core: self.core.clone(),
            #[cfg(feature = "oauth")]
            oauth: self.oauth.clone(),
        }
    }
}

impl<P: Profile> FromRef<Auth<P>> for AuthCore {
    fn from_ref(auth: &Auth<P>) -> Self {
        auth.core.clone()
    }
}

impl<P: Profile> Auth<P> {
    /// The state over a manager and the HTTP settings.
    pub fn new(manager: UserManager<P>, config: AuthConfig) -> Self {
        let core = AuthCore::new(&manager, config);
        Self {
            manager,
            core,
            #[cfg(feature = "oauth")]
            oauth: None,
        }
    }

    /// Adds sign-in with the providers of `client` (feature `oauth`): [`Auth::routes`] then
    /// includes [`Auth::oauth_routes`]. The manager needs an
    /// [`OAuthAccountStore`](auth_core::OAuthAccountStore)
    /// ([`UserManagerBuilder::with_oauth_accounts`](auth_core::UserManagerBuilder::with_oauth_accounts)).
    #[cfg(feature = "oauth")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oauth")))]
    #[must_use]
    pub fn with_oauth(mut self, client: auth_core::oauth::OAuthClient) -> Self {
        self.oauth = Some(std::sync::Arc::new(client));
        self
    }

    /// The OAuth client, when [`Auth::with_oauth`] gave one.
    #[cfg(feature = "oauth")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oauth")))]
    pub fn oauth_client(&self) -> Option<&auth_core::oauth::OAuthClient> {
        self.oauth.as_deref()
    }

    /// For every provider `{name}` of the OAuth client: `GET /auth/{name}/authorize` and
    /// `/callback` (tokens in JSON), `GET /auth/cookie/{name}/authorize` and `/callback` (a
    /// browser: redirects and cookies), `GET /auth/associate/{name}/authorize` and `/callback`
    /// (link to the signed-in user); and `GET /users/me/oauth-accounts`,
    /// `DELETE /users/me/oauth-accounts/{name}/{account_id}`. No routes without a client.
    #[cfg(feature = "oauth")]
    #[cfg_attr(docsrs, doc(cfg(feature = "oauth")))]
    pub fn oauth_routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        match &self.oauth {
            Some(client) => self.finish(oauth::routes(client)),
            None => Router::new(),
        }
    }

    /// The profile-free part, for an app state that exposes it to [`CurrentUser`](crate::CurrentUser)
    /// and the role checks through `FromRef`.
    pub fn core(&self) -> AuthCore {
        self.core.clone()
    }

    pub(crate) fn core_ref(&self) -> &AuthCore {
        &self.core
    }

    /// The manager.
    pub fn manager(&self) -> &UserManager<P> {
        &self.manager
    }

    /// The HTTP settings.
    pub fn config(&self) -> &AuthConfig {
        self.core.config()
    }

    /// Every route of the contract: registration, each backend's login / refresh / logout,
    /// verification, reset, `/users/me` with its sessions, and administration; and
    /// [`Auth::jwks_routes`] when the tokens are signed with a public-key algorithm.
    pub fn routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let mut router = self
            .register_routes()
            .merge(self.verify_routes())
            .merge(self.reset_routes())
            .merge(self.users_routes())
            .merge(self.jwks_routes());
        for backend in &self.config().backends {
            router = router.merge(self.backend_routes(&backend.name));
        }
        #[cfg(feature = "oauth")]
        {
            router = router.merge(self.oauth_routes());
        }
        router
    }

    /// `GET /.well-known/jwks.json`: the public keys of the codec's key set
    /// ([`JwtCodec::jwks`](auth_core::JwtCodec::jwks)), each with `kid`, `alg` and
    /// `use: "sig"`, read from the current set at each request (a reload shows at once), with
    /// `Cache-Control: public, max-age=300`. No route when the set holds no RS256, ES256 or
    /// EdDSA key: an HMAC secret is never published.
    pub fn jwks_routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        if self.manager.codec().has_public_keys() {
            jwks::routes(self)
        } else {
            Router::new()
        }
    }

    /// `POST /auth/register`.
    pub fn register_routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        self.finish(register::routes())
    }

    /// `POST /auth/{name}/login`, `/refresh` and `/logout` of the backend called `name`; no
    /// routes when there is no such backend.
    pub fn backend_routes<S: Clone + Send + Sync + 'static>(&self, name: &str) -> Router<S> {
        match self.config().backends.iter().find(|b| b.name == name) {
            #[cfg(feature = "mfa")]
            Some(backend) => {
                self.finish(login::routes(backend).merge(mfa::backend_routes(backend)))
            }
            #[cfg(not(feature = "mfa"))]
            Some(backend) => self.finish(login::routes(backend)),
            None => Router::new(),
        }
    }

    /// `POST /auth/request-verify-token` and `POST /auth/verify`.
    pub fn verify_routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        self.finish(recovery::verify_routes())
    }

    /// `POST /auth/forgot-password` and `POST /auth/reset-password`.
    pub fn reset_routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        self.finish(recovery::reset_routes())
    }

    /// `/users/me`, its sessions and its events, and the superusers' `/users`,
    /// `/users/{id}` and `/users/{id}/events`.
    pub fn users_routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let router = me::routes().merge(admin::routes()).merge(events::routes());
        #[cfg(feature = "mfa")]
        let router = router.merge(mfa::routes());
        self.finish(router)
    }

    /// A JSON `405` for a known path with another method, the body limit (a declared length
    /// over it is refused before the body is read),
    /// `Cache-Control: no-store` and `nosniff` on every auth route, then the state.
    fn finish<S: Clone + Send + Sync + 'static>(&self, router: Router<Self>) -> Router<S> {
        router
            // axum's own 405 has an empty body; clients of the contract expect `{"detail"}`.
            .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
            .layer(BodyLimitLayer::new(self.config().body_limit))
            .layer(SetResponseHeaderLayer::overriding(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .with_state(self.clone())
    }
}
