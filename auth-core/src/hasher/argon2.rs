//! The Argon2id hasher: OWASP parameters, PHC strings, hashing off the async runtime behind a
//! concurrency cap, and verification (with upgrade) of older Argon2 and bcrypt hashes.

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use argon2::password_hash::phc::{self, Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use rand::Rng as _;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use super::policy::{MAX_PASSWORD_BYTES, normalize};
use super::threads::HashThreads;
use super::timing::HashOp;
use super::{HashError, PasswordHasher, Verification};
use crate::secret::{Password, PasswordHash};

/// Bytes of random salt per hash (OWASP Password Storage; the PHC recommendation).
const SALT_LEN: usize = 16;

/// Bytes of hash output (the argon2 crate's and the reference implementation's default).
const OUTPUT_LEN: usize = 32;

/// The most memory a stored hash may ask for at verification, in KiB (1 GiB), unless the
/// configured parameters ask for more. A corrupt or hostile row such as `m=4294967295` is
/// refused instead of allocating 4 TiB.
const MAX_VERIFY_MEMORY_KIB: u32 = 1 << 20;

/// The most work (KiB × passes) a stored hash may ask for at verification, unless the
/// configured parameters ask for more: 4 GiB of memory passes, a few seconds.
const MAX_VERIFY_COST: u64 = 4 << 20;

/// The highest bcrypt cost verified: 2^16 rounds take several seconds; imported hashes use 10
/// to 14.
#[cfg(feature = "bcrypt")]
const MAX_BCRYPT_COST: u32 = 16;

/// The niceness of the hashing threads unless configured: well below the request-serving
/// threads, still enough to make progress beside a busy one (see
/// [`Argon2Hasher::with_niceness`]).
const DEFAULT_NICENESS: u8 = 10;

/// The smallest parameters the argon2 crate accepts: 8 KiB, one pass, one lane.
const FAST_INSECURE_PARAMS: Params = match Params::new(
    Params::MIN_M_COST,
    Params::MIN_T_COST,
    Params::MIN_P_COST,
    None,
) {
    Ok(params) => params,
    // Unreachable: the minimums are valid by definition (and a unit test checks them).
    Err(_) => Params::DEFAULT,
};

/// Argon2 cost parameters.
///
/// The default is the OWASP Password Storage baseline for Argon2id: 19 MiB of memory
/// (`memory_kib` = 19456), 2 passes, 1 lane.
///
/// ```
/// use auth_core::Argon2Params;
/// let params = Argon2Params::default();
/// assert_eq!((params.memory_kib, params.iterations, params.parallelism), (19456, 2, 1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory per hash in KiB (`m`); at least 8 × `parallelism`.
    pub memory_kib: u32,
    /// Passes over the memory (`t`); at least 1.
    pub iterations: u32,
    /// Lanes (`p`); at least 1. Lanes are computed one after another on one thread.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        // OWASP Password Storage Cheat Sheet: "m=19456 (19 MiB), t=2, p=1".
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl Argon2Params {
    /// The smallest legal parameters (8 KiB, 1 pass, 1 lane).
    ///
    /// **INSECURE: for tests only.** A hash made with these can be brute-forced on a laptop.
    /// They exist so that test suites that create users do not spend 20 ms per password.
    /// A hasher with these parameters flags every production hash as needing a re-hash, and
    /// the other way round.
    pub fn fast_insecure() -> Self {
        Self {
            memory_kib: FAST_INSECURE_PARAMS.m_cost(),
            iterations: FAST_INSECURE_PARAMS.t_cost(),
            parallelism: FAST_INSECURE_PARAMS.p_cost(),
        }
    }

    /// The argon2 crate's parameters, validated.
    fn to_argon2(self) -> Result<Params, HashError> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|err| HashError::Algorithm(format!("invalid Argon2 parameters: {err}")))
    }
}

/// The default password hasher: Argon2id (RFC 9106) in PHC string format, with a 16-byte
/// random salt (OWASP Password Storage Cheat Sheet; see `docs/SECURITY.md`).
///
/// - Passwords are normalised with [`PasswordPolicy::normalize`](crate::PasswordPolicy::normalize)
///   (NFKC) before hashing and before verifying, the same rule both ways. Only a legacy hash
///   (one [`Verification::ValidNeedsRehash`] would be answered for) that does not match the
///   NFKC form is also tried with the password as typed: imported hashes were made from that.
/// - Hashing never runs on the async runtime: each hash or verification runs on one of the
///   hasher's own threads (at most `max_concurrent`, started when first needed, at a lower
///   scheduling priority: see [`with_niceness`](Self::with_niceness)), and at most
///   `max_concurrent` of them run at once (a semaphore permit is taken before the job is
///   queued and held until it ends), so a login storm neither stalls the runtime nor starts
///   threads without bound. Their Argon2 memory is reused from hash to hash, so the hasher's
///   memory peaks at about `max_concurrent` × `memory_kib`.
/// - [`verify`](PasswordHasher::verify) accepts any Argon2 variant and version (with the
///   parameters stored in the hash) and, with feature `bcrypt`, bcrypt hashes (`$2a$`, `$2b$`,
///   `$2y$`), such as those of users imported from fastapi-users, Django or passlib. A match
///   on anything but Argon2id v19 with exactly this hasher's parameters is
///   [`Verification::ValidNeedsRehash`], so the manager upgrades it at the next login. A
///   stored hash that asks for more than 1 GiB or 4 GiB × passes of Argon2 work (unless the
///   configured parameters ask for more), or a bcrypt cost above 16, is
///   [`Verification::Invalid`] without being run: a corrupt row cannot exhaust the server.
/// - A password over [`MAX_PASSWORD_BYTES`] bytes is never hashed:
///   [`hash`](PasswordHasher::hash) fails and [`verify`](PasswordHasher::verify) answers
///   [`Verification::Invalid`].
///
/// Cloning is cheap and clones share the concurrency cap and the memory.
///
/// ```
/// use auth_core::{Argon2Hasher, Password, PasswordHasher, Verification};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auth_core::HashError> {
/// // In production: `Argon2Hasher::default()` (OWASP parameters).
/// let hasher = Argon2Hasher::fast_insecure().with_max_concurrent(4);
/// let hash = hasher.hash(&Password::new("violet tractor lantern")).await?;
/// assert!(hash.as_str().starts_with("$argon2id$v=19$"));
/// assert_eq!(
///     hasher.verify(&Password::new("violet tractor lantern"), &hash).await?,
///     Verification::Valid,
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Argon2Hasher {
    inner: Arc<Inner>,
}

/// The shared state behind an [`Argon2Hasher`].
struct Inner {
    params: Argon2Params,
    /// Argon2id v19 with `params`: the context every new hash is made with.
    argon2: Argon2<'static>,
    max_concurrent: usize,
    permits: Arc<Semaphore>,
    /// The threads every hash and verification runs on.
    threads: Arc<HashThreads>,
    memory: MemoryPool,
    /// A PHC string with this hasher's parameters, for [`PasswordHasher::dummy_verify`].
    dummy: String,
    #[cfg(test)]
    probe: tests::Probe,
}

impl Argon2Hasher {
    /// A hasher with the given parameters and the default concurrency cap (the number of
    /// CPUs, [`std::thread::available_parallelism`]).
    ///
    /// # Errors
    /// [`HashError::Algorithm`] when the parameters are out of Argon2's range (memory under
    /// 8 KiB per lane, no pass, no lane, ...).
    pub fn new(params: Argon2Params) -> Result<Self, HashError> {
        let argon2_params = params.to_argon2()?;
        Ok(Self::from_validated(
            params,
            argon2_params,
            default_max_concurrent(),
            DEFAULT_NICENESS,
        ))
    }

    /// A hasher with [`Argon2Params::fast_insecure`] parameters.
    ///
    /// **INSECURE: for tests only.** See [`Argon2Params::fast_insecure`].
    pub fn fast_insecure() -> Self {
        Self::from_validated(
            Argon2Params::fast_insecure(),
            FAST_INSECURE_PARAMS,
            default_max_concurrent(),
            DEFAULT_NICENESS,
        )
    }

    /// Sets how many hashes and verifications may run at once (default: the number of
    /// CPUs). Further requests wait, asynchronously, for a free slot. `0` is taken as `1`.
    ///
    /// Memory use peaks at about this many times `memory_kib`. Call this before cloning the
    /// hasher: the clones share one cap.
    #[must_use]
    pub fn with_max_concurrent(self, max_concurrent: usize) -> Self {
        let argon2_params = self.inner.argon2.params().clone();
        Self::from_validated(
            self.inner.params,
            argon2_params,
            max_concurrent,
            self.niceness(),
        )
    }

    /// Sets the scheduling niceness of the hashing threads, from `0` (the priority of the
    /// rest of the process) to `19` (the lowest); higher values are taken as `19`. The
    /// default is `10`.
    ///
    /// Hashes run on threads of the hasher's own, started when first needed (at most
    /// [`max_concurrent`](Self::max_concurrent) of them). With a niceness above the
    /// request-serving threads', a login storm on a small machine no longer delays the cheap
    /// requests behind it: whenever a hash and a request are both ready to run, the scheduler
    /// runs the request first, and the hashes get every cycle left over. On a machine with
    /// CPU to spare the niceness changes nothing. At `10` a hashing thread still gets about a
    /// tenth of a CPU that a busy request-serving thread competes for; at `19`, about 1.5 %.
    ///
    /// The niceness is set per thread on Linux and Android. On other systems, or where the
    /// system refuses it (a warning is logged), the threads run at the process's priority.
    /// Call this before cloning the hasher: the clones share one set of threads.
    ///
    /// ```
    /// use auth_core::Argon2Hasher;
    ///
    /// let hasher = Argon2Hasher::default().with_max_concurrent(2).with_niceness(15);
    /// assert_eq!((hasher.max_concurrent(), hasher.niceness()), (2, 15));
    /// assert_eq!(Argon2Hasher::default().niceness(), 10);
    /// ```
    #[must_use]
    pub fn with_niceness(self, niceness: u8) -> Self {
        let argon2_params = self.inner.argon2.params().clone();
        Self::from_validated(
            self.inner.params,
            argon2_params,
            self.inner.max_concurrent,
            niceness,
        )
    }

    /// The scheduling niceness of the hashing threads (see [`with_niceness`](Self::with_niceness)).
    pub fn niceness(&self) -> u8 {
        self.inner.threads.niceness()
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> Argon2Params {
        self.inner.params
    }

    /// How many hashes and verifications may run at once.
    pub fn max_concurrent(&self) -> usize {
        self.inner.max_concurrent
    }

    fn from_validated(
        params: Argon2Params,
        argon2_params: Params,
        max_concurrent: usize,
        niceness: u8,
    ) -> Self {
        let max_concurrent = max_concurrent.clamp(1, Semaphore::MAX_PERMITS);
        let dummy = dummy_phc(&argon2_params);
        let memory = MemoryPool::new(argon2_params.block_count());
        Self {
            inner: Arc::new(Inner {
                params,
                argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, argon2_params),
                max_concurrent,
                permits: Arc::new(Semaphore::new(max_concurrent)),
                threads: Arc::new(HashThreads::new(max_concurrent, niceness)),
                memory,
                dummy,
                #[cfg(test)]
                probe: tests::Probe::default(),
            }),
        }
    }

    /// Runs `job` (one `op`) on the hashing threads once a permit is free; the permit is
    /// held until the job ends, even if the caller stops waiting. With feature `metrics` the
    /// job's own time, not the wait for a permit, goes into
    /// `auth_password_hash_duration_seconds`.
    async fn run<T, F>(&self, op: HashOp, job: F) -> Result<T, HashError>
    where
        F: FnOnce(&Inner) -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = Arc::clone(&self.inner.permits)
            .acquire_owned()
            .await
            .map_err(task_error)?;
        let inner = Arc::clone(&self.inner);
        self.inner
            .threads
            .run(move || {
                let _permit = permit;
                #[cfg(test)]
                let _running = inner.probe.enter();
                op.timed(|| job(&inner))
            })
            .await
    }

    /// Verifies `raw` (as typed) against a stored string: shared by `verify` and
    /// `dummy_verify`, so both do the same work.
    async fn verify_str(&self, raw: &str, stored: &str) -> Result<Verification, HashError> {
        if raw.len() > MAX_PASSWORD_BYTES {
            // Never hashed (long-password DoS); no stored password can be this long.
            return Ok(Verification::Invalid);
        }
        let password = normalize(raw);

        #[cfg(feature = "bcrypt")]
        if legacy::is_bcrypt(stored) {
            return self.verify_bcrypt(raw, password, stored).await;
        }

        let stored = match StoredArgon2::parse(stored, self.inner.argon2.params()) {
            Ok(stored) => stored,
            Err(reason) => {
                // The hash itself is never logged.
                tracing::warn!(
                    reason,
                    "stored password hash is not a usable Argon2 PHC string; \
                     answering as for a wrong password"
                );
                return Ok(Verification::Invalid);
            }
        };
        let up_to_date = stored.is_up_to_date(self.inner.argon2.params());
        // A hash that is not up to date may have been imported (argon2-cffi, pwdlib) and made
        // from the password as typed; when that differs from the NFKC form, try it too. The
        // caller chose the input, so the extra run tells them nothing about the stored hash.
        let as_typed = (!up_to_date && raw != password).then(|| raw.to_owned());
        let matches = self
            .run(HashOp::Verify, move |inner| -> Result<bool, HashError> {
                if stored.matches(password.as_bytes(), &inner.memory)? {
                    return Ok(true);
                }
                match as_typed {
                    Some(as_typed) => stored.matches(as_typed.as_bytes(), &inner.memory),
                    None => Ok(false),
                }
            })
            .await??;
        Ok(match (matches, up_to_date) {
            (false, _) => Verification::Invalid,
            (true, true) => Verification::Valid,
            (true, false) => Verification::ValidNeedsRehash,
        })
    }

    /// Verifies a bcrypt hash on the hashing threads, under the same cap. A match always needs
    /// a re-hash.
    #[cfg(feature = "bcrypt")]
    async fn verify_bcrypt(
        &self,
        raw: &str,
        normalized: String,
        stored: &str,
    ) -> Result<Verification, HashError> {
        use std::str::FromStr as _;

        let cost = match bcrypt::HashParts::from_str(stored) {
            Ok(parts) => parts.get_cost(),
            Err(err) => {
                tracing::warn!(error = %err, "stored bcrypt hash does not parse; answering as for a wrong password");
                return Ok(Verification::Invalid);
            }
        };
        if cost > MAX_BCRYPT_COST {
            tracing::warn!(
                cost,
                max = MAX_BCRYPT_COST,
                "stored bcrypt hash is costlier than the verification cap; answering as for a wrong password"
            );
            return Ok(Verification::Invalid);
        }
        // Imported bcrypt hashes were made from the password as typed, not from its NFKC
        // form; when the two differ, try both (as for legacy Argon2 hashes above).
        let as_typed = (raw != normalized).then(|| raw.to_owned());
        let stored = stored.to_owned();
        let matched = self
            .run(
                HashOp::Verify,
                move |_| -> Result<bool, bcrypt::BcryptError> {
                    if bcrypt::verify(normalized.as_bytes(), &stored)? {
                        return Ok(true);
                    }
                    match as_typed {
                        Some(as_typed) => bcrypt::verify(as_typed.as_bytes(), &stored),
                        None => Ok(false),
                    }
                },
            )
            .await?;
        match matched {
            Ok(true) => Ok(Verification::ValidNeedsRehash),
            Ok(false) => Ok(Verification::Invalid),
            Err(err) => {
                tracing::warn!(error = %err, "stored bcrypt hash cannot be verified; answering as for a wrong password");
                Ok(Verification::Invalid)
            }
        }
    }
}

impl Default for Argon2Hasher {
    /// A hasher with the OWASP parameters ([`Argon2Params::default`]) and the default
    /// concurrency cap.
    fn default() -> Self {
        Self::from_validated(
            Argon2Params::default(),
            Params::DEFAULT,
            default_max_concurrent(),
            DEFAULT_NICENESS,
        )
    }
}

impl fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params = self.inner.params;
        f.debug_struct("Argon2Hasher")
            .field("memory_kib", &params.memory_kib)
            .field("iterations", &params.iterations)
            .field("parallelism", &params.parallelism)
            .field("max_concurrent", &self.inner.max_concurrent)
            .field("niceness", &self.niceness())
            .finish()
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let raw = password.expose();
        if raw.len() > MAX_PASSWORD_BYTES {
            return Err(HashError::Algorithm("password too long".to_owned()));
        }
        let password = normalize(raw);
        let mut salt = [0u8; SALT_LEN];
        rand::rng().fill_bytes(&mut salt);
        let phc = self
            .run(HashOp::Hash, move |inner| {
                inner.hash_phc(password.as_bytes(), &salt)
            })
            .await??;
        Ok(PasswordHash::new(phc))
    }

    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<Verification, HashError> {
        self.verify_str(password.expose(), hash.as_str()).await
    }

    /// Verifies against a PHC string with this hasher's own parameters (and a fixed salt and
    /// output), through the same code as [`verify`](PasswordHasher::verify): parsing, one
    /// Argon2id run under the concurrency cap, a constant-time comparison. An over-long
    /// password returns early, as it does in `verify`.
    async fn dummy_verify(&self, password: &Password) -> Result<(), HashError> {
        self.verify_str(password.expose(), &self.inner.dummy)
            .await
            .map(drop)
    }
}

impl Inner {
    /// Hashes an already normalised password into an Argon2id v19 PHC string, written as the
    /// argon2 crate writes it.
    fn hash_phc(&self, password: &[u8], salt: &[u8; SALT_LEN]) -> Result<String, HashError> {
        let params = self.argon2.params();
        let mut output = [0u8; OUTPUT_LEN];
        self.memory
            .with_blocks(params.block_count(), |blocks| {
                self.argon2
                    .hash_password_into_with_memory(password, salt, &mut output, blocks)
            })?
            .map_err(algorithm_error)?;
        let phc = phc::PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(params).map_err(algorithm_error)?,
            salt: Some(Salt::new(salt).map_err(algorithm_error)?),
            hash: Some(Output::new(&output).map_err(algorithm_error)?),
        };
        Ok(phc.to_string())
    }
}

/// Whether `stored` is a hash [`Argon2Hasher::verify`] can check (with the default caps): an
/// Argon2 PHC string of any variant and version within the verification caps or, with feature
/// `bcrypt`, a bcrypt string of cost at most 16. The error says why not, without repeating
/// the hash.
pub(crate) fn check_importable(stored: &str) -> Result<(), &'static str> {
    #[cfg(feature = "bcrypt")]
    if legacy::is_bcrypt(stored) {
        use std::str::FromStr as _;
        let parts = bcrypt::HashParts::from_str(stored).map_err(|_| "not a valid bcrypt hash")?;
        if parts.get_cost() > MAX_BCRYPT_COST {
            return Err("bcrypt cost above the verification cap of 16");
        }
        return Ok(());
    }
    #[cfg(not(feature = "bcrypt"))]
    if stored.starts_with("$2") {
        return Err("bcrypt hashes need auth-core's feature `bcrypt`");
    }
    StoredArgon2::parse(stored, &Params::DEFAULT).map(drop)
}

/// A stored Argon2 hash, parsed and checked against the verification caps.
struct StoredArgon2 {
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Salt,
    expected: Output,
}

impl StoredArgon2 {
    /// Parses a PHC string. The error says why, without repeating the hash.
    fn parse(stored: &str, configured: &Params) -> Result<Self, &'static str> {
        let phc = phc::PasswordHash::new(stored).map_err(|_| "not a PHC string")?;
        let algorithm =
            Algorithm::new(phc.algorithm.as_str()).map_err(|_| "not an Argon2 variant")?;
        // The PHC Argon2 encoding: a missing `v=` means version 0x10, as in the reference
        // implementation (which predates the field).
        let version =
            Version::try_from(phc.version.unwrap_or(0x10)).map_err(|_| "unknown Argon2 version")?;
        // Also carries the output length over from the stored hash.
        let params = Params::try_from(&phc).map_err(|_| "invalid Argon2 parameters")?;
        let (Some(salt), Some(expected)) = (phc.salt, phc.hash) else {
            return Err("salt or hash missing");
        };

        let memory_cap = configured.m_cost().max(MAX_VERIFY_MEMORY_KIB);
        let cost_cap = cost(configured).max(MAX_VERIFY_COST);
        if params.m_cost() > memory_cap || cost(&params) > cost_cap {
            return Err("Argon2 parameters above the verification cap");
        }
        Ok(Self {
            algorithm,
            version,
            params,
            salt,
            expected,
        })
    }

    /// Whether this is exactly what the hasher would write today: Argon2id v19, the configured
    /// m, t and p, a 16-byte salt, a 32-byte output, no key id or associated data.
    fn is_up_to_date(&self, configured: &Params) -> bool {
        self.algorithm == Algorithm::Argon2id
            && self.version == Version::V0x13
            && self.params.m_cost() == configured.m_cost()
            && self.params.t_cost() == configured.t_cost()
            && self.params.p_cost() == configured.p_cost()
            && self.salt.len() >= SALT_LEN
            && self.expected.len() == OUTPUT_LEN
            && self.params.keyid().is_empty()
            && self.params.data().is_empty()
    }

    /// Recomputes the hash of `password` (normalised) and compares it in constant time.
    fn matches(&self, password: &[u8], memory: &MemoryPool) -> Result<bool, HashError> {
        let argon2 = Argon2::new(self.algorithm, self.version, self.params.clone());
        let mut computed = [0u8; Output::MAX_LENGTH];
        let computed = computed
            .get_mut(..self.expected.len())
            .ok_or_else(|| HashError::Algorithm("stored output too long".to_owned()))?;
        memory
            .with_blocks(self.params.block_count(), |blocks| {
                argon2.hash_password_into_with_memory(password, &self.salt, &mut *computed, blocks)
            })?
            .map_err(algorithm_error)?;
        Ok(computed.ct_eq(self.expected.as_bytes()).into())
    }
}

/// Argon2 working memory kept between runs.
///
/// Every run holds a semaphore permit, so at most `max_concurrent` buffers are ever out at
/// once and the pool never holds more than that.
struct MemoryPool {
    /// Blocks per buffer: those of the configured parameters.
    blocks: usize,
    idle: Mutex<Vec<Vec<Block>>>,
}

impl MemoryPool {
    fn new(blocks: usize) -> Self {
        Self {
            blocks,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` with `needed` blocks of memory: a pooled buffer when `needed` is the
    /// configured size, a one-off allocation for hashes stored with other parameters.
    fn with_blocks<R>(
        &self,
        needed: usize,
        f: impl FnOnce(&mut [Block]) -> R,
    ) -> Result<R, HashError> {
        if needed != self.blocks {
            let mut once = allocate(needed)?;
            return Ok(f(&mut once));
        }
        let pooled = self.lock().pop();
        let mut buffer = match pooled {
            Some(buffer) => buffer,
            None => allocate(needed)?,
        };
        let result = f(&mut buffer);
        self.lock().push(buffer);
        Ok(result)
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Vec<Block>>> {
        // A panic elsewhere cannot leave a `Vec` of buffers inconsistent.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn idle_buffers(&self) -> usize {
        self.lock().len()
    }
}

/// Allocates Argon2 memory, failing instead of aborting when there is not enough.
fn allocate(blocks: usize) -> Result<Vec<Block>, HashError> {
    let mut memory = Vec::new();
    memory
        .try_reserve_exact(blocks)
        .map_err(|_| HashError::Algorithm("out of memory for Argon2".to_owned()))?;
    memory.resize(blocks, Block::new());
    Ok(memory)
}

/// A PHC string with `params`, an all-zero 16-byte salt and an all-zero 32-byte output: it
/// parses and verifies like a real hash of this hasher (and never matches).
fn dummy_phc(params: &Params) -> String {
    // Standard B64 without padding: 16 zero bytes are 22 `A`s, 32 zero bytes 43 `A`s.
    format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        "A".repeat(22),
        "A".repeat(43),
    )
}

/// Work of one Argon2 run, in KiB × passes.
fn cost(params: &Params) -> u64 {
    u64::from(params.m_cost()) * u64::from(params.t_cost())
}

fn default_max_concurrent() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

fn task_error(err: impl std::error::Error + Send + Sync + 'static) -> HashError {
    HashError::Task(Box::new(err))
}

fn algorithm_error(err: impl fmt::Display) -> HashError {
    HashError::Algorithm(err.to_string())
}

#[cfg(feature = "bcrypt")]
mod legacy {
    /// Whether a stored hash is bcrypt (`$2a$`, `$2b$` or `$2y$`; the buggy `$2x$` is not
    /// accepted).
    pub(super) fn is_bcrypt(stored: &str) -> bool {
        ["$2a$", "$2b$", "$2y$"]
            .iter()
            .any(|prefix| stored.starts_with(prefix))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use argon2::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;

    /// Counts runs on the hashing threads, and the most at once (tests count work, never time it).
    #[derive(Default)]
    pub(super) struct Probe {
        running: AtomicUsize,
        peak: AtomicUsize,
        runs: AtomicUsize,
    }

    pub(super) struct Running<'a>(&'a Probe);

    impl Probe {
        pub(super) fn enter(&self) -> Running<'_> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            self.runs.fetch_add(1, Ordering::SeqCst);
            Running(self)
        }
    }

    impl Drop for Running<'_> {
        fn drop(&mut self) {
            self.0.running.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn runs(hasher: &Argon2Hasher) -> usize {
        hasher.inner.probe.runs.load(Ordering::SeqCst)
    }

    fn pw(text: &str) -> Password {
        Password::new(text)
    }

    /// A PHC string made by the argon2 crate itself.
    fn foreign_hash(
        algorithm: Algorithm,
        version: Version,
        params: Params,
        password: &str,
    ) -> String {
        Argon2::new(algorithm, version, params)
            .hash_password_with_salt(password.as_bytes(), b"somesaltsomesalt")
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn hash_then_verify_round_trips() {
        let hasher = Argon2Hasher::fast_insecure();
        let hash = hasher.hash(&pw("violet tractor lantern")).await.unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=8,t=1,p=1$"));
        assert_eq!(
            hasher
                .verify(&pw("violet tractor lantern"), &hash)
                .await
                .unwrap(),
            Verification::Valid
        );
    }

    #[tokio::test]
    async fn wrong_password_is_invalid() {
        let hasher = Argon2Hasher::fast_insecure();
        let hash = hasher.hash(&pw("violet tractor lantern")).await.unwrap();
        for wrong in [
            "violet tractor lanterns",
            "Violet tractor lantern",
            "",
            " violet tractor lantern",
        ] {
            assert_eq!(
                hasher.verify(&pw(wrong), &hash).await.unwrap(),
                Verification::Invalid,
                "{wrong:?}"
            );
        }
    }

    #[tokio::test]
    async fn garbage_hash_is_invalid_not_an_error() {
        let hasher = Argon2Hasher::fast_insecure();
        for garbage in [
            "",
            "not a hash",
            "$argon2id$v=19$m=8,t=1,p=1$",
            "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHRzb21lc2FsdA",
            "$argon2id$v=18$m=8,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=4,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAA",
            "$scrypt$ln=16,r=8,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAA",
            "$2b$04$not-really-bcrypt",
            "pbkdf2_sha256$600000$salt$hash",
        ] {
            assert_eq!(
                hasher
                    .verify(&pw("anything"), &PasswordHash::new(garbage))
                    .await
                    .unwrap(),
                Verification::Invalid,
                "{garbage:?}"
            );
        }
        assert_eq!(runs(&hasher), 0, "nothing that fails to parse is hashed");
    }

    #[tokio::test]
    async fn stored_parameters_above_the_cap_are_refused_without_allocating() {
        let hasher = Argon2Hasher::fast_insecure();
        let huge =
            "$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAA";
        let slow =
            "$argon2id$v=19$m=65536,t=1000,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAA";
        for stored in [huge, slow] {
            assert_eq!(
                hasher
                    .verify(&pw("anything"), &PasswordHash::new(stored))
                    .await
                    .unwrap(),
                Verification::Invalid
            );
        }
        assert_eq!(runs(&hasher), 0);
    }

    #[tokio::test]
    async fn hashes_with_other_parameters_need_a_rehash() {
        let old = Argon2Hasher::new(Argon2Params {
            memory_kib: 16,
            iterations: 2,
            parallelism: 1,
        })
        .unwrap();
        let current = Argon2Hasher::fast_insecure();
        let hash = old.hash(&pw("violet tractor lantern")).await.unwrap();
        assert_eq!(
            current
                .verify(&pw("violet tractor lantern"), &hash)
                .await
                .unwrap(),
            Verification::ValidNeedsRehash
        );
        assert_eq!(
            current.verify(&pw("wrong"), &hash).await.unwrap(),
            Verification::Invalid
        );
        assert_eq!(
            old.verify(&pw("violet tractor lantern"), &hash)
                .await
                .unwrap(),
            Verification::Valid
        );
    }

    #[tokio::test]
    async fn other_argon2_variants_and_versions_verify_and_need_a_rehash() {
        let hasher = Argon2Hasher::fast_insecure();
        for (algorithm, version) in [
            (Algorithm::Argon2i, Version::V0x13),
            (Algorithm::Argon2d, Version::V0x13),
            (Algorithm::Argon2id, Version::V0x10),
        ] {
            let stored = PasswordHash::new(foreign_hash(
                algorithm,
                version,
                FAST_INSECURE_PARAMS,
                "hunter2 hunter2",
            ));
            assert_eq!(
                hasher
                    .verify(&pw("hunter2 hunter2"), &stored)
                    .await
                    .unwrap(),
                Verification::ValidNeedsRehash,
                "{algorithm:?} {version:?}"
            );
            assert_eq!(
                hasher
                    .verify(&pw("hunter3 hunter3"), &stored)
                    .await
                    .unwrap(),
                Verification::Invalid
            );
        }
        // Same parameters, variant and version as this hasher's: up to date.
        let current = foreign_hash(
            Algorithm::Argon2id,
            Version::V0x13,
            FAST_INSECURE_PARAMS,
            "hunter2 hunter2",
        );
        assert_eq!(
            hasher
                .verify(&pw("hunter2 hunter2"), &PasswordHash::new(current))
                .await
                .unwrap(),
            Verification::Valid
        );
    }

    #[tokio::test]
    async fn imported_argon2_hashes_of_unnormalised_passwords_still_verify() {
        let hasher = Argon2Hasher::fast_insecure();
        // An argon2-cffi-style hash (other parameters) of the password as typed.
        let old_params = Params::new(16, 1, 1, None).unwrap();
        let imported = foreign_hash(
            Algorithm::Argon2id,
            Version::V0x13,
            old_params,
            "ﬁne ﬁsh pie",
        );
        assert_eq!(
            hasher
                .verify(&pw("ﬁne ﬁsh pie"), &PasswordHash::new(imported))
                .await
                .unwrap(),
            Verification::ValidNeedsRehash
        );
        // Hashes with the current parameters are this hasher's own, always of the NFKC form:
        // one run, of the NFKC form only.
        let runs_before = runs(&hasher);
        let current = foreign_hash(
            Algorithm::Argon2id,
            Version::V0x13,
            FAST_INSECURE_PARAMS,
            "ﬁne ﬁsh pie",
        );
        assert_eq!(
            hasher
                .verify(&pw("ﬁne ﬁsh pie"), &PasswordHash::new(current))
                .await
                .unwrap(),
            Verification::Invalid
        );
        assert_eq!(runs(&hasher), runs_before + 1);
    }

    #[tokio::test]
    async fn a_hash_without_version_is_argon2_version_16() {
        let hasher = Argon2Hasher::fast_insecure();
        let v16 = foreign_hash(
            Algorithm::Argon2i,
            Version::V0x10,
            FAST_INSECURE_PARAMS,
            "hunter2 hunter2",
        );
        let unversioned = v16.replacen("$v=16", "", 1);
        assert_ne!(unversioned, v16);
        assert_eq!(
            hasher
                .verify(&pw("hunter2 hunter2"), &PasswordHash::new(unversioned))
                .await
                .unwrap(),
            Verification::ValidNeedsRehash
        );
    }

    #[cfg(feature = "bcrypt")]
    #[tokio::test]
    async fn bcrypt_hashes_verify_and_need_a_rehash() {
        let hasher = Argon2Hasher::fast_insecure();
        for stored in [
            bcrypt::hash("hunter2 hunter2", 4).unwrap(),
            bcrypt::hash_with_result("hunter2 hunter2", 4)
                .unwrap()
                .format_for_version(bcrypt::Version::TwoA),
            bcrypt::hash_with_result("hunter2 hunter2", 4)
                .unwrap()
                .format_for_version(bcrypt::Version::TwoY),
        ] {
            let stored = PasswordHash::new(stored);
            assert_eq!(
                hasher
                    .verify(&pw("hunter2 hunter2"), &stored)
                    .await
                    .unwrap(),
                Verification::ValidNeedsRehash
            );
            assert_eq!(
                hasher
                    .verify(&pw("hunter3 hunter3"), &stored)
                    .await
                    .unwrap(),
                Verification::Invalid
            );
        }
        assert_eq!(runs(&hasher), 6, "bcrypt runs on the hashing threads too");
    }

    #[cfg(feature = "bcrypt")]
    #[tokio::test]
    async fn bcrypt_hashes_of_unnormalised_passwords_still_verify() {
        use std::str::FromStr as _;
        // Imported hashes were made from the password as typed.
        let hasher = Argon2Hasher::fast_insecure();
        let stored = PasswordHash::new(bcrypt::hash("ﬁne ﬁsh pie", 4).unwrap());
        assert_eq!(
            hasher.verify(&pw("ﬁne ﬁsh pie"), &stored).await.unwrap(),
            Verification::ValidNeedsRehash
        );
        let runs_before = runs(&hasher);
        let too_costly = bcrypt::hash("ﬁne ﬁsh pie", 4)
            .unwrap()
            .replacen("$04$", "$31$", 1);
        assert!(bcrypt::HashParts::from_str(&too_costly).is_ok());
        assert_eq!(
            hasher
                .verify(&pw("ﬁne ﬁsh pie"), &PasswordHash::new(too_costly))
                .await
                .unwrap(),
            Verification::Invalid
        );
        assert_eq!(runs(&hasher), runs_before, "refused without running");
    }

    #[tokio::test]
    async fn nfkc_equivalent_passwords_match() {
        let hasher = Argon2Hasher::fast_insecure();
        let hash = hasher.hash(&pw("ﬁne ﬁsh pie")).await.unwrap();
        assert_eq!(
            hasher.verify(&pw("fine fish pie"), &hash).await.unwrap(),
            Verification::Valid
        );
        let hash = hasher.hash(&pw("cafe\u{301} ｃｒｅｍｅ")).await.unwrap();
        assert_eq!(
            hasher.verify(&pw("caf\u{e9} creme"), &hash).await.unwrap(),
            Verification::Valid
        );
    }

    #[tokio::test]
    async fn salts_differ_between_hashes_of_one_password() {
        let hasher = Argon2Hasher::fast_insecure();
        let a = hasher.hash(&pw("violet tractor lantern")).await.unwrap();
        let b = hasher.hash(&pw("violet tractor lantern")).await.unwrap();
        assert_ne!(a, b);
        let salt =
            |hash: &PasswordHash| phc::PasswordHash::new(hash.as_str()).unwrap().salt.unwrap();
        assert_ne!(salt(&a), salt(&b));
        assert_eq!(salt(&a).len(), SALT_LEN);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_semaphore_caps_concurrency() {
        let hasher = Argon2Hasher::fast_insecure().with_max_concurrent(1);
        let hashes = futures::future::join_all((0..4).map(|i| {
            let hasher = hasher.clone();
            tokio::spawn(async move { hasher.hash(&pw(&format!("password number {i}"))).await })
        }))
        .await;
        for hash in hashes {
            assert!(hash.unwrap().is_ok());
        }
        assert_eq!(runs(&hasher), 4);
        assert_eq!(hasher.inner.probe.peak.load(Ordering::SeqCst), 1);

        let hasher = Argon2Hasher::new(Argon2Params {
            memory_kib: 64,
            iterations: 2,
            parallelism: 1,
        })
        .unwrap()
        .with_max_concurrent(2);
        let tasks = (0..16).map(|i| {
            let hasher = hasher.clone();
            tokio::spawn(async move { hasher.hash(&pw(&format!("password number {i}"))).await })
        });
        for hash in futures::future::join_all(tasks).await {
            assert!(hash.unwrap().is_ok());
        }
        assert!(hasher.inner.probe.peak.load(Ordering::SeqCst) <= 2);
        assert!(
            hasher.inner.memory.idle_buffers() <= 2,
            "memory is bounded by the cap"
        );
    }

    #[tokio::test]
    async fn zero_concurrency_is_taken_as_one() {
        let hasher = Argon2Hasher::fast_insecure().with_max_concurrent(0);
        assert_eq!(hasher.max_concurrent(), 1);
        assert!(hasher.hash(&pw("violet tractor lantern")).await.is_ok());
    }

    #[tokio::test]
    async fn over_long_passwords_are_never_hashed() {
        let hasher = Argon2Hasher::fast_insecure();
        let long = pw(&"x".repeat(MAX_PASSWORD_BYTES + 1));
        let err = hasher.hash(&long).await.unwrap_err();
        assert!(matches!(err, HashError::Algorithm(ref m) if m == "password too long"));
        let hash = hasher.hash(&pw("violet tractor lantern")).await.unwrap();
        let runs_before = runs(&hasher);
        assert_eq!(
            hasher.verify(&long, &hash).await.unwrap(),
            Verification::Invalid
        );
        hasher.dummy_verify(&long).await.unwrap();
        assert_eq!(runs(&hasher), runs_before);
        // Exactly the limit is hashed.
        assert!(
            hasher
                .hash(&pw(&"x".repeat(MAX_PASSWORD_BYTES)))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn dummy_verify_does_the_work_of_one_verify_with_the_configured_parameters() {
        let hasher = Argon2Hasher::fast_insecure();
        hasher
            .dummy_verify(&pw("violet tractor lantern"))
            .await
            .unwrap();
        assert_eq!(runs(&hasher), 1);

        let dummy = StoredArgon2::parse(&hasher.inner.dummy, hasher.inner.argon2.params()).unwrap();
        assert!(dummy.is_up_to_date(hasher.inner.argon2.params()));
        assert_eq!(
            hasher
                .verify(
                    &pw("violet tractor lantern"),
                    &PasswordHash::new(hasher.inner.dummy.clone())
                )
                .await
                .unwrap(),
            Verification::Invalid
        );
        let owasp = Argon2Hasher::default();
        assert!(
            owasp
                .inner
                .dummy
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
        );
        assert!(StoredArgon2::parse(&owasp.inner.dummy, owasp.inner.argon2.params()).is_ok());
    }

    #[tokio::test]
    async fn owasp_hashes_have_the_expected_phc_form_and_verify_with_the_argon2_crate() {
        let hasher = Argon2Hasher::default();
        let hash = hasher.hash(&pw("violet tractor lantern")).await.unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_str()
        );
        // $argon2id$v=19$m=19456,t=2,p=1$<22 chars of salt>$<43 chars of hash>
        let fields: Vec<&str> = hash.as_str().split('$').collect();
        assert_eq!(
            (fields.len(), fields[4].len(), fields[5].len()),
            (6, 22, 43)
        );
        assert!(
            !fields[4].contains('=') && !fields[5].contains('='),
            "no padding"
        );
        Argon2::default()
            .verify_password(b"violet tractor lantern", hash.as_str())
            .unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"violet tractor lanterns", hash.as_str())
                .is_err()
        );
        assert_eq!(
            hasher
                .verify(&pw("violet tractor lantern"), &hash)
                .await
                .unwrap(),
            Verification::Valid
        );
    }

    #[test]
    fn parameters_are_validated() {
        assert!(
            Argon2Hasher::new(Argon2Params {
                memory_kib: 4,
                iterations: 1,
                parallelism: 1
            })
            .is_err()
        );
        assert!(
            Argon2Hasher::new(Argon2Params {
                memory_kib: 8,
                iterations: 0,
                parallelism: 1
            })
            .is_err()
        );
        assert!(
            Argon2Hasher::new(Argon2Params {
                memory_kib: 8,
                iterations: 1,
                parallelism: 0
            })
            .is_err()
        );
        assert!(
            Argon2Hasher::new(Argon2Params {
                memory_kib: 8,
                iterations: 1,
                parallelism: 2
            })
            .is_err()
        );
        assert!(Argon2Hasher::new(Argon2Params::default()).is_ok());
        assert_eq!(
            Argon2Params::fast_insecure(),
            Argon2Params {
                memory_kib: 8,
                iterations: 1,
                parallelism: 1
            }
        );
        assert_eq!(
            Argon2Hasher::fast_insecure().params(),
            Argon2Params::fast_insecure()
        );
        assert_eq!(Argon2Hasher::default().params(), Argon2Params::default());
        assert_eq!(Params::DEFAULT.m_cost(), Argon2Params::default().memory_kib);
    }

    #[test]
    fn debug_shows_parameters_and_cap() {
        let hasher = Argon2Hasher::default().with_max_concurrent(3);
        assert_eq!(
            format!("{hasher:?}"),
            "Argon2Hasher { memory_kib: 19456, iterations: 2, parallelism: 1, max_concurrent: 3, niceness: 10 }"
        );
    }

    #[test]
    fn hasher_and_its_futures_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>(_: &T) {}
        fn assert_send<T: Send>(_: &T) {}
        let hasher = Argon2Hasher::fast_insecure();
        assert_send_sync(&hasher);
        let password = pw("x");
        let hash = PasswordHash::new("x");
        assert_send(&hasher.hash(&password));
        assert_send(&hasher.verify(&password, &hash));
        assert_send(&hasher.dummy_verify(&password));
    }

    #[test]
    fn hashing_needs_no_tokio_runtime() {
        let hasher = Argon2Hasher::fast_insecure();
        let hash = futures::executor::block_on(hasher.hash(&pw("violet tractor lantern")));
        let verified = futures::executor::block_on(
            hasher.verify(&pw("violet tractor lantern"), &hash.unwrap()),
        );
        assert_eq!(verified.unwrap(), Verification::Valid);
    }

    #[test]
    fn niceness_is_kept_across_settings_and_capped() {
        let hasher = Argon2Hasher::fast_insecure().with_niceness(30);
        assert_eq!(hasher.niceness(), super::super::threads::MAX_NICENESS);
        let hasher = hasher.with_niceness(3).with_max_concurrent(2);
        assert_eq!((hasher.niceness(), hasher.max_concurrent()), (3, 2));
    }
}
