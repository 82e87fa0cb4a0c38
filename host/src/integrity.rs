//! Checking a backend's result without keeping a copy of the input: the
//! output must be sorted in the contract's order and hold the same multiset
//! of keys, which an order-independent fingerprint of the input shows.
//!
//! The fingerprint sums two independent 64-bit mixes of every key's bits,
//! so it does not depend on the keys' order; a changed, dropped or
//! duplicated key changes both sums except with probability about 2^-128
//! for keys not chosen to collide.

use crate::workload::WorkloadKey;
use std::fmt;

/// An order-independent fingerprint of a multiset of keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    len: u64,
    sum_a: u64,
    sum_b: u64,
}

/// A 64-bit finaliser (the one of SplitMix64): every input bit affects
/// every output bit.
#[inline(always)]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The fingerprint of `keys`, by their bits (so -0.0 and +0.0 differ, and
/// NaN payloads count).
pub fn fingerprint<T: WorkloadKey>(keys: &[T]) -> Fingerprint {
    let (mut sum_a, mut sum_b) = (0u64, 0u64);
    for key in keys {
        let bits = key.bits();
        sum_a = sum_a.wrapping_add(mix(bits ^ 0x243F_6A88_85A3_08D3));
        sum_b = sum_b.wrapping_add(mix(bits.wrapping_add(0x1319_8A2E_0370_7344)));
    }
    Fingerprint {
        len: keys.len() as u64,
        sum_a,
        sum_b,
    }
}

/// Why a result is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wrong {
    /// `keys[index] > keys[index + 1]` in the contract's order.
    NotSorted { index: usize },
    /// Sorted, but not the keys that went in: one was changed, dropped or
    /// duplicated.
    NotThePermutation,
}

impl fmt::Display for Wrong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wrong::NotSorted { index } => write!(
                f,
                "the result is not sorted: keys {} and {} are out of order",
                index,
                index + 1
            ),
            Wrong::NotThePermutation => f.write_str(
                "the result does not hold the same keys as the input: a key was changed, \
                 dropped or duplicated",
            ),
        }
    }
}

/// Checks that `result` is sorted and has the fingerprint of the input.
pub fn verify<T: WorkloadKey>(result: &[T], input: Fingerprint) -> Result<(), Wrong> {
    if let Some(index) = first_unsorted(result) {
        return Err(Wrong::NotSorted { index });
    }
    if fingerprint(result) != input {
        return Err(Wrong::NotThePermutation);
    }
    Ok(())
}

/// The first `i` with `keys[i] > keys[i + 1]`.
fn first_unsorted<T: WorkloadKey>(keys: &[T]) -> Option<usize> {
    // Count in blocks without branching per key, then find the place.
    const BLOCK: usize = 4096;
    for (b, block) in keys.chunks(BLOCK).enumerate() {
        let start = b * BLOCK;
        let end = (start + block.len() + 1).min(keys.len());
        let window = &keys[start..end];
        let bad = window
            .windows(2)
            .fold(false, |bad, w| bad | T::order(&w[0], &w[1]).is_gt());
        if bad {
            return window
                .windows(2)
                .position(|w| T::order(&w[0], &w[1]).is_gt())
                .map(|i| start + i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Dist, generate};

    #[test]
    fn the_fingerprint_ignores_order_and_sees_every_change() {
        let keys: Vec<f64> = generate(Dist::Specials, 10_000, 9);
        let mut shuffled = keys.clone();
        shuffled.reverse();
        shuffled.swap(3, 7000);
        assert_eq!(fingerprint(&keys), fingerprint(&shuffled));

        let mut changed = keys.clone();
        changed[5] = f64::from_bits(changed[5].to_bits() ^ 1);
        assert_ne!(fingerprint(&keys), fingerprint(&changed));

        let mut duplicated = keys.clone();
        duplicated[5] = duplicated[6];
        assert_ne!(fingerprint(&keys), fingerprint(&duplicated));

        assert_ne!(fingerprint(&keys), fingerprint(&keys[1..]));
        assert_ne!(fingerprint(&[0.0f64]), fingerprint(&[-0.0f64]));
    }

    #[test]
    fn verify_accepts_the_reference_and_names_each_fault() {
        let input: Vec<i32> = generate(Dist::Zipf, 20_000, 4);
        let print = fingerprint(&input);
        let mut sorted = input.clone();
        sorted.sort_unstable();
        assert_eq!(verify(&sorted, print), Ok(()));

        let mut unsorted = sorted.clone();
        unsorted.swap(
            9000,
            9001 + sorted[9001..]
                .iter()
                .position(|&k| k != sorted[9000])
                .unwrap_or(0),
        );
        assert!(matches!(
            verify(&unsorted, print),
            Err(Wrong::NotSorted { index: 9000 })
        ));

        let mut lost = sorted.clone();
        let i = lost
            .windows(2)
            .position(|w| w[0] != w[1])
            .expect("two values");
        lost[i + 1] = lost[i]; // still sorted, one key duplicated, one gone
        assert_eq!(verify(&lost, print), Err(Wrong::NotThePermutation));

        assert_eq!(verify::<u64>(&[], fingerprint::<u64>(&[])), Ok(()));
    }

    #[test]
    fn an_unsorted_pair_across_a_block_boundary_is_found() {
        let mut keys: Vec<u64> = (0..10_000).collect();
        keys.swap(4095, 4096);
        assert_eq!(first_unsorted(&keys), Some(4095));
        let mut keys: Vec<u64> = (0..10_000).collect();
        keys.swap(9998, 9999);
        assert_eq!(first_unsorted(&keys), Some(9998));
    }
}
