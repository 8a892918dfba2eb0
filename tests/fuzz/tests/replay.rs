//! Every target over its whole corpus: the seeds (`corpus/<target>/`) and every crash a
//! fuzzer run ever found (`crashes/<target>/`, kept after the fix). Runs in the normal suite.

// A test binary fails by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(kind)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `target` over the files of `kind`; the names of the inputs that broke a property.
fn replay(kind: &str, target: &auth_fuzz::Target) -> (usize, Vec<String>) {
    let files = inputs(kind, target.name);
    let mut failed = Vec::new();
    for file in &files {
        let data = std::fs::read(file).unwrap();
        if catch_unwind(AssertUnwindSafe(|| (target.run)(&data))).is_err() {
            failed.push(file.display().to_string());
        }
    }
    (files.len(), failed)
}

#[test]
fn every_target_passes_its_seeds_and_every_crash_ever_found() {
    let mut failed = Vec::new();
    for target in auth_fuzz::TARGETS {
        let (seeds, seed_failures) = replay("corpus", target);
        assert!(seeds > 0, "{} has no seeds", target.name);
        let (_, crash_failures) = replay("crashes", target);
        failed.extend(seed_failures);
        failed.extend(crash_failures);
    }
    assert!(
        failed.is_empty(),
        "inputs that break a property: {failed:#?}"
    );
}

#[test]
fn corpus_directories_name_existing_targets() {
    for kind in ["corpus", "crashes"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(kind);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            if !entry.file_type().unwrap().is_dir() {
                continue;
            }
            let name = entry.file_name();
            let name = name.to_string_lossy();
            assert!(
                auth_fuzz::target(&name).is_some(),
                "{kind}/{name} names no target"
            );
        }
    }
}
