//! [`OAuthProvider`]: one provider an app lets its users sign in with, and the presets.

use std::fmt;

/// How a provider is spoken to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderKind {
    /// An OpenID Connect provider, found by discovery at `issuer`
    /// (`{issuer}/.well-known/openid-configuration`): ID tokens are verified against its
    /// published keys, with a nonce.
    OpenId {
        /// The issuer URL, exactly as the provider's ID tokens name it.
        issuer: String,
    },
    /// GitHub: plain OAuth 2.0; the account and its verified addresses come from its API.
    GitHub {
        /// The authorization endpoint (`https://github.com/login/oauth/authorize`).
        authorize_url: String,
        /// The token endpoint (`https://github.com/login/oauth/access_token`).
        token_url: String,
        /// The API root (`https://api.github.com`).
        api_url: String,
    },
}

/// One provider: its name in the routes (`/auth/{name}/authorize`), the app's client
/// credentials there, and the rules for its accounts.
///
/// ```
/// use auth_core::oauth::OAuthProvider;
///
/// let google = OAuthProvider::google("client-id", "client-secret");
/// let corp = OAuthProvider::openid("corp", "https://sso.example.com", "id", "secret")
///     .with_associate_by_email(true);
/// assert_eq!(google.name(), "google");
/// assert!(corp.associate_by_email());
/// ```
#[derive(Clone)]
pub struct OAuthProvider {
    name: String,
    client_id: String,
    client_secret: String,
    kind: ProviderKind,
    scopes: Vec<String>,
    associate_by_email: bool,
}

impl fmt::Debug for OAuthProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthProvider")
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("kind", &self.kind)
            .field("scopes", &self.scopes)
            .field("associate_by_email", &self.associate_by_email)
            .finish()
    }
}

impl OAuthProvider {
    /// Any OpenID Connect provider, found by discovery at `issuer`; asks for the scopes
    /// `openid email profile`.
    pub fn openid(
        name: impl Into<String>,
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            kind: ProviderKind::OpenId {
                issuer: issuer.into(),
            },
            scopes: ["openid", "email", "profile"].map(str::to_owned).to_vec(),
            associate_by_email: false,
        }
    }

    /// Google (OpenID Connect, issuer `https://accounts.google.com`).
    pub fn google(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self::openid(
            "google",
            "https://accounts.google.com",
            client_id,
            client_secret,
        )
    }

    /// GitLab.com (OpenID Connect, issuer `https://gitlab.com`).
    pub fn gitlab(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self::openid("gitlab", "https://gitlab.com", client_id, client_secret)
    }

    /// Microsoft Entra ID for one tenant (OpenID Connect, issuer
    /// `https://login.microsoftonline.com/{tenant}/v2.0`). A tenant id is needed: the shared
    /// `common` endpoint issues tokens whose issuer names each user's own tenant, which no
    /// fixed issuer check accepts.
    pub fn microsoft(
        tenant: &str,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self::openid(
            "microsoft",
            format!("https://login.microsoftonline.com/{tenant}/v2.0"),
            client_id,
            client_secret,
        )
    }

    /// GitHub (plain OAuth 2.0 with scopes `read:user user:email`); only addresses GitHub
    /// marks as verified count as verified.
    pub fn github(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            name: "github".to_owned(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            kind: ProviderKind::GitHub {
                authorize_url: "https://github.com/login/oauth/authorize".to_owned(),
                token_url: "https://github.com/login/oauth/access_token".to_owned(),
                api_url: "https://api.github.com".to_owned(),
            },
            scopes: ["read:user", "user:email"].map(str::to_owned).to_vec(),
            associate_by_email: false,
        }
    }

    /// The same provider under another name (two Google clients, say).
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Replaces the scopes asked for by default.
    #[must_use]
    pub fn with_scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Whether a provider account whose verified address belongs to an existing user is
    /// linked to that user at sign-in (default off: it gets `OAUTH_USER_ALREADY_EXISTS`).
    /// Turn it on only for providers that really verify addresses.
    #[must_use]
    pub fn with_associate_by_email(mut self, on: bool) -> Self {
        self.associate_by_email = on;
        self
    }

    /// The name in the routes.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The app's client id at the provider.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub(crate) fn client_secret(&self) -> &str {
        &self.client_secret
    }

    /// How the provider is spoken to.
    pub fn kind(&self) -> &ProviderKind {
        &self.kind
    }

    /// The scopes asked for by default.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// See [`OAuthProvider::with_associate_by_email`].
    pub fn associate_by_email(&self) -> bool {
        self.associate_by_email
    }
}
