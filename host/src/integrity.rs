//! Checking a backend's result without keeping a copy of the input: the
//! output must be sorted in the contract's order and hold the same multiset
//! of keys, which an order-independent fingerprint of the input shows.
//!
//! The fingerprint is the number of keys and the wrapping sum of a
//! nonlinear function of each key's bits, so it does not depend on the
//! keys' order; a changed, dropped or duplicated key changes it except with
//! probability about 2^-60 for keys not chosen to collide. The input costs
//! one pass, the output one more (order and fingerprint together),
//! vectorised with AVX2 where the CPU has it.

use crate::workload::WorkloadKey;
use std::fmt;

/// An order-independent fingerprint of a multiset of keys: their number and
/// the wrapping sum of a nonlinear function of each key's bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    len: u64,
    sum: u64,
}

/// A key's contribution: three products of its 32-bit halves with keyed
/// offsets (NH-style, as in UMAC), so that the sum is quadratic in every
/// half and a changed, dropped or duplicated key changes it except by
/// accident of about 2^-60. 32×32→64-bit products vectorise on every x86-64.
#[inline(always)]
fn contribution(bits: u64) -> u64 {
    let (lo, hi) = (bits as u32, (bits >> 32) as u32);
    let product = |a: u32, b: u32| u64::from(a) * u64::from(b);
    product(lo ^ 0x243F_6A88, hi ^ 0x85A3_08D3)
        .wrapping_add(product(lo ^ 0x1319_8A2E, lo ^ 0x0370_7344))
        .wrapping_add(product(hi ^ 0xA409_3822, hi ^ 0x299F_31D0))
}

#[inline(always)]
fn sum_of<T: WorkloadKey>(keys: &[T]) -> u64 {
    keys.iter()
        .fold(0u64, |sum, k| sum.wrapping_add(contribution(k.bits())))
}

/// The fingerprint and whether every neighbour pair is in order, in one
/// pass over the keys.
#[inline(always)]
fn sum_and_order<T: WorkloadKey>(keys: &[T]) -> (u64, bool) {
    let out_of_order = keys
        .iter()
        .zip(keys.iter().skip(1))
        .fold(false, |bad, (a, b)| bad | T::order(a, b).is_gt());
    (sum_of(keys), !out_of_order)
}

/// Runs `$body` compiled for AVX2 when the CPU has it.
macro_rules! with_best_simd {
    ($name:ident, $body:ident, $keys:expr, $ret:ty) => {
        'simd: {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn $name<T: WorkloadKey>(keys: &[T]) -> $ret {
                    $body(keys)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2 (just checked).
                    break 'simd unsafe { $name($keys) };
                }
            }
            $body($keys)
        }
    };
}

/// The fingerprint of `keys`, by their bits (so -0.0 and +0.0 differ, and
/// NaN payloads count).
pub fn fingerprint<T: WorkloadKey>(keys: &[T]) -> Fingerprint {
    let sum = with_best_simd!(sum_avx2, sum_of, keys, u64);
    Fingerprint {
        len: keys.len() as u64,
        sum,
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

/// Checks that `result` is sorted and has the fingerprint of the input, in
/// one pass over it.
pub fn verify<T: WorkloadKey>(result: &[T], input: Fingerprint) -> Result<(), Wrong> {
    let (sum, sorted) = with_best_simd!(sum_and_order_avx2, sum_and_order, result, (u64, bool));
    if !sorted {
        let index = first_unsorted(result).unwrap_or(0);
        return Err(Wrong::NotSorted { index });
    }
    if (Fingerprint {
        len: result.len() as u64,
        sum,
    }) != input
    {
        return Err(Wrong::NotThePermutation);
    }
    Ok(())
}

/// The first `i` with `keys[i] > keys[i + 1]`.
#[cold]
fn first_unsorted<T: WorkloadKey>(keys: &[T]) -> Option<usize> {
    keys.windows(2).position(|w| T::order(&w[0], &w[1]).is_gt())
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
