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
//!     .with_state(auth.state());
//! # Ok(())
//! # }
//! ```
//!
//! That mounts registration, login, refresh and logout for a bearer backend (`/auth/jwt/...`)
//! and a cookie backend (`/auth/cookie/...`), verification, password reset, `/users/me` with
//! its sessions, and the superusers' `/users`. Serve it with [`serve`], which gives handlers
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
//! ## Extractors
//!
//! | extractor | passes | rejects |
//! |---|---|---|
//! | [`CurrentUser`] | a valid access token (bearer or cookie) of a live session | `401` |
//! | `Option<CurrentUser>` | always (`None` when anonymous) | `403` cross-site cookie write |
//! | [`VerifiedUser`] | ... whose address is verified | `401`, `403` |
//! | [`RequireAdmin`] | ... of a superuser | `401`, `403` |
//! | [`RequireRole<R>`](RequireRole), [`RequireAuthor`], [`RequireReader`] | ... with the role (superusers pass) | `401`, `403` |
//! | [`AuthUser<P>`](AuthUser) | ... whose whole user is loaded from the store | `401` |
//!
//! [`CurrentUser`] and the role checks read the token's claims: no user-store round trip.
//! With revocation checking on (the default) the session is checked in the session store, so a
//! logout is refused at once everywhere. The role aliases are type aliases: destructure them
//! as `RequireRole(user, ..): RequireAuthor`, or read the user through them
//! (`author.id`). Roles, the administration routes and the first superuser are explained in
//! `docs/ROLES.md` of the repository.
//!
//! ## Errors
//!
//! Every failure becomes the contract's response in one place, [`ApiError`]: `detail` codes,
//! FastAPI-style `422` bodies, `WWW-Authenticate: Bearer` on `401`, `Retry-After` on `429`,
//! `Cache-Control: no-store`. Internal errors are logged and answered without detail.
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `openapi` | on | `Auth::openapi` and `Auth::openapi_with_profile`: the OpenAPI 3.1 document of the routers (pulls in utoipa) |
//! | `bcrypt` | on | verifying bcrypt hashes of users imported from fastapi-users, Django or passlib (upgraded to Argon2id at their next login) |
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
pub use error::{Action, ApiError, not_found};
pub use extract::{
    Admin, AuthUser, Author, CurrentUser, Reader, RequireAdmin, RequireAuthor, RequireReader,
    RequireRole, Role, VerifiedUser,
};
pub use json::{JsonBody, json_response};
pub use layer::{AuthLayer, AuthService};
pub use next::safe_next;
pub use request_id::{RequestIdLayer, RequestIdService, is_valid_request_id};
pub use routes::Auth;
pub use serve::{ServeConfig, serve};
pub use state::AuthState;
pub use transport::TokenSource;

pub use auth_core;

// The roles guide's examples compile and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/ROLES.md")]
struct RolesDoc;
