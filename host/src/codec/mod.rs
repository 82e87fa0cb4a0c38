//! Reading and writing arrays of keys: text (one number per line) and
//! binary (the raw little-endian array).
//!
//! Reading never loses or changes a number: a line that is not exactly a
//! value of the type is an error naming the line, including integers out of
//! range and float literals that would overflow to infinity or underflow to
//! zero. Text output round-trips every value (floats in their shortest exact
//! form); only NaN payloads, which text cannot spell, are lost there, so
//! `binary` is the format for bit-exact data.

mod binary;
mod int;
mod lines;
#[cfg(test)]
mod test_support;
mod text_out;

use crate::keys::{KeyVec, SortKey};
use crate::running::integrity::{BLOCK, Check, Tally};
use crate::with_keys;
use binary::{decode, encode};
use int::{parse_int, scan_int};
use lines::{line_end, parse_lines};

use wildhost_abi::KeyType;

/// Why input could not be read as keys.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A text line is not a value of the type.
    #[error("line {line}: `{text}` {problem}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// The line, trimmed and shortened for display.
        text: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A text line is not UTF-8.
    #[error("line {line}: not valid UTF-8 text")]
    NotUtf8 {
        /// 1-based line number.
        line: usize,
    },
    /// Binary input whose length is not a whole number of keys.
    #[error("the input is {len} bytes, not a whole number of {size}-byte {key_type} keys")]
    BinaryLength {
        /// Input length in bytes.
        len: usize,
        /// Key size in bytes.
        size: usize,
        /// The key type.
        key_type: KeyType,
    },
}

/// Parses text: one number per line, blanks around it ignored, blank lines
/// skipped, `\n` or `\r\n` line ends.
///
/// With a `tally`, the keys are fingerprinted a block at a time as they are
/// parsed (see [`integrity`](crate::integrity)).
pub fn parse_text(
    input: &[u8],
    key_type: KeyType,
    tally: Option<&mut Tally>,
) -> Result<KeyVec, ParseError> {
    Ok(match key_type {
        KeyType::U32 => KeyVec::U32(parse_lines(input, scan_int, parse_int, tally)?),
        KeyType::U64 => KeyVec::U64(parse_lines(input, scan_int, parse_int, tally)?),
        KeyType::I32 => KeyVec::I32(parse_lines(input, scan_int, parse_int, tally)?),
        KeyType::I64 => KeyVec::I64(parse_lines(input, scan_int, parse_int, tally)?),
        KeyType::F32 => KeyVec::F32(parse_lines(input, scan_float, parse_float, tally)?),
        KeyType::F64 => KeyVec::F64(parse_lines(input, scan_float, parse_float, tally)?),
    })
}

/// The common case of a float line, read straight off the input: an
/// optional sign, then digits with at most one point among them, an
/// optional exponent (`e` or `E`, an optional sign, one to three digits), an
/// optional `\r`, then the newline or the end of the input, whose value is
/// exact in the float type's arithmetic: the digits as an integer fit its
/// significand (`f64`: up to 2^53; `f32`: 2^24) and the power of ten they
/// are scaled by is exact too (`f64`: 10^-22 to 10^22; `f32`: 10^-10 to
/// 10^10). One multiplication or division of exact values is correctly
/// rounded, so this gives the bits `str::parse` gives (tested). Anything else is
/// `None`, for [`parse_float`] (`wildhost sort -t f64` of 1e6 values
/// written with six decimals: 63.6 -> 46.5 ms, 11 alternating runs).
#[inline]
fn scan_float<T: Float>(input: &[u8]) -> Option<(T, usize)> {
    let end = line_end(input)?;
    let used = if end < input.len() { end + 1 } else { end };
    let mut stop = end;
    if stop > 0 && input[stop - 1] == b'\r' {
        stop -= 1;
    }
    let first = input.first().copied().unwrap_or_default();
    let negative = first == b'-';
    let start = usize::from(negative || first == b'+');
    let (mut value, mut digits, mut after_point, mut point) = (0u64, 0u32, 0i32, false);
    let mut rest = input[start..stop].iter();
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
    T::exact_decimal(negative, value, exponent - after_point).map(|key| (key, used))
}

trait Float: SortKey + std::str::FromStr + std::fmt::Debug {
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

fn parse_float<T: Float>(text: &str) -> Result<T, String> {
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

/// Parses binary input: the raw little-endian array.
///
/// With a `tally`, the keys are fingerprinted a block at a time as they are
/// decoded, each block while it is in the cache.
pub fn parse_binary(
    input: &[u8],
    key_type: KeyType,
    tally: Option<&mut Tally>,
) -> Result<KeyVec, ParseError> {
    let size = key_type.size();
    if !input.len().is_multiple_of(size) {
        return Err(ParseError::BinaryLength {
            len: input.len(),
            size,
            key_type,
        });
    }
    Ok(match key_type {
        KeyType::U32 => KeyVec::U32(decode(input, tally)),
        KeyType::U64 => KeyVec::U64(decode(input, tally)),
        KeyType::I32 => KeyVec::I32(decode(input, tally)),
        KeyType::I64 => KeyVec::I64(decode(input, tally)),
        KeyType::F32 => KeyVec::F32(decode(input, tally)),
        KeyType::F64 => KeyVec::F64(decode(input, tally)),
    })
}

/// A key's little-endian bytes.
pub trait LeBytes: SortKey {
    /// The byte array.
    type Bytes: AsRef<[u8]> + AsMut<[u8]> + Default;
    /// The key from its bytes.
    fn from_le(bytes: Self::Bytes) -> Self;
    /// The key's bytes.
    fn to_le(self) -> Self::Bytes;
}

/// Appends the keys as binary: the raw little-endian array.
///
/// With a `check`, the keys are checked a block at a time as they are
/// encoded (see [`integrity::Check`](crate::integrity::Check)).
pub fn write_binary(keys: &KeyVec, out: &mut Vec<u8>, check: Option<&mut Check>) {
    with_keys!(keys, v => Writer::new(Encoding::Binary, v.len(), check).push(v, out));
}

/// Appends the keys as text, one per line. Floats use the shortest form that
/// reads back as the same value (`1e-7`, `0.1`, `-0.0`, `inf`); NaN is
/// written `NaN` or `-NaN` after its sign bit.
///
/// With a `check`, the keys are checked a block at a time as they are
/// formatted.
pub fn write_text(keys: &KeyVec, out: &mut Vec<u8>, check: Option<&mut Check>) {
    with_keys!(keys, v => Writer::new(Encoding::Text, v.len(), check).push(v, out));
}

/// The two forms keys are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// One key per line, as [`write_text`] writes them.
    Text,
    /// The raw little-endian array, as [`write_binary`] writes it.
    Binary,
}

/// Appends keys that arrive in pieces, in order, exactly as [`write_text`]
/// or [`write_binary`] appends them all at once, and checks them as they go
/// with an optional [`Check`] (across pieces too).
#[derive(Debug)]
pub struct Writer<'a, T> {
    encoding: Encoding,
    /// Bytes of output to make room for, once, at the first piece.
    room: Option<usize>,
    check: Option<&'a mut Check>,
    /// The last key written, for the order check across pieces.
    prev: Option<T>,
}

impl<'a, T: TextKey> Writer<'a, T> {
    /// A writer of `len` keys in all.
    pub fn new(encoding: Encoding, len: usize, check: Option<&'a mut Check>) -> Writer<'a, T> {
        let room = match encoding {
            Encoding::Binary => len.saturating_mul(size_of::<T>()),
            // The longest key takes 20 bytes and its newline (floats: 24
            // and one); the pages never written are never faulted in.
            Encoding::Text => len.saturating_mul(25),
        };
        Writer::with_room(encoding, room, check)
    }

    /// A writer that makes room for `bytes` of output at first, for when
    /// the number of keys is not known yet (the output grows past it if
    /// need be).
    pub fn with_room(
        encoding: Encoding,
        bytes: usize,
        check: Option<&'a mut Check>,
    ) -> Writer<'a, T> {
        Writer {
            encoding,
            room: Some(bytes),
            check,
            prev: None,
        }
    }

    /// Appends the next keys to `out`.
    pub fn push(&mut self, keys: &[T], out: &mut Vec<u8>) {
        if let Some(bytes) = self.room.take()
            && !crate::mem::try_reserve(out, bytes)
            && self.encoding == Encoding::Binary
        {
            out.reserve(bytes);
        }
        for block in keys.chunks(BLOCK) {
            match self.encoding {
                Encoding::Binary => encode(block, self.prev, out, self.check.as_deref_mut()),
                Encoding::Text => {
                    if let Some(check) = self.check.as_deref_mut() {
                        check.add(self.prev, block);
                    }
                    write_text_keys(block, out);
                }
            }
            self.prev = block.last().copied();
        }
    }
}

fn write_text_keys<T: TextKey>(keys: &[T], out: &mut Vec<u8>) {
    T::write_lines(keys, out);
}

/// A key's text form (implemented for the six key types).
pub trait TextKey: LeBytes {
    /// Appends the key's text to `out`.
    fn format(self, out: &mut Vec<u8>);

    /// Appends each key's text and a newline to `out`.
    fn write_lines(keys: &[Self], out: &mut Vec<u8>) {
        for &key in keys {
            key.format(out);
            out.push(b'\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{float_cases, random_line};
    use super::*;
    use crate::conformance::workload::{Dist, Rng, generate};
    use crate::running::integrity::{Wrong, fingerprint};

    /// Keys written in pieces of any size come out as written at once, and
    /// the check sees an unsorted pair that straddles two pieces.
    #[test]
    fn a_writer_fed_in_pieces_writes_and_checks_as_one_call() {
        let mut keys: Vec<f64> = generate(Dist::Specials, 3 * BLOCK + 7, 2);
        keys.sort_unstable_by(f64::total_cmp);
        let print = fingerprint(&keys);
        let whole = KeyVec::F64(keys.clone());
        for encoding in [Encoding::Text, Encoding::Binary] {
            let mut expected = Vec::new();
            let mut check = Check::default();
            match encoding {
                Encoding::Text => write_text(&whole, &mut expected, Some(&mut check)),
                Encoding::Binary => write_binary(&whole, &mut expected, Some(&mut check)),
            }
            assert_eq!(check.finish(print), Ok(()));
            for piece in [1, 5, BLOCK - 1, BLOCK + 1, 10 * BLOCK] {
                let mut out = Vec::new();
                let mut check = Check::default();
                let mut writer = Writer::new(encoding, keys.len(), Some(&mut check));
                for part in keys.chunks(piece) {
                    writer.push(part, &mut out);
                }
                assert!(out == expected, "{encoding:?} in pieces of {piece}");
                assert_eq!(check.finish(print), Ok(()));
            }
            // Out of order across the boundary between two pieces.
            let at = 99
                + keys[99..]
                    .windows(2)
                    .position(|w| w[0].total_cmp(&w[1]).is_lt())
                    .expect("two distinct keys");
            let mut unsorted = keys.clone();
            unsorted.swap(at, at + 1);
            let mut check = Check::default();
            let mut writer = Writer::new(encoding, keys.len(), Some(&mut check));
            writer.push(&unsorted[..=at], &mut Vec::new());
            writer.push(&unsorted[at + 1..], &mut Vec::new());
            assert_eq!(check.finish(print), Err(Wrong::NotSorted { index: at }));
        }
    }

    fn err(input: &str, key_type: KeyType) -> String {
        parse_text(input.as_bytes(), key_type, None)
            .expect_err("invalid")
            .to_string()
    }

    #[test]
    fn bad_lines_are_named_by_number() {
        assert_eq!(
            err("1\n2\nthree\n", KeyType::I64),
            "line 3: `three` is not a valid i64"
        );
        assert_eq!(
            err("4294967296", KeyType::U32),
            "line 1: `4294967296` is out of range for u32"
        );
        assert_eq!(
            err("-1", KeyType::U64),
            "line 1: `-1` is out of range for u64 (negative)"
        );
        assert_eq!(
            err("-9223372036854775809", KeyType::I64),
            "line 1: `-9223372036854775809` is out of range for i64"
        );
        assert_eq!(err("1.5", KeyType::I32), "line 1: `1.5` is not a valid i32");
        assert_eq!(
            err("1e400", KeyType::F64),
            "line 1: `1e400` is out of range for f64 (it would become infinite)"
        );
        assert_eq!(
            err("1e39", KeyType::F32),
            "line 1: `1e39` is out of range for f32 (it would become infinite)"
        );
        assert_eq!(
            err("1e-400", KeyType::F64),
            "line 1: `1e-400` is too small for f64 (it would become zero)"
        );
        assert_eq!(
            err("-1E-400", KeyType::F64),
            "line 1: `-1E-400` is too small for f64 (it would become zero)"
        );
        assert_eq!(
            err("+1E+400", KeyType::F64),
            "line 1: `+1E+400` is out of range for f64 (it would become infinite)"
        );
        // Zeros and infinities written as such are values.
        for (text, value) in [
            ("0E5", 0.0),
            ("-0.000e-999", -0.0),
            ("INF", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
            ("+inf", f64::INFINITY),
        ] {
            match parse_text(text.as_bytes(), KeyType::F64, None) {
                Ok(KeyVec::F64(keys)) => {
                    assert_eq!(keys.len(), 1, "{text}");
                    assert_eq!(keys[0].to_bits(), value.to_bits(), "{text}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        assert_eq!(
            err("\u{1b}[2J", KeyType::F64),
            "line 1: `\\u{1b}[2J` is not a valid f64"
        );
        assert_eq!(
            parse_text(b"1\n\xff\n", KeyType::U32, None).unwrap_err(),
            ParseError::NotUtf8 { line: 2 }
        );
    }

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
    fn float_text_round_trips_every_special_value() {
        let values = [
            f64::NAN,
            -f64::NAN,
            f64::NEG_INFINITY,
            f64::INFINITY,
            -0.0,
            0.0,
            f64::MIN_POSITIVE / 4.0,
            -f64::MIN_POSITIVE / 3.0,
            f64::MAX,
            f64::MIN,
            0.1,
            1e-7,
            123_456_789.123_456_78,
        ];
        let mut text = Vec::new();
        write_text(&KeyVec::F64(values.to_vec()), &mut text, None);
        let KeyVec::F64(back) = parse_text(&text, KeyType::F64, None).unwrap() else {
            unreachable!()
        };
        for (a, b) in values.iter().zip(&back) {
            // NaN keeps its sign, not its payload; everything else is exact.
            if a.is_nan() {
                assert!(b.is_nan() && a.is_sign_negative() == b.is_sign_negative());
            } else {
                assert_eq!(a.to_bits(), b.to_bits(), "{a:?} came back as {b:?}");
            }
        }
    }

    #[test]
    fn zero_literals_are_not_underflow() {
        let keys = parse_text(b"0\n-0.0\n0e10\n0.000\n", KeyType::F32, None).unwrap();
        assert_eq!(keys.len(), 4);
    }

    #[test]
    fn parsing_and_encoding_carry_the_result_check_across_blocks() {
        use crate::conformance::workload::{Dist, generate};
        use crate::running::integrity::{Wrong, fingerprint};
        let keys: Vec<i64> = generate(Dist::Uniform, 3 * BLOCK + 5, 1);
        let all = KeyVec::I64(keys.clone());
        let (mut binary, mut text) = (Vec::new(), Vec::new());
        write_binary(&all, &mut binary, None);
        write_text(&all, &mut text, None);
        type Parser = fn(&[u8], KeyType, Option<&mut Tally>) -> Result<KeyVec, ParseError>;
        let parsers: [(&[u8], Parser); 2] = [(&binary, parse_binary), (&text, parse_text)];
        for (bytes, parse) in parsers {
            let mut tally = Tally::default();
            assert_eq!(
                parse(bytes, KeyType::I64, Some(&mut tally)),
                Ok(all.clone())
            );
            assert_eq!(tally.finish(), fingerprint(&keys));
        }

        let print = fingerprint(&keys);
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        let verdict = |keys: &[i64]| {
            let (mut binary, mut text) = (Check::default(), Check::default());
            write_binary(
                &KeyVec::I64(keys.to_vec()),
                &mut Vec::new(),
                Some(&mut binary),
            );
            write_text(
                &KeyVec::I64(keys.to_vec()),
                &mut Vec::new(),
                Some(&mut text),
            );
            let verdict = binary.finish(print);
            assert_eq!(verdict, text.finish(print));
            verdict
        };
        assert_eq!(verdict(&sorted), Ok(()));
        let mut across = sorted.clone();
        across.swap(BLOCK - 1, BLOCK);
        assert_eq!(verdict(&across), Err(Wrong::NotSorted { index: BLOCK - 1 }));
        let mut changed = sorted.clone();
        changed[2 * BLOCK] += 1;
        assert_eq!(verdict(&changed), Err(Wrong::NotThePermutation));
    }
}
