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

use super::float::{float_within, parse_float, scan_float};
use super::int::{int_within, parse_int, scan_int};
use super::lines::{masks64, shorten};
use super::{ParseError, TextKey};
use crate::budget::text_buffer;
use crate::error::SortError;
use crate::keys::{KeyVec, SortKey};
use crate::mem::try_with_capacity;
use crate::registry::Backend;
use crate::running::integrity::{
    BLOCK, Fingerprint, Tally, Wrong, fingerprint_pairs, verify, verify_pairs,
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
                                parse_as::<$t, u32>(input, body, first_line, layout)?;
                            (KeyVec::$variant(keys), Starts::U32(starts), canonical)
                        }
                        (KeyType::$variant, false) => {
                            let (keys, starts, canonical) =
                                parse_as::<$t, u64>(input, body, first_line, layout)?;
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
        if self.canonical {
            let mut tally = Tally::default();
            with_keys!(&self.keys, keys => tally.add(keys));
            return tally.finish();
        }
        with_pairs!((&self.keys, &self.starts), keys, starts => fingerprint_pairs(keys, starts))
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

    /// [`Records::sort`] in a forked worker process with a time limit, as
    /// `wildhost sort --isolate` does: a backend that crashes, exits or
    /// hangs is an error naming what happened, and the records are left as
    /// they were. The worker sorts its own copy of the keys, each with its
    /// record's index, and sends back the indexes in sorted order, which are
    /// applied here (an index out of range is a [`Wrong`] result; the rest
    /// is for [`Records::verify`] to check). Canonical records go to the
    /// worker as keys alone and come back sorted.
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
        if self.canonical {
            return with_keys!(&self.keys, keys => verify(keys, input));
        }
        with_pairs!((&self.keys, &self.starts), keys, starts => verify_pairs(keys, starts, input))
    }

    /// Writes the header line, then every record's line in the records'
    /// order (`reverse`: from the largest key down, equal keys still in
    /// input order), each byte for byte as it was read; a line that had no
    /// newline (the input's last) gets one.
    pub fn write<W: io::Write + ?Sized>(&self, reverse: bool, out: &mut W) -> io::Result<()> {
        let mut buffer = Buffered::new(self.input.len().saturating_add(1), out)?;
        if self.body > 0 {
            buffer.line(&self.input[..self.body])?;
        }
        if self.canonical {
            with_keys!(&self.keys, keys => write_keys(keys, reverse, &mut buffer)?);
        } else {
            with_pairs!((&self.keys, &self.starts), keys, starts => {
                if reverse {
                    gather(self.input, reversed(keys, starts), &mut buffer)?;
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

/// The line of `input` that starts at `at`, its newline included if it has
/// one; empty past the end (only a backend that garbled its result, run
/// without the check, gives such a start).
#[inline(always)]
fn line_at(input: &[u8], at: usize) -> &[u8] {
    let rest = input.get(at..).unwrap_or_default();
    // Most lines end within 64 bytes: found in one window, without a call.
    if let Some(window) = rest.first_chunk::<64>() {
        let (newlines, _) = masks64(window, b'\n', b'\n');
        if newlines != 0 {
            return &rest[..=newlines.trailing_zeros() as usize];
        }
    }
    match memchr(b'\n', rest) {
        Some(end) => &rest[..=end],
        None => rest,
    }
}

/// Copies the lines that start at `starts`, in that order, into `buffer`.
///
/// The lines are all over the input, so each is a cache miss: the lines
/// [`AHEAD`] places on are asked for while a line is copied, so that their
/// misses overlap instead of following one another (figures in
/// docs/PERFORMANCE.md).
fn gather<W: io::Write + ?Sized>(
    input: &[u8],
    starts: impl Iterator<Item = usize>,
    buffer: &mut Buffered<'_, W>,
) -> io::Result<()> {
    let mut ring = [0usize; AHEAD];
    let mut seen = 0usize;
    for at in starts {
        prefetch(input, at);
        let slot = &mut ring[seen % AHEAD];
        if seen >= AHEAD {
            copy_line(input, *slot, buffer)?;
        }
        *slot = at;
        seen += 1;
    }
    for k in seen.saturating_sub(AHEAD)..seen {
        copy_line(input, ring[k % AHEAD], buffer)?;
    }
    Ok(())
}

/// Copies the line that starts at `at` into `buffer`: a line that ends
/// within 64 bytes as a whole 64-byte window, without a search or a copy
/// of variable length; any other through [`line_at`].
#[inline(always)]
fn copy_line<W: io::Write + ?Sized>(
    input: &[u8],
    at: usize,
    buffer: &mut Buffered<'_, W>,
) -> io::Result<()> {
    if let Some(window) = input.get(at..).and_then(|rest| rest.first_chunk::<64>()) {
        let (newlines, _) = masks64(window, b'\n', b'\n');
        if newlines != 0 {
            return buffer.short_line(window, newlines.trailing_zeros() as usize + 1);
        }
    }
    buffer.line(line_at(input, at))
}

/// How many lines ahead [`gather`] asks for.
const AHEAD: usize = 32;

/// Asks the CPU to load the cache lines of the line that starts at `at`
/// (its first 64 bytes) ahead of use. A hint: nothing is read.
#[inline(always)]
fn prefetch(input: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let line = input.as_ptr().wrapping_add(at).cast::<i8>();
        // SAFETY: a prefetch reads nothing and cannot fault, whatever the
        // address; SSE is part of the x86-64 baseline.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(line);
            _mm_prefetch::<_MM_HINT_T0>(line.wrapping_add(63));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (input, at);
}

/// The starts from the largest key down, each run of equal keys in its own
/// (input) order.
fn reversed<'k, T: SortKey, P: Position>(
    keys: &'k [T],
    starts: &'k [P],
) -> impl Iterator<Item = usize> + 'k {
    let mut end = keys.len().min(starts.len());
    let (mut next, mut stop) = (end, end);
    std::iter::from_fn(move || {
        if next == stop {
            if end == 0 {
                return None;
            }
            // The next run down: from `start` to `end`.
            let last = keys[end - 1];
            let mut start = end - 1;
            while start > 0 && T::order(&keys[start - 1], &last) == Ordering::Equal {
                start -= 1;
            }
            (next, stop, end) = (start, end, start);
        }
        next += 1;
        Some(starts[next - 1].offset())
    })
}

/// Writes sorted keys as text lines, largest first if `reverse`, as many
/// at a time as the buffer has room for.
fn write_keys<T: TextKey, W: io::Write + ?Sized>(
    keys: &[T],
    reverse: bool,
    buffer: &mut Buffered<'_, W>,
) -> io::Result<()> {
    let mut backwards = Vec::new();
    let mut rest = keys;
    while !rest.is_empty() {
        let room = buffer.room_for_keys().min(BLOCK);
        if room == 0 {
            buffer.drain()?;
            continue;
        }
        let n = room.min(rest.len());
        let block = if reverse {
            // From the end: the last keys first, each piece turned round.
            let (left, piece) = rest.split_at(rest.len() - n);
            rest = left;
            backwards.clear();
            backwards.extend(piece.iter().rev());
            &backwards[..]
        } else {
            let (piece, right) = rest.split_at(n);
            rest = right;
            piece
        };
        T::write_lines(block, &mut buffer.bytes);
        buffer.drain_if_full()?;
    }
    Ok(())
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

/// Output gathered in a buffer ([`text_buffer`] bytes) and written on
/// when full: one write for many short lines.
struct Buffered<'w, W: io::Write + ?Sized> {
    bytes: Vec<u8>,
    /// Its size: written on when full.
    full: usize,
    out: &'w mut W,
}

impl<'w, W: io::Write + ?Sized> Buffered<'w, W> {
    /// A buffer for `output` bytes at most.
    fn new(output: usize, out: &'w mut W) -> io::Result<Self> {
        let full = usize::try_from(text_buffer(output as u64)).unwrap_or(usize::MAX);
        let bytes = try_with_capacity(full)?;
        Ok(Buffered { bytes, full, out })
    }

    /// How many keys' lines the buffer has room for (the longest takes
    /// 24 bytes with its newline).
    fn room_for_keys(&self) -> usize {
        self.full.saturating_sub(self.bytes.len()) / 24
    }

    /// Appends a line, and a newline if it has none. A line longer than
    /// the buffer is written on as it is.
    #[inline]
    fn line(&mut self, line: &[u8]) -> io::Result<()> {
        if line.len() >= self.full {
            self.drain()?;
            self.out.write_all(line)?;
        } else {
            self.bytes.extend_from_slice(line);
        }
        if line.last() != Some(&b'\n') {
            self.bytes.push(b'\n');
        }
        self.drain_if_full()
    }

    /// Appends the first `len` bytes (at most 64) of `window`, a line with
    /// its newline, by copying the whole window and keeping `len` bytes of
    /// it.
    #[inline(always)]
    fn short_line(&mut self, window: &[u8; 64], len: usize) -> io::Result<()> {
        let len = len.min(64);
        if self.bytes.capacity() - self.bytes.len() < 64 {
            self.drain()?;
            if self.bytes.capacity() < 64 {
                return self.line(&window[..len]);
            }
        }
        let at = self.bytes.len();
        // SAFETY: the buffer has 64 bytes of spare capacity past `at`
        // (checked above); the window's 64 bytes are copied there, and the
        // length then covers the first `len` of them, all written.
        unsafe {
            std::ptr::copy_nonoverlapping(window.as_ptr(), self.bytes.as_mut_ptr().add(at), 64);
            self.bytes.set_len(at + len);
        }
        self.drain_if_full()
    }

    #[inline]
    fn drain_if_full(&mut self) -> io::Result<()> {
        if self.bytes.len() >= self.full {
            self.drain()?;
        }
        Ok(())
    }

    fn drain(&mut self) -> io::Result<()> {
        self.out.write_all(&self.bytes)?;
        self.bytes.clear();
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        self.drain()?;
        self.out.flush()
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

/// A key type as records read it.
pub(crate) trait RecordKey: TextKey {
    /// Whether a line can be its key's canonical text (integers only).
    const CANONICAL: bool;
    /// A whole line at the start of `input` in the common case, and the
    /// bytes it took (see `scan_int`, `scan_float`).
    fn scan_line(input: &[u8]) -> Option<(Self, usize)>;
    /// The number spelled by exactly `input[start..stop]`, in the common
    /// case; may read a few bytes past `stop`.
    fn within(input: &[u8], start: usize, stop: usize) -> Option<Self>;
    /// Any number's text, or why it is not one of the type.
    fn parse(text: &str) -> Result<Self, String>;
    /// Whether `line`, as [`RecordKey::scan_line`] took it, is exactly the
    /// key's text as [`TextKey::write_lines`] writes it.
    fn is_canonical(line: &[u8]) -> bool;
    /// The key as records order: `-0.0` is `0.0`.
    fn normalized(self) -> Self;
}

macro_rules! integer_records {
    ($($t:ty),*) => {$(
        impl RecordKey for $t {
            const CANONICAL: bool = true;
            #[inline(always)]
            fn scan_line(input: &[u8]) -> Option<(Self, usize)> {
                scan_int(input)
            }
            #[inline(always)]
            fn within(input: &[u8], start: usize, stop: usize) -> Option<Self> {
                int_within(input, start, stop)
            }
            fn parse(text: &str) -> Result<Self, String> {
                parse_int(text)
            }
            #[inline(always)]
            fn is_canonical(line: &[u8]) -> bool {
                canonical_integer(line)
            }
            #[inline(always)]
            fn normalized(self) -> Self {
                self
            }
        }
    )*};
}
integer_records!(u32, u64, i32, i64);

macro_rules! float_records {
    ($($t:ty),*) => {$(
        impl RecordKey for $t {
            const CANONICAL: bool = false;
            #[inline(always)]
            fn scan_line(input: &[u8]) -> Option<(Self, usize)> {
                scan_float(input)
            }
            #[inline(always)]
            fn within(input: &[u8], start: usize, stop: usize) -> Option<Self> {
                float_within(&input[start..stop])
            }
            fn parse(text: &str) -> Result<Self, String> {
                parse_float(text)
            }
            fn is_canonical(_: &[u8]) -> bool {
                false
            }
            #[inline(always)]
            fn normalized(self) -> Self {
                // -0.0 == 0.0, so both become 0.0; every other value,
                // NaN payloads included, stays as it is.
                if self == 0.0 { 0.0 } else { self }
            }
        }
    )*};
}
float_records!(f32, f64);

/// Whether an integer line that `scan_int` took (an optional sign, digits,
/// an optional `\r`, its newline if it has one) is the number's canonical
/// text: no `+`, no leading zero, no `-0`, no `\r`.
#[inline(always)]
fn canonical_integer(line: &[u8]) -> bool {
    let text = line.strip_suffix(b"\n").unwrap_or(line);
    let digits = match text.split_first() {
        Some((b'-', digits)) => digits,
        Some((b'+', _)) => return false,
        _ => text,
    };
    match digits {
        [b'0'] => text.len() == 1,
        [b'0', ..] => false,
        _ => digits.last().is_some_and(u8::is_ascii_digit),
    }
}

/// The keys and line starts of the records of `input[body..]`, and whether
/// every line is canonical; `first_line` lines come before `body`.
fn parse_as<T: RecordKey, P: Position>(
    input: &[u8],
    body: usize,
    first_line: usize,
    layout: &Layout,
) -> Result<(Vec<T>, Vec<P>, bool), ParseError> {
    // A record takes at least two bytes with its newline: a bound on their
    // number (address space only: untouched pages cost nothing), so that
    // no push below allocates, and a failure is an error, not an abort.
    let room = (input.len() - body) / 2 + 1;
    let out_of_memory = |_| ParseError::OutOfMemory {
        bytes: room.saturating_mul(size_of::<T>() + size_of::<P>()),
    };
    let mut keys: Vec<T> = try_with_capacity(room).map_err(out_of_memory)?;
    let mut starts: Vec<P> = try_with_capacity(room).map_err(out_of_memory)?;
    let canonical = match layout.field {
        None => whole_lines(input, body, first_line, &mut keys, &mut starts)?,
        Some(field) => {
            by_field(
                input,
                body,
                first_line,
                field.get(),
                layout.fields,
                &mut keys,
                &mut starts,
            )?;
            false
        }
    };
    keys.shrink_to_fit();
    starts.shrink_to_fit();
    Ok((keys, starts, canonical && T::CANONICAL))
}

/// Records whose whole line is the key; whether every line is canonical.
/// While every line so far is, no starts are kept (the keys alone will be
/// sorted); at the first line that is not, the starts of the lines before
/// it are found again, and kept from then on.
fn whole_lines<T: RecordKey, P: Position>(
    input: &[u8],
    body: usize,
    mut line: usize,
    keys: &mut Vec<T>,
    starts: &mut Vec<P>,
) -> Result<bool, ParseError> {
    let mut canonical = T::CANONICAL;
    let mut at = body;
    while at < input.len() {
        line += 1;
        let rest = &input[at..];
        let (key, used) = match T::scan_line(rest) {
            Some((key, used)) if !canonical || T::is_canonical(&rest[..used]) => (key, used),
            Some((key, used)) => {
                canonical = false;
                starts_before(input, body, at, starts);
                (key, used)
            }
            None => {
                if canonical {
                    canonical = false;
                    starts_before(input, body, at, starts);
                }
                let (content, used) = split_line(rest);
                let text = content.trim_ascii();
                if text.is_empty() {
                    return Err(ParseError::BlankLine { line });
                }
                let text = std::str::from_utf8(text).map_err(|_| ParseError::NotUtf8 { line })?;
                let key = T::parse(text).map_err(|problem| ParseError::Line {
                    line,
                    text: shorten(text),
                    problem,
                })?;
                (key, used)
            }
        };
        keys.push(key.normalized());
        if !canonical {
            starts.push(P::at(at));
        }
        at += used;
    }
    Ok(canonical)
}

/// Pushes the start of every line of `input[body..at]` (each ends with its
/// newline) onto `starts`.
#[cold]
fn starts_before<P: Position>(input: &[u8], body: usize, at: usize, starts: &mut Vec<P>) {
    if at > body {
        starts.push(P::at(body));
    }
    let ends = memchr::memchr_iter(b'\n', &input[body..at]);
    starts.extend(
        ends.map(|end| P::at(body + end + 1))
            .filter(|s| s.offset() < at),
    );
}

/// Records whose key is field `field` (from 1), found in a line (without
/// its line end) by `find`: the field's bounds, or how many fields the line
/// has. With a `delimiter`, a line of up to 63 bytes is split in one go
/// first (see [`delimited_in_window`]).
fn by_field<T: RecordKey, P: Position>(
    input: &[u8],
    body: usize,
    mut line: usize,
    field: usize,
    fields: Fields,
    keys: &mut Vec<T>,
    starts: &mut Vec<P>,
) -> Result<(), ParseError> {
    let (delimiter, find): (_, FindField) = match fields {
        Fields::Delimiter(d) => (Some(d), delimited),
        Fields::Blanks => (None, |line, n, _| blank_separated(line, n)),
    };
    let mut at = body;
    while at < input.len() {
        line += 1;
        if let Some(delimiter) = delimiter
            && let Some((from, to, used)) = delimited_in_window(&input[at..], delimiter, field)
            && let Some(key) = T::within(input, at + from, at + to)
        {
            keys.push(key.normalized());
            starts.push(P::at(at));
            at += used;
            continue;
        }
        let (content, used) = split_line(&input[at..]);
        let (from, to) = find(content, field, delimiter.unwrap_or_default())
            .map_err(|found| ParseError::MissingField { line, field, found })?;
        let key = match T::within(input, at + from, at + to) {
            Some(key) => key,
            None => {
                let text = content[from..to].trim_ascii();
                if text.is_empty() {
                    return Err(ParseError::EmptyField { line, field });
                }
                let text = std::str::from_utf8(text)
                    .map_err(|_| ParseError::FieldNotUtf8 { line, field })?;
                T::parse(text).map_err(|problem| ParseError::Field {
                    line,
                    field,
                    text: shorten(text),
                    problem,
                })?
            }
        };
        keys.push(key.normalized());
        starts.push(P::at(at));
        at += used;
    }
    Ok(())
}

/// Where field `n` of a line is (with the delimiter, if fields have one):
/// its bounds, or the number of fields the line has.
type FindField = fn(&[u8], usize, u8) -> Result<(usize, usize), usize>;

/// The first line of `rest` without its `\n` or `\r\n`, and the bytes it
/// takes with its line end.
#[inline(always)]
fn split_line(rest: &[u8]) -> (&[u8], usize) {
    let (end, used) = match memchr(b'\n', rest) {
        Some(end) => (end, end + 1),
        None => (rest.len(), rest.len()),
    };
    let content = &rest[..end];
    (content.strip_suffix(b"\r").unwrap_or(content), used)
}

/// Field `n` (from 1) of the first line of `rest`, if that line ends
/// within the first 64 bytes and has the field: its bounds and the bytes
/// the line takes with its newline, from one pass of compares over the
/// window instead of a search per delimiter. `None` sends the line to the
/// general path ([`split_line`], [`delimited`]).
#[inline(always)]
fn delimited_in_window(rest: &[u8], delimiter: u8, n: usize) -> Option<(usize, usize, usize)> {
    let window = rest.first_chunk::<64>()?;
    let (newlines, delimiters) = masks64(window, b'\n', delimiter);
    if newlines == 0 {
        return None;
    }
    let end = newlines.trailing_zeros() as usize;
    let stop = if end > 0 && window[end - 1] == b'\r' {
        end - 1
    } else {
        end
    };
    // The delimiters within the line, the first ones dropped one by one.
    let mut inside = delimiters & ((1u64 << end) - 1);
    let mut from = 0;
    for _ in 1..n {
        if inside == 0 {
            return None;
        }
        from = inside.trailing_zeros() as usize + 1;
        inside &= inside - 1;
    }
    let to = if inside == 0 {
        stop
    } else {
        (inside.trailing_zeros() as usize).min(stop)
    };
    Some((from, to.max(from), end + 1))
}

/// Field `n` (from 1) of a line whose fields `delimiter` separates: its
/// bounds, or the number of fields the line has.
#[inline(always)]
fn delimited(line: &[u8], n: usize, delimiter: u8) -> Result<(usize, usize), usize> {
    let mut from = 0;
    for found in 1..n {
        match memchr(delimiter, &line[from..]) {
            Some(i) => from += i + 1,
            None => return Err(found),
        }
    }
    let to = memchr(delimiter, &line[from..]).map_or(line.len(), |i| from + i);
    Ok((from, to))
}

/// Field `n` (from 1) of a line whose fields runs of blanks separate: its
/// bounds, or the number of fields the line has.
fn blank_separated(line: &[u8], n: usize) -> Result<(usize, usize), usize> {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let mut at = 0;
    for found in 0..n {
        let Some(skip) = line[at..].iter().position(|b| !blank(b)) else {
            return Err(found);
        };
        let from = at + skip;
        let to = line[from..]
            .iter()
            .position(blank)
            .map_or(line.len(), |i| from + i);
        if found + 1 == n {
            return Ok((from, to));
        }
        at = to;
    }
    Err(n)
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

    /// Sorts with a stable reference sort standing in for a backend.
    fn sorted(input: &[u8], layout: &Layout, reverse: bool) -> Vec<u8> {
        let mut records = Records::parse(input, layout).expect("parses");
        let print = records.fingerprint();
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
        assert_eq!(blank_separated(b"a b", 3), Err(2));
        assert_eq!(blank_separated(b"  ", 1), Err(0));
        assert_eq!(delimited(b"a,b", 3, b','), Err(2));
        assert_eq!(delimited(b"a,,b", 2, b','), Ok((2, 2)));
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

    /// The one-window split agrees with the general one on every line it
    /// takes, and declines the rest.
    #[test]
    fn the_window_split_agrees_with_the_general_one() {
        let lines: [&[u8]; 9] = [
            b"a,12,b\n",
            b"a,12,b\r\n",
            b"a,,b\n",
            b",\n",
            b"a,12\r\n",
            b"12\n",
            b"a\n",
            b"x,y,z,w,v,u,t,s,r,q,p,o,n,m,l,k,j,i,h,g,f,e,d,c,b,a,1234567890\n",
            b"a,1,\r\n",
        ];
        for line in lines {
            for n in 1..5 {
                for pad in [&b""[..], b"9,9\n", &[b','; 64]] {
                    let rest = [line, pad, &[b'.'; 64][..]].concat();
                    let general = {
                        let (content, used) = split_line(&rest);
                        delimited(content, n, b',').ok().map(|(f, t)| (f, t, used))
                    };
                    let window = delimited_in_window(&rest, b',', n);
                    let long = line.len() > 64;
                    match window {
                        Some(found) => assert_eq!(Some(found), general, "{line:?} {n}"),
                        None => assert!(long || general.is_none(), "{line:?} {n}"),
                    }
                }
            }
        }
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
}
