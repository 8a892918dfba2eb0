//! Durations in words, as mails state a link's lifetime.

use time::Duration;

/// `lifetime` in English words, in its two largest units: `30 minutes`, `2 hours`, `1 day`,
/// `1 hour and 30 minutes`, `2 days and 12 hours`. What a smaller unit would add is left
/// out, so a mail never promises more time than a link has. Under a minute it counts
/// seconds; zero or less is `0 seconds`.
///
/// ```
/// use auth_core::duration_in_words;
/// use time::Duration;
///
/// assert_eq!(duration_in_words(Duration::hours(24)), "1 day");
/// assert_eq!(duration_in_words(Duration::minutes(90)), "1 hour and 30 minutes");
/// assert_eq!(duration_in_words(Duration::minutes(30)), "30 minutes");
/// ```
pub fn duration_in_words(lifetime: Duration) -> String {
    let seconds = lifetime.whole_seconds().max(0);
    if seconds < 60 {
        return count(seconds, "second");
    }
    let minutes = seconds / 60;
    let units = [
        (minutes / (24 * 60), "day"),
        (minutes / 60 % 24, "hour"),
        (minutes % 60, "minute"),
    ];
    let Some(first) = units.iter().position(|(n, _)| *n > 0) else {
        return count(0, "minute");
    };
    let mut parts = units[first..]
        .iter()
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| count(*n, unit));
    let largest = parts.next().unwrap_or_default();
    match parts.next() {
        Some(next) => format!("{largest} and {next}"),
        None => largest,
    }
}

/// `1 hour`, `2 hours`.
fn count(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_stated_in_their_two_largest_units() {
        for (lifetime, words) in [
            (Duration::minutes(30), "30 minutes"),
            (Duration::minutes(1), "1 minute"),
            (Duration::hours(1), "1 hour"),
            (Duration::hours(2), "2 hours"),
            (Duration::minutes(90), "1 hour and 30 minutes"),
            (Duration::hours(24), "1 day"),
            (Duration::days(1), "1 day"),
            (Duration::hours(36), "1 day and 12 hours"),
            (Duration::days(7), "7 days"),
            (Duration::days(14), "14 days"),
            (Duration::seconds(45), "45 seconds"),
            (Duration::seconds(1), "1 second"),
            (Duration::ZERO, "0 seconds"),
            (Duration::seconds(-5), "0 seconds"),
        ] {
            assert_eq!(duration_in_words(lifetime), words, "{lifetime}");
        }
    }

    #[test]
    fn smaller_units_are_left_out_never_rounded_up() {
        // 1 day, 0 hours and 30 minutes: the hour slot is empty, the minutes are dropped.
        assert_eq!(duration_in_words(Duration::minutes(24 * 60 + 30)), "1 day");
        assert_eq!(
            duration_in_words(Duration::minutes(25 * 60 + 59)),
            "1 day and 1 hour"
        );
        assert_eq!(duration_in_words(Duration::seconds(119)), "1 minute");
        assert_eq!(
            duration_in_words(Duration::seconds(2 * 3600 + 59)),
            "2 hours"
        );
    }
}
