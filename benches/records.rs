//! The record job of `wildhost sort` on text, as the library runs it:
//! parse each line's key, sort the keys with their lines' positions through
//! a plugin, write the lines out; always beside its baselines in the same
//! run, throughput in bytes of input.
//!
//! - `records/csv-key2`: `id,amount,name,score` with a header, 1e5 and 1e6
//!   rows, sorted by the i64 `amount` (field 2, -5000..=5000: about a
//!   hundred rows share each value at 1e6), the whole job (parse, sort,
//!   write into a `Vec`) through the `radix` and `std` plugins.
//! - `records/lines-1e6`: 1e6 whole-line i64 integers, `canonical` as
//!   `wildhost sort` writes them (the keys alone are sorted, the records'
//!   shortcut), and the same numbers with `leading-zeros` (`-042`), which
//!   are not, so the lines are sorted as key and position pairs.
//!
//! The baselines: `std-sort_by_key`, the same parse, then std's stable
//! `sort_by_key` on (key, line index) pairs and the gather of the lines
//! (its line starts come from a second scan of the input with `memchr`,
//! as a caller of the parser would need); and `memcpy` of the input, the
//! floor of any job that moves the lines.
//!
//! `cargo bench -p wildhost-benches --bench records` (about a minute).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::io::Write;
use std::num::NonZeroUsize;
use std::time::Duration;
use wildhost::codec::records::{Fields, Layout, Records};
use wildhost::{Backend, KeyType, KeyVec};
use wildhost_benches::{Dist, Rng, generate, registry};

/// Under the allocator the `wildhost` command installs, as the command
/// runs the job.
#[global_allocator]
static ALLOCATOR: wildhost::mem::HugeAllocator = wildhost::mem::HugeAllocator;

const SEED: u64 = 0x5EED_2026;

/// `id,amount,name,score` and `rows` rows: a running id, an amount in
/// -5000..=5000, a word of 4 to 12 letters, a float with two decimals.
fn csv(rows: usize) -> Vec<u8> {
    let mut rng = Rng::new(SEED ^ rows as u64);
    let mut out = Vec::with_capacity(rows * 40);
    out.extend_from_slice(b"id,amount,name,score\n");
    let mut word = [0u8; 12];
    for id in 1_000_000_001..1_000_000_001 + rows as u64 {
        let amount = rng.below(10_001) as i64 - 5000;
        let len = 4 + rng.below(9) as usize;
        for letter in &mut word[..len] {
            *letter = b'a' + rng.below(26) as u8;
        }
        let cents = rng.below(100_000_000);
        write!(out, "{id},{amount},").expect("written");
        out.extend_from_slice(&word[..len]);
        writeln!(out, ",{}.{:02}", cents / 100, cents % 100).expect("written");
    }
    out
}

/// `count` uniform i64 keys, one a line: canonical, or each with a zero
/// after its sign (`042`, `-042`).
fn lines(count: usize, leading_zeros: bool) -> Vec<u8> {
    let keys: Vec<i64> = generate(Dist::Uniform, count, SEED);
    let mut out = Vec::with_capacity(count * 21);
    for key in keys {
        match (leading_zeros, key < 0) {
            (false, _) => writeln!(out, "{key}"),
            (true, false) => writeln!(out, "0{key}"),
            (true, true) => writeln!(out, "-0{}", key.unsigned_abs()),
        }
        .expect("written");
    }
    out
}

/// The whole job through `backend`, as `wildhost sort` runs it (without
/// the result's check).
fn job(input: &[u8], layout: &Layout, backend: &Backend, out: &mut Vec<u8>) {
    out.clear();
    let mut records = Records::parse(input, layout).expect("parsed");
    records.sort(backend).expect("sorted");
    records.write(false, out).expect("written");
}

/// The same parse, then std's stable sort of (key, line index) pairs and
/// the gather of the lines. Every line of `input` ends with a newline.
fn sort_by_key_job(input: &[u8], layout: &Layout, out: &mut Vec<u8>) {
    out.clear();
    let records = Records::parse(input, layout).expect("parsed");
    let KeyVec::I64(keys) = records.keys() else {
        panic!("i64 keys");
    };
    let body = if layout.header {
        memchr::memchr(b'\n', input).map_or(input.len(), |end| end + 1)
    } else {
        0
    };
    // Where each line starts, and the end of the last.
    let mut starts: Vec<u32> = Vec::with_capacity(keys.len() + 1);
    starts.push(body as u32);
    starts.extend(memchr::memchr_iter(b'\n', &input[body..]).map(|at| (body + at + 1) as u32));
    let mut pairs: Vec<(i64, u32)> = keys.iter().copied().zip(0u32..).collect();
    pairs.sort_by_key(|&(key, _)| key);
    out.extend_from_slice(&input[..body]);
    for &(_, line) in &pairs {
        let line = line as usize;
        out.extend_from_slice(&input[starts[line] as usize..starts[line + 1] as usize]);
    }
}

/// Benches the job on `input` through each plugin and the baselines, after
/// checking that all give the same bytes.
fn bench_input(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    parameter: &str,
    input: &[u8],
    layout: &Layout,
    plugins: &[&Backend],
) {
    assert_eq!(input.last(), Some(&b'\n'), "every line ends with a newline");
    let mut out = Vec::with_capacity(input.len() + 1);
    let mut expected = Vec::new();
    sort_by_key_job(input, layout, &mut expected);
    for plugin in plugins {
        job(input, layout, plugin, &mut out);
        assert!(out == expected, "{} sorts as std does", plugin.name());
    }
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function(BenchmarkId::new("memcpy", parameter), |b| {
        b.iter(|| {
            out.clear();
            out.extend_from_slice(black_box(input));
        });
    });
    group.bench_function(BenchmarkId::new("std-sort_by_key", parameter), |b| {
        b.iter(|| sort_by_key_job(black_box(input), layout, &mut out));
    });
    for plugin in plugins {
        group.bench_function(BenchmarkId::new(plugin.name(), parameter), |b| {
            b.iter(|| job(black_box(input), layout, plugin, &mut out));
        });
    }
}

fn records(c: &mut Criterion) {
    let registry = registry();
    let radix = registry.backend("radix").expect("the radix plugin");
    let std = registry.backend("std").expect("the std plugin");
    let plugins = [radix, std];

    let by_amount = Layout {
        key_type: KeyType::I64,
        field: NonZeroUsize::new(2),
        fields: Fields::Delimiter(b','),
        header: true,
    };
    let mut group = c.benchmark_group("records/csv-key2");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500));
    for rows in [100_000, 1_000_000] {
        let input = csv(rows);
        group.measurement_time(Duration::from_millis(if rows >= 1_000_000 {
            2000
        } else {
            1000
        }));
        bench_input(&mut group, &rows.to_string(), &input, &by_amount, &plugins);
    }
    group.finish();

    let whole_lines = Layout::lines(KeyType::I64);
    let mut group = c.benchmark_group("records/lines-1e6");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(2000));
    for (name, leading_zeros) in [("canonical", false), ("leading-zeros", true)] {
        let input = lines(1_000_000, leading_zeros);
        let parsed = Records::parse(&input, &whole_lines).expect("parsed");
        assert_eq!(parsed.is_canonical(), !leading_zeros, "{name}");
        bench_input(&mut group, name, &input, &whole_lines, &plugins);
    }
    group.finish();
}

criterion_group!(benches, records);
criterion_main!(benches);
