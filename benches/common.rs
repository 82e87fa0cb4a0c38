//! What the benchmarks share: the host's input distributions and the
//! plugins built in release mode.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;
use wildhost::{Registry, SearchPath};

pub use wildhost::conformance::workload::{Dist, Rng, WorkloadKey, generate};

/// The release build directory holding `wildhost` and the shipped plugins,
/// built by `cargo build --release --workspace` on first use.
pub fn release_dir() -> PathBuf {
    // The benchmark runs as <target>/release/deps/<bench>-<hash>.
    let exe = std::env::current_exe().expect("the benchmark's path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("<target>/release/deps/<bench>")
        .to_path_buf();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--release",
            "--workspace",
            "--quiet",
            "--target-dir",
        ])
        .arg(&target)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build --release --workspace failed");
    target.join("release")
}

/// The registry of the shipped plugins, in release mode.
pub fn registry() -> Registry {
    let registry = Registry::discover(&SearchPath::only([release_dir()]));
    assert!(registry.refused().is_empty(), "{:?}", registry.refused());
    registry
}
