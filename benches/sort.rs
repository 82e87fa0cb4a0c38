//! Sorting speed, always beside its baselines in the same run.
//!
//! - `headline`: 10M uniform u64 through the radix plugin, the radix routine
//!   called directly, std `sort_unstable`, `rdst` (single-threaded tuner),
//!   `voracious_radix_sort` (single thread), and a `memcpy` of the same
//!   buffer: the floor of any sort that moves the data.
//! - `matrix/<type>-<dist>`: the radix plugin and std `sort_unstable` for
//!   every key type and input shape at 1e3..1e7 keys: every `Dist` that
//!   applies to the type, `normal`, `unit` and `lognormal` (the shapes of
//!   measured and simulated data) included.
//! - `cutover/<type>`: small sizes, where radix hands off to a comparison
//!   sort: std, the plugin's routine, and the radix passes alone.
//!
//! `cargo bench -p wildhost-benches --bench sort [-- FILTER]`, then
//! `cargo run -p wildhost-benches --bin ratios` for the ratio tables.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use wildhost::Backend;
use wildhost_benches::{Dist, WorkloadKey, generate, registry};

const SEED: u64 = 0x5EED_2026;
const SIZES: [usize; 5] = [1_000, 10_000, 100_000, 1_000_000, 10_000_000];

fn batch(len: usize) -> BatchSize {
    if len >= 100_000 {
        BatchSize::LargeInput
    } else {
        BatchSize::SmallInput
    }
}

fn radix_plugin() -> Backend {
    registry()
        .backend("radix")
        .expect("the radix plugin is built")
        .clone()
}

fn headline(c: &mut Criterion) {
    use rdst::RadixSort as _;
    use voracious_radix_sort::RadixSort as _;

    let radix = radix_plugin();
    let len = 10_000_000;
    let data: Vec<u64> = generate(Dist::Uniform, len, SEED);
    let mut group = c.benchmark_group("headline");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(len as u64));
    let id = |name: &str| BenchmarkId::new(name, "u64-uniform-10M");

    let mut out = vec![0u64; len];
    group.bench_function(id("memcpy"), |b| {
        b.iter(|| out.copy_from_slice(black_box(&data)));
    });
    group.bench_function(id("std"), |b| {
        b.iter_batched_ref(
            || data.clone(),
            |v| v.sort_unstable(),
            BatchSize::LargeInput,
        );
    });
    group.bench_function(id("rdst"), |b| {
        b.iter_batched_ref(
            || data.clone(),
            |v| {
                v.radix_sort_builder()
                    .with_single_threaded_tuner()
                    .with_parallel(false)
                    .sort()
            },
            BatchSize::LargeInput,
        );
    });
    group.bench_function(id("voracious"), |b| {
        b.iter_batched_ref(
            || data.clone(),
            |v| v.voracious_sort(),
            BatchSize::LargeInput,
        );
    });
    group.bench_function(id("radix-direct"), |b| {
        b.iter_batched_ref(
            || data.clone(),
            |v| wildsort_radix::sort::sort_u64(v),
            BatchSize::LargeInput,
        );
    });
    group.bench_function(id("radix"), |b| {
        b.iter_batched_ref(
            || data.clone(),
            |v| radix.sort(v.as_mut_slice()).expect("sorted"),
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

fn matrix_for<T: WorkloadKey>(c: &mut Criterion, type_name: &str, radix: &Backend) {
    for dist in Dist::ALL {
        if !dist.applies_to(T::TYPE) {
            continue;
        }
        let mut group = c.benchmark_group(format!("matrix/{type_name}-{}", dist.name()));
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(300));
        for len in SIZES {
            let data: Vec<T> = generate(dist, len, SEED);
            group
                .throughput(Throughput::Elements(len as u64))
                .measurement_time(Duration::from_millis(if len >= 1_000_000 {
                    3000
                } else {
                    700
                }));
            group.bench_function(BenchmarkId::new("std", len), |b| {
                b.iter_batched_ref(|| data.clone(), |v| T::reference_sort(v), batch(len));
            });
            group.bench_function(BenchmarkId::new("radix", len), |b| {
                b.iter_batched_ref(
                    || data.clone(),
                    |v| radix.sort(v.as_mut_slice()).expect("sorted"),
                    batch(len),
                );
            });
        }
        group.finish();
    }
}

fn matrix(c: &mut Criterion) {
    let radix = radix_plugin();
    matrix_for::<u32>(c, "u32", &radix);
    matrix_for::<u64>(c, "u64", &radix);
    matrix_for::<i32>(c, "i32", &radix);
    matrix_for::<i64>(c, "i64", &radix);
    matrix_for::<f32>(c, "f32", &radix);
    matrix_for::<f64>(c, "f64", &radix);
}

fn cutover_for<T: WorkloadKey + wildsort_radix::sort::RadixKey>(
    c: &mut Criterion,
    type_name: &str,
) {
    let mut group = c.benchmark_group(format!("cutover/{type_name}"));
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(600));
    for len in [16usize, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192] {
        let data: Vec<T> = generate(Dist::Uniform, len, SEED);
        group.throughput(Throughput::Elements(len as u64));
        group.bench_function(BenchmarkId::new("std", len), |b| {
            b.iter_batched_ref(
                || data.clone(),
                |v| T::reference_sort(v),
                BatchSize::SmallInput,
            );
        });
        group.bench_function(BenchmarkId::new("radix-passes", len), |b| {
            b.iter_batched_ref(
                || data.clone(),
                |v| wildsort_radix::sort::radix_sort_without_cutover(v),
                BatchSize::SmallInput,
            );
        });
        group.bench_function(BenchmarkId::new("radix-direct", len), |b| {
            b.iter_batched_ref(
                || data.clone(),
                |v| wildsort_radix::sort::radix_sort(v),
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

fn cutover(c: &mut Criterion) {
    cutover_for::<u32>(c, "u32");
    cutover_for::<u64>(c, "u64");
    cutover_for::<f64>(c, "f64");
}

criterion_group!(benches, headline, matrix, cutover);
criterion_main!(benches);
