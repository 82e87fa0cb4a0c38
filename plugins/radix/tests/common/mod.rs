//! What the radix crate's test files share: a seeded generator, the six
//! key types as the tests make and compare them, and the key distributions.

// Each test file uses a part of it.
#![allow(dead_code)]

use std::cmp::Ordering;

/// splitmix64: small, fast, good enough to generate test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal value (Box–Muller): floats whose sign and
    /// exponent take few values, as measurements do.
    pub fn normal(&mut self) -> f64 {
        let u = 1.0 - self.unit();
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// An integer of either sign whose magnitude is spread over every order
    /// (as amounts in a ledger), a third of them below 1000: signed keys
    /// that share their top bits around zero.
    pub fn signed_log(&mut self) -> i64 {
        let magnitude = if self.below(3) == 0 {
            self.below(1000) as i64
        } else {
            ((self.next() >> 1) >> self.below(63)) as i64
        };
        if self.below(2) == 0 {
            -magnitude
        } else {
            magnitude
        }
    }
}

/// A key type as the tests make and compare it.
pub trait Bits: Copy + std::fmt::Debug {
    /// The key with these bits (the low ones for 32-bit types).
    fn from_bits(b: u64) -> Self;
    /// The key nearest to `i`.
    fn from_int(i: i64) -> Self;
    /// A key from `x` in [-1, 1): itself for floats, scaled for integers.
    fn from_unit(x: f64) -> Self;
    /// The key's bits, for exact comparison.
    fn bits(self) -> u64;
    /// Extremes; for floats the NaNs of both signs and several payloads,
    /// ±0, ±inf, subnormals.
    fn specials() -> Vec<Self>;
    /// The contract's order: natural for integers, `total_cmp` for floats.
    fn order(a: &Self, b: &Self) -> Ordering;
}

macro_rules! int_key {
    ($t:ty, $u:ty) => {
        impl Bits for $t {
            fn from_bits(b: u64) -> Self {
                b as $u as $t
            }
            fn from_int(i: i64) -> Self {
                i as $t
            }
            fn from_unit(x: f64) -> Self {
                (x * 1e9) as i64 as $t
            }
            fn bits(self) -> u64 {
                self as $u as u64
            }
            fn specials() -> Vec<Self> {
                vec![
                    <$t>::MIN,
                    <$t>::MAX,
                    0,
                    1,
                    <$t>::MIN + 1,
                    <$t>::MAX - 1,
                    0 as $t - 0,
                ]
            }
            fn order(a: &Self, b: &Self) -> Ordering {
                a.cmp(b)
            }
        }
    };
}
int_key!(u32, u32);
int_key!(u64, u64);
int_key!(i32, u32);
int_key!(i64, u64);

impl Bits for f32 {
    fn from_bits(b: u64) -> Self {
        f32::from_bits(b as u32)
    }
    fn from_int(i: i64) -> Self {
        i as f32
    }
    fn from_unit(x: f64) -> Self {
        x as f32
    }
    fn bits(self) -> u64 {
        self.to_bits() as u64
    }
    fn specials() -> Vec<Self> {
        [
            0x7fc0_0000u32, // +qNaN
            0xffc0_0000,    // -qNaN
            0x7f80_0001,    // +sNaN, payload 1
            0xff80_0001,    // -sNaN, payload 1
            0x7fff_ffff,    // +NaN, max payload
            0xffff_ffff,    // -NaN, max payload
            0x7fa0_0000,
            0xffa0_0000,
            0x7f80_0000, // +inf
            0xff80_0000, // -inf
            0x0000_0000, // +0
            0x8000_0000, // -0
            0x0000_0001, // smallest subnormal
            0x8000_0001,
            0x007f_ffff, // largest subnormal
            0x807f_ffff,
        ]
        .into_iter()
        .map(f32::from_bits)
        .chain([
            f32::MIN,
            f32::MAX,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            f32::EPSILON,
            1.0,
            -1.0,
        ])
        .collect()
    }
    fn order(a: &Self, b: &Self) -> Ordering {
        a.total_cmp(b)
    }
}

impl Bits for f64 {
    fn from_bits(b: u64) -> Self {
        f64::from_bits(b)
    }
    fn from_int(i: i64) -> Self {
        i as f64
    }
    fn from_unit(x: f64) -> Self {
        x
    }
    fn bits(self) -> u64 {
        self.to_bits()
    }
    fn specials() -> Vec<Self> {
        [
            0x7ff8_0000_0000_0000u64, // +qNaN
            0xfff8_0000_0000_0000,    // -qNaN
            0x7ff0_0000_0000_0001,    // +sNaN, payload 1
            0xfff0_0000_0000_0001,    // -sNaN, payload 1
            0x7fff_ffff_ffff_ffff,    // +NaN, max payload
            0xffff_ffff_ffff_ffff,    // -NaN, max payload
            0x7ff4_0000_dead_beef,
            0xfff4_0000_dead_beef,
            0x7ff0_0000_0000_0000, // +inf
            0xfff0_0000_0000_0000, // -inf
            0x0000_0000_0000_0000, // +0
            0x8000_0000_0000_0000, // -0
            0x0000_0000_0000_0001, // smallest subnormal
            0x8000_0000_0000_0001,
            0x000f_ffff_ffff_ffff, // largest subnormal
            0x800f_ffff_ffff_ffff,
        ]
        .into_iter()
        .map(f64::from_bits)
        .chain([
            f64::MIN,
            f64::MAX,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::EPSILON,
            1.0,
            -1.0,
        ])
        .collect()
    }
    fn order(a: &Self, b: &Self) -> Ordering {
        a.total_cmp(b)
    }
}

/// The distributions of [`generate`].
pub const DISTRIBUTIONS: &[&str] = &[
    "uniform",
    "sorted",
    "reversed",
    "distinct16",
    "distinct16_small",
    "all_equal",
    "narrow",
    "zipf",
    "specials",
    "sorted_tail",
    "reversed_tail",
    "sawtooth",
    "negative_small",
    "clustered",
    "log_spread",
    "unit_floats",
    "heavy_value",
    "trailing_zeros",
    "log_outlier",
    "int_floats",
    "log_uniform",
    "bucket_heavy",
    "signed_log",
    "normal",
    "lognormal",
    "unit",
    "dense",
    "dense_runs",
    "span32",
    "span32_outlier",
    "int_floats_outlier",
    "f32_values",
    "f32_values_outlier",
];

/// `n` keys of the distribution `dist` (one of [`DISTRIBUTIONS`]).
pub fn generate<T: Bits>(dist: &str, n: usize, rng: &mut Rng) -> Vec<T> {
    let uniform = |rng: &mut Rng| T::from_bits(rng.next());
    match dist {
        "uniform" => (0..n).map(|_| uniform(rng)).collect(),
        "sorted" | "reversed" | "sorted_tail" | "reversed_tail" => {
            let mut v: Vec<T> = (0..n).map(|_| uniform(rng)).collect();
            v.sort_by(T::order);
            if dist.starts_with("reversed") {
                v.reverse();
            }
            if dist.ends_with("tail") && n > 0 {
                let last = n - 1;
                v[last] = uniform(rng);
            }
            v
        }
        "distinct16" => {
            let set: Vec<T> = (0..16).map(|_| uniform(rng)).collect();
            (0..n).map(|_| set[rng.below(16) as usize]).collect()
        }
        "distinct16_small" => (0..n).map(|_| T::from_int(rng.below(16) as i64)).collect(),
        "all_equal" => {
            let x = uniform(rng);
            vec![x; n]
        }
        "narrow" => {
            let base = rng.below(1 << 20) as i64 - (1 << 19);
            (0..n)
                .map(|_| T::from_int(base + rng.below(1000) as i64))
                .collect()
        }
        "dense" | "dense_runs" => {
            // About one key per value over a range of `n` values (eight per
            // value for `dense_runs`), away from zero: buckets whose keys
            // are counted and written back.
            let base = rng.below(1 << 20) as i64 - (1 << 19);
            let per_value = if dist == "dense" { 1 } else { 8 };
            let range = (n as u64 / per_value).max(1);
            (0..n)
                .map(|_| T::from_int(base + rng.below(range) as i64))
                .collect()
        }
        "span32" | "span32_outlier" => {
            // 64-bit keys over a span of up to 2^32 values, sorted as
            // 32-bit offsets: with both ends of the widest span present,
            // or over half of it with one key far outside, where a sample
            // most likely misses it.
            let base = rng.below(1 << 41) as i64 - (1 << 40);
            let width = if dist == "span32" { 1 << 32 } else { 1 << 31 };
            let mut v: Vec<T> = (0..n)
                .map(|_| T::from_int(base + rng.below(width) as i64))
                .collect();
            if n >= 2 {
                let (first, last) = if dist == "span32" {
                    (0, n - 1)
                } else {
                    (rng.below(n as u64) as usize, rng.below(n as u64) as usize)
                };
                v[first] = T::from_int(base);
                v[last] = if dist == "span32" {
                    T::from_int(base + width as i64 - 1)
                } else {
                    T::from_int(base + (1 << 40))
                };
            }
            v
        }
        "zipf" => (0..n)
            .map(|_| {
                // Heavy skew: a random value shifted right by a random
                // amount, so small values dominate; a few negatives.
                let x = rng.next() >> rng.below(64);
                let sign = if rng.below(8) == 0 { -1 } else { 1 };
                T::from_int((x >> 2) as i64 * sign)
            })
            .collect(),
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
        "sawtooth" => (0..n).map(|i| T::from_int((i % 97) as i64)).collect(),
        "clustered" => {
            // A few distinct high halves, random low halves.
            let highs: Vec<u64> = (0..4).map(|_| rng.next() & !0xffff_ffff).collect();
            (0..n)
                .map(|_| T::from_bits(highs[rng.below(4) as usize] | (rng.next() >> 32)))
                .collect()
        }
        "log_spread" => (0..n)
            .map(|_| {
                let x = rng.next();
                T::from_bits((x >> 1) >> (x % 63))
            })
            .collect(),
        "unit_floats" => (0..n)
            .map(|_| T::from_unit((rng.next() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0))
            .collect(),
        "heavy_value" => {
            let heavy = uniform(rng);
            (0..n)
                .map(|_| {
                    if rng.below(3) == 0 {
                        uniform(rng)
                    } else {
                        heavy
                    }
                })
                .collect()
        }
        "trailing_zeros" => {
            // Few varying bits in the middle of the key, constant below.
            let shift = rng.below(40) as u32;
            let low = rng.next() & ((1 << shift) - 1);
            (0..n)
                .map(|_| T::from_bits((rng.below(3000) << shift) | low))
                .collect()
        }
        "log_outlier" => {
            // Log-spread keys (a sample sees a narrower range than the
            // input holds) plus one outlier with every bit set.
            let mut v: Vec<T> = (0..n)
                .map(|_| {
                    let x = rng.next();
                    T::from_int(((x >> 1) >> (x % 63)) as i64)
                })
                .collect();
            if n > 0 {
                let at = rng.below(n as u64) as usize;
                v[at] = T::from_bits(u64::MAX);
            }
            v
        }
        "signed_log" => (0..n).map(|_| T::from_int(rng.signed_log())).collect(),
        // Floats whose top bits take few values, so that the first digit
        // must be wide (integers: the same values times 1e9).
        "normal" => (0..n).map(|_| T::from_unit(rng.normal())).collect(),
        "lognormal" => (0..n).map(|_| T::from_unit(rng.normal().exp())).collect(),
        "unit" => (0..n).map(|_| T::from_unit(rng.unit())).collect(),
        "log_uniform" => (0..n)
            .map(|_| {
                // Density about 1/v over 1..2^30, as the benchmark's Zipf.
                let u = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
                T::from_int(2f64.powf(30.0 * u) as i64)
            })
            .collect(),
        "bucket_heavy" => (0..n)
            .map(|_| {
                // Spread over the top bits, and within each top digit half
                // the keys equal: buckets whose next digit is crowded.
                let top = rng.below(512) << 55;
                let low = if rng.below(2) == 0 {
                    0
                } else {
                    rng.next() >> 9
                };
                T::from_bits(top | low)
            })
            .collect(),
        "int_floats" => (0..n)
            .map(|_| T::from_int(5000 + rng.below(1000) as i64))
            .collect(),
        "int_floats_outlier" | "f32_values" | "f32_values_outlier" => {
            // Floats that 32 bits hold exactly, sorted as 32-bit keys:
            // integers (as `i32`), normal values rounded to `f32`. The
            // outliers, at a random place a sample most likely misses, are
            // not: `-0.0` among the integers, 0.1 among the `f32` values.
            let ints = dist.starts_with("int");
            let mut v: Vec<T> = (0..n)
                .map(|_| {
                    if ints {
                        T::from_int(rng.below(1 << 31) as i64 - (1 << 30))
                    } else {
                        T::from_unit(f64::from(rng.normal() as f32))
                    }
                })
                .collect();
            if dist.ends_with("outlier") && n > 0 {
                let at = rng.below(n as u64) as usize;
                v[at] = T::from_unit(if ints { -0.0 } else { 0.1 });
            }
            v
        }
        "negative_small" => (0..n)
            .map(|_| T::from_int(-(rng.below(300) as i64)))
            .collect(),
        _ => unreachable!("{dist}"),
    }
}
