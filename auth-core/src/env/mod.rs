//! Configuration from environment variables, shared by every crate of the workspace.
//!
//! An [`Env`] is where variables are looked up: the process environment
//! ([`Env::process`]), a map ([`Env::from_map`], for tests and `.env` files) or any closure
//! ([`Env::from_fn`]). Its typed getters read values the same way in every crate, and every
//! error is an [`EnvError`] naming the variable and how to fix it.
//!
//! Each crate reads its own settings through it: `ManagerConfig::from_lookup`,
//! `JwtConfig::from_lookup` here, `DbConfig::from_lookup` in `auth-sqlx`,
//! `RedisConfig::from_lookup` in `auth-redis`, `AuthConfig::from_lookup` and
//! `ServeConfig::from_lookup` in `auth-axum`; each `from_env()` is the same over the process
//! environment.
//!
//! ```
//! use std::time::Duration;
//! use auth_core::env::Env;
//!
//! let env = Env::from_map([("HTTP_BODY_TIMEOUT", "2m"), ("COOKIE_SECURE", " no ")]);
//! assert_eq!(env.duration("HTTP_BODY_TIMEOUT", Duration::from_secs(30))?, Duration::from_secs(120));
//! assert!(!env.flag("COOKIE_SECURE", true)?);
//! assert_eq!(env.string("UNSET"), None);
//! let err = env.flag("HTTP_BODY_TIMEOUT", true).unwrap_err();
//! assert!(err.to_string().starts_with("HTTP_BODY_TIMEOUT: "));
//! # Ok::<(), auth_core::env::EnvError>(())
//! ```

mod duration;
mod error;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub use self::duration::parse_duration;
pub use self::error::EnvError;
use crate::limiter::RateLimit;

type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Where configuration variables are looked up, with typed getters.
///
/// Every getter treats a value that is empty or only whitespace as unset, and trims the
/// others. Cloning is cheap.
#[derive(Clone)]
pub struct Env {
    lookup: Arc<Lookup>,
}

impl Env {
    /// The process environment, read at each lookup.
    pub fn process() -> Self {
        Self::from_fn(|name| std::env::var(name).ok())
    }

    /// Variables from a closure.
    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self {
            lookup: Arc::new(lookup),
        }
    }

    /// Variables from a map or a list of pairs (tests, a parsed `.env` file).
    pub fn from_map<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .map(|(name, value)| (name.into(), value.into()))
            .collect();
        Self::from_fn(move |name| vars.get(name).cloned())
    }

    /// This lookup, then `fallback` for the variables this one does not set (an empty value
    /// counts as set). `Env::process().or(file)` lets the environment win over a file.
    #[must_use]
    pub fn or(self, fallback: Env) -> Self {
        Self::from_fn(move |name| (self.lookup)(name).or_else(|| (fallback.lookup)(name)))
    }

    /// The value as set, untrimmed; `None` when unset, empty or only whitespace. For values
    /// where spaces may matter, such as passwords.
    pub fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|value| !value.trim().is_empty())
    }

    /// The trimmed value; `None` when unset, empty or only whitespace.
    pub fn string(&self, name: &str) -> Option<String> {
        self.raw(name).map(|value| value.trim().to_owned())
    }

    /// A flag: `true`, `1`, `yes`, `on` or `false`, `0`, `no`, `off` (any case); `default`
    /// when unset.
    ///
    /// # Errors
    /// Any other value.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, EnvError> {
        match self.string(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
            Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
            Some(v) => Err(EnvError::new(
                name,
                format!("{v:?} is not a boolean"),
                "Use true or false.",
            )),
        }
    }

    /// A whole number above zero; `default` when unset.
    ///
    /// # Errors
    /// Anything else, zero included.
    pub fn positive_number(&self, name: &str, default: u64) -> Result<u64, EnvError> {
        self.string(name).map_or(Ok(default), |v| {
            v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                EnvError::new(
                    name,
                    format!("{v:?} is not a positive whole number"),
                    format!("Use a number like {default}."),
                )
            })
        })
    }

    /// A positive duration: `30s`, `2m`, `1h` or bare seconds (see [`parse_duration`]);
    /// `default` when unset.
    ///
    /// # Errors
    /// Anything else, zero included.
    pub fn duration(&self, name: &str, default: Duration) -> Result<Duration, EnvError> {
        self.string(name).map_or(Ok(default), |v| {
            parse_duration(&v).ok_or_else(|| {
                EnvError::new(
                    name,
                    format!("{v:?} is not a duration"),
                    format!(
                        "Use a number of seconds, minutes or hours, like {} or 2m.",
                        duration::format_seconds(default.as_secs())
                    ),
                )
            })
        })
    }

    /// A rate limit, `COUNT/WINDOW` (`10/15m`, see [`RateLimit`]); `default` when unset.
    ///
    /// # Errors
    /// A value that does not parse.
    pub fn rate_limit(&self, name: &str, default: RateLimit) -> Result<RateLimit, EnvError> {
        self.string(name).map_or(Ok(default), |v| {
            v.parse().map_err(|err| {
                let window = u64::try_from(default.window.whole_seconds()).unwrap_or_default();
                EnvError::new(
                    name,
                    format!("{err}"),
                    format!(
                        "Use COUNT/WINDOW, like {}/{}.",
                        default.max,
                        duration::format_seconds(window)
                    ),
                )
            })
        })
    }

    /// A comma-separated list, each entry trimmed, empty entries dropped; empty when unset.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.string(name)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The trimmed value parsed as a `T`; `None` when unset.
    ///
    /// # Errors
    /// A value that does not parse: the problem quotes it with the parser's complaint, and
    /// `fix` says what to write instead.
    pub fn parse<T>(&self, name: &str, fix: &str) -> Result<Option<T>, EnvError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.string(name)
            .map(|v| {
                v.parse()
                    .map_err(|err| EnvError::new(name, format!("{v:?} does not parse: {err}"), fix))
            })
            .transpose()
    }
}

impl Default for Env {
    /// The process environment.
    fn default() -> Self {
        Self::process()
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may be secrets: show none.
        f.debug_struct("Env").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use time::Duration as TimeDuration;

    use super::*;

    #[test]
    fn blank_values_are_unset_and_others_trimmed() {
        let env = Env::from_map([("A", "  "), ("B", " x "), ("C", "")]);
        assert_eq!(env.string("A"), None);
        assert_eq!(env.string("B").as_deref(), Some("x"));
        assert_eq!(env.raw("B").as_deref(), Some(" x "));
        assert_eq!(env.string("C"), None);
        assert_eq!(env.string("D"), None);
    }

    #[test]
    fn the_first_lookup_wins_over_its_fallback() {
        let env =
            Env::from_map([("A", "process")]).or(Env::from_map([("A", "file"), ("B", "file")]));
        assert_eq!(env.string("A").as_deref(), Some("process"));
        assert_eq!(env.string("B").as_deref(), Some("file"));
    }

    #[test]
    fn typed_getters_have_defaults_and_name_the_variable() {
        let env = Env::from_map([
            ("FLAG", "Yes"),
            ("BAD_FLAG", "maybe"),
            ("N", "64"),
            ("ZERO", "0"),
            ("D", "90"),
            ("BAD_D", "soon"),
            ("LIMIT", "5/1m"),
            ("BAD_LIMIT", "lots"),
            ("LIST", "a, b,,c "),
            ("PORT", "x"),
        ]);
        assert!(env.flag("FLAG", false).unwrap());
        assert!(env.flag("UNSET", true).unwrap());
        assert_eq!(env.positive_number("N", 1).unwrap(), 64);
        assert_eq!(env.positive_number("UNSET", 15).unwrap(), 15);
        assert_eq!(
            env.duration("D", Duration::from_secs(1)).unwrap(),
            Duration::from_secs(90)
        );
        assert_eq!(
            env.rate_limit("LIMIT", RateLimit::new(1, TimeDuration::hours(1)))
                .unwrap(),
            RateLimit::new(5, TimeDuration::minutes(1))
        );
        assert_eq!(env.list("LIST"), ["a", "b", "c"]);
        assert!(env.list("UNSET").is_empty());
        assert_eq!(env.parse::<u16>("UNSET", "Use a port.").unwrap(), None);

        let errors = [
            env.flag("BAD_FLAG", true).unwrap_err(),
            env.positive_number("ZERO", 15).unwrap_err(),
            env.duration("BAD_D", Duration::from_secs(10)).unwrap_err(),
            env.rate_limit("BAD_LIMIT", RateLimit::new(10, TimeDuration::minutes(15)))
                .unwrap_err(),
            env.parse::<u16>("PORT", "Use a port.").unwrap_err(),
        ];
        let names = ["BAD_FLAG", "ZERO", "BAD_D", "BAD_LIMIT", "PORT"];
        for (err, name) in errors.iter().zip(names) {
            assert_eq!(err.variable(), name);
            assert!(err.to_string().starts_with(&format!("{name}: ")), "{err}");
        }
        assert!(errors[2].fix().contains("like 10s or 2m"), "{}", errors[2]);
        assert!(errors[3].fix().contains("like 10/15m"), "{}", errors[3]);
        assert!(errors[1].fix().contains("like 15"), "{}", errors[1]);
    }

    #[test]
    fn debug_shows_no_values() {
        let env = Env::from_map([("JWT_SECRET_KEY", "hunter2")]);
        assert!(!format!("{env:?}").contains("hunter2"));
    }
}
