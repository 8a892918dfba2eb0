//! # auth-axum
//!
//! User accounts for axum apps: extractors, the bearer and cookie transports, a
//! deny-by-default middleware, and the ready-made routers of the HTTP contract, wire-compatible
//! with fastapi-users 15.
//!
//! ## A protected route in a stock axum app
//!
//! ```
//! use std::sync::Arc;
//! use auth_axum::{Auth, AuthConfig, CurrentUser};
//! use auth_core::{JwtAlgorithm, JwtCodec, JwtKeys, MemorySessionStore, MemoryUserStore, NoProfile, UserManager};
//! use axum::{Router, routing::get};
//!
//! async fn me(user: CurrentUser) -> String {
//!     format!("hello, {}", user.id)
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = JwtKeys::hmac(JwtAlgorithm::HS256, b"replace me with 32+ random bytes!!")?;
//! let manager = UserManager::<NoProfile>::builder(
//!     Arc::new(MemoryUserStore::new()),
//!     Arc::new(MemorySessionStore::new()),
//!     JwtCodec::new(keys, "my-app"),
//! )
//! .build();
//! let auth = Auth::new(manager, AuthConfig::default());
//! let app: Router = Router::new()
//!     .route("/me", get(me))
//!     .merge(auth.routes())
//!     .with_state(auth);
//! # Ok(())
//! # }
//! ```
//!
//! That mounts registration, login, refresh and logout for a bearer backend (`/auth/jwt/...`)
//! and a cookie backend (`/auth/cookie/...`), verification, password reset, `/users/me` with
//! its sessions, the superusers' `/users`, and `/.well-known/jwks.json` when tokens are signed
//! with a public-key algorithm. Serve it with [`serve`], which gives handlers
//! the client's address (so per-IP throttling sees the client) and cuts off slow and idle
//! clients.
//!
//! ## HTTP hygiene
//!
//! | item | what it does |
//! |---|---|
//! | [`serve`], [`ServeConfig`] | header, body and idle timeouts, a connection cap, graceful shutdown |
//! | [`BodyLimitLayer`] | `413` for a declared body over the limit, before reading it |
//! | [`RequestIdLayer`] | a request id per request; a client's only when harmless in logs |
//! | [`safe_next`] | the one rule for a redirect target after login |
//! | [`not_found`] | the fallback: `404 {"detail":"Not Found"}` |
//!
//! ## State: one value, typed by its profile
//!
//! An app holds one value, [`Auth<P>`](Auth): the [`UserManager<P>`](auth_core::UserManager) and the HTTP
//! settings. It builds the routers, the routers run on it, and it is the router state of the
//! app (`.with_state(auth)`), or a field of the app's own state.
//!
//! Most extractors do not need the profile: [`CurrentUser`], the role
//! checks and [`Client`] read the token and the settings only. They ask for
//! [`AuthCore`], which every `Auth<P>` hands out through `FromRef`, so they work unchanged
//! whatever profile an app chose. [`AuthUser<P>`](AuthUser) loads the user from the
//! store and needs the manager: it asks for `Auth<P>` itself, so an `AuthUser<Other>` in an
//! app whose state is `Auth<Mine>` is a compile error, not a run-time failure.
//!
//! Why `Auth<P>` rather than a separate state type: the routers already need the typed
//! manager, so making the builder the state means an app names one type and writes
//! `.merge(auth.routes()).with_state(auth)`; nothing is copied or converted. The profile-free
//! part is one reference-counted pointer holding a handle to the manager's own token check
//! (the same stores, not a second authenticator), so taking it per request is one count.
//!
//! An app with its own state exposes what its handlers use, `AuthCore` for the profile-free
//! extractors and `Auth<P>` for `AuthUser<P>`; with axum's `macros` feature
//! `#[derive(FromRef)]` writes both impls from two fields (`auth.core()` is cheap):
//!
//! ```
//! use axum::extract::FromRef;
//! use auth_axum::{Auth, AuthCore};
//! use auth_core::NoProfile;
//!
//! #[derive(Clone)]
//! struct AppState {
//!     auth: Auth<NoProfile>,
//!     greeting: &'static str,
//! }
//!
//! // For `CurrentUser`, the role checks and `Client`.
//! impl FromRef<AppState> for AuthCore {
//!     fn from_ref(state: &AppState) -> Self {
//!         state.auth.core()
//!     }
//! }
//!
//! // For `AuthUser<NoProfile>`.
//! impl FromRef<AppState> for Auth<NoProfile> {
//!     fn from_ref(state: &AppState) -> Self {
//!         state.auth.clone()
//!     }
//! }
//! ```
//!
//! A profile mismatch does not compile:
//!
//! ```compile_fail
//! use auth_axum::{Auth, AuthUser};
//! use auth_core::NoProfile;
//! use axum::{Router, routing::get};
//!
//! #[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
//! struct Other {
//!     nickname: Option<String>,
//! }
//!
//! async fn whoami(AuthUser(user): AuthUser<Other>) -> String {
//!     user.email.to_string()
//! }
//!
//! fn app(auth: Auth<NoProfile>) -> Router {
//!     Router::new().route("/whoami", get(whoami)).with_state(auth)
//! }
//! ```
//!
//! The same app with the state of the handler's profile compiles:
//!
//! ```
//! use auth_axum::{Auth, AuthUser};
//! use axum::{Router, routing::get};
//!
//! #[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
//! struct Other {
//!     nickname: Option<String>,
//! }
//!
//! async fn whoami(AuthUser(user): AuthUser<Other>) -> String {
//!     user.email.to_string()
//! }
//!
//! fn app(auth: Auth<Other>) -> Router {
//!     Router::new().route("/whoami", get(whoami)).with_state(auth)
//! }
//! ```
//!
//! ## Extractors
//!
//! | extractor | passes | rejects ([`AuthRejection`]) |
//! |---|---|---|
//! | [`CurrentUser`] | a valid access token (bearer or cookie) of a live session | `401` `MissingCredentials`, `InvalidCredentials`; `403` `CrossSite` |
//! | `Option<CurrentUser>` | always (`None` when anonymous: no token, or one that does not count) | `403` `CrossSite` |
//! | [`VerifiedUser`] | ... whose address is verified | as `CurrentUser`; `403` `Forbidden` |
//! | [`RequireAdmin`] | ... of a superuser | as `CurrentUser`; `403` `Forbidden` |
//! | [`RequireRole<R>`](RequireRole), [`RequireAuthor`], [`RequireReader`] | ... with the role (superusers pass) | as `CurrentUser`; `403` `Forbidden` |
//! | [`AuthUser<P>`](AuthUser) | ... whose whole user is loaded from the store | as `CurrentUser` |
//!
//! A store that is down answers `503` (`Unavailable`) everywhere. [`CurrentUser`] and the role
//! checks read the token's claims: no user-store round trip.
//! With revocation checking on (the default) the session is checked in the session store, so a
//! logout is refused at once everywhere. The role aliases are type aliases: destructure them
//! as `RequireRole(user, ..): RequireAuthor`, or read the user through them
//! (`author.id`). Roles, the administration routes and the first superuser are explained in
//! `docs/ROLES.md` of the repository.
//!
//! ## Errors
//!
//! The extractors reject with [`AuthRejection`], a typed enum a handler can match on; it
//! answers through the same mapping as the routes. Every failure becomes the contract's
//! response in one place, [`ApiError`]: `detail` codes,
//! FastAPI-style `422` bodies, `WWW-Authenticate: Bearer` on `401`, `Retry-After` on `429`,
//! `Cache-Control: no-store`. Internal errors are logged and answered without detail.
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `openapi` | on | `Auth::openapi` and `Auth::openapi_with_profile`: the OpenAPI 3.1 document of the routers (pulls in utoipa) |
//! | `bcrypt` | on | verifying bcrypt hashes of users imported from fastapi-users, Django or passlib (upgraded to Argon2id at their next login) |
//! | `metrics` | off | [`metrics::HttpMetricsLayer`]: requests by method, matched route and status, and their duration, through the `metrics` facade; turns on auth-core's `metrics` too |
//!
//! `default-features = false` leaves both out; axum itself is used without its default
//! features (only `form`, `multipart`, `query`, `matched-path`, `original-uri` and `tokio`).
#![forbid(unsafe_code)]

mod body_limit;
mod client;
mod config;
mod error;
mod extract;
mod json;
mod layer;
#[cfg(feature = "metrics")]
pub mod metrics;
mod next;
#[cfg(feature = "openapi")]
mod openapi;
mod request_id;
mod routes;
mod serve;
mod state;
mod transport;

pub use body_limit::{BodyLimit, BodyLimitLayer};
pub use client::Client;
pub use config::{AuthConfig, Backend, CookieSettings, Transport};
pub use error::{Action, ApiError, UNAVAILABLE_RETRY_AFTER_SECONDS, not_found};
pub use extract::{
    Admin, AuthRejection, AuthUser, Author, CurrentUser, Reader, RequireAdmin, RequireAuthor,
    RequireReader, RequireRole, Role, VerifiedUser,
};
pub use json::{JsonBody, json_response};
pub use layer::{AuthLayer, AuthService};
pub use next::safe_next;
pub use request_id::{RequestIdLayer, RequestIdService, is_valid_request_id};
pub use routes::Auth;
pub use serve::{ServeConfig, serve};
pub use state::AuthCore;
pub use transport::TokenSource;

pub use auth_core;

// The roles guide's examples compile and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/ROLES.md")]
struct RolesDoc;
