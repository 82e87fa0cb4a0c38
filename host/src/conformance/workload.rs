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
    /// A bell around zero. Floats: standard normal (mean 0, standard
    /// deviation 1). Integers: a standard normal times 1e6, rounded (clamped
    /// into the type, which 1e6 leaves room for): signed types around 0,
    /// unsigned ones around the middle of their range (2^31 or 2^63 added,
    /// the signed value's bits with the top bit flipped), so that every
    /// integer type has its bell in the same bits.
    Normal,
    /// Floats: uniform in [0, 1), the shape of `random()` in most
    /// libraries: one sign, exponents from -1 down. Integers: uniform in
    /// [0, 1e6).
    Unit,
    /// A long right tail. Floats: e^x, x standard normal (lognormal with
    /// mean 0 and sigma 1 of the logarithm): all > 0, median 1, 98% of them
    /// between 0.1 and 10. Integers: that value times 1000, rounded: median
    /// 1000, 98% in 100..10000, never negative.
    LogNormal,
    /// Floats only: finite values mixed with NaN of both signs, ±inf, ±0.0
    /// and subnormals.
    Specials,
}

impl Dist {
    /// Every distribution, in the order tables list them.
    pub const ALL: [Dist; 11] = [
        Dist::Uniform,
        Dist::Sorted,
        Dist::Reversed,
        Dist::FewUnique,
        Dist::AllEqual,
        Dist::Narrow,
        Dist::Zipf,
        Dist::Normal,
        Dist::Unit,
        Dist::LogNormal,
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
            Dist::Normal => "normal",
            Dist::Unit => "unit",
            Dist::LogNormal => "lognormal",
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

    /// A standard normal number (mean 0, standard deviation 1), by the
    /// Box–Muller transform of two [`Rng::unit`] draws; |x| < 8.6. Only the
    /// cosine half of the pair is used, so that a call depends on nothing
    /// but the generator's state. The logarithm and cosine come from the
    /// platform's libm: the same seed gives the same numbers on one
    /// machine, and across machines may differ in the last bit.
    pub fn normal(&mut self) -> f64 {
        // In (0, 1]: the logarithm is finite.
        let u = 1.0 - self.unit();
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
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
    /// A key for [`Dist::Normal`].
    fn normal(rng: &mut Rng) -> Self;
    /// A key for [`Dist::Unit`].
    fn unit(rng: &mut Rng) -> Self;
    /// A key for [`Dist::LogNormal`].
    fn log_normal(rng: &mut Rng) -> Self;
}

/// `$signed` is the signed type of `$t`'s width; `$flip` the bit that moves
/// a signed value into an unsigned type's middle (0 for signed types).
macro_rules! int_key {
    ($($t:ty: $signed:ty, $flip:expr),*) => {$(
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
            fn normal(rng: &mut Rng) -> Self {
                // `as` from a float saturates: the clamp into the type.
                let signed = (rng.normal() * 1e6).round() as $signed;
                (signed as $t) ^ $flip
            }
            fn unit(rng: &mut Rng) -> Self {
                Self::small(rng.below(1_000_000))
            }
            fn log_normal(rng: &mut Rng) -> Self {
                Self::small((rng.normal().exp() * 1000.0).round() as u64)
            }
        }
    )*};
}
int_key!(u32: i32, 1 << 31, u64: i64, 1 << 63, i32: i32, 0, i64: i64, 0);

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
            fn normal(rng: &mut Rng) -> Self {
                rng.normal() as $t
            }
            fn unit(rng: &mut Rng) -> Self {
                // As many random bits as the type's significand holds, over
                // a power of two: exact, so never rounded up to 1.0 (as
                // an f64 below 1 cast to f32 can be).
                let digits = $t::MANTISSA_DIGITS;
                (rng.next_u64() >> (64 - digits)) as $t / (1u64 << digits) as $t
            }
            fn log_normal(rng: &mut Rng) -> Self {
                // e^x for |x| < 8.6 is a normal number of either type.
                rng.normal().exp() as $t
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
        Dist::Normal => (0..len).map(|_| T::normal(&mut rng)).collect(),
        Dist::Unit => (0..len).map(|_| T::unit(&mut rng)).collect(),
        Dist::LogNormal => (0..len).map(|_| T::log_normal(&mut rng)).collect(),
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
    /// `keys[index] > keys[index + 1]` in the contract's order; the two
    /// keys as text.
    NotSorted {
        index: usize,
        before: String,
        after: String,
    },
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
            Mismatch::NotSorted {
                index,
                before,
                after,
            } => {
                write!(
                    f,
                    "not sorted: keys {index} and {} are out of order ({before} before {after})",
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

/// A key as a person reads it: an integer in decimal, a float as Rust
/// prints it (`-0.0`, `NaN`), with its bits when it is a NaN, whose sign
/// and payload decide its place.
pub fn key_text<T: SortKey>(key: T) -> String {
    let bits = key.bits();
    match T::TYPE {
        KeyType::U32 | KeyType::U64 => bits.to_string(),
        KeyType::I32 => (bits as u32 as i32).to_string(),
        KeyType::I64 => (bits as i64).to_string(),
        KeyType::F32 => {
            let value = f32::from_bits(bits as u32);
            if value.is_nan() {
                format!("{value:?} (bits 0x{bits:08x})")
            } else {
                format!("{value:?}")
            }
        }
        KeyType::F64 => {
            let value = f64::from_bits(bits);
            if value.is_nan() {
                format!("{value:?} (bits 0x{bits:016x})")
            } else {
                format!("{value:?}")
            }
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
        return Err(Mismatch::NotSorted {
            index,
            before: key_text(got[index]),
            after: key_text(got[index + 1]),
        });
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
            assert_eq!(
                generate::<i32>(dist, 1000, 7),
                generate::<i32>(dist, 1000, 7),
                "{dist}"
            );
        }
        for dist in [Dist::Normal, Dist::Unit, Dist::LogNormal] {
            assert_ne!(
                generate::<u64>(dist, 100, 1),
                generate::<u64>(dist, 100, 2),
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

    /// The mean and the standard deviation of `keys`, as f64.
    fn moments(keys: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
        let n = keys.clone().count() as f64;
        let mean = keys.clone().sum::<f64>() / n;
        let var = keys.map(|k| (k - mean) * (k - mean)).sum::<f64>() / n;
        (mean, var.sqrt())
    }

    /// The median of `keys`, in the contract's order.
    fn median<T: WorkloadKey>(mut keys: Vec<T>) -> T {
        T::reference_sort(&mut keys);
        keys[keys.len() / 2]
    }

    // Over 10000 keys the mean of a standard normal has a standard
    // deviation of 0.01: the bounds below are five of those.

    #[test]
    fn normal_is_a_bell_around_zero() {
        for keys in [
            generate::<f64>(Dist::Normal, 10_000, 1),
            generate::<f32>(Dist::Normal, 10_000, 1)
                .into_iter()
                .map(f64::from)
                .collect(),
        ] {
            assert!(keys.iter().any(|&k| k < 0.0) && keys.iter().any(|&k| k > 0.0));
            assert!(keys.iter().all(|k| k.abs() < 8.6));
            let (mean, sd) = moments(keys.iter().copied());
            assert!(mean.abs() < 0.05, "mean {mean}");
            assert!((sd - 1.0).abs() < 0.05, "standard deviation {sd}");
        }
        let signed: Vec<i64> = generate(Dist::Normal, 10_000, 1);
        assert!(signed.iter().any(|&k| k < 0) && signed.iter().any(|&k| k > 0));
        let (mean, sd) = moments(signed.iter().map(|&k| k as f64));
        assert!(mean.abs() < 0.05e6, "mean {mean}");
        assert!((sd - 1e6).abs() < 0.05e6, "standard deviation {sd}");
        // The same bell in every integer type: the unsigned keys are the
        // signed ones moved to the middle of the range.
        let narrow: Vec<i32> = generate(Dist::Normal, 10_000, 1);
        let unsigned: Vec<u32> = generate(Dist::Normal, 10_000, 1);
        let wide: Vec<u64> = generate(Dist::Normal, 10_000, 1);
        for (((&i, &n), &u), &w) in signed.iter().zip(&narrow).zip(&unsigned).zip(&wide) {
            assert_eq!(i64::from(n), i);
            assert_eq!(i64::from(u) - (1 << 31), i);
            assert_eq!(w.wrapping_sub(1 << 63) as i64, i);
        }
    }

    #[test]
    fn unit_is_below_one_and_not_negative() {
        let doubles: Vec<f64> = generate(Dist::Unit, 10_000, 2);
        assert!(doubles.iter().all(|k| (0.0..1.0).contains(k)));
        let (mean, _) = moments(doubles.iter().copied());
        assert!((mean - 0.5).abs() < 0.015, "mean {mean}");
        // An f64 draw cast down to f32 would round up to 1.0 once in 2^25
        // draws, too rarely to show here: the generator draws 24 bits.
        let floats: Vec<f32> = generate(Dist::Unit, 100_000, 2);
        assert!(floats.iter().all(|k| (0.0..1.0).contains(k)));
        assert!(floats.iter().any(|&k| k > 0.9999));
        let ints: Vec<u32> = generate(Dist::Unit, 10_000, 2);
        assert!(ints.iter().all(|&k| k < 1_000_000));
        assert!(ints.iter().any(|&k| k > 990_000) && ints.iter().any(|&k| k < 10_000));
        let signed: Vec<i32> = generate(Dist::Unit, 10_000, 2);
        assert!(signed.iter().all(|&k| (0..1_000_000).contains(&k)));
    }

    #[test]
    fn lognormal_is_positive_with_median_one() {
        let doubles: Vec<f64> = generate(Dist::LogNormal, 10_000, 3);
        assert!(doubles.iter().all(|&k| k > 0.0 && k.is_finite()));
        // The logarithms are the standard normal.
        let (mean, sd) = moments(doubles.iter().map(|k| k.ln()));
        assert!(mean.abs() < 0.05, "mean of the logarithm {mean}");
        assert!((sd - 1.0).abs() < 0.05, "sd of the logarithm {sd}");
        let floats: Vec<f32> = generate(Dist::LogNormal, 10_000, 3);
        assert!(floats.iter().all(|&k| k > 0.0 && k.is_finite()));
        let m = median(floats);
        assert!((0.95..1.05).contains(&m), "median {m}");
        let ints: Vec<i64> = generate(Dist::LogNormal, 10_000, 3);
        assert!(ints.iter().all(|&k| k >= 0));
        let m = median(ints);
        assert!((950..1050).contains(&m), "median {m}");
        let unsigned: Vec<u32> = generate(Dist::LogNormal, 10_000, 3);
        assert!(
            unsigned
                .iter()
                .filter(|&&k| (100..10_000).contains(&k))
                .count()
                > 9_600
        );
    }

    #[test]
    fn names_round_trip() {
        for dist in Dist::ALL {
            assert_eq!(dist.name().parse::<Dist>(), Ok(dist));
        }
        assert_eq!("normal".parse::<Dist>(), Ok(Dist::Normal));
        assert_eq!("unit".parse::<Dist>(), Ok(Dist::Unit));
        assert_eq!("lognormal".parse::<Dist>(), Ok(Dist::LogNormal));
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
        let ints = [1u64, 7, 3];
        assert_eq!(
            check_sorted(&ints, &[1, 3, 7]).map_err(|m| m.to_string()),
            Err("not sorted: keys 1 and 2 are out of order (7 before 3)".to_string())
        );
        assert_eq!(key_text(-0.0f64), "-0.0");
        assert_eq!(key_text(-5i32), "-5");
        assert_eq!(
            key_text(f32::from_bits(0xffc0_0000)),
            "NaN (bits 0xffc00000)"
        );

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
