//! Keys that carry a payload: two parallel arrays sorted by key, each
//! payload moved with its key, stably (keys that are equal bit for bit keep
//! their payloads in input order). The payload is opaque; it is usually each
//! key's original index, for sorting records by a column.
//!
//! ```
//! use wildsort_radix::pairs::sort_pairs;
//!
//! let mut keys = [2.5f64, -0.0, 2.5, f64::NAN, 0.0];
//! let mut rows = [0u32, 1, 2, 3, 4];
//! sort_pairs(&mut keys, &mut rows);
//! assert_eq!(rows, [1, 4, 0, 2, 3]);
//! ```
//!
//! The order is the one of [`crate::sort`]: integers natural, floats in
//! IEEE-754 totalOrder. The algorithm, for `n` pairs:
//!
//! 1. `n <= SMALL`: insertion sort of the pairs.
//! 2. One early-exit scan of the keys: non-decreasing → done;
//!    non-increasing → both arrays reversed, then the payloads of each run
//!    of equal keys reversed back (a reversal alone would put ties in
//!    reverse order).
//! 3. Each key is rewritten in place as its ordered key (see
//!    [`crate::sort`]), sorted as an unsigned integer and rewritten back.
//! 4. A sample of the keys with few distinct values: one counting pass
//!    (giving up past `FEW_MAX` values), one pass that moves each payload
//!    to its key's run through one payload buffer, and the keys written
//!    out run by run.
//! 5. MSD radix sort of the pairs between the input and two scratch
//!    buffers, one for keys and one for payloads (not filled before the
//!    first scatter writes them), with the digits of the key-only sort
//!    (the varying bits of each bucket, 9-bit digits out of the cache, two
//!    digits least significant first and one insertion pass for a
//!    cache-resident bucket). Every scatter is stable and insertion
//!    sort moves a key only past greater ones, so equal keys keep their
//!    order; a bucket of equal keys is found by its first pass (its keys
//!    do not vary) and costs no scatter.
//!
//! When the scratch buffers cannot be allocated, an in-place stable merge
//! sort (rotations, O(n log² n)) sorts the pairs instead.

use std::mem::MaybeUninit;

use crate::sort::{
    self, Bits, CACHE_KEYS, Count, FEW, FEW_SLOTS, FewTable, LEAF, MAX_WIDTH, RadixKey, SAMPLE,
    Scratch, SignedLog, TWO_DIGIT_RUN,
};

/// At most this many pairs are sorted by insertion sort: the key-only
/// sort's leaf size, doubled; a guess, not yet measured.
pub const SMALL: usize = 32;

/// Every length at which the algorithm changes, for tests.
pub const CUTOVERS: [usize; 4] = [SMALL, LEAF, TWO_DIGIT_RUN, CACHE_KEYS];

mod sealed {
    use crate::sort::RadixKey;

    /// A key type whose ordered key has the same bits: rewritten in place
    /// as its [`Image`](Self::Image) for the radix passes.
    ///
    /// # Safety
    /// `Self` and `Self::Image` have the same size and alignment, and every
    /// bit pattern is a valid value of both.
    pub unsafe trait SameBits: RadixKey {
        /// The ordered key, as a key type of its own (`u32` or `u64`).
        type Image: RadixKey + Send + Sync;
        fn image(self) -> Self::Image;
        fn from_image(k: Self::Image) -> Self;
    }

    /// A payload type: plain bits, moved and never read.
    pub trait Opaque: Copy + Default {}
}

/// The key types [`sort_pairs`] sorts: `u32`, `u64`, `i32`, `i64`, `f32`
/// and `f64`.
pub trait PairKey: sealed::SameBits {}

/// The payload types [`sort_pairs`] moves: `u32` and `u64`.
pub trait Payload: sealed::Opaque {}

macro_rules! pair_key {
    ($($t:ty => $k:ty),*) => {$(
        // SAFETY: each pair below is of the same size and alignment (4 or 8
        // bytes), and every bit pattern is a valid integer and a valid
        // float.
        unsafe impl sealed::SameBits for $t {
            type Image = $k;
            #[inline(always)]
            fn image(self) -> $k {
                self.key()
            }
            #[inline(always)]
            fn from_image(k: $k) -> Self {
                <$t>::from_key(k)
            }
        }
        impl PairKey for $t {}
    )*};
}
pair_key!(u32 => u32, u64 => u64, i32 => u32, i64 => u64, f32 => u32, f64 => u64);

impl sealed::Opaque for u32 {}
impl sealed::Opaque for u64 {}
impl Payload for u32 {}
impl Payload for u64 {}

/// Sorts `keys` in the order of [`crate::sort`] and moves each element of
/// `payload` with the key at the same index, stably: keys that are equal bit
/// for bit keep their payloads in input order.
///
/// Uses one scratch buffer the size of `keys` and one the size of
/// `payload`, both freed before it returns.
///
/// # Panics
/// If `keys` and `payload` differ in length.
#[inline]
pub fn sort_pairs<T: PairKey, P: Payload>(keys: &mut [T], payload: &mut [P]) {
    assert_eq!(
        keys.len(),
        payload.len(),
        "keys and payload must have the same length"
    );
    if keys.len() <= SMALL {
        insertion_sort(keys, payload);
        return;
    }
    sort_large(keys, payload);
}

/// [`sort_pairs`] of more than `SMALL` pairs.
#[inline(never)]
fn sort_large<T: PairKey, P: Payload>(keys: &mut [T], payload: &mut [P]) {
    sort_large_by(keys, payload, |images, payload| {
        if u32::try_from(images.len()).is_ok() {
            radix::<_, _, u32>(images, payload)
        } else {
            radix::<_, _, usize>(images, payload)
        }
    });
}

/// [`sort_large`] with `radix` for the radix passes over the keys' images
/// (which returns false, having changed nothing, if it cannot run): the
/// early exits and the fallback that the serial and the parallel sorts
/// share.
pub(crate) fn sort_large_by<T: PairKey, P: Payload>(
    keys: &mut [T],
    payload: &mut [P],
    radix: impl FnOnce(&mut [T::Image], &mut [P]) -> bool,
) {
    if presorted(keys, payload) {
        return;
    }
    as_images(keys, |images| {
        let sorted = few_distinct(images, payload) || radix(images, payload);
        if !sorted {
            merge_sort_in_place(images, payload);
        }
    });
}

/// [`sort_pairs`] without scratch buffers: the in-place merge sort that
/// runs when they cannot be allocated, for tests.
#[doc(hidden)]
pub fn sort_pairs_in_place<T: PairKey, P: Payload>(keys: &mut [T], payload: &mut [P]) {
    assert_eq!(keys.len(), payload.len());
    if presorted(keys, payload) {
        return;
    }
    as_images(keys, |images| merge_sort_in_place(images, payload));
}

/// Rewrites each key of `v` in place as its image, lets `sort` order the
/// images, and rewrites each image as its key. The map is a bijection on
/// the bits, so the keys come back bit for bit.
#[inline]
fn as_images<T: PairKey>(v: &mut [T], sort: impl FnOnce(&mut [T::Image])) {
    const {
        assert!(
            size_of::<T>() == size_of::<T::Image>() && align_of::<T>() == align_of::<T::Image>()
        );
    }
    let n = v.len();
    let p = v.as_mut_ptr();
    for i in 0..n {
        // SAFETY: `i < n`, inside `v`; `T` and `T::Image` have the same size
        // and alignment and every bit pattern is valid for both
        // (`SameBits`), so the slot holds a valid `T` before and a valid
        // `T::Image` after.
        unsafe {
            let x = p.add(i).read();
            p.add(i).cast::<T::Image>().write(x.image());
        }
    }
    // SAFETY: `v`'s memory, borrowed mutably for this call, now holds `n`
    // images (see above); the slice ends before `v` is used again.
    let images = unsafe { std::slice::from_raw_parts_mut(p.cast::<T::Image>(), n) };
    sort(images);
    for i in 0..n {
        // SAFETY: as above, the other way round.
        unsafe {
            let k = p.add(i).cast::<T::Image>().read();
            p.add(i).write(T::from_image(k));
        }
    }
}

/// Returns whether the pairs are sorted after at most one scan of the keys:
/// they were already non-decreasing, or non-increasing and have been
/// reversed (with ties put back in input order).
fn presorted<T: RadixKey, P>(k: &mut [T], p: &mut [P]) -> bool {
    if k.len() < 2 {
        return true;
    }
    if T::le(k[0], k[1]) {
        return scan(k, T::BLOCK_CHECK, |a, b| T::le(a, b));
    }
    if !scan(k, true, |a, b| T::le(b, a)) {
        return false;
    }
    k.reverse();
    p.reverse();
    // The reversal put each run of equal keys in reverse input order.
    let mut start = 0;
    for run in k.chunk_by(|a, b| a.key() == b.key()) {
        let end = start + run.len();
        p[start..end].reverse();
        start = end;
    }
    true
}

/// Whether `ok` holds for every neighbouring pair of keys; compiled for AVX2
/// when the CPU has it, as the key-only sort's scan is (four 64-bit keys
/// compared at once).
#[inline(always)]
fn scan<T: RadixKey>(k: &[T], block: bool, ok: impl Fn(T, T) -> bool) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, as just checked.
        return unsafe { scan_avx2(k, ok) };
    }
    sort::all_pairs(k, block, ok)
}

/// [`scan`] compiled for AVX2, in blocks (the faster for every type there).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn scan_avx2<T: RadixKey>(k: &[T], ok: impl Fn(T, T) -> bool) -> bool {
    sort::all_pairs(k, true, ok)
}

/// Sorts the pairs by counting if a sample suggests that the keys hold at
/// most `FEW` distinct values and a counting pass confirms at most
/// `FEW_MAX` (it stops as soon as it meets more); returns whether it did.
/// Then a second pass moves each payload to the next place of its key's
/// run, in input order, through one payload buffer, and the keys are
/// written out run by run: no key buffer and no radix level (the records
/// of a CSV column with a handful of values, say).
fn few_distinct<K: RadixKey, P: Payload>(k: &mut [K], p: &mut [P]) -> bool {
    let n = k.len();
    let len = (n / 32).clamp(32, SAMPLE);
    let mut sample: Vec<K::K> = (0..len).map(|i| k[i * n / len].key()).collect();
    sample.sort_unstable();
    // At most half the sample distinct: a small sample of a spread input
    // holds many distinct values, but a quarter of them may repeat.
    if sample.chunk_by(|a, b| a == b).count() > FEW.min(len / 2) {
        return false;
    }
    let Some(table) = FewTable::count(k.iter().map(|x| x.key())) else {
        return false;
    };
    let Some(mut tp) = Scratch::<P>::new(n) else {
        return false;
    };
    // Where the run of each key starts, in key order.
    let runs = table.runs();
    let mut next = [0usize; FEW_SLOTS];
    let mut start = 0;
    for &(_, i) in &runs {
        next[i] = start;
        start += table.counts[i];
    }
    let out = &mut tp.spare_capacity_mut()[..n];
    for (x, &y) in k.iter().zip(p.iter()) {
        // The counting pass put every key of `k` in the table.
        let i = table.slot_of(x.key());
        out[next[i]].write(y);
        next[i] += 1;
    }
    // SAFETY: the run of the key in slot `i` starts where the runs of the
    // smaller keys end and holds `table.counts[i]` places, and this pass
    // met that key `table.counts[i]` times (the keys have not changed since they were
    // counted): each of the `n` places, within the room `Scratch::new`
    // made, has been written exactly once.
    unsafe { tp.set_len(n) };
    p.copy_from_slice(&tp);
    let mut start = 0;
    for (key, i) in runs {
        k[start..start + table.counts[i]].fill(K::from_key(key));
        start += table.counts[i];
    }
    true
}

/// The MSD radix sort of the pairs with scratch buffers of their size.
/// Returns false, having changed nothing, if the buffers cannot be had.
fn radix<K: RadixKey, P: Payload, C: Count>(k: &mut [K], p: &mut [P]) -> bool {
    let n = k.len();
    let (Some(mut tk), Some(mut tp)) = (Scratch::<K>::new(n), Scratch::<P>::new(n)) else {
        return false;
    };
    let full = 8 * size_of::<K::K>() as u32;
    let mut stack: Vec<C> = Vec::new();
    if n <= CACHE_KEYS {
        tk.resize(n, K::default());
        tp.resize(n, P::default());
        msd(k, p, &mut tk, &mut tp, true, full, 0, &mut stack);
        return true;
    }
    // The first scatter writes every element of the scratch buffers once,
    // so they need not be filled first (a write pass over both, as large
    // as the input); touching one element per 4 KiB page faults the pages
    // in, in order, as the key-only sort does.
    let Some(plan) = sort::plan(k, full, 0, false, &mut stack, 0) else {
        return true;
    };
    let shift = plan.bits - plan.w;
    let (ok, op) = (
        &mut tk.spare_capacity_mut()[..n],
        &mut tp.spare_capacity_mut()[..n],
    );
    for x in ok.iter_mut().step_by(4096 / size_of::<K>()) {
        x.write(K::default());
    }
    for x in op.iter_mut().step_by(4096 / size_of::<P>()) {
        x.write(P::default());
    }
    if plan.bits == full && shift != plan.tz {
        // Keys of both signs crowding the two buckets around the middle
        // (signed keys spread over every order of magnitude): a
        // logarithmic digit on each side of the middle splits them.
        let half = 1usize << (plan.w - 1);
        let around = stack[half - 1].get() + stack[half].get();
        if around > n / 2
            && let Some(ends) = both_sides(k, p, ok, op, full)
        {
            // SAFETY: `both_sides` has initialised the first `n` elements
            // of each, within the room of `n` that `Scratch::new` made.
            unsafe {
                tk.set_len(n);
                tp.set_len(n);
            }
            let f = SignedLog::new(full, MAX_WIDTH);
            let mut start = 0;
            for (d, end) in ends.into_iter().enumerate() {
                if end > start {
                    let bits = f.child_bits(d);
                    msd(
                        &mut tk[start..end],
                        &mut tp[start..end],
                        &mut k[start..end],
                        &mut p[start..end],
                        false,
                        bits,
                        0,
                        &mut stack,
                    );
                }
                start = end;
            }
            return true;
        }
    }
    let counts = &mut stack[..1 << plan.w];
    // SAFETY: `plan` histogrammed this digit over `k` into `counts`.
    let largest = unsafe { scatter_uninit(k, p, ok, op, counts, shift, plan.w) };
    // SAFETY: the scatter has initialised the first `n` elements of each,
    // within the room of `n` that `Scratch::new` made.
    unsafe {
        tk.set_len(n);
        tp.set_len(n);
    }
    if shift == plan.tz {
        // One value per bucket, as in `msd`.
        k.copy_from_slice(&tk);
        p.copy_from_slice(&tp);
    } else {
        children(
            &mut tk, &mut tp, k, p, false, largest, shift, plan.tz, &mut stack, 0, plan.w,
        );
    }
    true
}

/// Moves the pairs `(k, p)` into `(ok, op)` (as long) ordered by a
/// [`SignedLog`] digit of keys of `bits` bits, stably, if that digit puts
/// no more than a quarter of them in one bucket, and returns where each
/// bucket ends; else writes nothing. Afterwards every element of `ok` and
/// `op` is written.
fn both_sides<K: RadixKey, P: Payload>(
    k: &[K],
    p: &[P],
    ok: &mut [MaybeUninit<K>],
    op: &mut [MaybeUninit<P>],
    bits: u32,
) -> Option<Vec<usize>> {
    let n = k.len();
    assert!(p.len() == n && ok.len() == n && op.len() == n);
    let f = SignedLog::new(bits, MAX_WIDTH);
    let mut at = vec![0usize; f.buckets()];
    for &x in k {
        at[f.of_wide(x.key().wide())] += 1;
    }
    if !both_sides_spread(at.iter().copied(), n) {
        return None;
    }
    let mut sum = 0;
    for c in &mut at {
        (*c, sum) = (sum, sum + *c);
    }
    for (&x, &y) in k.iter().zip(p) {
        let slot = &mut at[f.of_wide(x.key().wide())];
        ok[*slot].write(x);
        op[*slot].write(y);
        *slot += 1;
    }
    Some(at)
}

/// Whether the histogram `counts` of a [`SignedLog`] digit over `n` keys
/// spreads them enough for [`both_sides`]: no bucket holds more than a
/// quarter.
pub(crate) fn both_sides_spread(mut counts: impl Iterator<Item = usize>, n: usize) -> bool {
    counts.all(|c| c <= n / 4)
}

/// Sorts the pairs `(k, p)`, with `(tk, tp)` (same length) as scratch; the
/// result goes to `(k, p)` if `out_here`, else to `(tk, tp)`. The keys are
/// known to agree above their low `bits` bits and below bit `tz`. `stack`
/// holds the bucket counts of the levels above; this level appends its own
/// and removes them before returning.
#[allow(clippy::too_many_arguments)]
pub(crate) fn msd<K: RadixKey, P: Payload, C: Count>(
    k: &mut [K],
    p: &mut [P],
    tk: &mut [K],
    tp: &mut [P],
    out_here: bool,
    bits: u32,
    tz: u32,
    stack: &mut Vec<C>,
) {
    let m = k.len();
    assert!(p.len() == m && tk.len() == m && tp.len() == m);
    if m <= LEAF {
        if out_here {
            insertion_sort(k, p);
        } else {
            insertion_sort_into(k, p, tk, tp);
        }
        return;
    }
    let base = stack.len();
    let Some(plan) = sort::plan(k, bits, tz, m <= CACHE_KEYS, stack, base) else {
        // Every key is equal: the pairs are in order.
        if !out_here {
            tk.copy_from_slice(k);
            tp.copy_from_slice(p);
        }
        stack.truncate(base);
        return;
    };
    let (w, w2) = (plan.w, plan.w2);
    let shift = plan.bits - w;
    let (counts, low) = stack[base..].split_at_mut(1 << w);
    if shift == plan.tz {
        // The digit is the whole varying part of the key: each bucket holds
        // one value, in input order after one scatter.
        // SAFETY: `plan` histogrammed this digit over `k`.
        unsafe { scatter(k, p, tk, tp, counts, shift, w) };
        if out_here {
            k.copy_from_slice(tk);
            p.copy_from_slice(tp);
        }
    } else if w2 > 0 && counts.iter().all(|c| c.get() <= TWO_DIGIT_RUN) {
        // Two digits, least significant first, then one insertion pass for
        // what ties on both: at most `TWO_DIGIT_RUN` keys share a top digit,
        // which bounds it.
        // SAFETY: `plan` histogrammed both digits over `k`; `tk` then holds
        // a permutation of those keys.
        unsafe {
            scatter(k, p, tk, tp, low, shift - w2, w2);
            scatter(tk, tp, k, p, counts, shift, w);
        }
        if out_here {
            insertion_sort(k, p);
        } else {
            insertion_sort_into(k, p, tk, tp);
        }
    } else {
        // SAFETY: `plan` histogrammed this digit over `k`.
        let largest = unsafe { scatter(k, p, tk, tp, counts, shift, w) };
        children(
            tk, tp, k, p, !out_here, largest, shift, plan.tz, stack, base, w,
        );
    }
    stack.truncate(base);
}

/// Sorts the buckets of a scatter of `w` bits at `shift` from `(k, p)`
/// (where the scatter left them, `stack[base..]` their ends, `largest` the
/// size of the largest), the result going to `(k, p)` if `out_here`, else
/// to `(tk, tp)`.
#[allow(clippy::too_many_arguments)]
fn children<K: RadixKey, P: Payload, C: Count>(
    k: &mut [K],
    p: &mut [P],
    tk: &mut [K],
    tp: &mut [P],
    out_here: bool,
    largest: usize,
    shift: u32,
    tz: u32,
    stack: &mut Vec<C>,
    base: usize,
    w: u32,
) {
    if largest <= LEAF {
        // Sorted up to short runs: one insertion pass finishes it.
        if out_here {
            insertion_sort(k, p);
        } else {
            tk.copy_from_slice(k);
            tp.copy_from_slice(p);
            insertion_sort(tk, tp);
        }
        return;
    }
    let mut start = 0;
    for d in 0..1usize << w {
        let end = stack[base + d].get();
        if end > start {
            msd(
                &mut k[start..end],
                &mut p[start..end],
                &mut tk[start..end],
                &mut tp[start..end],
                out_here,
                shift,
                tz,
                stack,
            );
        }
        start = end;
    }
}

/// Moves the pairs `(k, p)` into `(ok, op)` ordered by the `w`-bit digit at
/// `shift`, stably, given the digit's histogram in `counts`, which it turns
/// into bucket ends. Returns the size of the largest bucket.
///
/// # Safety
/// `counts` is the histogram of the digit over the keys of `k` (or over a
/// permutation of them): `counts[d]` keys of `k` have digit `d`.
#[inline(always)]
unsafe fn scatter<K: RadixKey, P: Payload, C: Count>(
    k: &[K],
    p: &[P],
    ok: &mut [K],
    op: &mut [P],
    counts: &mut [C],
    shift: u32,
    w: u32,
) -> usize {
    // SAFETY: the scatter only ever writes initialised values into `ok`
    // and `op` (never reads them, never writes `uninit`), so viewing their
    // elements as possibly uninitialised loses nothing; the histogram is
    // the caller's guarantee.
    unsafe {
        let ok = &mut *(ok as *mut [K] as *mut [MaybeUninit<K>]);
        let op = &mut *(op as *mut [P] as *mut [MaybeUninit<P>]);
        scatter_uninit(k, p, ok, op, counts, shift, w)
    }
}

/// [`scatter`] into memory that need not be initialised: afterwards every
/// element of `ok` and `op` is (each is written exactly once).
///
/// # Safety
/// As [`scatter`].
#[inline(always)]
unsafe fn scatter_uninit<K: RadixKey, P: Payload, C: Count>(
    k: &[K],
    p: &[P],
    ok: &mut [MaybeUninit<K>],
    op: &mut [MaybeUninit<P>],
    counts: &mut [C],
    shift: u32,
    w: u32,
) -> usize {
    let m = k.len();
    assert!(p.len() == m && ok.len() == m && op.len() == m && counts.len() == 1 << w);
    let mut sum = 0;
    let mut largest = 0;
    for c in counts.iter_mut() {
        let n = c.get();
        *c = C::set(sum);
        sum += n;
        largest = largest.max(n);
    }
    // A histogram of exactly these keys adds up to `m`.
    assert_eq!(sum, m);
    for (&x, &y) in k.iter().zip(p) {
        let d = sort::digit(x, shift, w);
        // SAFETY: a `w`-bit digit is below `counts.len() == 1 << w`.
        let c = unsafe { counts.get_unchecked_mut(d) };
        let o = c.get();
        // SAFETY: `counts[d]` started at the number of keys with a smaller
        // digit and is bumped once per key with digit `d`, of which there
        // are as many as its histogram count (the caller's guarantee): it
        // stays below the number of keys with a digit up to `d`, at most
        // `m`, the length of `ok` and `op`.
        unsafe {
            ok.get_unchecked_mut(o).write(x);
            op.get_unchecked_mut(o).write(y);
        }
        *c = C::set(o + 1);
    }
    largest
}

/// Stable insertion sort of the pairs by key: a key moves only past greater
/// keys. Linear on input that is sorted up to short runs.
#[inline]
fn insertion_sort<K: RadixKey, P: Copy>(k: &mut [K], p: &mut [P]) {
    assert_eq!(k.len(), p.len());
    for i in 1..k.len() {
        let (x, y) = (k[i], p[i]);
        let key = x.key();
        if k[i - 1].key() <= key {
            continue;
        }
        let mut j = i;
        loop {
            k[j] = k[j - 1];
            p[j] = p[j - 1];
            j -= 1;
            if j == 0 || k[j - 1].key() <= key {
                break;
            }
        }
        k[j] = x;
        p[j] = y;
    }
}

/// [`insertion_sort`] of `(k, p)` into `(ok, op)` (same length), in one
/// pass: the copy and the sort of a bucket whose result belongs in the
/// other buffers.
#[inline]
fn insertion_sort_into<K: RadixKey, P: Copy>(k: &[K], p: &[P], ok: &mut [K], op: &mut [P]) {
    let m = k.len();
    assert!(p.len() == m && ok.len() == m && op.len() == m);
    if m == 0 {
        return;
    }
    ok[0] = k[0];
    op[0] = p[0];
    for i in 1..m {
        let (x, y) = (k[i], p[i]);
        let key = x.key();
        if ok[i - 1].key() <= key {
            ok[i] = x;
            op[i] = y;
            continue;
        }
        let mut j = i;
        loop {
            ok[j] = ok[j - 1];
            op[j] = op[j - 1];
            j -= 1;
            if j == 0 || ok[j - 1].key() <= key {
                break;
            }
        }
        ok[j] = x;
        op[j] = y;
    }
}

/// Stable merge sort of the pairs without a buffer: merges by rotation
/// (O(n log² n) moves), for when the scratch buffers cannot be allocated.
fn merge_sort_in_place<K: RadixKey, P: Copy>(k: &mut [K], p: &mut [P]) {
    let n = k.len();
    if n <= SMALL {
        insertion_sort(k, p);
        return;
    }
    let mid = n / 2;
    let (kl, kr) = k.split_at_mut(mid);
    let (pl, pr) = p.split_at_mut(mid);
    merge_sort_in_place(kl, pl);
    merge_sort_in_place(kr, pr);
    merge_in_place(k, p, mid);
}

/// Merges the sorted runs `..mid` and `mid..` of the pairs in place,
/// stably: of equal keys, those of the left run stay first (the buffer-less
/// merge of SGI's STL, `__merge_without_buffer`).
fn merge_in_place<K: RadixKey, P: Copy>(k: &mut [K], p: &mut [P], mid: usize) {
    let n = k.len();
    if mid == 0 || mid == n || k[mid - 1].key() <= k[mid].key() {
        return;
    }
    let (cut1, cut2) = if mid >= n - mid {
        // The first key of the right run not below the left run's middle.
        let cut1 = mid / 2;
        let pivot = k[cut1].key();
        (cut1, mid + k[mid..].partition_point(|x| x.key() < pivot))
    } else {
        // The first key of the left run above the right run's middle.
        let cut2 = mid + (n - mid) / 2;
        let pivot = k[cut2].key();
        (k[..mid].partition_point(|x| x.key() <= pivot), cut2)
    };
    k[cut1..cut2].rotate_left(mid - cut1);
    p[cut1..cut2].rotate_left(mid - cut1);
    let new_mid = cut1 + (cut2 - mid);
    let (kl, kr) = k.split_at_mut(new_mid);
    let (pl, pr) = p.split_at_mut(new_mid);
    merge_in_place(kl, pl, cut1);
    merge_in_place(kr, pr, cut2 - new_mid);
}
