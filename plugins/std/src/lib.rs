//! The `std` backend: Rust's `sort_unstable` (pattern-defeating quicksort,
//! in place) for every key type, floats by `total_cmp`. It is the reference
//! the other backends are measured and checked against.
//!
//! Its pairs entry (ABI 1.1) is stable: it sorts a permutation of indices
//! with std's stable sort by key, then applies the permutation to keys and
//! payload in place by following its cycles. The permutation (4 bytes a
//! pair) and the stable sort's buffer (at most as much again) stay within
//! one buffer the size of the input, hence `scratch 100%`.

use std::cmp::Ordering;
use wildhost_abi::sdk::PayloadSlice;

fn sort_ord<T: Ord>(keys: &mut [T]) {
    keys.sort_unstable();
}

fn sort_f32(keys: &mut [f32]) {
    keys.sort_unstable_by(f32::total_cmp);
}

fn sort_f64(keys: &mut [f64]) {
    keys.sort_unstable_by(f64::total_cmp);
}

/// An index into the arrays, with a value no index takes that marks a
/// place already filled while a permutation is applied.
trait Index: Copy + Eq + TryFrom<usize> {
    const DONE: Self;
    fn get(self) -> usize;
}

impl Index for u32 {
    const DONE: u32 = u32::MAX;
    fn get(self) -> usize {
        self as usize
    }
}

impl Index for usize {
    const DONE: usize = usize::MAX;
    fn get(self) -> usize {
        self
    }
}

/// Sorts keys and payload together, stably, by `cmp`.
fn pairs_by<K: Copy>(keys: &mut [K], payload: PayloadSlice<'_>, cmp: fn(&K, &K) -> Ordering) {
    // u32 indices where they suffice (every index below u32::MAX, which
    // marks done places): half the memory of usize ones.
    if keys.len() < u32::MAX as usize {
        pairs_with::<K, u32>(keys, payload, cmp)
    } else {
        pairs_with::<K, usize>(keys, payload, cmp)
    }
}

fn pairs_with<K: Copy, I: Index>(
    keys: &mut [K],
    payload: PayloadSlice<'_>,
    cmp: fn(&K, &K) -> Ordering,
) {
    let mut order: Vec<I> = (0..keys.len())
        .filter_map(|i| I::try_from(i).ok())
        .collect();
    order.sort_by(|a, b| cmp(&keys[a.get()], &keys[b.get()]));
    match payload {
        PayloadSlice::U32(p) => apply(&mut order, keys, p),
        PayloadSlice::U64(p) => apply(&mut order, keys, p),
    }
}

/// Puts `keys[order[i]]` (and its payload) at `i`, for every `i`, in place:
/// each cycle of the permutation is walked once, and `order` marks the
/// places filled.
fn apply<K: Copy, P: Copy, I: Index>(order: &mut [I], keys: &mut [K], payload: &mut [P]) {
    for start in 0..order.len() {
        if order[start] == I::DONE {
            continue;
        }
        let (key, value) = (keys[start], payload[start]);
        let mut at = start;
        loop {
            let from = order[at].get();
            order[at] = I::DONE;
            if from == start {
                keys[at] = key;
                payload[at] = value;
                break;
            }
            keys[at] = keys[from];
            payload[at] = payload[from];
            at = from;
        }
    }
}

fn pairs_ord<T: Ord + Copy>(keys: &mut [T], payload: PayloadSlice<'_>) {
    pairs_by(keys, payload, T::cmp)
}

fn pairs_f32(keys: &mut [f32], payload: PayloadSlice<'_>) {
    pairs_by(keys, payload, f32::total_cmp)
}

fn pairs_f64(keys: &mut [f64], payload: PayloadSlice<'_>) {
    pairs_by(keys, payload, f64::total_cmp)
}

wildhost_abi::export_plugin! {
    module: wildsort_std,
    version: env!("CARGO_PKG_VERSION"),
    doc: "Rust's standard library sorts",
    features: [],
    backends: [{
        name: "std",
        doc: "core::slice::sort_unstable (pattern-defeating quicksort), in place; pairs by a stable sort of indices",
        flags: wildhost_abi::flags::STABLE,
        scratch_percent: 100,
        sorts: {
            u32: sort_ord::<u32>,
            u64: sort_ord::<u64>,
            i32: sort_ord::<i32>,
            i64: sort_ord::<i64>,
            f32: sort_f32,
            f64: sort_f64,
        },
        pairs: {
            u32: pairs_ord::<u32>,
            u64: pairs_ord::<u64>,
            i32: pairs_ord::<i32>,
            i64: pairs_ord::<i64>,
            f32: pairs_f32,
            f64: pairs_f64,
        },
    }],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_sort_stably_and_keep_payloads_with_their_keys() {
        let mut keys = [3u32, 1, 3, 2, 1, 3];
        let mut payload: Vec<u64> = (0..6).collect();
        pairs_ord(&mut keys, PayloadSlice::U64(&mut payload));
        assert_eq!(keys, [1, 1, 2, 3, 3, 3]);
        assert_eq!(payload, [1, 4, 3, 0, 2, 5]);
    }

    #[test]
    fn float_pairs_sort_by_total_order() {
        let mut keys = [0.0f64, -0.0, f64::NAN, -1.0, 0.0];
        let mut payload: Vec<u32> = (0..5).collect();
        pairs_f64(&mut keys, PayloadSlice::U32(&mut payload));
        assert_eq!(payload, [3, 1, 0, 4, 2]);
    }
}
