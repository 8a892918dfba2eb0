//! The UserManager's rules, driven against the in-memory stores with an injected clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod attack;
mod events;
mod harness;
mod import;
mod keys;
mod login;
mod oauth;
mod overload;
mod races;
mod recovery;
mod register;
mod sessions;
mod tokens;
mod updates;
