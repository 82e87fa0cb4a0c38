//! Generated inputs, for measuring and checking
//! backends: `wildhost bench`, the criterion benchmarks and the tests use the
//! same distributions, and the same seed always gives the same keys.

use crate::keys::{KeyVec, SortKey};
use std::fmt;
use std::str::FromStr;
use wildhost_abi::KeyType;

/// The shapes of input a sort is measured on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dist {
    /// Uniformly random keys over the type's range (floats: finite values of
    /// both signs, |x| < 1e9).
    Uniform,
    /// Uniform keys, already in order.
    Sorted,
    /// Uniform keys in descending order.
    Reversed,
    /// 16 distinct values, uniformly mixed.
    FewUnique,
    /// One value repeated.
    AllEqual,
    /// Keys below 1000.
    Narrow,
    /// Zipf-like skew: value v with probability about proportional to 1/v.
    Zipf,
    /// Floats only: finite values mixed with NaN of both signs, ±inf, ±0.0
    /// and subnormals.
    Specials,
}

impl Dist {
    /// Every distribution, in the order tables list them.
    pub const ALL: [Dist; 8] = [
        Dist::Uniform,
        Dist::Sorted,
        Dist::Reversed,
        Dist::FewUnique,
        Dist::AllEqual,
        Dist::Narrow,
        Dist::Zipf,
        Dist::Specials,
    ];

    /// The name used on the command line and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Dist::Uniform => "uniform",
            Dist::Sorted => "sorted",
            Dist::Reversed => "reversed",
            Dist::FewUnique => "few-unique",
            Dist::AllEqual => "all-equal",
            Dist::Narrow => "narrow",
            Dist::Zipf => "zipf",
            Dist::Specials => "specials",
        }
    }

    /// Whether the distribution makes sense for `key_type` (`specials` is
    /// for floats only).
    pub const fn applies_to(self, key_type: KeyType) -> bool {
        !matches!(self, Dist::Specials) || key_type.is_float()
    }
}

impl fmt::Display for Dist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dist {
    type Err = String;

    fn from_str(s: &str) -> Result<Dist, String> {
        Dist::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Dist::ALL.iter().map(|d| d.name()).collect();
                format!("unknown distribution `{s}` (one of: {})", names.join(", "))
            })
    }
}

/// SplitMix64: small, fast, and the same numbers for the same seed on every
/// machine.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub const fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A key type with generators for every distribution.
pub trait WorkloadKey: SortKey {
    /// A key uniform over the type's range (floats: finite, |x| < 1e9).
    fn uniform(rng: &mut Rng) -> Self;
    /// The key for the small natural number `v`.
    fn small(v: u64) -> Self;
    /// An edge-case value, for [`Dist::Specials`] (integers: uniform).
    fn special(rng: &mut Rng) -> Self;
}

macro_rules! int_key {
    ($($t:ty),*) => {$(
        impl WorkloadKey for $t {
            fn uniform(rng: &mut Rng) -> Self {
                rng.next_u64() as $t
            }
            fn small(v: u64) -> Self {
                v as $t
            }
            fn special(rng: &mut Rng) -> Self {
                match rng.below(8) {
                    0 => <$t>::MIN,
                    1 => <$t>::MAX,
                    2 => 0,
                    3 => u64::MAX as $t, // -1 for the signed types
                    _ => rng.next_u64() as $t,
                }
            }
        }
    )*};
}
int_key!(u32, u64, i32, i64);

macro_rules! float_key {
    ($($t:ident: $bits:ty),*) => {$(
        impl WorkloadKey for $t {
            fn uniform(rng: &mut Rng) -> Self {
                ((rng.unit() - 0.5) * 2e9) as $t
            }
            fn small(v: u64) -> Self {
                v as $t
            }
            fn special(rng: &mut Rng) -> Self {
                let nan = $t::NAN;
                match rng.below(10) {
                    0 => nan,
                    1 => -nan,
                    2 => $t::INFINITY,
                    3 => $t::NEG_INFINITY,
                    4 => 0.0,
                    5 => -0.0,
                    6 => $t::from_bits(1 + rng.below(1000) as $bits),
                    _ => Self::uniform(rng),
                }
            }
        }
    )*};
}
float_key!(f32: u32, f64: u64);

/// `len` keys of `dist`; the same `seed` gives the same keys.
pub fn generate<T: WorkloadKey>(dist: Dist, len: usize, seed: u64) -> Vec<T> {
    let mut rng = Rng::new(seed ^ (len as u64).rotate_left(32));
    match dist {
        Dist::Uniform => (0..len).map(|_| T::uniform(&mut rng)).collect(),
        Dist::Sorted | Dist::Reversed => {
            let mut keys = generate::<T>(Dist::Uniform, len, seed);
            T::reference_sort(&mut keys);
            if dist == Dist::Reversed {
                keys.reverse();
            }
            keys
        }
        Dist::FewUnique => {
            let values: Vec<T> = (0..16).map(|_| T::uniform(&mut rng)).collect();
            (0..len).map(|_| values[rng.below(16) as usize]).collect()
        }
        Dist::AllEqual => vec![T::uniform(&mut rng); len],
        Dist::Narrow => (0..len).map(|_| T::small(rng.below(1000))).collect(),
        Dist::Zipf => {
            // log-uniform over 1..2^30: density proportional to 1/v
            let top = (1u64 << 30) as f64;
            (0..len)
                .map(|_| T::small(top.powf(rng.unit()) as u64))
                .collect()
        }
        Dist::Specials => (0..len).map(|_| T::special(&mut rng)).collect(),
    }
}

/// [`generate`] for a key type chosen at run time.
pub fn generate_keys(key_type: KeyType, dist: Dist, len: usize, seed: u64) -> KeyVec {
    match key_type {
        KeyType::U32 => KeyVec::U32(generate(dist, len, seed)),
        KeyType::U64 => KeyVec::U64(generate(dist, len, seed)),
        KeyType::I32 => KeyVec::I32(generate(dist, len, seed)),
        KeyType::I64 => KeyVec::I64(generate(dist, len, seed)),
        KeyType::F32 => KeyVec::F32(generate(dist, len, seed)),
        KeyType::F64 => KeyVec::F64(generate(dist, len, seed)),
    }
}

/// What is wrong with a sort's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// The result has another length than the input.
    Length { expected: usize, got: usize },
    /// `keys[index] > keys[index + 1]` in the contract's order.
    NotSorted { index: usize },
    /// The result is sorted but not a permutation of the input: the first
    /// place where it differs from the reference.
    NotAPermutation { index: usize },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Length { expected, got } => {
                write!(f, "returned {got} keys instead of {expected}")
            }
            Mismatch::NotSorted { index } => {
                write!(
                    f,
                    "not sorted: keys {index} and {} are out of order",
                    index + 1
                )
            }
            Mismatch::NotAPermutation { index } => write!(
                f,
                "not a permutation of the input: key {index} differs from the reference sort"
            ),
        }
    }
}

/// Checks `got` against `reference` (the input sorted by
/// [`SortKey::reference_sort`]): sorted in the contract's order and the
/// same keys, bit for bit.
pub fn check_sorted<T: WorkloadKey>(got: &[T], reference: &[T]) -> Result<(), Mismatch> {
    if got.len() != reference.len() {
        return Err(Mismatch::Length {
            expected: reference.len(),
            got: got.len(),
        });
    }
    if let Some(index) = got.windows(2).position(|w| T::order(&w[0], &w[1]).is_gt()) {
        return Err(Mismatch::NotSorted { index });
    }
    // Sorted in a total order: equal to the reference iff a permutation.
    match got
        .iter()
        .zip(reference)
        .position(|(a, b)| a.bits() != b.bits())
    {
        Some(index) => Err(Mismatch::NotAPermutation { index }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_keys() {
        for dist in Dist::ALL {
            let a: Vec<f64> = generate(dist, 1000, 7);
            let b: Vec<f64> = generate(dist, 1000, 7);
            assert!(
                a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{dist}"
            );
        }
        assert_ne!(
            generate::<u64>(Dist::Uniform, 100, 1),
            generate::<u64>(Dist::Uniform, 100, 2)
        );
    }

    #[test]
    fn distributions_have_their_shape() {
        let sorted: Vec<i64> = generate(Dist::Sorted, 1000, 1);
        assert!(sorted.is_sorted());
        let reversed: Vec<i64> = generate(Dist::Reversed, 1000, 1);
        assert!(reversed.iter().rev().is_sorted());
        let mut few: Vec<u32> = generate(Dist::FewUnique, 10_000, 1);
        few.sort_unstable();
        few.dedup();
        assert!(few.len() <= 16);
        let equal: Vec<u64> = generate(Dist::AllEqual, 100, 1);
        assert!(equal.iter().all(|&k| k == equal[0]));
        let narrow: Vec<u64> = generate(Dist::Narrow, 1000, 1);
        assert!(narrow.iter().all(|&k| k < 1000));
        let specials: Vec<f32> = generate(Dist::Specials, 1000, 1);
        assert!(specials.iter().any(|k| k.is_nan() && k.is_sign_negative()));
        assert!(specials.iter().any(|k| k.is_subnormal()));
    }

    #[test]
    fn names_round_trip() {
        for dist in Dist::ALL {
            assert_eq!(dist.name().parse::<Dist>(), Ok(dist));
        }
        assert!(
            "gaussian"
                .parse::<Dist>()
                .expect_err("unknown")
                .contains("few-unique")
        );
    }

    #[test]
    fn check_sorted_finds_each_fault() {
        let mut input: Vec<f64> = generate(Dist::Specials, 500, 3);
        let mut reference = input.clone();
        f64::reference_sort(&mut reference);
        input.sort_by(f64::total_cmp);
        assert_eq!(check_sorted(&input, &reference), Ok(()));

        let mut unsorted = reference.clone();
        unsorted.swap(10, 400);
        assert!(matches!(
            check_sorted(&unsorted, &reference),
            Err(Mismatch::NotSorted { .. })
        ));

        let mut changed = reference.clone();
        let i = changed
            .iter()
            .rposition(|k| *k == 0.0 && k.is_sign_negative())
            .expect("-0.0");
        changed[i] = 0.0; // -0.0 became +0.0: still sorted, but a changed key
        assert_eq!(
            check_sorted(&changed, &reference),
            Err(Mismatch::NotAPermutation { index: i })
        );

        assert!(matches!(
            check_sorted(&reference[1..], &reference),
            Err(Mismatch::Length { .. })
        ));
    }
}
