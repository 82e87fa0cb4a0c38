//! The buffer a plugin writes its error message into, which it cannot
//! overrun into the host's memory: [`BUFFER`] bytes mapped for this alone,
//! the message at their start, and an inaccessible page right after them.
//! A write past the capacity but within the buffer is found after the call
//! (the bytes there must stay zero); a write beyond it faults, and the
//! crash report names the backend that was running.
//!
//! Each thread maps its buffer once, on its first plugin call, and lends it
//! to every call after that; it is all zeros between calls, so that a sort
//! does not pay for zeroing what it almost never uses.

use crate::process::page_size;
use std::cell::Cell;
use std::ptr::{self, NonNull};

/// The bytes of a message buffer: a page on most machines, and a constant,
/// so that lending the buffer asks the system nothing.
pub(crate) const BUFFER: usize = 4096;

/// Marks a thread's buffer as lent to a call in progress.
const LENT: *mut u8 = ptr::dangling_mut();

thread_local! {
    /// This thread's buffer: null before its first call, [`LENT`] during a
    /// call. A plain word, so that the common path costs two accesses.
    static PAGE: Cell<*mut u8> = const { Cell::new(ptr::null_mut()) };
    /// Unmaps the page when the thread ends; touched once, when it is made.
    static UNMAP: Unmap = const { Unmap };
}

struct Unmap;

impl Drop for Unmap {
    fn drop(&mut self) {
        let page = PAGE.with(|p| p.replace(LENT));
        if !page.is_null() && page != LENT {
            let (offset, len) = mapping();
            // SAFETY: `map_buffer` mapped the buffer `offset` bytes into a
            // mapping of `len` bytes, which nothing uses after the thread
            // ends.
            unsafe { libc::munmap(page.sub(offset).cast(), len) };
        }
    }
}

/// An all-zero message buffer of [`BUFFER`] bytes, lent to one plugin call.
#[derive(Debug)]
pub(crate) struct MessageBuffer<'a> {
    // An array, not a slice: its length is a constant, so the checks after
    // each call index it without a bounds check.
    bytes: &'a mut [u8; BUFFER],
}

impl MessageBuffer<'_> {
    /// Where the plugin writes: the start of the buffer.
    #[inline(always)]
    pub(crate) fn as_mut_ptr(&mut self) -> *mut u8 {
        self.bytes.as_mut_ptr()
    }

    /// Whether a call given `cap` bytes left the buffer as it was: nothing
    /// at its start and nothing at `cap`. Enough for the common path; the
    /// cold path looks at every byte.
    #[inline(always)]
    pub(crate) fn untouched(&self, cap: usize) -> bool {
        self.bytes[0] | self.bytes[cap] == 0
    }

    /// The bytes up to `cap`, where the message is.
    pub(crate) fn message(&self, cap: usize) -> &[u8] {
        &self.bytes[..cap]
    }

    /// How many bytes the plugin wrote past `cap`: up to the last byte
    /// after it that is not zero.
    pub(crate) fn written_past(&self, cap: usize) -> usize {
        self.bytes[cap..]
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |last| last + 1)
    }

    /// All zeros again, for the next call.
    pub(crate) fn clear(&mut self) {
        self.bytes.fill(0);
    }
}

/// Runs `f` with this thread's message buffer; a call nested in another on
/// the same thread, or a thread whose page cannot be mapped, gets a heap
/// buffer of the same size instead (without the guard page).
#[inline(always)]
pub(crate) fn with_buffer<R>(f: impl FnOnce(&mut MessageBuffer<'_>) -> R) -> R {
    let page = PAGE.with(|p| p.replace(LENT));
    // Null or LENT (address 1) in one test.
    if page.addr() <= LENT.addr() {
        return with_other_buffer(page, f);
    }
    // SAFETY: `page` is this thread's mapped buffer of `BUFFER` bytes,
    // readable and writable, taken out of `PAGE` for this call alone.
    let bytes = unsafe { &mut *page.cast::<[u8; BUFFER]>() };
    let result = f(&mut MessageBuffer { bytes });
    PAGE.with(|p| p.set(page));
    result
}

#[cold]
#[inline(never)]
fn with_other_buffer<R>(page: *mut u8, f: impl FnOnce(&mut MessageBuffer<'_>) -> R) -> R {
    if page.is_null() {
        // The thread's first call: map its buffer, then use it.
        let mapped = map_buffer();
        PAGE.with(|p| p.set(mapped.map_or(ptr::null_mut(), NonNull::as_ptr)));
        if mapped.is_some() {
            UNMAP.with(|_| {});
            return with_buffer(f);
        }
    } else {
        // Nested: the outer call holds the buffer.
        PAGE.with(|p| p.set(LENT));
    }
    let mut heap = Box::new([0u8; BUFFER]);
    f(&mut MessageBuffer { bytes: &mut heap })
}

/// Where a buffer sits in its mapping, and the mapping's length: its
/// readable, writable pages end where the buffer does, and one
/// inaccessible page follows.
fn mapping() -> (usize, usize) {
    let page = page_size();
    let writable = BUFFER.div_ceil(page) * page;
    (writable - BUFFER, writable + page)
}

/// A buffer of [`BUFFER`] bytes right before an inaccessible page.
fn map_buffer() -> Option<NonNull<u8>> {
    let (offset, len) = mapping();
    // SAFETY: a fresh anonymous mapping; no existing memory is touched.
    let map = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if map == libc::MAP_FAILED {
        return None;
    }
    let guard = offset + BUFFER;
    // SAFETY: the last page, from `guard` on, lies inside the mapping just
    // made.
    let rc = unsafe {
        libc::mprotect(
            map.cast::<u8>().add(guard).cast(),
            len - guard,
            libc::PROT_NONE,
        )
    };
    if rc != 0 {
        // SAFETY: the mapping just made, not used by anyone.
        unsafe { libc::munmap(map, len) };
        return None;
    }
    // SAFETY: `offset` is inside the mapping.
    NonNull::new(unsafe { map.cast::<u8>().add(offset) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::MESSAGE_CAP;

    #[test]
    fn a_thread_reuses_one_page_and_a_nested_call_gets_another() {
        let first = with_buffer(|b| b.as_mut_ptr() as usize);
        let second = with_buffer(|b| b.as_mut_ptr() as usize);
        assert_eq!(first, second);
        assert_eq!((first + BUFFER) % page_size(), 0);
        let inner = with_buffer(|_| with_buffer(|b| b.as_mut_ptr() as usize));
        assert_ne!(inner, first);
        assert_eq!(with_buffer(|b| b.as_mut_ptr() as usize), first);
    }

    #[test]
    fn bytes_written_past_the_capacity_are_counted() {
        with_buffer(|b| {
            assert!(b.untouched(MESSAGE_CAP));
            b.bytes[..MESSAGE_CAP + 7].fill(b'x');
            assert!(!b.untouched(MESSAGE_CAP));
            assert_eq!(b.written_past(MESSAGE_CAP), 7);
            assert_eq!(b.written_past(1), MESSAGE_CAP + 6);
            b.clear();
            assert_eq!(b.written_past(0), 0);
        });
    }
}
