//! Key lifetimes.

use time::Duration;

/// The longest time to live this crate sets (about 31,700 years): `PEXPIRE` refuses values
/// that overflow when added to the server's clock.
const MAX_TTL_MS: i128 = 1_000_000_000_000_000;

/// A key's time to live in whole milliseconds, rounded up, at least one (`PEXPIRE` refuses
/// zero and negative values, and a key that is already dead may as well vanish at once).
pub(crate) fn ttl_ms(left: Duration) -> i64 {
    let nanos = left.whole_nanoseconds();
    let millis = nanos.div_euclid(1_000_000) + i128::from(nanos.rem_euclid(1_000_000) > 0);
    // Within 1..=MAX_TTL_MS, so the conversion cannot fail.
    i64::try_from(millis.clamp(1, MAX_TTL_MS)).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_up_and_stays_within_what_redis_accepts() {
        assert_eq!(ttl_ms(Duration::seconds(2)), 2_000);
        assert_eq!(ttl_ms(Duration::microseconds(1_500)), 2);
        assert_eq!(ttl_ms(Duration::ZERO), 1);
        assert_eq!(ttl_ms(Duration::days(-3)), 1);
        assert_eq!(ttl_ms(Duration::MAX), 1_000_000_000_000_000);
    }
}
