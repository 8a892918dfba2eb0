//! The state: [`Auth<P>`](crate::Auth), and its profile-free part [`AuthCore`].
//!
//! The design is explained in the crate documentation, under "State".

use std::fmt;
use std::sync::Arc;

use auth_core::{Authenticator, Profile, UserManager};

use crate::config::AuthConfig;

/// The profile-free part of [`Auth<P>`](crate::Auth): the per-request token check and the
/// HTTP settings, which is all that [`CurrentUser`](crate::CurrentUser), the role checks and
/// [`Client`](crate::Client) read. Cheap to clone (one reference count).
///
/// Get it from the state with `FromRef` (`Auth<P>` provides it) or [`Auth::core`](crate::Auth::core).
#[derive(Clone)]
pub struct AuthCore {
    inner: Arc<Inner>,
}

struct Inner {
    /// A handle to the manager's own authenticator (shared stores), not a second one.
    authenticator: Authenticator,
    config: AuthConfig,
    /// Whether the manager throttles anything per client address.
    per_ip_limits: bool,
}

impl fmt::Debug for AuthCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthCore")
            .field("authenticator", &self.inner.authenticator)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl AuthCore {
    /// The profile-free part for `manager` and the HTTP settings.
    pub(crate) fn new<P: Profile>(manager: &UserManager<P>, config: AuthConfig) -> Self {
        let limits = &manager.config().rate_limits;
        let per_ip_limits =
            limits.login_ip.is_some() || limits.register_ip.is_some() || limits.token_ip.is_some();
        Self {
            inner: Arc::new(Inner {
                authenticator: manager.authenticator().clone(),
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

    /// Whether the manager has a per-client-address throttle configured.
    pub(crate) fn has_per_ip_limits(&self) -> bool {
        self.inner.per_ip_limits
    }
}
