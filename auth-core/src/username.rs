//! Usernames: an optional second login name, unique case-insensitively, look-alikes refused.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_security::{GeneralSecurityProfile, RestrictionLevel, RestrictionLevelDetection};

use crate::email::is_invisible;

/// Why a string is not a username we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsernameError {
    /// Shorter than 3 or longer than 64 characters.
    #[error("username must be between 3 and 64 characters")]
    Length,
    /// A character other than letters, digits, `.`, `_` and `-`.
    #[error("username may contain only letters, digits, '.', '_' and '-'")]
    Character,
    /// An invisible, formatting or control character: a zero-width space or joiner, a soft
    /// hyphen, a text-direction override, a filler and the like.
    #[error(
        "username must not contain invisible, formatting or control characters (such as a \
         zero-width space, a soft hyphen or a text-direction mark)"
    )]
    Invisible,
    /// A letter that Unicode advises against in identifiers: obsolete, technical or rarely
    /// used, or one that is easily taken for punctuation.
    #[error(
        "username contains a character that is not allowed in names (obsolete, technical or \
         rarely used, or easily mistaken for another)"
    )]
    Restricted,
    /// Letters from more than one script, as look-alike names have (a Cyrillic `а` among
    /// Latin letters, say).
    #[error(
        "username must use the letters of one script only (digits, '.', '_' and '-' go with \
         any script)"
    )]
    MixedScript,
}

/// A validated username: 3 to 64 letters, digits, `.`, `_` or `-`.
///
/// It never contains `@`, so a login name is a username exactly when it is not an e-mail
/// address. Case is kept for display; [`Username::key`] (lower-cased) is what is unique.
///
/// # Look-alike names
///
/// Two names that look the same are the same account, or one of them is refused:
///
/// - The name is put in Unicode normalisation form NFKC, so full-width letters (`ａｌｉｃｅ`)
///   and decomposed accents (`e` followed by a combining diaeresis) become the plain letters
///   they look like, for storage, uniqueness and login alike.
/// - Invisible characters are refused: control and formatting characters (zero-width spaces
///   and joiners, soft hyphens, the bidirectional controls such as U+202E), the other
///   characters Unicode marks as ignorable (such as the Hangul filler), private-use and
///   unassigned code points.
/// - The letters must come from one script, by the single-script restriction level of
///   UTS #39: digits, `.`, `_` and `-` go with any script, and scripts written together
///   count as one (Han with Hiragana and Katakana, Han with Hangul). Characters that UTS #39
///   does not recommend in identifiers (obsolete or rarely used letters, and letters such as
///   `ǀ` that pass for punctuation) are refused.
///
/// ```
/// use auth_core::Username;
/// let name = Username::parse("Alice_1")?;
/// assert_eq!(name.key(), "alice_1");
/// assert_eq!(Username::parse("ａｌｉｃｅ＿１")?.key(), "alice_1");
/// assert!(Username::parse("山田たろう_タロウ").is_ok());
/// assert!(Username::parse("a@b").is_err());
/// assert!(Username::parse("p\u{430}ypal").is_err()); // a Cyrillic a
/// # Ok::<(), auth_core::UsernameError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Username(String);

/// The longest raw input we normalise at all: generous, as a name in decomposed form takes
/// several code points per letter before NFKC composes them.
const MAX_RAW_LEN: usize = 1024;

impl Username {
    /// Validates a username and puts it in NFKC. Surrounding white space is removed.
    ///
    /// # Errors
    /// [`UsernameError`] saying what is wrong.
    pub fn parse(input: &str) -> Result<Self, UsernameError> {
        let input = input.trim();
        if input.len() > MAX_RAW_LEN {
            return Err(UsernameError::Length);
        }
        let name: String = input.nfkc().collect();
        // NFKC removes no character, so checking after it sees every one typed.
        if name.chars().any(is_invisible) {
            return Err(UsernameError::Invisible);
        }
        let count = name.chars().count();
        if !(3..=64).contains(&count) {
            return Err(UsernameError::Length);
        }
        if !name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(UsernameError::Character);
        }
        if !name.chars().all(GeneralSecurityProfile::identifier_allowed) {
            return Err(UsernameError::Restricted);
        }
        if !name.check_restriction_level(RestrictionLevel::SingleScript) {
            return Err(UsernameError::MixedScript);
        }
        Ok(Self(name))
    }

    /// The username as chosen.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive key that lookups and uniqueness use: the name lower-cased (and
    /// normalised again, so the key itself is in NFKC).
    pub fn key(&self) -> String {
        self.0.to_lowercase().nfkc().collect()
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({})", self.0)
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Username {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_checked() {
        assert!(Username::parse("bob").is_ok());
        assert!(Username::parse("Zoë-1.x_y").is_ok());
        assert_eq!(Username::parse("ab"), Err(UsernameError::Length));
        assert_eq!(Username::parse("a b c"), Err(UsernameError::Character));
        assert_eq!(Username::parse("a@b.com"), Err(UsernameError::Character));
        assert_eq!(Username::parse(&"x".repeat(65)), Err(UsernameError::Length));
    }

    #[test]
    fn look_alike_spellings_fold_to_the_plain_name() {
        // (look-alike input, the plain form it must be the same account as)
        let cases = [
            // Full-width letters, digit and low line.
            (
                "\u{ff41}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}\u{ff3f}\u{ff11}",
                "alice_1",
            ),
            ("\u{ff21}lice", "Alice"),
            // NFD (e + combining diaeresis) against NFC (ë).
            ("Zoe\u{308}", "Zo\u{eb}"),
            // A ligature and a Roman numeral, compatibility forms of plain letters.
            ("\u{fb01}ona", "fiona"),
            ("louis\u{216b}", "louisXII"),
            // Half-width Katakana against the usual form.
            ("\u{ff80}\u{ff9b}\u{ff73}", "\u{30bf}\u{30ed}\u{30a6}"),
        ];
        for (look_alike, plain) in cases {
            let plain = Username::parse(plain).unwrap();
            let folded = Username::parse(look_alike)
                .unwrap_or_else(|err| panic!("{look_alike:?} was refused: {err}"));
            assert_eq!(
                folded.key(),
                plain.key(),
                "{look_alike:?} is a second account"
            );
            assert_eq!(
                folded.as_str(),
                plain.as_str(),
                "{look_alike:?} is stored unfolded"
            );
        }
    }

    #[test]
    fn invisible_and_direction_characters_are_refused() {
        for input in [
            "ali\u{200b}ce",
            "ali\u{200c}ce",
            "ali\u{200d}ce",
            "ali\u{2060}ce",
            "\u{feff}alice",
            "ali\u{ad}ce",
            "alice\u{202e}",
            "ali\u{202e}ecil",
            "ali\u{2066}ce",
            "ali\u{200e}ce",
            "ali\u{3164}ce",
            "ali\u{fe0f}ce",
            "ali\u{7}ce",
            "ali\u{e000}ce",
        ] {
            assert_eq!(
                Username::parse(input),
                Err(UsernameError::Invisible),
                "{input:?} was not refused as invisible"
            );
        }
        assert!(Username::parse("alice").is_ok());
    }

    #[test]
    fn names_mixing_scripts_are_refused() {
        for input in [
            // A Cyrillic a among Latin letters.
            "p\u{430}ypal",
            // A Greek capital alpha before Latin letters.
            "\u{391}lice",
            // Latin and Cyrillic words joined by an underscore.
            "bob_\u{431}\u{43e}\u{431}",
            // Latin with Hiragana.
            "taro\u{305f}\u{308d}\u{3046}",
        ] {
            assert_eq!(
                Username::parse(input),
                Err(UsernameError::MixedScript),
                "{input:?} was not refused as mixed-script"
            );
        }
        assert!(Username::parse("paypal").is_ok());
    }

    #[test]
    fn letters_not_recommended_for_identifiers_are_refused() {
        // U+01C0 LATIN LETTER DENTAL CLICK looks like `l` or `|`.
        assert_eq!(
            Username::parse("admin\u{1c0}"),
            Err(UsernameError::Restricted)
        );
        assert!(Username::parse("adminl").is_ok());
    }

    #[test]
    fn legitimate_single_script_names_parse() {
        for input in [
            // Japanese: Han, Hiragana and Katakana together, with a digit and `_`.
            "\u{5c71}\u{7530}\u{305f}\u{308d}\u{3046}_\u{30bf}\u{30ed}\u{30a6}1",
            // Korean: Hangul with Han.
            "\u{d64d}\u{AE38}\u{B3D9}\u{6d2a}",
            // Cyrillic, Greek, Arabic, each with digits and punctuation.
            "\u{43f}\u{440}\u{438}\u{43c}\u{435}\u{440}-42",
            "\u{3b1}\u{3bb}\u{3b5}\u{3be}.\u{3b7}",
            "\u{645}\u{62d}\u{645}\u{62f}_7",
            // Digits and punctuation only.
            "2024-01.1",
        ] {
            let name =
                Username::parse(input).unwrap_or_else(|err| panic!("{input:?} was refused: {err}"));
            assert_eq!(name.as_str(), input);
        }
    }

    #[test]
    fn refusals_say_why() {
        let message = Username::parse("ali\u{200b}ce").unwrap_err().to_string();
        assert!(message.contains("invisible"), "{message}");
        let message = Username::parse("p\u{430}ypal").unwrap_err().to_string();
        assert!(message.contains("one script"), "{message}");
    }
}
