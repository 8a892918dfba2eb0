//! The reference server's settings: each crate reads its own variables through one
//! [`Env`], and this module composes them with the server's own (`APP_ENV`, `HOST`, `PORT`,
//! `DATA_DIR`, mail, logs). The process environment wins over a `.env` file.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use auth_axum::{AuthConfig, ServeConfig};
use auth_core::env::{Env, EnvError};
use auth_core::mfa::MfaKeys;
use auth_core::oauth::OAuthSettings;
use auth_core::{JwtConfig, ManagerConfig, Roles};
use auth_redis::RedisConfig;
use auth_sqlx::DbConfig;

/// `development` (the default) or `production`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    /// Generates a JWT secret when none is given, and allows `COOKIE_SECURE=false`.
    Development,
    /// Refuses weak settings.
    Production,
}

/// Every setting of the reference server (`docs/CONFIGURATION.md`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// `APP_ENV`.
    pub app_env: AppEnv,
    /// `HOST` (127.0.0.1).
    pub host: IpAddr,
    /// `PORT` (8000).
    pub port: u16,
    /// `DATA_DIR` (`./data`): the SQLite file and the development JWT secret.
    pub data_dir: PathBuf,
    /// The database (`auth_sqlx`'s variables); the SQLite file in `DATA_DIR` by default.
    pub database: DbConfig,
    /// Whether [`Settings::database`] is the default SQLite file in `DATA_DIR` (no
    /// `DATABASE_URL` nor `DB_HOST`).
    pub embedded_database: bool,
    /// Sessions and rate limits in Redis (`auth_redis`'s variables), when `REDIS_URL` is set.
    pub redis: Option<RedisConfig>,
    /// The JWT algorithm, keys and issuer (`auth_core`'s variables).
    pub jwt: JwtConfig,
    /// Lifetimes, throttles, session limit, public URL (`auth_core`'s variables). With
    /// `PORT=0` and no `PUBLIC_URL`, [`Settings::with_bound_address`] fills in the port
    /// actually bound.
    pub manager: ManagerConfig,
    /// Cookies, allowed origins, trusted proxies (`auth_axum`'s variables).
    pub auth: AuthConfig,
    /// The HTTP serving limits (`auth_axum`'s variables).
    pub serve: ServeConfig,
    /// Sign-in with OAuth / OpenID providers (`auth_core::oauth`'s variables).
    pub oauth: OAuthSettings,
    /// `MFA_KEY`: the keys of the second factors, when set.
    pub mfa_keys: Option<MfaKeys>,
    /// `MAIL_OUTBOX_DIR`: each mail written as a file.
    pub mail_outbox_dir: Option<PathBuf>,
    /// `SMTP_URL`: `smtp://user:pass@host:port` (`smtps://` for TLS).
    pub smtp_url: Option<String>,
    /// `MAIL_FROM` (`Accounts <no-reply@localhost>`).
    pub mail_from: String,
    /// `LOG_FORMAT`: `text` (default) or `json`.
    pub log_json: bool,
    /// `RUST_LOG`: the log filter (`info,tower_http=info` when unset).
    pub log_filter: Option<String>,
    /// `SESSION_SWEEP_INTERVAL` (`5m`): how often expired sessions are deleted from the
    /// database (Redis expires its keys by itself).
    pub session_sweep_interval: std::time::Duration,
    /// `HASH_NICENESS`: the scheduling niceness of the password-hashing threads, `0` (as the
    /// rest of the server) to `19`; unset, the hasher's default (10; see
    /// `auth_core::Argon2Hasher::with_niceness`).
    pub hash_niceness: Option<u8>,
    /// `METRICS_ADDR`, `METRICS_TOKEN`, `METRICS_SESSIONS_INTERVAL`: Prometheus metrics on a
    /// listener of their own, off by default.
    pub metrics: MetricsSettings,
}

/// Where `GET /metrics` is served, if anywhere, and who may read it.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsSettings {
    /// `METRICS_ADDR`: the address of the metrics listener (`127.0.0.1:9100`); none, the
    /// default, serves no metrics at all.
    pub addr: Option<SocketAddr>,
    /// `METRICS_TOKEN`: the bearer token a scrape must present, when set.
    pub token: Option<String>,
    /// `METRICS_SESSIONS_INTERVAL` (30 s): how often the live sessions are counted.
    pub sessions_every: Duration,
}

impl fmt::Debug for MetricsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsSettings")
            .field("addr", &self.addr)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("sessions_every", &self.sessions_every)
            .finish()
    }
}

/// The shortest `METRICS_TOKEN` accepted, in bytes.
const MIN_METRICS_TOKEN_BYTES: usize = 16;

impl MetricsSettings {
    /// Reads the metrics variables. A token without an address, a short token, and (in
    /// production) an address off the loopback interface without a token are refused.
    ///
    /// # Errors
    /// An [`EnvError`] naming the variable.
    pub fn from_lookup(env: &Env, app_env: AppEnv) -> Result<Self, EnvError> {
        let addr: Option<SocketAddr> = env.parse(
            "METRICS_ADDR",
            "Use an address and port such as 127.0.0.1:9100, or leave it unset to serve no metrics.",
        )?;
        let token = env.string("METRICS_TOKEN");
        let sessions_every = env.duration("METRICS_SESSIONS_INTERVAL", Duration::from_secs(30))?;
        if let Some(token) = &token {
            if addr.is_none() {
                return Err(EnvError::new(
                    "METRICS_TOKEN",
                    "is set but METRICS_ADDR is not",
                    "Set METRICS_ADDR to serve metrics, or remove METRICS_TOKEN.",
                ));
            }
            if token.len() < MIN_METRICS_TOKEN_BYTES {
                return Err(EnvError::new(
                    "METRICS_TOKEN",
                    format!("is shorter than {MIN_METRICS_TOKEN_BYTES} bytes"),
                    "Use a long random value: openssl rand -base64 32",
                ));
            }
        }
        if app_env == AppEnv::Production
            && token.is_none()
            && addr.is_some_and(|addr| !addr.ip().is_loopback())
        {
            return Err(EnvError::new(
                "METRICS_ADDR",
                "is not a loopback address and METRICS_TOKEN is unset (APP_ENV=production)",
                "Listen on 127.0.0.1, or set METRICS_TOKEN: openssl rand -base64 32",
            ));
        }
        Ok(Self {
            addr,
            token,
            sessions_every,
        })
    }
}

/// A setting that is wrong; the message names it and says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A variable of the server, `auth_core` or `auth_axum`, or the `.env` file.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// A database variable.
    #[error(transparent)]
    Database(#[from] auth_sqlx::Error),
    /// A Redis variable.
    #[error(transparent)]
    Redis(#[from] auth_redis::Error),
}

impl Settings {
    /// Reads `.env` in the working directory (if present) and the process environment,
    /// which wins.
    ///
    /// # Errors
    /// A [`SettingsError`] naming the setting and how to fix it.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(&load_env(Path::new(".env"), Env::process())?)
    }

    /// Reads the settings from `env`.
    ///
    /// # Errors
    /// A [`SettingsError`] naming the setting and how to fix it.
    pub fn from_lookup(env: &Env) -> Result<Self, SettingsError> {
        let app_env = match env.string("APP_ENV").as_deref() {
            None | Some("development") | Some("dev") => AppEnv::Development,
            Some("production") | Some("prod") => AppEnv::Production,
            Some(other) => {
                return Err(EnvError::new(
                    "APP_ENV",
                    format!("{other:?} is unknown"),
                    "Use development or production.",
                )
                .into());
            }
        };
        let host: IpAddr = env
            .string("HOST")
            .unwrap_or_else(|| "127.0.0.1".into())
            .parse()
            .map_err(|_| {
                EnvError::new(
                    "HOST",
                    "not an IP address",
                    "Use an address such as 127.0.0.1 or 0.0.0.0.",
                )
            })?;
        let port: u16 = env
            .string("PORT")
            .unwrap_or_else(|| "8000".into())
            .parse()
            .map_err(|_| {
                EnvError::new(
                    "PORT",
                    "not a port number",
                    "Use a number from 1 to 65535, or 0 for any free port.",
                )
            })?;
        let data_dir: PathBuf = env
            .string("DATA_DIR")
            .unwrap_or_else(|| "data".into())
            .into();

        let jwt = JwtConfig::from_lookup(env)?;
        if app_env == AppEnv::Production {
            jwt.check_production()?;
        }
        let auth = AuthConfig::from_lookup(env)?;
        if app_env == AppEnv::Production && !auth.cookies_secure() {
            return Err(EnvError::new(
                "COOKIE_SECURE",
                "is false (APP_ENV=production)",
                "Serve over HTTPS and remove COOKIE_SECURE=false.",
            )
            .into());
        }
        let manager = ManagerConfig {
            default_roles: Roles::from_iter(["reader"]),
            send_verification_on_register: true,
            public_base_url: default_public_url(SocketAddr::new(host, port)),
            ..ManagerConfig::default()
        }
        .with_lookup(env)?;
        let serve = ServeConfig::from_lookup(env)?;
        let oauth = OAuthSettings::from_lookup(env)?;
        if app_env == AppEnv::Production && !oauth.providers.is_empty() && oauth.token_key.is_none()
        {
            return Err(EnvError::new(
                "OAUTH_TOKEN_KEY",
                "is missing (APP_ENV=production, OAUTH_PROVIDERS set)",
                "Set it to 32 or more random bytes: openssl rand -base64 48",
            )
            .into());
        }

        // auth_sqlx falls back to the default URL exactly when neither of these is set.
        let embedded_database =
            env.string("DATABASE_URL").is_none() && env.string("DB_HOST").is_none();
        let embedded_url = format!(
            "sqlite://{}?mode=rwc",
            data_dir.join("accounts.db").display()
        );
        let database = DbConfig::from_lookup(env, Some(&embedded_url))?;
        let redis = RedisConfig::from_lookup(env)?;

        Ok(Self {
            app_env,
            host,
            port,
            data_dir,
            database,
            embedded_database,
            redis,
            jwt,
            manager,
            auth,
            serve,
            oauth,
            mfa_keys: MfaKeys::from_lookup(env)?,
            mail_outbox_dir: env.string("MAIL_OUTBOX_DIR").map(PathBuf::from),
            smtp_url: env.string("SMTP_URL"),
            mail_from: env
                .string("MAIL_FROM")
                .unwrap_or_else(|| "Accounts <no-reply@localhost>".into()),
            log_json: env
                .string("LOG_FORMAT")
                .is_some_and(|f| f.eq_ignore_ascii_case("json")),
            log_filter: env.string("RUST_LOG"),
            session_sweep_interval: env.duration(
                "SESSION_SWEEP_INTERVAL",
                std::time::Duration::from_secs(300),
            )?,
            hash_niceness: hash_niceness(env)?,
            metrics: MetricsSettings::from_lookup(env, app_env)?,
        })
    }

    /// The settings once the server listens on `bound`: with `PORT=0` (any free port) and no
    /// `PUBLIC_URL`, mail links use the port actually bound instead of `:0`.
    #[must_use]
    pub fn with_bound_address(mut self, bound: SocketAddr) -> Self {
        if self.port == 0
            && self.manager.public_base_url
                == default_public_url(SocketAddr::new(self.host, self.port))
        {
            self.manager.public_base_url = default_public_url(bound);
        }
        self
    }
}

/// The lookup the server reads its settings through: `process` first, then the variables
/// of the `.env` file at `dotenv`, if there is one.
///
/// # Errors
/// An [`EnvError`] about `.env` when the file exists but cannot be read or parsed.
pub fn load_env(dotenv: &Path, process: Env) -> Result<Env, EnvError> {
    let malformed =
        |err: dotenvy::Error| EnvError::new(".env", err.to_string(), "Fix the line it names.");
    let lines = match dotenvy::from_path_iter(dotenv) {
        Ok(lines) => lines,
        // A missing .env is fine.
        Err(err) if err.not_found() => return Ok(process),
        Err(err) => return Err(malformed(err)),
    };
    let file = lines
        .collect::<Result<Vec<(String, String)>, _>>()
        .map_err(malformed)?;
    Ok(process.or(Env::from_map(file)))
}

/// `HASH_NICENESS`: a number from 0 to 19, `None` when unset.
fn hash_niceness(env: &Env) -> Result<Option<u8>, EnvError> {
    const FIX: &str =
        "Use a number from 0 (as the rest of the server) to 19 (the lowest priority).";
    match env.parse::<u8>("HASH_NICENESS", FIX)? {
        None => Ok(None),
        Some(niceness) if niceness <= 19 => Ok(Some(niceness)),
        Some(niceness) => Err(EnvError::new(
            "HASH_NICENESS",
            format!("{niceness} is above 19"),
            FIX,
        )),
    }
}

/// `http://HOST:PORT`, with an IPv6 host in brackets.
fn default_public_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use auth_core::{JwtKeySource, RateLimit};
    use auth_sqlx::DbKind;

    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::from_lookup(&Env::from_map(pairs.iter().copied()))
    }

    #[test]
    fn defaults_are_the_embedded_development_setup() {
        let settings = from(&[]).unwrap();
        assert_eq!(settings.app_env, AppEnv::Development);
        assert_eq!(settings.port, 8000);
        assert!(settings.embedded_database && settings.redis.is_none());
        assert_eq!(settings.database.kind().unwrap(), DbKind::Sqlite);
        assert_eq!(settings.jwt.keys, JwtKeySource::Unset);
        assert!(settings.auth.cookies_secure());
        assert_eq!(
            settings.manager.access_lifetime,
            time::Duration::minutes(15)
        );
        assert_eq!(settings.manager.refresh_lifetime, time::Duration::days(14));
        assert_eq!(settings.manager.session_lifetime, time::Duration::days(30));
        assert_eq!(settings.jwt.issuer, "accounts");
        assert_eq!(settings.mail_from, "Accounts <no-reply@localhost>");
        assert_eq!(
            settings.manager.rate_limits.login_account,
            Some(RateLimit::new(10, time::Duration::minutes(15)))
        );
        assert_eq!(
            settings.manager.rate_limits.token_ip,
            Some(RateLimit::new(30, time::Duration::minutes(1)))
        );
        assert!(settings.manager.send_verification_on_register);
    }

    #[test]
    fn production_refuses_weak_settings_and_says_how_to_fix_them() {
        let err = from(&[("APP_ENV", "production")]).unwrap_err();
        assert!(
            err.to_string().contains("JWT_SECRET_KEY") && err.to_string().contains("openssl rand")
        );
        let err = from(&[("APP_ENV", "production"), ("JWT_SECRET_KEY", "short")]).unwrap_err();
        assert!(err.to_string().contains("at least 32"));
        let err = from(&[("APP_ENV", "production"), ("JWT_SECRET_KEY", "changeme")]).unwrap_err();
        assert!(err.to_string().contains("default"));
        let strong = "0123456789abcdef0123456789abcdef-strong";
        let err = from(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET_KEY", strong),
            ("COOKIE_SECURE", "false"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("COOKIE_SECURE"));
        from(&[("APP_ENV", "production"), ("JWT_SECRET_KEY", strong)]).unwrap();
    }

    #[test]
    fn the_default_public_url_follows_the_bound_port_and_brackets_ipv6() {
        let any_port = from(&[("PORT", "0")]).unwrap();
        assert_eq!(any_port.manager.public_base_url, "http://127.0.0.1:0");
        let bound = any_port.with_bound_address("127.0.0.1:40123".parse().unwrap());
        assert_eq!(bound.manager.public_base_url, "http://127.0.0.1:40123");
        let explicit = from(&[("PORT", "0"), ("PUBLIC_URL", "https://accounts.example")])
            .unwrap()
            .with_bound_address("127.0.0.1:40123".parse().unwrap());
        assert_eq!(explicit.manager.public_base_url, "https://accounts.example");
        let fixed = from(&[("PORT", "8080")])
            .unwrap()
            .with_bound_address("127.0.0.1:8080".parse().unwrap());
        assert_eq!(fixed.manager.public_base_url, "http://127.0.0.1:8080");
        let v6 = from(&[("HOST", "::1")]).unwrap();
        assert_eq!(v6.manager.public_base_url, "http://[::1]:8000");
    }

    #[test]
    fn http_limits_have_defaults_and_parse_units() {
        let defaults = from(&[]).unwrap();
        assert_eq!(defaults.serve.header_timeout(), Duration::from_secs(10));
        assert_eq!(defaults.serve.body_timeout(), Duration::from_secs(30));
        assert_eq!(defaults.serve.idle_timeout(), Duration::from_secs(60));
        assert_eq!(defaults.serve.write_timeout(), Duration::from_secs(30));
        assert_eq!(defaults.serve.shutdown_timeout(), Duration::from_secs(30));
        assert_eq!(defaults.serve.max_connections(), 10_000);
        assert_eq!(defaults.serve.max_connections_per_ip(), Some(64));
        assert_eq!(defaults.manager.max_sessions_per_user, Some(32));
        let set = from(&[
            ("HTTP_HEADER_TIMEOUT", "5s"),
            ("HTTP_BODY_TIMEOUT", "2m"),
            ("HTTP_IDLE_TIMEOUT", "90"),
            ("HTTP_WRITE_TIMEOUT", "1m"),
            ("HTTP_SHUTDOWN_TIMEOUT", "5s"),
            ("HTTP_MAX_CONNECTIONS", "64"),
            ("HTTP_MAX_CONNECTIONS_PER_IP", "8"),
        ])
        .unwrap();
        assert_eq!(set.serve.header_timeout(), Duration::from_secs(5));
        assert_eq!(set.serve.body_timeout(), Duration::from_secs(120));
        assert_eq!(set.serve.idle_timeout(), Duration::from_secs(90));
        assert_eq!(set.serve.write_timeout(), Duration::from_secs(60));
        assert_eq!(set.serve.shutdown_timeout(), Duration::from_secs(5));
        assert_eq!(set.serve.max_connections(), 64);
        assert_eq!(set.serve.max_connections_per_ip(), Some(8));
        let unlimited = from(&[("HTTP_MAX_CONNECTIONS_PER_IP", "0")]).unwrap();
        assert_eq!(unlimited.serve.max_connections_per_ip(), None);
    }

    #[test]
    fn the_database_comes_from_the_url_or_from_parts() {
        let settings = from(&[
            ("DB_HOST", "db"),
            ("DB_USER", "app"),
            ("DB_PASS", "p@ss"),
            ("DB_NAME", "accounts"),
        ])
        .unwrap();
        assert!(!settings.embedded_database);
        assert_eq!(settings.database.kind().unwrap(), DbKind::Postgres);
        let debug = format!("{:?}", settings.database);
        assert!(
            debug.contains("\"app\"") && debug.contains("\"accounts\"") && !debug.contains("p@ss")
        );
        let url = from(&[("DATABASE_URL", "postgres://app@db/accounts")]).unwrap();
        assert!(!url.embedded_database);
        assert_eq!(url.database.kind().unwrap(), DbKind::Postgres);
        let other = from(&[("DATABASE_URL", "oracle://db")]).unwrap();
        assert!(other.database.kind().is_err());
    }

    #[test]
    fn the_hashing_threads_are_niced_by_default_and_configurable() {
        assert_eq!(from(&[]).unwrap().hash_niceness, None);
        assert_eq!(
            from(&[("HASH_NICENESS", "0")]).unwrap().hash_niceness,
            Some(0)
        );
        assert_eq!(
            from(&[("HASH_NICENESS", "19")]).unwrap().hash_niceness,
            Some(19)
        );
    }

    #[test]
    fn bad_values_name_the_setting() {
        for (name, value) in [
            ("PORT", "x"),
            ("RATE_LIMIT_LOGIN_IP", "lots"),
            ("COOKIE_SECURE", "maybe"),
            ("TRUSTED_PROXIES", "nope"),
            ("JWT_ALGORITHM", "none"),
            ("HTTP_HEADER_TIMEOUT", "soon"),
            ("HTTP_BODY_TIMEOUT", "0s"),
            ("HTTP_IDLE_TIMEOUT", "-1m"),
            ("HTTP_MAX_CONNECTIONS", "0"),
            ("HTTP_WRITE_TIMEOUT", "0"),
            ("HTTP_MAX_CONNECTIONS_PER_IP", "-1"),
            ("REDIS_URL", "http://x"),
            ("APP_ENV", "staging"),
            ("HASH_NICENESS", "20"),
            ("HASH_NICENESS", "-1"),
        ] {
            let err = from(&[(name, value)]).unwrap_err();
            assert!(err.to_string().starts_with(name), "{err}");
        }
        let err = from(&[("DB_HOST", "db"), ("DB_PORT", "http")]).unwrap_err();
        assert!(err.to_string().contains("DB_PORT"), "{err}");
    }

    #[test]
    fn metrics_are_off_by_default_and_never_public_unprotected_in_production() {
        let defaults = from(&[]).unwrap();
        assert_eq!(defaults.metrics.addr, None);
        assert_eq!(defaults.metrics.sessions_every, Duration::from_secs(30));
        let set = from(&[
            ("METRICS_ADDR", "127.0.0.1:9100"),
            ("METRICS_TOKEN", "a scrape token of some length"),
            ("METRICS_SESSIONS_INTERVAL", "1m"),
        ])
        .unwrap();
        assert_eq!(set.metrics.addr, Some("127.0.0.1:9100".parse().unwrap()));
        assert_eq!(set.metrics.sessions_every, Duration::from_secs(60));
        let debug = format!("{set:?}");
        assert!(!debug.contains("a scrape token"), "{debug}");
        for (pairs, named) in [
            (&[("METRICS_ADDR", "localhost")][..], "METRICS_ADDR"),
            (&[("METRICS_ADDR", "127.0.0.1")][..], "METRICS_ADDR"),
            (
                &[("METRICS_TOKEN", "a scrape token of some length")][..],
                "METRICS_TOKEN",
            ),
            (
                &[
                    ("METRICS_ADDR", "127.0.0.1:9100"),
                    ("METRICS_TOKEN", "short"),
                ][..],
                "METRICS_TOKEN",
            ),
            (
                &[
                    ("METRICS_ADDR", "127.0.0.1:9100"),
                    ("METRICS_SESSIONS_INTERVAL", "0"),
                ][..],
                "METRICS_SESSIONS_INTERVAL",
            ),
        ] {
            let err = from(pairs).unwrap_err();
            assert!(err.to_string().starts_with(named), "{err}");
        }
        let strong = "0123456789abcdef0123456789abcdef-strong";
        let production = [("APP_ENV", "production"), ("JWT_SECRET_KEY", strong)];
        let open = [&production[..], &[("METRICS_ADDR", "0.0.0.0:9100")]].concat();
        let err = from(&open).unwrap_err();
        assert!(err.to_string().starts_with("METRICS_ADDR"), "{err}");
        let protected = [
            &open[..],
            &[("METRICS_TOKEN", "a scrape token of some length")],
        ]
        .concat();
        from(&protected).unwrap();
        let loopback = [&production[..], &[("METRICS_ADDR", "[::1]:9100")]].concat();
        from(&loopback).unwrap();
    }

    /// A fresh directory for one test's `.env`.
    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("server-settings-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn dotenv_is_read_and_the_environment_wins() {
        let dir = temp_dir();
        let path = dir.join(".env");
        std::fs::write(
            &path,
            "PORT=9001\nJWT_ISSUER=from-file\n# a comment\nMAIL_FROM=\"File <f@example.com>\"\n",
        )
        .unwrap();
        let process = Env::from_map([("JWT_ISSUER", "from-env")]);
        let settings = Settings::from_lookup(&load_env(&path, process).unwrap()).unwrap();
        assert_eq!(settings.port, 9001);
        assert_eq!(settings.mail_from, "File <f@example.com>");
        assert_eq!(settings.jwt.issuer, "from-env");

        let missing = load_env(&dir.join("absent.env"), Env::from_map([("PORT", "7")])).unwrap();
        assert_eq!(Settings::from_lookup(&missing).unwrap().port, 7);

        std::fs::write(&path, "PORT=9001\nthis line is not an assignment\n").unwrap();
        let err = load_env(&path, Env::from_map([("PORT", "1")])).unwrap_err();
        assert!(err.to_string().starts_with(".env: "), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
