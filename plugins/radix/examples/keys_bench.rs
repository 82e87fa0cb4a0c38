//! Times the key-only radix sort against std's `sort_unstable` (floats:
//! `sort_unstable_by(total_cmp)`) on the columns of issue 18's table, in one
//! run, the two sorts taking turns in every round. Prints the median
//! nanoseconds per key of each and their ratio (std ÷ radix).
//!
//!     cargo run --release -p wildsort-radix --example keys_bench [n] [rounds] [column]
//!
//! `n` defaults to 10000000, `rounds` to 7; with a `column` (`f64-normal`,
//! …), only that column runs, and `rounds` = 0 sorts it `PROFILE_SORTS`
//! times with the radix sort alone, untimed (for a profiler).
//!
//!     cargo run --release -p wildsort-radix --example keys_bench from [n] [rounds]
//!
//! times instead the sort into another buffer (`from::sort_from`) against
//! copying the keys into it and sorting them there (`par::sort_parallel`),
//! on 1 and 2 threads, the two taking turns; each sorts into a new buffer
//! every round, as a caller that returns a new array does. Prints the
//! median and the best milliseconds of each and the ratio of the medians
//! (copy ÷ from). `rounds` defaults to 11.

use std::hint::black_box;
use std::time::{Duration, Instant};
use wildsort_radix::{from, par, sort};

#[path = "../tests/common/mod.rs"]
mod common;
use common::Rng;

/// The columns: name and a generator of `n` keys.
enum Keys {
    U32(Vec<u32>),
    U64(Vec<u64>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

const COLUMNS: [&str; 11] = [
    "u32-uniform",
    "u64-uniform",
    "i64-uniform",
    "i64-1e6",
    "f64-normal",
    "f64-unit",
    "f64-lognormal",
    "f32-normal",
    "i64-normal",
    "f64-whole",
    "f64-from-f32",
];

fn keys(column: &str, n: usize) -> Keys {
    let mut rng = Rng(n as u64 ^ 0x5eed);
    let r = &mut rng;
    match column {
        "u32-uniform" => Keys::U32((0..n).map(|_| r.next() as u32).collect()),
        "u64-uniform" => Keys::U64((0..n).map(|_| r.next()).collect()),
        "i64-uniform" => Keys::I64((0..n).map(|_| r.next() as i64).collect()),
        "i64-1e6" => Keys::I64((0..n).map(|_| (r.next() % 1_000_000) as i64).collect()),
        "f64-normal" => Keys::F64((0..n).map(|_| r.normal()).collect()),
        "f64-unit" => Keys::F64((0..n).map(|_| r.unit()).collect()),
        "f64-lognormal" => Keys::F64((0..n).map(|_| r.normal().exp()).collect()),
        "f32-normal" => Keys::F32((0..n).map(|_| r.normal() as f32).collect()),
        // Both signs, crowded around zero: measurements in integer units.
        "i64-normal" => Keys::I64((0..n).map(|_| (r.normal() * 1e6).round() as i64).collect()),
        // Whole numbers (`+ 0.0` makes `-0.0` a zero), and values widened
        // from `f32`: sorted as 32-bit keys.
        "f64-whole" => Keys::F64((0..n).map(|_| (r.normal() * 1e6).round() + 0.0).collect()),
        "f64-from-f32" => Keys::F64((0..n).map(|_| f64::from(r.normal() as f32)).collect()),
        _ => panic!("unknown column {column}; one of {COLUMNS:?}"),
    }
}

/// Sorts of one column when profiling.
const PROFILE_SORTS: usize = 50;

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

/// Times `radix` and `std` on copies of `input`, `rounds` times each.
fn race<T: Copy>(
    input: &[T],
    rounds: usize,
    radix: impl Fn(&mut [T]),
    std: impl Fn(&mut [T]),
) -> (Duration, Duration) {
    if rounds == 0 {
        let mut k = input.to_vec();
        for _ in 0..PROFILE_SORTS {
            k.copy_from_slice(input);
            radix(&mut k);
            black_box(&k);
        }
        return (Duration::ZERO, Duration::ZERO);
    }
    let (mut r, mut s) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let mut k = input.to_vec();
        r.push(time(|| radix(&mut k)));
        black_box(&k);
        let mut k = input.to_vec();
        s.push(time(|| std(&mut k)));
        black_box(&k);
    }
    (median(r), median(s))
}

/// The columns of the `from` race.
const FROM_COLUMNS: [&str; 4] = ["f32-normal", "f64-normal", "u64-uniform", "i64-uniform"];

/// The thread counts of the `from` race.
const FROM_THREADS: [usize; 2] = [1, 2];

/// The median and the best of `v`.
fn median_and_best(v: Vec<Duration>) -> (Duration, Duration) {
    let best = v.iter().copied().min().unwrap_or_default();
    (median(v), best)
}

/// Times copying `input` into a new buffer and sorting it there against
/// [`from::sort_from`] into a new buffer, on `threads` threads, `rounds`
/// times each: the (median, best) of each.
fn race_from<T: par::ParallelKey>(
    input: &[T],
    rounds: usize,
    threads: usize,
) -> ((Duration, Duration), (Duration, Duration)) {
    let (mut copy, mut from) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        // Allocated untimed and left to the sorts to fault in, as a new
        // array is.
        let mut dst = vec![T::default(); input.len()];
        copy.push(time(|| {
            dst.copy_from_slice(input);
            par::sort_parallel(&mut dst, threads);
        }));
        black_box(&dst);
        drop(dst);
        let mut dst = vec![T::default(); input.len()];
        from.push(time(|| from::sort_from(input, &mut dst, threads)));
        black_box(&dst);
    }
    (median_and_best(copy), median_and_best(from))
}

/// The `from` race over [`FROM_COLUMNS`] and [`FROM_THREADS`].
fn main_from(n: usize, rounds: usize) {
    println!(
        "{:>12} {:>7} {:>11} {:>9} {:>11} {:>9} {:>10}",
        "keys", "threads", "copy ms", "best", "from ms", "best", "copy/from"
    );
    for column in FROM_COLUMNS {
        for threads in FROM_THREADS {
            let (copy, from) = match keys(column, n) {
                Keys::U32(v) => race_from(&v, rounds, threads),
                Keys::U64(v) => race_from(&v, rounds, threads),
                Keys::I64(v) => race_from(&v, rounds, threads),
                Keys::F32(v) => race_from(&v, rounds, threads),
                Keys::F64(v) => race_from(&v, rounds, threads),
            };
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            println!(
                "{column:>12} {threads:>7} {:>11.2} {:>9.2} {:>11.2} {:>9.2} {:>10.3}",
                ms(copy.0),
                ms(copy.1),
                ms(from.0),
                ms(from.1),
                copy.0.as_secs_f64() / from.0.as_secs_f64().max(1e-12)
            );
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    if args.next_if(|a| a == "from").is_some() {
        let n = args
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or(10_000_000);
        let rounds = args.next().and_then(|a| a.parse().ok()).unwrap_or(11);
        main_from(n, rounds);
        return;
    }
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    let only = args.next();
    println!(
        "{:>14} {:>10} {:>10} {:>10}",
        "keys", "radix ns", "std ns", "std/radix"
    );
    for column in COLUMNS {
        if only.as_deref().is_some_and(|o| o != column) {
            continue;
        }
        let (radix, std) = match keys(column, n) {
            Keys::U32(v) => race(&v, rounds, sort::sort_u32, <[u32]>::sort_unstable),
            Keys::U64(v) => race(&v, rounds, sort::sort_u64, <[u64]>::sort_unstable),
            Keys::I64(v) => race(&v, rounds, sort::sort_i64, <[i64]>::sort_unstable),
            Keys::F32(v) => race(&v, rounds, sort::sort_f32, |k| {
                k.sort_unstable_by(f32::total_cmp)
            }),
            Keys::F64(v) => race(&v, rounds, sort::sort_f64, |k| {
                k.sort_unstable_by(f64::total_cmp)
            }),
        };
        let ns = |d: Duration| d.as_secs_f64() * 1e9 / n as f64;
        println!(
            "{column:>14} {:>10.2} {:>10.2} {:>10.2}",
            ns(radix),
            ns(std),
            std.as_secs_f64() / radix.as_secs_f64().max(1e-12)
        );
    }
}
