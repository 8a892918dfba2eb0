//! [`EnvError`]: a variable whose value is wrong, and how to fix it.

use std::fmt;

/// A configuration variable that is missing or does not parse: which one, what is wrong with
/// it, and how to fix it. Displayed as `VARIABLE: problem. fix`.
///
/// ```
/// use auth_core::env::EnvError;
///
/// let err = EnvError::new("PORT", "not a port number", "Use a number from 1 to 65535.");
/// assert_eq!(err.to_string(), "PORT: not a port number. Use a number from 1 to 65535.");
/// assert_eq!(err.variable(), "PORT");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvError {
    variable: String,
    problem: String,
    fix: String,
}

impl EnvError {
    /// An error about `variable`: what is wrong (`problem`) and what to do (`fix`).
    pub fn new(
        variable: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            variable: variable.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// The variable (or file, such as `.env`) at fault.
    pub fn variable(&self) -> &str {
        &self.variable
    }

    /// What is wrong with it.
    pub fn problem(&self) -> &str {
        &self.problem
    }

    /// How to fix it.
    pub fn fix(&self) -> &str {
        &self.fix
    }
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}. {}", self.variable, self.problem, self.fix)
    }
}

impl std::error::Error for EnvError {}
