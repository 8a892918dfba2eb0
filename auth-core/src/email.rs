//! E-mail addresses: validation and canonical form.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

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
}

/// A validated e-mail address in canonical form: the domain lower-cased, the local part kept
/// as typed.
///
/// Lookups and uniqueness are case-insensitive: [`Email::key`] is the whole address
/// lower-cased, and stores index that (`ALICE@Example.com` is `alice@example.com`).
/// The accepted syntax is the WHATWG "valid e-mail address" (what `<input type=email>`
/// accepts) with a dotted domain, which is what users type and what mail servers deliver;
/// quoted local parts and IP literals are refused.
///
/// ```
/// use auth_core::Email;
/// let email = Email::parse("Alice@Example.COM")?;
/// assert_eq!(email.as_str(), "Alice@example.com");
/// assert_eq!(email.key(), "alice@example.com");
/// assert!(Email::parse("not-an-address").is_err());
/// # Ok::<(), auth_core::EmailError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

const LOCAL_SPECIALS: &str = ".!#$%&'*+/=?^_`{|}~-";

impl Email {
    /// Validates `input` and puts it in canonical form. Surrounding white space is removed.
    ///
    /// # Errors
    /// [`EmailError`] saying which part is wrong.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let input = input.trim();
        if input.is_empty() || input.len() > 254 {
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
        let domain = domain.to_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.chars().all(char::is_alphabetic) || tld.starts_with("xn--"));
        if !domain_ok {
            return Err(EmailError::Domain);
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    /// The address in canonical form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive key that lookups and uniqueness use: the whole address
    /// lower-cased.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0
            .split_once('@')
            .map_or(self.0.as_str(), |(local, _)| local)
    }
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
    fn deserialising_validates() {
        let ok: Email = serde_json::from_str("\"A@B.CO\"").unwrap();
        assert_eq!(ok.as_str(), "A@b.co");
        assert!(serde_json::from_str::<Email>("\"nope\"").is_err());
    }
}
