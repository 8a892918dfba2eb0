//! The HTTP suite over the in-memory stores and limiter.

use std::sync::Arc;

use auth_core::{MemoryRateLimiter, MemorySessionStore, MemoryUserStore};
use auth_e2e::Stack;

fn stack() -> Stack {
    Stack {
        name: "memory",
        users: Arc::new(MemoryUserStore::new()),
        sessions: Arc::new(MemorySessionStore::new()),
        limiter: Arc::new(MemoryRateLimiter::new()),
    }
}

auth_e2e::http_suite!(stack());
