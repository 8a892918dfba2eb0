//! Usernames: an optional second login name, unique case-insensitively.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

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
}

/// A validated username: 3 to 64 letters, digits, `.`, `_` or `-`.
///
/// It never contains `@`, so a login name is a username exactly when it is not an e-mail
/// address. Case is kept for display; [`Username::key`] (lower-cased) is what is unique.
///
/// ```
/// use auth_core::Username;
/// let name = Username::parse("Alice_1")?;
/// assert_eq!(name.key(), "alice_1");
/// assert!(Username::parse("a@b").is_err());
/// # Ok::<(), auth_core::UsernameError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// Validates a username. Surrounding white space is removed.
    ///
    /// # Errors
    /// [`UsernameError`] saying what is wrong.
    pub fn parse(input: &str) -> Result<Self, UsernameError> {
        let input = input.trim();
        let count = input.chars().count();
        if !(3..=64).contains(&count) {
            return Err(UsernameError::Length);
        }
        if !input
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(UsernameError::Character);
        }
        Ok(Self(input.to_owned()))
    }

    /// The username as chosen.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive key that lookups and uniqueness use.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
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
}
