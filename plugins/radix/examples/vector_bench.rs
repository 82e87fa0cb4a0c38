//! Times the sort in AVX-512 registers (`vector::sort`) against the radix
//! passes alone (`sort::radix_sort_without_cutover`, what the radix backend
//! runs where the CPU has no AVX-512F) and std's `sort_unstable` (floats:
//! `sort_unstable_by(total_cmp)`), on the columns of `benches/race-numpy.sh`,
//! the three taking turns in every round. Prints the median nanoseconds per
//! key of each and the ratios of the others' medians to the vector sort's.
//!
//!     cargo run --release -p wildsort-radix --example vector_bench [rounds] [sizes]
//!
//! `rounds` defaults to 7, `sizes` (comma-separated, `1e6` works) to
//! 1e4,1e5,1e6,1e7. `tiny` instead of `rounds` times small slices: 4M keys
//! cut into slices of 8 to 255, each sorted on its own. `avx2` before
//! `rounds` times the AVX2 sort (`avx2::sort`, what the backend runs where
//! the CPU has AVX2 but not AVX-512F: on 32-bit keys always, on 64-bit
//! keys up to `sort::AVX2_64_MAX` or `sort::AVX2_F64_MAX`) in place of
//! the AVX-512 one, on u32, i32, f32, u64, i64 and three f64 columns.
//!
//! Exits with a message where the CPU has no AVX-512F (no AVX2, for `avx2`).

use std::time::Instant;
use wildsort_radix::{avx2, sort, vector};

#[path = "../tests/common/mod.rs"]
mod common;
use common::Rng;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Seconds `sort` takes on a fresh copy of `keys`, and the sorted copy.
fn timed<T: Copy>(keys: &[T], sort: impl Fn(&mut [T])) -> (f64, Vec<T>) {
    let mut v = keys.to_vec();
    let start = Instant::now();
    sort(&mut v);
    (start.elapsed().as_secs_f64(), v)
}

/// One column: the three sorts in turn, `rounds` times, their results
/// compared key for key.
fn race<T: sort::RadixKey>(
    vector_sort: impl Fn(&mut [T]),
    name: &str,
    keys: &[T],
    rounds: usize,
    std_sort: fn(&mut [T]),
) {
    let mut times = [vec![], vec![], vec![]];
    for _ in 0..rounds {
        let (a, x) = timed(keys, &vector_sort);
        let (b, y) = timed(keys, sort::radix_sort_without_cutover);
        let (c, z) = timed(keys, std_sort);
        let same = |p: &[T], q: &[T]| {
            p.iter()
                .zip(q)
                .all(|(a, b)| sort::RadixKey::key(*a) == sort::RadixKey::key(*b))
        };
        assert!(same(&x, &y) && same(&x, &z), "{name}: the sorts disagree");
        for (list, time) in times.iter_mut().zip([a, b, c]) {
            list.push(time);
        }
    }
    let per_key = |list: &Vec<f64>| median(list.clone()) * 1e9 / keys.len() as f64;
    let [vec_ns, radix_ns, std_ns] = times.each_ref().map(per_key);
    println!(
        "| {name} | {} | {vec_ns:.2} | {radix_ns:.2} | {std_ns:.2} | {:.2} | {:.2} |",
        keys.len(),
        radix_ns / vec_ns,
        std_ns / vec_ns
    );
}

fn tiny(t: vector::Avx512) {
    let mut rng = Rng(5);
    let total = 4_000_000;
    let wide: Vec<u64> = (0..total).map(|_| rng.next()).collect();
    let narrow: Vec<u32> = wide.iter().map(|&x| x as u32).collect();
    println!("| slice | u32 vector | u32 std | u64 vector | u64 std |");
    println!("|---:|---:|---:|---:|---:|");
    for n in [8, 16, 24, 32, 48, 64, 128, 255] {
        let mut times = [vec![], vec![], vec![], vec![]];
        for _ in 0..5 {
            let each32 = |f: fn(&mut [u32])| timed(&narrow, |v| v.chunks_mut(n).for_each(f)).0;
            let each64 = |f: fn(&mut [u64])| timed(&wide, |v| v.chunks_mut(n).for_each(f)).0;
            times[0].push(
                timed(&narrow, |v| {
                    v.chunks_mut(n).for_each(|c| vector::sort(t, c))
                })
                .0,
            );
            times[1].push(each32(<[u32]>::sort_unstable));
            times[2].push(timed(&wide, |v| v.chunks_mut(n).for_each(|c| vector::sort(t, c))).0);
            times[3].push(each64(<[u64]>::sort_unstable));
        }
        let [a, b, c, d] = times.map(|list| median(list) * 1e9 / total as f64);
        println!("| {n} | {a:.2} | {b:.2} | {c:.2} | {d:.2} |");
    }
}

/// The AVX2 sort (`avx2::sort`) in place of the AVX-512 one, on 32-bit
/// and 64-bit columns.
fn avx2_columns(rounds: usize, sizes: &[usize]) {
    let Some(t) = avx2::Avx2::detect() else {
        eprintln!("vector_bench: this CPU has no AVX2, so there is no AVX2 sort to time");
        std::process::exit(1);
    };
    println!("| keys | n | AVX2 ns/key | radix passes | std | radix ÷ AVX2 | std ÷ AVX2 |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        let mut rng = Rng(1);
        let u32s: Vec<u32> = (0..n).map(|_| rng.next() as u32).collect();
        race(
            |v| avx2::sort(t, v),
            "u32 uniform",
            &u32s,
            rounds,
            <[u32]>::sort_unstable,
        );
        let i32s: Vec<i32> = u32s.iter().map(|&x| x as i32).collect();
        race(
            |v| avx2::sort(t, v),
            "i32 uniform",
            &i32s,
            rounds,
            <[i32]>::sort_unstable,
        );
        let f32s: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
        race(
            |v| avx2::sort(t, v),
            "f32 normal",
            &f32s,
            rounds,
            |v| v.sort_unstable_by(f32::total_cmp),
        );
        let u64s: Vec<u64> = (0..n).map(|_| rng.next()).collect();
        race(
            |v| avx2::sort(t, v),
            "u64 uniform",
            &u64s,
            rounds,
            <[u64]>::sort_unstable,
        );
        let i64s: Vec<i64> = u64s.iter().map(|&x| x as i64).collect();
        race(
            |v| avx2::sort(t, v),
            "i64 uniform",
            &i64s,
            rounds,
            <[i64]>::sort_unstable,
        );
        let floats = [
            (
                "f64 normal",
                (0..n).map(|_| rng.normal()).collect::<Vec<f64>>(),
            ),
            (
                "f64 [0, 1)",
                (0..n)
                    .map(|_| (rng.next() >> 11) as f64 / (1u64 << 53) as f64)
                    .collect(),
            ),
            (
                "f64 lognormal",
                (0..n).map(|_| rng.normal().exp()).collect(),
            ),
        ];
        for (name, keys) in floats {
            race(
                |v| avx2::sort(t, v),
                name,
                &keys,
                rounds,
                |v| v.sort_unstable_by(f64::total_cmp),
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let avx2_mode = args.get(1).is_some_and(|a| a == "avx2");
    let args: Vec<String> = if avx2_mode {
        args.into_iter().skip(1).collect()
    } else {
        args
    };
    let rounds: usize = args
        .get(1)
        .filter(|a| *a != "tiny")
        .map_or(7, |a| a.parse().expect("rounds: a number"));
    let sizes: Vec<usize> = args
        .get(2)
        .map_or(vec![10_000, 100_000, 1_000_000, 10_000_000], |a| {
            a.split(',')
                .map(|x| x.parse::<f64>().expect("sizes: numbers") as usize)
                .collect()
        });
    if avx2_mode {
        avx2_columns(rounds, &sizes);
        return;
    }
    let Some(t) = vector::Avx512::detect() else {
        eprintln!("vector_bench: this CPU has no AVX-512F, so there is no vector sort to time");
        std::process::exit(1);
    };
    if args.get(1).is_some_and(|a| a == "tiny") {
        tiny(t);
        return;
    }
    println!("| keys | n | vector ns/key | radix passes | std | radix ÷ vector | std ÷ vector |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for n in sizes {
        let mut rng = Rng(1);
        let u: Vec<u64> = (0..n).map(|_| rng.next()).collect();
        let u32s: Vec<u32> = u.iter().map(|&x| x as u32).collect();
        race(
            |v| vector::sort(t, v),
            "u32 uniform",
            &u32s,
            rounds,
            <[u32]>::sort_unstable,
        );
        race(
            |v| vector::sort(t, v),
            "u64 uniform",
            &u,
            rounds,
            <[u64]>::sort_unstable,
        );
        let i64s: Vec<i64> = u.iter().map(|&x| x as i64).collect();
        race(
            |v| vector::sort(t, v),
            "i64 uniform",
            &i64s,
            rounds,
            <[i64]>::sort_unstable,
        );
        let dense: Vec<i64> = u.iter().map(|&x| (x % 1_000_000) as i64).collect();
        race(
            |v| vector::sort(t, v),
            "i64 [0, 1e6)",
            &dense,
            rounds,
            <[i64]>::sort_unstable,
        );
        let f64_sort: fn(&mut [f64]) = |v| v.sort_unstable_by(f64::total_cmp);
        let normal: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        race(
            |v| vector::sort(t, v),
            "f64 normal",
            &normal,
            rounds,
            f64_sort,
        );
        let unit: Vec<f64> = (0..n).map(|_| rng.unit()).collect();
        race(
            |v| vector::sort(t, v),
            "f64 [0, 1)",
            &unit,
            rounds,
            f64_sort,
        );
        let lognormal: Vec<f64> = (0..n).map(|_| rng.normal().exp()).collect();
        race(
            |v| vector::sort(t, v),
            "f64 lognormal",
            &lognormal,
            rounds,
            f64_sort,
        );
        let f32s: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
        race(
            |v| vector::sort(t, v),
            "f32 normal",
            &f32s,
            rounds,
            |v| v.sort_unstable_by(f32::total_cmp),
        );
    }
}
