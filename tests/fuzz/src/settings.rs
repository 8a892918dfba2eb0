//! The `settings` target: rate limits (`10/15m`), durations (`30s`), the typed getters of
//! [`Env`] and every configuration reader built on them (JWT, manager, HTTP, serving,
//! OAuth, second factors, and the reference server's `Settings`).
//!
//! Each input is a list of variables, separated by NUL bytes: the first byte of each picks
//! the name from [`VARIABLES`] (the fuzzer would not guess names), the rest is the value.
//! Variables that name files or directories are left out, so that no input reads the disk.
//! Properties:
//!
//! - nothing panics, whatever the values;
//! - a rate limit that parses has a positive count and window, reads back the same from
//!   what it prints, and works in the limiter; a duration that parses is positive and reads back the same from its
//!   number of seconds;
//! - an error message has no raw control character (values are quoted escaped, so a value
//!   cannot forge a log line), and never shows the value of a secret.

use std::time::Duration;

use auth_axum::{AuthConfig, ServeConfig};
use auth_core::env::{Env, EnvError, parse_duration};
use auth_core::mfa::MfaKeys;
use auth_core::oauth::OAuthSettings;
use auth_core::{JwtConfig, ManagerConfig, MemoryRateLimiter, RateLimit, RateLimiter};
use time::OffsetDateTime;

use crate::input::Input;
use crate::runtime::block_on;

/// The variables the readers know, except paths.
const VARIABLES: &[&str] = &[
    "ACCESS_TOKEN_EXPIRE_MINUTES",
    "ALLOWED_ORIGINS",
    "APP_ENV",
    "COOKIE_SECURE",
    "DATABASE_URL",
    "DB_ACQUIRE_TIMEOUT",
    "DB_HOST",
    "DB_MAX_CONNECTIONS",
    "DB_MIN_CONNECTIONS",
    "DB_NAME",
    "DB_PASS",
    "DB_PORT",
    "DB_USER",
    "HOST",
    "HTTP_BODY_TIMEOUT",
    "HTTP_HEADER_TIMEOUT",
    "HTTP_IDLE_TIMEOUT",
    "HTTP_MAX_CONNECTIONS",
    "HTTP_MAX_CONNECTIONS_PER_IP",
    "HTTP_WRITE_TIMEOUT",
    "JWT_ALGORITHM",
    "JWT_ISSUER",
    "JWT_KEYS_RELOAD_INTERVAL",
    "JWT_SECRET_KEY",
    "JWT_SIGNING_KID",
    "JWT_VERIFIED_TOKEN_CACHE",
    "LOG_FORMAT",
    "MAIL_FROM",
    "MAX_SESSIONS_PER_USER",
    "MFA_KEY",
    "OAUTH_CORP_ASSOCIATE_BY_EMAIL",
    "OAUTH_CORP_CLIENT_ID",
    "OAUTH_CORP_CLIENT_SECRET",
    "OAUTH_CORP_ISSUER",
    "OAUTH_CORP_SCOPES",
    "OAUTH_GITHUB_CLIENT_ID",
    "OAUTH_GITHUB_CLIENT_SECRET",
    "OAUTH_GOOGLE_CLIENT_ID",
    "OAUTH_GOOGLE_CLIENT_SECRET",
    "OAUTH_MS_CLIENT_ID",
    "OAUTH_MS_CLIENT_SECRET",
    "OAUTH_MS_TENANT",
    "OAUTH_PROVIDERS",
    "OAUTH_TOKEN_KEY",
    "PORT",
    "PUBLIC_URL",
    "RATE_LIMIT_FORGOT_ACCOUNT",
    "RATE_LIMIT_LOGIN_ACCOUNT",
    "RATE_LIMIT_LOGIN_IP",
    "RATE_LIMIT_REGISTER_IP",
    "RATE_LIMIT_TOKEN_IP",
    "REDIS_KEY_PREFIX",
    "REDIS_URL",
    "REFRESH_TOKEN_EXPIRE_DAYS",
    "REQUIRE_VERIFICATION",
    "SMTP_URL",
    "TRUSTED_PROXIES",
];

/// Variables whose values are secrets: an error must never show them.
const SECRETS: &[&str] = &[
    "JWT_SECRET_KEY",
    "MFA_KEY",
    "OAUTH_TOKEN_KEY",
    "OAUTH_CORP_CLIENT_SECRET",
    "OAUTH_GITHUB_CLIENT_SECRET",
    "OAUTH_GOOGLE_CLIENT_SECRET",
    "OAUTH_MS_CLIENT_SECRET",
    "DB_PASS",
];

pub(crate) fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let mut vars: Vec<(String, String)> = Vec::new();
    loop {
        let field = input.field();
        let Some((first, value)) = field.split_first() else {
            break;
        };
        let name = VARIABLES[usize::from(*first) % VARIABLES.len()];
        vars.push((name.to_owned(), String::from_utf8_lossy(value).into_owned()));
    }
    for (_, value) in &vars {
        check_rate_limit(value);
        check_duration(value);
    }
    let env = Env::from_map(vars.clone());
    let judge = |message: String| check_message(&message, &vars, true);
    for (name, _) in &vars {
        let errors = [
            env.flag(name, false).err(),
            env.positive_number(name, 1).err(),
            env.duration(name, Duration::from_secs(60)).err(),
            env.rate_limit(name, RateLimit::new(10, time::Duration::minutes(15)))
                .err(),
        ];
        // Read as what it is not (a secret as a flag, say), a value may be quoted: only
        // the escaping is judged here.
        for err in errors.into_iter().flatten() {
            assert_eq!(err.variable(), name);
            check_message(&err.to_string(), &vars, false);
        }
        let _ = env.list(name);
    }
    let env_error = |result: Result<(), EnvError>| {
        if let Err(err) = result {
            judge(err.to_string());
        }
    };
    env_error(JwtConfig::from_lookup(&env).map(|config| {
        if let Err(err) = config.codec() {
            judge(err.to_string());
        }
    }));
    env_error(ManagerConfig::from_lookup(&env).map(drop));
    env_error(AuthConfig::from_lookup(&env).map(drop));
    env_error(ServeConfig::from_lookup(&env).map(drop));
    env_error(OAuthSettings::from_lookup(&env).map(drop));
    env_error(MfaKeys::from_lookup(&env).map(drop));
    #[cfg(feature = "server")]
    if let Err(err) = server::settings::Settings::from_lookup(&env) {
        judge(err.to_string());
    }
}

fn check_rate_limit(value: &str) {
    if let Ok(limit) = value.parse::<RateLimit>() {
        // A limit that parses can be used: its window fits after any time of this era.
        let now = OffsetDateTime::from_unix_timestamp(1_748_779_200).expect("a valid timestamp");
        let decision = block_on(MemoryRateLimiter::new().hit("key", &limit, now))
            .expect("the memory limiter answers");
        assert!(
            decision.is_allowed(),
            "{value:?}: the first event is refused"
        );
        assert!(limit.max > 0, "{value:?} gives {limit:?}");
        assert!(limit.window.is_positive(), "{value:?} gives {limit:?}");
        assert_eq!(
            limit.to_string().parse::<RateLimit>(),
            Ok(limit),
            "{value:?} does not read back"
        );
    }
}

fn check_duration(value: &str) {
    if let Some(duration) = parse_duration(value) {
        assert!(!duration.is_zero(), "{value:?}");
        assert_eq!(
            parse_duration(&duration.as_secs().to_string()),
            Some(duration),
            "{value:?} does not read back"
        );
    }
}

/// An error message quotes values escaped, and (with `secrets`) never a secret.
fn check_message(message: &str, vars: &[(String, String)], secrets: bool) {
    assert!(
        !message.chars().any(char::is_control),
        "a raw control character in {message:?}"
    );
    for (name, value) in vars.iter().filter(|_| secrets) {
        let value = value.trim();
        // A secret that some other variable also holds may be quoted as that variable's.
        let elsewhere = vars
            .iter()
            .any(|(other, text)| !SECRETS.contains(&other.as_str()) && text.contains(value));
        if SECRETS.contains(&name.as_str()) && value.len() >= 12 && !elsewhere {
            assert!(
                !message.contains(value),
                "the error shows the secret {name}: {message:?}"
            );
        }
    }
}
