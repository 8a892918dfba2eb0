//! [`CountingHasher`]: a hasher that counts its runs, for equal-work tests.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use crate::{Argon2Hasher, HashError, Password, PasswordHash, PasswordHasher, Verification};

/// Wraps a cheap [`Argon2Hasher`] and counts every run of the hash function, whatever the
/// path: how tests prove that unknown, wrong and inactive logins cost the same
/// (ASVS5 6.3.8; equal work is shown by counting, never by timing).
#[derive(Debug)]
pub struct CountingHasher {
    inner: Argon2Hasher,
    runs: AtomicUsize,
}

impl Default for CountingHasher {
    fn default() -> Self {
        Self {
            inner: Argon2Hasher::fast_insecure(),
            runs: AtomicUsize::new(0),
        }
    }
}

impl CountingHasher {
    /// A counter over the test-only fast Argon2 parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many times the hash function ran so far.
    pub fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl PasswordHasher for CountingHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.inner.hash(password).await
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<Verification, HashError> {
        // An unusable hash (an account without a password) is refused without hashing: no
        // run, as with the real hasher.
        if hash.is_usable() {
            self.runs.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.verify(password, hash).await
    }

    async fn dummy_verify(&self, password: &Password) -> Result<(), HashError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.inner.dummy_verify(password).await
    }
}
