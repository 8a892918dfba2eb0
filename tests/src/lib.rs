//! End-to-end tests of the whole stack over real sockets.
//!
//! [`suite`] holds one `pub async fn` per flow, each taking a freshly spawned [`TestApp`];
//! [`http_suite!`] instantiates every one as a `#[tokio::test]` for one backend combination,
//! so a failure names both the flow and the backend. The combinations live in `tests/`:
//! memory, SQLite, Postgres + Redis, Postgres + Redis Cluster.
//!
//! [`server`] runs the reference server's binary as a process; [`mod@server_suite`] drives it
//! over HTTP, and [`server_suite!`] instantiates those flows per backend. [`smtp`] is a
//! local SMTP sink for the mail tests. [`oidc`] runs a real OpenID Connect provider
//! (oidc-provider, from npm) on loopback for the "sign in with a provider" flows. [`browser`]
//! runs the Chromium scripts of `tests/browser`. [`fastapi_users`] runs a real fastapi-users
//! app (from PyPI) for the import test.
//!
//! For the fault tests, [`private_postgres`] and [`private_redis`] are servers of one test's
//! own that it may stop and start, [`fault_proxy`] degrades the network to a service, and
//! [`mixed_load`] is the load that runs meanwhile.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

pub mod app;
pub mod browser;
pub mod fastapi_users;
pub mod fault_proxy;
pub mod mixed_load;
pub mod oidc;
pub mod private_postgres;
pub mod private_process;
pub mod private_redis;
pub mod server;
pub mod server_admin;
pub mod server_suite;
pub mod services;
pub mod smtp;
pub mod suite;

/// A short unique tag.
pub fn unique() -> String {
    auth_core::conformance::unique_tag()
}

pub use app::{Names, Stack, TestApp};

/// Instantiates every flow of [`suite`] as its own `#[tokio::test]`. `$stack` is an expression
/// (it may `.await`) giving a fresh [`Stack`].
#[macro_export]
macro_rules! http_suite {
    ($stack:expr) => {
        $crate::http_suite!(@tests $stack, [
            register_then_login_with_a_form_then_read_me,
            duplicate_registration_is_refused_and_stores_nothing,
            cookie_login_sets_both_cookies_and_authenticates,
            refresh_rotates_and_a_reused_token_kills_the_session,
            logout_is_refused_at_once,
            forgot_then_reset_then_verify,
            a_throttled_account_answers_429_with_retry_after,
            admin_routes_are_for_superusers_only,
            cross_site_cookie_writes_are_forbidden,
            sessions_are_listed_and_revoked,
            concurrent_refreshes_with_one_token_have_one_winner,
        ]);
    };
    (@tests $stack:expr, [$($test:ident),* $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let app = $crate::TestApp::spawn($stack).await;
                $crate::suite::$test(&app).await;
            }
        )*
    };
}
