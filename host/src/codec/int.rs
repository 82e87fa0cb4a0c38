//! Integer lines: the fast path that reads the common case straight off
//! the input, digits eight at a time as whole words ([`scan_int`]), and
//! the full parser behind it, which decides every other line and words
//! its error ([`parse_int`]).

use super::lines::line_end;
use crate::keys::SortKey;

pub(super) trait Integer:
    SortKey + std::str::FromStr<Err = std::num::ParseIntError>
{
    const SIGNED: bool;
    /// The value `±magnitude`, if it is one of the type.
    fn from_sign_magnitude(negative: bool, magnitude: u64) -> Option<Self>;
}

macro_rules! integer {
    (unsigned: $($u:ty),*; signed: $($i:ty),*) => {
        $(impl Integer for $u {
            const SIGNED: bool = false;
            fn from_sign_magnitude(negative: bool, magnitude: u64) -> Option<Self> {
                // "-0" is not a valid unsigned number to `str::parse` either.
                if negative { None } else { Self::try_from(magnitude).ok() }
            }
        })*
        $(impl Integer for $i {
            const SIGNED: bool = true;
            fn from_sign_magnitude(negative: bool, magnitude: u64) -> Option<Self> {
                // One more below zero than above; the sign is applied in
                // two's complement without a branch (random signs would
                // mispredict half the time).
                if magnitude > Self::MAX as u64 + u64::from(negative) {
                    return None;
                }
                let value = if negative { magnitude.wrapping_neg() } else { magnitude };
                // Truncating keeps the two's complement value, which fits.
                Some(value as Self)
            }
        })*
    };
}
integer!(unsigned: u32, u64; signed: i32, i64);

/// The common case of an integer line, read straight off the input: an
/// optional sign, 1 to 19 ASCII digits (below 10^19, so the magnitude
/// cannot overflow), an optional `\r`, then the newline or the end of the
/// input, and a value in the type's range. The key and the bytes the line
/// took, newline included. Anything else is `None`, and the line goes to
/// [`parse_int`], which decides it and words the error; what this accepts,
/// `str::parse` accepts as the same value once the `\r` is dropped from
/// the line (tested).
///
/// The line's end is found first (two 16-byte compares on x86-64), and the
/// digits then read eight at a time as whole words: each line's end is
/// all the next line waits for, so the lines' digits are read side by
/// side, not down one chain of a multiply and an add per digit (figures
/// in docs/PERFORMANCE.md).
#[inline(always)]
pub(super) fn scan_int<T: Integer>(input: &[u8]) -> Option<(T, usize)> {
    let end = line_end(input)?;
    let used = if end < input.len() { end + 1 } else { end };
    let mut stop = end;
    if stop > 0 && input[stop - 1] == b'\r' {
        stop -= 1;
    }
    int_within(input, 0, stop).map(|key| (key, used))
}

/// The integer spelled by exactly `input[start..stop]`: an optional sign
/// and 1 to 19 ASCII digits, of a value in the type's range; `None` for
/// anything else (what [`parse_int`] then decides). Reads up to eight
/// bytes past `stop` if the input goes on.
#[inline(always)]
pub(super) fn int_within<T: Integer>(input: &[u8], start: usize, stop: usize) -> Option<T> {
    let first = *input.get(start)?;
    let negative = first == b'-';
    let digits = start + usize::from(negative || first == b'+');
    let magnitude = decimal(input, digits, stop)?;
    T::from_sign_magnitude(negative, magnitude)
}

/// The value of `input[start..stop]` as 1 to 19 decimal digits; `None` if
/// that is not what it holds. Reads eight bytes from `start`, past `stop`
/// if the input goes on.
#[inline(always)]
fn decimal(input: &[u8], start: usize, stop: usize) -> Option<u64> {
    let n = stop.checked_sub(start)?;
    if n == 0 || n > 19 {
        return None;
    }
    let word = |at: usize| {
        input
            .get(at..at + 8)
            .map(|w| u64::from_le_bytes(w.try_into().unwrap_or_default()))
    };
    let Some(first) = word(start) else {
        // The input's last few bytes.
        return input[start..stop].iter().try_fold(0u64, |value, &b| {
            let digit = b.wrapping_sub(b'0');
            (digit <= 9).then(|| value * 10 + u64::from(digit))
        });
    };
    // The first word holds the digits that do not make whole words; whole
    // words of eight follow it.
    let head = (n - 1) % 8 + 1;
    let mut valid = leading_digits(first) >= head;
    let mut value = digits_value(first, head);
    let mut at = start + head;
    while at < stop {
        let next = word(at)?;
        valid &= leading_digits(next) == 8;
        // Wrapping: the words are read before their digits are known to be
        // digits, and a line that is not a number is thrown away anyway.
        value = value
            .wrapping_mul(POW10[8])
            .wrapping_add(digits_value(next, 8));
        at += 8;
    }
    valid.then_some(value)
}

/// `10^i` for `i` up to 8.
const POW10: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// Each byte's value, `0x01` times eight.
const ONES: u64 = 0x0101_0101_0101_0101;

/// How many of the eight bytes of `word` (little-endian: its first byte is
/// the lowest) are ASCII digits before the first one that is not.
#[inline(always)]
fn leading_digits(word: u64) -> usize {
    // A digit's byte is 0x30..=0x39: its high half is 3, and so is that of
    // the byte plus 6. Adding 6 carries out of a byte only from 0xFA up,
    // which fails the test itself, so a carry can only spoil bytes after
    // the first one that fails.
    let high = (word & (0xF0 * ONES)) ^ (0x30 * ONES);
    let plus6 = (word.wrapping_add(0x06 * ONES) & (0xF0 * ONES)) ^ (0x30 * ONES);
    ((high | plus6).trailing_zeros() / 8) as usize
}

/// The value of the first `digits` (1 to 8) bytes of `word`, all ASCII
/// digits, read as a decimal number.
#[inline(always)]
fn digits_value(word: u64, digits: usize) -> u64 {
    // Each byte's digit value; the subtraction borrows only upwards, from
    // bytes after the digits, which the shift drops. The digits end up in
    // the high bytes, below them zeros: leading zeros of the number.
    let mut v = word.wrapping_sub(0x30 * ONES) << (8 * (8 - digits));
    // Pairs of digits, then fours, then all eight.
    // (Wrapping: bytes that are not digits give garbage, which the caller
    // throws away.)
    v = v.wrapping_mul(10).wrapping_add(v >> 8) & 0x00FF_00FF_00FF_00FF;
    v = v.wrapping_mul(100).wrapping_add(v >> 16) & 0x0000_FFFF_0000_FFFF;
    v.wrapping_mul(10_000).wrapping_add(v >> 32) & 0xFFFF_FFFF
}

pub(super) fn parse_int<T: Integer>(text: &str) -> Result<T, String> {
    use std::num::IntErrorKind;
    text.parse::<T>().map_err(|e| {
        let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
        let is_number = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        match e.kind() {
            IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => {
                format!("is out of range for {}", T::TYPE)
            }
            _ if !T::SIGNED && is_number && text.starts_with('-') => {
                format!("is out of range for {} (negative)", T::TYPE)
            }
            _ => format!("is not a valid {}", T::TYPE),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::lines::shorten;
    use crate::codec::test_support::random_line;
    use crate::codec::{ParseError, parse_text};
    use crate::conformance::workload::Rng;
    use crate::keys::KeyVec;
    use wildhost_abi::KeyType;

    #[test]
    fn the_integer_fast_path_agrees_with_str_parse() {
        // The line alone, and followed by more input: a newline and each of
        // `after` (digits, junk, bytes that carry when 6 is added to them),
        // so that words read eight bytes at a time span the line's end.
        fn agree<T: Integer + PartialEq + std::fmt::Debug>(line: &str) {
            let after: [&[u8]; 6] = [
                b"",
                b"12345678901234567890",
                b"\xff\xfa\xfb9\x00",
                b"-1\n2\n3\n4\n",
                b"\r\n",
                b"/:09",
            ];
            for (i, tail) in after.iter().enumerate() {
                let mut input = line.as_bytes().to_vec();
                let ends = if i == 0 { line.len() } else { line.len() + 1 };
                if i > 0 {
                    input.push(b'\n');
                    input.extend_from_slice(tail);
                }
                if let Some((fast, used)) = scan_int::<T>(&input) {
                    assert_eq!(used, ends, "{input:?}");
                    assert_eq!(
                        line.parse::<T>().ok(),
                        Some(fast),
                        "{line:?} as {}",
                        T::TYPE
                    );
                }
            }
            // Junk right after the digits, instead of the newline, is never
            // taken as the line's end.
            for junk in [b'\xfa', b'\xff', b'/', b':', b' ', b'\x00'] {
                let mut input = line.as_bytes().to_vec();
                input.push(junk);
                input.extend_from_slice(b"0123456789\n");
                assert_eq!(scan_int::<T>(&input), None, "{input:?}");
            }
        }
        let mut lines: Vec<String> = [
            "0",
            "-0",
            "+0",
            "007",
            "-007",
            "+",
            "-",
            "",
            "+-1",
            "--1",
            "1-",
            "1 2",
            "0x10",
            "4294967295",
            "4294967296",
            "-2147483648",
            "-2147483649",
            "2147483647",
            "2147483648",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "9999999999999999999",
            "18446744073709551615",
            "18446744073709551616",
            "0000000000000000000001",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut rng = Rng::new(5);
        for _ in 0..100_000 {
            // Mostly digits, signs and junk now and then.
            lines.push(random_line(&mut rng, b"0123456789+-x", 16));
        }
        for line in &lines {
            agree::<u32>(line);
            agree::<u64>(line);
            agree::<i32>(line);
            agree::<i64>(line);
        }
        // The common case does take the fast path.
        assert_eq!(
            scan_int::<i64>(b"-9223372036854775808\n5"),
            Some((i64::MIN, 21))
        );
        assert_eq!(scan_int::<i64>(b"123\r\n"), Some((123, 5)));
        assert_eq!(scan_int::<u64>(b"10000000000000000000"), None); // 20 digits
        assert_eq!(scan_int::<u32>(b"+4294967295"), Some((u32::MAX, 11)));
        assert_eq!(scan_int::<u32>(b"-0"), None);
        assert_eq!(scan_int::<u32>(b" 1"), None);
        assert_eq!(scan_int::<u32>(b"1 "), None);
        // Every length of digits, with words of the input ending anywhere
        // in them.
        let digits = "1234567890123456789";
        for len in 1..=19 {
            for pad in 0..40 {
                let line = format!("{}\n{}", &digits[..len], "7".repeat(pad));
                let value: u64 = digits[..len].parse().expect("digits");
                assert_eq!(
                    scan_int::<u64>(line.as_bytes()),
                    Some((value, len + 1)),
                    "{line:?}"
                );
            }
        }
        assert_eq!(scan_int::<u64>(b"12345678901234567890\n11111111"), None);
        assert_eq!(scan_int::<u64>(b"00000000000000000001\n11111111"), None);
    }

    /// The line loop as it was before the fast path: every line split off,
    /// trimmed, checked as UTF-8 and given to `str::parse`.
    fn reference<T: Integer>(input: &[u8]) -> Result<Vec<T>, ParseError> {
        let mut keys = Vec::new();
        for (index, raw) in input.split(|&b| b == b'\n').enumerate() {
            let line = index + 1;
            let trimmed = raw.trim_ascii();
            if trimmed.is_empty() {
                continue;
            }
            let text = std::str::from_utf8(trimmed).map_err(|_| ParseError::NotUtf8 { line })?;
            keys.push(parse_int(text).map_err(|problem| ParseError::Line {
                line,
                text: shorten(text),
                problem,
            })?);
        }
        Ok(keys)
    }

    #[test]
    fn text_parsing_gives_what_the_plain_line_loop_gives() {
        /// Whether the input parsed as i64 (after checking every type).
        fn same(input: &[u8]) -> bool {
            let shown = String::from_utf8_lossy(input);
            let u32s = reference::<u32>(input).map(KeyVec::U32);
            assert_eq!(parse_text(input, KeyType::U32, None), u32s, "{shown:?}");
            let u64s = reference::<u64>(input).map(KeyVec::U64);
            assert_eq!(parse_text(input, KeyType::U64, None), u64s, "{shown:?}");
            let i32s = reference::<i32>(input).map(KeyVec::I32);
            assert_eq!(parse_text(input, KeyType::I32, None), i32s, "{shown:?}");
            let i64s = reference::<i64>(input).map(KeyVec::I64);
            assert_eq!(parse_text(input, KeyType::I64, None), i64s, "{shown:?}");
            i64s.is_ok()
        }
        let mut rng = Rng::new(6);
        let alphabet = b"0123456789012345678901234567890123456789-+ \t\r\n\n\n\nx\xff";
        for _ in 0..20_000 {
            let len = (rng.next_u64() % 120) as usize;
            let input: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.next_u64() as usize % alphabet.len()])
                .collect();
            same(&input);
        }
        // Mostly well-formed: numbers of every length, some signed, some
        // with blanks or `\r` around them, blank lines between.
        let decorations: [&[u8]; 6] = [b"", b"", b"", b" ", b"\r", b"\t"];
        let mut parsed = 0;
        for _ in 0..5_000 {
            let mut input = Vec::new();
            for _ in 0..(rng.next_u64() % 12) {
                let before = decorations[rng.next_u64() as usize % decorations.len()];
                input.extend_from_slice(before);
                match rng.next_u64() % 8 {
                    0 => input.push(b'-'),
                    1 => input.push(b'+'),
                    _ => {}
                }
                let number = rng.next_u64() >> (rng.next_u64() % 64);
                input.extend_from_slice(number.to_string().as_bytes());
                let after = decorations[rng.next_u64() as usize % decorations.len()];
                input.extend_from_slice(after);
                input.push(b'\n');
                if rng.next_u64().is_multiple_of(5) {
                    input.push(b'\n');
                }
            }
            parsed += usize::from(same(&input));
        }
        assert!(parsed > 1_000, "only {parsed} well-formed inputs parsed");
    }
}
