//! [`HeldHasher`]: a hasher whose calls can be held, for back-pressure tests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Semaphore;

use super::CountingHasher;

/// The permits of an open gate: more calls than any test makes at once.
const OPEN: u32 = 1 << 30;
use crate::{HashError, Password, PasswordHash, PasswordHasher, Verification};

/// A [`CountingHasher`] whose calls, once [`hold`](Self::hold) is called, wait until
/// [`release`](Self::release): a login storm whose hashing never finishes while a test looks
/// at what was admitted. Tests count calls ([`entered`](Self::entered)), never time them.
#[derive(Debug)]
pub struct HeldHasher {
    inner: CountingHasher,
    entered: AtomicUsize,
    gate: Semaphore,
}

impl Default for HeldHasher {
    fn default() -> Self {
        Self {
            inner: CountingHasher::new(),
            entered: AtomicUsize::new(0),
            gate: Semaphore::new(OPEN as usize),
        }
    }
}

impl HeldHasher {
    /// A hasher that lets every call through until [`hold`](Self::hold).
    pub fn new() -> Self {
        Self::default()
    }

    /// From now on every call waits (calls already past the gate finish).
    pub async fn hold(&self) {
        self.gate.acquire_many(OPEN).await.unwrap().forget();
    }

    /// Lets every waiting and later call through.
    pub fn release(&self) {
        self.gate
            .add_permits((OPEN as usize).saturating_sub(self.gate.available_permits()));
    }

    /// How many calls have started, held or not.
    pub fn entered(&self) -> usize {
        self.entered.load(Ordering::SeqCst)
    }

    /// How many calls ran the hash function.
    pub fn runs(&self) -> usize {
        self.inner.runs()
    }

    /// Waits (at most five seconds, then panics) until `calls` calls have started.
    pub async fn until_entered(&self, calls: usize) {
        tokio::time::timeout(Duration::from_secs(5), async {
            while self.entered() < calls {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{} of {calls} hasher calls started", self.entered()));
    }

    async fn pass(&self) {
        self.entered.fetch_add(1, Ordering::SeqCst);
        drop(self.gate.acquire().await.unwrap());
    }
}

#[async_trait]
impl PasswordHasher for HeldHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        self.pass().await;
        self.inner.hash(password).await
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<Verification, HashError> {
        self.pass().await;
        self.inner.verify(password, hash).await
    }

    async fn dummy_verify(&self, password: &Password) -> Result<(), HashError> {
        self.pass().await;
        self.inner.dummy_verify(password).await
    }
}
