//! The parallel sorts against the serial ones, bit for bit: every key type,
//! every distribution of the serial tests, sizes just past the cache limit
//! (where the parallel level starts) and around the parallel threshold, on
//! 1, 2, 3 and 8 threads (more than this machine's cores, and more than a
//! small input's keys).

#![allow(clippy::unwrap_used)]

use wildsort_radix::{pairs, par, sort};

mod common;

use common::{Bits, DISTRIBUTIONS, Rng, generate};

/// A key type that every sort of the crate takes, as the tests make it.
trait TestKey: Bits + par::ParallelKey + pairs::PairKey {}

impl<T: Bits + par::ParallelKey + pairs::PairKey> TestKey for T {}

/// The thread counts every case runs with.
const THREADS: [usize; 4] = [1, 2, 3, 8];

/// [`THREADS`] without 1, for the large inputs: there `sort_parallel` on
/// one thread is the serial sort it is compared with, minutes of the CI
/// run that could not fail.
const MANY_THREADS: [usize; 3] = [2, 3, 8];

/// Just past the cache limit, where the serial sort's out-of-cache first
/// level (the one the parallel sorts share among threads) starts.
const PAST_CACHE: usize = sort::CUTOVERS[3] + 1;

fn bits<T: Bits>(v: &[T]) -> Vec<u64> {
    v.iter().map(|x| x.bits()).collect()
}

fn input<T: TestKey>(dist: &str, n: usize, seed: u64) -> Vec<T> {
    let mut rng = Rng(seed ^ (n as u64).wrapping_mul(0x1234_5678_9abc_def1));
    generate(dist, n, &mut rng)
}

/// `parallel` on each of `threads` against the serial sort.
fn check<T: TestKey>(dist: &str, n: usize, threads: &[usize], parallel: fn(&mut [T], usize)) {
    let input: Vec<T> = input(dist, n, 1);
    let mut want = input.clone();
    sort::radix_sort(&mut want);
    let want = bits(&want);
    for &t in threads {
        let mut got = input.clone();
        parallel(&mut got, t);
        let got = bits(&got);
        if want != got {
            let at = want.iter().zip(&got).position(|(a, b)| a != b);
            panic!(
                "{} {dist} n={n} threads={t}: first difference at {at:?}",
                std::any::type_name::<T>()
            );
        }
    }
}

type PairSort<T> = fn(&mut [T], &mut [u32], usize);

/// `parallel` on each of `threads` against the serial pairs sort, with
/// each key's index as its payload; and ties in input order.
fn check_pairs<T: TestKey>(dist: &str, n: usize, threads: &[usize], parallel: PairSort<T>) {
    let keys: Vec<T> = input(dist, n, 2);
    let rows: Vec<u32> = (0..n as u32).collect();
    let (mut want_keys, mut want_rows) = (keys.clone(), rows.clone());
    pairs::sort_pairs(&mut want_keys, &mut want_rows);
    let want_keys = bits(&want_keys);
    for &t in threads {
        let (mut got_keys, mut got_rows) = (keys.clone(), rows.clone());
        parallel(&mut got_keys, &mut got_rows, t);
        let got_keys = bits(&got_keys);
        let name = std::any::type_name::<T>();
        if want_keys != got_keys || want_rows != got_rows {
            let at = (0..n).find(|&i| want_keys[i] != got_keys[i] || want_rows[i] != got_rows[i]);
            panic!("{name} {dist} n={n} threads={t}: first difference at {at:?}");
        }
        for i in 1..n {
            // Each payload is its key's input index: a key moved without
            // its payload, or a tie out of input order, shows here.
            assert_eq!(got_keys[i], keys[got_rows[i] as usize].bits());
            if got_keys[i - 1] == got_keys[i] {
                assert!(
                    got_rows[i - 1] < got_rows[i],
                    "{name} {dist} n={n} threads={t}: tie out of input order at {i}"
                );
            }
        }
    }
}

/// Every distribution through the parallel level, past the cache limit:
/// the vector sort's where the CPU has one, and the radix passes always.
fn parallel_level<T: TestKey>() {
    for n in [PAST_CACHE, 100_000] {
        for dist in DISTRIBUTIONS {
            check::<T>(dist, n, &THREADS, par::sort_parallel_without_cutover);
            check::<T>(dist, n, &THREADS, par::radix_passes_parallel);
        }
    }
}

#[test]
fn u32_parallel_level_matches_serial_sort() {
    parallel_level::<u32>();
}
#[test]
fn u64_parallel_level_matches_serial_sort() {
    parallel_level::<u64>();
}
#[test]
fn i32_parallel_level_matches_serial_sort() {
    parallel_level::<i32>();
}
#[test]
fn i64_parallel_level_matches_serial_sort() {
    parallel_level::<i64>();
}
#[test]
fn f32_parallel_level_matches_serial_sort() {
    parallel_level::<f32>();
}
#[test]
fn f64_parallel_level_matches_serial_sort() {
    parallel_level::<f64>();
}

/// Every distribution of pairs through the parallel level, past the cache
/// limit: the same keys and payloads as the serial pairs sort, stably.
#[test]
fn pairs_parallel_level_matches_serial_pairs_sort() {
    for dist in DISTRIBUTIONS {
        use par::sort_pairs_parallel_without_cutover as sort;
        check_pairs::<u64>(dist, PAST_CACHE, &THREADS, sort);
        check_pairs::<i64>(dist, PAST_CACHE, &THREADS, sort);
        check_pairs::<f64>(dist, PAST_CACHE, &THREADS, sort);
        check_pairs::<i32>(dist, PAST_CACHE, &THREADS, sort);
        check_pairs::<f32>(dist, PAST_CACHE, &THREADS, sort);
        check_pairs::<u32>(dist, PAST_CACHE, &THREADS, sort);
    }
}

/// Either side of the threshold below which the public entry points run
/// the serial sorts.
#[test]
fn parallel_threshold_sizes_match_serial_sort() {
    for n in [par::PARALLEL_MIN - 1, par::PARALLEL_MIN] {
        for dist in ["uniform", "normal", "signed_log", "sorted_tail"] {
            check::<u64>(dist, n, &[2, 3], par::sort_parallel);
            check::<f64>(dist, n, &[2, 3], par::sort_parallel);
            check_pairs::<i64>(dist, n, &[2, 3], par::sort_pairs_parallel);
        }
    }
}

/// More threads than keys, or none: the serial sort, the same result.
#[test]
fn thread_counts_past_the_keys_sort_all_the_same() {
    for n in [0, 1, 2, 100, PAST_CACHE] {
        for threads in [0, 1, n + 1, 1000] {
            check::<u32>("uniform", n, &[threads], par::sort_parallel);
            check::<f32>("specials", n, &[threads], par::sort_parallel);
            check_pairs::<u64>("distinct16", n, &[threads], par::sort_pairs_parallel);
        }
    }
    // The parallel level itself, asked for more threads than it starts.
    let many = par::MAX_THREADS + 1;
    check::<i64>(
        "uniform",
        PAST_CACHE,
        &[many],
        par::sort_parallel_without_cutover,
    );
    check_pairs::<u32>(
        "uniform",
        PAST_CACHE,
        &[many],
        par::sort_pairs_parallel_without_cutover,
    );
}

#[test]
#[should_panic(expected = "same length")]
fn pairs_of_different_lengths_panic() {
    par::sort_pairs_parallel(&mut [1u32, 2], &mut [0u32], 2);
}

/// Past the parallel threshold, up to 3M keys; slow unoptimised, so run
/// with `cargo test -p wildsort-radix -- --ignored` (.ci/run does).
#[test]
#[ignore = "up to 3M keys per case, minutes with a debug test harness; .ci/run runs it: cargo test -p wildsort-radix -- --ignored"]
fn large_inputs_match_serial_sort() {
    for n in [par::PARALLEL_MIN + 1, 1 << 20, 3_000_000] {
        for dist in DISTRIBUTIONS {
            check::<u32>(dist, n, &MANY_THREADS, par::sort_parallel);
            check::<u64>(dist, n, &MANY_THREADS, par::sort_parallel);
            check::<i32>(dist, n, &MANY_THREADS, par::sort_parallel);
            check::<i64>(dist, n, &MANY_THREADS, par::sort_parallel);
            check::<f32>(dist, n, &MANY_THREADS, par::sort_parallel);
            check::<f64>(dist, n, &MANY_THREADS, par::sort_parallel);
        }
    }
}

/// Pairs past the parallel threshold, up to 3M; slow unoptimised, so run
/// with `cargo test -p wildsort-radix -- --ignored` (.ci/run does).
#[test]
#[ignore = "up to 3M pairs per case, minutes with a debug test harness; .ci/run runs it: cargo test -p wildsort-radix -- --ignored"]
fn large_pairs_match_serial_pairs_sort() {
    for n in [par::PARALLEL_MIN + 1, 3_000_000] {
        for dist in DISTRIBUTIONS {
            check_pairs::<u64>(dist, n, &MANY_THREADS, par::sort_pairs_parallel);
            check_pairs::<i64>(dist, n, &MANY_THREADS, par::sort_pairs_parallel);
            check_pairs::<f64>(dist, n, &MANY_THREADS, par::sort_pairs_parallel);
            check_pairs::<u32>(dist, n, &MANY_THREADS, par::sort_pairs_parallel);
        }
    }
}
