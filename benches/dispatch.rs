//! What the host adds to a sort.
//!
//! - `dispatch/<n>`: sorting n = 1, 16 and 1024 u64 keys through the loaded
//!   radix plugin (`Backend::sort`: key-type check, availability check, the
//!   C call, the SDK's argument checks and panic guard) against calling the
//!   same radix routine directly, inlined (`direct`) and behind a call that
//!   is not (`direct-call`). The difference is the dispatch cost.
//! - `integrity/<n>`: the result check `wildhost sort` runs by default
//!   (riding along the binary decoding and encoding: `checked-codec` minus
//!   `codec`) against the radix sort it checks.
//! - `text/<n>`: reading and writing n random `i64` keys as text lines, the
//!   way `wildhost sort` does by default (`parse`, `write`), against the
//!   plain std way: `str::parse` of each line and `writeln!` of each key
//!   (`std-parse`, `std-write`); and the radix sort of the same keys, which
//!   the text costs dwarf. The same for `f64` (`*-f64`, std writing `{:?}`,
//!   the form wildhost writes).
//!
//! `cargo bench -p wildhost-benches --bench dispatch`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use std::time::Duration;
use wildhost::running::integrity::{self, OutputCheck, Tally};
use wildhost::{KeyType, KeyVec, codec, with_keys};
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
        // The same routine behind a call the compiler may not inline: what
        // a caller of a Rust library function pays, and code generated the
        // way the plugin's copy is (an out-of-line function around it).
        group.bench_function(BenchmarkId::new("direct-call", len), |b| {
            b.iter_batched_ref(|| data.clone(), |v| direct_call(v), BatchSize::SmallInput);
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

#[inline(never)]
fn direct_call(keys: &mut [u64]) {
    wildsort_radix::sort::sort_u64(keys);
}

/// The result check `wildhost sort` runs by default, against the radix
/// sort it checks, on the same keys: `codec` reads and writes the binary
/// form without the check, `checked-codec` with it (fingerprint while
/// decoding, order and fingerprint while encoding), as the CLI does; the
/// difference is what the check costs. `check` is the same check as two
/// passes of its own, for comparison.
fn integrity(c: &mut Criterion) {
    // Fixed malloc thresholds: glibc's adaptive ones hand the codec's 8 MB
    // buffers back to the kernel on some iterations and not on others, and
    // the page faults that follow would drown the check (figures in
    // docs/PERFORMANCE.md, "The result check"). Buffers of 1e7 keys stay
    // above the threshold: every iteration maps and faults them, with and
    // without the check alike.
    // SAFETY: mallopt only tunes the allocator; called before the group
    // allocates.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
    let registry = registry();
    let radix = registry.backend("radix").expect("the radix plugin").clone();
    let mut group = c.benchmark_group("integrity");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500));
    for len in [1_000_000usize, 10_000_000] {
        let data: Vec<u64> = generate(Dist::Uniform, len, 7);
        let mut sorted = data.clone();
        sorted.sort_unstable();
        let mut bytes = Vec::new();
        codec::write_binary(&KeyVec::U64(data.clone()), &mut bytes, None);
        let sorted = KeyVec::U64(sorted);
        group.measurement_time(Duration::from_secs(5));
        group.bench_function(BenchmarkId::new("radix-sort", len), |b| {
            b.iter_batched_ref(
                || data.clone(),
                |v| radix.sort(v.as_mut_slice()).expect("sorted"),
                BatchSize::LargeInput,
            );
        });
        group.bench_function(BenchmarkId::new("codec", len), |b| {
            b.iter(|| {
                let keys = codec::parse_binary(&bytes, KeyType::U64, None).expect("keys");
                let mut out = Vec::new();
                codec::write_binary(&sorted, &mut out, None);
                (keys, out)
            });
        });
        group.bench_function(BenchmarkId::new("checked-codec", len), |b| {
            b.iter(|| {
                let mut tally = Tally::default();
                let keys =
                    codec::parse_binary(&bytes, KeyType::U64, Some(&mut tally)).expect("keys");
                let mut check = OutputCheck::default();
                let mut out = Vec::new();
                codec::write_binary(&sorted, &mut out, Some(&mut check));
                check.finish(tally.finish()).expect("a correct result");
                (keys, out)
            });
        });
        group.bench_function(BenchmarkId::new("check", len), |b| {
            b.iter(|| {
                let print = integrity::fingerprint(&data);
                with_keys!(&sorted, v => integrity::verify(v, print)).expect("a correct result");
            });
        });
    }
    group.finish();
}

fn text(c: &mut Criterion) {
    use std::io::Write as _;
    let registry = registry();
    let radix = registry.backend("radix").expect("the radix plugin").clone();
    let mut group = c.benchmark_group("text");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));
    let len = 1_000_000usize;
    let data: Vec<i64> = generate(Dist::Uniform, len, 7);
    text_pairs(
        &mut group,
        "",
        &data,
        KeyVec::I64(data.clone()),
        |out, key| writeln!(out, "{key}"),
    );
    group.bench_function(BenchmarkId::new("radix-sort", len), |b| {
        b.iter_batched_ref(
            || data.clone(),
            |v| radix.sort(v.as_mut_slice()).expect("sorted"),
            BatchSize::LargeInput,
        );
    });
    // The same for f64, which wildhost writes as `{:?}` does.
    let floats: Vec<f64> = generate(Dist::Uniform, len, 8);
    text_pairs(
        &mut group,
        "-f64",
        &floats,
        KeyVec::F64(floats.clone()),
        |out, key| writeln!(out, "{key:?}"),
    );
    group.finish();
}

/// `parse`, `std-parse`, `write` and `std-write` (each name followed by
/// `suffix`) of `data`, as text: wildhost's codec against `str::parse` of
/// each line and `std_write` of each key.
fn text_pairs<T: std::str::FromStr>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    suffix: &str,
    data: &[T],
    keys: KeyVec,
    std_write: impl Fn(&mut Vec<u8>, &T) -> std::io::Result<()>,
) {
    let len = data.len();
    let key_type = keys.key_type();
    let mut input = Vec::new();
    codec::write_text(&keys, &mut input, None);
    group.bench_function(BenchmarkId::new(format!("parse{suffix}"), len), |b| {
        b.iter(|| codec::parse_text(&input, key_type, None).expect("keys"));
    });
    group.bench_function(BenchmarkId::new(format!("std-parse{suffix}"), len), |b| {
        b.iter(|| {
            let text = std::str::from_utf8(&input).expect("ASCII");
            text.lines()
                .map(|line| line.parse::<T>().ok().expect("a key"))
                .collect::<Vec<T>>()
        });
    });
    group.bench_function(BenchmarkId::new(format!("write{suffix}"), len), |b| {
        b.iter(|| {
            let mut out = Vec::new();
            codec::write_text(&keys, &mut out, None);
            out
        });
    });
    group.bench_function(BenchmarkId::new(format!("std-write{suffix}"), len), |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(input.len());
            for key in data {
                std_write(&mut out, key).expect("a Vec takes it");
            }
            out
        });
    });
}

criterion_group!(benches, dispatch, integrity, text);
criterion_main!(benches);
