//! The Lua scripts: every multi-step change runs as one script, so it is atomic.
//!
//! Each script touches keys of one hash slot only (one user's `{u:<id>}` tag, or one limiter
//! key), so it runs unchanged on Redis Cluster. The scripts that walk a user's index reach
//! session keys built from the index entries; those keys share the index's hash tag, hence its
//! slot and node. Scripts are sent by SHA (`EVALSHA`) and loaded on `NOSCRIPT`.

use std::sync::LazyLock;

use redis::Script;

/// Checks the user's mark, evicts beyond the session limit, stores a session and indexes it.
pub(crate) static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        include_str!("time.lua"),
        include_str!("index.lua"),
        include_str!("create.lua")
    ))
});

/// Compares and swaps the refresh-token digest; revokes on the reuse of a remembered one.
pub(crate) static ROTATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        include_str!("time.lua"),
        include_str!("index.lua"),
        include_str!("rotate.lua")
    ))
});

/// Deletes one session and its index entry.
pub(crate) static REVOKE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("revoke.lua")));

/// Moves a user's mark and deletes the user's sessions through the index.
pub(crate) static REVOKE_ALL: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("revoke_all.lua")));

/// Reads a user's sessions through the index, pruning dead entries.
pub(crate) static LIST: LazyLock<Script> =
    LazyLock::new(|| Script::new(concat!(include_str!("index.lua"), include_str!("list.lua"))));

/// Counts one rate-limited event.
pub(crate) static HIT: LazyLock<Script> =
    LazyLock::new(|| Script::new(concat!(include_str!("time.lua"), include_str!("hit.lua"))));

/// Gives back one counted event of the current window.
pub(crate) static REFUND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        include_str!("time.lua"),
        include_str!("refund.lua")
    ))
});
