//! [`AuthState`]: what the extractors, routers and middleware share.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use auth_core::{AuthError, Authenticator, ClientInfo, Profile, TokenPair, UserManager};
use futures::future::BoxFuture;

use crate::config::AuthConfig;

/// What the HTTP layer needs from the manager without knowing its profile type.
pub(crate) trait ErasedManager: Send + Sync + 'static {
    fn refresh<'a>(
        &'a self,
        token: &'a str,
        client: &'a ClientInfo,
    ) -> BoxFuture<'a, Result<TokenPair, AuthError>>;

    fn as_any(&self) -> &dyn Any;
}

impl<P: Profile> ErasedManager for UserManager<P> {
    fn refresh<'a>(
        &'a self,
        token: &'a str,
        client: &'a ClientInfo,
    ) -> BoxFuture<'a, Result<TokenPair, AuthError>> {
        Box::pin(UserManager::refresh(self, token, client))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The state every extractor and router of this crate reads: the token check, the manager
/// and the [`AuthConfig`]. Cheap to clone.
///
/// Use it as the router's state, or put it in the app's own state and expose it with
/// `FromRef` (with axum's `macros` feature, `#[derive(FromRef)]` writes this impl):
///
/// ```
/// use axum::extract::FromRef;
/// use auth_axum::AuthState;
///
/// #[derive(Clone)]
/// struct AppState {
///     auth: AuthState,
///     greeting: &'static str,
/// }
///
/// impl FromRef<AppState> for AuthState {
///     fn from_ref(state: &AppState) -> Self {
///         state.auth.clone()
///     }
/// }
/// ```
#[derive(Clone)]
pub struct AuthState {
    // One `Arc`: extractors get the state through `FromRef`, which clones it on every
    // request, so a clone is one reference count, not one per part.
    inner: Arc<Inner>,
}

struct Inner {
    authenticator: Authenticator,
    manager: Box<dyn ErasedManager>,
    config: AuthConfig,
    /// Whether the manager throttles anything per client address.
    per_ip_limits: bool,
}

impl fmt::Debug for AuthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthState")
            .field("authenticator", &self.inner.authenticator)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl AuthState {
    /// State over a manager and the HTTP settings.
    pub fn new<P: Profile>(manager: UserManager<P>, config: AuthConfig) -> Self {
        let limits = &manager.config().rate_limits;
        let per_ip_limits =
            limits.login_ip.is_some() || limits.register_ip.is_some() || limits.token_ip.is_some();
        Self {
            inner: Arc::new(Inner {
                authenticator: manager.authenticator().clone(),
                manager: Box::new(manager),
                config,
                per_ip_limits,
            }),
        }
    }

    /// The HTTP settings.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// The per-request token check.
    pub fn authenticator(&self) -> &Authenticator {
        &self.inner.authenticator
    }

    /// The manager, if its profile type is `P`.
    pub fn manager<P: Profile>(&self) -> Option<&UserManager<P>> {
        self.inner.manager.as_any().downcast_ref()
    }

    /// Whether the manager has a per-client-address throttle configured.
    pub(crate) fn has_per_ip_limits(&self) -> bool {
        self.inner.per_ip_limits
    }

    pub(crate) fn erased(&self) -> &dyn ErasedManager {
        &*self.inner.manager
    }
}
