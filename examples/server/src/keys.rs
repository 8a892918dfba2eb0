//! The JWT keys: a secret, a generated development secret, or PEM key files.

use std::io::Write;
use std::path::Path;

use auth_core::JwtKeys;
use auth_core::mfa::MfaKeys;
use auth_core::oauth::OAuthKeys;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;

use crate::settings::Settings;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The keys the settings ask for. In development without `JWT_SECRET_KEY`, a random secret is
/// made once and kept in `DATA_DIR/jwt-secret`, so tokens survive restarts; a warning says
/// so.
///
/// # Errors
/// When a key file cannot be read or a secret is refused.
pub fn load(settings: &Settings) -> Result<JwtKeys, BoxError> {
    match settings.jwt.jwt_keys()? {
        Some(keys) => Ok(keys),
        None => {
            let secret = development_secret(&settings.data_dir, "jwt-secret", "JWT_SECRET_KEY")?;
            Ok(JwtKeys::hmac(settings.jwt.algorithm, secret.as_bytes())?)
        }
    }
}

/// The key that seals provider tokens and signs the OAuth state: `OAUTH_TOKEN_KEY`, or in
/// development a random one kept in `DATA_DIR/oauth-token-key` (production refuses to start
/// without it, see the settings).
///
/// # Errors
/// When the generated key cannot be written.
pub fn oauth_key(settings: &Settings) -> Result<OAuthKeys, BoxError> {
    let secret = match &settings.oauth.token_key {
        Some(key) => key.clone(),
        None => development_secret(&settings.data_dir, "oauth-token-key", "OAUTH_TOKEN_KEY")?,
    };
    OAuthKeys::new(secret.as_bytes()).ok_or_else(|| "OAUTH_TOKEN_KEY is too short".into())
}

/// The keys of the second factors: `MFA_KEY`, or a random one kept in `DATA_DIR/mfa-key`
/// (with a warning; every instance must then share the data directory).
///
/// # Errors
/// When the generated key cannot be written.
pub fn mfa_keys(settings: &Settings) -> Result<MfaKeys, BoxError> {
    if let Some(keys) = &settings.mfa_keys {
        return Ok(keys.clone());
    }
    let secret = development_secret(&settings.data_dir, "mfa-key", "MFA_KEY")?;
    MfaKeys::new(secret.as_bytes()).ok_or_else(|| "MFA_KEY is too short".into())
}

/// A random secret kept in `dir/file`, made on first use.
fn development_secret(dir: &Path, file: &str, variable: &str) -> Result<String, BoxError> {
    let path = dir.join(file);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            return Ok(existing);
        }
    }
    std::fs::create_dir_all(dir)?;
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    let secret = STANDARD.encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(&path)?.write_all(secret.as_bytes())?;
    tracing::warn!(
        path = %path.display(),
        variable,
        "no secret configured: generated a development secret and kept it in the data directory; set the variable (and APP_ENV=production) before going live"
    );
    Ok(secret)
}
