//! Sorting into another buffer: for callers who want a sorted copy (a new
//! array) and would otherwise copy the keys and sort the copy in place.
//!
//! ```
//! use wildsort_radix::from::sort_from;
//!
//! let src: Vec<f64> = (0..1_000_000u64).map(|i| (i * 7919 % 1_000_003) as f64).collect();
//! let mut dst = vec![0.0; src.len()];
//! sort_from(&src, &mut dst, 2);
//! assert!(dst.is_sorted_by(|a, b| a.total_cmp(b).is_le()));
//! ```
//!
//! Out of the cache the radix sort's first level reads every key once for
//! its histogram and once for its scatter into the scratch buffer, and its
//! buckets are sorted from there into their place, which they write before
//! they read. So that level reads the keys where they are, and the buckets
//! go to the output: the copy is saved. Everything else (small inputs,
//! presorted ones, few distinct values, keys of a narrow span, the paths
//! of the serial sort that sort in place) copies the keys into the output
//! and sorts them there.

use crate::par::{self, ParallelKey};
use crate::sort;

/// Sorts the keys of `src` into `dst` on up to `threads` threads (the
/// calling one among them): afterwards `dst` is, bit for bit, what
/// `dst.copy_from_slice(src)` and [`par::sort_parallel`] of `dst` give, but
/// for large inputs without that copy.
///
/// `dst`'s contents on entry are never read; `src` is never written.
///
/// # Panics
/// If `src` and `dst` differ in length.
pub fn sort_from<T: ParallelKey>(src: &[T], dst: &mut [T], threads: usize) {
    sort_from_with(src, dst, threads, false);
}

/// [`sort_from`] by the radix passes alone, where the CPU would have the
/// vector sort take over: so that tests reach them on every CPU.
///
/// # Panics
/// If `src` and `dst` differ in length.
#[doc(hidden)]
pub fn radix_sort_from<T: ParallelKey>(src: &[T], dst: &mut [T], threads: usize) {
    sort_from_with(src, dst, threads, true);
}

/// [`sort_from`], by the radix passes alone if `radix_only`.
fn sort_from_with<T: ParallelKey>(src: &[T], dst: &mut [T], threads: usize, radix_only: bool) {
    assert_eq!(
        src.len(),
        dst.len(),
        "src and dst must have the same length"
    );
    let n = src.len();
    // `sort_parallel`'s choice, whose result this must be.
    let threads = threads.min(n / par::CHUNK_MIN).min(par::MAX_THREADS);
    let serial = threads <= 1 || n < par::PARALLEL_MIN;
    // Smaller inputs never leave the cache, where the copy costs little
    // beside the sort; larger ones are copied where the early exits would
    // sort them in place.
    if n > sort::CACHE_KEYS
        && let Some(sample) = sort::prepare_read_only(src)
    {
        let threads = if serial { 1 } else { threads };
        if radix_only {
            T::radix_passes_from(src, dst, &sample, threads);
        } else if !crate::dense::may_sort::<T>(n, &sample) {
            T::passes_from(src, dst, &sample, threads);
        } else {
            // A narrow span, sorted in place in a copy, by the sample
            // already drawn: no second look for a presorted input.
            dst.copy_from_slice(src);
            if !crate::dense::sorted(dst, &sample, |o| par::sort_parallel(o, threads)) {
                par::sort_parallel(dst, threads);
            }
        }
        return;
    }
    dst.copy_from_slice(src);
    par::sort_parallel(dst, threads);
}
