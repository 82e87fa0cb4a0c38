//! `pairs::sort_pairs` against std's stable sort of the zipped pairs, bit for
//! bit (keys and payloads), for every key type, both payload types, many
//! distributions and lengths around each cut-over.

#![allow(clippy::unwrap_used)]

use wildsort_radix::pairs::{self, PairKey, Payload};

mod common;

use common::{Bits, Rng};

/// A key type the pairs sort takes, as the tests make and compare it.
trait TestKey: Bits + PairKey {}

impl<T: Bits + PairKey> TestKey for T {}

trait TestPayload: Payload + Eq + std::fmt::Debug {
    /// A distinct payload per index.
    fn of(i: usize) -> Self;
}

impl TestPayload for u32 {
    fn of(i: usize) -> Self {
        i as u32
    }
}

impl TestPayload for u64 {
    fn of(i: usize) -> Self {
        // Odd multiplier: distinct for distinct indices, high bits set.
        (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
}

const DISTRIBUTIONS: &[&str] = &[
    "uniform",
    "few",
    "few_small",
    "few_rare",
    "all_equal",
    "sorted",
    "reversed",
    "sorted_ties",
    "reversed_ties",
    "reversed_tail",
    "specials",
    "narrow",
    "zipf",
    "bucket_heavy",
    "sawtooth",
    "signed_log",
];

fn generate<T: TestKey>(dist: &str, n: usize, rng: &mut Rng) -> Vec<T> {
    let uniform = |rng: &mut Rng| T::from_bits(rng.next());
    let few = |rng: &mut Rng| {
        let set: Vec<T> = (0..16).map(|_| uniform(rng)).collect();
        (0..n)
            .map(|_| set[rng.below(16) as usize])
            .collect::<Vec<T>>()
    };
    let sorted = |mut v: Vec<T>, reversed: bool| {
        v.sort_by(T::order);
        if reversed {
            v.reverse();
        }
        v
    };
    match dist {
        "uniform" => (0..n).map(|_| uniform(rng)).collect(),
        "few" => few(rng),
        "few_small" => (0..n).map(|_| T::from_int(rng.below(16) as i64)).collect(),
        // Few values, and rare others that a sample misses: the counting
        // pass meets too many distinct values and gives up.
        "few_rare" => {
            let mut v = few(rng);
            for x in v.iter_mut() {
                if rng.below(50) == 0 {
                    *x = uniform(rng);
                }
            }
            v
        }
        "all_equal" => vec![uniform(rng); n],
        "sorted" => sorted((0..n).map(|_| uniform(rng)).collect(), false),
        "reversed" => sorted((0..n).map(|_| uniform(rng)).collect(), true),
        "sorted_ties" => sorted(few(rng), false),
        "reversed_ties" => sorted(few(rng), true),
        "reversed_tail" => {
            let mut v = sorted((0..n).map(|_| uniform(rng)).collect(), true);
            if let Some(last) = v.last_mut() {
                *last = uniform(rng);
            }
            v
        }
        "specials" => {
            let specials = T::specials();
            (0..n)
                .map(|_| {
                    if rng.below(4) == 0 {
                        uniform(rng)
                    } else {
                        specials[rng.below(specials.len() as u64) as usize]
                    }
                })
                .collect()
        }
        "narrow" => {
            let base = rng.below(1 << 20) as i64 - (1 << 19);
            (0..n)
                .map(|_| T::from_int(base + rng.below(1000) as i64))
                .collect()
        }
        "zipf" => (0..n)
            .map(|_| {
                let x = rng.next() >> rng.below(64);
                let sign = if rng.below(8) == 0 { -1 } else { 1 };
                T::from_int((x >> 2) as i64 * sign)
            })
            .collect(),
        "signed_log" => (0..n).map(|_| T::from_int(rng.signed_log())).collect(),
        "bucket_heavy" => (0..n)
            .map(|_| {
                // Spread over the top bits; within each top digit half the
                // keys equal.
                let top = rng.below(512) << 55;
                let low = if rng.below(2) == 0 {
                    0
                } else {
                    rng.next() >> 9
                };
                T::from_bits(top | low)
            })
            .collect(),
        "sawtooth" => (0..n).map(|i| T::from_int((i % 97) as i64)).collect(),
        _ => unreachable!("{dist}"),
    }
}

type Sort<T, P> = fn(&mut [T], &mut [P]);

fn check<T: TestKey, P: TestPayload>(dist: &str, n: usize, seed: u64, sort: Sort<T, P>) {
    let mut rng = Rng(seed ^ (n as u64).wrapping_mul(0x1234_5678_9abc_def1));
    let keys: Vec<T> = generate(dist, n, &mut rng);
    let payload: Vec<P> = (0..n).map(P::of).collect();
    let mut expected: Vec<(T, P)> = keys.iter().copied().zip(payload.iter().copied()).collect();
    expected.sort_by(|a, b| T::order(&a.0, &b.0));
    let (mut got_keys, mut got_payload) = (keys.clone(), payload);
    sort(&mut got_keys, &mut got_payload);
    let want: Vec<(u64, P)> = expected.iter().map(|&(k, p)| (k.bits(), p)).collect();
    let got: Vec<(u64, P)> = got_keys.iter().map(|k| k.bits()).zip(got_payload).collect();
    if want != got {
        let at = want.iter().zip(&got).position(|(a, b)| a != b);
        panic!(
            "{} with {} payload, {dist} n={n} seed={seed}: first difference at {at:?}{}",
            std::any::type_name::<T>(),
            std::any::type_name::<P>(),
            if n <= 40 {
                format!("\nkeys {keys:?}\nwant {want:x?}\ngot {got:x?}")
            } else {
                String::new()
            }
        );
    }
}

fn lengths() -> Vec<usize> {
    let mut v = vec![0, 1, 2, 3, 4, 7, 16, 100, 1000, 4096, 100_000];
    for cut in pairs::CUTOVERS {
        v.extend([cut - 1, cut, cut + 1]);
    }
    v.sort_unstable();
    v.dedup();
    v
}

fn check_all<T: TestKey>() {
    for n in lengths() {
        for dist in DISTRIBUTIONS {
            // Two seeds where a run is cheap (unoptimised, the reference
            // sort dominates).
            for seed in 0..if n < 10_000 { 2 } else { 1 } {
                check::<T, u32>(dist, n, seed, pairs::sort_pairs);
                check::<T, u64>(dist, n, seed, pairs::sort_pairs);
            }
        }
    }
}

/// A million pairs take the out-of-cache path (a 9-bit top digit, then
/// cache-sized buckets).
#[test]
fn a_million_pairs_match_std_stable_sort() {
    for dist in ["uniform", "few", "sorted_ties", "zipf"] {
        check::<u64, u32>(dist, 1_000_000, 5, pairs::sort_pairs);
    }
    check::<f64, u64>("specials", 1_000_000, 5, pairs::sort_pairs);
    check::<i32, u32>("narrow", 1_000_000, 5, pairs::sort_pairs);
}

#[test]
fn u32_keys_match_std_stable_sort() {
    check_all::<u32>();
}
#[test]
fn u64_keys_match_std_stable_sort() {
    check_all::<u64>();
}
#[test]
fn i32_keys_match_std_stable_sort() {
    check_all::<i32>();
}
#[test]
fn i64_keys_match_std_stable_sort() {
    check_all::<i64>();
}
#[test]
fn f32_keys_match_std_stable_sort() {
    check_all::<f32>();
}
#[test]
fn f64_keys_match_std_stable_sort() {
    check_all::<f64>();
}

/// Without scratch buffers (as when they cannot be allocated) the in-place
/// merge sort gives the same result.
#[test]
fn in_place_fallback_matches_std_stable_sort() {
    for n in [0, 1, 2, 33, 100, 1000, 5000] {
        for dist in DISTRIBUTIONS {
            check::<u64, u32>(dist, n, 1, pairs::sort_pairs_in_place);
            check::<f64, u64>(dist, n, 1, pairs::sort_pairs_in_place);
            check::<i32, u32>(dist, n, 1, pairs::sort_pairs_in_place);
        }
    }
}

/// Keys that tie keep their payloads (here, input indices) in increasing
/// order, whatever path the input takes.
#[test]
fn ties_keep_input_order() {
    for n in [10, 31, 32, 33, 500, 70_000, 300_000] {
        for dist in [
            "few",
            "few_small",
            "all_equal",
            "sorted_ties",
            "reversed_ties",
        ] {
            let mut rng = Rng(n as u64);
            let mut keys: Vec<i64> = generate(dist, n, &mut rng);
            let mut rows: Vec<u32> = (0..n as u32).collect();
            pairs::sort_pairs(&mut keys, &mut rows);
            for i in 1..n {
                assert!(
                    keys[i - 1] <= keys[i],
                    "{dist} n={n}: keys out of order at {i}"
                );
                if keys[i - 1] == keys[i] {
                    assert!(
                        rows[i - 1] < rows[i],
                        "{dist} n={n}: tie out of input order at {i}"
                    );
                }
            }
        }
    }
}

/// A reversed input whose equal keys sit together is reversed, and its
/// ties put back in input order.
#[test]
fn reversed_input_with_ties_stays_stable() {
    let mut keys = vec![9u32, 9, 9, 5, 5, 1, 0, 0];
    let mut rows: Vec<u64> = (0..8).collect();
    pairs::sort_pairs(&mut keys, &mut rows);
    assert_eq!(keys, [0, 0, 1, 5, 5, 9, 9, 9]);
    assert_eq!(rows, [6, 7, 5, 3, 4, 0, 1, 2]);
    let mut keys: Vec<u32> = (0..100).rev().map(|i| i / 3).collect();
    let mut rows: Vec<u32> = (0..100).collect();
    pairs::sort_pairs(&mut keys, &mut rows);
    // Key `q` is at the indices `j` with `(99 - j) / 3 == q`, in order.
    let want: Vec<u32> = (0..=33)
        .flat_map(|q| (0..100).filter(move |j| (99 - j) / 3 == q))
        .collect();
    assert_eq!(rows, want);
}

/// NaNs of both signs, signed zeros and infinities sort in totalOrder, and
/// equal NaNs keep their payloads in input order.
#[test]
fn float_specials_sort_in_total_order() {
    let nan = f64::NAN;
    let mut keys = vec![
        nan,
        -0.0,
        f64::INFINITY,
        -nan,
        0.0,
        f64::NEG_INFINITY,
        nan,
        -0.0,
    ];
    let mut rows: Vec<u32> = (0..8).collect();
    pairs::sort_pairs(&mut keys, &mut rows);
    assert_eq!(rows, [3, 5, 1, 7, 4, 2, 0, 6]);
    assert_eq!(keys[0].to_bits(), (-nan).to_bits());
}

#[test]
#[should_panic(expected = "same length")]
fn different_lengths_panic() {
    pairs::sort_pairs(&mut [1u32, 2], &mut [0u32]);
}

/// Up to 3M pairs, every distribution; slow unoptimised, so run with
/// `cargo test -p wildsort-radix -- --ignored` (.ci/run does).
#[test]
#[ignore = "up to 3M pairs per case, minutes with a debug test harness; .ci/run runs it: cargo test -p wildsort-radix -- --ignored"]
fn large_inputs_match_std_stable_sort() {
    for n in [(1 << 16) + 1, 1 << 20, 3_000_000] {
        for dist in DISTRIBUTIONS {
            check::<u64, u32>(dist, n, 7, pairs::sort_pairs);
            check::<i32, u64>(dist, n, 7, pairs::sort_pairs);
            check::<f64, u32>(dist, n, 7, pairs::sort_pairs);
            check::<f32, u32>(dist, n, 7, pairs::sort_pairs);
            check::<i64, u64>(dist, n, 7, pairs::sort_pairs);
            check::<u32, u32>(dist, n, 7, pairs::sort_pairs);
        }
    }
}
