//! The HTTP contract of the ready-made routers (`docs/HTTP_CONTRACT.md`), driven
//! in-process with `tower::ServiceExt::oneshot`: one module per area.

// A test binary fails by panicking; clippy.toml allows it inside #[test] functions only,
// and the helpers of this crate are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod admin_sessions;
mod csrf;
mod errors;
mod extractors;
mod failures;
mod fastapi_users_flow;
mod harness;
mod hygiene;
mod jwks;
mod layer;
mod login;
mod me;
mod overload;
mod refresh_logout;
mod register;
mod rs256;
mod serve;
mod verify_reset;
