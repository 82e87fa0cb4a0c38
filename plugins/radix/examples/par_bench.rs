//! Times the parallel radix sorts against the serial ones on the same keys,
//! in one run, the two taking turns in every round: u64 and u32 uniform,
//! i64 normal (×1e6, both signs around zero), f64 normal, and u64 keys with
//! a u32 row-index payload. Prints the median milliseconds of each and the
//! speed-up (serial ÷ parallel). First it prints the speed-up of the
//! same threads on pure arithmetic: the most that the cores free during the
//! run can give (on a shared machine, well below the thread count).
//!
//!     cargo run --release -p wildsort-radix --example par_bench [n] [threads] [rounds] [column]
//!
//! `n` defaults to 10000000, `threads` to 2, `rounds` to 7; with a
//! `column` (`u64-uniform`, …), only that one runs, and `rounds` = 0 sorts
//! it `PROFILE_SORTS` times with the parallel sort alone, untimed (for a
//! profiler).

use std::hint::black_box;
use std::time::{Duration, Instant};
use wildsort_radix::{pairs, par, sort};

#[path = "../tests/common/mod.rs"]
mod common;
use common::Rng;

const COLUMNS: [&str; 5] = [
    "u64-uniform",
    "i64-normal",
    "f64-normal",
    "u32-uniform",
    "pairs-u64-u32",
];

/// Sorts of one column when profiling.
const PROFILE_SORTS: usize = 30;

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

/// Times `serial` and `parallel` on copies of `input` (copied before each
/// timer starts), `rounds` times each, taking turns.
fn race<I: Clone>(
    input: &I,
    rounds: usize,
    serial: impl Fn(&mut I),
    parallel: impl Fn(&mut I),
) -> (Duration, Duration) {
    if rounds == 0 {
        for _ in 0..PROFILE_SORTS {
            let mut k = input.clone();
            parallel(&mut k);
            black_box(&k);
        }
        return (Duration::ZERO, Duration::ZERO);
    }
    let (mut s, mut p) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let mut k = input.clone();
        s.push(time(|| serial(&mut k)));
        black_box(&k);
        let mut k = input.clone();
        p.push(time(|| parallel(&mut k)));
        black_box(&k);
    }
    (median(s), median(p))
}

/// One column of `n` keys: the serial and the parallel median.
fn column(column: &str, n: usize, threads: usize, rounds: usize) -> (Duration, Duration) {
    let mut rng = Rng(n as u64 ^ 0x5eed);
    let r = &mut rng;
    match column {
        "u64-uniform" => {
            let v: Vec<u64> = (0..n).map(|_| r.next()).collect();
            race(
                &v,
                rounds,
                |k| sort::sort_u64(k),
                |k| par::sort_u64_parallel(k, threads),
            )
        }
        "u32-uniform" => {
            let v: Vec<u32> = (0..n).map(|_| r.next() as u32).collect();
            race(
                &v,
                rounds,
                |k| sort::sort_u32(k),
                |k| par::sort_u32_parallel(k, threads),
            )
        }
        // Both signs, crowded around zero: measurements in integer units.
        "i64-normal" => {
            let v: Vec<i64> = (0..n).map(|_| (r.normal() * 1e6).round() as i64).collect();
            race(
                &v,
                rounds,
                |k| sort::sort_i64(k),
                |k| par::sort_i64_parallel(k, threads),
            )
        }
        "f64-normal" => {
            let v: Vec<f64> = (0..n).map(|_| r.normal()).collect();
            race(
                &v,
                rounds,
                |k| sort::sort_f64(k),
                |k| par::sort_f64_parallel(k, threads),
            )
        }
        "pairs-u64-u32" => {
            let keys: Vec<u64> = (0..n).map(|_| r.next()).collect();
            let rows: Vec<u32> = (0..n as u32).collect();
            race(
                &(keys, rows),
                rounds,
                |(k, p)| pairs::sort_pairs(k, p),
                |(k, p)| par::sort_pairs_parallel(k, p, threads),
            )
        }
        _ => panic!("unknown column {column}; one of {COLUMNS:?}"),
    }
}

/// A fixed amount of arithmetic, no memory traffic.
fn spin() -> u64 {
    let mut x = 1u64;
    for i in 0..100_000_000u64 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i);
    }
    x
}

/// The speed-up of `threads` threads each running [`spin`] over one thread
/// running it once, median of `rounds` alternating rounds: the ceiling
/// that the free cores set.
fn ceiling(threads: usize, rounds: usize) -> f64 {
    let (mut one, mut all) = (Vec::new(), Vec::new());
    for _ in 0..rounds.max(3) {
        one.push(time(|| {
            black_box(spin());
        }));
        all.push(time(|| {
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(|| black_box(spin()));
                }
            });
        }));
    }
    threads as f64 * median(one).as_secs_f64() / median(all).as_secs_f64()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    let only = args.next();
    if rounds > 0 {
        println!(
            "cpu ceiling with {threads} threads: {:.2}",
            ceiling(threads, rounds)
        );
    }
    println!(
        "{:>14} {:>10} {:>10} {:>12} {:>8}",
        "keys", "n", "serial ms", "parallel ms", "speed-up"
    );
    for name in COLUMNS {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let (serial, parallel) = column(name, n, threads, rounds);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{name:>14} {n:>10} {:>10.1} {:>12.1} {:>8.2}",
            ms(serial),
            ms(parallel),
            serial.as_secs_f64() / parallel.as_secs_f64().max(1e-12)
        );
    }
}
