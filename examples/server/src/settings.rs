//! The reference server's settings, from the environment and a `.env` file.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use auth_core::RateLimit;
use ipnet::IpNet;
use time::Duration;

/// `development` (the default) or `production`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    /// Generates a JWT secret when none is given, and allows `COOKIE_SECURE=false`.
    Development,
    /// Refuses weak settings.
    Production,
}

/// Where the JWT keys come from.
#[derive(Debug, Clone)]
pub enum JwtKeySource {
    /// `JWT_SECRET_KEY`, as UTF-8 bytes.
    Secret(String),
    /// Development only: a random secret kept in the data directory.
    Generated,
    /// `JWT_PRIVATE_KEY_FILE` and `JWT_PUBLIC_KEY_FILE`, for RS256, ES256 and EdDSA.
    Files {
        /// The PEM private key.
        private: PathBuf,
        /// The PEM public key.
        public: PathBuf,
    },
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
    /// `DATABASE_URL`, or one built from `DB_HOST`, `DB_PORT`, `DB_USER`, `DB_PASS`,
    /// `DB_NAME`; `None` means the embedded SQLite file.
    pub database_url: Option<String>,
    /// `REDIS_URL`: sessions and rate limits in Redis (`redis+cluster://` for a cluster).
    pub redis_url: Option<String>,
    /// `REDIS_KEY_PREFIX` (`auth`): every Redis key starts with `<prefix>:`, so several apps
    /// (or test runs) can share one Redis.
    pub redis_key_prefix: Option<String>,
    /// `JWT_ALGORITHM` (HS256).
    pub jwt_algorithm: auth_core::JwtAlgorithm,
    /// The JWT keys.
    pub jwt_keys: JwtKeySource,
    /// `JWT_ISSUER` (`accounts`).
    pub jwt_issuer: String,
    /// `ACCESS_TOKEN_EXPIRE_MINUTES` (15).
    pub access_lifetime: Duration,
    /// `REFRESH_TOKEN_EXPIRE_DAYS` (14).
    pub refresh_lifetime: Duration,
    /// `COOKIE_SECURE` (true).
    pub cookie_secure: bool,
    /// `REQUIRE_VERIFICATION` (false).
    pub require_verification: bool,
    /// `PUBLIC_URL` (`http://HOST:PORT`): the base of links in mails. With `PORT=0` and no
    /// `PUBLIC_URL`, [`Settings::with_bound_address`] fills in the port actually bound.
    pub public_url: String,
    /// `MAIL_OUTBOX_DIR`: each mail written as a file.
    pub mail_outbox_dir: Option<PathBuf>,
    /// `SMTP_URL`: `smtp://user:pass@host:port` (`smtps://` for TLS).
    pub smtp_url: Option<String>,
    /// `MAIL_FROM` (`Accounts <no-reply@localhost>`).
    pub mail_from: String,
    /// `RATE_LIMIT_LOGIN_ACCOUNT` (`10/15m`).
    pub rate_login_account: RateLimit,
    /// `RATE_LIMIT_LOGIN_IP` (`100/15m`).
    pub rate_login_ip: RateLimit,
    /// `RATE_LIMIT_REGISTER_IP` (`20/1h`).
    pub rate_register_ip: RateLimit,
    /// `RATE_LIMIT_FORGOT_ACCOUNT` (`3/1h`).
    pub rate_forgot_account: RateLimit,
    /// `RATE_LIMIT_TOKEN_IP` (`30/1m`).
    pub rate_token_ip: RateLimit,
    /// `ALLOWED_ORIGINS`: comma-separated.
    pub allowed_origins: Vec<String>,
    /// `TRUSTED_PROXIES`: comma-separated addresses or networks.
    pub trusted_proxies: Vec<IpNet>,
    /// `LOG_FORMAT`: `text` (default) or `json`.
    pub log_json: bool,
    /// `HTTP_HEADER_TIMEOUT` (`10s`): a request head that takes longer closes the connection.
    pub http_header_timeout: std::time::Duration,
    /// `HTTP_BODY_TIMEOUT` (`30s`): a request body that takes longer is answered `408`.
    pub http_body_timeout: std::time::Duration,
    /// `HTTP_IDLE_TIMEOUT` (`60s`): kept-alive connections idle this long are closed.
    pub http_idle_timeout: std::time::Duration,
    /// `HTTP_WRITE_TIMEOUT` (`30s`): a write to a client that makes no progress this long
    /// (the client does not read its responses) closes the connection.
    pub http_write_timeout: std::time::Duration,
    /// `HTTP_MAX_CONNECTIONS` (10000): connections served at once.
    pub http_max_connections: usize,
    /// `HTTP_MAX_CONNECTIONS_PER_IP` (64; `0` for none): connections one client address may
    /// have open at once. Behind a reverse proxy every client has the proxy's address.
    pub http_max_connections_per_ip: Option<usize>,
    /// `MAX_SESSIONS_PER_USER` (32): live sessions per user; a login beyond it ends the
    /// least recently used one.
    pub max_sessions_per_user: u32,
}

/// A setting that is wrong, with how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {problem}. {fix}")]
pub struct SettingsError {
    setting: &'static str,
    problem: String,
    fix: String,
}

impl SettingsError {
    fn new(setting: &'static str, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            setting,
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

/// Secrets that ship in examples and tutorials; refused outside development.
const DEFAULT_SECRETS: &[&str] = &[
    "secret",
    "changeme",
    "change-me",
    "SECRET",
    "your-secret-key",
    "replace me with 32+ random bytes!!",
];

impl Settings {
    /// Reads `.env` (if present) and then the environment.
    ///
    /// # Errors
    /// A [`SettingsError`] naming the setting and how to fix it.
    pub fn from_env() -> Result<Self, SettingsError> {
        // A missing .env is fine; a malformed one is reported.
        if let Err(err) = dotenvy::dotenv()
            && !err.not_found()
        {
            return Err(SettingsError::new(
                ".env",
                err.to_string(),
                "Fix the line it names.",
            ));
        }
        Self::from_map(&std::env::vars().collect())
    }

    /// Reads the settings from a map of variables (tests use this).
    ///
    /// # Errors
    /// A [`SettingsError`] naming the setting and how to fix it.
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, SettingsError> {
        let get = |name: &str| {
            vars.get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let flag = |name: &'static str, default: bool| -> Result<bool, SettingsError> {
            match get(name).map(|v| v.to_ascii_lowercase()) {
                None => Ok(default),
                Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
                Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
                Some(v) => Err(SettingsError::new(
                    name,
                    format!("{v:?} is not a boolean"),
                    "Use true or false.",
                )),
            }
        };
        let number = |name: &'static str, default: i64| -> Result<i64, SettingsError> {
            get(name).map_or(Ok(default), |v| {
                v.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    SettingsError::new(
                        name,
                        format!("{v:?} is not a positive whole number"),
                        "Use a number like 15.",
                    )
                })
            })
        };
        let timeout =
            |name: &'static str, default: &str| -> Result<std::time::Duration, SettingsError> {
                let value = get(name).unwrap_or_else(|| default.to_owned());
                parse_timeout(&value).ok_or_else(|| {
                    SettingsError::new(
                        name,
                        format!("{value:?} is not a duration"),
                        format!("Use a number of seconds, minutes or hours, like {default} or 2m."),
                    )
                })
            };
        let http_max_connections_per_ip = match get("HTTP_MAX_CONNECTIONS_PER_IP") {
            None => Some(64),
            Some(value) => match value.trim().parse::<usize>() {
                Ok(0) => None,
                Ok(max) => Some(max),
                Err(_) => {
                    return Err(SettingsError::new(
                        "HTTP_MAX_CONNECTIONS_PER_IP",
                        format!("{value:?} is not a whole number"),
                        "Use a number like 64, or 0 for no limit per client (behind a proxy).",
                    ));
                }
            },
        };
        let limit = |name: &'static str, default: &str| -> Result<RateLimit, SettingsError> {
            get(name)
                .unwrap_or_else(|| default.to_owned())
                .parse()
                .map_err(|err| {
                    SettingsError::new(
                        name,
                        format!("{err}"),
                        format!("Use COUNT/WINDOW, like {default}."),
                    )
                })
        };

        let app_env = match get("APP_ENV").as_deref() {
            None | Some("development") | Some("dev") => AppEnv::Development,
            Some("production") | Some("prod") => AppEnv::Production,
            Some(other) => {
                return Err(SettingsError::new(
                    "APP_ENV",
                    format!("{other:?} is unknown"),
                    "Use development or production.",
                ));
            }
        };
        let host: IpAddr = get("HOST")
            .unwrap_or_else(|| "127.0.0.1".into())
            .parse()
            .map_err(|_| {
                SettingsError::new(
                    "HOST",
                    "not an IP address",
                    "Use an address such as 127.0.0.1 or 0.0.0.0.",
                )
            })?;
        let port: u16 = get("PORT")
            .unwrap_or_else(|| "8000".into())
            .parse()
            .map_err(|_| {
                SettingsError::new(
                    "PORT",
                    "not a port number",
                    "Use a number from 1 to 65535, or 0 for any free port.",
                )
            })?;
        let database_url = match get("DATABASE_URL") {
            Some(url) => Some(url),
            None => get("DB_HOST").map(|db_host| {
                let user = get("DB_USER").unwrap_or_else(|| "postgres".into());
                let pass = get("DB_PASS")
                    .map(|p| format!(":{}", percent(&p)))
                    .unwrap_or_default();
                let db_port = get("DB_PORT").unwrap_or_else(|| "5432".into());
                let name = get("DB_NAME").unwrap_or_else(|| "postgres".into());
                format!(
                    "postgres://{}{pass}@{db_host}:{db_port}/{name}",
                    percent(&user)
                )
            }),
        };
        let jwt_algorithm: auth_core::JwtAlgorithm = get("JWT_ALGORITHM")
            .unwrap_or_else(|| "HS256".into())
            .parse()
            .map_err(|_| {
                SettingsError::new(
                    "JWT_ALGORITHM",
                    "unknown algorithm",
                    "Use HS256, HS384, HS512, RS256, ES256 or EdDSA.",
                )
            })?;
        let jwt_keys = if jwt_algorithm.is_hmac() {
            match get("JWT_SECRET_KEY") {
                Some(secret) => {
                    if app_env == AppEnv::Production {
                        if DEFAULT_SECRETS.contains(&secret.as_str()) {
                            return Err(SettingsError::new(
                                "JWT_SECRET_KEY",
                                "is a well-known default",
                                "Generate one: openssl rand -base64 48",
                            ));
                        }
                        if secret.len() < 32 {
                            return Err(SettingsError::new(
                                "JWT_SECRET_KEY",
                                format!("is {} bytes; at least 32 are needed", secret.len()),
                                "Generate one: openssl rand -base64 48",
                            ));
                        }
                    }
                    JwtKeySource::Secret(secret)
                }
                None if app_env == AppEnv::Development => JwtKeySource::Generated,
                None => {
                    return Err(SettingsError::new(
                        "JWT_SECRET_KEY",
                        "is missing (APP_ENV=production)",
                        "Set it to 32 or more random bytes: openssl rand -base64 48",
                    ));
                }
            }
        } else {
            match (get("JWT_PRIVATE_KEY_FILE"), get("JWT_PUBLIC_KEY_FILE")) {
                (Some(private), Some(public)) => JwtKeySource::Files {
                    private: private.into(),
                    public: public.into(),
                },
                _ => {
                    return Err(SettingsError::new(
                        "JWT_PRIVATE_KEY_FILE",
                        format!("{jwt_algorithm} needs a key pair"),
                        "Set JWT_PRIVATE_KEY_FILE and JWT_PUBLIC_KEY_FILE to PEM files.",
                    ));
                }
            }
        };
        let cookie_secure = flag("COOKIE_SECURE", true)?;
        if app_env == AppEnv::Production && !cookie_secure {
            return Err(SettingsError::new(
                "COOKIE_SECURE",
                "is false (APP_ENV=production)",
                "Serve over HTTPS and remove COOKIE_SECURE=false.",
            ));
        }
        let public_url =
            get("PUBLIC_URL").unwrap_or_else(|| default_public_url(SocketAddr::new(host, port)));
        let list = |name: &str| -> Vec<String> {
            get(name)
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        let trusted_proxies = list("TRUSTED_PROXIES")
            .iter()
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        SettingsError::new(
                            "TRUSTED_PROXIES",
                            format!("{entry:?} is not an address or network"),
                            "Use addresses or networks like 10.0.0.0/8, separated by commas.",
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            app_env,
            host,
            port,
            data_dir: get("DATA_DIR").unwrap_or_else(|| "data".into()).into(),
            database_url,
            redis_url: get("REDIS_URL"),
            redis_key_prefix: get("REDIS_KEY_PREFIX"),
            jwt_algorithm,
            jwt_keys,
            jwt_issuer: get("JWT_ISSUER").unwrap_or_else(|| "accounts".into()),
            access_lifetime: Duration::minutes(number("ACCESS_TOKEN_EXPIRE_MINUTES", 15)?),
            refresh_lifetime: Duration::days(number("REFRESH_TOKEN_EXPIRE_DAYS", 14)?),
            cookie_secure,
            require_verification: flag("REQUIRE_VERIFICATION", false)?,
            public_url,
            mail_outbox_dir: get("MAIL_OUTBOX_DIR").map(PathBuf::from),
            smtp_url: get("SMTP_URL"),
            mail_from: get("MAIL_FROM").unwrap_or_else(|| "Accounts <no-reply@localhost>".into()),
            rate_login_account: limit("RATE_LIMIT_LOGIN_ACCOUNT", "10/15m")?,
            rate_login_ip: limit("RATE_LIMIT_LOGIN_IP", "100/15m")?,
            rate_register_ip: limit("RATE_LIMIT_REGISTER_IP", "20/1h")?,
            rate_forgot_account: limit("RATE_LIMIT_FORGOT_ACCOUNT", "3/1h")?,
            rate_token_ip: limit("RATE_LIMIT_TOKEN_IP", "30/1m")?,
            allowed_origins: list("ALLOWED_ORIGINS"),
            trusted_proxies,
            log_json: get("LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json")),
            http_header_timeout: timeout("HTTP_HEADER_TIMEOUT", "10s")?,
            http_body_timeout: timeout("HTTP_BODY_TIMEOUT", "30s")?,
            http_idle_timeout: timeout("HTTP_IDLE_TIMEOUT", "60s")?,
            http_write_timeout: timeout("HTTP_WRITE_TIMEOUT", "30s")?,
            http_max_connections: usize::try_from(number("HTTP_MAX_CONNECTIONS", 10_000)?)
                .unwrap_or(usize::MAX),
            http_max_connections_per_ip,
            max_sessions_per_user: u32::try_from(number("MAX_SESSIONS_PER_USER", 32)?)
                .unwrap_or(u32::MAX),
        })
    }
}

impl Settings {
    /// The settings once the server listens on `bound`: with `PORT=0` (any free port) and no
    /// `PUBLIC_URL`, mail links use the port actually bound instead of `:0`.
    #[must_use]
    pub fn with_bound_address(mut self, bound: SocketAddr) -> Self {
        if self.port == 0
            && self.public_url == default_public_url(SocketAddr::new(self.host, self.port))
        {
            self.public_url = default_public_url(bound);
        }
        self
    }
}

/// A positive duration: `30s`, `2m`, `1h`, or a bare number of seconds.
fn parse_timeout(value: &str) -> Option<std::time::Duration> {
    let value = value.trim();
    let (digits, seconds_per_unit) = match value.char_indices().last()? {
        (at, 's') => (&value[..at], 1),
        (at, 'm') => (&value[..at], 60),
        (at, 'h') => (&value[..at], 3600),
        _ => (value, 1),
    };
    let amount: u64 = digits.trim().parse().ok().filter(|n| *n > 0)?;
    Some(std::time::Duration::from_secs(
        amount.checked_mul(seconds_per_unit)?,
    ))
}

/// `http://HOST:PORT`, with an IPv6 host in brackets.
fn default_public_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// Percent-encodes a user name or password for a connection URL.
fn percent(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_the_embedded_development_setup() {
        let settings = Settings::from_map(&HashMap::new()).unwrap();
        assert_eq!(settings.app_env, AppEnv::Development);
        assert_eq!(settings.port, 8000);
        assert!(settings.database_url.is_none() && settings.redis_url.is_none());
        assert!(matches!(settings.jwt_keys, JwtKeySource::Generated));
        assert!(settings.cookie_secure);
        assert_eq!(settings.access_lifetime, Duration::minutes(15));
    }

    #[test]
    fn production_refuses_weak_settings_and_says_how_to_fix_them() {
        let err = Settings::from_map(&vars(&[("APP_ENV", "production")])).unwrap_err();
        assert!(
            err.to_string().contains("JWT_SECRET_KEY") && err.to_string().contains("openssl rand")
        );
        let err = Settings::from_map(&vars(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET_KEY", "short"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("at least 32"));
        let err = Settings::from_map(&vars(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET_KEY", "changeme"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("default"));
        let strong = "0123456789abcdef0123456789abcdef-strong";
        let err = Settings::from_map(&vars(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET_KEY", strong),
            ("COOKIE_SECURE", "false"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("COOKIE_SECURE"));
        Settings::from_map(&vars(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET_KEY", strong),
        ]))
        .unwrap();
    }

    #[test]
    fn the_default_public_url_follows_the_bound_port_and_brackets_ipv6() {
        let any_port = Settings::from_map(&vars(&[("PORT", "0")])).unwrap();
        assert_eq!(any_port.public_url, "http://127.0.0.1:0");
        let bound = any_port.with_bound_address("127.0.0.1:40123".parse().unwrap());
        assert_eq!(bound.public_url, "http://127.0.0.1:40123");
        let explicit = Settings::from_map(&vars(&[
            ("PORT", "0"),
            ("PUBLIC_URL", "https://accounts.example"),
        ]))
        .unwrap()
        .with_bound_address("127.0.0.1:40123".parse().unwrap());
        assert_eq!(explicit.public_url, "https://accounts.example");
        let fixed = Settings::from_map(&vars(&[("PORT", "8080")]))
            .unwrap()
            .with_bound_address("127.0.0.1:8080".parse().unwrap());
        assert_eq!(fixed.public_url, "http://127.0.0.1:8080");
        let v6 = Settings::from_map(&vars(&[("HOST", "::1")])).unwrap();
        assert_eq!(v6.public_url, "http://[::1]:8000");
    }

    #[test]
    fn http_limits_have_defaults_and_parse_units() {
        let defaults = Settings::from_map(&HashMap::new()).unwrap();
        assert_eq!(
            defaults.http_header_timeout,
            std::time::Duration::from_secs(10)
        );
        assert_eq!(
            defaults.http_body_timeout,
            std::time::Duration::from_secs(30)
        );
        assert_eq!(
            defaults.http_idle_timeout,
            std::time::Duration::from_secs(60)
        );
        assert_eq!(
            defaults.http_write_timeout,
            std::time::Duration::from_secs(30)
        );
        assert_eq!(defaults.http_max_connections, 10_000);
        assert_eq!(defaults.http_max_connections_per_ip, Some(64));
        assert_eq!(defaults.max_sessions_per_user, 32);
        let set = Settings::from_map(&vars(&[
            ("HTTP_HEADER_TIMEOUT", "5s"),
            ("HTTP_BODY_TIMEOUT", "2m"),
            ("HTTP_IDLE_TIMEOUT", "90"),
            ("HTTP_WRITE_TIMEOUT", "1m"),
            ("HTTP_MAX_CONNECTIONS", "64"),
            ("HTTP_MAX_CONNECTIONS_PER_IP", "8"),
        ]))
        .unwrap();
        assert_eq!(set.http_header_timeout, std::time::Duration::from_secs(5));
        assert_eq!(set.http_body_timeout, std::time::Duration::from_secs(120));
        assert_eq!(set.http_idle_timeout, std::time::Duration::from_secs(90));
        assert_eq!(set.http_write_timeout, std::time::Duration::from_secs(60));
        assert_eq!(set.http_max_connections, 64);
        assert_eq!(set.http_max_connections_per_ip, Some(8));
        let unlimited = Settings::from_map(&vars(&[("HTTP_MAX_CONNECTIONS_PER_IP", "0")])).unwrap();
        assert_eq!(unlimited.http_max_connections_per_ip, None);
    }

    #[test]
    fn database_url_is_built_from_parts() {
        let settings = Settings::from_map(&vars(&[
            ("DB_HOST", "db"),
            ("DB_USER", "app"),
            ("DB_PASS", "p@ss"),
            ("DB_NAME", "accounts"),
        ]))
        .unwrap();
        assert_eq!(
            settings.database_url.as_deref(),
            Some("postgres://app:p%40ss@db:5432/accounts")
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
        ] {
            let err = Settings::from_map(&vars(&[(name, value)])).unwrap_err();
            assert!(err.to_string().starts_with(name), "{err}");
        }
    }
}
