//! Reading and writing arrays of keys: text (one number per line) and
//! binary (the raw little-endian array).
//!
//! Reading never loses or changes a number: a line that is not exactly a
//! value of the type is an error naming the line, including integers out of
//! range and float literals that would overflow to infinity or underflow to
//! zero. Text output round-trips every value (floats in their shortest exact
//! form); only NaN payloads, which text cannot spell, are lost there, so
//! `binary` is the format for bit-exact data.
//!
//! This file is the codec's public surface: the entry points, [`Writer`]
//! for keys that arrive in pieces, and the traits the command uses. The
//! work is done one job per file:
//!
//! - `lines`: the text line loop both parsers share (each line to the
//!   type's fast path, else to its full parser, which words the error with
//!   the line's number), and where a line ends.
//! - `int` and `float`: the lines of one kind of key each: a fast path
//!   that reads the common case straight off the input, and the full
//!   parser behind it, which decides every other line. [`parse_text`]
//!   hands the pair to `lines`.
//! - `binary`: the raw little-endian array, decoded and encoded a block at
//!   a time with the [`LeBytes`] impls.
//! - `text_out`: the [`TextKey`] impls, integers' digits eight at a time
//!   and floats in their shortest form as `{:?}` lays it out.
//! - [`records`]: text as `wildhost sort` sorts it: lines keyed by the
//!   whole line or a field, sorted with their positions, written back
//!   verbatim.
//!
//! Unit tests sit in the file of the code they test; the helpers they
//! share are in `test_support`.

mod binary;
mod float;
mod int;
mod lines;
pub mod records;
#[cfg(test)]
mod test_support;
mod text_out;

use crate::keys::{KeyVec, SortKey};
use crate::running::integrity::{BLOCK, OutputCheck, Tally};
use crate::with_keys;
use binary::{decode, encode};
use float::{parse_float, scan_float};
use int::{parse_int, scan_int};
use lines::parse_lines;

pub use crate::budget::Encoding;
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
    /// A record's key field is not a value of the type.
    #[error("line {line}, field {field}: `{text}` {problem}")]
    Field {
        /// 1-based line number.
        line: usize,
        /// 1-based field number.
        field: usize,
        /// The field, trimmed and shortened for display.
        text: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A record's key field is not UTF-8.
    #[error("line {line}, field {field}: not valid UTF-8 text")]
    FieldNotUtf8 {
        /// 1-based line number.
        line: usize,
        /// 1-based field number.
        field: usize,
    },
    /// A record's key field holds nothing but blanks.
    #[error("line {line}: field {field} is empty")]
    EmptyField {
        /// 1-based line number.
        line: usize,
        /// 1-based field number.
        field: usize,
    },
    /// A record has fewer fields than the key's.
    #[error("line {line} has no field {field}: it has {found}")]
    MissingField {
        /// 1-based line number.
        line: usize,
        /// The key's field, from 1.
        field: usize,
        /// How many fields the line has.
        found: usize,
    },
    /// A line without a number where the whole line is the key.
    #[error("line {line} is blank: it holds no number")]
    BlankLine {
        /// 1-based line number.
        line: usize,
    },
    /// The memory to hold the keys cannot be had.
    #[error("cannot allocate the {bytes} bytes the keys may take")]
    OutOfMemory {
        /// The bytes asked for.
        bytes: usize,
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

impl ParseError {
    /// The error as it reads when `lines` more lines come before the text
    /// it was found in: its line number moved on by `lines`.
    pub(crate) fn after_lines(self, lines: usize) -> ParseError {
        use ParseError::*;
        match self {
            Line {
                line,
                text,
                problem,
            } => Line {
                line: line + lines,
                text,
                problem,
            },
            NotUtf8 { line } => NotUtf8 { line: line + lines },
            Field {
                line,
                field,
                text,
                problem,
            } => Field {
                line: line + lines,
                field,
                text,
                problem,
            },
            FieldNotUtf8 { line, field } => FieldNotUtf8 {
                line: line + lines,
                field,
            },
            EmptyField { line, field } => EmptyField {
                line: line + lines,
                field,
            },
            MissingField { line, field, found } => MissingField {
                line: line + lines,
                field,
                found,
            },
            BlankLine { line } => BlankLine { line: line + lines },
            e @ (OutOfMemory { .. } | BinaryLength { .. }) => e,
        }
    }
}

/// Parses text: one number per line, blanks around it ignored, blank lines
/// skipped, `\n` or `\r\n` line ends.
///
/// With a `tally`, the keys are fingerprinted a block at a time as they are
/// parsed (see [`integrity`](crate::running::integrity)).
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
        KeyType::U32 => KeyVec::U32(decode(input, tally)?),
        KeyType::U64 => KeyVec::U64(decode(input, tally)?),
        KeyType::I32 => KeyVec::I32(decode(input, tally)?),
        KeyType::I64 => KeyVec::I64(decode(input, tally)?),
        KeyType::F32 => KeyVec::F32(decode(input, tally)?),
        KeyType::F64 => KeyVec::F64(decode(input, tally)?),
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
/// encoded (see [`OutputCheck`]).
pub fn write_binary(keys: &KeyVec, out: &mut Vec<u8>, check: Option<&mut OutputCheck>) {
    with_keys!(keys, v => Writer::new(Encoding::Binary, v.len(), check).push(v, out));
}

/// Appends the keys as text, one per line. Floats use the shortest form that
/// reads back as the same value (`1e-7`, `0.1`, `-0.0`, `inf`); NaN is
/// written `NaN` or `-NaN` after its sign bit.
///
/// With a `check`, the keys are checked a block at a time as they are
/// formatted.
pub fn write_text(keys: &KeyVec, out: &mut Vec<u8>, check: Option<&mut OutputCheck>) {
    with_keys!(keys, v => Writer::new(Encoding::Text, v.len(), check).push(v, out));
}

/// Appends keys that arrive in pieces, in order, exactly as [`write_text`]
/// or [`write_binary`] appends them all at once, and checks them as they go
/// with an optional [`OutputCheck`] (across pieces too).
#[derive(Debug)]
pub struct Writer<'a, T> {
    encoding: Encoding,
    /// Bytes of output to make room for, once, at the first piece.
    room: Option<usize>,
    check: Option<&'a mut OutputCheck>,
    /// The last key written, for the order check across pieces.
    prev: Option<T>,
}

impl<'a, T: TextKey> Writer<'a, T> {
    /// A writer of `len` keys in all.
    pub fn new(
        encoding: Encoding,
        len: usize,
        check: Option<&'a mut OutputCheck>,
    ) -> Writer<'a, T> {
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
        check: Option<&'a mut OutputCheck>,
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
    use super::*;
    use crate::conformance::workload::{Dist, generate};
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
            let mut check = OutputCheck::default();
            match encoding {
                Encoding::Text => write_text(&whole, &mut expected, Some(&mut check)),
                Encoding::Binary => write_binary(&whole, &mut expected, Some(&mut check)),
            }
            assert_eq!(check.finish(print), Ok(()));
            for piece in [1, 5, BLOCK - 1, BLOCK + 1, 10 * BLOCK] {
                let mut out = Vec::new();
                let mut check = OutputCheck::default();
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
            let mut check = OutputCheck::default();
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
            let (mut binary, mut text) = (OutputCheck::default(), OutputCheck::default());
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
