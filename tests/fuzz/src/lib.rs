//! # auth-fuzz
//!
//! Fuzz targets for everything in the workspace that parses hostile input: access tokens
//! (JWT, with the cache of verified tokens, and opaque), refresh tokens, verify and reset
//! tokens, the `Authorization` header and the auth cookie, e-mail addresses and usernames,
//! the credential bodies of the routers, rate limits, durations and settings, and the OAuth
//! callback's state.
//!
//! Each target is a function of a byte slice that panics when a property breaks: not only
//! "it does not panic", but what the parser must guarantee (a forged token is refused, a
//! canonical form is a fixed point, a body error is the contract's `4xx`, ...). See
//! `docs/FUZZING.md` for the properties, the AFL++ runs and where crashes go.
//!
//! ```
//! for target in auth_fuzz::TARGETS {
//!     (target.run)(b"");
//! }
//! assert!(auth_fuzz::target("jwt").is_some());
//! ```
#![forbid(unsafe_code)]
// A fuzz target reports a broken property by panicking: that is what AFL++ records as a
// crash and what the replay test fails on. Set-up that cannot fail on a healthy machine
// (fixed keys, an in-memory store) says so with `expect`.
#![allow(clippy::expect_used, clippy::panic)]

mod body;
mod identity;
mod input;
mod jwt;
mod oauth;
mod opaque;
mod runtime;
mod settings;
mod transport;

use std::fmt;

/// One fuzz target: a name and the function that runs one input.
pub struct Target {
    /// The name, as `--targets` and the corpus directories spell it.
    pub name: &'static str,
    /// What it feeds and what it asserts, in a line.
    pub about: &'static str,
    /// Runs one input; panics when a property does not hold.
    pub run: fn(&[u8]),
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target").field("name", &self.name).finish()
    }
}

/// Every target, in the order the bench harness runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "jwt",
        about: "access, verify and reset JWTs, forged and mutated, through both decode paths and the verified-token cache",
        run: jwt::run,
    },
    Target {
        name: "opaque",
        about: "refresh tokens and opaque access tokens: only the exact token of a live session is accepted",
        run: opaque::run,
    },
    Target {
        name: "transport",
        about: "Authorization header and auth cookie through the router: an accepted parse hands over exactly the token",
        run: transport::run,
    },
    Target {
        name: "email",
        about: "e-mail canonicalisation: a fixed point, and equal keys are one account",
        run: identity::run_email,
    },
    Target {
        name: "username",
        about: "username canonicalisation: a fixed point, and equal keys are one account",
        run: identity::run_username,
    },
    Target {
        name: "body",
        about: "login, register, refresh and token bodies (form, multipart, JSON) through the router: 4xx of the contract, never 5xx",
        run: body::run,
    },
    Target {
        name: "settings",
        about: "rate limits, durations and every configuration reader: no panic, round trips, errors escaped and without secrets",
        run: settings::run,
    },
    Target {
        name: "oauth_state",
        about: "the OAuth callback's state and CSRF cookie: anything but the issued pair is refused before the provider is asked",
        run: oauth::run,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|target| target.name == name)
}
