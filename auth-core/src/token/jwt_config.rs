//! [`JwtConfig`]: the JWT algorithm, keys and issuer, from the environment.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::jwt::{JwtAlgorithm, JwtCodec, JwtError, JwtKeys};
use super::key_dir::{JwtKeyDir, JwtKeyReloader};
use super::verified_cache::DEFAULT_VERIFIED_TOKEN_CACHE;
use crate::env::{Env, EnvError};

/// How often a key directory is checked for changes when not configured otherwise.
const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(60);

/// Secrets that ship in examples and tutorials; refused by [`JwtConfig::check_production`].
const DEFAULT_SECRETS: &[&str] = &[
    "secret",
    "changeme",
    "change-me",
    "SECRET",
    "your-secret-key",
    "replace me with 32+ random bytes!!",
];

/// The fix every refused secret gets.
const GENERATE: &str = "Generate one: openssl rand -base64 48";

/// Where the JWT keys come from.
#[derive(Clone, PartialEq, Eq)]
pub enum JwtKeySource {
    /// `JWT_SECRET_KEY`, as the UTF-8 bytes of its value (HMAC algorithms).
    Secret(String),
    /// An HMAC algorithm without `JWT_SECRET_KEY`: the app decides (the reference server
    /// generates a development secret; [`JwtConfig::check_production`] refuses it).
    Unset,
    /// `JWT_PRIVATE_KEY_FILE` and `JWT_PUBLIC_KEY_FILE`, for RS256, ES256 and EdDSA: one key,
    /// without a key id.
    Files {
        /// The PEM private key.
        private: PathBuf,
        /// The PEM public key.
        public: PathBuf,
    },
    /// `JWT_KEYS_DIR`, for RS256, ES256 and EdDSA: a directory of `<kid>.pem` private keys
    /// and `<kid>.pub.pem` verify-only public keys ([`JwtKeyDir`]), reloaded while running.
    Dir {
        /// The directory.
        path: PathBuf,
        /// `JWT_SIGNING_KID`: the key that signs; the greatest key id when unset.
        signing_kid: Option<String>,
    },
}

impl fmt::Debug for JwtKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret([redacted])"),
            Self::Unset => f.write_str("Unset"),
            Self::Files { private, public } => f
                .debug_struct("Files")
                .field("private", private)
                .field("public", public)
                .finish(),
            Self::Dir { path, signing_kid } => f
                .debug_struct("Dir")
                .field("path", path)
                .field("signing_kid", signing_kid)
                .finish(),
        }
    }
}

/// The JWT settings of a [`JwtCodec`], from the environment:
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `JWT_ALGORITHM` | `HS256`, `HS384`, `HS512`, `RS256`, `ES256` or `EdDSA` | `HS256` |
/// | `JWT_SECRET_KEY` | the HMAC secret (its UTF-8 bytes), 32 bytes or more | none ([`JwtKeySource::Unset`]) |
/// | `JWT_PRIVATE_KEY_FILE`, `JWT_PUBLIC_KEY_FILE` | PEM key pair for `RS256`, `ES256`, `EdDSA` (these or `JWT_KEYS_DIR` required with them) | none |
/// | `JWT_KEYS_DIR` | a directory of `<kid>.pem` private keys and `<kid>.pub.pem` verify-only public keys ([`JwtKeyDir`]), reloaded while running; instead of the two files | none |
/// | `JWT_SIGNING_KID` | with `JWT_KEYS_DIR`: the key id that signs | the greatest key id |
/// | `JWT_KEYS_RELOAD_INTERVAL` | with `JWT_KEYS_DIR`: how often the files are checked for changes (`30s`, `5m`) | `60s` |
/// | `JWT_VERIFIED_TOKEN_CACHE` | how many verified access tokens an asymmetric algorithm remembers; `0` for none | `4096` |
/// | `JWT_ISSUER` | the `iss` claim | `accounts` |
///
/// ```
/// use auth_core::env::Env;
/// use auth_core::{JwtConfig, JwtKeySource};
///
/// let env = Env::from_map([("JWT_SECRET_KEY", "an example secret of at least 32 bytes")]);
/// let config = JwtConfig::from_lookup(&env)?;
/// assert!(matches!(config.keys, JwtKeySource::Secret(_)));
/// assert_eq!(config.issuer, "accounts");
/// let codec = config.codec()?.expect("a secret is set");
/// # let _ = codec;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfig {
    /// `JWT_ALGORITHM`.
    pub algorithm: JwtAlgorithm,
    /// The keys.
    pub keys: JwtKeySource,
    /// `JWT_ISSUER`.
    pub issuer: String,
    /// `JWT_KEYS_RELOAD_INTERVAL`: how often a key directory is checked for changes.
    pub reload_interval: Duration,
    /// `JWT_VERIFIED_TOKEN_CACHE`: the size of the cache of verified access tokens, for
    /// asymmetric algorithms (see [`JwtStrategy`](super::JwtStrategy)); HMAC algorithms never
    /// use one.
    pub verified_token_cache: usize,
}

impl JwtConfig {
    /// Reads the variables of the table above from the process environment.
    ///
    /// # Errors
    /// As [`JwtConfig::from_lookup`].
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_lookup(&Env::process())
    }

    /// Reads the variables of the table above from `env`.
    ///
    /// # Errors
    /// An [`EnvError`] for an unknown `JWT_ALGORITHM`, an asymmetric algorithm without both
    /// key files or a key directory (or with both), a key directory with an HMAC algorithm, or
    /// a reload interval or cache size that does not parse.
    pub fn from_lookup(env: &Env) -> Result<Self, EnvError> {
        let algorithm: JwtAlgorithm = env
            .string("JWT_ALGORITHM")
            .unwrap_or_else(|| "HS256".into())
            .parse()
            .map_err(|_| {
                EnvError::new(
                    "JWT_ALGORITHM",
                    "unknown algorithm",
                    "Use HS256, HS384, HS512, RS256, ES256 or EdDSA.",
                )
            })?;
        let dir = env.string("JWT_KEYS_DIR");
        let keys = if algorithm.is_hmac() {
            if dir.is_some() {
                return Err(EnvError::new(
                    "JWT_KEYS_DIR",
                    format!("holds PEM keys, which {algorithm} does not use"),
                    "Set JWT_ALGORITHM to RS256, ES256 or EdDSA, or unset JWT_KEYS_DIR.",
                ));
            }
            env.string("JWT_SECRET_KEY")
                .map_or(JwtKeySource::Unset, JwtKeySource::Secret)
        } else {
            match (
                dir,
                env.string("JWT_PRIVATE_KEY_FILE"),
                env.string("JWT_PUBLIC_KEY_FILE"),
            ) {
                (Some(path), None, None) => JwtKeySource::Dir {
                    path: path.into(),
                    signing_kid: env.string("JWT_SIGNING_KID"),
                },
                (None, Some(private), Some(public)) => JwtKeySource::Files {
                    private: private.into(),
                    public: public.into(),
                },
                (Some(_), _, _) => {
                    return Err(EnvError::new(
                        "JWT_KEYS_DIR",
                        "is set together with JWT_PRIVATE_KEY_FILE or JWT_PUBLIC_KEY_FILE",
                        "Use one: move the key files into the directory as <kid>.pem, or unset \
                         JWT_KEYS_DIR.",
                    ));
                }
                (None, _, _) => {
                    return Err(EnvError::new(
                        "JWT_PRIVATE_KEY_FILE",
                        format!("{algorithm} needs a key pair"),
                        "Set JWT_PRIVATE_KEY_FILE and JWT_PUBLIC_KEY_FILE to PEM files, or \
                         JWT_KEYS_DIR to a directory of <kid>.pem keys.",
                    ));
                }
            }
        };
        let verified_token_cache = env
            .parse::<usize>(
                "JWT_VERIFIED_TOKEN_CACHE",
                "Use a number of tokens, like 4096, or 0 for no cache.",
            )?
            .unwrap_or(DEFAULT_VERIFIED_TOKEN_CACHE);
        Ok(Self {
            algorithm,
            keys,
            issuer: env
                .string("JWT_ISSUER")
                .unwrap_or_else(|| "accounts".into()),
            reload_interval: env.duration("JWT_KEYS_RELOAD_INTERVAL", DEFAULT_RELOAD_INTERVAL)?,
            verified_token_cache,
        })
    }

    /// Refuses what must not go live: an HMAC algorithm without `JWT_SECRET_KEY`, a
    /// well-known default secret, or one shorter than 32 bytes.
    ///
    /// # Errors
    /// An [`EnvError`] about `JWT_SECRET_KEY` that says how to make a good one.
    pub fn check_production(&self) -> Result<(), EnvError> {
        match &self.keys {
            JwtKeySource::Secret(secret) if DEFAULT_SECRETS.contains(&secret.as_str()) => Err(
                EnvError::new("JWT_SECRET_KEY", "is a well-known default", GENERATE),
            ),
            JwtKeySource::Secret(secret) if secret.len() < 32 => Err(EnvError::new(
                "JWT_SECRET_KEY",
                format!("is {} bytes; at least 32 are needed", secret.len()),
                GENERATE,
            )),
            JwtKeySource::Unset => Err(EnvError::new(
                "JWT_SECRET_KEY",
                "is missing (APP_ENV=production)",
                "Set it to 32 or more random bytes: openssl rand -base64 48",
            )),
            JwtKeySource::Secret(_) | JwtKeySource::Files { .. } | JwtKeySource::Dir { .. } => {
                Ok(())
            }
        }
    }

    /// The keys: from the secret, or read from the key files; `None` when the secret is
    /// [`JwtKeySource::Unset`] or the keys are a directory ([`JwtConfig::key_dir`]).
    ///
    /// # Errors
    /// As [`JwtKeys::hmac`] and [`JwtKeys::from_pem_files`].
    pub fn jwt_keys(&self) -> Result<Option<JwtKeys>, JwtError> {
        match &self.keys {
            JwtKeySource::Secret(secret) => {
                JwtKeys::hmac(self.algorithm, secret.as_bytes()).map(Some)
            }
            JwtKeySource::Files { private, public } => {
                JwtKeys::from_pem_files(self.algorithm, private, public).map(Some)
            }
            JwtKeySource::Unset | JwtKeySource::Dir { .. } => Ok(None),
        }
    }

    /// The key directory, when the keys are one ([`JwtKeySource::Dir`]).
    pub fn key_dir(&self) -> Option<JwtKeyDir> {
        match &self.keys {
            JwtKeySource::Dir { path, signing_kid } => {
                let dir = JwtKeyDir::new(path, self.algorithm);
                Some(match signing_kid {
                    Some(kid) => dir.with_signing_kid(kid),
                    None => dir,
                })
            }
            _ => None,
        }
    }

    /// The codec with this issuer: over [`JwtConfig::jwt_keys`], or over a key directory
    /// loaded once (use a [`JwtKeyReloader`] of [`JwtConfig::key_dir`] to reload it); `None`
    /// when the secret is [`JwtKeySource::Unset`].
    ///
    /// # Errors
    /// As [`JwtConfig::jwt_keys`] and [`JwtKeyDir::load`].
    pub fn codec(&self) -> Result<Option<JwtCodec>, JwtError> {
        if let Some(dir) = self.key_dir() {
            let reloader = JwtKeyReloader::start(dir)?;
            return Ok(Some(JwtCodec::with_shared_keys(
                reloader.keys(),
                self.issuer.clone(),
            )));
        }
        Ok(self
            .jwt_keys()?
            .map(|keys| JwtCodec::new(keys, self.issuer.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<JwtConfig, EnvError> {
        JwtConfig::from_lookup(&Env::from_map(pairs.iter().copied()))
    }

    #[test]
    fn defaults_are_hs256_without_a_secret() {
        let config = config(&[]).unwrap();
        assert_eq!(config.algorithm, JwtAlgorithm::HS256);
        assert_eq!(config.keys, JwtKeySource::Unset);
        assert_eq!(config.issuer, "accounts");
        assert!(config.codec().unwrap().is_none());
    }

    #[test]
    fn production_refuses_weak_secrets_and_says_how_to_fix_them() {
        let err = config(&[]).unwrap().check_production().unwrap_err();
        assert!(
            err.to_string().contains("JWT_SECRET_KEY") && err.to_string().contains("openssl rand")
        );
        let err = config(&[("JWT_SECRET_KEY", "short")])
            .unwrap()
            .check_production()
            .unwrap_err();
        assert!(err.to_string().contains("at least 32"));
        let err = config(&[("JWT_SECRET_KEY", "changeme")])
            .unwrap()
            .check_production()
            .unwrap_err();
        assert!(err.to_string().contains("default"));
        config(&[("JWT_SECRET_KEY", "0123456789abcdef0123456789abcdef-strong")])
            .unwrap()
            .check_production()
            .unwrap();
    }

    #[test]
    fn asymmetric_algorithms_need_both_files_and_secrets_never_print() {
        let err = config(&[("JWT_ALGORITHM", "RS256")]).unwrap_err();
        assert_eq!(err.variable(), "JWT_PRIVATE_KEY_FILE");
        let err = config(&[("JWT_ALGORITHM", "none")]).unwrap_err();
        assert_eq!(err.variable(), "JWT_ALGORITHM");
        let config = config(&[("JWT_SECRET_KEY", "hunter2")]).unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn a_key_directory_replaces_the_two_files_for_asymmetric_algorithms_only() {
        let dir = config(&[
            ("JWT_ALGORITHM", "EdDSA"),
            ("JWT_KEYS_DIR", "/etc/keys"),
            ("JWT_SIGNING_KID", "2026-01"),
            ("JWT_KEYS_RELOAD_INTERVAL", "5m"),
            ("JWT_VERIFIED_TOKEN_CACHE", "0"),
        ])
        .unwrap();
        assert_eq!(
            dir.keys,
            JwtKeySource::Dir {
                path: "/etc/keys".into(),
                signing_kid: Some("2026-01".into())
            }
        );
        assert_eq!(dir.reload_interval, Duration::from_secs(300));
        assert_eq!(dir.verified_token_cache, 0);
        assert_eq!(
            dir.key_dir(),
            Some(JwtKeyDir::new("/etc/keys", JwtAlgorithm::EdDSA).with_signing_kid("2026-01"))
        );
        dir.check_production().unwrap();
        assert!(dir.jwt_keys().unwrap().is_none());

        let defaults = config(&[("JWT_ALGORITHM", "ES256"), ("JWT_KEYS_DIR", "k")]).unwrap();
        assert_eq!(defaults.reload_interval, DEFAULT_RELOAD_INTERVAL);
        assert_eq!(defaults.verified_token_cache, DEFAULT_VERIFIED_TOKEN_CACHE);

        let err = config(&[("JWT_KEYS_DIR", "k")]).unwrap_err();
        assert_eq!(err.variable(), "JWT_KEYS_DIR");
        let err = config(&[
            ("JWT_ALGORITHM", "RS256"),
            ("JWT_KEYS_DIR", "k"),
            ("JWT_PRIVATE_KEY_FILE", "a.pem"),
            ("JWT_PUBLIC_KEY_FILE", "b.pem"),
        ])
        .unwrap_err();
        assert_eq!(err.variable(), "JWT_KEYS_DIR");
        let err = config(&[("JWT_VERIFIED_TOKEN_CACHE", "lots")]).unwrap_err();
        assert_eq!(err.variable(), "JWT_VERIFIED_TOKEN_CACHE");
        let err = config(&[("JWT_KEYS_RELOAD_INTERVAL", "soon")]).unwrap_err();
        assert_eq!(err.variable(), "JWT_KEYS_RELOAD_INTERVAL");
        // The two files still make a one-key set.
        let files = config(&[
            ("JWT_ALGORITHM", "RS256"),
            ("JWT_PRIVATE_KEY_FILE", "a.pem"),
            ("JWT_PUBLIC_KEY_FILE", "b.pem"),
        ])
        .unwrap();
        assert!(matches!(files.keys, JwtKeySource::Files { .. }));
        assert!(files.key_dir().is_none());
    }
}
