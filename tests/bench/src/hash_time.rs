//! `bench hash-time`: how long one Argon2id hash takes on this CPU, the denominator of the
//! login throughput limit (cores ÷ hash time).
//!
//! Measured as the hasher runs it in steady state: the OWASP parameters (m=19456 KiB, t=2,
//! p=1) into a reused buffer, the way `Argon2Hasher` pools its memory.

use std::time::Instant;

use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::BoxError;

/// The OWASP baseline, as `Argon2Params::default()` and the login server use it.
pub(crate) const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

/// `bench hash-time [runs]`: prints `HASH_MS <median>` after one warm-up hash.
pub(crate) fn main(args: &[String]) -> Result<(), BoxError> {
    let runs: usize = match args.first() {
        Some(runs) => runs.parse()?,
        None => 15,
    };
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|err| format!("argon2 parameters: {err}"))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut memory = vec![Block::new(); params.block_count()];
    let mut output = [0u8; 32];
    let salt = [7u8; 16];
    let mut times = Vec::with_capacity(runs);
    for run in 0..=runs {
        let started = Instant::now();
        argon2
            .hash_password_into_with_memory(b"a bench password", &salt, &mut output, &mut memory)
            .map_err(|err| format!("argon2: {err}"))?;
        // Run 0 warms caches and pages the buffer in.
        if run > 0 {
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    std::hint::black_box(output);
    times.sort_by(f64::total_cmp);
    let median = times.get(times.len() / 2).copied().ok_or("no runs")?;
    println!("HASH_MS {median:.3}");
    Ok(())
}
