//! The reference server of the axum accounts workspace: every router of the HTTP contract,
//! the HTML pages, the roles demo, health and the API reference, on SQLite by default or on
//! Postgres and Redis.
#![allow(missing_docs, unreachable_pub)]

pub mod admin_cli;
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
    init_tracing_to(json, filter, false);
}

/// [`init_tracing`] onto standard error: for the commands whose standard output is their
/// answer.
pub fn init_tracing_on_stderr(json: bool, filter: Option<&str>) {
    init_tracing_to(json, filter, true);
}

fn init_tracing_to(json: bool, filter: Option<&str>, stderr: bool) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    let filter = filter
        .and_then(|filter| EnvFilter::try_new(filter).ok())
        .unwrap_or_else(|| EnvFilter::new("info,tower_http=info"));
    // Colours only on a terminal: not in files, pipes or a journal.
    let (writer, terminal) = if stderr {
        (
            BoxMakeWriter::new(std::io::stderr),
            std::io::stderr().is_terminal(),
        )
    } else {
        (
            BoxMakeWriter::new(std::io::stdout),
            std::io::stdout().is_terminal(),
        )
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(terminal);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
