//! The reference server's binary on MySQL (MariaDB, a fresh database) with sessions and rate
//! limits in Redis (a fresh key prefix).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

auth_e2e::server_suite!(
    auth_e2e::server::Backend::MySqlRedis,
    [two_instances_share_sessions_and_logout]
);
