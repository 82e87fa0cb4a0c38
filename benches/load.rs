//! What it costs to find and load plugins.
//!
//! - `load/preflight`: reading one plugin file and checking it without
//!   running it (no `dlopen`).
//! - `load/one-plugin`: preflight + `dlopen` + layout check + entry point +
//!   validation + `init` of one plugin file never loaded before.
//! - `load/discover-100`: `Registry::discover` of a directory of 100 plugin
//!   files never loaded before.
//!
//! The plugins are copies of the C `wildsort` module compiled under 100
//! module names. A loaded plugin is never unloaded, so every iteration loads
//! fresh copies (new files, new inodes) prepared outside the timed part, and
//! the iteration counts are kept small: each load maps the file for good.
//!
//! `cargo bench -p wildhost-benches --bench load`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use wildhost::{Registry, SearchPath};

const PLUGINS_IN_DIRECTORY: usize = 100;

/// Compiles `plugins/wildsort/wildsort.c` as module `name` into `dir`.
fn compile(dir: &Path, name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = dir.join(format!("lib{name}.so"));
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let status = Command::new(cc)
        .args(["-shared", "-fPIC", "-O2", "-fvisibility=hidden", "-I"])
        .arg(root.join("abi/include"))
        .arg(format!("-DWILDSORT_MODULE={name}"))
        .arg(root.join("plugins/wildsort/wildsort.c"))
        .arg("-o")
        .arg(&out)
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "compiling {name} failed");
    out
}

/// A new directory under `base` holding fresh copies of `files`.
fn fresh_copies(base: &Path, files: &[PathBuf]) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = base.join(format!("copy-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
    fs::create_dir(&dir).expect("create a copy directory");
    for file in files {
        fs::copy(file, dir.join(file.file_name().expect("name"))).expect("copy a plugin");
    }
    dir
}

fn load(c: &mut Criterion) {
    let work = tempfile::tempdir().expect("tempdir");
    let templates = work.path().join("templates");
    fs::create_dir(&templates).expect("templates");
    let plugins: Vec<PathBuf> = (0..PLUGINS_IN_DIRECTORY)
        .map(|i| compile(&templates, &format!("wildsort_b{i}")))
        .collect();

    let mut group = c.benchmark_group("load");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(50));

    group.measurement_time(Duration::from_secs(2));
    group.bench_function("preflight", |b| {
        b.iter(|| wildhost::loading::preflight::preflight(&plugins[0]).expect("preflight passes"));
    });

    group.measurement_time(Duration::from_millis(300));
    group.bench_function("one-plugin", |b| {
        b.iter_custom(|iters| {
            let dirs: Vec<PathBuf> = (0..iters)
                .map(|_| fresh_copies(work.path(), &plugins[..1]))
                .collect();
            let start = Instant::now();
            for dir in &dirs {
                let (module, _) =
                    wildhost::load_file(&dir.join("libwildsort_b0.so")).expect("the plugin loads");
                std::hint::black_box(module);
            }
            start.elapsed()
        });
    });

    group.measurement_time(Duration::from_millis(100));
    group.bench_function("discover-100", |b| {
        b.iter_custom(|iters| {
            let dirs: Vec<PathBuf> = (0..iters)
                .map(|_| fresh_copies(work.path(), &plugins))
                .collect();
            let start = Instant::now();
            for dir in &dirs {
                let registry = Registry::discover(&SearchPath::only([dir.clone()]));
                assert_eq!(registry.backends().len(), PLUGINS_IN_DIRECTORY);
            }
            start.elapsed()
        });
    });
    group.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
