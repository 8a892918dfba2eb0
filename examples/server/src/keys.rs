//! The JWT keys: a secret, a generated development secret, PEM key files, or a directory of
//! keys reloaded while the server runs.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use auth_core::mfa::MfaKeys;
use auth_core::oauth::OAuthKeys;
use auth_core::{JwtCodec, JwtKeyReloader, JwtKeys};
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

/// The codec the settings ask for. With `JWT_KEYS_DIR`, the directory is loaded now (a bad
/// one stops the start-up), then checked for changes every `JWT_KEYS_RELOAD_INTERVAL` and, on
/// Unix, reloaded at once on `SIGHUP`; a bad change is logged and the keys in use are kept.
/// Must be called on the Tokio runtime.
///
/// # Errors
/// When a key file cannot be read or a secret is refused.
pub fn codec(settings: &Settings) -> Result<JwtCodec, BoxError> {
    let issuer = settings.jwt.issuer.clone();
    let Some(dir) = settings.jwt.key_dir() else {
        return Ok(JwtCodec::new(load(settings)?, issuer));
    };
    let reloader = Arc::new(JwtKeyReloader::start(dir)?);
    let keys = reloader.keys();
    let set = keys.load();
    tracing::info!(
        dir = %reloader.dir().path().display(),
        signing = set.signing().kid().unwrap_or_default(),
        keys = set.keys().len(),
        every = ?settings.jwt.reload_interval,
        "jwt keys loaded from a directory; reloaded when the files change or on SIGHUP"
    );
    // The tasks hold the reloader; they end with the runtime.
    Arc::clone(&reloader).spawn(settings.jwt.reload_interval);
    #[cfg(unix)]
    reload_on_sighup(reloader)?;
    Ok(JwtCodec::with_shared_keys(keys, issuer))
}

/// Reloads the key directory at each `SIGHUP` (`kill -HUP <pid>`), as daemons reload their
/// configuration.
#[cfg(unix)]
fn reload_on_sighup(reloader: Arc<JwtKeyReloader>) -> Result<(), BoxError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            let reloader = Arc::clone(&reloader);
            // Errors are logged by the reloader, which keeps the keys in use.
            let _ = tokio::task::spawn_blocking(move || reloader.reload()).await;
        }
    });
    Ok(())
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
