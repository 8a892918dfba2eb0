//! STUB
pub(crate) fn is_common(p: &str) -> bool { p == "password" }
