//! Writing records: the lines gathered from the input in sorted order,
//! prefetched ahead and copied into a buffer that is written out when full.

use super::Position;
use crate::budget::text_buffer;
use crate::codec::TextKey;
use crate::codec::lines::masks64;
use crate::keys::SortKey;
use crate::mem::try_with_capacity;
use crate::running::integrity::BLOCK;
use memchr::memchr;
use std::cmp::Ordering;
use std::io;

/// The line of `input` that starts at `at`, its newline included if it has
/// one; empty past the end (only a backend that garbled its result, run
/// without the check, gives such a start).
#[inline(always)]
pub(super) fn line_at(input: &[u8], at: usize) -> &[u8] {
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
pub(super) fn gather<W: io::Write + ?Sized>(
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

/// The indexes of sorted records from the largest key down, each run of
/// equal keys in its own (input) order.
pub(super) fn reversed<'k, T: SortKey, P: Position>(
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
        Some(next - 1)
    })
}

/// Writes sorted keys as text lines, largest first if `reverse`, as many
/// at a time as the buffer has room for.
pub(super) fn write_keys<T: TextKey, W: io::Write + ?Sized>(
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

/// Output gathered in a buffer ([`text_buffer`] bytes) and written on
/// when full: one write for many short lines.
pub(super) struct Buffered<'w, W: io::Write + ?Sized> {
    bytes: Vec<u8>,
    /// Its size: written on when full.
    full: usize,
    out: &'w mut W,
}

impl<'w, W: io::Write + ?Sized> Buffered<'w, W> {
    /// A buffer for `output` bytes at most.
    pub(super) fn new(output: usize, out: &'w mut W) -> io::Result<Self> {
        let full = usize::try_from(text_buffer(output as u64)).unwrap_or(usize::MAX);
        let bytes = try_with_capacity(full)?;
        Ok(Buffered { bytes, full, out })
    }

    /// A buffer of `full` bytes (at least 64).
    pub(super) fn with_size(full: usize, out: &'w mut W) -> io::Result<Self> {
        let full = full.max(64);
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
    pub(super) fn line(&mut self, line: &[u8]) -> io::Result<()> {
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

    pub(super) fn finish(mut self) -> io::Result<()> {
        self.drain()?;
        self.out.flush()
    }
}

/// The buffer of a thread that gathers lines for [`write_blocks`]: small
/// enough to stay in the cache and to come from the allocator's free
/// lists, not from fresh pages.
pub(super) const WORKER_BUFFER: usize = 64 << 10;

/// Lines (records or keys) per block of [`write_blocks`]: about a MiB of
/// text for 16-byte lines.
pub(super) const BLOCK_LINES: usize = 1 << 16;

/// Writes `count` blocks of bytes to `out` in order, block `i` made by
/// `make(i, bytes)` (into an empty vector) on one of `workers` threads
/// while this thread writes the blocks before it. Each worker holds at
/// most a few blocks at a time, and the vectors are used again.
pub(super) fn write_blocks<W: io::Write + ?Sized>(
    count: usize,
    workers: usize,
    make: impl Fn(usize, &mut Vec<u8>) + Sync,
    out: &mut W,
) -> io::Result<()> {
    use std::sync::mpsc::sync_channel;
    // No more workers than blocks, nor than a sort could use.
    let workers = workers.clamp(1, count.clamp(1, 256));
    std::thread::scope(|s| {
        let mut lanes = Vec::with_capacity(workers);
        for w in 0..workers {
            let (full_tx, full_rx) = sync_channel::<Vec<u8>>(2);
            let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(4);
            let make = &make;
            let started = std::thread::Builder::new().spawn_scoped(s, move || {
                for i in (w..count).step_by(workers) {
                    let mut bytes = empty_rx.try_recv().unwrap_or_default();
                    bytes.clear();
                    make(i, &mut bytes);
                    if full_tx.send(bytes).is_err() {
                        // The writer stopped (an error): so does this.
                        return;
                    }
                }
            });
            if started.is_err() {
                // A thread that cannot start (the process is at its limit
                // of threads): the workers started stop at their next
                // block, and this thread makes every block itself.
                drop(lanes);
                let mut bytes = Vec::new();
                for i in 0..count {
                    bytes.clear();
                    make(i, &mut bytes);
                    out.write_all(&bytes)?;
                }
                return Ok(());
            }
            lanes.push((full_rx, empty_tx));
        }
        for i in 0..count {
            let (full, empty) = &lanes[i % workers];
            // A worker that panicked sends no more: stop writing, and the
            // end of the scope passes its panic on.
            let Ok(bytes) = full.recv() else { break };
            out.write_all(&bytes)?;
            let _ = empty.try_send(bytes);
        }
        Ok(())
    })
}
