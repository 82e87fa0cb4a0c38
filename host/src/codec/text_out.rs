//! Keys as text: [`TextKey`] for the six key types. Integers are written
//! in place, their digits eight at a time; floats in their shortest
//! round-trip form, from `zmij`'s digits laid out exactly as `{:?}` lays
//! them out.

use super::TextKey;

use std::mem::MaybeUninit;

/// The two-digit strings `00` to `99`, end to end.
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
                            2021222324252627282930313233343536373839\
                            4041424344454647484950515253545556575859\
                            6061626364656667686970717273747576777879\
                            8081828384858687888990919293949596979899";

/// A bound on the length of an integer key's line: a sign, 20 digits, a
/// newline (no key has both a sign and 20 digits: the longest line, of
/// `i64::MIN`, takes 21 bytes).
const LONGEST_LINE: usize = 22;

/// Appends a line per key: its decimal digits, after a minus sign where
/// `sign` says so. The integer keys' [`TextKey::write_lines`].
///
/// Room for the longest lines is made once, then each line is written in
/// place; a number's digits come eight at a time from 32-bit arithmetic,
/// whose divisions by constants are independent of each other, instead of
/// two at a time down one chain of 64-bit divisions (figures in
/// docs/PERFORMANCE.md).
#[inline]
fn write_decimal_lines<T: Copy>(keys: &[T], out: &mut Vec<u8>, sign: impl Fn(T) -> (bool, u64)) {
    out.reserve(keys.len().saturating_mul(LONGEST_LINE));
    let room = &mut out.spare_capacity_mut()[..keys.len() * LONGEST_LINE];
    let mut at = 0;
    for &key in keys {
        let (negative, n) = sign(key);
        let line: &mut [MaybeUninit<u8>; LONGEST_LINE] = (&mut room[at..at + LONGEST_LINE])
            .try_into()
            .unwrap_or_else(|_| unreachable!("the slice is LONGEST_LINE long"));
        let mut len = 0;
        if negative {
            line[0].write(b'-');
            len = 1;
        }
        len += write_decimal(&mut line[len..len + 20], n);
        line[len].write(b'\n');
        at += len + 1;
    }
    let len = out.len() + at;
    // SAFETY: the first `at` bytes of the spare capacity were all written:
    // each line wrote its bytes right after the last line's.
    unsafe { out.set_len(len) };
}

/// Writes the decimal digits of `n` at the start of `dst`; how many.
#[inline(always)]
fn write_decimal(dst: &mut [MaybeUninit<u8>], n: u64) -> usize {
    const E8: u64 = 100_000_000;
    if n < E8 {
        return write_short(dst, n as u32);
    }
    if n < E8 * E8 {
        let len = write_short(dst, (n / E8) as u32);
        write8(&mut dst[len..len + 8], (n % E8) as u32);
        return len + 8;
    }
    let len = write_short(dst, (n / (E8 * E8)) as u32);
    let low = n % (E8 * E8);
    write8(&mut dst[len..len + 8], (low / E8) as u32);
    write8(&mut dst[len + 8..len + 16], (low % E8) as u32);
    len + 16
}

/// Writes the digits of `x < 10^8`, without leading zeros; how many.
#[inline(always)]
fn write_short(dst: &mut [MaybeUninit<u8>], mut x: u32) -> usize {
    let len = match x {
        0..10 => 1,
        10..100 => 2,
        100..1_000 => 3,
        1_000..10_000 => 4,
        10_000..100_000 => 5,
        100_000..1_000_000 => 6,
        1_000_000..10_000_000 => 7,
        _ => 8,
    };
    let mut end = len;
    while x >= 100 {
        end -= 2;
        write_pair(&mut dst[end..end + 2], x % 100);
        x /= 100;
    }
    if x >= 10 {
        write_pair(&mut dst[..2], x);
    } else {
        dst[0].write(b'0' + x as u8);
    }
    len
}

/// Writes the eight digits of `x < 10^8`, leading zeros included.
#[inline(always)]
fn write8(dst: &mut [MaybeUninit<u8>], x: u32) {
    let (high, low) = (x / 10_000, x % 10_000);
    write_pair(&mut dst[0..2], high / 100);
    write_pair(&mut dst[2..4], high % 100);
    write_pair(&mut dst[4..6], low / 100);
    write_pair(&mut dst[6..8], low % 100);
}

/// Writes the two digits of `x < 100`.
#[inline(always)]
fn write_pair(dst: &mut [MaybeUninit<u8>], x: u32) {
    let at = x as usize * 2;
    dst[0].write(PAIRS[at]);
    dst[1].write(PAIRS[at + 1]);
}

/// Appends a finite float as `{:?}` writes it, given its shortest
/// round-trip digits as `zmij` writes them (`shortest`: `-` if negative,
/// then fixed notation like `12.5`, `0.00125` and `125000.0`, or
/// exponential like `1.25e+30`), in exponential notation if `exponential`
/// (`1.25e30`, `1.25e-7`, `1e16`), else in fixed notation with at least one
/// digit after the point (`0.0001`, `125.0`).
///
/// Both find the same digits, the shortest that read back as the value
/// (tested against `{:?}` on random bits of every kind, and on the values
/// around where the notations change); `zmij` finds them faster than the
/// formatter behind `{:?}` (figures in docs/PERFORMANCE.md).
///
/// `odd` is the value as `m * 2^k` with `m` odd (zero aside): where the
/// value lies exactly halfway between the two shortest candidates, `zmij`
/// takes the even one and `{:?}` the larger one, which is taken here too.
fn push_shortest(out: &mut Vec<u8>, shortest: &str, exponential: bool, odd: (u64, i32)) {
    let bytes = shortest.as_bytes();
    // `zmij`'s mantissa, and its exponent's sign and digits (none in fixed
    // notation), without the exponent's `+` or leading zeros.
    let (mantissa, power) = match bytes.iter().position(|&b| b == b'e') {
        Some(e) => (&bytes[..e], &bytes[e + 1..]),
        None => (bytes, &bytes[bytes.len()..]),
    };
    let (negative_power, power) = match power.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, power),
    };
    let first = power
        .iter()
        .position(|&b| b != b'0')
        .unwrap_or(power.len().saturating_sub(1));
    let power = &power[first..];
    if !may_be_halfway(odd) && exponential == (mantissa.len() < bytes.len()) {
        // Most values: `zmij`'s text in the notation `{:?}` uses, with the
        // exponent as `{:?}` writes it (`1.25e+30` → `1.25e30`).
        out.extend_from_slice(mantissa);
        if exponential {
            out.push(b'e');
            if negative_power {
                out.push(b'-');
            }
            out.extend_from_slice(power);
        }
        return;
    }
    let (negative, mantissa) = match mantissa.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, mantissa),
    };
    // The significant digits, at most 17, and the power of ten of the first.
    let mut digits = [0u8; 24];
    let mut n = 0;
    let point = mantissa
        .iter()
        .position(|&b| b == b'.')
        .unwrap_or(mantissa.len());
    let mut leading_zeros = 0;
    for &b in mantissa.iter().filter(|&&b| b != b'.') {
        if n == 0 && b == b'0' {
            leading_zeros += 1;
        } else if n < digits.len() {
            digits[n] = b;
            n += 1;
        }
    }
    while n > 1 && digits[n - 1] == b'0' {
        n -= 1;
    }
    let scale = power
        .iter()
        .fold(0i32, |v, &b| v * 10 + i32::from(b - b'0'));
    let mut exponent =
        point as i32 - 1 - leading_zeros + if negative_power { -scale } else { scale };
    if negative {
        out.push(b'-');
    }
    if n == 0 {
        // Zero.
        out.extend_from_slice(b"0.0");
        return;
    }
    if let Some(low) = halfway(odd, exponent - n as i32) {
        let value = digits[..n]
            .iter()
            .fold(0u64, |v, &b| v * 10 + u64::from(b - b'0'));
        if value == low {
            // The larger of the two, as `{:?}` writes it: one more in the
            // last digit, which may carry into a new first digit (99 → 100,
            // written 1 with the exponent one higher).
            let mut up = low + 1;
            if up == POW10_U64[n] {
                up /= 10;
                exponent += 1;
            }
            for digit in digits[..n].iter_mut().rev() {
                *digit = b'0' + (up % 10) as u8;
                up /= 10;
            }
            while n > 1 && digits[n - 1] == b'0' {
                n -= 1;
            }
        }
    }
    let digits = &digits[..n];
    if exponential {
        out.push(digits[0]);
        if n > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        if exponent < 0 {
            out.push(b'-');
        }
        push_decimal_u32(out, exponent.unsigned_abs());
    } else if exponent < 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-exponent - 1) as usize));
        out.extend_from_slice(digits);
    } else {
        let whole = exponent as usize + 1;
        if n <= whole {
            out.extend_from_slice(digits);
            out.extend(std::iter::repeat_n(b'0', whole - n));
            out.extend_from_slice(b".0");
        } else {
            out.extend_from_slice(&digits[..whole]);
            out.push(b'.');
            out.extend_from_slice(&digits[whole..]);
        }
    }
}

/// `10^i` for `i` up to 19.
const POW10_U64: [u64; 20] = {
    let mut table = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// Whether [`halfway`] can find the value `m * 2^k` (`m` odd) halfway
/// between two shorter numbers for any `q`: it has a fractional part
/// (`k < 0`; an integer-valued float lies halfway between two numbers whose
/// last digit is at `10^(k + 1)` only when they are `10^(k + 1) > 2^k`
/// apart, farther than a whole unit in its last place, so neither reads
/// back as it), and its exact decimal expansion, which then ends in a 5,
/// has at most 18 significant digits. A cheap test that rules out most
/// values.
fn may_be_halfway((m, k): (u64, i32)) -> bool {
    // 5^26 > 10^18: no larger power of five fits.
    if !(-26..0).contains(&k) {
        return false;
    }
    5u128
        .checked_pow(k.unsigned_abs())
        .and_then(|five| u128::from(m).checked_mul(five))
        .is_some_and(|t| t < u128::from(POW10_U64[18]))
}

/// Whether the value `m * 2^k` (`m` odd) lies exactly halfway between two
/// numbers whose last digit is at `10^(q + 1)`: if so, the lower of them,
/// as an integer of those digits. The value's exact decimal expansion then
/// ends in a 5 at `10^q`: `m * 5^-k` digits after the point when `k < 0`;
/// when `k >= 0`, a multiple of `5^(k + 1)` times `2^k`.
fn halfway((m, k): (u64, i32), q: i32) -> Option<u64> {
    if q != k {
        return None;
    }
    let digits = if k < 0 {
        // m * 5^-k, which has at most 18 digits here.
        let p = k.unsigned_abs();
        let t = u128::from(m).checked_mul(5u128.checked_pow(p)?)?;
        u64::try_from(t).ok().filter(|&t| t < POW10_U64[18])?
    } else {
        let p = k.unsigned_abs();
        let five = 5u64.checked_pow(p + 1)?;
        if m % five != 0 {
            return None;
        }
        m / 5u64.pow(p)
    };
    (digits % 10 == 5).then_some(digits / 10)
}

/// Appends the decimal digits of `x`, a float's decimal exponent (below
/// 1000).
fn push_decimal_u32(out: &mut Vec<u8>, x: u32) {
    if x >= 100 {
        out.push(b'0' + (x / 100 % 10) as u8);
    }
    if x >= 10 {
        out.push(b'0' + (x / 10 % 10) as u8);
    }
    out.push(b'0' + (x % 10) as u8);
}

macro_rules! text_key {
    (unsigned: $($u:ty),*; signed: $($i:ty),*; float: $($f:ty),*) => {
        $(impl TextKey for $u {
            fn format(self, out: &mut Vec<u8>) {
                Self::write_lines(&[self], out);
                out.pop();
            }

            fn write_lines(keys: &[Self], out: &mut Vec<u8>) {
                write_decimal_lines(keys, out, |key| (false, u64::from(key)));
            }
        })*
        $(impl TextKey for $i {
            fn format(self, out: &mut Vec<u8>) {
                Self::write_lines(&[self], out);
                out.pop();
            }

            fn write_lines(keys: &[Self], out: &mut Vec<u8>) {
                write_decimal_lines(keys, out, |key| (key < 0, u64::from(key.unsigned_abs())));
            }
        })*
        $(impl TextKey for $f {
            fn format(self, out: &mut Vec<u8>) {
                if self.is_finite() {
                    // Exponential below 1e-4 and from 1e16, as `{:?}`
                    // decides it (on the value, in the value's type).
                    let abs = self.abs();
                    let exponential = (abs != 0.0 && abs < 1e-4) || abs >= 1e16;
                    // The value as an odd integer times a power of two.
                    let (bits, fraction_bits, bias) = (
                        u64::from(self.abs().to_bits()),
                        <$f>::MANTISSA_DIGITS - 1,
                        <$f>::MAX_EXP - 1,
                    );
                    let field = (bits >> fraction_bits) as i32;
                    let fraction = bits & ((1 << fraction_bits) - 1);
                    let (m, k) = if field == 0 {
                        (fraction, 1 - bias - fraction_bits as i32)
                    } else {
                        (fraction | 1 << fraction_bits, field - bias - fraction_bits as i32)
                    };
                    // (Zero has no odd form and is written before it is used.)
                    let shift = m.trailing_zeros().min(63);
                    let odd = (m >> shift, k + shift as i32);
                    push_shortest(
                        out,
                        zmij::Buffer::new().format_finite(self),
                        exponential,
                        odd,
                    );
                } else if self.is_nan() && self.is_sign_negative() {
                    out.extend_from_slice(b"-NaN");
                } else {
                    // Writing into a Vec cannot fail.
                    let _ = std::io::Write::write_fmt(out, format_args!("{self:?}"));
                }
            }
        })*
    };
}
text_key!(unsigned: u32, u64; signed: i32, i64; float: f32, f64);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::test_support::float_cases;
    use crate::codec::write_text;
    use crate::conformance::workload::Rng;
    use crate::keys::KeyVec;

    /// Floats are written exactly as `{:?}` writes them: random bits of
    /// every kind (subnormals, huge, tiny, integers), and the values on
    /// either side of where `{:?}` changes notation. `WILDHOST_FLOAT_CASES`
    /// sets how many random values (200 000 unless it is set).
    #[test]
    fn floats_are_written_as_debug_writes_them() {
        fn same<T: TextKey + std::fmt::Debug>(value: T) {
            // NaN is written apart (`-NaN` keeps its sign), as are the
            // infinities: `float_text_round_trips_every_special_value`.
            if format!("{value:?}").ends_with("NaN") || format!("{value:?}").ends_with("inf") {
                return;
            }
            let mut out = b"x".to_vec();
            value.format(&mut out);
            let expected = format!("x{value:?}");
            assert_eq!(
                std::str::from_utf8(&out).expect("ASCII"),
                expected,
                "{value:?} {}",
                std::any::type_name::<T>()
            );
        }
        let cases = float_cases();
        let mut rng = Rng::new(17);
        for _ in 0..cases {
            let bits = rng.next_u64();
            same(f64::from_bits(bits));
            same(f32::from_bits(bits as u32));
            // Values with few digits, as people write them.
            let small = (bits >> 40) as i64 - (1 << 23);
            let scale = 10f64.powi((bits % 40) as i32 - 20);
            same(small as f64 * scale);
            same(small as f32 * scale as f32);
        }
        for power in -330..=310 {
            let x = 10f64.powi(power);
            for v in [x, x.next_up(), x.next_down(), -x, 1.5 * x, 9.999_999 * x] {
                same(v);
                same(v as f32);
                same((v as f32).next_up());
                same((v as f32).next_down());
            }
        }
        for v in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            1e-4,
            1e16,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            same(v);
            same(v as f32);
        }
        // Values exactly halfway between two shortest candidates, where
        // `zmij` alone would take the even one: quarters and eighths just
        // past the precision of their type, and their negatives.
        for i in 0..5000u32 {
            let f = (1u32 << 18) as f32 + i as f32 + [0.125, 0.375, 0.625, 0.875][i as usize % 4];
            same(f);
            same(-f);
            let d = (1u64 << 50) as f64 + f64::from(i) + [0.25, 0.75][i as usize % 2];
            same(d);
            same(-d);
        }
        same(436_630.0f32 + 0.125);
        same(-(1_739_813_212_532_971.0f64 + 0.25));
        same(f32::MAX);
        same(f32::MIN_POSITIVE);
        same(f64::from_bits(1));
        same(f32::from_bits(1));
    }

    #[test]
    fn integers_are_written_as_rust_formats_them() {
        let mut rng = Rng::new(11);
        let mut signed: Vec<i64> = vec![0, 1, -1, 9, 10, 99, 100, -100, i64::MIN, i64::MAX];
        let mut unsigned: Vec<u64> = vec![0, 9, 10, 99, 100, 101, u64::MAX, u64::MAX - 1];
        for digits in 1..20u32 {
            let p = 10u64.pow(digits);
            unsigned.extend([p - 1, p, p + 1]);
            signed.extend([(p - 1) as i64, -(p as i64), (p + 1) as i64]);
        }
        for _ in 0..10_000 {
            let x = rng.next_u64() >> (rng.next_u64() % 64);
            unsigned.push(x);
            signed.push(x as i64);
        }
        fn written_as_format<T: std::fmt::Display>(keys: &[T], all: KeyVec) {
            let mut out = Vec::new();
            write_text(&all, &mut out, None);
            let expected: String = keys.iter().map(|k| format!("{k}\n")).collect();
            assert_eq!(String::from_utf8(out).expect("ASCII"), expected);
        }
        written_as_format(&unsigned, KeyVec::U64(unsigned.clone()));
        written_as_format(&signed, KeyVec::I64(signed.clone()));
        let small: Vec<i32> = signed
            .iter()
            .map(|&k| k as i32)
            .chain([i32::MIN, i32::MAX])
            .collect();
        written_as_format(&small, KeyVec::I32(small.clone()));
        let small: Vec<u32> = unsigned
            .iter()
            .map(|&k| k as u32)
            .chain([u32::MAX])
            .collect();
        written_as_format(&small, KeyVec::U32(small.clone()));
    }
}
