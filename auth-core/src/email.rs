//! E-mail addresses: validation, canonical form, and refusal of look-alikes.

use std::fmt;

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
use serde::{Deserialize, Deserializer, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};
use unicode_security::general_security_profile::IdentifierType;
use unicode_security::{GeneralSecurityProfile, MixedScript};

/// Why a string is not an e-mail address we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmailError {
    /// Empty, or longer than 254 bytes.
    #[error("value is not a valid email address: the length is out of range")]
    Length,
    /// Not of the form `local@domain`.
    #[error("value is not a valid email address: an email address must have exactly one @-sign")]
    At,
    /// The part before the `@` is empty, too long or has a character we refuse.
    #[error("value is not a valid email address: the part before the @-sign is not valid")]
    Local,
    /// The part after the `@` is not a domain name with a dot.
    #[error("value is not a valid email address: the part after the @-sign is not valid")]
    Domain,
    /// An invisible, formatting or control character somewhere in the address: a zero-width
    /// space or joiner, a soft hyphen, a text-direction override, a filler and the like.
    #[error(
        "value is not a valid email address: it contains an invisible, formatting or control \
         character (such as a zero-width space, a soft hyphen or a text-direction mark)"
    )]
    Invisible,
    /// A label of the domain mixes letters of different scripts, as look-alike domains do
    /// (a Cyrillic `а` among Latin letters, say).
    #[error(
        "value is not a valid email address: a part of the domain mixes letters from different \
         scripts, as look-alike domains do"
    )]
    MixedScript,
}

/// A validated e-mail address in canonical form: the local part as typed (after Unicode
/// normalisation), the domain in lower-case ASCII (A-label) form.
///
/// Lookups and uniqueness are case-insensitive: [`Email::key`] is the whole address
/// lower-cased, and stores index that (`ALICE@Example.com` is `alice@example.com`).
/// The accepted syntax is the WHATWG "valid e-mail address" (what `<input type=email>`
/// accepts) with a dotted domain, which is what users type and what mail servers deliver;
/// quoted local parts and IP literals are refused.
///
/// # Look-alike addresses
///
/// Two addresses that look the same are the same account, or one of them is refused:
///
/// - The whole address is put in Unicode normalisation form NFKC, so full-width letters
///   (`ａｌｉｃｅ`) and decomposed accents (`o` followed by a combining diaeresis) become the
///   plain letters they look like.
/// - The domain goes through IDNA (UTS #46) and is kept in its ASCII form, lower case:
///   `bücher.de` and `xn--bcher-kva.de` are one domain, stored as `xn--bcher-kva.de`.
/// - Invisible characters are refused anywhere in the address: control and formatting
///   characters (zero-width spaces and joiners, soft hyphens, the bidirectional controls
///   such as U+202E) and the other characters Unicode marks as ignorable (fillers, variation
///   selectors). So are private-use and unassigned code points.
/// - A domain label whose letters come from more than one script is refused (`exаmple`
///   with a Cyrillic `а`), following the mixed-script detection of UTS #39; scripts that are
///   written together, such as Han with Hiragana and Katakana, count as one. A label given
///   in ASCII form (`xn--…`) is decoded and checked the same way.
///
/// ```
/// use auth_core::Email;
/// let email = Email::parse("Alice@Example.COM")?;
/// assert_eq!(email.as_str(), "Alice@example.com");
/// assert_eq!(email.key(), "alice@example.com");
/// assert_eq!(Email::parse("jörg@Bücher.de")?.as_str(), "jörg@xn--bcher-kva.de");
/// assert!(Email::parse("not-an-address").is_err());
/// assert!(Email::parse("bob@ex\u{430}mple.com").is_err()); // a Cyrillic a
/// # Ok::<(), auth_core::EmailError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

const LOCAL_SPECIALS: &str = ".!#$%&'*+/=?^_`{|}~-";

/// The longest raw input we normalise at all; NFKC can shrink text (full-width letters take
/// three bytes), so this is looser than the 254 bytes the normalised address may have.
const MAX_RAW_LEN: usize = 1024;

/// Whether `c` is a character that shows nothing, or changes how its neighbours show, and so
/// has no place in an identity: control, format (`Cf`: zero-width space and joiners, soft
/// hyphen, bidirectional controls), surrogate, private-use and unassigned code points, and
/// the other default-ignorable characters (Hangul fillers, variation selectors, the
/// combining grapheme joiner).
pub(crate) fn is_invisible(c: char) -> bool {
    c.general_category_group() == GeneralCategoryGroup::Other
        || c.identifier_type() == Some(IdentifierType::Default_Ignorable)
}

impl Email {
    /// Validates `input` and puts it in canonical form. Surrounding white space is removed.
    ///
    /// # Errors
    /// [`EmailError`] saying which part is wrong.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let input = input.trim();
        if input.is_empty() || input.len() > MAX_RAW_LEN {
            return Err(EmailError::Length);
        }
        let input: String = input.nfkc().collect();
        // Checked before IDNA, which would silently drop a soft hyphen or a zero-width space
        // and turn a look-alike into a "valid" address. NFKC removes no character, so none
        // escapes by being checked after it.
        if input.chars().any(is_invisible) {
            return Err(EmailError::Invisible);
        }
        if input.len() > 254 {
            return Err(EmailError::Length);
        }
        let (local, domain) = input.split_once('@').ok_or(EmailError::At)?;
        if domain.contains('@') {
            return Err(EmailError::At);
        }
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| {
                c.is_alphanumeric()
                    || LOCAL_SPECIALS.contains(c)
                    || !c.is_ascii() && !c.is_control() && !c.is_whitespace()
            });
        if !local_ok {
            return Err(EmailError::Local);
        }
        let domain = canonical_domain(domain)?;
        let address = format!("{local}@{domain}");
        if address.len() > 254 {
            return Err(EmailError::Length);
        }
        Ok(Self(address))
    }

    /// The address in canonical form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive key that lookups and uniqueness use: the whole address
    /// lower-cased (and normalised again, so the key itself is in NFKC).
    pub fn key(&self) -> String {
        self.0.to_lowercase().nfkc().collect()
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0
            .split_once('@')
            .map_or(self.0.as_str(), |(local, _)| local)
    }
}

/// The domain in lower-case A-label (ASCII) form, or why it is refused.
fn canonical_domain(domain: &str) -> Result<String, EmailError> {
    let uts46 = Uts46::new();
    // STD3 rules: letters, digits and hyphens only; no hyphen first or last in a label (the
    // stricter check of positions 3 and 4 would refuse real host names); DNS lengths.
    let ascii = uts46
        .to_ascii(
            domain.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::CheckFirstLast,
            DnsLength::Verify,
        )
        .map_err(|_| EmailError::Domain)?;
    let labels: Vec<&str> = ascii.split('.').collect();
    let shape_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| {
            tld.chars().all(|c| c.is_ascii_alphabetic()) || tld.starts_with("xn--")
        });
    if !shape_ok {
        return Err(EmailError::Domain);
    }
    // The Unicode form is what a reader sees: that is where invisible characters and mixed
    // scripts are looked for, also when the domain was given as `xn--` labels.
    let (unicode, decoded) = uts46.to_unicode(
        ascii.as_bytes(),
        AsciiDenyList::STD3,
        Hyphens::CheckFirstLast,
    );
    // IDNA itself refuses an `xn--` label that is not the one canonical encoding of a valid
    // Unicode label (bad Punycode, an ASCII-only label in disguise, upper case inside).
    decoded.map_err(|_| EmailError::Domain)?;
    for label in unicode.split('.') {
        if label.chars().any(is_invisible) {
            return Err(EmailError::Invisible);
        }
        if !label.is_single_script() {
            return Err(EmailError::MixedScript);
        }
    }
    Ok(ascii.into_owned())
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Email {
    type Err = EmailError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_is_lower_cased_and_local_part_kept() {
        let email = Email::parse(" Bob.Smith+tag@Mail.Example.ORG ").unwrap();
        assert_eq!(email.as_str(), "Bob.Smith+tag@mail.example.org");
        assert_eq!(email.key(), "bob.smith+tag@mail.example.org");
        assert_eq!(email.local_part(), "Bob.Smith+tag");
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b@example.com",
            "a@localhost",
            "a@-example.com",
            "a@example..com",
            "a b@example.com",
            ".a@example.com",
            "a..b@example.com",
            "a@example.c0m1",
            "a@[127.0.0.1]",
            "\"quoted\"@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(Email::parse(&long_local), Err(EmailError::Local));
    }

    #[test]
    fn international_addresses_are_accepted() {
        assert!(Email::parse("jörg@bücher.de").is_ok());
        assert!(Email::parse("user@xn--bcher-kva.example").is_ok());
    }

    #[test]
    fn look_alike_spellings_fold_to_the_plain_address() {
        // (look-alike input, the plain form it must be the same account as)
        let cases = [
            // Full-width letters, @-sign and dot.
            (
                "\u{ff41}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}\u{ff20}\u{ff45}\u{ff58}\u{ff41}\u{ff4d}\u{ff50}\u{ff4c}\u{ff45}\u{ff0e}\u{ff43}\u{ff4f}\u{ff4d}",
                "alice@example.com",
            ),
            ("\u{ff21}lice@example.com", "alice@example.com"),
            // NFD (o + combining diaeresis) against NFC (ö), in both parts.
            ("jo\u{308}rg@example.com", "j\u{f6}rg@example.com"),
            ("jorg@bu\u{308}cher.de", "jorg@b\u{fc}cher.de"),
            // The Unicode domain and its A-label.
            ("jorg@b\u{fc}cher.de", "jorg@xn--bcher-kva.de"),
            ("jorg@B\u{dc}CHER.de", "jorg@xn--bcher-kva.de"),
            ("jorg@XN--BCHER-KVA.DE", "jorg@xn--bcher-kva.de"),
        ];
        for (look_alike, plain) in cases {
            let plain = Email::parse(plain).unwrap();
            let folded = Email::parse(look_alike)
                .unwrap_or_else(|err| panic!("{look_alike:?} was refused: {err}"));
            assert_eq!(
                folded.key(),
                plain.key(),
                "{look_alike:?} is a second account"
            );
        }
    }

    #[test]
    fn the_domain_is_stored_in_a_label_form() {
        let email = Email::parse("J\u{f6}rg@B\u{fc}cher.DE").unwrap();
        assert_eq!(email.as_str(), "J\u{f6}rg@xn--bcher-kva.de");
        assert_eq!(email.key(), "j\u{f6}rg@xn--bcher-kva.de");
        assert_eq!(email.local_part(), "J\u{f6}rg");
    }

    #[test]
    fn invisible_and_direction_characters_are_refused() {
        let refused = [
            // Zero-width space, in the local part and in the domain.
            "ali\u{200b}ce@example.com",
            "alice@exam\u{200b}ple.com",
            // Zero-width non-joiner and joiner, word joiner, BOM.
            "ali\u{200c}ce@example.com",
            "ali\u{200d}ce@example.com",
            "ali\u{2060}ce@example.com",
            "\u{feff}alice@example.com",
            // Soft hyphen, in both parts.
            "ali\u{ad}ce@example.com",
            "alice@exam\u{ad}ple.com",
            // Right-to-left override and the other bidirectional controls.
            "alice\u{202e}moc.elpmaxe@example.com",
            "alice@example\u{202e}.com",
            "ali\u{200f}ce@example.com",
            "ali\u{2067}ce@example.com",
            "ali\u{61c}ce@example.com",
            // Default-ignorable but not a format character: Hangul filler, variation selector.
            "ali\u{3164}ce@example.com",
            "ali\u{fe0f}ce@example.com",
            // Control and private-use characters.
            "ali\u{7f}ce@example.com",
            "ali\u{e000}ce@example.com",
            // A zero-width joiner that IDNA allows after a virama, typed and as an A-label.
            "bob@\u{915}\u{94d}\u{200d}\u{937}.in",
            "bob@xn--11b2ezcw70k.in",
        ];
        for input in refused {
            assert_eq!(
                Email::parse(input),
                Err(EmailError::Invisible),
                "{input:?} was not refused as invisible"
            );
        }
        // Positive control: the same address without the character.
        assert!(Email::parse("alice@example.com").is_ok());
    }

    #[test]
    fn mixed_script_domain_labels_are_refused() {
        let refused = [
            // A Cyrillic a (U+0430) among Latin letters.
            "bob@ex\u{430}mple.com",
            // The same label given directly as its A-label.
            "bob@xn--exmple-4nf.com",
            // A Greek omicron in a Latin label, a Latin o in a Cyrillic one.
            "bob@g\u{3bf}\u{3bf}gle.com",
            "bob@\u{43f}\u{43e}\u{447}\u{442}a.\u{440}\u{444}",
        ];
        for input in refused {
            assert_eq!(
                Email::parse(input),
                Err(EmailError::MixedScript),
                "{input:?} was not refused as mixed-script"
            );
        }
        assert!(Email::parse("bob@example.com").is_ok());
    }

    #[test]
    fn a_labels_must_be_canonical() {
        // "paypal" encoded as if it were not ASCII: a second spelling of paypal.com.
        assert_eq!(Email::parse("bob@xn--paypal-.com"), Err(EmailError::Domain));
        // Not valid Punycode.
        assert_eq!(Email::parse("bob@xn--a.com"), Err(EmailError::Domain));
        // Punycode of "bÜcher": an upper-case letter that the Unicode form would have folded.
        assert_eq!(
            Email::parse("bob@xn--bcher-2pa.de"),
            Err(EmailError::Domain)
        );
    }

    #[test]
    fn legitimate_non_latin_addresses_parse() {
        let cases = [
            (
                "\u{7528}\u{6237}@\u{4f8b}\u{5b50}.\u{5e7f}\u{544a}",
                "xn--fsqu00a.xn--4rr70v",
            ),
            (
                "\u{43f}\u{440}\u{438}\u{43c}\u{435}\u{440}@\u{43f}\u{43e}\u{447}\u{442}\u{430}.\u{440}\u{444}",
                "xn--80a1acny.xn--p1ai",
            ),
            // Japanese mixing Hiragana and Katakana with Han in one label.
            (
                "taro@\u{3068}\u{3046}\u{30ad}\u{30e7}\u{30a6}\u{90fd}.jp",
                "xn--p8j7c1i1a40ai302c.jp",
            ),
            // Digits and hyphens go with any script.
            ("user@b\u{fc}cher-24.de", "xn--bcher-24-65a.de"),
        ];
        for (input, domain) in cases {
            let email =
                Email::parse(input).unwrap_or_else(|err| panic!("{input:?} was refused: {err}"));
            let (_, stored) = email.as_str().split_once('@').unwrap();
            assert_eq!(stored, domain);
        }
    }

    #[test]
    fn refusals_say_why() {
        let message = Email::parse("ali\u{200b}ce@example.com")
            .unwrap_err()
            .to_string();
        assert!(message.contains("invisible"), "{message}");
        let message = Email::parse("bob@ex\u{430}mple.com")
            .unwrap_err()
            .to_string();
        assert!(message.contains("different scripts"), "{message}");
    }

    #[test]
    fn deserialising_validates() {
        let ok: Email = serde_json::from_str("\"A@B.CO\"").unwrap();
        assert_eq!(ok.as_str(), "A@b.co");
        assert!(serde_json::from_str::<Email>("\"nope\"").is_err());
    }
}
