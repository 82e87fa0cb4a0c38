//! Times `pairs::sort_pairs` (u64 keys, u32 row-index payload) against
//! three baselines on the same keys, in one run, the four sorts taking
//! turns in every round: std's stable `sort_by_key` of the zipped
//! (key, index) pairs, std's `sort_unstable` of the bare keys, and the
//! crate's key-only radix sort of the bare keys. Prints medians and their
//! ratios (each sort's input is copied before its timer starts).
//!
//!     cargo run --release -p wildsort-radix --example pairs_bench [rounds]

use std::hint::black_box;
use std::time::{Duration, Instant};
use wildsort_radix::{pairs, sort};

#[path = "../tests/common/mod.rs"]
mod common;
use common::Rng;

fn keys(dist: &str, n: usize, rng: &mut Rng) -> Vec<u64> {
    match dist {
        "uniform" => (0..n).map(|_| rng.next()).collect(),
        // A CSV column of 16 distinct values.
        "few16" => {
            let set: Vec<u64> = (0..16).map(|_| rng.next()).collect();
            (0..n).map(|_| set[(rng.next() % 16) as usize]).collect()
        }
        _ => unreachable!("{dist}"),
    }
}

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(7);
    println!(
        "{:>8} {:>8} {:>10} {:>10} {:>10} {:>10} | {:>9} {:>9} {:>9}",
        "n",
        "keys",
        "pairs ms",
        "stable ms",
        "unstab ms",
        "radix ms",
        "stable/p",
        "unstab/p",
        "p/radix"
    );
    for n in [1_000_000, 10_000_000] {
        for dist in ["uniform", "few16"] {
            let input = keys(dist, n, &mut Rng(n as u64));
            let rows: Vec<u32> = (0..n as u32).collect();
            let zipped: Vec<(u64, u32)> = input.iter().copied().zip(rows.iter().copied()).collect();
            let mut t = [const { Vec::new() }; 4];
            for _ in 0..rounds {
                let (mut k, mut p) = (input.clone(), rows.clone());
                t[0].push(time(|| pairs::sort_pairs(&mut k, &mut p)));
                black_box((&k, &p));
                let mut z = zipped.clone();
                t[1].push(time(|| z.sort_by_key(|&(k, _)| k)));
                black_box(&z);
                let mut k = input.clone();
                t[2].push(time(|| k.sort_unstable()));
                black_box(&k);
                let mut k = input.clone();
                t[3].push(time(|| sort::sort_u64(&mut k)));
                black_box(&k);
            }
            let [pairs, stable, unstable, radix] = t.map(median);
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
            println!(
                "{n:>8} {dist:>8} {:>10.2} {:>10.2} {:>10.2} {:>10.2} | {:>9.2} {:>9.2} {:>9.2}",
                ms(pairs),
                ms(stable),
                ms(unstable),
                ms(radix),
                ratio(stable, pairs),
                ratio(unstable, pairs),
                ratio(pairs, radix),
            );
        }
    }
}
