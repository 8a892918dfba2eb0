//! The reference server of the axum accounts workspace: every router of the HTTP contract,
//! the HTML pages, the roles demo, health and the API reference, on SQLite by default or on
//! Postgres and Redis.
#![allow(missing_docs, unreachable_pub)]

pub mod app;
pub mod articles;
pub mod cli;
pub mod docs;
pub mod health;
pub mod import;
pub mod keys;
pub mod mail;
pub mod metrics;
pub mod pages;
pub mod settings;
pub mod stores;

use serde::{Deserialize, Serialize};

/// The reference server's profile fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Names {
    /// The user's first name.
    pub first_name: Option<String>,
    /// The user's second name.
    pub second_name: Option<String>,
}

/// Structured logs: text, or JSON with `LOG_FORMAT=json`; `filter` (`RUST_LOG`) filters.
pub fn init_tracing(json: bool, filter: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = filter
        .and_then(|filter| EnvFilter::try_new(filter).ok())
        .unwrap_or_else(|| EnvFilter::new("info,tower_http=info"));
    // Colours only on a terminal: not in files, pipes or a journal.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
