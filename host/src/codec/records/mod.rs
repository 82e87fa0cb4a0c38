//! Records: lines of text sorted by a number in each, and written back
//! byte for byte (what `wildhost sort` does with text).
//!
//! A line's key is the whole line or one of its fields ([`Layout`]). Each
//! key is paired with the position where its line starts, the pairs are
//! sorted through [`Backend::sort_pairs`], equal keys kept in input order,
//! and the lines are copied out in the sorted order ([`Records::write`]).
//! Positions are `u32` while the input is under 4 GiB, `u64` beyond.
//!
//! One shortcut, taken only where nothing can tell it apart: when every
//! line is exactly its integer key's canonical text (`-7`, not `-07`, `+7`
//! or `-7\r`), equal keys have equal lines, so the keys alone are sorted
//! with the backend's key sort and written back as text, which gives the
//! very same bytes without carrying positions.
//!
//! `read.rs` finds each line's key and start; `write.rs` gathers the
//! lines back out in the sorted order.

mod read;
mod run;
mod slots;
mod write;

pub use self::run::{RunForm, RunReader, write_keys_run};

use self::read::{PARALLEL_BYTES, parse_as_parallel};
use self::write::{
    BLOCK_LINES, Buffered, WORKER_BUFFER, gather, reversed, write_blocks, write_keys,
};
use crate::codec::{ParseError, TextKey};
use crate::error::SortError;
use crate::keys::{KeyVec, SortKey};
use crate::registry::Backend;
use crate::running::integrity::{
    Fingerprint, Wrong, fingerprint_on, fingerprint_pairs_on, verify_on, verify_pairs_on,
};
use crate::running::isolate::IsolatedSortError;
use crate::running::worker;
use crate::with_keys;
use memchr::memchr;
use std::cmp::Ordering;
use std::io;
use std::num::NonZeroUsize;
use std::time::Duration;
use wildhost_abi::KeyType;
use wildhost_abi::sdk::Payload;

/// How fields are told apart in a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fields {
    /// Runs of blanks (spaces and tabs) separate fields; blanks at the
    /// start of a line are not a field.
    Blanks,
    /// Every occurrence of this byte separates two fields, so fields may be
    /// empty (`1,,3` has three).
    Delimiter(u8),
}

/// What the lines of an input hold and which number in them is the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The type of the keys.
    pub key_type: KeyType,
    /// The key's field, counted from 1; `None`: the whole line.
    pub field: Option<NonZeroUsize>,
    /// How fields are separated (unused for whole lines).
    pub fields: Fields,
    /// The first line is a header: it stays first and holds no key.
    pub header: bool,
}

impl Layout {
    /// Whole lines of `key_type` numbers, no header.
    pub fn lines(key_type: KeyType) -> Layout {
        Layout {
            key_type,
            field: None,
            fields: Fields::Blanks,
            header: false,
        }
    }
}

/// The start of each record's line, in input order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Starts {
    U32(Vec<u32>),
    U64(Vec<u64>),
}

/// Runs `$body` with `$keys` bound to the records' keys (a `Vec` of their
/// type) and `$starts` to their lines' starts.
macro_rules! with_pairs {
    ($records:expr, $keys:ident, $starts:ident => $body:expr) => {
        match $records {
            (keys, Starts::U32($starts)) => with_keys!(keys, $keys => $body),
            (keys, Starts::U64($starts)) => with_keys!(keys, $keys => $body),
        }
    };
}

/// The records of an input: each line's key and where the line starts.
///
/// ```no_run
/// use wildhost::codec::records::{Fields, Layout, Records};
/// use wildhost::{KeyType, Registry};
/// use std::num::NonZeroUsize;
///
/// let registry = Registry::discover_standard();
/// let backend = registry.default_backend(KeyType::I64).expect("a backend");
/// let csv = b"b,20\na,-3\nc,20\nd,7\n";
/// let layout = Layout {
///     key_type: KeyType::I64,
///     field: NonZeroUsize::new(2),
///     fields: Fields::Delimiter(b','),
///     header: false,
/// };
/// let mut records = Records::parse(csv, &layout)?;
/// let print = records.fingerprint();
/// records.sort(backend)?;
/// records.verify(print)?;
/// let mut out = Vec::new();
/// records.write(false, &mut out)?;
/// assert_eq!(out, b"a,-3\nd,7\nb,20\nc,20\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Records<'a> {
    input: &'a [u8],
    /// Where the records start: after the header line, if there is one.
    body: usize,
    keys: KeyVec,
    starts: Starts,
    /// Every line is its key's canonical text: the keys alone are sorted.
    canonical: bool,
}

impl<'a> Records<'a> {
    /// Reads the keys of `input`'s lines as `layout` says. A line whose key
    /// is not a number of the type, or that has no such field, is an error
    /// naming the line (counted from 1, the header included), the field and
    /// the text. Lines end with `\n` or `\r\n`; the last may lack it.
    pub fn parse(input: &'a [u8], layout: &Layout) -> Result<Records<'a>, ParseError> {
        Records::parse_on(input, layout, 1)
    }

    /// [`Records::parse`] on up to `threads` threads (an input of a few
    /// MiB or less is read on one): the same records, and the same error.
    pub fn parse_on(
        input: &'a [u8],
        layout: &Layout,
        threads: usize,
    ) -> Result<Records<'a>, ParseError> {
        let threads = if input.len() < PARALLEL_BYTES {
            1
        } else {
            threads
        };
        let body = if layout.header {
            memchr(b'\n', input).map_or(input.len(), |end| end + 1)
        } else {
            0
        };
        let first_line = usize::from(layout.header);
        let small = u32::try_from(input.len()).is_ok();
        macro_rules! parse {
            ($($variant:ident => $t:ty),*) => {
                match (layout.key_type, small) {
                    $(
                        (KeyType::$variant, true) => {
                            let (keys, starts, canonical) =
                                parse_as_parallel::<$t, u32>(input, body, first_line, layout, threads)?;
                            (KeyVec::$variant(keys), Starts::U32(starts), canonical)
                        }
                        (KeyType::$variant, false) => {
                            let (keys, starts, canonical) =
                                parse_as_parallel::<$t, u64>(input, body, first_line, layout, threads)?;
                            (KeyVec::$variant(keys), Starts::U64(starts), canonical)
                        }
                    )*
                }
            };
        }
        let (keys, starts, canonical) =
            parse!(U32 => u32, U64 => u64, I32 => i32, I64 => i64, F32 => f32, F64 => f64);
        Ok(Records {
            input,
            body,
            keys,
            starts,
            canonical,
        })
    }

    /// How many records (lines, the header not counted).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is no record.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys, in input order before [`Records::sort`], sorted after.
    /// Float keys are read with `-0.0` as `0.0`: the two compare equal, as
    /// numbers do.
    pub fn keys(&self) -> &KeyVec {
        &self.keys
    }

    /// Whether every line is its key's canonical text, so that sorting
    /// the keys alone gives the same lines (see the module's notes).
    pub fn is_canonical(&self) -> bool {
        self.canonical
    }

    /// The fingerprint of what [`Records::sort`] sorts, for
    /// [`Records::verify`] to check its result against.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint_on(1)
    }

    /// [`Records::fingerprint`] on up to `threads` threads.
    pub fn fingerprint_on(&self, threads: usize) -> Fingerprint {
        if self.canonical {
            return with_keys!(&self.keys, keys => fingerprint_on(keys, threads));
        }
        with_pairs!((&self.keys, &self.starts), keys, starts => {
            fingerprint_pairs_on(keys, starts, threads)
        })
    }

    /// Sorts the records by key through `backend`, equal keys in input
    /// order whether or not the backend is stable.
    pub fn sort(&mut self, backend: &Backend) -> Result<(), SortError> {
        if self.canonical {
            return backend.sort_keys(&mut self.keys);
        }
        with_pairs!((&mut self.keys, &mut self.starts), keys, starts => {
            backend.sort_pairs(keys, starts)?;
            if !backend.is_stable() {
                restore_input_order(keys, starts);
            }
            Ok(())
        })
    }

    /// [`Records::sort`] on at most `threads` threads, where the backend
    /// takes a thread count (ABI 1.2, [`Backend::sort_with_threads`]).
    pub fn sort_on(&mut self, backend: &Backend, threads: usize) -> Result<(), SortError> {
        if self.canonical {
            return backend.sort_keys_with_threads(&mut self.keys, threads);
        }
        with_pairs!((&mut self.keys, &mut self.starts), keys, starts => {
            backend.sort_pairs_with_threads(keys, starts, threads)?;
            if !backend.is_stable() {
                restore_input_order(keys, starts);
            }
            Ok(())
        })
    }

    /// [`Records::sort`] in a forked worker process with a time limit, as
    /// `wildhost sort --isolate` does: a backend that crashes, exits or
    /// hangs is an error naming what happened. The worker sorts its own
    /// copy of the keys, each with its record's index, and sends back the
    /// indexes in sorted order, which are applied here (an index out of
    /// range is a [`Wrong`] result; the rest is for [`Records::verify`] to
    /// check); on an error the records are left as they were. Canonical
    /// records hand their keys to the worker alone, as
    /// [`worker::sort`] takes them, and get them back sorted; on an error
    /// they are left without keys.
    pub fn sort_isolated(
        &mut self,
        backend: &Backend,
        timeout: Duration,
    ) -> Result<(), IsolatedError> {
        if self.canonical {
            with_keys!(&mut self.keys, keys => worker::sort(backend, keys, timeout))?;
            return Ok(());
        }
        let len = self.len();
        let stable = backend.is_stable();
        let order = with_keys!(&self.keys, keys => {
            let run = move || {
                let mut keys = keys.clone();
                let mut order: Vec<u64> = (0..len as u64).collect();
                backend.sort_pairs(&mut keys, &mut order)?;
                if !stable {
                    restore_input_order(&keys, &mut order);
                }
                Ok(order)
            };
            // SAFETY: `run` copies the keys, allocates and calls the
            // backend, as the worker always does: it takes no lock.
            unsafe { worker::run(backend, timeout, len, run) }
        })?;
        self.apply_order(&order).map_err(IsolatedError::Wrong)
    }

    /// Puts the records in the order of `order`, whose `i`-th value is the
    /// input index of the record that goes `i`-th. Values out of range, or
    /// not one per record, are [`Wrong::NotThePermutation`] and change
    /// nothing; repeated values are for [`Records::verify`] to find.
    pub fn apply_order(&mut self, order: &[u64]) -> Result<(), Wrong> {
        let len = self.len();
        if order.len() != len || order.iter().any(|&i| i >= len as u64) {
            return Err(Wrong::NotThePermutation);
        }
        if self.canonical {
            with_keys!(&mut self.keys, keys => {
                *keys = order.iter().map(|&i| keys[i as usize]).collect();
            });
            return Ok(());
        }
        with_pairs!((&mut self.keys, &mut self.starts), keys, starts => {
            *keys = order.iter().map(|&i| keys[i as usize]).collect();
            *starts = order.iter().map(|&i| starts[i as usize]).collect();
        });
        Ok(())
    }

    /// Checks a sorted result: in order, equal keys in input order, and the
    /// records whose [`Records::fingerprint`] was `input`.
    pub fn verify(&self, input: Fingerprint) -> Result<(), Wrong> {
        self.verify_on(input, 1)
    }

    /// [`Records::verify`] on up to `threads` threads: the same verdict.
    pub fn verify_on(&self, input: Fingerprint, threads: usize) -> Result<(), Wrong> {
        if self.canonical {
            return with_keys!(&self.keys, keys => verify_on(keys, input, threads));
        }
        with_pairs!((&self.keys, &self.starts), keys, starts => {
            verify_pairs_on(keys, starts, input, threads)
        })
    }

    /// Writes the header line, then every record's line in the records'
    /// order (`reverse`: from the largest key down, equal keys still in
    /// input order), each byte for byte as it was read; a line that had no
    /// newline (the input's last) gets one.
    pub fn write<W: io::Write + ?Sized>(&self, reverse: bool, out: &mut W) -> io::Result<()> {
        self.write_on(reverse, out, 1)
    }

    /// [`Records::write`] with the text made on up to `threads` threads,
    /// this one writing it in order and making text between its writes (a
    /// few records, and records in reverse order, are written on this
    /// thread alone): the same bytes.
    pub fn write_on<W: io::Write + ?Sized>(
        &self,
        reverse: bool,
        out: &mut W,
        threads: usize,
    ) -> io::Result<()> {
        let n = self.len();
        if threads > 1 && n >= 2 * BLOCK_LINES && (self.canonical || !reverse) {
            out.write_all(&self.input[..self.body])?;
            if self.body > 0 && self.input[self.body - 1] != b'\n' {
                out.write_all(b"\n")?;
            }
            let blocks = n.div_ceil(BLOCK_LINES);
            let range = |i: usize| i * BLOCK_LINES..((i + 1) * BLOCK_LINES).min(n);
            if self.canonical {
                with_keys!(&self.keys, keys => write_blocks(blocks, threads - 1, |i, bytes| {
                    if reverse {
                        let r = range(i);
                        let block: Vec<_> = keys[n - r.end..n - r.start].iter().rev().copied().collect();
                        TextKey::write_lines(&block, bytes);
                    } else {
                        TextKey::write_lines(&keys[range(i)], bytes);
                    }
                }, out)?);
            } else {
                with_pairs!((&self.keys, &self.starts), _keys, starts => {
                    write_blocks(blocks, threads - 1, |i, bytes| {
                        let starts = starts[range(i)].iter().map(|s| s.offset());
                        let gathered = Buffered::with_size(WORKER_BUFFER, bytes)
                            .and_then(|mut buffer| {
                                gather(self.input, starts, &mut buffer)?;
                                buffer.finish()
                            });
                        // Writing into a vector cannot fail; memory that
                        // cannot be had aborts, as any growth of it does.
                        debug_assert!(gathered.is_ok());
                    }, out)?;
                });
            }
            return out.flush();
        }
        let mut buffer = Buffered::new(self.input.len().saturating_add(1), out)?;
        if self.body > 0 {
            buffer.line(&self.input[..self.body])?;
        }
        if self.canonical {
            with_keys!(&self.keys, keys => write_keys(keys, reverse, &mut buffer)?);
        } else {
            with_pairs!((&self.keys, &self.starts), keys, starts => {
                if reverse {
                    gather(self.input, reversed(keys, starts).map(|i| starts[i].offset()), &mut buffer)?;
                } else {
                    gather(self.input, starts.iter().map(|s| s.offset()), &mut buffer)?;
                }
            });
        }
        buffer.finish()
    }
}

/// Why [`Records::sort_isolated`] gave no result.
#[derive(Debug, thiserror::Error)]
pub enum IsolatedError {
    /// The worker or the backend failed.
    #[error(transparent)]
    Sort(#[from] IsolatedSortError),
    /// The worker sent back indexes that are not the records'.
    #[error("{0}")]
    Wrong(Wrong),
}

/// Puts each run of equal keys' starts back in ascending (input) order,
/// after a backend that is not stable.
fn restore_input_order<T: SortKey, P: Position>(keys: &[T], starts: &mut [P]) {
    let mut start = 0;
    while start < keys.len() {
        let mut end = start + 1;
        while end < keys.len() && T::order(&keys[start], &keys[end]) == Ordering::Equal {
            end += 1;
        }
        if end - start > 1 {
            starts[start..end].sort_unstable();
        }
        start = end;
    }
}

/// A line's start, as the payload sorted with its key.
pub(crate) trait Position: SortKey + Payload + Ord {
    fn at(offset: usize) -> Self;
    fn offset(self) -> usize;
}

impl Position for u32 {
    #[inline(always)]
    fn at(offset: usize) -> u32 {
        // Only for inputs under 4 GiB (see `Records::parse`).
        offset as u32
    }
    #[inline(always)]
    fn offset(self) -> usize {
        self as usize
    }
}

impl Position for u64 {
    #[inline(always)]
    fn at(offset: usize) -> u64 {
        offset as u64
    }
    #[inline(always)]
    fn offset(self) -> usize {
        usize::try_from(self).unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(key_type: KeyType, field: usize, fields: Fields) -> Layout {
        Layout {
            key_type,
            field: NonZeroUsize::new(field),
            fields,
            header: false,
        }
    }

    /// The records' lines in the order `sort_by` on the keys gives (stable),
    /// written as `write` writes them.
    fn sorted_by_reference(input: &[u8], layout: &Layout, reverse: bool) -> Vec<u8> {
        let records = Records::parse(input, layout).expect("parses");
        let lines: Vec<&[u8]> = input[records.body..]
            .split_inclusive(|&b| b == b'\n')
            .collect();
        let mut order: Vec<usize> = (0..lines.len()).collect();
        with_keys!(&records.keys, keys => order.sort_by(|&a, &b| {
            let o = SortKey::order(&keys[a], &keys[b]);
            if reverse { o.reverse() } else { o }
        }));
        let mut out = input[..records.body].to_vec();
        if !out.is_empty() && out.last() != Some(&b'\n') {
            out.push(b'\n');
        }
        for i in order {
            out.extend_from_slice(lines[i]);
            if out.last() != Some(&b'\n') {
                out.push(b'\n');
            }
        }
        out
    }

    /// Sorts `records` with a stable reference sort standing in for a
    /// backend.
    fn reference_sort(records: &mut Records<'_>) {
        if records.canonical {
            with_keys!(&mut records.keys, keys => keys.sort_by(SortKey::order));
        } else {
            with_pairs!((&mut records.keys, &mut records.starts), keys, starts => {
                let mut pairs: Vec<_> = keys.iter().copied().zip(starts.iter().copied()).collect();
                pairs.sort_by(|a, b| SortKey::order(&a.0, &b.0));
                for (i, (k, s)) in pairs.into_iter().enumerate() {
                    keys[i] = k;
                    starts[i] = s;
                }
            });
        }
    }

    /// Sorts with a stable reference sort standing in for a backend.
    fn sorted(input: &[u8], layout: &Layout, reverse: bool) -> Vec<u8> {
        let mut records = Records::parse(input, layout).expect("parses");
        let print = records.fingerprint();
        reference_sort(&mut records);
        records.verify(print).expect("a right result");
        let mut out = Vec::new();
        records.write(reverse, &mut out).expect("writes");
        out
    }

    #[test]
    fn lines_come_back_verbatim_in_stable_order() {
        let input = b"b,20,x\r\na,-3,y\nc,020,z\n d , 7 ,w\ne,20";
        let csv = layout(KeyType::I64, 2, Fields::Delimiter(b','));
        let out = sorted(input, &csv, false);
        assert_eq!(out, b"a,-3,y\n d , 7 ,w\nb,20,x\r\nc,020,z\ne,20\n");
        assert_eq!(out, sorted_by_reference(input, &csv, false));
        let out = sorted(input, &csv, true);
        assert_eq!(out, b"b,20,x\r\nc,020,z\ne,20\n d , 7 ,w\na,-3,y\n");
        assert_eq!(out, sorted_by_reference(input, &csv, true));
    }

    /// Lines of every length around the 64-byte window, in an input long
    /// enough for the window paths of parsing and gathering, and the last
    /// line without its newline.
    #[test]
    fn lines_of_every_length_come_back_whole() {
        let mut input = Vec::new();
        for i in 0..300u64 {
            let key = (i * 7919) % 23;
            let pad = "x".repeat((i as usize * 13) % 90);
            let end = if i % 5 == 0 { "\r\n" } else { "\n" };
            input.extend_from_slice(format!("{i},{key},{pad}{end}").as_bytes());
        }
        input.extend_from_slice(b"last,5,no newline");
        let csv = layout(KeyType::I64, 2, Fields::Delimiter(b','));
        for reverse in [false, true] {
            assert_eq!(
                sorted(&input, &csv, reverse),
                sorted_by_reference(&input, &csv, reverse)
            );
        }
    }

    #[test]
    fn blank_separated_fields_skip_leading_blanks() {
        let input = b"  x 3\ty\n\ty\t \t1 z\nz  2\n";
        let out = sorted(input, &layout(KeyType::U32, 2, Fields::Blanks), false);
        assert_eq!(out, b"\ty\t \t1 z\nz  2\n  x 3\ty\n");
    }

    #[test]
    fn a_header_stays_first() {
        let mut csv = layout(KeyType::F64, 1, Fields::Delimiter(b';'));
        csv.header = true;
        let out = sorted(b"value;name\n2.5;a\n-0.0;b\n1e-3;c\n0;d\n", &csv, false);
        assert_eq!(out, b"value;name\n-0.0;b\n0;d\n1e-3;c\n2.5;a\n");
        assert_eq!(sorted(b"only a header", &csv, false), b"only a header\n");
        assert_eq!(sorted(b"", &csv, false), b"");
    }

    #[test]
    fn canonical_whole_lines_sort_as_keys_alone() {
        let lines = Layout::lines(KeyType::I64);
        let canonical = b"3\n-7\n0\n3\n-9223372036854775808";
        let records = Records::parse(canonical, &lines).unwrap();
        assert!(records.is_canonical());
        assert_eq!(
            sorted(canonical, &lines, false),
            b"-9223372036854775808\n-7\n0\n3\n3\n"
        );
        assert_eq!(
            sorted(canonical, &lines, true),
            b"3\n3\n0\n-7\n-9223372036854775808\n"
        );
        for line in ["+3", "03", "-0", "3\r", " 3", "3 "] {
            let input = format!("5\n3\n1\n{line}\n2\n-4\n");
            let records = Records::parse(input.as_bytes(), &lines).unwrap();
            assert!(!records.is_canonical(), "{line:?}");
            assert_eq!(
                sorted(input.as_bytes(), &lines, false),
                sorted_by_reference(input.as_bytes(), &lines, false)
            );
        }
    }

    #[test]
    fn bad_records_are_named_by_line_and_field() {
        let csv = layout(KeyType::I64, 2, Fields::Delimiter(b','));
        let err =
            |input: &[u8], layout: &Layout| Records::parse(input, layout).unwrap_err().to_string();
        assert_eq!(
            err(b"a,1\nb,x2\n", &csv),
            "line 2, field 2: `x2` is not a valid i64"
        );
        assert_eq!(err(b"a,1\nb\n", &csv), "line 2 has no field 2: it has 1");
        assert_eq!(err(b"a,1\nb, \n", &csv), "line 2: field 2 is empty");
        assert_eq!(
            err(b"a,1\nb,\xff\n", &csv),
            "line 2, field 2: not valid UTF-8 text"
        );
        let lines = Layout::lines(KeyType::U64);
        assert_eq!(
            err(b"1\n\n2\n", &lines),
            "line 2 is blank: it holds no number"
        );
        assert_eq!(
            err(b"1\n-2\n", &lines),
            "line 2: `-2` is out of range for u64 (negative)"
        );
        let mut headed = csv;
        headed.header = true;
        assert_eq!(
            err(b"h,h\na,1\nb,q\n", &headed),
            "line 3, field 2: `q` is not a valid i64"
        );
    }

    #[test]
    fn an_unstable_result_is_put_back_in_input_order() {
        let keys = [1u64, 2, 2, 2, 3];
        let mut starts = [0u32, 30, 10, 20, 5];
        restore_input_order(&keys, &mut starts);
        assert_eq!(starts, [0, 10, 20, 30, 5]);
    }

    #[test]
    fn the_check_sees_a_payload_left_behind_and_an_unstable_order() {
        let input = b"1\n1\n0\n02\n";
        let mut records = Records::parse(input, &Layout::lines(KeyType::U32)).unwrap();
        let print = records.fingerprint();
        // Keys sorted, positions left where they were.
        records.keys = KeyVec::U32(vec![0, 1, 1, 2]);
        assert_eq!(records.starts, Starts::U32(vec![0, 2, 4, 6]));
        assert_eq!(records.verify(print), Err(Wrong::NotThePermutation));
        records.starts = Starts::U32(vec![4, 2, 0, 6]);
        assert_eq!(records.verify(print), Err(Wrong::NotStable { index: 1 }));
        records.starts = Starts::U32(vec![4, 0, 2, 6]);
        assert_eq!(records.verify(print), Ok(()));
    }

    /// `count` lines from `line(i)`, past the size from which parsing
    /// runs on several threads.
    fn big(count: usize, line: impl Fn(usize) -> String) -> Vec<u8> {
        let text: String = (0..count).map(line).collect();
        assert!(text.len() > PARALLEL_BYTES);
        text.into_bytes()
    }

    /// Parsed on 2, 3 and 8 threads, `input` gives the records, or the
    /// error, that one thread gives.
    fn same_on_threads(input: &[u8], layout: &Layout) {
        let one = Records::parse(input, layout);
        for threads in [2, 3, 8] {
            let many = Records::parse_on(input, layout, threads);
            match (&one, &many) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.body, b.body);
                    assert_eq!(a.canonical, b.canonical, "{threads} threads");
                    assert_eq!(a.keys, b.keys, "{threads} threads");
                    assert_eq!(a.starts, b.starts, "{threads} threads");
                }
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                _ => panic!("{threads} threads: {many:?}, one thread: {one:?}"),
            }
        }
    }

    #[test]
    fn parsing_on_several_threads_gives_the_same_records() {
        let n = 700_000;
        let ints = |i: usize| format!("{}\n", (i as i64).wrapping_mul(0x9E37_79B9) % 1_000_003);
        let canonical = big(n, ints);
        same_on_threads(&canonical, &Layout::lines(KeyType::I64));
        // One line late in the input is not canonical: every run keeps its
        // starts after all.
        let late = big(n, |i| if i == n - 10 { "+5\n".into() } else { ints(i) });
        same_on_threads(&late, &Layout::lines(KeyType::I64));
        // Without a final newline, with CRLF, with a header.
        let mut crlf = big(2 * n, |i| format!("{}\r\n", i % 977));
        crlf.truncate(crlf.len() - 2);
        let mut headed = Layout::lines(KeyType::U32);
        headed.header = true;
        same_on_threads(&crlf, &headed);
        let csv = big(n / 2, |i| format!("r{i},{}.5,x\n", i % 1000));
        same_on_threads(&csv, &layout(KeyType::F64, 2, Fields::Delimiter(b',')));
        same_on_threads(&csv, &layout(KeyType::F64, 1, Fields::Delimiter(b',')));
    }

    #[test]
    fn a_bad_line_on_another_thread_is_named_by_its_number_in_the_input() {
        let n = 700_000;
        for bad in [1, n / 2, n - 1, n] {
            let input = big(n, |i| {
                if i + 1 == bad {
                    "12x\n".into()
                } else {
                    format!("{i}\n")
                }
            });
            let e = Records::parse_on(&input, &Layout::lines(KeyType::I64), 2)
                .expect_err("line is bad");
            assert!(e.to_string().starts_with(&format!("line {bad}:")), "{e}");
            same_on_threads(&input, &Layout::lines(KeyType::I64));
        }
        // The first bad line wins, whichever thread reads it.
        let input = big(n, |i| {
            if i == 5 || i == n - 5 {
                "\n".into()
            } else {
                format!("{i}\n")
            }
        });
        same_on_threads(&input, &Layout::lines(KeyType::I64));
        let csv = big(n, |i| {
            if i == n / 3 {
                "a\n".into()
            } else {
                format!("a,{i}\n")
            }
        });
        let e = Records::parse_on(&csv, &layout(KeyType::I64, 2, Fields::Delimiter(b',')), 2)
            .expect_err("a line lacks the field");
        assert!(
            e.to_string()
                .starts_with(&format!("line {} has no field 2", n / 3 + 1)),
            "{e}"
        );
    }

    /// Sorted by a reference sort, `input` writes the same bytes on 2 and
    /// 5 threads as on one, forwards and in reverse.
    fn same_written_on_threads(input: &[u8], layout: &Layout) {
        let mut records = Records::parse(input, layout).expect("parses");
        reference_sort(&mut records);
        for reverse in [false, true] {
            let mut one = Vec::new();
            records.write(reverse, &mut one).expect("writes");
            for threads in [2, 5] {
                let mut many = Vec::new();
                records
                    .write_on(reverse, &mut many, threads)
                    .expect("writes");
                assert!(one == many, "{threads} threads, reverse {reverse}");
            }
        }
    }

    #[test]
    fn writing_on_several_threads_gives_the_same_bytes() {
        let n = 3 * BLOCK_LINES + 17;
        let ints: Vec<u8> = (0..n)
            .flat_map(|i| format!("{}\n", (i as i64 * 7919) % 10_007 - 5000).into_bytes())
            .collect();
        same_written_on_threads(&ints, &Layout::lines(KeyType::I64));
        let mut plus = ints.clone();
        plus.extend_from_slice(b"+12");
        same_written_on_threads(&plus, &Layout::lines(KeyType::I64));
        let csv: Vec<u8> = (0..n)
            .flat_map(|i| format!("id{i},{},name\r\n", i % 1000).into_bytes())
            .collect();
        let mut headed = layout(KeyType::U32, 2, Fields::Delimiter(b','));
        headed.header = true;
        same_written_on_threads(&csv, &headed);
        // A header without a newline: the whole input.
        same_written_on_threads(b"header", &headed);
    }
}
