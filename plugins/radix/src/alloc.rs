//! The plugin's allocator, on Linux: the system's, except that a large
//! allocation (the radix sort's scratch buffer) starts on a huge-page
//! boundary and, when that costs at most a quarter more memory, spans whole
//! huge pages, which the kernel is asked to back with transparent huge
//! pages. Then the scatter's thousands of streams stay in the TLB, and no
//! 4 KiB page of the buffer is faulted in on its own: such a page costs
//! about 1.2 µs (kernel entry, zeroing, mapping), and the system allocator
//! puts a large block 16 bytes past a page boundary, so an 8 MB scratch
//! buffer (1e6 `u64` keys) had 1.6 MB of 4 KiB pages at its ends: 417
//! faults, 0.85 ms of a 5.4 ms sort (9 faults on whole huge pages).
//!
//! The wildhost command's own allocator does the same for its buffers; a
//! plugin has its own allocator, so it does it here too.

use std::alloc::{GlobalAlloc, Layout, System};

/// A transparent huge page.
const HUGE: usize = 2 << 20;

/// The system allocator, with large blocks on whole huge pages.
pub struct HugePages;

/// The layout a large allocation gets instead of `layout`: aligned to a huge
/// page and, when at most a quarter more, a whole number of them. None for
/// the small ones (and over-aligned ones), left as they are. A function of
/// `layout` alone, so that freeing gives the same answer as allocating.
fn huge(layout: Layout) -> Option<Layout> {
    let size = layout.size();
    if size < 2 * HUGE || layout.align() > HUGE {
        return None;
    }
    let whole = size.checked_next_multiple_of(HUGE)?;
    let size = if whole - size <= size / 4 {
        whole
    } else {
        size
    };
    Layout::from_size_align(size, HUGE).ok()
}

/// Asks for transparent huge pages over the whole huge pages of a block
/// just allocated with `layout` (huge-page aligned).
fn advise(block: *mut u8, layout: Layout) {
    if !block.is_null() {
        // SAFETY: madvise only changes how the kernel backs these pages (the
        // whole huge pages of a block this allocator owns); it never changes
        // their contents or validity.
        unsafe {
            libc::madvise(
                block.cast(),
                layout.size() & !(HUGE - 1),
                libc::MADV_HUGEPAGE,
            )
        };
    }
}

// SAFETY: every block comes from `System` with a layout at least as large
// and as aligned as the one asked for, and goes back to `System` with the
// layout it came with (`huge` depends on the caller's layout only, which
// `dealloc` and `realloc` are given unchanged).
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match huge(layout) {
            // SAFETY: `big` is not zero-sized.
            Some(big) => unsafe {
                let block = System.alloc(big);
                advise(block, big);
                block
            },
            // SAFETY: the caller's layout, as it came.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match huge(layout) {
            // SAFETY: `big` is not zero-sized.
            Some(big) => unsafe {
                let block = System.alloc_zeroed(big);
                advise(block, big);
                block
            },
            // SAFETY: the caller's layout, as it came.
            None => unsafe { System.alloc_zeroed(layout) },
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: `block` came from `alloc` with `layout`, which gave it to
        // `System` with `huge(layout)` if that is Some, else with `layout`.
        unsafe { System.dealloc(block, huge(layout).unwrap_or(layout)) }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller promises `new_size`, rounded up to the
        // alignment, does not overflow `isize`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if huge(layout).is_none() && huge(new_layout).is_none() {
            // SAFETY: both the old and the new block are the system's own.
            return unsafe { System.realloc(block, layout, new_size) };
        }
        // SAFETY: `new_layout` is not zero-sized (one of the two is large,
        // and a large new size or an old block of `layout` is copied from
        // within its bounds); `block` is live for `layout.size()` bytes.
        unsafe {
            let moved = self.alloc(new_layout);
            if !moved.is_null() {
                std::ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                self.dealloc(block, layout);
            }
            moved
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_blocks_get_whole_huge_pages_when_that_costs_little() {
        let layout = |size| Layout::from_size_align(size, 8).unwrap();
        assert_eq!(huge(layout(2 * HUGE - 8)), None);
        let exact = huge(layout(4 * HUGE)).unwrap();
        assert_eq!((exact.size(), exact.align()), (4 * HUGE, HUGE));
        // 8 000 000 bytes: 0.39 MB more makes 4 whole huge pages.
        assert_eq!(huge(layout(8_000_000)).unwrap().size(), 4 * HUGE);
        // 4.8 MB: a whole third huge page would cost a quarter more.
        assert_eq!(huge(layout(4_800_000)).unwrap().size(), 4_800_000);
        assert_eq!(
            huge(Layout::from_size_align(4 * HUGE, 2 * HUGE).unwrap()),
            None
        );
    }

    #[test]
    fn blocks_keep_their_contents_across_every_kind_of_realloc() {
        let a = HugePages;
        let sizes = [16, 1 << 20, 2 * HUGE, 8_000_000, 3 * HUGE + 1, 64];
        let layout = Layout::from_size_align(sizes[0], 8).unwrap();
        // SAFETY: a test of the allocator's contract: every block is used
        // within its size and freed with the layout it has.
        unsafe {
            let mut block = a.alloc_zeroed(layout);
            assert!(!block.is_null());
            let mut layout = layout;
            for &size in &sizes[1..] {
                let kept = layout.size().min(size);
                for i in 0..kept {
                    *block.add(i) = (i % 251) as u8;
                }
                block = a.realloc(block, layout, size);
                assert!(!block.is_null());
                layout = Layout::from_size_align(size, 8).unwrap();
                if huge(layout).is_some() {
                    assert_eq!(block as usize % HUGE, 0, "{size} bytes on a huge page");
                }
                for i in 0..kept {
                    assert_eq!(*block.add(i), (i % 251) as u8, "byte {i} after {size}");
                }
            }
            a.dealloc(block, layout);
        }
    }
}
