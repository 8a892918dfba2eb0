//! Sign in with OAuth 2.0 and OpenID Connect providers (feature `oauth`): Google, Microsoft,
//! GitLab, any OpenID provider by its issuer URL, and GitHub.
//!
//! [`OAuthClient`] runs the protocol (built on the `openidconnect` and `oauth2` crates);
//! [`UserManager::oauth_login`](crate::UserManager::oauth_login) and friends decide what a
//! provider account means for the user store; `auth-axum`'s OAuth routers put both on HTTP.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use auth_core::MemoryRateLimiter;
//! use auth_core::oauth::{OAuthClient, OAuthKeys, OAuthProvider, StateBinding};
//!
//! let keys = OAuthKeys::new(b"32 or more random bytes from a secret store").ok_or("short key")?;
//! let client = OAuthClient::new(
//!     [OAuthProvider::google("client-id", "client-secret")],
//!     keys,
//!     Arc::new(MemoryRateLimiter::new()),
//! )?;
//! let start = client
//!     .authorize(
//!         "google",
//!         "https://app.example.com/auth/google/callback",
//!         &[],
//!         &StateBinding::default(),
//!         time::OffsetDateTime::now_utc(),
//!     )
//!     .await?;
//! // Send the browser to `start.url`, with `start.csrf` in an HttpOnly cookie.
//! # let _ = start;
//! # Ok(())
//! # }
//! ```

mod client;
mod http;
mod keys;
mod provider;
mod settings;
mod state;

pub use client::{Authorization, Callback, CallbackParams, OAuthClient, OAuthError, StateBinding};
pub use http::HttpError;
pub use keys::{MIN_SECRET_LEN, OAuthKeys};
pub use provider::{OAuthProvider, ProviderKind};
pub use settings::OAuthSettings;
