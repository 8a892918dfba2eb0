//! [`JwtConfig`]: the JWT algorithm, keys and issuer, from the environment.

use std::fmt;
use std::path::PathBuf;

use super::jwt::{JwtAlgorithm, JwtCodec, JwtError, JwtKeys};
use crate::env::{Env, EnvError};

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
    /// `JWT_PRIVATE_KEY_FILE` and `JWT_PUBLIC_KEY_FILE`, for RS256, ES256 and EdDSA.
    Files {
        /// The PEM private key.
        private: PathBuf,
        /// The PEM public key.
        public: PathBuf,
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
        }
    }
}

/// The JWT settings of a [`JwtCodec`], from the environment:
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `JWT_ALGORITHM` | `HS256`, `HS384`, `HS512`, `RS256`, `ES256` or `EdDSA` | `HS256` |
/// | `JWT_SECRET_KEY` | the HMAC secret (its UTF-8 bytes), 32 bytes or more | none ([`JwtKeySource::Unset`]) |
/// | `JWT_PRIVATE_KEY_FILE`, `JWT_PUBLIC_KEY_FILE` | PEM key pair for `RS256`, `ES256`, `EdDSA` (required with them) | none |
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
    /// An [`EnvError`] for an unknown `JWT_ALGORITHM`, or an asymmetric algorithm without both
    /// key files.
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
        let keys = if algorithm.is_hmac() {
            env.string("JWT_SECRET_KEY")
                .map_or(JwtKeySource::Unset, JwtKeySource::Secret)
        } else {
            match (
                env.string("JWT_PRIVATE_KEY_FILE"),
                env.string("JWT_PUBLIC_KEY_FILE"),
            ) {
                (Some(private), Some(public)) => JwtKeySource::Files {
                    private: private.into(),
                    public: public.into(),
                },
                _ => {
                    return Err(EnvError::new(
                        "JWT_PRIVATE_KEY_FILE",
                        format!("{algorithm} needs a key pair"),
                        "Set JWT_PRIVATE_KEY_FILE and JWT_PUBLIC_KEY_FILE to PEM files.",
                    ));
                }
            }
        };
        Ok(Self {
            algorithm,
            keys,
            issuer: env
                .string("JWT_ISSUER")
                .unwrap_or_else(|| "accounts".into()),
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
            JwtKeySource::Secret(_) | JwtKeySource::Files { .. } => Ok(()),
        }
    }

    /// The keys: from the secret, or read from the key files; `None` when the secret is
    /// [`JwtKeySource::Unset`].
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
            JwtKeySource::Unset => Ok(None),
        }
    }

    /// The codec over [`JwtConfig::jwt_keys`] with this issuer; `None` when the secret is
    /// [`JwtKeySource::Unset`].
    ///
    /// # Errors
    /// As [`JwtConfig::jwt_keys`].
    pub fn codec(&self) -> Result<Option<JwtCodec>, JwtError> {
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
}
