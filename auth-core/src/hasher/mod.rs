//! Passwords: the [`PasswordHasher`] trait, the Argon2id hasher and the password rules.

mod admission;
mod argon2;
mod common;
mod policy;
mod threads;
mod timing;

use std::fmt::Debug;

use async_trait::async_trait;

use crate::secret::{Password, PasswordHash};

pub use self::admission::HashAdmission;
pub(crate) use self::admission::{HashGate, HashTicket};
pub(crate) use self::argon2::check_importable;
pub use self::argon2::{Argon2Hasher, Argon2Params};
pub use self::policy::{MAX_PASSWORD_BYTES, PasswordPolicy, PasswordRejection};

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password does not match.
    Invalid,
    /// The password matches, and the hash is up to date.
    Valid,
    /// The password matches, but the hash uses weaker or legacy parameters (or bcrypt): the
    /// manager re-hashes the password and stores the new hash.
    ValidNeedsRehash,
}

impl Verification {
    /// Whether the password matched.
    pub fn is_valid(self) -> bool {
        !matches!(self, Self::Invalid)
    }
}

/// Why hashing or verifying failed (not "the password was wrong": that is
/// [`Verification::Invalid`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// The hashing job could not run to completion (no thread could be started for it, or it
    /// panicked).
    #[error("the hashing task failed")]
    Task(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The hash function refused its input or parameters.
    #[error("the hash function failed: {0}")]
    Algorithm(String),
}

/// Turns passwords into stored hashes and checks them.
///
/// Implementations must cost the same on every path that the login answers alike: the
/// manager calls [`PasswordHasher::dummy_verify`] for an unknown user so that "no such user"
/// and "wrong password" take the same time (ASVS5 6.3.8).
///
/// # Why `#[async_trait]`
/// Held as `Arc<dyn PasswordHasher>` by the manager (chosen once at start-up); hashing itself takes
/// milliseconds, so the boxed future is free.
///
/// # Implementing it
/// A hasher that delegates to [`Argon2Hasher`] and counts its calls (the crate's tests count
/// hasher runs this way):
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use async_trait::async_trait;
/// use auth_core::{Argon2Hasher, HashError, Password, PasswordHash, PasswordHasher, Verification};
///
/// #[derive(Debug)]
/// struct Counting { inner: Argon2Hasher, runs: AtomicUsize }
///
/// #[async_trait]
/// impl PasswordHasher for Counting {
///     async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
///         self.runs.fetch_add(1, Ordering::SeqCst);
///         self.inner.hash(password).await
///     }
///     async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<Verification, HashError> {
///         self.runs.fetch_add(1, Ordering::SeqCst);
///         self.inner.verify(password, hash).await
///     }
///     async fn dummy_verify(&self, password: &Password) -> Result<(), HashError> {
///         self.runs.fetch_add(1, Ordering::SeqCst);
///         self.inner.dummy_verify(password).await
///     }
/// }
/// ```
#[async_trait]
pub trait PasswordHasher: Debug + Send + Sync + 'static {
    /// Hashes a password into a PHC string with a fresh random salt.
    ///
    /// # Errors
    /// [`HashError`] when the hash function or its task fails.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError>;

    /// Checks a password against a stored hash.
    ///
    /// A stored hash that cannot be parsed is [`Verification::Invalid`], not an error, so a
    /// corrupt row cannot be told apart from a wrong password.
    ///
    /// # Errors
    /// [`HashError`] when the hash function or its task fails.
    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<Verification, HashError>;

    /// Does the work of a verification against a fixed hash and throws the answer away: the
    /// path for unknown users.
    ///
    /// # Errors
    /// [`HashError`] when the hash function or its task fails.
    async fn dummy_verify(&self, password: &Password) -> Result<(), HashError>;
}
