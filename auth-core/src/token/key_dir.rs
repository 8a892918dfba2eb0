//! [`JwtKeyDir`]: a key set kept as PEM files in a directory; [`JwtKeyReloader`]: reloads it
//! without a restart, swapping the set atomically.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::jwt::{JwtAlgorithm, JwtError, JwtKeys};
use super::key_set::{JwtKeySet, SharedJwtKeySet};

/// The longest key id a file name may give.
const MAX_KID_LEN: usize = 64;

/// A directory of PEM key files, one key per id, for RS256, ES256 or EdDSA (one algorithm for
/// the whole directory):
///
/// - `<kid>.pem`: a private key (PKCS#8; PKCS#1 also for RSA). It can sign; its public key
///   is derived from it. A `<kid>.pub.pem` beside it must be its public key.
/// - `<kid>.pub.pem` alone: a verify-only key, such as a retired key whose private half has
///   been destroyed. Tokens it signed are still accepted.
///
/// Key ids are the file names without `.pem` / `.pub.pem`: letters, digits, `.`, `_` and
/// `-`, at most 64 bytes. Files whose names start with `.` (editors' and atomic writers'
/// temporary files) and files not ending in `.pem` are ignored; any other file that is not
/// a usable key fails the whole load, so a half-written directory is never taken for a
/// smaller key set.
///
/// The signing key is the one named by [`JwtKeyDir::with_signing_kid`]; without one, the
/// private key whose id is greatest in byte order. Every instance reading the same files
/// agrees on it whatever the file times, so name keys by date (`2026-01-15.pem`) and the
/// newest signs.
///
/// ```
/// use auth_core::{JwtAlgorithm, JwtKeyDir};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = std::env::temp_dir().join(format!("jwt-keys-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// std::fs::copy(
///     concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/ed25519-test-private.pem"),
///     dir.join("2026-01.pem"),
/// )?;
/// let set = JwtKeyDir::new(&dir, JwtAlgorithm::EdDSA).load()?;
/// assert_eq!(set.signing().kid(), Some("2026-01"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtKeyDir {
    path: PathBuf,
    algorithm: JwtAlgorithm,
    signing_kid: Option<String>,
}

/// What the directory looked like: each key file's name, modification time and size.
type Fingerprint = Vec<(String, Option<SystemTime>, u64)>;

impl JwtKeyDir {
    /// The key files in `path`, all for `algorithm`.
    pub fn new(path: impl Into<PathBuf>, algorithm: JwtAlgorithm) -> Self {
        Self {
            path: path.into(),
            algorithm,
            signing_kid: None,
        }
    }

    /// The key with this id signs, instead of the greatest id.
    #[must_use]
    pub fn with_signing_kid(mut self, kid: impl Into<String>) -> Self {
        self.signing_kid = Some(kid.into());
        self
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads every key file into a set.
    ///
    /// # Errors
    /// [`JwtError::KeyDir`] when the directory cannot be listed, a file name is not a valid
    /// key id, or there is no private key; [`JwtError::Io`] or a key error naming nothing
    /// secret when a key file cannot be read or parsed; [`JwtError::NoSigningKey`] when the
    /// named signing key is absent or verify-only.
    pub fn load(&self) -> Result<JwtKeySet, JwtError> {
        if self.algorithm.is_hmac() {
            return Err(self.error(&self.path, "holds PEM keys, for RS256, ES256 or EdDSA only"));
        }
        let mut private = Vec::new();
        let mut public = Vec::new();
        for name in self.key_files()? {
            if let Some(kid) = name.strip_suffix(".pub.pem") {
                public.push(self.valid_kid(kid)?.to_owned());
            } else if let Some(kid) = name.strip_suffix(".pem") {
                private.push(self.valid_kid(kid)?.to_owned());
            }
        }
        let signing_kid = match &self.signing_kid {
            Some(kid) => kid.clone(),
            None => private.iter().max().cloned().ok_or_else(|| {
                self.error(
                    &self.path,
                    "holds no private key (`<kid>.pem`) to sign with",
                )
            })?,
        };
        let mut keys = Vec::with_capacity(private.len() + public.len());
        for kid in &private {
            let private_pem = self.read(&format!("{kid}.pem"))?;
            let key = if public.contains(kid) {
                let public_pem = self.read(&format!("{kid}.pub.pem"))?;
                JwtKeys::from_pem(self.algorithm, &private_pem, &public_pem)
            } else {
                JwtKeys::from_private_pem(self.algorithm, &private_pem)
            };
            keys.push(key.map_err(|err| self.key_error(kid, &err))?.with_kid(kid));
        }
        for kid in public.iter().filter(|kid| !private.contains(kid)) {
            let public_pem = self.read(&format!("{kid}.pub.pem"))?;
            let key = JwtKeys::from_public_pem(self.algorithm, &public_pem)
                .map_err(|err| self.key_error(kid, &err))?;
            keys.push(key.with_kid(kid));
        }
        JwtKeySet::from_keys(keys, Some(&signing_kid))
    }

    /// The names of the key files, sorted.
    fn key_files(&self) -> Result<Vec<String>, JwtError> {
        Ok(self
            .fingerprint()?
            .into_iter()
            .map(|(name, _, _)| name)
            .collect())
    }

    fn fingerprint(&self) -> Result<Fingerprint, JwtError> {
        let entries = std::fs::read_dir(&self.path).map_err(|source| JwtError::Io {
            path: self.path.clone(),
            source,
        })?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| JwtError::Io {
                path: self.path.clone(),
                source,
            })?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if name.starts_with('.') || !name.ends_with(".pem") {
                continue;
            }
            let metadata = std::fs::metadata(entry.path()).map_err(|source| JwtError::Io {
                path: entry.path(),
                source,
            })?;
            files.push((name, metadata.modified().ok(), metadata.len()));
        }
        files.sort();
        Ok(files)
    }

    fn valid_kid<'k>(&self, kid: &'k str) -> Result<&'k str, JwtError> {
        let valid = !kid.is_empty()
            && kid.len() <= MAX_KID_LEN
            && kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if valid {
            Ok(kid)
        } else {
            Err(self.error(
                &self.path.join(kid),
                "a key id is 1 to 64 letters, digits, `.`, `_` or `-`; rename the file",
            ))
        }
    }

    fn read(&self, name: &str) -> Result<Vec<u8>, JwtError> {
        let path = self.path.join(name);
        std::fs::read(&path).map_err(|source| JwtError::Io { path, source })
    }

    fn key_error(&self, kid: &str, err: &JwtError) -> JwtError {
        self.error(
            &self.path.join(kid),
            &format!("is not a usable {} key: {err}", self.algorithm),
        )
    }

    fn error(&self, path: &Path, reason: &str) -> JwtError {
        JwtError::KeyDir {
            path: path.to_owned(),
            reason: reason.to_owned(),
        }
    }
}

/// Reloads a [`JwtKeyDir`] without a restart: the set it serves is a [`SharedJwtKeySet`]
/// for [`JwtCodec::with_shared_keys`](super::JwtCodec::with_shared_keys); each reload reads the
/// whole directory and swaps the new set in at once. A reload that fails (a bad or half-written
/// file, a missing signing key) logs an error and keeps the set in use: the server is never
/// left without keys.
///
/// Call [`JwtKeyReloader::reload_if_changed`] when told to (the reference server does on
/// `SIGHUP`), or let [`JwtKeyReloader::spawn`] check the files' modification times
/// periodically.
///
/// ```
/// use std::sync::Arc;
/// use auth_core::{JwtAlgorithm, JwtCodec, JwtKeyDir, JwtKeyReloader};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("jwt-reload-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/p256-test-private.pem"), dir.join("a.pem"))?;
/// let reloader = JwtKeyReloader::start(JwtKeyDir::new(&dir, JwtAlgorithm::ES256))?;
/// let codec = JwtCodec::with_shared_keys(reloader.keys(), "my-app");
/// // Nothing changed on disk: nothing reloaded.
/// assert!(!reloader.reload_if_changed()?);
/// # let _ = codec;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct JwtKeyReloader {
    dir: JwtKeyDir,
    keys: SharedJwtKeySet,
    seen: Mutex<Fingerprint>,
}

impl JwtKeyReloader {
    /// Loads the directory a first time.
    ///
    /// # Errors
    /// As [`JwtKeyDir::load`]: at start-up, a bad directory is an error, not a warning.
    pub fn start(dir: JwtKeyDir) -> Result<Self, JwtError> {
        let seen = dir.fingerprint()?;
        let set = dir.load()?;
        Ok(Self {
            dir,
            keys: SharedJwtKeySet::new(set),
            seen: Mutex::new(seen),
        })
    }

    /// The set, for codecs; reloads swap it for every clone.
    pub fn keys(&self) -> SharedJwtKeySet {
        self.keys.clone()
    }

    /// The directory.
    pub fn dir(&self) -> &JwtKeyDir {
        &self.dir
    }

    /// Reloads the directory if a key file was added, removed or modified since the last
    /// load; whether it reloaded.
    ///
    /// # Errors
    /// As [`JwtKeyDir::load`]; the set in use is then kept, and the error logged.
    pub fn reload_if_changed(&self) -> Result<bool, JwtError> {
        let now = self.dir.fingerprint().inspect_err(|err| self.log(err))?;
        if *self.seen() == now {
            return Ok(false);
        }
        self.load(now).map(|()| true)
    }

    /// Reloads the directory now, changed or not.
    ///
    /// # Errors
    /// As [`JwtKeyDir::load`]; the set in use is then kept, and the error logged.
    pub fn reload(&self) -> Result<(), JwtError> {
        let now = self.dir.fingerprint().inspect_err(|err| self.log(err))?;
        self.load(now)
    }

    fn load(&self, fingerprint: Fingerprint) -> Result<(), JwtError> {
        // Remembered even when the load fails: a bad file is reported once, not every period,
        // and the next change is tried again.
        *self.seen() = fingerprint;
        let set = self.dir.load().inspect_err(|err| self.log(err))?;
        let kids: Vec<_> = set
            .keys()
            .map(|key| key.kid().unwrap_or_default())
            .collect();
        tracing::info!(
            dir = %self.dir.path.display(),
            signing = set.signing().kid().unwrap_or_default(),
            ?kids,
            "jwt keys reloaded"
        );
        self.keys.store(set);
        Ok(())
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Fingerprint> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn log(&self, err: &JwtError) {
        tracing::error!(
            dir = %self.dir.path.display(),
            error = %err,
            "jwt keys not reloaded; the keys in use are kept"
        );
    }

    /// Checks the key files every `period` on the Tokio runtime, reloading them when they
    /// changed, for as long as the task runs (abort the handle to stop it). Reading and
    /// parsing the keys runs on the blocking pool.
    pub fn spawn(self: Arc<Self>, period: std::time::Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick is immediate, and the set was just loaded.
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let reloader = Arc::clone(&self);
                // Errors are logged inside; a panic in the blocking task only ends this check.
                let _ = tokio::task::spawn_blocking(move || reloader.reload_if_changed()).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use serde_json::{Value, json};
    use time::{Duration, OffsetDateTime};

    use super::*;
    use crate::token::{ACCESS_AUDIENCE, JwtCodec};

    type TestResult = Result<(), Box<dyn Error>>;

    const ED_PRIVATE: &[u8] = include_bytes!("../../tests/keys/ed25519-test-private.pem");
    const ED_PUBLIC: &[u8] = include_bytes!("../../tests/keys/ed25519-test-public.pem");
    const ED2_PRIVATE: &[u8] = include_bytes!("../../tests/keys/ed25519-test-second-private.pem");
    const ED2_PUBLIC: &[u8] = include_bytes!("../../tests/keys/ed25519-test-second-public.pem");
    const RSA_PRIVATE: &[u8] = include_bytes!("../../tests/keys/rsa2048-test-private.pem");

    /// A fresh directory, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> std::io::Result<Self> {
            let path = std::env::temp_dir().join(format!(
                "auth-core-{name}-{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4()
            ));
            std::fs::create_dir_all(&path)?;
            Ok(Self(path))
        }

        fn write(&self, name: &str, contents: &[u8]) -> std::io::Result<()> {
            std::fs::write(self.0.join(name), contents)
        }

        fn remove(&self, name: &str) -> std::io::Result<()> {
            std::fs::remove_file(self.0.join(name))
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn token(codec: &JwtCodec) -> Result<String, JwtError> {
        let exp = (now() + Duration::minutes(5)).unix_timestamp();
        codec.encode(&json!({ "exp": exp }), ACCESS_AUDIENCE)
    }

    fn verifies(codec: &JwtCodec, token: &str) -> bool {
        codec.decode::<Value>(token, ACCESS_AUDIENCE, now()).is_ok()
    }

    fn kid(token: &str) -> Option<String> {
        jsonwebtoken::decode_header(token)
            .ok()
            .and_then(|header| header.kid)
    }

    #[test]
    fn reload_rotates_without_logging_anyone_out_and_removal_revokes() -> TestResult {
        let dir = TempDir::new("reload")?;
        dir.write("2025-01.pem", ED_PRIVATE)?;
        dir.write("README.txt", b"not a key")?;
        let reloader = JwtKeyReloader::start(JwtKeyDir::new(&dir.0, JwtAlgorithm::EdDSA))?;
        let codec = JwtCodec::with_shared_keys(reloader.keys(), "tests");
        let old = token(&codec)?;
        assert_eq!(kid(&old).as_deref(), Some("2025-01"));
        assert!(!reloader.reload_if_changed()?);

        // A newer key: it signs, the old one still verifies.
        dir.write("2026-01.pem", ED2_PRIVATE)?;
        assert!(reloader.reload_if_changed()?);
        let new = token(&codec)?;
        assert_eq!(kid(&new).as_deref(), Some("2026-01"));
        assert!(verifies(&codec, &old) && verifies(&codec, &new));

        // Retired: only the public half is kept; its tokens still verify.
        dir.remove("2025-01.pem")?;
        dir.write("2025-01.pub.pem", ED_PUBLIC)?;
        assert!(reloader.reload_if_changed()?);
        assert!(verifies(&codec, &old));
        assert_eq!(kid(&token(&codec)?).as_deref(), Some("2026-01"));

        // Removed: its tokens are refused.
        dir.remove("2025-01.pub.pem")?;
        assert!(reloader.reload_if_changed()?);
        assert!(!verifies(&codec, &old));
        assert!(verifies(&codec, &new));
        Ok(())
    }

    #[test]
    fn a_bad_file_keeps_the_keys_in_use() -> TestResult {
        let dir = TempDir::new("bad")?;
        dir.write("a.pem", ED_PRIVATE)?;
        let reloader = JwtKeyReloader::start(JwtKeyDir::new(&dir.0, JwtAlgorithm::EdDSA))?;
        let codec = JwtCodec::with_shared_keys(reloader.keys(), "tests");
        let before = token(&codec)?;

        for (name, contents) in [
            ("b.pem", &b"-----BEGIN PRIVATE KEY-----\ntruncated"[..]),
            ("b.pem", RSA_PRIVATE),
            ("b.pub.pem", b"garbage"),
            ("b..x y.pem", ED2_PRIVATE),
        ] {
            dir.write(name, contents)?;
            assert!(reloader.reload_if_changed().is_err(), "{name}");
            // Reported once, not at every check.
            assert!(!reloader.reload_if_changed()?);
            assert_eq!(kid(&token(&codec)?).as_deref(), Some("a"));
            assert!(verifies(&codec, &before));
            dir.remove(name)?;
        }
        // A private key whose public file is not its pair.
        dir.write("b.pem", ED2_PRIVATE)?;
        dir.write("b.pub.pem", ED_PUBLIC)?;
        assert!(reloader.reload().is_err());
        dir.write("b.pub.pem", ED2_PUBLIC)?;
        reloader.reload()?;
        assert_eq!(kid(&token(&codec)?).as_deref(), Some("b"));

        // Every private key gone: refused, the set in use kept.
        dir.remove("a.pem")?;
        dir.remove("b.pem")?;
        assert!(reloader.reload().is_err());
        assert!(verifies(&codec, &before));
        // Hidden files are ignored (an editor's or an atomic writer's temporary file).
        dir.write(".b.pem.tmp", b"half written")?;
        dir.write(".c.pem", b"half written")?;
        assert!(JwtKeyDir::new(&dir.0, JwtAlgorithm::EdDSA).load().is_err());
        Ok(())
    }

    #[test]
    fn the_signing_key_is_the_named_one_or_the_greatest_id() -> TestResult {
        let dir = TempDir::new("signing")?;
        dir.write("2026-01.pem", ED2_PRIVATE)?;
        dir.write("2025-12.pem", ED_PRIVATE)?;
        let set = JwtKeyDir::new(&dir.0, JwtAlgorithm::EdDSA).load()?;
        assert_eq!(set.signing().kid(), Some("2026-01"));
        let named = JwtKeyDir::new(&dir.0, JwtAlgorithm::EdDSA).with_signing_kid("2025-12");
        assert_eq!(named.load()?.signing().kid(), Some("2025-12"));
        let missing = JwtKeyDir::new(&dir.0, JwtAlgorithm::EdDSA).with_signing_kid("2027-01");
        assert!(matches!(missing.load(), Err(JwtError::NoSigningKey(_))));
        assert!(JwtKeyDir::new(&dir.0, JwtAlgorithm::HS256).load().is_err());
        assert!(
            JwtKeyDir::new(dir.0.join("nope"), JwtAlgorithm::EdDSA)
                .load()
                .is_err()
        );
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn the_spawned_task_reloads_changed_files() -> TestResult {
        let dir = TempDir::new("spawn")?;
        dir.write("a.pem", ED_PRIVATE)?;
        let reloader = Arc::new(JwtKeyReloader::start(JwtKeyDir::new(
            &dir.0,
            JwtAlgorithm::EdDSA,
        ))?);
        let keys = reloader.keys();
        let task = Arc::clone(&reloader).spawn(std::time::Duration::from_millis(20));
        dir.write("b.pem", ED2_PRIVATE)?;
        // Waits for the change to be seen, up to ten seconds on a slow machine.
        for _ in 0..500 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            if keys.load().signing().kid() == Some("b") {
                break;
            }
        }
        task.abort();
        assert_eq!(keys.load().signing().kid(), Some("b"));
        Ok(())
    }
}
