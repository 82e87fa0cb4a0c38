//! The sort into another buffer against copying and sorting in place, bit
//! for bit: every key type, every distribution of the serial tests, lengths
//! around each cut-over (the serial ones, the cache limit where the first
//! level starts reading the input where it is, the parallel threshold), on
//! 1, 2 and 3 threads, with the output full of garbage on entry.

#![allow(clippy::unwrap_used)]

use wildsort_radix::{from, par, sort};

mod common;

use common::{Bits, DISTRIBUTIONS, Rng, generate};

/// A key type that [`from::sort_from`] takes, as the tests make it.
trait TestKey: Bits + par::ParallelKey {}

impl<T: Bits + par::ParallelKey> TestKey for T {}

/// The thread counts every case runs with.
const THREADS: [usize; 3] = [1, 2, 3];

/// Where the out-of-cache first level starts, the one that reads the input
/// where it is.
const CACHE_KEYS: usize = sort::CUTOVERS[3];

/// The lengths every case runs at, each with the threads it runs on: the
/// small lengths, each cut-over of the serial sort for `T`, either side of
/// the cache limit, on every thread count (all of them serial below the
/// parallel threshold); either side of that threshold on more than one
/// thread (the serial sort at this size is the one at the cache limit).
fn lengths<T: TestKey>() -> Vec<(usize, &'static [usize])> {
    let small = [
        0,
        1,
        2,
        3,
        100,
        sort::SMALL_CUTOFF,
        <T as sort::RadixKey>::CUTOFF,
    ];
    let cache = [CACHE_KEYS - 1, CACHE_KEYS, CACHE_KEYS + 1];
    let mut cases: Vec<(usize, &[usize])> = small
        .iter()
        .chain(&cache)
        .map(|&n| (n, &THREADS[..]))
        .collect();
    cases.push((par::PARALLEL_MIN - 1, &[2]));
    cases.push((par::PARALLEL_MIN + 1, &[2, 3]));
    cases
}

/// An entry that sorts a source into another buffer on a number of threads.
type SortFrom<T> = fn(&[T], &mut [T], usize);

/// `sort_from` and `radix_sort_from` of `dist` on each of `threads`
/// against copy and `sort_parallel` on as many threads; `src` must come
/// back unchanged.
fn check<T: TestKey>(dist: &str, n: usize, threads: &[usize]) {
    let mut rng = Rng(0xf20f ^ (n as u64).wrapping_mul(0x1234_5678_9abc_def1));
    let src: Vec<T> = generate(dist, n, &mut rng);
    let before = src.clone();
    // Any bits at all, NaNs among them for floats: nothing of the output
    // may be read before it is written.
    let garbage: Vec<T> = (0..n).map(|_| T::from_bits(rng.next())).collect();
    let name = std::any::type_name::<T>();
    for &t in threads {
        let mut want = src.clone();
        par::sort_parallel(&mut want, t);
        // The public entry (the vector sort where the CPU has one), then
        // the radix passes alone, on every CPU.
        let entries: [(&str, SortFrom<T>); 2] = [
            ("sort_from", from::sort_from),
            ("radix_sort_from", from::radix_sort_from),
        ];
        for (entry, sort) in entries {
            let mut dst = garbage.clone();
            sort(&src, &mut dst, t);
            if let Some(at) = first_difference(&want, &dst) {
                panic!("{entry}: {name} {dist} n={n} threads={t}: first difference at {at}");
            }
        }
    }
    if let Some(at) = first_difference(&before, &src) {
        panic!("{name} {dist} n={n}: the source changed at {at}");
    }
}

/// The first index where `a` and `b` differ in their bits.
fn first_difference<T: Bits>(a: &[T], b: &[T]) -> Option<usize> {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).position(|(x, y)| x.bits() != y.bits())
}

/// Every distribution at every length of [`lengths`].
fn every_case<T: TestKey>() {
    for (n, threads) in lengths::<T>() {
        for dist in DISTRIBUTIONS {
            check::<T>(dist, n, threads);
        }
    }
}

#[test]
fn u32_sort_from_matches_copy_and_sort() {
    every_case::<u32>();
}
#[test]
fn u64_sort_from_matches_copy_and_sort() {
    every_case::<u64>();
}
#[test]
fn i32_sort_from_matches_copy_and_sort() {
    every_case::<i32>();
}
#[test]
fn i64_sort_from_matches_copy_and_sort() {
    every_case::<i64>();
}
#[test]
fn f32_sort_from_matches_copy_and_sort() {
    every_case::<f32>();
}
#[test]
fn f64_sort_from_matches_copy_and_sort() {
    every_case::<f64>();
}

/// More threads than the input has chunks, or none: the same result.
#[test]
fn thread_counts_past_the_keys_sort_all_the_same() {
    for n in [0, 1, CACHE_KEYS + 1, par::PARALLEL_MIN + 1] {
        check::<u64>("uniform", n, &[0, 8, par::MAX_THREADS + 1]);
        check::<f32>("specials", n, &[0, 8, par::MAX_THREADS + 1]);
    }
}

#[test]
#[should_panic(expected = "same length")]
fn buffers_of_different_lengths_panic() {
    from::sort_from(&[1u32, 2], &mut [0u32], 2);
}

/// A million keys per case: slow unoptimised, so run with
/// `cargo test -p wildsort-radix -- --ignored` (.ci/run does). Past every
/// cut-over; the in-place tests take the code below the first level,
/// which both sorts share, to 3M keys.
#[test]
#[ignore = "2^20 keys per case, a minute with a debug test harness; .ci/run runs it: cargo test -p wildsort-radix -- --ignored"]
fn large_inputs_match_copy_and_sort() {
    let n = 1 << 20;
    for dist in DISTRIBUTIONS {
        check::<u32>(dist, n, &THREADS);
        check::<u64>(dist, n, &THREADS);
        check::<i32>(dist, n, &THREADS);
        check::<i64>(dist, n, &THREADS);
        check::<f32>(dist, n, &THREADS);
        check::<f64>(dist, n, &THREADS);
    }
}
