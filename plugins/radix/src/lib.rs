//! The `radix` backend: a most-significant-digit-first radix sort for every
//! key type, floats in IEEE-754 totalOrder (the order of `total_cmp`).
//!
//! Where the CPU has AVX-512F (detected at run time), its key-only sorts
//! go, after the radix sort's early exits, to a quicksort in vector
//! registers instead ([`vector`]): faster there on every key type and size
//! measured (docs/PERFORMANCE.md, "In vector registers"). Where the CPU
//! has AVX2 only, 32-bit keys go to the same quicksort in AVX2 registers
//! ([`avx2`]), and 64-bit keys do up to the sizes where the radix passes
//! start to win (docs/PERFORMANCE.md, "64-bit keys in AVX2 registers").
//! Pairs keep the radix passes, which are stable.
//!
//! Before either, keys of a narrow span are counted, or, 64-bit ones
//! spanning fewer than 2^32 values, sorted as 32-bit offsets in their own
//! memory (docs/PERFORMANCE.md, "Narrow spans").
//!
//! One scratch buffer the size of the input (and, for large inputs, one of
//! at most 2^16 keys that stays in the cache), freed before the call returns;
//! when it cannot be allocated the sort falls back to `sort_unstable` in
//! place. Sorted, reversed, few-distinct and narrow-range inputs are
//! recognised and sorted in one or two passes; small and badly skewed inputs
//! go to `sort_unstable`. See [`sort`] for the algorithm.
//!
//! Given a source (ABI 1.3, [`from::sort_from`]), its first level reads the
//! keys there and its buckets are written into the output: a sorted copy
//! costs no copy first.
//!
//! Its pairs entry (ABI 1.1, [`pairs::sort_pairs`]) moves each payload in
//! the same passes as its key and is stable, which is what the `stable`
//! flag declares: for bare keys stability cannot be observed (equal keys
//! are identical bits), and the key-only sort does not promise it.

#![cfg_attr(test, allow(clippy::unwrap_used))]

#[cfg(target_arch = "x86_64")]
pub mod avx2;
mod dense;
pub mod from;
#[cfg(target_arch = "x86_64")]
mod lanes;
pub mod pairs;
pub mod par;
pub mod sort;
#[cfg(target_arch = "x86_64")]
pub mod vector;

/// Where there are no AVX2 registers, the radix passes sort every key.
#[cfg(not(target_arch = "x86_64"))]
pub mod avx2 {
    /// Never sorts: returns false.
    pub fn sorted<T>(_: &mut [T]) -> bool {
        false
    }
}

/// Where there are no AVX-512 registers, the radix passes sort every key.
#[cfg(not(target_arch = "x86_64"))]
pub mod vector {
    /// Never sorts: returns false.
    pub fn sorted<T>(_: &mut [T]) -> bool {
        false
    }
}

use wildhost_abi::sdk::PayloadSlice;

/// The pairs entry: the SDK has checked that both arrays have `keys.len()`
/// values.
fn pairs_of<K: pairs::PairKey>(keys: &mut [K], payload: PayloadSlice<'_>) {
    match payload {
        PayloadSlice::U32(p) => pairs::sort_pairs(keys, p),
        PayloadSlice::U64(p) => pairs::sort_pairs(keys, p),
    }
}

/// The pairs entry on up to `threads` threads (ABI 1.2 `sort_with`).
fn pairs_parallel_of<K: pairs::PairKey>(keys: &mut [K], payload: PayloadSlice<'_>, threads: usize) {
    match payload {
        PayloadSlice::U32(p) => par::sort_pairs_parallel(keys, p, threads),
        PayloadSlice::U64(p) => par::sort_pairs_parallel(keys, p, threads),
    }
}

wildhost_abi::export_plugin! {
    module: wildsort_radix,
    version: env!("CARGO_PKG_VERSION"),
    doc: "radix sorts",
    features: [],
    backends: [{
        name: "radix",
        doc: "MSD radix sort (adaptive digits, counting for few values), one scratch buffer the size of the input; on several threads when given a thread count",
        flags: wildhost_abi::flags::STABLE | wildhost_abi::flags::PARALLEL,
        scratch_percent: 100,
        sorts: {
            u32: sort::sort_u32,
            u64: sort::sort_u64,
            i32: sort::sort_i32,
            i64: sort::sort_i64,
            f32: sort::sort_f32,
            f64: sort::sort_f64,
        },
        pairs: {
            u32: pairs_of::<u32>,
            u64: pairs_of::<u64>,
            i32: pairs_of::<i32>,
            i64: pairs_of::<i64>,
            f32: pairs_of::<f32>,
            f64: pairs_of::<f64>,
        },
        parallel: {
            u32: par::sort_u32_parallel,
            u64: par::sort_u64_parallel,
            i32: par::sort_i32_parallel,
            i64: par::sort_i64_parallel,
            f32: par::sort_f32_parallel,
            f64: par::sort_f64_parallel,
        },
        parallel_pairs: {
            u32: pairs_parallel_of::<u32>,
            u64: pairs_parallel_of::<u64>,
            i32: pairs_parallel_of::<i32>,
            i64: pairs_parallel_of::<i64>,
            f32: pairs_parallel_of::<f32>,
            f64: pairs_parallel_of::<f64>,
        },
        from_source: {
            u32: from::sort_from::<u32>,
            u64: from::sort_from::<u64>,
            i32: from::sort_from::<i32>,
            i64: from::sort_from::<i64>,
            f32: from::sort_from::<f32>,
            f64: from::sort_from::<f64>,
        },
    }],
}
