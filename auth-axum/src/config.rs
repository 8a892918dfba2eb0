//! [`AuthConfig`]: backends, cookies, cross-site rules, proxies and limits of the HTTP layer.

use std::net::IpAddr;

use auth_core::env::{Env, EnvError};
use ipnet::IpNet;

/// Where a login backend's tokens travel.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// `Authorization: Bearer <token>`; login answers the tokens in JSON.
    Bearer,
    /// HTTP-only cookies; login answers `204` and sets them.
    Cookie(CookieSettings),
}

/// One login backend: a name (its routes live under `/auth/{name}`) and a transport. The
/// token strategy is the manager's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// The name, as in `/auth/jwt/login`.
    pub name: String,
    /// How tokens travel.
    pub transport: Transport,
    /// Refuse login with `LOGIN_USER_NOT_VERIFIED` until the address is verified.
    pub require_verification: bool,
}

impl Backend {
    /// A bearer backend (`jwt` in the reference server).
    pub fn bearer(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            transport: Transport::Bearer,
            require_verification: false,
        }
    }

    /// A cookie backend (`cookie` in the reference server).
    pub fn cookie(name: impl Into<String>, settings: CookieSettings) -> Self {
        Self {
            name: name.into(),
            transport: Transport::Cookie(settings),
            require_verification: false,
        }
    }

    /// Requires a verified address at login.
    #[must_use]
    pub fn with_require_verification(mut self, require: bool) -> Self {
        self.require_verification = require;
        self
    }
}

/// The auth cookies' names and attributes (see `docs/SECURITY.md`, "Cookies and CSRF").
///
/// Both cookies are `HttpOnly`, have no `Domain`, and carry a `Max-Age` matching their token.
/// The access cookie is `SameSite=Lax`, the refresh cookie `SameSite=Strict`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieSettings {
    /// Name of the access cookie (default `access_token`).
    pub access_name: String,
    /// Name of the refresh cookie (default `refresh_token`).
    pub refresh_name: String,
    /// Path of the access cookie (default `/`).
    pub access_path: String,
    /// Path of the refresh cookie (default `/`, which the transparent-refresh middleware
    /// needs; an app without it can scope the cookie to the backend's prefix, such as
    /// `/auth/cookie`).
    pub refresh_path: String,
    /// Whether the cookies are `Secure` (default `true`; switch off only for plain-http
    /// development).
    pub secure: bool,
}

impl Default for CookieSettings {
    fn default() -> Self {
        Self {
            access_name: "access_token".to_owned(),
            refresh_name: "refresh_token".to_owned(),
            access_path: "/".to_owned(),
            refresh_path: "/".to_owned(),
            secure: true,
        }
    }
}

impl CookieSettings {
    /// Sets whether the cookies are `Secure`.
    #[must_use]
    pub fn with_secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// Scopes the refresh cookie to `path`.
    #[must_use]
    pub fn with_refresh_path(mut self, path: impl Into<String>) -> Self {
        self.refresh_path = path.into();
        self
    }
}

/// The HTTP layer's settings. `Default` is the reference server's: a bearer backend `jwt`, a
/// cookie backend `cookie`, 64 KiB bodies, no trusted proxies.
///
/// ```
/// use auth_axum::{AuthConfig, Backend, CookieSettings};
///
/// let config = AuthConfig::default()
///     .with_backends([
///         Backend::bearer("jwt"),
///         Backend::cookie("cookie", CookieSettings::default().with_secure(false)),
///     ])
///     .with_allowed_origins(["https://app.example.com"])
///     .with_trusted_proxies(["10.0.0.0/8".parse()?]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// The login backends.
    pub backends: Vec<Backend>,
    /// Origins, besides the server's own, allowed to make cookie-authenticated unsafe
    /// requests (`https://app.example.com`).
    pub allowed_origins: Vec<String>,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// The largest request body the auth routes accept (default 64 KiB); larger is `413`.
    pub body_limit: usize,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            backends: vec![
                Backend::bearer("jwt"),
                Backend::cookie("cookie", CookieSettings::default()),
            ],
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            body_limit: 64 * 1024,
        }
    }
}

impl AuthConfig {
    /// Replaces the backends.
    #[must_use]
    pub fn with_backends(mut self, backends: impl IntoIterator<Item = Backend>) -> Self {
        self.backends = backends.into_iter().collect();
        self
    }

    /// Adds origins allowed to make cookie-authenticated unsafe requests.
    #[must_use]
    pub fn with_allowed_origins<S: Into<String>>(
        mut self,
        origins: impl IntoIterator<Item = S>,
    ) -> Self {
        self.allowed_origins.extend(
            origins
                .into_iter()
                .map(|o| o.into().trim_end_matches('/').to_owned()),
        );
        self
    }

    /// Sets the proxies whose `X-Forwarded-For` is believed.
    #[must_use]
    pub fn with_trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpNet>) -> Self {
        self.trusted_proxies = proxies.into_iter().collect();
        self
    }

    /// Sets the body limit of the auth routes.
    #[must_use]
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The defaults, with the variables of [`AuthConfig::with_lookup`] read from the process
    /// environment.
    ///
    /// # Errors
    /// As [`AuthConfig::with_lookup`].
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_lookup(&Env::process())
    }

    /// The defaults, with the variables of [`AuthConfig::with_lookup`] read from `env`.
    ///
    /// # Errors
    /// As [`AuthConfig::with_lookup`].
    pub fn from_lookup(env: &Env) -> Result<Self, EnvError> {
        Self::default().with_lookup(env)
    }

    /// This configuration with the variables `env` sets:
    ///
    /// | variable | meaning | default |
    /// |---|---|---|
    /// | `COOKIE_SECURE` | a flag: the `Secure` attribute of every cookie backend's cookies | `true` |
    /// | `ALLOWED_ORIGINS` | comma-separated origins added to [`allowed_origins`](Self::allowed_origins) | none |
    /// | `TRUSTED_PROXIES` | comma-separated addresses or networks: [`trusted_proxies`](Self::trusted_proxies) | none |
    ///
    /// ```
    /// use auth_axum::AuthConfig;
    /// use auth_core::env::Env;
    ///
    /// let env = Env::from_map([("COOKIE_SECURE", "false"), ("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")]);
    /// let config = AuthConfig::from_lookup(&env)?;
    /// assert!(!config.cookie_settings().is_some_and(|cookies| cookies.secure));
    /// assert_eq!(config.trusted_proxies.len(), 2);
    /// # Ok::<(), auth_core::env::EnvError>(())
    /// ```
    ///
    /// # Errors
    /// An [`EnvError`] naming a variable that does not parse.
    pub fn with_lookup(mut self, env: &Env) -> Result<Self, EnvError> {
        if env.string("COOKIE_SECURE").is_some() {
            let secure = env.flag("COOKIE_SECURE", true)?;
            for backend in &mut self.backends {
                if let Transport::Cookie(settings) = &mut backend.transport {
                    settings.secure = secure;
                }
            }
        }
        let trusted_proxies = env
            .list("TRUSTED_PROXIES")
            .iter()
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        EnvError::new(
                            "TRUSTED_PROXIES",
                            format!("{entry:?} is not an address or network"),
                            "Use addresses or networks like 10.0.0.0/8, separated by commas.",
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !trusted_proxies.is_empty() {
            self = self.with_trusted_proxies(trusted_proxies);
        }
        Ok(self.with_allowed_origins(env.list("ALLOWED_ORIGINS")))
    }

    /// Whether the first cookie backend's cookies are `Secure` (`true` without one).
    pub fn cookies_secure(&self) -> bool {
        self.cookie_settings().is_none_or(|cookies| cookies.secure)
    }

    /// The first cookie backend's settings, which the extractors and the middleware read.
    pub fn cookie_settings(&self) -> Option<&CookieSettings> {
        self.backends
            .iter()
            .find_map(|backend| match &backend.transport {
                Transport::Cookie(settings) => Some(settings),
                Transport::Bearer => None,
            })
    }

    pub(crate) fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }
}
