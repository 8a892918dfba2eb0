//! The UserManager's rules, driven against the in-memory stores with an injected clock.

mod harness;
mod login;
mod recovery;
mod register;
mod sessions;
mod updates;
