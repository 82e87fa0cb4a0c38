//! Large buffers on transparent huge pages.
//!
//! A page fault costs about 1.6 µs on the virtual machines wildhost is
//! measured on, so filling a fresh 8 MB buffer page by page (2048 faults)
//! takes longer than sorting a million keys by radix; the same buffer on
//! huge pages takes four faults. Where the kernel grants huge pages only on
//! request (`enabled` set to `madvise`), these functions request them.

use std::io;
use std::mem::MaybeUninit;

/// Buffers smaller than this are left alone: two huge pages at least.
const WORTH_IT: usize = 4 << 20;
const HUGE: usize = 2 << 20;

/// Asks for huge pages under the whole huge pages inside `spare`, memory
/// about to be filled.
pub(crate) fn advise_huge_pages<T>(spare: &mut [MaybeUninit<T>]) {
    if size_of_val(spare) < WORTH_IT {
        return;
    }
    let start = (spare.as_mut_ptr() as usize).next_multiple_of(HUGE);
    let end = (spare.as_mut_ptr() as usize + size_of_val(spare)) & !(HUGE - 1);
    if end > start {
        // SAFETY: advice on whole pages inside memory the caller owns; it
        // changes how the kernel backs them, never their contents.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
    }
}

/// An empty `Vec` with room for `len` elements, on huge pages if large.
pub fn with_capacity<T>(len: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(len);
    advise_huge_pages(v.spare_capacity_mut());
    v
}

/// [`with_capacity`], or an error if the memory cannot be had.
pub fn try_with_capacity<T>(len: usize) -> io::Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
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

/// Reads a whole file into a buffer sized from its length.
pub fn read_file(path: &std::path::Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    // One byte more, so that reading to the end needs no second allocation.
    let mut bytes = try_with_capacity(len.saturating_add(1))?;
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}
