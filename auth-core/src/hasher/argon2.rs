//! STUB
#![allow(missing_docs, unreachable_pub, dead_code)]
use async_trait::async_trait;
use super::{HashError, PasswordHasher, Verification};
use crate::{Password, PasswordHash};
#[derive(Debug, Clone, Copy)]
pub struct Argon2Params { pub memory_kib: u32, pub iterations: u32, pub parallelism: u32 }
#[derive(Debug, Clone, Default)]
pub struct Argon2Hasher;
impl Argon2Hasher { pub fn fast_insecure() -> Self { Self } }
#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, p: &Password) -> Result<PasswordHash, HashError> { Ok(PasswordHash::new(format!("stub${}", p.expose()))) }
    async fn verify(&self, p: &Password, h: &PasswordHash) -> Result<Verification, HashError> { Ok(if h.as_str() == format!("stub${}", p.expose()) { Verification::Valid } else { Verification::Invalid }) }
    async fn dummy_verify(&self, _p: &Password) -> Result<(), HashError> { Ok(()) }
}
