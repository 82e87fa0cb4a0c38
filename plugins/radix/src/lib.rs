//! The `radix` backend: a most-significant-digit-first radix sort for every
//! key type, floats in IEEE-754 totalOrder (the order of `total_cmp`).
//!
//! One scratch buffer the size of the input (and, for large inputs, one of
//! at most 2^16 keys that stays in the cache), freed before the call returns;
//! when it cannot be allocated the sort falls back to `sort_unstable` in
//! place. Sorted, reversed, few-distinct and narrow-range inputs are
//! recognised and sorted in one or two passes; small and badly skewed inputs
//! go to `sort_unstable`. See [`sort`] for the algorithm.
//!
//! Not flagged stable: equal keys of these types are bit-identical, so no
//! caller can observe the order of equal keys, but the small-input fallback
//! (`sort_unstable`) and the reversal of descending input are not stable
//! algorithms, and the flag would claim more than the code does.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod pairs;
pub mod sort;

wildhost_abi::export_plugin! {
    module: wildsort_radix,
    version: env!("CARGO_PKG_VERSION"),
    doc: "radix sorts",
    features: [],
    backends: [{
        name: "radix",
        doc: "MSD radix sort (adaptive digits, counting for few values), one scratch buffer the size of the input",
        flags: 0,
        scratch_percent: 100,
        sorts: {
            u32: sort::sort_u32,
            u64: sort::sort_u64,
            i32: sort::sort_i32,
            i64: sort::sort_i64,
            f32: sort::sort_f32,
            f64: sort::sort_f64,
        },
    }],
}
