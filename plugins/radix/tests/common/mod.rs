//! What the radix crate's test files share: a seeded generator and the six
//! key types as the tests make and compare them.

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
