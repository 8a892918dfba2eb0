//! TOTP (RFC 6238) through `totp-rs`: SHA-1, 6 digits, 30-second steps, one step of drift.

use totp_rs::{Algorithm, TOTP};

/// The length of a step, in seconds.
pub(crate) const STEP_SECONDS: u64 = 30;
/// Digits of a code.
pub(crate) const DIGITS: usize = 6;
/// Bytes of a new secret (160 bits, as RFC 4226 recommends).
pub(crate) const SECRET_LEN: usize = 20;

fn totp(secret: &[u8], digits: usize) -> TOTP {
    TOTP::new_unchecked(
        Algorithm::SHA1,
        digits,
        0,
        STEP_SECONDS,
        secret.to_vec(),
        None,
        String::new(),
    )
}

/// The code of `step` (Unix time / 30 s).
pub(crate) fn code_at(secret: &[u8], digits: usize, step: i64) -> String {
    let time = u64::try_from(step).unwrap_or_default() * STEP_SECONDS;
    totp(secret, digits).generate(time)
}

/// The step a submitted code belongs to, if it is the code of the current step or of the one
/// before or after (clock drift); compared in constant time.
pub(crate) fn matching_step(secret: &[u8], code: &str, unix_time: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = unix_time.div_euclid(STEP_SECONDS as i64);
    let mut found = None;
    for step in [now - 1, now, now + 1] {
        let expected = code_at(secret, DIGITS, step);
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// `otpauth://totp/...` for authenticator apps, and the secret in base 32.
pub(crate) fn otpauth(secret: &[u8], issuer: &str, account: &str) -> (String, String) {
    // `totp-rs` refuses `:` in either: it separates them in the URI's label.
    let clean = |s: &str| s.replace(':', " ");
    let totp = TOTP::new_unchecked(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECONDS,
        secret.to_vec(),
        Some(clean(issuer)),
        clean(account),
    );
    (totp.get_url(), totp.get_secret_base32())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1: the secret is the ASCII string "12345678901234567890",
    /// codes of 8 digits.
    #[test]
    fn rfc_6238_appendix_b_vectors() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59_i64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(secret, 8, time / 30), code, "T = {time}");
        }
    }

    #[test]
    fn codes_of_the_neighbouring_steps_match_and_others_do_not() {
        let secret = b"12345678901234567890";
        let now = 1_111_111_111_i64;
        let step = now / 30;
        for (offset, expected) in [(-1, Some(step - 1)), (0, Some(step)), (1, Some(step + 1))] {
            let code = code_at(secret, DIGITS, step + offset);
            assert_eq!(matching_step(secret, &code, now), expected);
        }
        let stale = code_at(secret, DIGITS, step - 2);
        assert_eq!(matching_step(secret, &stale, now), None);
        assert_eq!(matching_step(secret, "12345", now), None);
        assert_eq!(matching_step(secret, "abcdef", now), None);
        assert_eq!(matching_step(secret, "", now), None);
    }

    #[test]
    fn the_uri_names_issuer_and_account() {
        let (uri, base32) = otpauth(b"12345678901234567890", "Accounts: Inc", "a@example.com");
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(
            uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            "{uri}"
        );
        assert_eq!(base32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }
}
