//! Large buffers on transparent huge pages.
//!
//! Page faults are expensive on the virtual machines wildhost runs on:
//! filling a fresh buffer of a million keys page by page can take longer
//! than sorting them, and the same buffer on 2 MiB huge pages takes a few
//! hundredth of the faults (figures in docs/PERFORMANCE.md). Where the
//! kernel grants huge pages only on request (`enabled` set to `madvise`),
//! these functions request them once [`use_huge_pages`] says so: off by
//! default, because under a host that takes free memory back they cost
//! more than they save.
//!
//! A huge page only backs memory that covers it whole. The `wildhost`
//! command therefore installs [`HugeAllocator`]: every large allocation is a
//! mapping of its own that starts on a huge-page boundary and spans whole
//! huge pages, and the buffers made here ask for whole huge pages. Under
//! another allocator the advice still covers the huge pages that happen to
//! lie inside a buffer.
//!
//! Also here: key buffers as bytes, and the page tricks `sort --isolate`
//! plays on them (giving a buffer's pages to a forked worker, faulting a
//! buffer in before a copy into it).

use crate::process::page_size;
use std::alloc::{GlobalAlloc, Layout, System};
use std::io;
use std::mem::MaybeUninit;
use wildhost_abi::sdk::Key;

/// Buffers smaller than this are left alone: two huge pages at least.
pub(crate) const WORTH_IT: usize = 4 << 20;
const HUGE: usize = 2 << 20;

/// Whether large buffers ask the kernel for huge pages (off unless
/// [`use_huge_pages`] turns it on).
static ADVISE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turns on (or off) the request for huge pages under large buffers, for
/// the whole process.
///
/// Off by default. Huge pages halve the page faults of a buffer filled
/// while memory is unfragmented and recently used (a benchmark loop), but
/// under a virtual machine that hands free memory back to its host
/// (free page reporting, which reports free blocks of huge-page size) each
/// new huge page is memory the host must supply again, and a sort run
/// after other programs then spent more on faults than it saved (figures
/// in docs/PERFORMANCE.md). The `wildhost` command turns this on when
/// `WILDHOST_HUGE_PAGES=1`.
pub fn use_huge_pages(on: bool) {
    ADVISE.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// `madvise(MADV_HUGEPAGE)` on `start..start + len`, if asked for.
///
/// # Safety
/// `start..start + len` is whole pages of memory the caller owns.
unsafe fn advise(start: usize, len: usize) {
    if ADVISE.load(std::sync::atomic::Ordering::Relaxed) {
        // SAFETY: the caller's promise; advice changes how the kernel backs
        // the pages, never their contents.
        unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
    }
}

/// Asks for huge pages under the whole huge pages inside `spare`, memory
/// about to be filled.
pub(crate) fn advise_huge_pages<T>(spare: &mut [MaybeUninit<T>]) {
    if size_of_val(spare) < WORTH_IT {
        return;
    }
    let start = (spare.as_mut_ptr() as usize).next_multiple_of(HUGE);
    let end = (spare.as_mut_ptr() as usize + size_of_val(spare)) & !(HUGE - 1);
    if end > start {
        // SAFETY: whole pages inside memory the caller owns.
        unsafe { advise(start, end - start) };
    }
}

/// How many elements to ask for so that a large buffer of at least `len`
/// spans whole huge pages.
fn huge_capacity<T>(len: usize) -> usize {
    let size = size_of::<T>().max(1);
    match len.checked_mul(size) {
        Some(bytes) if bytes >= WORTH_IT => bytes
            .checked_next_multiple_of(HUGE)
            .map_or(len, |whole| whole / size),
        _ => len,
    }
}

/// An empty `Vec` with room for `len` elements, on huge pages if large.
pub fn with_capacity<T>(len: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(huge_capacity::<T>(len));
    advise_huge_pages(v.spare_capacity_mut());
    v
}

/// [`with_capacity`], or an error if the memory cannot be had.
pub fn try_with_capacity<T>(len: usize) -> io::Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(huge_capacity::<T>(len)).map_err(|_| {
        io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!(
                "cannot allocate {} bytes",
                len.saturating_mul(size_of::<T>())
            ),
        )
    })?;
    advise_huge_pages(v.spare_capacity_mut());
    Ok(v)
}

/// Makes room for `additional` more elements in `v`, on huge pages if
/// large; false if the memory cannot be had (then `v` is unchanged).
pub(crate) fn try_reserve<T>(v: &mut Vec<T>, additional: usize) -> bool {
    let wanted = match v.len().checked_add(additional) {
        Some(total) => huge_capacity::<T>(total) - v.len(),
        None => return false,
    };
    if v.try_reserve_exact(wanted).is_err() {
        return false;
    }
    advise_huge_pages(v.spare_capacity_mut());
    true
}

/// Grows the capacity of a large buffer that starts on a huge-page boundary
/// (as [`HugeAllocator`] places them) to the end of its last huge page, so
/// that no page of it is shared with memory outside the buffer. Under
/// [`HugeAllocator`] this moves nothing: the pages are already mapped.
pub(crate) fn round_up_to_huge_pages<T>(v: &mut Vec<T>) {
    let bytes = v.capacity() * size_of::<T>();
    if bytes >= WORTH_IT && (v.as_ptr() as usize).is_multiple_of(HUGE) {
        let whole = huge_capacity::<T>(v.capacity());
        // Best effort: without the memory, the buffer stays as it is.
        let _ = v.try_reserve_exact(whole - v.len());
    }
}

/// The global allocator of the `wildhost` command: allocations of 4 MB or
/// more are anonymous mappings of their own, aligned to a huge page and
/// spanning whole huge pages, with huge pages requested for them; smaller
/// ones go to the system allocator.
///
/// Besides taking four faults per 8 MB instead of 2048, such a buffer
/// shares no page with any other allocation, so `sort --isolate` can hand
/// all of its pages to the worker process.
#[derive(Debug)]
pub struct HugeAllocator;

impl HugeAllocator {
    fn is_large(layout: Layout) -> bool {
        // Alignments beyond a page are left to the system allocator, since a
        // mapping moved by `mremap` is only sure to be page-aligned.
        layout.size() >= WORTH_IT && layout.align() <= 4096
    }

    /// A fresh mapping of `size` bytes rounded up to whole huge pages, on a
    /// huge-page boundary; null if the kernel refuses.
    fn map(size: usize) -> *mut u8 {
        let Some(len) = size.checked_next_multiple_of(HUGE) else {
            return std::ptr::null_mut();
        };
        let Some(padded) = len.checked_add(HUGE) else {
            return std::ptr::null_mut();
        };
        // SAFETY: a new private anonymous mapping; no memory of ours is
        // touched.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                padded,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return std::ptr::null_mut();
        }
        let raw = raw as usize;
        let start = raw.next_multiple_of(HUGE);
        // SAFETY: the head and tail trimmed off lie inside the mapping just
        // made, outside `start..start + len`, and nothing refers to them.
        unsafe {
            if start > raw {
                libc::munmap(raw as *mut libc::c_void, start - raw);
            }
            let tail = start + len;
            if raw + padded > tail {
                libc::munmap(tail as *mut libc::c_void, raw + padded - tail);
            }
            advise(start, len);
        }
        start as *mut u8
    }

    /// Unmaps what [`HugeAllocator::map`] made for `size` bytes at `ptr`.
    ///
    /// # Safety
    /// `ptr` came from `map(size)` and is not used afterwards.
    unsafe fn unmap(ptr: *mut u8, size: usize) {
        let len = size.next_multiple_of(HUGE);
        // SAFETY: the caller's promise: this is exactly that mapping.
        unsafe { libc::munmap(ptr.cast(), len) };
    }
}

// SAFETY: large blocks are fresh mappings of at least `size` bytes,
// aligned to 2 MB (or at least a page, after `mremap`; large layouts ask
// for no more), unmapped
// whole on `dealloc`; everything else is the system allocator's.
unsafe impl GlobalAlloc for HugeAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Self::is_large(layout) {
            Self::map(layout.size())
        } else {
            // SAFETY: the caller upholds `alloc`'s contract.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if Self::is_large(layout) {
            // Fresh anonymous memory reads as zeros.
            Self::map(layout.size())
        } else {
            // SAFETY: the caller upholds `alloc_zeroed`'s contract.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if Self::is_large(layout) {
            // SAFETY: a large layout's block came from `map` for its size.
            unsafe { Self::unmap(ptr, layout.size()) }
        } else {
            // SAFETY: a small layout's block came from the system allocator.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees the new size makes a valid layout
        // with the same alignment.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (Self::is_large(layout), Self::is_large(new)) {
            // SAFETY: both blocks are the system allocator's.
            (false, false) => unsafe { System.realloc(ptr, layout, new_size) },
            (true, true) => {
                let (old_len, new_len) = (
                    layout.size().next_multiple_of(HUGE),
                    new_size.next_multiple_of(HUGE),
                );
                if old_len == new_len {
                    return ptr;
                }
                // The pages move with their contents, nothing is copied;
                // the kernel keeps whole huge pages on huge-page boundaries.
                // SAFETY: `ptr` is the mapping `map` made for the old size.
                let moved =
                    unsafe { libc::mremap(ptr.cast(), old_len, new_len, libc::MREMAP_MAYMOVE) };
                if moved == libc::MAP_FAILED {
                    return std::ptr::null_mut();
                }
                moved.cast()
            }
            _ => {
                // SAFETY: `new` has a non-zero size (it or the old one is
                // large, and the old one's contents fit in min of both).
                let fresh = unsafe { self.alloc(new) };
                if !fresh.is_null() {
                    // SAFETY: both blocks hold at least the smaller size and
                    // are distinct; the old one is freed after the copy.
                    unsafe {
                        std::ptr::copy_nonoverlapping(ptr, fresh, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                fresh
            }
        }
    }
}

// Byte and page views of key buffers, for handing keys between processes.

/// The room of `keys` as bytes to copy into.
pub(crate) fn uninit_bytes<T: Key>(keys: &mut [MaybeUninit<T>]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: the same memory, as bytes that may be uninitialised; every
    // bit pattern is a valid key, so whatever is written through the view
    // leaves valid keys wherever all their bytes were written.
    unsafe { std::slice::from_raw_parts_mut(keys.as_mut_ptr().cast(), size_of_val(keys)) }
}

/// `bytes` as room to copy into.
pub(crate) fn uninit(bytes: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: same layout; through the view only bytes are written, never
    // uninitialised memory, so `bytes` stays initialised.
    unsafe { std::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast(), bytes.len()) }
}

/// The bytes of `keys`.
pub(crate) fn bytes_of<T: Key>(keys: &[T]) -> &[u8] {
    // SAFETY: keys are plain integers or floats: no padding, every byte
    // initialised; the byte view covers exactly the slice.
    unsafe { std::slice::from_raw_parts(keys.as_ptr().cast(), size_of_val(keys)) }
}

/// The bytes of `keys`, to write keys through.
pub(crate) fn bytes_of_mut<T: Key>(keys: &mut [T]) -> &mut [u8] {
    // SAFETY: as in `bytes_of`, and every bit pattern is a valid key, so any
    // bytes written through the view leave valid keys.
    unsafe { std::slice::from_raw_parts_mut(keys.as_mut_ptr().cast(), size_of_val(keys)) }
}

/// In the host, right after forking a process that is to sort `keys`
/// (`sort --isolate`): drops its view of the pages that lie
/// wholly inside the buffer of `keys` (its spare capacity included), so that
/// the worker is their only owner and its writes to them copy nothing. The
/// host reads zeros there afterwards, and fresh pages back its later writes.
/// (A page shared with other memory stays shared, and the worker's first
/// write to it copies it: under the `wildhost` command's allocator a large
/// buffer has no such page.)
pub(crate) fn release_pages<T: Key>(keys: &mut Vec<T>) {
    let page = page_size();
    let buffer = keys.as_mut_ptr() as usize;
    let start = buffer.next_multiple_of(page);
    let end = (buffer + keys.capacity() * size_of::<T>()) & !(page - 1);
    if end > start {
        // SAFETY: the range lies inside the buffer of `keys`, which the host
        // borrows exclusively; for private anonymous memory MADV_DONTNEED
        // only replaces the host's pages with zero pages, which are valid
        // keys.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
}

/// Frees `bytes`, its pages given back to the kernel by up to `threads`
/// threads side by side first when it is large: on one thread alone,
/// freeing the hundreds of megabytes of a large input takes tens of
/// milliseconds.
pub fn free_on(mut bytes: Vec<u8>, threads: usize) {
    if bytes.capacity() >= 64 << 20 {
        give_back_on(&mut bytes, threads);
    }
    drop(bytes);
}

/// Gives the kernel back the whole pages of the buffer of `bytes` (its
/// spare capacity included), `threads` shares of them side by side; they
/// read as zeros afterwards. One thread leaves them to the allocator.
fn give_back_on(bytes: &mut Vec<u8>, threads: usize) {
    if threads < 2 {
        return;
    }
    let page = page_size();
    let buffer = bytes.as_mut_ptr() as usize;
    let start = buffer.next_multiple_of(page);
    let end = (buffer + bytes.capacity()) & !(page - 1);
    if end <= start {
        return;
    }
    let share = ((end - start) / threads).next_multiple_of(page).max(page);
    let parts: Vec<(usize, usize)> = (start..end)
        .step_by(share)
        .map(|from| (from, (from + share).min(end)))
        .collect();
    crate::threads::each(parts, |(from, to)| {
        // SAFETY: whole pages inside the buffer of `bytes`, which the caller
        // lends exclusively; for private anonymous memory MADV_DONTNEED
        // only replaces its pages with zero pages, valid bytes.
        unsafe { libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_DONTNEED) };
    });
}

/// Writes to each page of `keys`, so that the kernel backs them now. What
/// was there is about to be overwritten by the result (or dropped).
pub(crate) fn prefault<T: Key>(keys: &mut [T]) {
    let page = page_size();
    let bytes = bytes_of_mut(keys);
    let mut at = 0;
    while at < bytes.len() {
        // SAFETY: `at` is in bounds; volatile, so that the compiler keeps
        // a write nothing reads before the result overwrites it.
        unsafe { bytes.as_mut_ptr().add(at).write_volatile(0) };
        at += page;
    }
}

/// The threads this process may run on at once: the CPUs of its affinity
/// mask, fewer under a cgroup's CPU quota (std's `available_parallelism`
/// reads both on Linux); 1 if neither can be read.
pub fn available_threads() -> std::num::NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(std::num::NonZeroUsize::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shared among three threads, the whole pages of a buffer read as
    /// zeros afterwards; the bytes of the pages it shares, if any, at its
    /// ends stay as they were.
    #[test]
    fn a_buffer_given_back_on_threads_loses_its_whole_pages_only() {
        let mut bytes = vec![7u8; (8 << 20) + 100];
        give_back_on(&mut bytes, 3);
        let page = page_size();
        let buffer = bytes.as_ptr() as usize;
        let first = buffer.next_multiple_of(page) - buffer;
        let last = ((buffer + bytes.capacity()) & !(page - 1)) - buffer;
        for (i, &b) in bytes.iter().enumerate() {
            let whole = (first..last).contains(&i);
            assert_eq!(b, if whole { 0 } else { 7 }, "byte {i}");
        }
        free_on(bytes, 3);
    }

    #[test]
    fn large_buffers_ask_for_whole_huge_pages() {
        assert_eq!(huge_capacity::<u64>(1000), 1000);
        assert_eq!(huge_capacity::<u64>(1_000_000), 4 * HUGE / 8);
        assert_eq!(huge_capacity::<u32>(1 << 20), 1 << 20);
        assert_eq!(huge_capacity::<u8>((4 << 20) + 1), 6 << 20);
        assert_eq!(huge_capacity::<u64>(usize::MAX / 8), usize::MAX / 8);
        let mut v: Vec<u64> = Vec::new();
        assert!(try_reserve(&mut v, 1_000_000));
        assert_eq!(v.capacity() * 8 % HUGE, 0);
        assert!(!try_reserve(&mut v, usize::MAX));
    }

    /// Every way a block can move between the two allocators keeps its
    /// contents, and large blocks sit on huge-page boundaries.
    #[test]
    fn the_allocator_keeps_contents_across_sizes() {
        let a = HugeAllocator;
        let fill = |p: *mut u8, n: usize| {
            for i in 0..n {
                // SAFETY: `p` holds at least `n` bytes.
                unsafe { p.add(i).write((i % 251) as u8) };
            }
        };
        let holds = |p: *const u8, n: usize| {
            // SAFETY: `p` holds at least `n` initialised bytes.
            (0..n).all(|i| unsafe { p.add(i).read() } == (i % 251) as u8)
        };
        let small = Layout::from_size_align(1000, 8).expect("layout");
        let large = 5 << 20;
        // SAFETY: each block is used within its size and freed once, with
        // the layout it has at that point.
        unsafe {
            let p = a.alloc(small);
            fill(p, 1000);
            let p = a.realloc(p, small, large);
            assert_eq!(p as usize % HUGE, 0);
            assert!(holds(p, 1000));
            fill(p, large);
            let grown = 13 << 20;
            let p = a.realloc(p, Layout::from_size_align(large, 8).expect("layout"), grown);
            assert!(!p.is_null());
            assert!(holds(p, large));
            let p = a.realloc(
                p,
                Layout::from_size_align(grown, 8).expect("layout"),
                4 << 20,
            );
            assert!(holds(p, 4 << 20));
            let p = a.realloc(p, Layout::from_size_align(4 << 20, 8).expect("layout"), 100);
            assert!(holds(p, 100));
            a.dealloc(p, Layout::from_size_align(100, 8).expect("layout"));

            let zeroed = Layout::from_size_align(large, 64).expect("layout");
            let z = a.alloc_zeroed(zeroed);
            assert_eq!(z as usize % HUGE, 0);
            assert!((0..large).step_by(4093).all(|i| z.add(i).read() == 0));
            a.dealloc(z, zeroed);
            // Beyond a page of alignment: the system allocator's.
            let aligned = Layout::from_size_align(large, 1 << 16).expect("layout");
            let q = a.alloc(aligned);
            assert_eq!(q as usize % (1 << 16), 0);
            a.dealloc(q, aligned);
        }
    }
}
