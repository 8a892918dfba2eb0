//! The reference server's binary on Postgres (a fresh schema) with sessions and rate limits in
//! Redis (a fresh key prefix), including two processes sharing them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

auth_e2e::server_suite!(
    auth_e2e::server::Backend::PostgresRedis,
    [
        two_instances_share_sessions_and_logout,
        a_thousand_logouts_reach_the_other_instance
    ]
);
