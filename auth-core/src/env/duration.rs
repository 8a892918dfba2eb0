//! Durations as configuration values: `30s`, `2m`, `1h`, or bare seconds.

use std::time::Duration;

/// A positive duration: `30s`, `2m`, `1h`, or a bare number of seconds. `None` for anything
/// else, zero included.
///
/// ```
/// use std::time::Duration;
/// use auth_core::env::parse_duration;
///
/// assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
/// assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
/// assert_eq!(parse_duration("0s"), None);
/// assert_eq!(parse_duration("soon"), None);
/// ```
pub fn parse_duration(value: &str) -> Option<Duration> {
    let value = value.trim();
    let (digits, seconds_per_unit) = match value.char_indices().last()? {
        (at, 's') => (&value[..at], 1),
        (at, 'm') => (&value[..at], 60),
        (at, 'h') => (&value[..at], 3600),
        _ => (value, 1),
    };
    let amount: u64 = digits.trim().parse().ok().filter(|n| *n > 0)?;
    Some(Duration::from_secs(amount.checked_mul(seconds_per_unit)?))
}

/// A whole number of seconds as [`parse_duration`] reads it back, in the largest unit that
/// divides it (`10s`, `2m`, `1h`).
pub(crate) fn format_seconds(seconds: u64) -> String {
    if seconds != 0 && seconds.is_multiple_of(3600) {
        format!("{}h", seconds / 3600)
    } else if seconds != 0 && seconds.is_multiple_of(60) {
        format!("{}m", seconds / 60)
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_bare_seconds() {
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration(" 1h "), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("-1m"), None);
        assert_eq!(parse_duration("0"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(format_seconds(10), "10s");
        assert_eq!(format_seconds(120), "2m");
        assert_eq!(format_seconds(7200), "2h");
    }
}
