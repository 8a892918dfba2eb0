//! The reference server's binary on its embedded default: SQLite in `DATA_DIR`, limits in
//! process, mails in a file outbox.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

auth_e2e::server_suite!(
    auth_e2e::server::Backend::Sqlite,
    [a_thousand_logouts_reach_the_other_instance]
);
