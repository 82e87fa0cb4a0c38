//! Float lines: the fast path for decimals whose value is exact in the
//! type's arithmetic, read straight off the input ([`scan_float`]), and
//! the full parser behind it, which decides every other line, refuses
//! literals that would overflow or underflow, and words the error
//! ([`parse_float`]).

use super::lines::line_end;
use crate::keys::SortKey;

/// The common case of a float line, read straight off the input: an
/// optional sign, then digits with at most one point among them, an
/// optional exponent (`e` or `E`, an optional sign, one to three digits), an
/// optional `\r`, then the newline or the end of the input, whose value is
/// exact in the float type's arithmetic: the digits as an integer fit its
/// significand (`f64`: up to 2^53; `f32`: 2^24) and the power of ten they
/// are scaled by is exact too (`f64`: 10^-22 to 10^22; `f32`: 10^-10 to
/// 10^10). One multiplication or division of exact values is correctly
/// rounded, so this gives the bits `str::parse` gives (tested). Anything else is
/// `None`, for [`parse_float`]. Most decimals as people write them take
/// this path and skip `str::parse` (figures in docs/PERFORMANCE.md).
#[inline]
pub(super) fn scan_float<T: Float>(input: &[u8]) -> Option<(T, usize)> {
    let end = line_end(input)?;
    let used = if end < input.len() { end + 1 } else { end };
    let mut stop = end;
    if stop > 0 && input[stop - 1] == b'\r' {
        stop -= 1;
    }
    float_within(&input[..stop]).map(|key| (key, used))
}

/// The float spelled by exactly `text`, if it is the common case that
/// [`scan_float`] reads (the same rules, without the line end); `None`
/// for anything else, which [`parse_float`] then decides.
#[inline]
pub(super) fn float_within<T: Float>(text: &[u8]) -> Option<T> {
    let first = text.first().copied().unwrap_or_default();
    let negative = first == b'-';
    let start = usize::from(negative || first == b'+');
    let (mut value, mut digits, mut after_point, mut point) = (0u64, 0u32, 0i32, false);
    let mut rest = text[start..].iter();
    let mut exponent = 0i32;
    while let Some(&b) = rest.next() {
        match b {
            b'0'..=b'9' => {
                // Up to 21 digits reach here; past 19 the value may wrap,
                // and the digit count below refuses those lines.
                value = value.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
                digits += 1;
                after_point += i32::from(point);
            }
            b'.' if !point => point = true,
            b'e' | b'E' => {
                // An exponent: an optional sign, then one to three digits.
                let power = rest.as_slice();
                let (sign, power) = match power.split_first() {
                    Some((b'-', tail)) => (-1, tail),
                    Some((b'+', tail)) => (1, tail),
                    _ => (1, power),
                };
                if power.is_empty() || power.len() > 3 || !power.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                exponent = sign * power.iter().fold(0, |v, &d| v * 10 + i32::from(d - b'0'));
                break;
            }
            _ => return None,
        }
    }
    if digits == 0 || digits > 19 {
        return None;
    }
    T::exact_decimal(negative, value, exponent - after_point)
}

pub(super) trait Float: SortKey + std::str::FromStr + std::fmt::Debug {
    fn is_infinite(self) -> bool;
    fn is_zero(self) -> bool;
    /// `±digits * 10^power` where `digits` and `10^|power|` are both exact
    /// in this type (the product or quotient then correctly rounded);
    /// `None` where either is not.
    fn exact_decimal(negative: bool, digits: u64, power: i32) -> Option<Self>;
}
/// `Float` for a float type, given the powers of ten exact in it.
macro_rules! float {
    ($t:ty, $powers:expr) => {
        impl Float for $t {
            fn is_infinite(self) -> bool {
                <$t>::is_infinite(self)
            }
            fn is_zero(self) -> bool {
                self == 0.0
            }
            fn exact_decimal(negative: bool, digits: u64, power: i32) -> Option<$t> {
                const POWERS: &[$t] = &$powers;
                let ten = *POWERS.get(power.unsigned_abs() as usize)?;
                if digits > 1 << <$t>::MANTISSA_DIGITS {
                    return None;
                }
                let magnitude = if power < 0 {
                    digits as $t / ten
                } else {
                    digits as $t * ten
                };
                Some(if negative { -magnitude } else { magnitude })
            }
        }
    };
}
float!(
    f32,
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10]
);
float!(
    f64,
    [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]
);

pub(super) fn parse_float<T: Float>(text: &str) -> Result<T, String> {
    let value: T = text
        .parse()
        .map_err(|_| format!("is not a valid {}", T::TYPE))?;
    // Only an infinite or zero value needs a second look at the text (no
    // copy of it is made for any other).
    let unsigned = || text.strip_prefix(['-', '+']).unwrap_or(text);
    if value.is_infinite()
        && !unsigned().eq_ignore_ascii_case("inf")
        && !unsigned().eq_ignore_ascii_case("infinity")
    {
        return Err(format!(
            "is out of range for {} (it would become infinite)",
            T::TYPE
        ));
    }
    if value.is_zero() {
        let digits = unsigned();
        let mantissa = digits.split(['e', 'E']).next().unwrap_or("");
        if mantissa.bytes().any(|b| matches!(b, b'1'..=b'9')) {
            return Err(format!(
                "is too small for {} (it would become zero)",
                T::TYPE
            ));
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::parse_text;
    use crate::codec::test_support::{float_cases, random_line};
    use crate::conformance::workload::Rng;
    use wildhost_abi::KeyType;

    /// What the float fast path reads, `str::parse` reads as the same bits:
    /// random lines of digits, points and signs, decimals as people write
    /// them, and the limits of the exact path (2^53 and 2^24, 22 and 10
    /// digits after the point); `WILDHOST_FLOAT_CASES` sets how many random
    /// ones.
    #[test]
    fn the_float_fast_path_agrees_with_str_parse() {
        fn agree<T: Float + PartialEq>(line: &str, bits: fn(T) -> u64) -> bool {
            let mut input = line.as_bytes().to_vec();
            input.extend_from_slice(b"\n-7.5\n");
            let Some((fast, used)) = scan_float::<T>(&input) else {
                return false;
            };
            assert_eq!(used, line.len() + 1, "{line:?}");
            let full: T = line
                .trim_end_matches('\r')
                .parse()
                .unwrap_or_else(|_| panic!("{line:?} taken but not a number"));
            assert_eq!(bits(fast), bits(full), "{line:?}");
            true
        }
        let f32_bits = |x: f32| u64::from(x.to_bits());
        let f64_bits = |x: f64| x.to_bits();
        let cases = float_cases();
        let mut rng = Rng::new(23);
        let mut taken = 0;
        for _ in 0..cases {
            let line = random_line(&mut rng, b"0123456789.-+eE", 8);
            agree::<f32>(&line, f32_bits);
            agree::<f64>(&line, f64_bits);
            // A decimal with a random number of digits after the point.
            let digits = rng.next_u64() >> (rng.next_u64() % 64);
            let text = digits.to_string();
            let point = (rng.next_u64() as usize) % (text.len() + 1);
            let sign = ["", "-", "+"][(rng.next_u64() % 3) as usize];
            let line = format!("{sign}{}.{}", &text[..point], &text[point..]);
            taken += usize::from(agree::<f64>(&line, f64_bits));
            agree::<f32>(&line, f32_bits);
            agree::<f64>(&format!("{line}\r"), f64_bits);
            // And with an exponent.
            let power = (rng.next_u64() % 70) as i64 - 35;
            let e = ["e", "E"][(rng.next_u64() % 2) as usize];
            let plus = if power >= 0 && rng.next_u64().is_multiple_of(2) {
                "+"
            } else {
                ""
            };
            let line = format!("{line}{e}{plus}{power}");
            agree::<f64>(&line, f64_bits);
            agree::<f32>(&line, f32_bits);
        }
        // Most decimals people write take the fast path.
        assert!(taken > cases / 2, "{taken} of {cases}");
        for limit in [1u64 << 24, 1 << 53] {
            for digits in [limit - 1, limit, limit + 1, limit + 2] {
                for after in [0, 1, 9, 10, 11, 21, 22, 23] {
                    let text = digits.to_string();
                    let line = if after < text.len() {
                        format!(
                            "{}.{}",
                            &text[..text.len() - after],
                            &text[text.len() - after..]
                        )
                    } else {
                        format!("0.{}{text}", "0".repeat(after - text.len()))
                    };
                    agree::<f32>(&line, f32_bits);
                    agree::<f64>(&line, f64_bits);
                }
            }
        }
        for power in -25..=25 {
            for mantissa in ["1", "9007199254740993", "16777217", "123.456", "0.5"] {
                agree::<f64>(&format!("{mantissa}e{power}"), f64_bits);
                agree::<f32>(&format!("{mantissa}e{power}"), f32_bits);
            }
        }
        assert!(agree::<f64>("3.14159", f64_bits));
        assert!(agree::<f32>("-0.0", f32_bits));
        assert!(agree::<f64>("1.5e-7", f64_bits));
        assert!(agree::<f64>("2E+21", f64_bits));
        for refused in ["1e", "1e+", "e5", "1e5.5", "1e0005", "1e5e5", "--1"] {
            assert!(!agree::<f64>(refused, f64_bits), "{refused}");
        }
    }

    #[test]
    fn zero_literals_are_not_underflow() {
        let keys = parse_text(b"0\n-0.0\n0e10\n0.000\n", KeyType::F32, None).unwrap();
        assert_eq!(keys.len(), 4);
    }
}
