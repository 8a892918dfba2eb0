//! STUB
#![allow(missing_docs, unreachable_pub, dead_code)]
use crate::{Email, Password, Username};
pub const MAX_PASSWORD_BYTES: usize = 1024;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy { min_chars: usize }
impl Default for PasswordPolicy { fn default() -> Self { Self { min_chars: 8 } } }
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordRejection { #[error("short")] TooShort { min: usize }, #[error("long")] TooLong { max: usize }, #[error("common")] TooCommon, #[error("personal")] ContainsPersonalInfo, #[error("{0}")] Custom(String) }
impl PasswordRejection { pub fn reason(&self) -> String { self.to_string() } }
pub fn normalize(p: &str) -> String { p.to_owned() }
impl PasswordPolicy {
    pub fn check(&self, password: &Password, email: Option<&Email>, username: Option<&Username>) -> Result<(), PasswordRejection> {
        let p = password.expose();
        if p.len() > MAX_PASSWORD_BYTES { return Err(PasswordRejection::TooLong { max: 128 }); }
        if p.chars().count() < self.min_chars { return Err(PasswordRejection::TooShort { min: 8 }); }
        if super::common::is_common(&p.to_lowercase()) { return Err(PasswordRejection::TooCommon); }
        if let Some(e) = email { if p.to_lowercase().contains(&e.local_part().to_lowercase()) { return Err(PasswordRejection::ContainsPersonalInfo); } }
        let _ = username;
        Ok(())
    }
}
