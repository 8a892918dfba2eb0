//! [`HashOp`]: how long the hash function itself runs, for operators.

/// One run of the hash function, as the `op` label of `auth_password_hash_duration_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HashOp {
    /// A new hash (registration, a password change, an upgrade).
    Hash,
    /// A verification, including the stand-in run for an unknown user: it does the same work
    /// and must cost the same.
    Verify,
}

impl HashOp {
    /// Runs `job` and, with feature `metrics`, records how long it took in the histogram
    /// `auth_password_hash_duration_seconds{op}`. Called on a hashing thread, around the hash
    /// function alone, so the time waited for a free hashing slot is not counted.
    pub(super) fn timed<T>(self, job: impl FnOnce() -> T) -> T {
        #[cfg(feature = "metrics")]
        let started = std::time::Instant::now();
        let output = job();
        #[cfg(feature = "metrics")]
        metrics::histogram!("auth_password_hash_duration_seconds", "op" => self.label())
            .record(started.elapsed());
        output
    }

    /// `hash` or `verify`.
    #[cfg(feature = "metrics")]
    fn label(self) -> &'static str {
        match self {
            Self::Hash => "hash",
            Self::Verify => "verify",
        }
    }
}
