//! The embedded list of common passwords that [`PasswordPolicy`](super::PasswordPolicy) refuses
//! (ASVS5 6.2.4).
//!
//! The list is Django's `common-passwords.txt.gz` (19,640 passwords, lower-cased and
//! de-duplicated from Royce Williams' top-20,000 list; BSD-3-Clause, see `data/README.md`). It
//! is compiled into the binary compressed (80 KiB) and decompressed once, on first use, into a
//! `HashSet`.

use std::collections::HashSet;
use std::io::Read;
use std::sync::LazyLock;

use flate2::read::GzDecoder;

use super::policy::normalize;

/// The gzip-compressed list: one password per line, UTF-8, lower case.
static COMPRESSED: &[u8] = include_bytes!("../../data/common-passwords.txt.gz");

/// The decompressed list, each entry in the form [`is_common`] is asked about.
static COMMON: LazyLock<HashSet<String>> = LazyLock::new(load);

/// The form both the list and the candidate are compared in: NFKC, then lower case.
///
/// Applying the very same function to the list entries as to the password means the few
/// non-ASCII entries (Cyrillic ones such as `пароль`) match however they were typed.
pub(crate) fn comparison_form(text: &str) -> String {
    normalize(text).to_lowercase()
}

/// Decompresses the embedded list.
///
/// The list is a constant of this crate, so decompression cannot fail in practice; if it ever
/// did, refusing every password (or panicking) would lock all users out, so the check is
/// disabled instead and the failure logged loudly.
fn load() -> HashSet<String> {
    let mut text = String::new();
    match GzDecoder::new(COMPRESSED).read_to_string(&mut text) {
        Ok(_) => text
            .lines()
            // Django strips each line the same way.
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(comparison_form)
            .collect(),
        Err(err) => {
            tracing::error!(
                error = %err,
                "the embedded common-password list could not be decompressed; \
                 common passwords are NOT being refused"
            );
            HashSet::new()
        }
    }
}

/// Whether `password_lowercase_nfkc` is on the list of common passwords.
///
/// The argument must already be in [`comparison_form`] (NFKC, then lower-cased); the policy
/// does that once for all its checks.
pub(crate) fn is_common(password_lowercase_nfkc: &str) -> bool {
    COMMON.contains(password_lowercase_nfkc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_holds_at_least_ten_thousand_passwords() {
        assert!(COMMON.len() >= 10_000, "only {} passwords", COMMON.len());
    }

    #[test]
    fn well_known_passwords_are_common() {
        for password in ["password", "123456", "qwerty", "iloveyou", "пароль"] {
            assert!(is_common(password), "{password:?} should be common");
        }
    }

    #[test]
    fn a_random_long_phrase_is_not_common() {
        assert!(!is_common("violet tractor sings beneath 47 quiet lanterns"));
        assert!(!is_common(""));
    }

    #[test]
    fn entries_are_in_comparison_form() {
        assert!(
            COMMON
                .iter()
                .all(|entry| *entry == comparison_form(entry) && !entry.is_empty())
        );
    }
}
