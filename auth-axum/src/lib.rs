//! # auth-axum
//!
//! User accounts for axum apps.
#![forbid(unsafe_code)]

mod client;
mod config;
mod error;
mod extract;
mod json;
mod layer;
mod routes;
mod state;
mod transport;

pub use client::Client;
pub use config::{AuthConfig, Backend, CookieSettings, Transport};
pub use error::{Action, ApiError};
pub use extract::{
    Admin, AuthUser, Author, CurrentUser, Reader, RequireAdmin, RequireAuthor, RequireReader,
    RequireRole, Role, VerifiedUser,
};
pub use json::{JsonBody, json_response};
pub use layer::{AuthLayer, AuthService};
pub use routes::Auth;
pub use state::AuthState;
pub use transport::TokenSource;

pub use auth_core;
