//! The radix sort routines, callable directly (benchmarks, tests) and through
//! the plugin export in the crate root.
//!
//! Every key type is sorted by an unsigned *ordered key* derived from its bits:
//! unsigned integers as they are, signed integers with the sign bit flipped,
//! floats in IEEE-754 totalOrder (the order of `f64::total_cmp`): negative
//! values have all bits flipped, positive values the sign bit. The values
//! themselves are only ever moved (or, where every copy of a key is
//! bit-identical, written back from the key), never canonicalised, so the
//! output is a permutation of the input with bit-identical elements (NaN
//! payloads and `-0.0` survive).
//!
//! The algorithm, for `n` keys:
//!
//! 0. Where the CPU has AVX-512F, the keys that step 1 would give to
//!    `sort_unstable` (from `VECTOR_MIN` keys on) and the keys that reach
//!    step 4 are sorted in vector registers instead ([`crate::vector`]),
//!    which is faster there on every type and size measured; steps 2 and
//!    3 still come first, being one pass or less. Where the CPU has AVX2
//!    but not AVX-512F, 32-bit keys do the same in AVX2 registers
//!    ([`crate::avx2`]); 64-bit keys there go to the AVX2 sort up to
//!    `AVX2_64_MAX` keys (`AVX2_F64_MAX` for `f64`) only, past which the
//!    radix passes win.
//! 1. `n < SMALL_CUTOFF`: `sort_unstable`; floats below `FLOAT_CUTOFF`
//!    too, unless step 2 finds them presorted.
//!    Floats are sorted as integers: once steps 2 and 3 have read them as
//!    they are, each value is rewritten in place as its ordered key, the
//!    keys are sorted as unsigned integers (by `sort_unstable` or by the
//!    passes of step 4) and rewritten back. An integer comparison is cheaper
//!    than `total_cmp`, and no radix pass maps a key again (figures in
//!    docs/PERFORMANCE.md, "Choices in the radix sort"). Out of the cache
//!    the first level does the mapping instead: it reads the floats, its
//!    scatter writes their keys, and each bucket is rewritten as floats
//!    once sorted, while still in the cache (two passes over memory fewer).
//! 2. One early-exit scan: already non-decreasing → done; non-increasing →
//!    reversed in place (std's sort is O(n) on both, so radix must be too).
//!    Compiled for AVX2 when the CPU has it (detected at run time): 64-bit
//!    keys then compare four at a time, where the baseline target's scalar
//!    code lost to std's run detection.
//! 3. A sorted sample of `n / 32` keys, at least 32 and at most `SAMPLE`. If it holds few distinct
//!    values, one counting pass through a small hash table confirms it (and
//!    gives up past `FEW_MAX` values) and the runs are written out in place:
//!    no scratch buffer at all. If it shows a cache-sized input of floats
//!    that repeats more than a quarter of its keys: `sort_unstable` of the
//!    integer keys, which thrives on duplicates that radix levels peel
//!    slowly. If it shows a cache-sized input whose first
//!    digit would put more than a quarter of the keys in one bucket: a
//!    logarithmic first digit (below) of about one bucket per key, then one
//!    insertion sort, if that digit spreads the sample (faster than
//!    `sort_unstable` on Zipf-like integers; figures in
//!    docs/PERFORMANCE.md), else `sort_unstable`. If it shows a larger
//!    input whose first digit would put more than half of the keys in one
//!    bucket, the first digit
//!    is logarithmic, chosen without the linear digit's histogram pass.
//! 4. MSD radix sort, out of place between the input and one scratch buffer
//!    (on Linux aligned to whole huge pages, and on transparent huge pages
//!    when `WILDHOST_HUGE_PAGES=1`, see `Scratch`).
//!    Each level finds the bits in which its keys vary (the AND and OR of
//!    all keys: the highest and the lowest varying bit) and the histogram of
//!    its digit in one pass, guessing them from the level above; the digit is
//!    the top varying bits and never reaches below the lowest, so narrow
//!    ranges and constant low bits (integer-valued floats) cost nothing
//!    extra. A level whose digit covers every varying bit is a counting sort
//!    (each bucket holds one value). Out-of-cache levels use
//!    `WIDE_WIDTH`-bit digits (512 streams, the fastest width measured on
//!    10M u64: more streams thrash the cache and TLB; figures in
//!    docs/PERFORMANCE.md), except where a sample of up to 4096 keys shows
//!    that such a first digit would leave a bucket too large for the cache
//!    and a wider one (up to `TOP_MAX_WIDTH` bits) would not: floats from
//!    real distributions, whose sign and exponent take few values, get one
//!    such level instead of two. Keys that the sample shows in a narrow
//!    range across a high power of two (integers of both signs around
//!    zero, whose ordered keys lie around `2^63`) get a first digit over
//!    their range, offset to its start (`Offset`), where a linear one would
//!    split them in two and no further. Skewed out-of-cache levels
//!    try a logarithmic digit (bit length and mantissa of the key), whose
//!    buckets tell their children how many low bits still vary. A
//!    cache-resident bucket uses digits of about `log2(m)` bits: two of them,
//!    least significant first, when its top digit spreads the keys, then one
//!    insertion pass that only fixes the rare ties; otherwise one digit and
//!    recursion, small buckets left to one insertion sort over the range;
//!    if its top digit puts more than `1 / RadixKey::SKEW` of its keys in
//!    one bucket, `sort_unstable`. The cache-sized buckets of an
//!    out-of-cache level are sorted between their place in the scratch
//!    buffer and a buffer of at most `CACHE_KEYS` keys that stays in the
//!    cache, and written into the input in one ordered pass.

use std::mem::MaybeUninit;

/// Below this many keys the std sort is faster than any radix pass.
pub const SMALL_CUTOFF: usize = 256;
/// From this many keys on, a small input goes to the vector sort where
/// the CPU has one, which beats `sort_unstable` from here on
/// (docs/PERFORMANCE.md, "In vector registers"); below, a call with a
/// key or two stays as cheap as it was.
pub const VECTOR_MIN: usize = 8;

/// Where the CPU has AVX2 but not AVX-512F, the AVX2 sort of four 64-bit
/// keys a vector beats `sort_unstable` on every 64-bit type, and the radix
/// passes on `u64` and `i64` up to about this many keys; past them, the
/// passes win (docs/PERFORMANCE.md, "64-bit keys in AVX2 registers").
pub const AVX2_64_MAX: usize = 512;

/// [`AVX2_64_MAX`] for `f64`, whose radix passes are slower: the AVX2
/// sort beats them on normal, uniform and lognormal doubles up to about
/// this many keys.
pub const AVX2_F64_MAX: usize = 1 << 16;

/// Below this many float keys that are not presorted, the comparison sort of
/// the integer keys beats the radix passes on some float inputs, though not
/// on all (figures in docs/PERFORMANCE.md, "The cut-over").
pub const FLOAT_CUTOFF: usize = 4096;

/// Every length at which the algorithm changes, for tests.
pub const CUTOVERS: [usize; 6] = [
    SMALL_CUTOFF,
    LEAF,
    TWO_DIGIT_RUN,
    CACHE_KEYS,
    16 * SAMPLE,
    FLOAT_CUTOFF,
];

/// An unsigned ordered key.
pub trait Bits: Copy + Ord {
    /// The key widened to 64 bits.
    fn wide(self) -> u64;
    /// The key of the given (narrow enough) 64-bit value.
    fn narrow(w: u64) -> Self;
}

impl Bits for u32 {
    #[inline(always)]
    fn wide(self) -> u64 {
        self as u64
    }
    #[inline(always)]
    fn narrow(w: u64) -> Self {
        w as u32
    }
}

impl Bits for u64 {
    #[inline(always)]
    fn wide(self) -> u64 {
        self
    }
    #[inline(always)]
    fn narrow(w: u64) -> Self {
        w
    }
}

/// A sortable element: a value and the map to its ordered key.
pub trait RadixKey: Copy + Default {
    /// The ordered key type.
    type K: Bits;
    /// The ordered key: `a.key() < b.key()` iff `a` sorts before `b`.
    fn key(self) -> Self::K;
    /// The value whose ordered key is `k` (the inverse of [`key`](Self::key)).
    fn from_key(k: Self::K) -> Self;
    /// Sorts a small slice with a comparison sort.
    fn small_sort(v: &mut [Self]);
    /// Below this many keys, inputs that are not presorted go to
    /// [`small_sort`](Self::small_sort).
    const CUTOFF: usize = SMALL_CUTOFF;
    /// A cache-resident bucket whose top digit puts more than `1 / SKEW` of
    /// its keys in one bucket is left to [`small_sort`](Self::small_sort).
    /// Floats tolerate more: their keys are already logarithmic, so a
    /// crowded digit is one crowded exponent, which the next digit splits
    /// (figures for the float specials in docs/PERFORMANCE.md); skewed
    /// integers are peeled a few bits a level.
    const SKEW: usize = SKEW;
    /// Whether the non-decreasing check runs faster in blocks without AVX2
    /// (measured: yes for every type but `i64`, where the element loop wins;
    /// the non-increasing check is faster in blocks for all; with AVX2 blocks
    /// win for all).
    const BLOCK_CHECK: bool = true;
    /// A cache-sized input whose sample repeats more than `1 / REPEATS`
    /// of its keys goes to [`small_sort`](Self::small_sort) (`0`: never).
    const REPEATS: usize = 0;
    /// `a.key() <= b.key()`, in the form that vectorises best.
    #[inline(always)]
    fn le(a: Self, b: Self) -> bool {
        a.key() <= b.key()
    }
    /// Whether [`exact32`](Self::exact32) may hold values: 64-bit floats.
    #[doc(hidden)]
    const EXACT32: bool = false;
    /// The value as a 32-bit ordered key, where an `i32` (`int`) or an
    /// `f32` holds it exactly, bit for bit (so never NaN, nor `-0.0` as an
    /// `i32`): below `2^32`; else `2^32` or more. Used only where
    /// [`EXACT32`](Self::EXACT32).
    #[doc(hidden)]
    #[inline(always)]
    fn exact32(self, int: bool) -> u64 {
        let _ = (self, int);
        1 << 32
    }
    /// The value of a key [`exact32`](Self::exact32) gave.
    #[doc(hidden)]
    #[inline(always)]
    fn from_exact32(k: u32, int: bool) -> Self {
        let _ = (k, int);
        Self::default()
    }
    /// Sorts `v` in vector registers ([`crate::vector`], or for 32-bit
    /// keys [`crate::avx2`] without AVX-512F) and returns true,
    /// or returns false, untouched, where the CPU cannot (or, for the keys
    /// of a float sort already rewritten as integers, where the caller
    /// keeps to the radix passes).
    #[inline(always)]
    fn vector_sort(v: &mut [Self]) -> bool {
        let _ = v;
        false
    }
    /// Sorts `v`, which is neither presorted nor of few distinct values, by
    /// the radix passes; `sample` is a sorted sample of its keys.
    #[doc(hidden)]
    fn radix_passes(v: &mut [Self], sample: &[Self::K]) {
        radix_passes(v, sample);
    }
}

impl RadixKey for u32 {
    type K = u32;
    #[inline(always)]
    fn key(self) -> u32 {
        self
    }
    #[inline(always)]
    fn from_key(k: u32) -> Self {
        k
    }
    #[inline(always)]
    fn vector_sort(v: &mut [Self]) -> bool {
        crate::vector::sorted(v) || crate::avx2::sorted(v)
    }
    fn small_sort(v: &mut [Self]) {
        v.sort_unstable();
    }
    #[inline(always)]
    fn le(a: Self, b: Self) -> bool {
        a <= b
    }
}

impl RadixKey for u64 {
    type K = u64;
    #[inline(always)]
    fn key(self) -> u64 {
        self
    }
    #[inline(always)]
    fn from_key(k: u64) -> Self {
        k
    }
    #[inline(always)]
    fn vector_sort(v: &mut [Self]) -> bool {
        crate::vector::sorted(v) || v.len() <= AVX2_64_MAX && crate::avx2::sorted(v)
    }
    fn small_sort(v: &mut [Self]) {
        v.sort_unstable();
    }
    #[inline(always)]
    fn le(a: Self, b: Self) -> bool {
        a <= b
    }
}

impl RadixKey for i32 {
    type K = u32;
    #[inline(always)]
    fn key(self) -> u32 {
        self.cast_unsigned() ^ (1 << 31)
    }
    #[inline(always)]
    fn from_key(k: u32) -> Self {
        (k ^ (1 << 31)).cast_signed()
    }
    #[inline(always)]
    fn vector_sort(v: &mut [Self]) -> bool {
        crate::vector::sorted(v) || crate::avx2::sorted(v)
    }
    fn small_sort(v: &mut [Self]) {
        v.sort_unstable();
    }
    #[inline(always)]
    fn le(a: Self, b: Self) -> bool {
        a <= b
    }
}

impl RadixKey for i64 {
    type K = u64;
    const BLOCK_CHECK: bool = false;
    #[inline(always)]
    fn key(self) -> u64 {
        self.cast_unsigned() ^ (1 << 63)
    }
    #[inline(always)]
    fn from_key(k: u64) -> Self {
        (k ^ (1 << 63)).cast_signed()
    }
    #[inline(always)]
    fn vector_sort(v: &mut [Self]) -> bool {
        crate::vector::sorted(v) || v.len() <= AVX2_64_MAX && crate::avx2::sorted(v)
    }
    fn small_sort(v: &mut [Self]) {
        v.sort_unstable();
    }
    #[inline(always)]
    fn le(a: Self, b: Self) -> bool {
        a <= b
    }
}

impl RadixKey for f32 {
    type K = u32;
    const CUTOFF: usize = FLOAT_CUTOFF;
    const SKEW: usize = 2;
    #[inline(always)]
    fn key(self) -> u32 {
        let b = self.to_bits();
        // Negative: flip every bit; positive: flip the sign bit.
        let mask = (((b as i32) >> 31) as u32) | (1 << 31);
        b ^ mask
    }
    #[inline(always)]
    fn from_key(k: u32) -> Self {
        // Sign bit set: was positive, flip it back; clear: flip everything.
        let mask = if k >> 31 == 1 { 1 << 31 } else { u32::MAX };
        f32::from_bits(k ^ mask)
    }
    #[inline(always)]
    fn vector_sort(v: &mut [Self]) -> bool {
        crate::vector::sorted(v) || crate::avx2::sorted(v)
    }
    fn small_sort(v: &mut [Self]) {
        sort_as_keys(v, <[Ordered<u32>]>::sort_unstable);
    }
    fn radix_passes(v: &mut [Self], sample: &[u32]) {
        float_passes(v, sample);
    }
}

impl RadixKey for f64 {
    type K = u64;
    const CUTOFF: usize = FLOAT_CUTOFF;
    const SKEW: usize = 2;
    const EXACT32: bool = true;
    #[inline(always)]
    fn exact32(self, int: bool) -> u64 {
        // Each conversion is exact where the value comes back with the
        // same bits; a NaN could come back with other payload bits, so
        // NaN never qualifies.
        let (key, exact) = if int {
            // For a whole number from -2^31 to 2^31 - 1, `self + 1.5 *
            // 2^52` is exact, and its low 32 bits are the number's as an
            // `i32`; any other value fails the check (the sum rounds, or
            // `-0.0` comes back `+0.0`). No conversion: its saturation
            // vectorises badly.
            const ROUND: f64 = 6_755_399_441_055_744.0;
            let y = self + ROUND;
            let exact = (-2_147_483_648.0..2_147_483_648.0).contains(&self)
                && (y - ROUND).to_bits() == self.to_bits();
            (y.to_bits() as u32 ^ 1 << 31, exact)
        } else {
            let f = self as f32;
            let b = f.to_bits();
            let flip = (b.cast_signed() >> 31).cast_unsigned() | 1 << 31;
            (
                b ^ flip,
                !self.is_nan() && f64::from(f).to_bits() == self.to_bits(),
            )
        };
        u64::from(key) | u64::from(!exact) << 32
    }
    #[inline(always)]
    fn from_exact32(k: u32, int: bool) -> Self {
        if int {
            f64::from((k ^ 1 << 31).cast_signed())
        } else {
            let flip = if k >> 31 == 1 { 1 << 31 } else { u32::MAX };
            f64::from(f32::from_bits(k ^ flip))
        }
    }
    #[inline(always)]
    fn key(self) -> u64 {
        let b = self.to_bits();
        let mask = (((b as i64) >> 63) as u64) | (1 << 63);
        b ^ mask
    }
    #[inline(always)]
    fn from_key(k: u64) -> Self {
        let mask = if k >> 63 == 1 { 1 << 63 } else { u64::MAX };
        f64::from_bits(k ^ mask)
    }
    #[inline(always)]
    fn vector_sort(v: &mut [Self]) -> bool {
        crate::vector::sorted(v) || v.len() <= AVX2_F64_MAX && crate::avx2::sorted(v)
    }
    fn small_sort(v: &mut [Self]) {
        sort_as_keys(v, <[Ordered<u64>]>::sort_unstable);
    }
    fn radix_passes(v: &mut [Self], sample: &[u64]) {
        float_passes(v, sample);
    }
}

/// A float type whose bits are its ordered key's bits: same size and
/// alignment, and every bit pattern is a value of both types.
///
/// # Safety
/// Implementors guarantee exactly that, so that a slice of values may be
/// rewritten in place as a slice of keys and back.
pub(crate) unsafe trait FloatBits: RadixKey<K: Default> {}

// SAFETY: `f32` and `u32` are both 4 bytes, 4-aligned, and every 32-bit
// pattern is a valid value of each.
unsafe impl FloatBits for f32 {}
// SAFETY: `f64` and `u64` are both 8 bytes, 8-aligned, and every 64-bit
// pattern is a valid value of each.
unsafe impl FloatBits for f64 {}

/// The ordered key of a float, sorted as an integer: what the radix passes
/// and the comparison sort of floats work on, so that neither maps a key
/// per comparison or per pass (mapping once is the faster; figures in
/// docs/PERFORMANCE.md).
/// Keeps the floats' tolerance of crowded digits (`SKEW`).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
#[repr(transparent)]
pub(crate) struct Ordered<K>(pub(crate) K);

impl<K: Bits + Default> RadixKey for Ordered<K> {
    type K = K;
    const CUTOFF: usize = FLOAT_CUTOFF;
    const SKEW: usize = 2;
    const REPEATS: usize = 4;
    #[inline(always)]
    fn key(self) -> K {
        self.0
    }
    #[inline(always)]
    fn from_key(k: K) -> Self {
        Ordered(k)
    }
    // One copy, however many callers: steadier than a copy inlined into
    // each (docs/PERFORMANCE.md).
    #[inline(never)]
    fn small_sort(v: &mut [Self]) {
        v.sort_unstable();
    }
    #[inline(always)]
    fn le(a: Self, b: Self) -> bool {
        a.0 <= b.0
    }
}

/// Sorts floats by sorting their ordered keys as integers: each value is
/// rewritten in place as its key, `sort` orders the keys, and each key is
/// rewritten as its value. The map is a bijection on bits, so the result is
/// bit-exact, and an integer comparison is cheaper than `total_cmp`.
#[inline]
fn sort_as_keys<T: FloatBits>(v: &mut [T], sort: impl FnOnce(&mut [Ordered<T::K>])) {
    let keys = keys_in_place(v);
    sort(keys);
    values_in_place::<T>(keys);
}

/// Rewrites each value of `v` in place as its ordered key, and returns the
/// memory of `v` as those keys ([`as_keys`]).
#[inline]
pub(crate) fn keys_in_place<T: FloatBits>(v: &mut [T]) -> &mut [Ordered<T::K>] {
    let p = v.as_mut_ptr();
    for i in 0..v.len() {
        // SAFETY: `i < v.len()`, inside `v`; `T` and `T::K` have the same
        // size and alignment and every bit pattern is valid for both
        // (`FloatBits`), so the slot holds a valid `T` before and a valid
        // `T::K` after.
        unsafe {
            let x = p.add(i).read();
            p.add(i).cast::<T::K>().write(x.key());
        }
    }
    as_keys(v)
}

/// The memory of `v` as ordered keys: each slot's bits, unchanged, read
/// as a key.
pub(crate) fn as_keys<T: FloatBits>(v: &mut [T]) -> &mut [Ordered<T::K>] {
    const {
        assert!(size_of::<T>() == size_of::<T::K>() && align_of::<T>() == align_of::<T::K>());
    }
    // SAFETY: `T` and `Ordered<T::K>` (a transparent `T::K`) have the same
    // size and alignment and every bit pattern is valid for both
    // (`FloatBits`); the slice borrows `v` exclusively for its lifetime.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast(), v.len()) }
}

/// Rewrites each ordered key of `keys` in place as its value of type `T`,
/// which the slots hold afterwards (the caller views them as `T` again).
pub(crate) fn values_in_place<T: FloatBits>(keys: &mut [Ordered<T::K>]) {
    let p = keys.as_mut_ptr();
    for i in 0..keys.len() {
        // SAFETY: `i < keys.len()`; same size, alignment and valid bit
        // patterns (`FloatBits`), as in `sort_as_keys`.
        unsafe {
            let k = p.add(i).read().0;
            p.add(i).cast::<T>().write(T::from_key(k));
        }
    }
}

/// [`RadixKey::radix_passes`] of floats. Out of the cache, the first level
/// reads the floats themselves, its scatter writes their ordered keys into
/// the scratch buffer, and each bucket is rewritten as floats as soon as it
/// is sorted, while it is still in the cache: two passes over memory fewer
/// than mapping the whole input to keys and back (figures in
/// docs/PERFORMANCE.md). Other inputs: [`sort_as_keys`].
fn float_passes<T: FloatBits>(v: &mut [T], sample: &[T::K]) {
    if v.len() > CACHE_KEYS {
        float_large_passes(Io::InPlace(v), sample);
        return;
    }
    sort_as_keys(v, |keys| radix_passes(keys, sample));
}

/// [`float_passes`] of more than `CACHE_KEYS` keys, from `io`'s input into
/// its output: the first level reads the input where it is, unless
/// [`float_top`] declines.
pub(crate) fn float_large_passes<T: FloatBits>(mut io: Io<'_, T>, sample: &[T::K]) {
    let done = if u32::try_from(io.len()).is_ok() {
        float_top::<T, u32>(&mut io, sample)
    } else {
        float_top::<T, usize>(&mut io, sample)
    };
    if !done {
        sort_as_keys(io.copied(), |keys| radix_passes(keys, sample));
    }
}

/// The first level of [`float_passes`] out of the cache, and the buckets
/// below it. Returns false, with the output not yet written, if
/// [`choose_first`] leaves the floats to the general path (a logarithmic
/// digit may suit them, or the linear one crowds them) or the scratch
/// buffer cannot be had.
fn float_top<T: FloatBits, C: Count>(io: &mut Io<'_, T>, sample: &[T::K]) -> bool {
    let mut counts: Vec<C> = Vec::new();
    match choose_first(&mut Whole(io.src()), sample, true, &mut counts) {
        First::Sorted => {
            io.copied();
            true
        }
        First::Fill { prefix, shift } => {
            fill(io.dst(), &counts, prefix, shift);
            true
        }
        First::Linear(digit, tz) => {
            let Some(mut scratch) = Scratch::<Ordered<T::K>>::new(io.len()) else {
                return false;
            };
            let keys = |x: T| Ordered(x.key());
            let clamp = io.may_change();
            scatter_top(io.src(), &mut scratch, &mut counts, digit, keys, clamp);
            top_children(
                as_keys(io.dst()),
                &mut scratch,
                &counts,
                |_| digit.shift,
                tz,
                &mut Vec::new(),
                values_in_place::<T>,
            );
            true
        }
        First::Offset(_) | First::Log(..) | First::Crowded => false,
    }
}

/// Sorts `u32` keys in natural order.
#[inline]
pub fn sort_u32(v: &mut [u32]) {
    radix_sort(v);
}
/// Sorts `u64` keys in natural order.
#[inline]
pub fn sort_u64(v: &mut [u64]) {
    radix_sort(v);
}
/// Sorts `i32` keys in natural order.
#[inline]
pub fn sort_i32(v: &mut [i32]) {
    radix_sort(v);
}
/// Sorts `i64` keys in natural order.
#[inline]
pub fn sort_i64(v: &mut [i64]) {
    radix_sort(v);
}
/// Sorts `f32` keys in IEEE-754 totalOrder (`f32::total_cmp`).
#[inline]
pub fn sort_f32(v: &mut [f32]) {
    radix_sort(v);
}
/// Sorts `f64` keys in IEEE-754 totalOrder (`f64::total_cmp`).
#[inline]
pub fn sort_f64(v: &mut [f64]) {
    radix_sort(v);
}

/// A transparent huge page.
#[cfg(target_os = "linux")]
const HUGE: usize = 2 << 20;

/// Whether the scratch buffer asks for transparent huge pages: only when
/// `WILDHOST_HUGE_PAGES=1`, the host's switch for its own buffers (read
/// once). A huge page takes 512 times fewer faults than 4 KiB pages, but
/// on a virtual machine that hands free memory back to its host a fresh
/// one can cost far more than all of those, and a one-off sort then
/// takes twice as long or half as long by luck (figures in
/// docs/PERFORMANCE.md, "The scratch buffer's pages").
#[cfg(target_os = "linux")]
fn huge_pages_asked() -> bool {
    static ASKED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ASKED.get_or_init(|| std::env::var_os("WILDHOST_HUGE_PAGES").is_some_and(|v| v == "1"))
}

/// The one scratch buffer of the MSD radix sort: room for `n` keys, of
/// which the first `len()` are in use; it never grows past that room.
///
/// On Linux a large one (from `2 * HUGE` bytes) starts on a huge-page
/// boundary and, when that costs at most a quarter more memory, is rounded
/// up to whole huge pages; if [`huge_pages_asked`], the kernel is asked to
/// back it with transparent huge pages: then the scatter's thousands of
/// streams stay in the TLB, and no 4 KiB page of it is faulted in on its
/// own. (Not a `Vec`: a `Vec` must be freed with its element's alignment.)
pub(crate) struct Scratch<T: Copy> {
    keys: std::ptr::NonNull<T>,
    /// Keys in use, from the start.
    len: usize,
    /// Room, in keys.
    room: usize,
    /// How it was allocated; None if it holds no bytes.
    layout: Option<std::alloc::Layout>,
    /// Whether it goes to [`KEPT`] when dropped, rather than back to the
    /// allocator (see [`Kept::again`]).
    kept: bool,
}

impl<T: Copy> Scratch<T> {
    /// An empty buffer with room for `n` keys; None if the memory cannot be
    /// had.
    pub(crate) fn new(n: usize) -> Option<Scratch<T>> {
        let bytes = n.checked_mul(size_of::<T>())?;
        let (bytes, align) = Self::shape(bytes);
        if bytes == 0 {
            return Some(Scratch {
                keys: std::ptr::NonNull::dangling(),
                len: 0,
                room: n,
                layout: None,
                kept: false,
            });
        }
        let layout = std::alloc::Layout::from_size_align(bytes, align).ok()?;
        #[cfg(target_os = "linux")]
        if let Some((keys, layout)) = KEPT.take(layout) {
            return Some(Scratch {
                keys: keys.cast(),
                len: 0,
                room: layout.size() / size_of::<T>(),
                layout: Some(layout),
                kept: true,
            });
        }
        // SAFETY: the layout's size is not zero.
        let keys = std::ptr::NonNull::new(unsafe { std::alloc::alloc(layout) })?.cast::<T>();
        #[cfg(target_os = "linux")]
        if align == HUGE && huge_pages_asked() {
            // SAFETY: madvise only changes how the kernel backs these pages
            // (the whole huge pages of the allocation just made); it never
            // changes their contents or validity.
            unsafe {
                libc::madvise(
                    keys.as_ptr().cast(),
                    bytes & !(HUGE - 1),
                    libc::MADV_HUGEPAGE,
                );
            }
        }
        #[cfg(target_os = "linux")]
        let kept = align == HUGE && KEPT.again();
        #[cfg(not(target_os = "linux"))]
        let kept = false;
        Some(Scratch {
            keys,
            len: 0,
            room: bytes / size_of::<T>(),
            layout: Some(layout),
            kept,
        })
    }

    /// Whether the buffer goes back to the allocator when dropped, not to
    /// the next sort: then a thread done with its part of it may give
    /// that part's pages back at once ([`release`]).
    pub(crate) fn freed_after(&self) -> bool {
        !self.kept
    }

    /// The size and alignment to allocate for `bytes` of keys.
    fn shape(bytes: usize) -> (usize, usize) {
        #[cfg(target_os = "linux")]
        if bytes >= 2 * HUGE {
            let whole = bytes.next_multiple_of(HUGE);
            let rounded = if whole - bytes <= bytes / 4 {
                whole
            } else {
                bytes
            };
            return (rounded, HUGE);
        }
        (bytes, align_of::<T>())
    }

    /// Sets the length to `n` (at most the room), new keys set to `key`.
    pub(crate) fn resize(&mut self, n: usize, key: T) {
        assert!(n <= self.room, "the scratch buffer never grows");
        let new = n.saturating_sub(self.len);
        for slot in &mut self.spare_capacity_mut()[..new] {
            slot.write(key);
        }
        self.len = n;
    }

    /// The room after the keys in use.
    pub(crate) fn spare_capacity_mut(&mut self) -> &mut [MaybeUninit<T>] {
        // SAFETY: the allocation has room for `room` keys (or is empty);
        // `len <= room`; the slice borrows `self` exclusively.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.keys.as_ptr().add(self.len).cast(),
                self.room - self.len,
            )
        }
    }

    /// # Safety
    /// The first `n` keys (`n` at most the room) must be initialised.
    pub(crate) unsafe fn set_len(&mut self, n: usize) {
        debug_assert!(n <= self.room);
        self.len = n;
    }
}

impl<T: Copy> std::ops::Deref for Scratch<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: the first `len` keys are initialised, within the room.
        unsafe { std::slice::from_raw_parts(self.keys.as_ptr(), self.len) }
    }
}

impl<T: Copy> std::ops::DerefMut for Scratch<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`, borrowed exclusively.
        unsafe { std::slice::from_raw_parts_mut(self.keys.as_ptr(), self.len) }
    }
}

impl<T: Copy> Drop for Scratch<T> {
    fn drop(&mut self) {
        if let Some(layout) = self.layout {
            #[cfg(target_os = "linux")]
            if layout.align() == HUGE {
                KEPT.used();
                if self.kept {
                    // SAFETY: allocated with `layout` (in `new`, or kept
                    // with it), never reallocated, and not used after this.
                    unsafe { KEPT.keep(self.keys.cast(), layout) };
                    return;
                }
            }
            // SAFETY: allocated with `layout` in `new`, never reallocated;
            // keys need no drop.
            unsafe { std::alloc::dealloc(self.keys.as_ptr().cast(), layout) };
        }
    }
}

/// The kernel's page size in bytes; 0 if it will not say.
#[cfg(target_os = "linux")]
fn page_size() -> usize {
    // SAFETY: sysconf reads nothing of ours.
    usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(0)
}

/// Gives the kernel back the whole pages of `part`, a thread's share of a
/// scratch buffer that is freed when the sort ends
/// ([`Scratch::freed_after`]) and that nothing reads again: freeing them
/// then, on one thread, would take as long again. Elsewhere than on Linux,
/// or where the kernel refuses, the pages go when the buffer is freed.
pub(crate) fn release<T: Copy>(part: &mut [T]) {
    #[cfg(target_os = "linux")]
    {
        let page = page_size();
        if page == 0 {
            return;
        }
        let at = part.as_mut_ptr() as usize;
        let (from, to) = (
            at.next_multiple_of(page),
            (at + size_of_val(part)) / page * page,
        );
        if to > from {
            // SAFETY: the whole pages of `part`, which this thread borrows
            // alone, in a buffer of the global allocator's (no other
            // allocation shares a whole page of it). The kernel replaces
            // them with zero pages: every key and payload type sorted here
            // is plain bits, valid as zeros, and nothing reads them again
            // before the buffer is freed.
            unsafe { libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_DONTNEED) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = part;
}

/// The largest scratch buffer kept from one sort for the next.
#[cfg(target_os = "linux")]
const KEEP_MAX: usize = 256 << 20;

/// The scratch buffer kept for the next sort.
#[cfg(target_os = "linux")]
static KEPT: Kept = Kept::new(KEEP_MAX);

/// One large scratch buffer (aligned to huge pages, see [`Scratch`]) kept from
/// one sort for the next, so that a program that sorts again and again
/// (a Python loop, a benchmark, the parts of a sort larger than memory)
/// does not have the kernel fault in and zero fresh pages for every sort
/// (figures in docs/PERFORMANCE.md). The kept buffer's pages are given back to the
/// kernel to take whenever memory runs short (`MADV_FREE`): until it
/// does, they still count in the process's resident memory. At most
/// `limit` bytes are kept, and one buffer: the larger of two; nothing is
/// kept from a process's first sort ([`Kept::again`]).
#[cfg(target_os = "linux")]
struct Kept {
    buffer: std::sync::Mutex<Option<(usize, std::alloc::Layout)>>,
    limit: usize,
    /// Whether a sort was done with a large buffer before.
    used: std::sync::atomic::AtomicBool,
}

#[cfg(target_os = "linux")]
impl Kept {
    const fn new(limit: usize) -> Kept {
        Kept {
            buffer: std::sync::Mutex::new(None),
            limit,
            used: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether a large buffer made now is kept once its sort is done:
    /// only once a sort has been done with one before. A process that
    /// sorts once (a `wildhost sort` of one input) would gain nothing from
    /// a kept buffer and pay for it twice, giving its pages back
    /// (`MADV_FREE`) and freeing them when it exits, both on one thread;
    /// its buffers are freed instead, each thread of a parallel sort
    /// giving back its part as soon as it is done with it. A process that
    /// sorts again keeps its second sort's buffer, which every later sort
    /// finds.
    fn again(&self) -> bool {
        self.used.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Notes that a sort is done with a large buffer.
    fn used(&self) {
        self.used.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The kept buffer's slot, unless another thread holds it: then this
    /// sort neither takes nor keeps a buffer rather than wait. Never
    /// waiting also keeps a process forked while another thread held the
    /// lock (a worker of `--isolate`) from waiting forever.
    fn lock(&self) -> Option<std::sync::MutexGuard<'_, Option<(usize, std::alloc::Layout)>>> {
        match self.buffer.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// The kept buffer and its layout, if it has room for `layout` (and
    /// its alignment).
    fn take(
        &self,
        layout: std::alloc::Layout,
    ) -> Option<(std::ptr::NonNull<u8>, std::alloc::Layout)> {
        let mut kept = self.lock()?;
        match *kept {
            Some((at, had)) if had.size() >= layout.size() && had.align() >= layout.align() => {
                *kept = None;
                Some((std::ptr::NonNull::new(at as *mut u8)?, had))
            }
            _ => None,
        }
    }

    /// Keeps `at`, allocated with `layout`, for the next sort, or frees
    /// it: when it is over the limit, when the kernel cannot take its
    /// pages back, or when the buffer kept already is larger (which is
    /// freed instead otherwise).
    ///
    /// # Safety
    /// `at` was allocated with `layout` by the global allocator and is not
    /// used after this call.
    unsafe fn keep(&self, at: std::ptr::NonNull<u8>, layout: std::alloc::Layout) {
        let free = |at: usize, layout| {
            // SAFETY: the caller's promise, for `at`; a buffer kept before
            // was given here under the same promise.
            unsafe { std::alloc::dealloc(at as *mut u8, layout) }
        };
        let at = at.as_ptr() as usize;
        // Whole pages of the buffer only: a page it shares at its end may
        // hold another allocation's bytes, which the kernel would drop.
        let page = page_size();
        let given_back = || {
            let whole = layout.size() / page.max(1) * page;
            // SAFETY: the caller's buffer, which starts on a page (its
            // alignment is a huge page's), cut to its whole pages; MADV_FREE
            // lets the kernel drop them (a later read finds zeros or the
            // old bytes, and the sort reads nothing it did not write).
            page > 0
                && at.is_multiple_of(page)
                && unsafe { libc::madvise(at as *mut libc::c_void, whole, libc::MADV_FREE) } == 0
        };
        if layout.size() > self.limit || !given_back() {
            free(at, layout);
            return;
        }
        let Some(mut kept) = self.lock() else {
            free(at, layout);
            return;
        };
        let out = match *kept {
            Some((_, had)) if had.size() >= layout.size() => Some((at, layout)),
            old => {
                *kept = Some((at, layout));
                old
            }
        };
        drop(kept);
        if let Some((at, layout)) = out {
            free(at, layout);
        }
    }
}

/// Digit width, in bits, of a level whose buckets do not fit in the L2
/// cache: the best of the widths measured on 10M keys (see the module
/// documentation and docs/PERFORMANCE.md).
pub(crate) const WIDE_WIDTH: u32 = 9;

/// Widest digit of a cache-resident bucket: 2048 buckets, whose `u32`
/// counters (two digits: 16 KiB) stay in L1.
pub(crate) const MAX_WIDTH: u32 = 11;

/// Buckets above this many keys are scattered with `WIDE_WIDTH` digits.
pub(crate) const CACHE_KEYS: usize = 1 << 16;

/// A cache-resident bucket whose top digit would put more than `1 / SKEW` of
/// its keys in one bucket is left to the comparison sort: radix levels peel
/// such inputs slowly, while pattern-defeating quicksort thrives on the
/// duplicates they usually hold.
const SKEW: usize = 4;

/// Buckets of at most this many keys are finished by insertion sort.
pub(crate) const LEAF: usize = 16;

/// A cache-resident bucket whose top digit puts at most this many keys in
/// any bucket is sorted on two digits, then by insertion sort.
pub(crate) const TWO_DIGIT_RUN: usize = 64;

/// Sorts `v` by ordered key.
///
/// Inlined, so that a call with a handful of keys goes straight to the
/// comparison sort without setting up the radix passes' large stack frame
/// (instruction counts in docs/PERFORMANCE.md, "Dispatch").
#[inline]
pub fn radix_sort<T: RadixKey>(v: &mut [T]) {
    if v.len() < SMALL_CUTOFF {
        if v.len() < VECTOR_MIN || !T::vector_sort(v) {
            T::small_sort(v);
        }
        return;
    }
    radix_sort_large(v);
}

/// [`radix_sort`] of at least `SMALL_CUTOFF` keys.
#[inline(never)]
fn radix_sort_large<T: RadixKey>(v: &mut [T]) {
    if v.len() < T::CUTOFF {
        if !presorted(v) && !T::vector_sort(v) {
            T::small_sort(v);
        }
        return;
    }
    if let Some(sample) = prepare(v)
        && !crate::dense::sorted(v, &sample, radix_sort)
        && !T::vector_sort(v)
    {
        T::radix_passes(v, &sample);
    }
}

/// [`radix_sort`] without the hand-off of small inputs to `sort_unstable`:
/// what the radix passes alone cost, so the benchmark can show where the
/// cut-over belongs.
#[doc(hidden)]
pub fn radix_sort_without_cutover<T: RadixKey>(v: &mut [T]) {
    if let Some(sample) = prepare(v) {
        T::radix_passes(v, &sample);
    }
}

/// The early exits before the radix passes: None if `v` is sorted (it was
/// presorted, or it held few distinct values and has been counted), else
/// the sorted sample of its keys that steers the choices of the passes.
pub(crate) fn prepare<T: RadixKey>(v: &mut [T]) -> Option<Vec<T::K>> {
    if v.len() < 2 || presorted(v) {
        return None;
    }
    let sample = sample_of(v);
    if few_distinct(v, &sample) {
        return None;
    }
    Some(sample)
}

/// [`prepare`] that reads `src` only: the sample it would return, or None
/// where it would have sorted `src` in place or might have (presorted, or
/// a sample that suggests few distinct values).
pub(crate) fn prepare_read_only<T: RadixKey>(src: &[T]) -> Option<Vec<T::K>> {
    if src.len() < 2 || monotonic(src) != Monotonic::Neither {
        return None;
    }
    let sample = sample_of(src);
    if may_be_few(&sample) {
        return None;
    }
    Some(sample)
}

/// The sorted sample of the keys of `v` (at least two) that steers the
/// radix passes.
fn sample_of<T: RadixKey>(v: &[T]) -> Vec<T::K> {
    let n = v.len();
    let len = (n / 32).clamp(32, SAMPLE);
    let mut sample: Vec<T::K> = (0..len).map(|i| v[i * n / len].key()).collect();
    sample.sort_unstable();
    sample
}

/// Where a sort reads its keys and where it leaves them sorted: one slice
/// for the sorts in place, two for [`crate::from`]'s sort into another
/// buffer. The passes that read the input borrow it through [`Io::src`]
/// before any pass writes the output through [`Io::dst`].
pub(crate) enum Io<'a, T> {
    /// The keys, sorted where they are.
    InPlace(&'a mut [T]),
    /// The keys in `src`, sorted into `dst` (as long), whose contents on
    /// entry are anything and never read.
    Apart { src: &'a [T], dst: &'a mut [T] },
}

impl<T: Copy> Io<'_, T> {
    /// Whether the input may change while it is read: a source belongs to
    /// the caller, and a caller that breaks its promise not to write it
    /// (another thread of a Python program, say) must get a wrong order at
    /// worst, never a write out of bounds. So a pass that trusts an
    /// earlier pass's histogram of the source checks it (see
    /// [`scatter_clamped_map`]).
    pub(crate) fn may_change(&self) -> bool {
        matches!(self, Io::Apart { .. })
    }

    /// How many keys.
    pub(crate) fn len(&self) -> usize {
        self.src().len()
    }

    /// The keys to sort.
    pub(crate) fn src(&self) -> &[T] {
        match self {
            Io::InPlace(v) => v,
            Io::Apart { src, .. } => src,
        }
    }

    /// The output, for a pass that writes each of its places before it
    /// reads it: apart from the input, it holds anything until then.
    pub(crate) fn dst(&mut self) -> &mut [T] {
        match self {
            Io::InPlace(v) => v,
            Io::Apart { dst, .. } => dst,
        }
    }

    /// The output holding the keys to sort (copied there from the input
    /// if apart), for the sorts in place.
    pub(crate) fn copied(&mut self) -> &mut [T] {
        match self {
            Io::InPlace(v) => v,
            Io::Apart { src, dst } => {
                dst.copy_from_slice(src);
                dst
            }
        }
    }
}

/// [`RadixKey::radix_passes`]: the comparison sort for a skewed
/// cache-sized input, else the MSD radix sort with one scratch buffer.
fn radix_passes<T: RadixKey>(v: &mut [T], sample: &[T::K]) {
    let n = v.len();
    if n > CACHE_KEYS {
        large_passes(Io::InPlace(v), sample);
        return;
    }
    if T::REPEATS > 0
        && sample.windows(2).filter(|w| w[0] == w[1]).count() > sample.len() / T::REPEATS
    {
        T::small_sort(v);
        return;
    }
    let mut log_bits = log_first(n, sample);
    if skewed(n, sample, SKEW) {
        log_bits = log_spreads(n, sample);
        if log_bits.is_none() {
            // The first digit would leave most keys in one bucket, and so
            // would a logarithmic one: the comparison sort is faster on such
            // inputs of this size.
            T::small_sort(v);
            return;
        }
    }
    let Some(mut scratch) = Scratch::new(n) else {
        T::small_sort(v);
        return;
    };
    if straddles(sample) {
        let done = if u32::try_from(n).is_ok() {
            straddle_top::<T, u32>(v, &mut scratch)
        } else {
            straddle_top::<T, usize>(v, &mut scratch)
        };
        if done {
            return;
        }
    }
    if u32::try_from(n).is_ok() {
        top_level::<T, u32>(v, &mut scratch, log_bits);
    } else {
        top_level::<T, usize>(v, &mut scratch, log_bits);
    }
}

/// [`radix_passes`] of more than `CACHE_KEYS` keys, from `io`'s input into
/// its output.
pub(crate) fn large_passes<T: RadixKey>(io: Io<'_, T>, sample: &[T::K]) {
    if u32::try_from(io.len()).is_ok() {
        large_passes_counted::<T, u32>(io, sample);
    } else {
        large_passes_counted::<T, usize>(io, sample);
    }
}

/// [`large_passes`] with bucket counters of type `C`: the first level that
/// [`choose_first`] chooses, then its buckets (the parallel sort runs the
/// same levels, see [`crate::par`]). The first level reads the input where
/// it is, and its buckets are sorted into the output, which they write
/// before they read (see [`top_children`] and [`log_children`]).
fn large_passes_counted<T: RadixKey, C: Count>(mut io: Io<'_, T>, sample: &[T::K]) {
    let n = io.len();
    let mut counts: Vec<C> = Vec::new();
    let first = choose_first(&mut Whole(io.src()), sample, false, &mut counts);
    match first {
        First::Sorted => {
            io.copied();
            return;
        }
        First::Fill { prefix, shift } => {
            fill(io.dst(), &counts, prefix, shift);
            return;
        }
        _ => {}
    }
    let Some(mut scratch) = Scratch::new(n) else {
        T::small_sort(io.copied());
        return;
    };
    let mut stack = Vec::new();
    match first {
        First::Offset(f) => {
            scatter_top(
                io.src(),
                &mut scratch,
                &mut counts,
                f,
                |x| x,
                io.may_change(),
            );
            let v = io.dst();
            top_children(v, &mut scratch, &counts, |_| f.shift, 0, &mut stack, |_| {});
        }
        First::Linear(f, tz) => {
            scatter_top(
                io.src(),
                &mut scratch,
                &mut counts,
                f,
                |x| x,
                io.may_change(),
            );
            top_children(
                io.dst(),
                &mut scratch,
                &counts,
                |_| f.shift,
                tz,
                &mut stack,
                |_| {},
            );
        }
        First::Log(f, tz) => {
            scratch.resize(n, T::default());
            if io.may_change() {
                // SAFETY: initialised elements viewed as possibly
                // uninitialised; the clamped scatter writes each again.
                let out = unsafe { &mut *(&mut scratch[..] as *mut [T] as *mut [MaybeUninit<T>]) };
                scatter_clamped_map(io.src(), out, &mut counts, f, |x| x);
            } else {
                // SAFETY: `choose_first` left the histogram of `f` over the
                // input in `counts`.
                unsafe { scatter(io.src(), &mut scratch, &mut counts, f) };
            }
            let bits_of = |d| f.child_bits(d);
            log_children(
                &mut scratch,
                io.dst(),
                false,
                &counts,
                bits_of,
                tz,
                &mut stack,
            );
        }
        // Not chosen for keys other than floats; sorted all the same.
        First::Crowded | First::Sorted | First::Fill { .. } => {
            scratch.resize(n, T::default());
            msd(
                io.copied(),
                &mut scratch,
                true,
                8 * size_of::<T::K>() as u32,
                0,
                &mut stack,
            );
        }
    }
}

/// How many more bits the keys must vary in than their range spans for
/// [`straddle_top`]: each costs the linear digit a level that splits the
/// keys in two.
const STRADDLE_BITS: u32 = 4;

/// Whether the sorted `sample` lies in a range far narrower than the bits in
/// which its keys vary: keys crowded on both sides of a high power of two,
/// as signed keys of both signs around zero are (their ordered keys lie
/// around `2^63`). A linear digit at the top of the varying bits splits
/// such keys into two buckets and nothing more.
fn straddles<K: Bits>(sample: &[K]) -> bool {
    let (Some(lo), Some(hi)) = (sample.first(), sample.last()) else {
        return false;
    };
    let (lo, hi) = (lo.wide(), hi.wide());
    let varying = 64 - (lo ^ hi).leading_zeros();
    let range = 64 - (hi - lo).leading_zeros();
    range + STRADDLE_BITS <= varying
}

/// The digit `(key >> shift) - base`: the linear digit of keys that lie
/// between `base << shift` and the end of bucket `buckets - 1`, wherever
/// that range falls. Its buckets are aligned ranges of `2^shift` keys,
/// whose keys agree above bit `shift` even where the whole range straddles
/// a high power of two.
#[derive(Clone, Copy, PartialEq)]
pub(crate) struct Offset {
    pub(crate) shift: u32,
    base: u64,
    buckets: usize,
}

impl<T: RadixKey> Digit<T> for Offset {
    #[inline(always)]
    fn buckets(self) -> usize {
        self.buckets
    }
    #[inline(always)]
    fn of(self, x: T) -> usize {
        // Every key lies in the range (`straddle_top` measures it); the
        // `min` keeps `Digit`'s bound by construction.
        ((x.key().wide() >> self.shift).wrapping_sub(self.base) as usize).min(self.buckets - 1)
    }
}

/// The first level of a cache-sized input of keys that a sample shows
/// [`straddles`]: [`offset_first`] and each bucket sorted as usual.
/// Returns whether `v` is sorted; false: `v` is unchanged (after one read).
fn straddle_top<T: RadixKey, C: Count>(v: &mut [T], scratch: &mut Scratch<T>) -> bool {
    let n = v.len();
    let mut counts: Vec<C> = Vec::new();
    let Some(f) = offset_first(&mut Whole(v), &mut counts) else {
        return false;
    };
    let mut stack: Vec<C> = Vec::new();
    // Sort the large buckets in place, leave the small ones to one
    // insertion sort over the range (as `msd` does).
    scratch.resize(n, T::default());
    // SAFETY: `counts` is the histogram of `f` over `v`.
    unsafe { scatter(v, scratch, &mut counts, f) };
    v.copy_from_slice(scratch);
    let mut start = 0;
    for end in counts {
        let end = end.get();
        if end - start > LEAF {
            msd(
                &mut v[start..end],
                &mut scratch[start..end],
                true,
                f.shift,
                0,
                &mut stack,
            );
        }
        start = end;
    }
    insertion_sort(v);
    true
}

/// The [`Offset`] digit of keys that a sample shows [`straddles`]: one pass
/// finds the smallest and the largest key, and if they still straddle, the
/// digit covers that range and its histogram goes into `counts`; None if
/// they do not.
pub(crate) fn offset_first<T: RadixKey, C: Count, I: Input<T>>(
    input: &mut I,
    counts: &mut Vec<C>,
) -> Option<Offset> {
    let n = input.keys().len();
    let (min, max) = input.min_max();
    let varying = 64 - (min ^ max).leading_zeros();
    let range = 64 - (max - min).leading_zeros();
    if range + STRADDLE_BITS > varying {
        return None;
    }
    // `(max - min) >> shift < 2^w`, so at most `2^w + 1` buckets.
    let shift = range - width(n, range);
    let base = min >> shift;
    let buckets = ((max >> shift) - base + 1) as usize;
    let f = Offset {
        shift,
        base,
        buckets,
    };
    counts.clear();
    counts.resize(buckets, C::default());
    input.histogram(counts, f);
    Some(f)
}

/// Returns whether `v` is sorted after at most one scan: it was already
/// non-decreasing, or it was non-increasing and has been reversed.
fn presorted<T: RadixKey>(v: &mut [T]) -> bool {
    match monotonic(v) {
        Monotonic::Up => true,
        Monotonic::Down => {
            v.reverse();
            true
        }
        Monotonic::Neither => false,
    }
}

/// Which way the keys of a slice run, as one scan finds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Monotonic {
    /// Non-decreasing (fewer than two keys too).
    Up,
    /// Non-increasing, and not non-decreasing.
    Down,
    Neither,
}

/// Which way the keys of `v` run, after at most one scan.
fn monotonic<T: RadixKey>(v: &[T]) -> Monotonic {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, as just checked.
        return unsafe { monotonic_avx2(v) };
    }
    monotonic_scan(v, T::BLOCK_CHECK)
}

/// [`monotonic_scan`] compiled for AVX2, which compares four 64-bit keys at
/// once (the baseline x86-64 target has no 64-bit vector compare, and its
/// emulation loses to std's scalar run detection).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn monotonic_avx2<T: RadixKey>(v: &[T]) -> Monotonic {
    // Blocks win for every type here.
    monotonic_scan(v, true)
}

/// The body of [`monotonic`]; `block`: check the non-decreasing order in
/// blocks (see [`all_pairs`]).
#[inline(always)]
fn monotonic_scan<T: RadixKey>(v: &[T], block: bool) -> Monotonic {
    if v.len() < 2 {
        return Monotonic::Up;
    }
    if T::le(v[0], v[1]) {
        if all_pairs(v, block, |a, b| T::le(a, b)) {
            Monotonic::Up
        } else {
            Monotonic::Neither
        }
    } else if all_pairs(v, true, |a, b| T::le(b, a)) {
        Monotonic::Down
    } else {
        Monotonic::Neither
    }
}

/// Whether `ok(key[i], key[i + 1])` holds for every `i`: checked in blocks
/// without early exit inside a block, which vectorises, and with one between
/// blocks, so that an unsorted input costs one block.
#[inline(always)]
pub(crate) fn all_pairs<T: RadixKey>(v: &[T], block: bool, ok: impl Fn(T, T) -> bool) -> bool {
    let n = v.len();
    if n < 2 {
        return true;
    }
    if !block {
        return v.is_sorted_by(|&a, &b| ok(a, b));
    }
    v[..n - 1]
        .chunks(64)
        .zip(v[1..].chunks(64))
        .all(|(a, b)| a.iter().zip(b).fold(true, |acc, (&x, &y)| acc & ok(x, y)))
}

/// Most keys sampled to guess whether the input holds only a few distinct
/// values, or is skewed.
pub(crate) const SAMPLE: usize = 128;

/// Most distinct sampled values for which [`few_distinct`] (and the pairs
/// sort's) tries counting.
pub(crate) const FEW: usize = 24;

/// Most distinct values [`FewTable::count`] counts before it gives up.
const FEW_MAX: usize = 64;

/// Slots of the open-addressing table of [`FewTable`]: a power of two,
/// four times `FEW_MAX`, so that probes stay short.
pub(crate) const FEW_SLOTS: usize = 256;

/// The distinct keys of an input and how often each occurs, in an
/// open-addressing table: what sorting by counting needs.
pub(crate) struct FewTable<K> {
    /// The key in each slot, if any.
    pub(crate) keys: [Option<K>; FEW_SLOTS],
    /// How often the key in each slot occurs.
    pub(crate) counts: [usize; FEW_SLOTS],
}

impl<K: Bits> FewTable<K> {
    /// Counts `keys` if they hold at most `FEW_MAX` distinct values (it
    /// stops as soon as it meets more).
    pub(crate) fn count(keys: impl Iterator<Item = K>) -> Option<FewTable<K>> {
        let mut table = FewTable {
            keys: [None; FEW_SLOTS],
            counts: [0; FEW_SLOTS],
        };
        let mut distinct = 0;
        for key in keys {
            let mut i = Self::home(key);
            loop {
                match table.keys[i] {
                    Some(s) if s == key => break,
                    Some(_) => i = (i + 1) % FEW_SLOTS,
                    None if distinct < FEW_MAX => {
                        table.keys[i] = Some(key);
                        distinct += 1;
                        break;
                    }
                    None => return None,
                }
            }
            table.counts[i] += 1;
        }
        Some(table)
    }

    /// The slot of `key`, which [`FewTable::count`] met.
    pub(crate) fn slot_of(&self, key: K) -> usize {
        let mut i = Self::home(key);
        while self.keys[i] != Some(key) {
            i = (i + 1) % FEW_SLOTS;
        }
        i
    }

    /// The (key, slot) of every distinct key, in key order.
    pub(crate) fn runs(&self) -> Vec<(K, usize)> {
        let mut runs: Vec<(K, usize)> = (0..FEW_SLOTS)
            .filter_map(|i| self.keys[i].map(|key| (key, i)))
            .collect();
        runs.sort_unstable();
        runs
    }

    fn home(key: K) -> usize {
        (key.wide().wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize
    }
}

/// Sorts `v` by counting, in place, if a sample suggests that it holds at
/// most `FEW` distinct values and a counting pass confirms that it holds at
/// most `FEW_MAX` (it stops as soon as it meets more). Returns whether `v`
/// is sorted.
/// Equal keys are bit-identical values, so writing each value out `count`
/// times yields a permutation of the input.
fn few_distinct<T: RadixKey>(v: &mut [T], sample: &[T::K]) -> bool {
    if !may_be_few(sample) {
        return false;
    }
    let Some(table) = FewTable::count(v.iter().map(|x| x.key())) else {
        return false;
    };
    let mut start = 0;
    for (k, i) in table.runs() {
        let c = table.counts[i];
        v[start..start + c].fill(T::from_key(k));
        start += c;
    }
    true
}

/// Whether the sorted `sample` suggests that its input holds few distinct
/// values, for [`few_distinct`] to count: at most half the sample distinct,
/// since a small sample of a spread input holds many distinct values, but
/// a quarter of them may repeat.
fn may_be_few<K: Bits>(sample: &[K]) -> bool {
    sample.chunk_by(|a, b| a == b).count() <= FEW.min(sample.len() / 2)
}

/// Whether the first MSD digit of `n` keys would put more than
/// `1 / fraction` of the sorted `sample` in one bucket.
fn skewed<K: Bits>(n: usize, sample: &[K], fraction: usize) -> bool {
    let (Some(lo), Some(hi)) = (sample.first(), sample.last()) else {
        return false;
    };
    let bits = 64 - (lo.wide() ^ hi.wide()).leading_zeros();
    if bits == 0 {
        return false;
    }
    let shift = bits - width(n, bits);
    sample
        .chunk_by(|a, b| a.wide() >> shift == b.wide() >> shift)
        .any(|run| run.len() > sample.len() / fraction)
}

/// If the first linear digit of `n` keys would put more than half of the
/// sorted `sample` in one bucket: the number of low bits in which the sample
/// varies, for a logarithmic first digit.
fn log_first<K: Bits>(n: usize, sample: &[K]) -> Option<u32> {
    let (lo, hi) = (sample.first()?, sample.last()?);
    let bits = 64 - (lo.wide() ^ hi.wide()).leading_zeros();
    (bits > 0 && skewed(n, sample, 2)).then_some(bits)
}

/// Widest logarithmic digit of an input of `n` keys. A cache-sized input
/// gets about one bucket per key, so that one insertion sort finishes it
/// (figures in docs/PERFORMANCE.md); its counters stay in L2.
fn log_width(n: usize) -> u32 {
    if n > CACHE_KEYS {
        return MAX_WIDTH;
    }
    let lg = usize::BITS - 1 - n.leading_zeros();
    lg.clamp(4, 15)
}

/// For a cache-sized input of `n` keys whose first linear digit is skewed:
/// the number of low bits in which the sorted `sample` varies, if a
/// logarithmic first digit would put at most `1 / SKEW` of the sample in
/// any bucket (keys spread over orders of magnitude, as Zipf-like ones).
fn log_spreads<K: Bits>(n: usize, sample: &[K]) -> Option<u32> {
    let (lo, hi) = (sample.first()?, sample.last()?);
    let bits = 64 - (lo.wide() ^ hi.wide()).leading_zeros();
    if bits == 0 {
        return None;
    }
    let f = Log::at_most(bits, log_width(n));
    sample
        .chunk_by(|a, b| f.of_wide(a.wide()) == f.of_wide(b.wide()))
        .all(|run| run.len() <= sample.len() / SKEW)
        .then_some(bits)
}

/// Digit width for a bucket of `m` keys whose keys differ in their low
/// `bits` bits.
#[inline]
fn width(m: usize, bits: u32) -> u32 {
    width_at(m, bits, WIDE_WIDTH)
}

/// [`width`] with `wide` bits for a bucket out of the cache.
#[inline]
fn width_at(m: usize, bits: u32, wide: u32) -> u32 {
    if m > CACHE_KEYS {
        return wide.min(bits);
    }
    // About one key per bucket: what is left for insertion sort is short runs.
    let lg = usize::BITS - 1 - m.leading_zeros();
    if bits <= (lg + COUNT_SLACK).min(MAX_WIDTH) {
        // One digit covers every bit that varies: the keys are counted and
        // written back from the counts, with no scatter and no insertion
        // sort, even with a few empty counters per key.
        return bits;
    }
    lg.clamp(1, MAX_WIDTH).min(bits)
}

/// The width of the first linear digit of `v` (more than `CACHE_KEYS`
/// keys), given a sorted `sample` of their keys: see [`top_width`].
fn wide_first_digit<T: RadixKey>(v: &[T], sample: &[T::K], float: bool) -> u32 {
    let n = v.len();
    // The first linear digit may leave a bucket too large for the cache
    // (for more than `32 * CACHE_KEYS` keys this sample is too small to
    // tell): a larger sample may show a wider digit that does not.
    if n > 32 * CACHE_KEYS || skewed(n, sample, n.div_ceil(CACHE_KEYS)) {
        // Floats of more than that many keys: buckets of as many bytes as
        // `CACHE_KEYS` 64-bit keys take (twice the keys for `f32`). A
        // narrower digit then scatters into fewer streams and leaves
        // fewer, fuller buckets, which paid for every float distribution
        // measured; for skewed 32-bit integers it did not (figures in
        // docs/PERFORMANCE.md, "The first digit of many floats").
        let fits = if float && n > 32 * CACHE_KEYS {
            CACHE_KEYS * 8 / size_of::<T>()
        } else {
            CACHE_KEYS
        };
        top_width(v, fits)
    } else {
        WIDE_WIDTH
    }
}

/// Widest first digit [`top_width`] chooses: 2^18 counters, 1 MiB as `u32`,
/// of which only the part where the keys lie is touched when they crowd.
const TOP_MAX_WIDTH: u32 = 18;

/// The width of the first linear digit for `v` (more than `CACHE_KEYS`
/// keys): `WIDE_WIDTH`, unless a sample of the keys shows that a digit of
/// that width would leave a bucket of more than `fits` keys where a wider
/// one (at most `TOP_MAX_WIDTH` bits) would not, or would at least halve
/// the largest bucket. Floats from real distributions need it: their sign
/// and exponent bits take few values, so a narrow top digit leaves most
/// keys in a few buckets (figures in docs/PERFORMANCE.md).
fn top_width<T: RadixKey>(v: &[T], fits: usize) -> u32 {
    let n = v.len();
    let len = (n / 256).clamp(64, 4096);
    let step = n / len;
    let mut sample: Vec<u64> = (0..len).map(|i| v[i * step].key().wide()).collect();
    sample.sort_unstable();
    let (and, or) = sample
        .iter()
        .fold((u64::MAX, 0), |(and, or), &k| (and & k, or | k));
    let bits = 64 - (and ^ or).leading_zeros();
    // The most sampled keys in one bucket of a `w`-bit digit at the top of
    // the bits in which the sample varies.
    let largest = |w: u32| {
        let shift = bits.saturating_sub(w);
        sample
            .chunk_by(|a, b| a >> shift == b >> shift)
            .map(<[u64]>::len)
            .max()
            .unwrap_or(0)
    };
    let narrow = largest(WIDE_WIDTH);
    if bits <= WIDE_WIDTH || narrow * n <= fits * len {
        return WIDE_WIDTH;
    }
    let mut best = (narrow, WIDE_WIDTH);
    for w in WIDE_WIDTH + 1..=TOP_MAX_WIDTH.min(bits) {
        let l = largest(w);
        if l < best.0 {
            best = (l, w);
        }
        if l * n <= fits * len {
            break;
        }
    }
    // Keys spread over many orders of magnitude (Zipf-like integers) split
    // better by their bit length: then `WIDE_WIDTH`, which lets the caller
    // try the logarithmic digit.
    let log = Log::new(bits);
    let log_largest = sample
        .chunk_by(|&a, &b| log.of_wide(a) == log.of_wide(b))
        .map(<[u64]>::len)
        .max()
        .unwrap_or(0);
    if best.0 * 2 <= narrow && best.0 < log_largest {
        best.1
    } else {
        WIDE_WIDTH
    }
}

/// A bucket counter: `u32` while the input has fewer than 2^32 keys (half the
/// cache footprint), else `usize`.
pub(crate) trait Count: Copy + Default + Send + Sync + 'static {
    fn get(self) -> usize;
    fn set(n: usize) -> Self;
}

impl Count for u32 {
    #[inline(always)]
    fn get(self) -> usize {
        self as usize
    }
    #[inline(always)]
    fn set(n: usize) -> Self {
        n as u32
    }
}

impl Count for usize {
    #[inline(always)]
    fn get(self) -> usize {
        self
    }
    #[inline(always)]
    fn set(n: usize) -> Self {
        n
    }
}

/// The digits chosen for one MSD level.
pub(crate) struct Plan {
    /// The keys agree above their low `bits` bits.
    pub(crate) bits: u32,
    /// The keys agree below bit `tz`.
    pub(crate) tz: u32,
    /// Width of the top digit, at `bits - w`.
    pub(crate) w: u32,
    /// Width of the second digit, just below (0: none).
    pub(crate) w2: u32,
    /// The bits outside `tz..bits`, which every key shares (those inside
    /// are zero).
    prefix: u64,
}

/// Finds which bits of the keys of `data` vary and histograms its top digit
/// (and, if `two`, the next one) into `stack[base..]`, guessing first that
/// they are the bits `tz..bits` (the span the level above knew of). `None`
/// if every key is equal.
pub(crate) fn plan<T: RadixKey, C: Count>(
    data: &[T],
    bits: u32,
    tz: u32,
    two: bool,
    stack: &mut Vec<C>,
    base: usize,
) -> Option<Plan> {
    plan_at(data, bits, tz, two, stack, base, WIDE_WIDTH)
}

/// [`plan`] with digits of `wide` bits if `data` does not fit in the cache.
pub(crate) fn plan_at<T: RadixKey, C: Count>(
    data: &[T],
    bits: u32,
    tz: u32,
    two: bool,
    stack: &mut Vec<C>,
    base: usize,
    wide: u32,
) -> Option<Plan> {
    let m = data.len();
    let (w, w2) = digits(m, bits, tz, two, wide);
    stack.truncate(base);
    stack.resize(base + (1 << w) + (1 << w2), C::default());
    let (top, low) = stack[base..].split_at_mut(1 << w);
    let (and, or) = bits_and_histograms(data, top, low, bits - w, w, w2);
    let p = settle(m, and, or, two, wide)?;
    if p.bits - p.w != bits - w || p.w != w || p.w2 != w2 {
        // The keys vary in other bits than assumed: count again.
        stack.truncate(base);
        stack.resize(base + (1 << p.w) + (1 << p.w2), C::default());
        let (top, low) = stack[base..].split_at_mut(1 << p.w);
        histograms(data, top, low, p.bits - p.w, p.w, p.w2);
    }
    Some(p)
}

/// The widths of the top digit and (if `two`) the second one for `m` keys
/// that vary in the bits `tz..bits`, `wide` bits if they do not fit in the
/// cache. The digits never reach below `tz`: those bits are all equal.
#[inline(always)]
fn digits(m: usize, bits: u32, tz: u32, two: bool, wide: u32) -> (u32, u32) {
    let w = width_at(m, bits - tz, wide);
    let w2 = if two { w.min(bits - w - tz) } else { 0 };
    (w, w2)
}

/// The plan of `m` keys whose AND and OR are `and` and `or`; None if they
/// are all equal.
#[inline(always)]
fn settle(m: usize, and: u64, or: u64, two: bool, wide: u32) -> Option<Plan> {
    let varying = and ^ or;
    if varying == 0 {
        return None;
    }
    let bits = 64 - varying.leading_zeros();
    let tz = varying.trailing_zeros();
    let span = u64::MAX >> (64 - (bits - tz)) << tz;
    let (w, w2) = digits(m, bits, tz, two, wide);
    Some(Plan {
        bits,
        tz,
        w,
        w2,
        prefix: and & !span,
    })
}

/// [`plan_at`] of a whole input (more than `CACHE_KEYS` keys, one digit),
/// its passes made by `input`: the histogram goes into `counts`.
pub(crate) fn plan_first<T: RadixKey, C: Count, I: Input<T>>(
    input: &mut I,
    wide: u32,
    counts: &mut Vec<C>,
) -> Option<Plan> {
    let m = input.keys().len();
    let full = 8 * size_of::<T::K>() as u32;
    let (w, _) = digits(m, full, 0, false, wide);
    counts.clear();
    counts.resize(1 << w, C::default());
    let (and, or) = input.histogram(counts, Linear { shift: full - w, w });
    let p = settle(m, and, or, false, wide)?;
    if p.bits - p.w != full - w || p.w != w {
        // The keys vary in other bits than assumed: count again.
        counts.clear();
        counts.resize(1 << p.w, C::default());
        let f = Linear {
            shift: p.bits - p.w,
            w: p.w,
        };
        input.histogram(counts, f);
    }
    Some(p)
}

/// Writes `counts[d]` copies of the value with key `prefix + (d << shift)`,
/// for every digit `d` in order: the counting sort of keys that differ only
/// in their digit, the one at `shift` (`prefix` holds no bit of it), or,
/// with `shift` 0, of keys from `prefix` on.
///
/// Where the counts are small (about one key per digit, as in a bucket of
/// dense integers), a branch on each count would be mispredicted about
/// every other digit: `FILL_RUN` copies are written whatever the count, the
/// next digit's copies overwriting the surplus, and only a longer run
/// branches.
pub(crate) fn fill<T: RadixKey, C: Count>(out: &mut [T], counts: &[C], prefix: u64, shift: u32) {
    let m = out.len();
    let mut start = 0;
    let mut d = 0;
    while d < counts.len() && start + FILL_RUN <= m {
        let c = counts[d].get();
        let x = T::from_key(T::K::narrow(prefix + ((d as u64) << shift)));
        out[start..start + FILL_RUN].fill(x);
        if c > FILL_RUN {
            out[start + FILL_RUN..start + c].fill(x);
        }
        start += c;
        d += 1;
    }
    for (d, c) in counts.iter().enumerate().skip(d) {
        let end = start + c.get();
        let key = prefix + ((d as u64) << shift);
        out[start..end].fill(T::from_key(T::K::narrow(key)));
        start = end;
    }
}

/// Bits by which a digit that covers all that vary may be wider than the
/// logarithm of its bucket's keys: see [`width_at`].
const COUNT_SLACK: u32 = 1;

/// Copies of a key that [`fill`] writes for every digit, whatever its count.
const FILL_RUN: usize = 8;

/// The first level of a cache-sized input, with `scratch` empty and of
/// capacity at least `v.len()`. `log_bits`: a sample suggests that the first
/// linear digit would leave most keys in one bucket, and that the keys vary
/// in their low `log_bits` bits only.
fn top_level<T: RadixKey, C: Count>(v: &mut [T], scratch: &mut Scratch<T>, log_bits: Option<u32>) {
    let n = v.len();
    let full = 8 * size_of::<T::K>() as u32;
    let mut stack: Vec<C> = Vec::new();
    let Some(bits) = log_bits else {
        scratch.resize(n, T::default());
        msd(v, scratch, true, full, 0, &mut stack);
        return;
    };
    // A small sample often misses the largest keys: one vectorised pass
    // finds the bits in which they vary, where a wrong guess would cost a
    // second histogram.
    let (and, or) = v.iter().fold((u64::MAX, 0), |(and, or), x| {
        let k = x.key().wide();
        (and & k, or | k)
    });
    if and == or {
        return;
    }
    let log_bits = Some(bits.max(64 - (and ^ or).leading_zeros()));
    let mut counts: Vec<C> = Vec::new();
    match log_level(&mut Whole(v), log_bits, &mut counts) {
        LogLevel::Sorted => {}
        LogLevel::Spread(f) => {
            scratch.resize(n, T::default());
            // SAFETY: `counts` is the histogram of `f` over `v`.
            unsafe { scatter(v, scratch, &mut counts, f) };
            // Sort the large buckets in place, leave the small ones to one
            // insertion sort over the range (as `msd` does).
            v.copy_from_slice(scratch);
            let mut start = 0;
            for (d, end) in counts.iter().enumerate() {
                let end = end.get();
                if end - start > LEAF {
                    msd(
                        &mut v[start..end],
                        &mut scratch[start..end],
                        true,
                        f.child_bits(d),
                        0,
                        &mut stack,
                    );
                }
                start = end;
            }
            insertion_sort(v);
        }
        LogLevel::Crowded => {
            scratch.resize(n, T::default());
            msd(v, scratch, true, full, 0, &mut stack);
        }
    }
}

/// What [`log_level`] found.
enum LogLevel {
    /// Every key is equal.
    Sorted,
    /// The logarithmic digit puts at most half of the keys in one bucket:
    /// its histogram is in the caller's counts.
    Spread(Log),
    /// It does not (or none was tried): the linear digit, then.
    Crowded,
}

/// Keys spread over many orders of magnitude: a logarithmic first digit
/// tried straight away, without histogramming the linear one, when a sample
/// showed that the keys vary in their low `log_bits` bits only. It orders
/// the keys only if they all agree above those bits, as the sample did; if
/// they do not, once more with the bits they vary in.
fn log_level<T: RadixKey, C: Count, I: Input<T>>(
    input: &mut I,
    mut log_bits: Option<u32>,
    counts: &mut Vec<C>,
) -> LogLevel {
    let n = input.keys().len();
    while let Some(bits) = log_bits {
        let f = Log::at_most(bits, log_width(n));
        counts.clear();
        counts.resize(<Log as Digit<T>>::buckets(f), C::default());
        let (and, or) = input.histogram(counts, f);
        let varying = and ^ or;
        if varying == 0 {
            return LogLevel::Sorted;
        }
        let actual = 64 - varying.leading_zeros();
        if actual > bits {
            log_bits = Some(actual);
            continue;
        }
        if largest(counts) <= n / 2 {
            return LogLevel::Spread(f);
        }
        break;
    }
    LogLevel::Crowded
}

/// The largest of `counts`.
fn largest<C: Count>(counts: &[C]) -> usize {
    counts.iter().map(|c| c.get()).max().unwrap_or(0)
}

/// The passes over a whole input that [`choose_first`] makes: over one
/// slice in the serial sort ([`Whole`]), over each thread's chunk of it in
/// the parallel one ([`crate::par`]).
pub(crate) trait Input<T: RadixKey> {
    /// The keys.
    fn keys(&self) -> &[T];
    /// The histogram of `f` over the keys in `counts` (zeroed,
    /// `f.buckets()` long); returns the AND and the OR of the keys.
    fn histogram<C: Count, F: Digit<T>>(&mut self, counts: &mut [C], f: F) -> (u64, u64);
    /// The smallest and the largest key.
    fn min_max(&mut self) -> (u64, u64);
}

/// The passes of the serial sort: over the one slice.
pub(crate) struct Whole<'a, T>(pub(crate) &'a [T]);

impl<T: RadixKey> Input<T> for Whole<'_, T> {
    fn keys(&self) -> &[T] {
        self.0
    }
    fn histogram<C: Count, F: Digit<T>>(&mut self, counts: &mut [C], f: F) -> (u64, u64) {
        histogram_bits(self.0, counts, f)
    }
    fn min_max(&mut self) -> (u64, u64) {
        min_max(self.0)
    }
}

/// The smallest and the largest key of `data` (widened).
pub(crate) fn min_max<T: RadixKey>(data: &[T]) -> (u64, u64) {
    data.iter().fold((u64::MAX, 0), |(min, max), x| {
        let k = x.key().wide();
        (min.min(k), max.max(k))
    })
}

/// How the first level of more than `CACHE_KEYS` keys splits them, as
/// [`choose_first`] chose; the caller's counts hold the histogram of the
/// digit.
pub(crate) enum First {
    /// Every key is equal: sorted as they are.
    Sorted,
    /// The linear digit at `shift` covers every bit in which the keys vary:
    /// the counting sort, [`fill`] from the histogram with `prefix`.
    Fill { prefix: u64, shift: u32 },
    /// Keys around a high power of two: buckets of an [`Offset`] digit,
    /// whose keys agree above their low `shift` bits.
    Offset(Offset),
    /// A linear digit; the keys agree below bit `.1`.
    Linear(Linear, u32),
    /// A logarithmic digit (keys spread over orders of magnitude); the keys
    /// agree below bit `.1`.
    Log(Log, u32),
    /// Floats only: the general path suits them better (a logarithmic
    /// digit may, or the linear one leaves more than half in one bucket).
    Crowded,
}

/// Chooses the first level of more than `CACHE_KEYS` keys from a sorted
/// `sample` of them and the passes of `input`, leaving the histogram of
/// the chosen digit in `counts`; the serial sort and the parallel one both
/// split their input by this choice. Floats (`float`) are mapped to their
/// ordered keys by the first scatter; they take a linear digit only.
///
/// For other keys: the offset digit where the sample [`straddles`] (if the
/// whole input does), else the logarithmic digit where the sample shows the
/// linear one crowded ([`log_first`]; not where [`wide_first_digit`] found
/// a wider linear digit that spreads the keys), else the linear digit of
/// [`wide_first_digit`]'s width, or a logarithmic one if that leaves more
/// than half of the keys in one bucket and the logarithmic one fewer.
pub(crate) fn choose_first<T: RadixKey, C: Count, I: Input<T>>(
    input: &mut I,
    sample: &[T::K],
    float: bool,
    counts: &mut Vec<C>,
) -> First {
    let n = input.keys().len();
    let wide = wide_first_digit(input.keys(), sample, float);
    let log_bits = log_first(n, sample);
    if float && wide <= WIDE_WIDTH && log_bits.is_some() {
        return First::Crowded;
    }
    if !float {
        if straddles(sample)
            && let Some(f) = offset_first(input, counts)
        {
            return First::Offset(f);
        }
        let log_bits = if wide > WIDE_WIDTH { None } else { log_bits };
        match log_level(input, log_bits, counts) {
            LogLevel::Sorted => return First::Sorted,
            LogLevel::Spread(f) => return First::Log(f, 0),
            LogLevel::Crowded => {}
        }
    }
    let Some(p) = plan_first(input, wide, counts) else {
        return First::Sorted;
    };
    let shift = p.bits - p.w;
    if shift == p.tz {
        return First::Fill {
            prefix: p.prefix,
            shift,
        };
    }
    let linear = Linear { shift, w: p.w };
    let most = largest(counts);
    if most > n / 2 {
        if float {
            return First::Crowded;
        }
        // Keys spread over many orders of magnitude: try a logarithmic digit.
        let f = Log::new(p.bits);
        let mut log_counts = vec![C::default(); <Log as Digit<T>>::buckets(f)];
        input.histogram(&mut log_counts, f);
        if largest(&log_counts) < most {
            *counts = log_counts;
            return First::Log(f, p.tz);
        }
    }
    First::Linear(linear, p.tz)
}

/// The first level's scatter of `v` into `scratch` (empty, or `v.len()`
/// long) by `f`, whose histogram over `v` is `counts`, each key `x`
/// written as `map(x)`.
fn scatter_top<T: RadixKey, U: RadixKey, C: Count, F: Digit<T>>(
    v: &[T],
    scratch: &mut Scratch<U>,
    counts: &mut [C],
    f: F,
    map: impl Fn(T) -> U,
    clamp: bool,
) {
    let n = v.len();
    if clamp {
        // SAFETY: no element is kept (the keys are `Copy`); the scatter
        // below writes the first `n` again.
        unsafe { scratch.set_len(0) };
        let out = &mut scratch.spare_capacity_mut()[..n];
        for x in out.iter_mut().step_by(4096 / size_of::<U>().max(1)) {
            x.write(U::default());
        }
        scatter_clamped_map(v, out, counts, f, map);
        // SAFETY: the clamped scatter initialises every element of `out`,
        // the first `n` of the capacity reserved by the caller.
        unsafe { scratch.set_len(n) };
    } else if scratch.is_empty() {
        // The scatter writes every element exactly once, so the buffer
        // need not be filled first; touching one element per page faults
        // the pages in, in order, without writing the rest twice.
        let out = &mut scratch.spare_capacity_mut()[..n];
        for x in out.iter_mut().step_by(4096 / size_of::<U>().max(1)) {
            x.write(U::default());
        }
        // SAFETY: the caller histogrammed this digit over `v` into `counts`.
        unsafe { scatter_uninit_map(v, out, counts, f, map) };
        // SAFETY: the scatter has initialised the first `n` elements, within
        // the capacity reserved by the caller.
        unsafe { scratch.set_len(n) };
    } else {
        scratch.resize(n, U::default());
        // SAFETY: as above; every element of `scratch` is initialised, and
        // the scatter only ever writes initialised values into it.
        unsafe {
            let out = &mut *(&mut scratch[..] as *mut [U] as *mut [MaybeUninit<U>]);
            scatter_uninit_map(v, out, counts, f, map);
        }
    }
}

/// Sorts the buckets of the first level's scatter from `scratch` into `v`,
/// calling `done` on each bucket's place in `v` once it is sorted there:
/// `ends` are the buckets' ends; the keys of bucket `d` agree above their
/// low `bits_of(d)` bits, and every key agrees below bit `tz`. Writes each
/// place of `v` before it reads it, so `v` may hold anything on entry: the
/// sort into another buffer ([`Io::Apart`]) relies on it.
pub(crate) fn top_children<T: RadixKey, C: Count>(
    v: &mut [T],
    scratch: &mut [T],
    ends: &[C],
    bits_of: impl Fn(usize) -> u32,
    tz: u32,
    stack: &mut Vec<C>,
    mut done: impl FnMut(&mut [T]),
) {
    let mut start = 0;
    let mut hot: Vec<T> = Vec::new();
    for (d, end) in ends.iter().enumerate() {
        let end = end.get();
        let bits = bits_of(d);
        if end - start > LEAF && end - start <= CACHE_KEYS {
            // Sorted in the cache between the bucket and a small buffer
            // that stays there, then copied out in one stream: a scatter
            // into the bucket's place in `v`, which no pass has touched
            // since the histogram, would fetch every line it writes.
            if hot.len() < end - start {
                hot.resize(end - start, T::default());
            }
            // The next bucket, which this one's last pass prefetches.
            let (bucket, rest) = scratch[start..].split_at_mut(end - start);
            let next = &rest[..rest.len().min(CACHE_KEYS)];
            sort_bucket_into(
                bucket,
                &mut hot[..end - start],
                &mut v[start..end],
                next,
                bits,
                tz.min(bits),
                stack,
            );
        } else if end > start {
            msd(
                &mut scratch[start..end],
                &mut v[start..end],
                false,
                bits,
                tz.min(bits),
                stack,
            );
        }
        done(&mut v[start..end]);
        start = end;
    }
}

/// Sorts the cache-sized bucket `data` into `out` (same length, cold in the
/// cache), with `hot` (same length, in the cache) as scratch: the passes
/// stay between `data` and `hot`, and `out` is written once, in order.
/// The keys agree above their low `bits` bits and below bit `tz`. The last
/// pass prefetches `next` (the keys sorted after these, still in memory),
/// so that their first pass reads them from the cache instead of memory
/// (figures in docs/PERFORMANCE.md).
fn sort_bucket_into<T: RadixKey, C: Count>(
    data: &mut [T],
    hot: &mut [T],
    out: &mut [T],
    next: &[T],
    bits: u32,
    tz: u32,
    stack: &mut Vec<C>,
) {
    let base = stack.len();
    let Some(p) = plan(data, bits, tz, true, stack, base) else {
        out.copy_from_slice(data);
        stack.truncate(base);
        return;
    };
    let shift = p.bits - p.w;
    let (counts, low) = stack[base..].split_at_mut(1 << p.w);
    if shift == p.tz {
        fill(out, counts, p.prefix, shift);
    } else if p.w2 > 0 && counts.iter().all(|c| c.get() <= TWO_DIGIT_RUN) {
        // As in `msd`: two digits, least significant first, then the
        // insertion pass, which writes `out`.
        let f2 = Linear {
            shift: shift - p.w2,
            w: p.w2,
        };
        // SAFETY: `plan` histogrammed both digits over `data`; `hot` then
        // holds a permutation of those keys.
        unsafe {
            scatter(data, hot, low, f2);
            scatter(hot, data, counts, Linear { shift, w: p.w });
        }
        insertion_sort_into(data, out, next);
    } else {
        // Rare on inputs this large (skewed buckets): the general sort,
        // which plans again.
        stack.truncate(base);
        msd(data, hot, true, bits, tz, stack);
        out.copy_from_slice(data);
    }
    stack.truncate(base);
}

/// Sorts every bucket of a scatter by a logarithmic digit from `data`
/// (where the scatter left them, `ends` their ends) with [`msd`], the result
/// going to `data` if `data_is_out`, else to `other`. The keys of bucket `d`
/// agree above their low `bits_of(d)` bits ([`Log::child_bits`]), and every
/// key below bit `tz`. As [`msd`], `other` may hold anything on entry.
pub(crate) fn log_children<T: RadixKey, C: Count>(
    data: &mut [T],
    other: &mut [T],
    data_is_out: bool,
    ends: &[C],
    bits_of: impl Fn(usize) -> u32,
    tz: u32,
    stack: &mut Vec<C>,
) {
    let mut start = 0;
    for (d, end) in ends.iter().enumerate() {
        let end = end.get();
        if end > start {
            let bits = bits_of(d);
            msd(
                &mut data[start..end],
                &mut other[start..end],
                data_is_out,
                bits,
                tz.min(bits),
                stack,
            );
        }
        start = end;
    }
}

/// Sorts the keys of `data`, leaving the result in the caller's buffer:
/// `data` itself if `data_is_out`, else `other` (same length). The buffer
/// that does not get the result is used as scratch. Either way `other` may
/// hold anything on entry: each of its places is written before it is
/// read, which [`top_children`] relies on. The keys are known to agree
/// above their low `bits` bits and below bit `tz`. `stack` holds the
/// bucket boundaries of the levels above; this level appends its own and
/// removes them before returning.
fn msd<T: RadixKey, C: Count>(
    data: &mut [T],
    other: &mut [T],
    data_is_out: bool,
    bits: u32,
    tz: u32,
    stack: &mut Vec<C>,
) {
    let m = data.len();
    assert_eq!(m, other.len());
    if m <= LEAF {
        if data_is_out {
            insertion_sort(data);
        } else {
            insertion_sort_into(data, other, &[]);
        }
        return;
    }
    let base = stack.len();
    let Some(Plan {
        bits,
        tz,
        w,
        w2,
        prefix,
    }) = plan(data, bits, tz, m <= CACHE_KEYS, stack, base)
    else {
        if !data_is_out {
            other.copy_from_slice(data);
        }
        stack.truncate(base);
        return;
    };
    let shift = bits - w;
    let (counts, low) = stack[base..].split_at_mut(1 << w);
    if shift == tz {
        // The digit is the whole varying part of the key: each bucket holds
        // copies of one value, which a counting sort writes out directly.
        fill(
            if data_is_out { data } else { other },
            counts,
            prefix,
            shift,
        );
        stack.truncate(base);
        return;
    }
    if w2 > 0 && counts.iter().all(|c| c.get() <= TWO_DIGIT_RUN) {
        // Sort a cache-resident bucket on two digits, least significant
        // first, and let insertion sort order what ties on both. The keys
        // that tie on the top digit are at most `TWO_DIGIT_RUN`, which bounds
        // the insertion sort whatever the lower bits hold.
        let f2 = Linear {
            shift: shift - w2,
            w: w2,
        };
        // SAFETY: `plan` histogrammed both digits over `data`; `other` then
        // holds a permutation of those keys.
        unsafe {
            scatter(data, other, low, f2);
            scatter(other, data, counts, Linear { shift, w });
        }
        if data_is_out {
            insertion_sort(data);
        } else {
            insertion_sort_into(data, other, &[]);
        }
        stack.truncate(base);
        return;
    }
    let largest = counts.iter().map(|c| c.get()).max().unwrap_or(0);
    if largest > m / T::SKEW && m <= CACHE_KEYS {
        // The digit splits badly (keys skewed toward a few values or
        // magnitudes): a comparison sort does better at this size.
        let out = if data_is_out {
            data
        } else {
            other.copy_from_slice(data);
            other
        };
        T::small_sort(out);
        stack.truncate(base);
        return;
    }
    if largest > m / 2 {
        // Keys spread over many orders of magnitude: try a logarithmic digit.
        let f = Log::new(bits);
        let mut log_counts = vec![C::default(); <Log as Digit<T>>::buckets(f)];
        if histogram_of(data, &mut log_counts, f).0 < largest {
            // SAFETY: `log_counts` is the histogram of `f` over `data`.
            unsafe { scatter(data, other, &mut log_counts, f) };
            let bits_of = |d| f.child_bits(d);
            log_children(other, data, !data_is_out, &log_counts, bits_of, tz, stack);
            stack.truncate(base);
            return;
        }
    }
    let counts = &mut stack[base..base + (1 << w)];
    // SAFETY: `plan` histogrammed this digit over `data` into `counts`.
    let largest = unsafe { scatter(data, other, counts, Linear { shift, w }) };
    if largest <= LEAF {
        // Every bucket is small: the whole range is sorted up to short runs,
        // which one insertion sort finishes in near-linear time.
        if data_is_out {
            data.copy_from_slice(other);
            insertion_sort(data);
        } else {
            insertion_sort(other);
        }
    } else if !data_is_out || m <= CACHE_KEYS {
        // Sort the large buckets where they will stay, leave the small ones
        // to one insertion sort over the range: it passes over the sorted
        // large buckets in one comparison per key.
        let (out, tmp) = if data_is_out {
            data.copy_from_slice(other);
            (data, other)
        } else {
            (other, data)
        };
        let mut start = 0;
        for d in 0..1usize << w {
            let end = stack[base + d].get();
            if end - start > LEAF {
                msd(
                    &mut out[start..end],
                    &mut tmp[start..end],
                    true,
                    shift,
                    tz,
                    stack,
                );
            }
            start = end;
        }
        insertion_sort(out);
    } else {
        // After the scatter, `counts[d]` is the end of bucket `d`.
        let mut start = 0;
        for d in 0..1usize << w {
            let end = stack[base + d].get();
            if end > start {
                msd(
                    &mut other[start..end],
                    &mut data[start..end],
                    !data_is_out,
                    shift,
                    tz,
                    stack,
                );
            }
            start = end;
        }
    }
    stack.truncate(base);
}

/// The `w`-bit digit of `x` at `shift`.
#[inline(always)]
pub(crate) fn digit<T: RadixKey>(x: T, shift: u32, w: u32) -> usize {
    ((x.key().wide() >> shift) & ((1 << w) - 1)) as usize
}

/// One pass: the AND and the OR of all keys (widened), and the histograms of
/// the digit of `w` bits at `shift` in `top` and of the `w2` bits below it in
/// `low` (zeroed, `1 << w` and `1 << w2` long; `w2 == 0`: no second digit).
#[inline(always)]
fn bits_and_histograms<T: RadixKey, C: Count>(
    data: &[T],
    top: &mut [C],
    low: &mut [C],
    shift: u32,
    w: u32,
    w2: u32,
) -> (u64, u64) {
    assert!(top.len() == 1 << w && low.len() == 1 << w2 && w2 <= shift);
    let (mut and, mut or) = (u64::MAX, 0);
    for &x in data {
        let k = x.key().wide();
        and &= k;
        or |= k;
        // SAFETY: a digit of `w` (`w2`) bits is below `top.len() == 1 << w`
        // (`low.len() == 1 << w2`), asserted above.
        unsafe {
            bump(top, digit(x, shift, w));
            if w2 > 0 {
                bump(low, digit(x, shift - w2, w2));
            }
        }
    }
    (and, or)
}

/// [`bits_and_histograms`] without the bits.
fn histograms<T: RadixKey, C: Count>(
    data: &[T],
    top: &mut [C],
    low: &mut [C],
    shift: u32,
    w: u32,
    w2: u32,
) {
    assert!(top.len() == 1 << w && low.len() == 1 << w2 && w2 <= shift);
    for &x in data {
        // SAFETY: a digit of `w` (`w2`) bits is below `top.len() == 1 << w`
        // (`low.len() == 1 << w2`), asserted above.
        unsafe {
            bump(top, digit(x, shift, w));
            if w2 > 0 {
                bump(low, digit(x, shift - w2, w2));
            }
        }
    }
}

/// `counts[d] += 1`.
///
/// # Safety
/// `d < counts.len()`.
#[inline(always)]
unsafe fn bump<C: Count>(counts: &mut [C], d: usize) {
    debug_assert!(d < counts.len());
    // SAFETY: `d < counts.len()` as the caller guarantees.
    let c = unsafe { counts.get_unchecked_mut(d) };
    *c = C::set(c.get() + 1);
}

/// A digit function: maps a key to its bucket, monotonically (a smaller key
/// never gets a larger digit), always below [`Digit::buckets`]; a pure
/// function of the key, which the scatters' bounds rely on. Equal digits
/// (`==`) map every key alike.
pub(crate) trait Digit<T>: Copy + PartialEq + Send + Sync + 'static {
    fn buckets(self) -> usize;
    fn of(self, x: T) -> usize;
}

/// The `w` bits at `shift`.
#[derive(Clone, Copy, PartialEq)]
pub(crate) struct Linear {
    pub(crate) shift: u32,
    pub(crate) w: u32,
}

impl<T: RadixKey> Digit<T> for Linear {
    #[inline(always)]
    fn buckets(self) -> usize {
        1 << self.w
    }
    #[inline(always)]
    fn of(self, x: T) -> usize {
        digit(x, self.shift, self.w)
    }
}

/// A floating-point view of the low `bits` bits of the key: the position of
/// the highest set bit, then the `s` bits below it. Splits keys spread over
/// many orders of magnitude (skewed toward small values) evenly.
#[derive(Clone, Copy, PartialEq)]
pub(crate) struct Log {
    bits: u32,
    s: u32,
}

impl Log {
    /// The widest mantissa that keeps the buckets at most 2^11.
    fn new(bits: u32) -> Log {
        Log::at_most(bits, MAX_WIDTH)
    }

    /// The widest mantissa that keeps the buckets at most `2^w` (`s >= 1`).
    fn at_most(bits: u32, w: u32) -> Log {
        let mut s = 1;
        while s + 1 < bits && ((bits - s) as usize) << (s + 1) <= 1 << w {
            s += 1;
        }
        Log { bits, s }
    }

    /// The bucket of the key whose low `bits` bits are those of `k`.
    #[inline(always)]
    fn of_wide(self, k: u64) -> usize {
        let k = k & (u64::MAX >> (64 - self.bits));
        let e = (64 - k.leading_zeros()).saturating_sub(self.s);
        let mantissa = (k >> e.saturating_sub(1)) & ((1 << self.s) - 1);
        let d = ((e as usize) << self.s) | mantissa as usize;
        // `e <= bits - s`, so `d < (bits - s + 1) << s`; the clamp makes the
        // bound hold by construction.
        d.min((((self.bits - self.s + 1) as usize) << self.s) - 1)
    }
}

impl Log {
    /// The keys of bucket `d` agree above their low `child_bits(d)` bits
    /// (within the low `bits`): bucket `e << s | mantissa` holds the keys of
    /// bit length `e + s` whose `s` bits below the highest set bit are
    /// `mantissa`, for `e >= 1`; the keys below `1 << s` are buckets of their
    /// own.
    pub(crate) fn child_bits(self, d: usize) -> u32 {
        let e = (d >> self.s) as u32;
        e.saturating_sub(1)
    }
}

impl<T: RadixKey> Digit<T> for Log {
    #[inline(always)]
    fn buckets(self) -> usize {
        ((self.bits - self.s + 1) as usize) << self.s
    }
    #[inline(always)]
    fn of(self, x: T) -> usize {
        self.of_wide(x.key().wide())
    }
}

/// [`Log`] on both sides of the middle of the key space, for keys spread
/// over many orders of magnitude on both sides of zero: signed keys' order
/// images, which share their top bits around the middle whatever their
/// size. A key at or above the middle goes by the [`Log`] of its distance
/// above it, a key below by the [`Log`] of its distance below, those
/// buckets turned round to keep the order.
#[derive(Clone, Copy, PartialEq)]
pub(crate) struct SignedLog {
    half: Log,
}

impl SignedLog {
    /// The two sides of keys of `bits` bits (the top one the middle), at
    /// most `2^w` buckets in all.
    pub(crate) fn new(bits: u32, w: u32) -> SignedLog {
        SignedLog {
            half: Log::at_most(bits - 1, w - 1),
        }
    }

    /// The buckets of one side.
    fn side(self) -> usize {
        ((self.half.bits - self.half.s + 1) as usize) << self.half.s
    }

    /// How many buckets.
    pub(crate) fn buckets(self) -> usize {
        2 * self.side()
    }

    /// The bucket of the key whose low `bits` bits are those of `k`.
    #[inline(always)]
    pub(crate) fn of_wide(self, k: u64) -> usize {
        let middle = 1u64 << self.half.bits;
        let k = k & (middle | (middle - 1));
        if k >= middle {
            self.side() + self.half.of_wide(k - middle)
        } else {
            self.side() - 1 - self.half.of_wide(middle - 1 - k)
        }
    }

    /// The keys of bucket `d` agree above their low `child_bits(d)` bits:
    /// below the middle a key is the complement of its distance within
    /// the low bits, so keys agree where their distances do.
    pub(crate) fn child_bits(self, d: usize) -> u32 {
        let side = self.side();
        if d >= side {
            self.half.child_bits(d - side)
        } else {
            self.half.child_bits(side - 1 - d)
        }
    }
}

impl<T: RadixKey> Digit<T> for SignedLog {
    #[inline(always)]
    fn buckets(self) -> usize {
        SignedLog::buckets(self)
    }
    #[inline(always)]
    fn of(self, x: T) -> usize {
        self.of_wide(x.key().wide())
    }
}

/// The histogram of `f` over `data` in `counts` (zeroed, `f.buckets()` long).
/// Returns the largest count and the bits in which the keys vary.
fn histogram_of<T: RadixKey, C: Count, F: Digit<T>>(
    data: &[T],
    counts: &mut [C],
    f: F,
) -> (usize, u64) {
    let (and, or) = histogram_bits(data, counts, f);
    (largest(counts), and ^ or)
}

/// The histogram of `f` over `data` in `counts` (zeroed, `f.buckets()`
/// long). Returns the AND and the OR of the keys.
#[inline(always)]
pub(crate) fn histogram_bits<T: RadixKey, C: Count, F: Digit<T>>(
    data: &[T],
    counts: &mut [C],
    f: F,
) -> (u64, u64) {
    assert_eq!(counts.len(), f.buckets());
    let (mut and, mut or) = (u64::MAX, 0);
    for &x in data {
        let k = x.key().wide();
        and &= k;
        or |= k;
        let d = f.of(x);
        // SAFETY: `Digit::of` is below `buckets() == counts.len()`.
        let c = unsafe { counts.get_unchecked_mut(d) };
        *c = C::set(c.get() + 1);
    }
    (and, or)
}

/// Moves `data` into `other` ordered by the digit `f`, stably, given the
/// digit's histogram in `counts`, which it turns into bucket ends.
/// Returns the size of the largest bucket.
///
/// # Safety
/// `counts` is the histogram of `f` over the keys of `data` (or over a
/// permutation of them): `counts[d]` keys of `data` have digit `d`.
#[inline(always)]
unsafe fn scatter<T: RadixKey, C: Count, F: Digit<T>>(
    data: &[T],
    other: &mut [T],
    counts: &mut [C],
    f: F,
) -> usize {
    // SAFETY: the scatter only ever writes initialised values into `other`
    // (never reads it, never writes `uninit`), so viewing its initialised
    // elements as possibly uninitialised ones loses nothing; the histogram
    // is the caller's guarantee.
    unsafe {
        let other = &mut *(other as *mut [T] as *mut [MaybeUninit<T>]);
        scatter_uninit(data, other, counts, f)
    }
}

/// [`scatter`] into memory that need not be initialised: afterwards every
/// element of `other` is (each is written exactly once).
///
/// # Safety
/// As [`scatter`].
#[inline(always)]
unsafe fn scatter_uninit<T: RadixKey, C: Count, F: Digit<T>>(
    data: &[T],
    other: &mut [MaybeUninit<T>],
    counts: &mut [C],
    f: F,
) -> usize {
    // SAFETY: the caller's guarantee.
    unsafe { scatter_uninit_map(data, other, counts, f, |x| x) }
}

/// [`scatter_uninit`] of keys of another type: `map(x)` is written for
/// each key `x` of `data`.
///
/// # Safety
/// As [`scatter`].
#[inline(always)]
unsafe fn scatter_uninit_map<T: RadixKey, U, C: Count, F: Digit<T>>(
    data: &[T],
    other: &mut [MaybeUninit<U>],
    counts: &mut [C],
    f: F,
    map: impl Fn(T) -> U,
) -> usize {
    let m = data.len();
    assert!(other.len() == m && counts.len() == f.buckets());
    let mut sum = 0;
    let mut largest = 0;
    for c in counts.iter_mut() {
        let n = c.get();
        *c = C::set(sum);
        sum += n;
        largest = largest.max(n);
    }
    // The counts are a histogram of exactly these keys under exactly this
    // digit function, so they add up to `m`.
    assert_eq!(sum, m);
    for &x in data {
        let d = f.of(x);
        // SAFETY: `Digit::of` is below `buckets() == counts.len()`.
        let c = unsafe { counts.get_unchecked_mut(d) };
        let o = c.get();
        // SAFETY: `counts[d]` started at the number of keys with a smaller
        // digit and is bumped once per key with digit `d`, of which there
        // are as many as its histogram count (the caller's guarantee; the
        // digit function is pure): it stays below the number of keys with
        // a digit up to `d`, at most `m == other.len()`.
        unsafe { other.get_unchecked_mut(o).write(map(x)) };
        *c = C::set(o + 1);
    }
    largest
}

/// [`scatter_uninit_map`] of keys that may have changed since `counts` was
/// counted (see [`Io::may_change`]): a key whose bucket is already full is
/// dropped, so every write stays inside its bucket, and the places keys
/// went missing from get `U::default()`: afterwards every element of
/// `other` is initialised. Leaves the buckets' ends in `counts`, as the
/// scatter does. Keys that did not change are scattered exactly as
/// [`scatter_uninit_map`] scatters them.
pub(crate) fn scatter_clamped_map<T: RadixKey, U: Default, C: Count, F: Digit<T>>(
    data: &[T],
    other: &mut [MaybeUninit<U>],
    counts: &mut [C],
    f: F,
    map: impl Fn(T) -> U,
) {
    let m = data.len().min(other.len());
    assert_eq!(counts.len(), f.buckets());
    let mut ends: Vec<C> = Vec::with_capacity(counts.len());
    let mut sum = 0;
    for c in counts.iter_mut() {
        let n = c.get();
        *c = C::set(sum.min(m));
        sum += n;
        ends.push(C::set(sum.min(m)));
    }
    for &x in &data[..m] {
        let d = f.of(x);
        // SAFETY: `Digit::of` is below `buckets() == counts.len() ==
        // ends.len()`.
        let (c, end) = unsafe { (counts.get_unchecked_mut(d), ends.get_unchecked(d).get()) };
        let o = c.get();
        if o < end {
            // SAFETY: `o < end <= m <= other.len()`.
            unsafe { other.get_unchecked_mut(o).write(map(x)) };
            *c = C::set(o + 1);
        }
    }
    // Where a bucket fell short of its count, and past the keys.
    for (at, end) in counts.iter().zip(&ends) {
        for place in &mut other[at.get()..end.get()] {
            place.write(U::default());
        }
    }
    for place in &mut other[m..] {
        place.write(U::default());
    }
    counts.copy_from_slice(&ends);
}

/// [`insertion_sort`] of `src` into `dst` (same length), in one pass: the
/// copy and the sort of a bucket whose result belongs in the other buffer.
/// Prefetches the first `src.len()` keys of `next` along the way, one
/// cache line per line of `src`.
#[inline]
fn insertion_sort_into<T: RadixKey>(src: &[T], dst: &mut [T], next: &[T]) {
    assert_eq!(src.len(), dst.len());
    let Some(&first) = src.first() else {
        return;
    };
    let line = (64 / size_of::<T>()).max(1);
    dst[0] = first;
    for i in 1..src.len() {
        if i % line == 0
            && let Some(ahead) = next.get(i)
        {
            prefetch(ahead);
        }
        let x = src[i];
        let k = x.key();
        if dst[i - 1].key() <= k {
            dst[i] = x;
            continue;
        }
        let mut j = i;
        loop {
            dst[j] = dst[j - 1];
            j -= 1;
            if j == 0 || dst[j - 1].key() <= k {
                break;
            }
        }
        dst[j] = x;
    }
}

/// Asks the CPU to bring the cache line holding `x` into the cache; a hint
/// only, which changes no memory.
#[inline(always)]
pub(crate) fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch has no effect on memory or program state, and SSE
    // (which provides it) is part of the x86-64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            (x as *const T).cast::<i8>(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Insertion sort by key: linear on input that is sorted up to short runs.
#[inline]
fn insertion_sort<T: RadixKey>(v: &mut [T]) {
    for i in 1..v.len() {
        let x = v[i];
        let k = x.key();
        if v[i - 1].key() <= k {
            continue;
        }
        let mut j = i;
        loop {
            v[j] = v[j - 1];
            j -= 1;
            if j == 0 || v[j - 1].key() <= k {
                break;
            }
        }
        v[j] = x;
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::{HUGE, Kept, Linear, Scratch, release, scatter_clamped_map};
    use std::alloc::Layout;
    use std::ptr::NonNull;

    fn buffer(bytes: usize) -> (NonNull<u8>, Layout) {
        let layout = Layout::from_size_align(bytes, HUGE).expect("layout");
        // SAFETY: the size is not zero.
        let at = NonNull::new(unsafe { std::alloc::alloc(layout) }).expect("memory");
        (at, layout)
    }

    /// Keys that changed after they were counted (here: a histogram that
    /// is not theirs) are dropped where their bucket is full, and every
    /// write stays inside its bucket: a wrong order, never a write out of
    /// bounds. Unchanged keys scatter as the trusting scatter does.
    #[test]
    fn the_clamped_scatter_keeps_changed_keys_inside_their_buckets() {
        let f = Linear { shift: 4, w: 2 };
        let data: Vec<u32> = vec![0x10, 0x01, 0x32, 0x11, 0x30, 0x02];
        // The keys' own histogram: buckets 0, 1, 2, 3 hold 2, 2, 0, 2.
        let mut counts = vec![2u32, 2, 0, 2];
        let scatter = |counts: &mut Vec<u32>| {
            let mut out = vec![std::mem::MaybeUninit::new(u32::MAX); 6];
            scatter_clamped_map(&data, &mut out, counts, f, |x| x);
            // SAFETY: the clamped scatter initialises every element.
            out.iter()
                .map(|x| unsafe { x.assume_init() })
                .collect::<Vec<u32>>()
        };
        let out = scatter(&mut counts);
        assert_eq!(out, [0x01, 0x02, 0x10, 0x11, 0x32, 0x30]);
        assert_eq!(counts, [2, 4, 4, 6]);
        // A histogram from before two keys changed: bucket 1 was counted
        // with 3 keys and bucket 3 with 1, so one key of bucket 3 is
        // dropped and one place of bucket 1 gets the default.
        let mut counts = vec![2u32, 3, 0, 1];
        let out = scatter(&mut counts);
        assert_eq!(out, [0x01, 0x02, 0x10, 0x11, 0, 0x32]);
        assert_eq!(counts, [2, 5, 5, 6]);
        // Counts that sum past the keys: the ends stop at the output.
        let mut counts = vec![9u32, 9, 9, 9];
        let out = scatter(&mut counts);
        assert_eq!(out, [0x01, 0x02, 0, 0, 0, 0]);
        assert_eq!(counts, [6, 6, 6, 6]);
    }

    #[test]
    fn buffers_are_kept_only_once_a_sort_has_used_one() {
        let kept = Kept::new(64 << 20);
        assert!(!kept.again(), "a process's first sort frees its buffers");
        kept.used();
        assert!(kept.again(), "the next one keeps them");
    }

    /// A thread's part gives back its whole pages only: the keys on pages
    /// it shares with another part are left as they were.
    #[test]
    fn a_released_part_gives_back_only_its_whole_pages() {
        let n = 4 * HUGE / 8;
        let mut scratch = Scratch::<u64>::new(n).expect("memory");
        scratch.resize(n, 7);
        let (from, to) = (1000, 300_001);
        release(&mut scratch[from..to]);
        let page = super::page_size() / 8;
        let (first, last) = (from.next_multiple_of(page), to / page * page);
        for (i, &x) in scratch.iter().enumerate() {
            let inside = (first..last).contains(&i);
            assert_eq!(x, if inside { 0 } else { 7 }, "key {i}");
        }
    }

    #[test]
    fn a_kept_buffer_serves_a_sort_that_fits_in_it_once() {
        let kept = Kept::new(64 << 20);
        let (at, layout) = buffer(4 * HUGE);
        // SAFETY: just allocated with `layout`, not used again.
        unsafe { kept.keep(at, layout) };
        let larger = Layout::from_size_align(5 * HUGE, HUGE).expect("layout");
        assert!(kept.take(larger).is_none(), "too small for 5 huge pages");
        let smaller = Layout::from_size_align(3 * HUGE, HUGE).expect("layout");
        let (again, had) = kept.take(smaller).expect("kept");
        assert_eq!((again, had), (at, layout), "the same buffer, whole");
        assert!(kept.take(smaller).is_none(), "taken once");
        // SAFETY: as above.
        unsafe { std::alloc::dealloc(again.as_ptr(), had) };
    }

    #[test]
    fn a_sort_that_finds_the_slot_held_neither_takes_nor_keeps() {
        let kept = Kept::new(64 << 20);
        let (at, layout) = buffer(2 * HUGE);
        let held = kept.buffer.lock().expect("not poisoned");
        // SAFETY: just allocated with `layout`, not used again.
        unsafe { kept.keep(at, layout) };
        assert!(kept.take(layout).is_none(), "the slot is held");
        drop(held);
        assert!(
            kept.take(layout).is_none(),
            "the buffer was freed, not kept"
        );
    }

    #[test]
    fn the_larger_of_two_buffers_is_kept_and_none_over_the_limit() {
        let kept = Kept::new(8 * HUGE);
        let (small, small_layout) = buffer(2 * HUGE);
        let (large, large_layout) = buffer(4 * HUGE);
        let (huge, huge_layout) = buffer(9 * HUGE);
        // SAFETY: each just allocated with its layout, not used again.
        unsafe {
            kept.keep(small, small_layout);
            kept.keep(large, large_layout);
            kept.keep(huge, huge_layout);
        }
        let (at, layout) = kept.take(small_layout).expect("kept");
        assert_eq!(at, large, "the larger one");
        assert!(kept.take(small_layout).is_none(), "one buffer at most");
        // SAFETY: as above.
        unsafe { std::alloc::dealloc(at.as_ptr(), layout) };
    }

    /// The kernel's flags for the mapping that holds `at`, as
    /// `/proc/self/smaps` lists them (`hg`: huge pages asked for).
    fn flags_of_mapping_at(at: usize) -> Vec<String> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ')
                && let Some((from, to)) = range.split_once('-')
                && let (Ok(from), Ok(to)) = (
                    usize::from_str_radix(from, 16),
                    usize::from_str_radix(to, 16),
                )
            {
                inside = (from..to).contains(&at);
            } else if inside && let Some(flags) = line.strip_prefix("VmFlags:") {
                return flags.split_whitespace().map(str::to_string).collect();
            }
        }
        panic!("no mapping holds {at:#x}");
    }

    #[test]
    fn the_scratch_buffer_asks_for_huge_pages_only_when_told_to() {
        let asked = std::env::var_os("WILDHOST_HUGE_PAGES").is_some_and(|v| v == "1");
        assert_eq!(super::huge_pages_asked(), asked);
        let scratch = super::Scratch::<u64>::new(4 * HUGE / 8).expect("memory");
        let flags = flags_of_mapping_at(scratch.keys.as_ptr() as usize);
        assert_eq!(flags.iter().any(|f| f == "hg"), asked, "{flags:?}");
    }
}
