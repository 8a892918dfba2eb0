//! The password rules: length, the common-password list and personal information
//! (ASVS 5.0 6.2; `docs/SECURITY.md`, "Passwords").

use unicode_normalization::UnicodeNormalization;

use super::common::{comparison_form, is_common};
use crate::email::Email;
use crate::secret::Password;
use crate::username::Username;

/// The most bytes a password may have as typed (UTF-8, before normalisation).
///
/// Longer input is refused before anything else looks at it, and the hasher refuses it
/// without hashing: a multi-megabyte "password" must not cost CPU (ASVS5 6.2.9; the
/// long-password denial of service). 1024 bytes hold any 256 characters, well above the
/// 128-character default maximum.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Applies THE one normalisation of passwords, Unicode NFKC: the crate-internal spelling of
/// [`PasswordPolicy::normalize`], which documents it. The hasher calls this before hashing and
/// before verifying; the policy before measuring and comparing.
pub(crate) fn normalize(password: &str) -> String {
    password.nfkc().collect()
}

/// Why a new password was refused. The message is written for the user: it says what to
/// change.
///
/// ```
/// use auth_core::PasswordRejection;
/// let rejection = PasswordRejection::TooShort { min: 8 };
/// assert_eq!(rejection.reason(), "Password should be at least 8 characters");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordRejection {
    /// Fewer code points than the minimum (after NFKC).
    #[error("Password should be at least {min} characters")]
    TooShort {
        /// The minimum number of characters.
        min: usize,
    },
    /// More code points than the maximum (after NFKC), or more than [`MAX_PASSWORD_BYTES`]
    /// bytes as typed.
    #[error("Password should be at most {max} characters")]
    TooLong {
        /// The maximum number of characters.
        max: usize,
    },
    /// On the list of common passwords.
    #[error("Password is too common")]
    TooCommon,
    /// Contains the user's e-mail address, its local part, or the username.
    #[error("Password should not contain your e-mail address or username")]
    ContainsPersonalInfo,
    /// Refused by an application rule (for example a hook); the text is shown as is.
    #[error("{0}")]
    Custom(String),
}

impl PasswordRejection {
    /// The reason, fit to show the user (the same text as `Display`).
    pub fn reason(&self) -> String {
        self.to_string()
    }
}

/// The rules a new password must follow (ASVS5 6.2; `docs/SECURITY.md`, "Passwords").
///
/// By default: 8 to 128 characters (Unicode code points after [`PasswordPolicy::normalize`]),
/// at most [`MAX_PASSWORD_BYTES`] bytes as typed, not on the embedded list of about 20,000
/// common passwords, and not containing the user's e-mail address or username. There are no
/// composition rules ("one digit, one symbol"): any characters are fine, spaces and emoji
/// included (NIST SP 800-63B).
///
/// ```
/// use auth_core::{Email, Password, PasswordPolicy, PasswordRejection};
///
/// let policy = PasswordPolicy::default();
/// let email = Email::parse("alice@example.com")?;
/// assert!(policy.check(&Password::new("violet tractor lantern"), Some(&email), None).is_ok());
/// assert_eq!(
///     policy.check(&Password::new("password"), Some(&email), None),
///     Err(PasswordRejection::TooCommon),
/// );
/// assert_eq!(
///     policy.check(&Password::new("alice-in-chains"), Some(&email), None),
///     Err(PasswordRejection::ContainsPersonalInfo),
/// );
///
/// let relaxed = PasswordPolicy::default().with_min_chars(12).with_common_check(false);
/// assert_eq!(relaxed.min_chars(), 12);
/// # Ok::<(), auth_core::EmailError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_chars: usize,
    max_chars: usize,
    reject_common: bool,
    reject_personal: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_chars: 8,
            max_chars: 128,
            reject_common: true,
            reject_personal: true,
        }
    }
}

/// Identifiers shorter than this are not looked for in passwords: "al" would refuse half of
/// all passwords.
const MIN_PERSONAL_CHARS: usize = 3;

impl PasswordPolicy {
    /// Applies THE one normalisation of passwords: Unicode NFKC.
    ///
    /// It runs identically when a password is set (checked by [`PasswordPolicy::check`], then
    /// hashed by [`Argon2Hasher`](crate::Argon2Hasher)) and when it is checked at login
    /// (verified by the hasher), so a password typed on another keyboard or OS, with another
    /// composition (`é` as one code point or as `e` + accent) or in a compatibility form
    /// (full-width `ｐａｓｓ`, the `ﬁ` ligature) still matches (ASVS5 6.2.8, NIST SP 800-63B
    /// 5.1.1.2). Nothing else is done: no trimming, no case folding, no truncation. A custom
    /// [`PasswordHasher`](crate::PasswordHasher) should apply it too.
    ///
    /// ```
    /// use auth_core::PasswordPolicy;
    /// assert_eq!(PasswordPolicy::normalize("ﬁsh ＆ chips"), "fish & chips");
    /// assert_eq!(PasswordPolicy::normalize("  Spaces Kept  "), "  Spaces Kept  ");
    /// ```
    pub fn normalize(password: &str) -> String {
        normalize(password)
    }

    /// Sets the minimum length in characters (default 8; ASVS5 6.2.1 asks for at least 8).
    #[must_use]
    pub fn with_min_chars(mut self, min_chars: usize) -> Self {
        self.min_chars = min_chars;
        self
    }

    /// Sets the maximum length in characters (default 128).
    ///
    /// ASVS5 6.2.9 asks that at least 64 be accepted. Input over [`MAX_PASSWORD_BYTES`] bytes
    /// is refused whatever this says, so values above 256 are only reachable with mostly
    /// ASCII text. A maximum below the minimum refuses every password.
    #[must_use]
    pub fn with_max_chars(mut self, max_chars: usize) -> Self {
        self.max_chars = max_chars;
        self
    }

    /// Turns the common-password check on or off (default on; ASVS5 6.2.4).
    #[must_use]
    pub fn with_common_check(mut self, enabled: bool) -> Self {
        self.reject_common = enabled;
        self
    }

    /// Turns the personal-information check on or off (default on; ASVS5 6.2.11).
    #[must_use]
    pub fn with_personal_check(mut self, enabled: bool) -> Self {
        self.reject_personal = enabled;
        self
    }

    /// The minimum length in characters.
    pub fn min_chars(&self) -> usize {
        self.min_chars
    }

    /// The maximum length in characters.
    pub fn max_chars(&self) -> usize {
        self.max_chars
    }

    /// Whether common passwords are refused.
    pub fn common_check(&self) -> bool {
        self.reject_common
    }

    /// Whether passwords containing the e-mail address or username are refused.
    pub fn personal_check(&self) -> bool {
        self.reject_personal
    }

    /// Checks a new password against the rules, in this order:
    ///
    /// 1. more than [`MAX_PASSWORD_BYTES`] bytes as typed: [`PasswordRejection::TooLong`],
    ///    before any other work;
    /// 2. the length of the NFKC form in code points, against the minimum and maximum
    ///    (nothing trimmed or case-folded);
    /// 3. the common-password list, compared with the NFKC form lower-cased;
    /// 4. personal information: the lower-cased NFKC form must not contain the username's key
    ///    or the e-mail address's local part (each if at least 3 characters), nor the whole
    ///    address.
    ///
    /// # Errors
    /// The first [`PasswordRejection`] that applies.
    pub fn check(
        &self,
        password: &Password,
        email: Option<&Email>,
        username: Option<&Username>,
    ) -> Result<(), PasswordRejection> {
        let raw = password.expose();
        if raw.len() > MAX_PASSWORD_BYTES {
            // Any 256 characters fit in 1024 bytes, so that many can always be promised.
            return Err(PasswordRejection::TooLong {
                max: self.max_chars.min(MAX_PASSWORD_BYTES / 4),
            });
        }

        let normalized = normalize(raw);
        let chars = normalized.chars().count();
        if chars < self.min_chars {
            return Err(PasswordRejection::TooShort {
                min: self.min_chars,
            });
        }
        if chars > self.max_chars {
            return Err(PasswordRejection::TooLong {
                max: self.max_chars,
            });
        }

        if !self.reject_common && !self.reject_personal {
            return Ok(());
        }
        let folded = comparison_form(&normalized);

        if self.reject_common && is_common(&folded) {
            return Err(PasswordRejection::TooCommon);
        }

        if self.reject_personal && contains_personal_info(&folded, email, username) {
            return Err(PasswordRejection::ContainsPersonalInfo);
        }

        Ok(())
    }
}

/// Whether `folded` (a password in comparison form) contains the username's key, the
/// address's local part or the whole address, each brought to the same comparison form.
fn contains_personal_info(
    folded: &str,
    email: Option<&Email>,
    username: Option<&Username>,
) -> bool {
    let long_enough = |needle: &str| needle.chars().count() >= MIN_PERSONAL_CHARS;
    let mut needles = Vec::with_capacity(3);
    if let Some(username) = username {
        needles.push(comparison_form(&username.key()));
    }
    if let Some(email) = email {
        needles.push(comparison_form(email.local_part()));
        needles.push(comparison_form(&email.key()));
    }
    needles
        .iter()
        .any(|needle| long_enough(needle) && folded.contains(needle.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: &PasswordPolicy, password: &str) -> Result<(), PasswordRejection> {
        policy.check(&Password::new(password), None, None)
    }

    #[test]
    fn defaults_follow_security_md() {
        let policy = PasswordPolicy::default();
        assert_eq!(policy.min_chars(), 8);
        assert_eq!(policy.max_chars(), 128);
        assert!(policy.common_check());
        assert!(policy.personal_check());
    }

    #[test]
    fn eight_emoji_are_accepted() {
        assert_eq!(
            check(&PasswordPolicy::default(), "🐶🐱🐭🐹🐰🦊🐻🐼"),
            Ok(())
        );
    }

    #[test]
    fn seven_characters_are_too_short() {
        let policy = PasswordPolicy::default();
        assert_eq!(
            check(&policy, "xq7#vb2"),
            Err(PasswordRejection::TooShort { min: 8 })
        );
        assert_eq!(check(&policy, "xq7#vb2!"), Ok(()));
    }

    #[test]
    fn one_hundred_twenty_eight_characters_are_accepted_and_one_more_is_not() {
        let policy = PasswordPolicy::default();
        let longest: String = "abcdefgh".repeat(16);
        assert_eq!(longest.chars().count(), 128);
        assert_eq!(check(&policy, &longest), Ok(()));
        assert_eq!(
            check(&policy, &format!("{longest}i")),
            Err(PasswordRejection::TooLong { max: 128 })
        );
    }

    #[test]
    fn more_than_max_password_bytes_is_too_long_whatever_the_character_count() {
        // 257 four-byte emoji: 1028 bytes, far under a raised character limit.
        let policy = PasswordPolicy::default().with_max_chars(1000);
        let emoji = "🦀".repeat(257);
        assert!(emoji.len() > MAX_PASSWORD_BYTES);
        assert_eq!(
            check(&policy, &emoji),
            Err(PasswordRejection::TooLong { max: 256 })
        );
        // 1025 ASCII bytes, under the raised limit in characters too.
        let ascii = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert!(matches!(
            check(&policy, &ascii),
            Err(PasswordRejection::TooLong { .. })
        ));
        // Exactly 1024 bytes is allowed through to the other rules.
        let exact = "🦀".repeat(256);
        assert_eq!(exact.len(), MAX_PASSWORD_BYTES);
        assert_eq!(check(&policy, &exact), Ok(()));
    }

    #[test]
    fn length_counts_code_points_of_the_nfkc_form() {
        let policy = PasswordPolicy::default();
        // "e" + combining acute, four times: 8 code points typed, 4 after NFKC.
        let decomposed = "e\u{301}".repeat(4);
        assert_eq!(
            check(&policy, &decomposed),
            Err(PasswordRejection::TooShort { min: 8 })
        );
    }

    #[test]
    fn common_passwords_are_refused_in_any_case_and_width() {
        let policy = PasswordPolicy::default();
        for common in [
            "password",
            "PassWord",
            "ｐａｓｓｗｏｒｄ",
            "ＰＡＳＳＷＯＲＤ",
            "12345678",
        ] {
            assert_eq!(
                check(&policy, common),
                Err(PasswordRejection::TooCommon),
                "{common:?}"
            );
        }
        let unchecked = policy.with_common_check(false);
        assert_eq!(check(&unchecked, "password"), Ok(()));
    }

    #[test]
    fn spaces_are_kept_not_trimmed() {
        let policy = PasswordPolicy::default();
        // Six characters plus two spaces: only long enough because spaces count.
        assert_eq!(check(&policy, " abc#12 "), Ok(()));
        assert_eq!(
            check(&policy, " abc#1 "),
            Err(PasswordRejection::TooShort { min: 8 })
        );
        // A common password wrapped in spaces is not the common password.
        assert_eq!(check(&policy, "  password  "), Ok(()));
        assert_eq!(normalize("  pass word  "), "  pass word  ");
    }

    #[test]
    fn passwords_containing_the_username_or_email_are_refused() {
        let policy = PasswordPolicy::default();
        let email = Email::parse("Jane.Doe@Example.com").unwrap();
        let username = Username::parse("Zorro").unwrap();
        let refused = |password: &str| {
            policy.check(&Password::new(password), Some(&email), Some(&username))
                == Err(PasswordRejection::ContainsPersonalInfo)
        };
        assert!(refused("my name is zorro!"));
        assert!(refused("ZORRO-rides-again"));
        assert!(refused("hello JANE.DOE 42"));
        assert!(refused("jane.doe@example.com!"));
        assert!(!refused("violet tractor lantern"));

        let unchecked = policy.clone().with_personal_check(false);
        assert_eq!(
            unchecked.check(
                &Password::new("my name is zorro!"),
                Some(&email),
                Some(&username)
            ),
            Ok(())
        );
    }

    #[test]
    fn identifiers_shorter_than_three_characters_are_not_looked_for() {
        let policy = PasswordPolicy::default();
        let email = Email::parse("al@example.com").unwrap();
        assert_eq!(
            policy.check(&Password::new("always calm kettle"), Some(&email), None),
            Ok(())
        );
        assert_eq!(
            policy.check(&Password::new("al@example.com rules"), Some(&email), None),
            Err(PasswordRejection::ContainsPersonalInfo)
        );
    }

    #[test]
    fn rejections_explain_themselves() {
        assert_eq!(
            PasswordRejection::TooShort { min: 8 }.reason(),
            "Password should be at least 8 characters"
        );
        assert_eq!(
            PasswordRejection::TooLong { max: 128 }.reason(),
            "Password should be at most 128 characters"
        );
        assert_eq!(
            PasswordRejection::TooCommon.reason(),
            "Password is too common"
        );
        assert_eq!(
            PasswordRejection::ContainsPersonalInfo.reason(),
            "Password should not contain your e-mail address or username"
        );
        assert_eq!(
            PasswordRejection::Custom("Password must not be your pet's name".into()).reason(),
            "Password must not be your pet's name"
        );
    }

    #[test]
    fn nfkc_folds_compatibility_forms() {
        assert_eq!(normalize("ﬁ"), "fi");
        assert_eq!(normalize("ｐａｓｓ"), "pass");
        assert_eq!(normalize("e\u{301}"), "\u{e9}");
    }
}
