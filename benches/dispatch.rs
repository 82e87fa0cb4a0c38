//! What the host adds to a sort.
//!
//! - `dispatch/<n>`: sorting n = 1, 16 and 1024 u64 keys through the loaded
//!   radix plugin (`Backend::sort`: key-type check, availability check, the
//!   C call, the SDK's argument checks and panic guard) against calling the
//!   same radix routine directly. The difference is the dispatch cost.
//! - `isolate/<n>`: `sort --isolate`'s path (copy into shared memory, fork a
//!   worker, sort there, copy back) against sorting in-process through the
//!   same plugin, at 1e4, 1e6 and 1e7 keys.
//! - `integrity/<n>`: the result check `wildhost sort` runs by default
//!   against the radix sort it checks.
//!
//! `cargo bench -p wildhost-benches --bench dispatch`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use std::time::Duration;
use wildhost::integrity;
use wildhost::isolate::SharedKeys;
use wildhost_benches::{Dist, generate, registry};

fn dispatch(c: &mut Criterion) {
    let registry = registry();
    let radix = registry.backend("radix").expect("the radix plugin").clone();
    let mut group = c.benchmark_group("dispatch");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for len in [1usize, 16, 1024] {
        let data: Vec<u64> = generate(Dist::Uniform, len, 7);
        group.bench_function(BenchmarkId::new("direct", len), |b| {
            b.iter_batched_ref(
                || data.clone(),
                |v| wildsort_radix::sort::sort_u64(v),
                BatchSize::SmallInput,
            );
        });
        group.bench_function(BenchmarkId::new("plugin", len), |b| {
            b.iter_batched_ref(
                || data.clone(),
                |v| radix.sort(v.as_mut_slice()).expect("sorted"),
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

fn isolate(c: &mut Criterion) {
    let registry = registry();
    let radix = registry.backend("radix").expect("the radix plugin").clone();
    let mut group = c.benchmark_group("isolate");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500));
    for len in [10_000usize, 1_000_000, 10_000_000] {
        let data: Vec<u64> = generate(Dist::Uniform, len, 7);
        group.measurement_time(Duration::from_secs(if len >= 1_000_000 { 6 } else { 2 }));
        group.bench_function(BenchmarkId::new("in-process", len), |b| {
            b.iter_batched_ref(
                || data.clone(),
                |v| radix.sort(v.as_mut_slice()).expect("sorted"),
                BatchSize::LargeInput,
            );
        });
        // What `wildhost sort --isolate` does with the keys it parsed.
        group.bench_function(BenchmarkId::new("isolated", len), |b| {
            b.iter_batched_ref(
                || data.clone(),
                |v| {
                    let mut shared = SharedKeys::copy_of(v).expect("shared memory");
                    radix
                        .sort_isolated(&mut shared, Duration::from_secs(600))
                        .expect("sorted");
                    v.copy_from_slice(shared.as_slice());
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

/// The result check `wildhost sort` runs by default (fingerprint of the
/// input, then sortedness and fingerprint of the output) against the radix
/// sort it checks, on the same keys.
fn integrity(c: &mut Criterion) {
    let registry = registry();
    let radix = registry.backend("radix").expect("the radix plugin").clone();
    let mut group = c.benchmark_group("integrity");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500));
    for len in [1_000_000usize, 10_000_000] {
        let data: Vec<u64> = generate(Dist::Uniform, len, 7);
        let mut sorted = data.clone();
        sorted.sort_unstable();
        group.measurement_time(Duration::from_secs(5));
        group.bench_function(BenchmarkId::new("radix-sort", len), |b| {
            b.iter_batched_ref(
                || data.clone(),
                |v| radix.sort(v.as_mut_slice()).expect("sorted"),
                BatchSize::LargeInput,
            );
        });
        group.bench_function(BenchmarkId::new("check", len), |b| {
            b.iter(|| {
                let print = integrity::fingerprint(&data);
                integrity::verify(&sorted, print).expect("a correct result");
            });
        });
    }
    group.finish();
}

criterion_group!(benches, dispatch, isolate, integrity);
criterion_main!(benches);
