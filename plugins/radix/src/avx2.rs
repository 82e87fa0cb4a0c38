//! A quicksort in AVX2 registers for 32-bit keys (`u32`, `i32`, `f32`;
//! eight lanes) and 64-bit keys (`u64`, `i64`, `f64`; four lanes), floats
//! in IEEE-754 totalOrder, for CPUs that have AVX2 but not AVX-512F: the
//! [`vector`](crate::vector) sort's design in 256-bit registers.
//!
//! - **Keys**: lanes compare as signed integers of their width: `i32` and
//!   `i64` as themselves, `u32` and `u64` with the top bit flipped, floats
//!   as the signed integer of their bits with the low bits of negative
//!   values flipped. The map is its own inverse and is applied in the
//!   registers only: what is written is always the values as they were
//!   read, every bit kept.
//! - **Partition**: around the median of a sample, in place. Each vector
//!   is compared with the pivot, and one permute from a table of lane
//!   orders puts its keys at most the pivot first and the others last;
//!   the vector is stored whole at both ends, and each side's next store
//!   overwrites the other side's keys. `UNROLL` vectors are read at a time
//!   from the side with less room, and as many are held back at each end
//!   to make that room; those, and every vector of a part too small to
//!   hold any back, are partitioned into a buffer on the stack and copied.
//!   No masked store anywhere: AMD's CPUs run them as microcode.
//! - **Small parts** (at most eight vectors: 64 or 32 keys): eight
//!   vectors, padded with the largest key; an optimal sorting network down
//!   the columns, the columns merged where they stand, and a transpose.
//!   AVX2 has no 64-bit minimum or maximum: a compare and two blends make
//!   them.
//! - **Equal keys** and **depth** as in the AVX-512 sort.

use std::arch::x86_64::*;

/// Proof that the CPU has AVX2 (and POPCNT): made only by
/// [`Avx2::detect`], so a safe function that takes one may run AVX2
/// instructions.
#[derive(Clone, Copy, Debug)]
pub struct Avx2(());

impl Avx2 {
    /// The token, if this CPU has AVX2 and POPCNT.
    #[inline]
    pub fn detect() -> Option<Avx2> {
        let has = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("popcnt");
        has.then_some(Avx2(()))
    }
}

/// Vectors in the network that sorts a small part.
const V: usize = 8;

/// Vectors read in a row from one side, and held back at each end.
const UNROLL: usize = 8;

/// A key type of the sort: how its values map to signed keys, the vector
/// operations being those of its lane width.
///
/// Sealed: the sort's `unsafe` code reads and writes the slice as
/// integers of the key's width, which needs types of that size every bit
/// pattern of which is a value, and relies on `keys` giving back the bits
/// it was given: only the six key types implement it.
pub trait Lane: sealed::Sealed + Copy + std::fmt::Debug + 'static {
    /// The lane width: [`W32`] or [`W64`].
    type W: Width;
    /// The ordered key of a value.
    fn key(self) -> Key<Self>;
    /// The keys of a vector of values, or the values of a vector of keys.
    fn keys(t: Avx2, v: __m256i) -> __m256i;
}

/// The signed integer that the lanes of key type `K` compare as.
pub type Key<K> = <<K as Lane>::W as Width>::Key;

/// The vector operations of one lane width, on keys.
pub trait Width: sealed::Sealed + 'static {
    /// The signed integer the lanes compare as (`i32` or `i64`).
    type Key: Ord + Copy + std::fmt::Debug;
    /// Keys in one vector.
    const N: usize;
    /// The largest key: the padding of a small part.
    const MAX: Self::Key;
    /// Log2 of the key's width in 32-bit lanes: lane `i` is 32-bit lanes
    /// `i << SHIFT ..`.
    const SHIFT: usize;
    /// The key just below `k`, if there is one.
    fn below(k: Self::Key) -> Option<Self::Key>;
    /// `k` in every lane.
    fn splat(t: Avx2, k: Self::Key) -> __m256i;
    /// The lanes of `keys` above the keys of `pivot`, as a bit mask.
    fn above(t: Avx2, keys: __m256i, pivot: __m256i) -> usize;
    /// The permute (of 32-bit lanes) that puts the lanes in `mask` first
    /// and the others last, each in their order.
    fn order(t: Avx2, mask: usize) -> __m256i;
    /// Lane by lane, the smaller and the larger key.
    fn min_max(t: Avx2, a: __m256i, b: __m256i) -> (__m256i, __m256i);
    /// Reads lanes `0..valid` (`valid <= N`) of `p`; the others are zero.
    /// Also returns the mask of the lanes read.
    ///
    /// # Safety
    /// `p..p + valid` is inside one allocation, readable.
    unsafe fn load_first(t: Avx2, p: *const Self::Key, valid: usize) -> (__m256i, __m256i);
    /// The eight vectors of a sorted network, each lane a run of eight
    /// keys, in the order of their keys: lane `j` of vector `i` goes to
    /// place `j * 8 + i`.
    fn transpose(t: Avx2, vs: &mut [__m256i; V]);
    /// Merges the sorted columns of `vs` into one sorted run down the
    /// lanes (one merge level for each run length of lanes).
    fn merge_columns(t: Avx2, vs: &mut [__m256i; V]);
}

/// Eight 32-bit lanes a vector.
#[derive(Debug)]
pub struct W32;

/// Four 64-bit lanes a vector.
#[derive(Debug)]
pub struct W64;

mod sealed {
    /// Implemented by the six key types and the two widths only.
    pub trait Sealed {}
    impl Sealed for u32 {}
    impl Sealed for i32 {}
    impl Sealed for f32 {}
    impl Sealed for u64 {}
    impl Sealed for i64 {}
    impl Sealed for f64 {}
    impl Sealed for super::W32 {}
    impl Sealed for super::W64 {}
}

/// Eight lanes set, then eight clear: the vector of 8 from `8 - k` on has
/// lanes `0..k` set.
static FIRST32: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// Four 64-bit lanes set, then four clear, as [`FIRST32`].
static FIRST64: [i64; 8] = [-1, -1, -1, -1, 0, 0, 0, 0];

// SAFETY (every `unsafe` block of the two impls): the `Avx2` token exists
// only on a CPU with AVX2, which is all these instructions need.
impl Width for W32 {
    type Key = i32;
    const N: usize = 8;
    const MAX: i32 = i32::MAX;
    const SHIFT: usize = 0;
    #[inline(always)]
    fn below(k: i32) -> Option<i32> {
        k.checked_sub(1)
    }
    #[inline(always)]
    fn splat(_: Avx2, k: i32) -> __m256i {
        // SAFETY: see above.
        unsafe { _mm256_set1_epi32(k) }
    }
    #[inline(always)]
    fn above(_: Avx2, keys: __m256i, pivot: __m256i) -> usize {
        // SAFETY: see above.
        unsafe {
            let gt = _mm256_cmpgt_epi32(keys, pivot);
            _mm256_movemask_ps(_mm256_castsi256_ps(gt)) as usize
        }
    }
    #[inline(always)]
    fn order(_: Avx2, mask: usize) -> __m256i {
        // SAFETY: see above; a row of the table is one vector of lane
        // indexes.
        unsafe { _mm256_loadu_si256(crate::lanes::SPLIT8_32[mask & 0xff].as_ptr().cast()) }
    }
    #[inline(always)]
    fn min_max(_: Avx2, a: __m256i, b: __m256i) -> (__m256i, __m256i) {
        // SAFETY: see above.
        unsafe { (_mm256_min_epi32(a, b), _mm256_max_epi32(a, b)) }
    }
    #[inline(always)]
    unsafe fn load_first(_: Avx2, p: *const i32, valid: usize) -> (__m256i, __m256i) {
        debug_assert!(valid <= 8);
        // SAFETY: see above; `8 - valid <= 8` keeps the read of 8 inside
        // `FIRST32`; the mask reads `p..p + valid`, which the caller
        // vouches for.
        unsafe {
            let m = _mm256_loadu_si256(FIRST32.as_ptr().add(8 - valid).cast());
            (_mm256_maskload_epi32(p, m), m)
        }
    }
    #[inline(always)]
    fn transpose(t: Avx2, vs: &mut [__m256i; V]) {
        transpose8x8(t, vs);
    }
    #[inline(always)]
    fn merge_columns(t: Avx2, vs: &mut [__m256i; V]) {
        merge_level::<Self, 0>(t, vs);
        merge_level::<Self, 1>(t, vs);
        merge_level::<Self, 2>(t, vs);
    }
}

impl Width for W64 {
    type Key = i64;
    const N: usize = 4;
    const MAX: i64 = i64::MAX;
    const SHIFT: usize = 1;
    #[inline(always)]
    fn below(k: i64) -> Option<i64> {
        k.checked_sub(1)
    }
    #[inline(always)]
    fn splat(_: Avx2, k: i64) -> __m256i {
        // SAFETY: see above.
        unsafe { _mm256_set1_epi64x(k) }
    }
    #[inline(always)]
    fn above(_: Avx2, keys: __m256i, pivot: __m256i) -> usize {
        // SAFETY: see above.
        unsafe {
            let gt = _mm256_cmpgt_epi64(keys, pivot);
            _mm256_movemask_pd(_mm256_castsi256_pd(gt)) as usize
        }
    }
    #[inline(always)]
    fn order(_: Avx2, mask: usize) -> __m256i {
        // SAFETY: see above; a row of the table is one vector of lane
        // indexes.
        unsafe { _mm256_loadu_si256(crate::lanes::SPLIT4_64[mask & 0xf].as_ptr().cast()) }
    }
    #[inline(always)]
    fn min_max(_: Avx2, a: __m256i, b: __m256i) -> (__m256i, __m256i) {
        // SAFETY: see above. AVX2 has no 64-bit minimum or maximum: a
        // compare and two blends.
        unsafe {
            let gt = _mm256_cmpgt_epi64(a, b);
            (_mm256_blendv_epi8(a, b, gt), _mm256_blendv_epi8(b, a, gt))
        }
    }
    #[inline(always)]
    unsafe fn load_first(_: Avx2, p: *const i64, valid: usize) -> (__m256i, __m256i) {
        debug_assert!(valid <= 4);
        // SAFETY: as for `W32`, in `FIRST64`.
        unsafe {
            let m = _mm256_loadu_si256(FIRST64.as_ptr().add(4 - valid).cast());
            (_mm256_maskload_epi64(p, m), m)
        }
    }
    #[inline(always)]
    fn transpose(t: Avx2, vs: &mut [__m256i; V]) {
        transpose8x4(t, vs);
    }
    #[inline(always)]
    fn merge_columns(t: Avx2, vs: &mut [__m256i; V]) {
        merge_level::<Self, 0>(t, vs);
        merge_level::<Self, 1>(t, vs);
    }
}

/// A key type's impl: its width, and its map to keys in a register
/// (`|t, v| ...`) and out of one (`|x| ...`).
macro_rules! lane {
    ($t:ty, $w:ty, |$tok:ident, $v:ident| $keys:expr, |$x:ident| $key:expr) => {
        impl Lane for $t {
            type W = $w;
            #[inline(always)]
            fn key(self) -> Key<Self> {
                let $x = self;
                $key
            }
            #[inline(always)]
            fn keys($tok: Avx2, $v: __m256i) -> __m256i {
                let _ = $tok;
                $keys
            }
        }
    };
}

lane!(
    u32,
    W32,
    |t, v| {
        // SAFETY: the token says the CPU has AVX2.
        unsafe { _mm256_xor_si256(v, _mm256_set1_epi32(i32::MIN)) }
    },
    |x| (x ^ 0x8000_0000).cast_signed()
);
lane!(i32, W32, |t, v| v, |x| x);
lane!(
    f32,
    W32,
    |t, v| {
        // SAFETY: the token says the CPU has AVX2.
        unsafe { _mm256_xor_si256(v, _mm256_srli_epi32::<1>(_mm256_srai_epi32::<31>(v))) }
    },
    |x| {
        let b = x.to_bits().cast_signed();
        b ^ ((b >> 31).cast_unsigned() >> 1).cast_signed()
    }
);
lane!(
    u64,
    W64,
    |t, v| {
        // SAFETY: the token says the CPU has AVX2.
        unsafe { _mm256_xor_si256(v, _mm256_set1_epi64x(i64::MIN)) }
    },
    |x| (x ^ 0x8000_0000_0000_0000).cast_signed()
);
lane!(i64, W64, |t, v| v, |x| x);
// No 64-bit arithmetic shift in AVX2: the compare with zero gives the
// sign in every bit.
lane!(
    f64,
    W64,
    |t, v| {
        // SAFETY: the token says the CPU has AVX2.
        unsafe {
            let sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), v);
            _mm256_xor_si256(v, _mm256_srli_epi64::<1>(sign))
        }
    },
    |x| {
        let b = x.to_bits().cast_signed();
        b ^ ((b >> 63).cast_unsigned() >> 1).cast_signed()
    }
);

/// Sorts `v` in place and returns true if this CPU has AVX2, else returns
/// false and leaves `v` as it is.
#[inline]
pub fn sorted<K: Lane>(v: &mut [K]) -> bool {
    let Some(t) = Avx2::detect() else {
        return false;
    };
    sort(t, v);
    true
}

/// Sorts `v` in place, with the quicksort described in the module's
/// documentation.
pub fn sort<K: Lane>(t: Avx2, v: &mut [K]) {
    // SAFETY: the token exists only on a CPU with AVX2 and POPCNT.
    unsafe { sort_in_registers(t, v) }
}

/// Cuts `v` into `parts` consecutive slices of about equal length, each
/// holding no key above any key of the next, for `parts` threads to sort
/// one each with [`sort`]: as the AVX-512 sort's
/// [`split`](crate::vector::split), pivots from a sorted sample and one
/// partition pass per cut; fewer parts (at least one) where `v` has fewer
/// than `2 * UNROLL * N` keys for each.
pub fn split<K: Lane>(t: Avx2, v: &mut [K], parts: usize) -> Vec<&mut [K]> {
    // SAFETY: the token exists only on a CPU with AVX2 and POPCNT.
    let partition = |v: &mut [K], pivot| unsafe { partition(t, v, pivot) };
    crate::lanes::split(v, parts, 2 * UNROLL * K::W::N, |x| x.key(), &partition)
}

/// [`sort`], compiled for AVX2.
#[target_feature(enable = "avx2,popcnt")]
fn sort_in_registers<K: Lane>(t: Avx2, v: &mut [K]) {
    let depth = 2 * (usize::BITS - v.len().leading_zeros());
    quicksort(t, v, depth);
}

/// The quicksort loop: recurses into the smaller side, loops on the larger.
#[target_feature(enable = "avx2,popcnt")]
fn quicksort<K: Lane>(t: Avx2, mut v: &mut [K], mut depth: u32) {
    loop {
        if v.len() <= V * K::W::N {
            small(t, v);
            return;
        }
        if depth == 0 {
            v.sort_unstable_by_key(|x| x.key());
            return;
        }
        depth -= 1;
        let pivot = pivot(v);
        let mut k = partition(t, v, pivot);
        if k == v.len() {
            // Nothing above the pivot: split off the keys below it; the
            // rest equal it.
            let Some(below) = K::W::below(pivot) else {
                return;
            };
            k = partition(t, v, below);
            v = &mut v[..k];
            continue;
        }
        let (lo, hi) = v.split_at_mut(k);
        if lo.len() < hi.len() {
            quicksort(t, lo, depth);
            v = hi;
        } else {
            quicksort(t, hi, depth);
            v = lo;
        }
    }
}

/// The pivot: the median of three medians of three keys spread evenly
/// over `v` (`v.len() > 9`), without a branch, or, above 16K keys, the
/// median of 32 sorted keys.
fn pivot<K: Lane>(v: &[K]) -> Key<K> {
    let n = v.len();
    if n > 1 << 14 {
        let step = n / 32;
        let mut a = [v[0].key(); 32];
        for (i, x) in a.iter_mut().enumerate() {
            *x = v[i * step + step / 2].key();
        }
        a.sort_unstable();
        return a[16];
    }
    let step = n / 9;
    let at = |i: usize| v[i * step + step / 2].key();
    let median3 = |a: Key<K>, b: Key<K>, c: Key<K>| a.min(b).max(a.max(b).min(c));
    median3(
        median3(at(0), at(1), at(2)),
        median3(at(3), at(4), at(5)),
        median3(at(6), at(7), at(8)),
    )
}

/// Writes lanes `0..valid` of `x` to both sides of a partition: the keys
/// at most the pivot (`pk` in every lane) to `wl..`, which advances, the
/// others to `..wr`, which retreats. One permute puts the first group's
/// keys first and the second group's last, the lanes past `valid` between
/// them, and the vector is stored whole at both ends: each side's next
/// store overwrites the other side's keys. (Masked stores would write
/// exactly the lanes wanted, but AMD's CPUs run them as microcode: a
/// partition's last vectors through them took a third of its time there.)
///
/// # Safety
/// `wl..wl + N` and `wr - N..wr` are free slots of the memory `p` points
/// into (they may overlap), and `wr - wl >= N + valid`: neither store
/// then reaches the keys the other one places.
#[inline(always)]
unsafe fn put<K: Lane>(
    t: Avx2,
    p: *mut Key<K>,
    x: __m256i,
    valid: usize,
    pk: __m256i,
    wl: &mut usize,
    wr: &mut usize,
) {
    let n = K::W::N;
    debug_assert!(valid <= n && *wl + n + valid <= *wr);
    let all = (1 << n) - 1;
    let lanes = (1 << valid) - 1;
    let lo = !K::W::above(t, K::keys(t, x), pk) & lanes;
    let nlo = lo.count_ones() as usize;
    // SAFETY: the token says the CPU has AVX2.
    let y = unsafe { _mm256_permutevar8x32_epi32(x, K::W::order(t, lo | (!lanes & all))) };
    // SAFETY: the caller's free slots; the left store's keys end at
    // `wl + nlo <= wr - N`, where the right store begins, and the right
    // store's keys begin at `wr - (valid - nlo) >= wl + N`, where the left
    // store ends.
    unsafe {
        _mm256_storeu_si256(p.add(*wl).cast(), y);
        _mm256_storeu_si256(p.add(*wr - n).cast(), y);
    }
    *wl += nlo;
    *wr -= valid - nlo;
}

/// Vectors in [`partition_into`]'s buffer: `2 * UNROLL` of them and the
/// one vector of room the stores of [`put`] need.
const BUFFER: usize = 2 * UNROLL + 1;

/// Partitions the `len` keys of `xs` (`valid` lanes each, in order) into
/// `p[..len]`, through a buffer: [`put`] needs a vector of room that
/// `p[..len]` does not have. Returns how many are at most the pivot.
///
/// # Safety
/// `p..p + len` are free slots, `len` is the sum of the valid lanes and at
/// most `2 * UNROLL * N`.
#[inline(always)]
unsafe fn partition_into<K: Lane>(
    t: Avx2,
    p: *mut Key<K>,
    len: usize,
    xs: impl Iterator<Item = (__m256i, usize)>,
    pk: __m256i,
) -> usize {
    let n = K::W::N;
    debug_assert!(len + n <= BUFFER * n);
    let mut buf = std::mem::MaybeUninit::<[__m256i; BUFFER]>::uninit();
    let b = buf.as_mut_ptr().cast::<Key<K>>();
    let (mut wl, mut wr) = (0, len + n);
    for (x, valid) in xs {
        // SAFETY: `wr <= len + N <= BUFFER * N` keys and `wr - wl` is `N`
        // more than the keys left to write, `valid` of them among these.
        unsafe { put::<K>(t, b, x, valid, pk, &mut wl, &mut wr) };
    }
    debug_assert_eq!(wr - wl, n);
    // SAFETY: `b[..wl]` and `b[wr..len + N]` were written, `len` keys in
    // all, which go to the caller's `len` free slots.
    unsafe {
        std::ptr::copy_nonoverlapping(b, p, wl);
        std::ptr::copy_nonoverlapping(b.add(wr), p.add(wl), len + n - wr);
    }
    wl
}

/// Splits `v` in place into the keys at most `pivot`, first, and the keys
/// above it; returns how many are at most.
#[target_feature(enable = "avx2,popcnt")]
fn partition<K: Lane>(t: Avx2, v: &mut [K], pivot: Key<K>) -> usize {
    let (n, lanes) = (v.len(), K::W::N);
    let block = UNROLL * lanes;
    let p = v.as_mut_ptr().cast::<Key<K>>();
    let pk = K::W::splat(t, pivot);
    if n < 2 * block {
        // Too few keys to hold a block back at each end: every vector is
        // read before the first is written back.
        let xs = (0..n).step_by(lanes).map(|at| {
            let valid = lanes.min(n - at);
            // SAFETY: `at..at + valid` is inside `v`.
            let (x, _) = unsafe { K::W::load_first(t, p.add(at), valid) };
            (x, valid)
        });
        // SAFETY: `n < 2 * block` keys, `valid` lanes of each vector.
        return unsafe { partition_into::<K>(t, p, n, xs, pk) };
    }
    // The keys in `l..r` are unread; `0..wl` holds keys at most the pivot,
    // `wr..n` keys above it; `wl..l` and `r..wr` are free, and together
    // `2 * block` long before each read.
    let mut held = [pk; 2 * UNROLL];
    for (i, x) in held.iter_mut().enumerate() {
        let at = if i < UNROLL {
            i * lanes
        } else {
            n - 2 * block + i * lanes
        };
        // SAFETY: `n >= 2 * block`: the first and the last `block` keys
        // are inside `v`.
        *x = unsafe { _mm256_loadu_si256(p.add(at).cast()) };
    }
    let (mut l, mut r, mut wl, mut wr) = (block, n - block, 0, n);
    // Single vectors from the left first, a part one among them, so that
    // whole blocks remain.
    let rest = (r - l) % block;
    let part = rest % lanes;
    if part != 0 {
        // SAFETY: `l + part <= r`: unread keys inside `v`.
        let (x, _) = unsafe { K::W::load_first(t, p.add(l), part) };
        l += part;
        // SAFETY: `block` free slots at each end.
        unsafe { put::<K>(t, p, x, part, pk, &mut wl, &mut wr) };
    }
    for _ in 0..rest / lanes {
        // SAFETY: `l + N <= r`: unread keys inside `v`.
        let x = unsafe { _mm256_loadu_si256(p.add(l).cast()) };
        l += lanes;
        // SAFETY: apart (`wr - wl` is at least the `2 * block` free
        // slots), and each side keeps `N` free slots: fewer than `block`
        // keys are written here.
        unsafe { put::<K>(t, p, x, lanes, pk, &mut wl, &mut wr) };
    }
    while l < r {
        // Read a block where less room is left: afterwards both sides
        // have at least `block` free slots for its writes. Without a
        // branch: which side is read depends on the keys.
        let left = usize::from(l - wl <= wr - r);
        let at = left * l + (1 - left) * (r - block);
        l += left * block;
        r -= (1 - left) * block;
        // The blocks four reads ahead on each side, for the cache (one
        // prefetch a 64-byte line); the addresses may lie outside `v`: a
        // prefetch never faults.
        for i in (0..block).step_by(2 * lanes) {
            let ahead = p.wrapping_add(l + 4 * block + i);
            let back = p.wrapping_add(r.wrapping_sub(5 * block).wrapping_add(i));
            _mm_prefetch::<_MM_HINT_T0>(ahead.cast());
            _mm_prefetch::<_MM_HINT_T0>(back.cast());
        }
        let mut xs = [pk; UNROLL];
        for (i, x) in xs.iter_mut().enumerate() {
            // SAFETY: `at..at + block` was unread, inside `v`.
            *x = unsafe { _mm256_loadu_si256(p.add(at + i * lanes).cast()) };
        }
        for x in xs {
            // SAFETY: apart: `2 * block` free slots, at most `block` of
            // them written by these stores.
            unsafe { put::<K>(t, p, x, lanes, pk, &mut wl, &mut wr) };
        }
    }
    // The vectors held back fill `wl..wr` exactly.
    debug_assert_eq!(wr - wl, 2 * block);
    // SAFETY: `wl..wr` is free, `2 * block` slots.
    wl + unsafe {
        partition_into::<K>(
            t,
            p.add(wl),
            2 * block,
            held.map(|x| (x, lanes)).into_iter(),
            pk,
        )
    }
}

/// Sorts `v` (at most `V * N` keys) in registers.
#[target_feature(enable = "avx2,popcnt")]
fn small<K: Lane>(t: Avx2, v: &mut [K]) {
    let (n, lanes) = (v.len(), K::W::N);
    debug_assert!(n <= V * lanes);
    let p = v.as_mut_ptr().cast::<Key<K>>();
    let pad = K::W::splat(t, K::W::MAX);
    let mut vs = [pad; V];
    for (i, x) in vs.iter_mut().enumerate() {
        let at = i * lanes;
        if at + lanes <= n {
            // SAFETY: `at + N <= n`: inside `v`.
            *x = K::keys(t, unsafe { _mm256_loadu_si256(p.add(at).cast()) });
        } else if at < n {
            // SAFETY: `at..n` is inside `v`.
            let (x0, m) = unsafe { K::W::load_first(t, p.add(at), n - at) };
            *x = _mm256_blendv_epi8(pad, K::keys(t, x0), m);
        }
    }
    columns::<K::W>(t, &mut vs);
    K::W::merge_columns(t, &mut vs);
    K::W::transpose(t, &mut vs);
    for (i, x) in vs.iter().enumerate() {
        let at = i * lanes;
        let x = K::keys(t, *x);
        if at + lanes <= n {
            // SAFETY: as for the load.
            unsafe { _mm256_storeu_si256(p.add(at).cast(), x) };
        } else if at < n {
            // Through a copy: a masked store is microcode on AMD's CPUs.
            let mut last = std::mem::MaybeUninit::<__m256i>::uninit();
            // SAFETY: `last` holds one vector, `n - at < N` keys of it
            // copied; `at..n` is inside `v`.
            unsafe {
                _mm256_storeu_si256(last.as_mut_ptr(), x);
                std::ptr::copy_nonoverlapping(last.as_ptr().cast(), p.add(at), n - at);
            }
        }
    }
}

/// Vector `a` keeps the smaller key of each lane, vector `b` the larger.
#[inline(always)]
fn exchange<W: Width>(t: Avx2, vs: &mut [__m256i; V], a: usize, b: usize) {
    (vs[a], vs[b]) = W::min_max(t, vs[a], vs[b]);
}

/// Sorts each lane's keys down the 8 vectors: 19 compare-exchanges in 6
/// layers.
#[inline(always)]
fn columns<W: Width>(t: Avx2, vs: &mut [__m256i; V]) {
    // One statement each, so that every vector index is a constant.
    macro_rules! exchanges {
        ($(($a:literal, $b:literal)),*) => {
            $(exchange::<W>(t, vs, $a, $b);)*
        };
    }
    exchanges!(
        (0, 2),
        (1, 3),
        (4, 6),
        (5, 7),
        (0, 4),
        (1, 5),
        (2, 6),
        (3, 7),
        (0, 1),
        (2, 3),
        (4, 5),
        (6, 7),
        (2, 4),
        (3, 5),
        (1, 4),
        (3, 6),
        (1, 2),
        (3, 4),
        (5, 6)
    );
}

/// Lanes with bit `L` set take the larger key of each pair, the others
/// the smaller: `a` with `b`, where `b` holds each lane's partner.
#[inline(always)]
fn meet<W: Width, const L: usize>(t: Avx2, a: __m256i, b: __m256i) -> __m256i {
    let (lo, hi) = W::min_max(t, a, b);
    // SAFETY: the token says the CPU has AVX2.
    unsafe {
        // Bit `L` of a key's lane is bit `L + SHIFT` of its 32-bit lanes.
        match L + W::SHIFT {
            0 => _mm256_blend_epi32::<0xAA>(lo, hi),
            1 => _mm256_blend_epi32::<0xCC>(lo, hi),
            _ => _mm256_blend_epi32::<0xF0>(lo, hi),
        }
    }
}

/// The permute (of 32-bit lanes) taking the key in lane `i` to lane
/// `i ^ m`.
#[inline(always)]
fn xor_lanes<W: Width>(_: Avx2, m: i32) -> __m256i {
    // SAFETY: the token says the CPU has AVX2.
    unsafe {
        _mm256_xor_si256(
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            _mm256_set1_epi32(m << W::SHIFT),
        )
    }
}

/// One level of merging the sorted columns where they stand (key `i` of
/// lane `j` is number `j * 8 + i`): runs of `2^L` lanes merged in pairs,
/// as in the AVX-512 sort's `column_level`.
#[inline(always)]
fn merge_level<W: Width, const L: usize>(t: Avx2, vs: &mut [__m256i; V]) {
    let mirror = xor_lanes::<W>(t, (2 << L) - 1);
    for i in 0..V / 2 {
        let j = V - 1 - i;
        let (a, b) = (vs[i], vs[j]);
        // SAFETY: the token says the CPU has AVX2.
        let (ra, rb) = unsafe {
            (
                _mm256_permutevar8x32_epi32(a, mirror),
                _mm256_permutevar8x32_epi32(b, mirror),
            )
        };
        vs[i] = meet::<W, L>(t, a, rb);
        vs[j] = meet::<W, L>(t, b, ra);
    }
    if L >= 2 {
        half_clean_lanes::<W, 1>(t, vs);
    }
    if L >= 1 {
        half_clean_lanes::<W, 0>(t, vs);
    }
    half_clean_vectors::<W, 4>(t, vs);
    half_clean_vectors::<W, 2>(t, vs);
    half_clean_vectors::<W, 1>(t, vs);
}

/// Vectors `D` apart compare-exchanged, lane by lane.
#[inline(always)]
fn half_clean_vectors<W: Width, const D: usize>(t: Avx2, vs: &mut [__m256i; V]) {
    for i in 0..V {
        if i & D == 0 {
            exchange::<W>(t, vs, i, i + D);
        }
    }
}

/// Every vector's lanes `2^S` apart compare-exchanged.
#[inline(always)]
fn half_clean_lanes<W: Width, const S: usize>(t: Avx2, vs: &mut [__m256i; V]) {
    let swap = xor_lanes::<W>(t, 1 << S);
    for v in vs.iter_mut() {
        // SAFETY: the token says the CPU has AVX2.
        let q = unsafe { _mm256_permutevar8x32_epi32(*v, swap) };
        *v = meet::<W, S>(t, *v, q);
    }
}

/// Transposes the 8 × 8 keys of 32 bits: lane `j` of vector `i` goes to
/// lane `i` of vector `j`.
#[inline(always)]
fn transpose8x8(_: Avx2, vs: &mut [__m256i; V]) {
    // SAFETY: the token says the CPU has AVX2.
    unsafe {
        let t0 = _mm256_unpacklo_epi32(vs[0], vs[1]);
        let t1 = _mm256_unpackhi_epi32(vs[0], vs[1]);
        let t2 = _mm256_unpacklo_epi32(vs[2], vs[3]);
        let t3 = _mm256_unpackhi_epi32(vs[2], vs[3]);
        let t4 = _mm256_unpacklo_epi32(vs[4], vs[5]);
        let t5 = _mm256_unpackhi_epi32(vs[4], vs[5]);
        let t6 = _mm256_unpacklo_epi32(vs[6], vs[7]);
        let t7 = _mm256_unpackhi_epi32(vs[6], vs[7]);
        let u0 = _mm256_unpacklo_epi64(t0, t2);
        let u1 = _mm256_unpackhi_epi64(t0, t2);
        let u2 = _mm256_unpacklo_epi64(t1, t3);
        let u3 = _mm256_unpackhi_epi64(t1, t3);
        let u4 = _mm256_unpacklo_epi64(t4, t6);
        let u5 = _mm256_unpackhi_epi64(t4, t6);
        let u6 = _mm256_unpacklo_epi64(t5, t7);
        let u7 = _mm256_unpackhi_epi64(t5, t7);
        vs[0] = _mm256_permute2x128_si256::<0x20>(u0, u4);
        vs[1] = _mm256_permute2x128_si256::<0x20>(u1, u5);
        vs[2] = _mm256_permute2x128_si256::<0x20>(u2, u6);
        vs[3] = _mm256_permute2x128_si256::<0x20>(u3, u7);
        vs[4] = _mm256_permute2x128_si256::<0x31>(u0, u4);
        vs[5] = _mm256_permute2x128_si256::<0x31>(u1, u5);
        vs[6] = _mm256_permute2x128_si256::<0x31>(u2, u6);
        vs[7] = _mm256_permute2x128_si256::<0x31>(u3, u7);
    }
}

/// Puts the 8 × 4 keys of 64 bits in the order of their places: lane `j`
/// of vector `i` goes to place `j * 8 + i`, that is to lane `i % 4` of
/// vector `2 * j + i / 4`. Each half of the vectors is a 4 × 4
/// transpose, and its rows alternate with the other half's.
#[inline(always)]
fn transpose8x4(t: Avx2, vs: &mut [__m256i; V]) {
    let a = transpose4x4(t, vs[0], vs[1], vs[2], vs[3]);
    let b = transpose4x4(t, vs[4], vs[5], vs[6], vs[7]);
    for j in 0..4 {
        vs[2 * j] = a[j];
        vs[2 * j + 1] = b[j];
    }
}

/// Transposes 4 × 4 keys of 64 bits: lane `j` of `[a, b, c, d][i]` goes to
/// lane `i` of vector `j`. (A function that is always inlined, not a
/// closure: a closure outside a function compiled for AVX2 would call
/// each intrinsic out of line.)
#[inline(always)]
fn transpose4x4(_: Avx2, a: __m256i, b: __m256i, c: __m256i, d: __m256i) -> [__m256i; 4] {
    // SAFETY: the token says the CPU has AVX2.
    unsafe {
        let t0 = _mm256_unpacklo_epi64(a, b);
        let t1 = _mm256_unpackhi_epi64(a, b);
        let t2 = _mm256_unpacklo_epi64(c, d);
        let t3 = _mm256_unpackhi_epi64(c, d);
        [
            _mm256_permute2x128_si256::<0x20>(t0, t2),
            _mm256_permute2x128_si256::<0x20>(t1, t3),
            _mm256_permute2x128_si256::<0x31>(t0, t2),
            _mm256_permute2x128_si256::<0x31>(t1, t3),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lanes::testing::{assert_sorts_as, words};

    /// The token. A test forced to run (`--ignored`) on a CPU without
    /// AVX2 fails here, saying why, rather than passing untested.
    fn token() -> Avx2 {
        Avx2::detect().expect("this CPU has no AVX2: the AVX2 sort cannot run here")
    }

    /// Lengths around every size the network and the partition handle
    /// differently, and a few large ones.
    fn lengths() -> impl Iterator<Item = usize> {
        (0..300).chain([511, 4097, 65_537, 300_000])
    }

    /// Sorts `v` and compares it, bit for bit, with `sort_by_key`.
    fn check<K: Lane>(t: Avx2, mut v: Vec<K>, what: &str) {
        let mut want = v.clone();
        want.sort_by_key(|x| x.key());
        sort(t, &mut v);
        let same = v.iter().zip(&want).all(|(a, b)| a.key() == b.key());
        assert!(same, "{} {what} sorted differently", v.len());
    }

    /// Splits `v` into `parts` and checks the count of the parts, their
    /// order, and that sorting each sorts the whole.
    fn check_split<K: Lane + Ord>(t: Avx2, mut v: Vec<K>, parts: usize, what: &str) {
        let n = v.len();
        let mut want = v.clone();
        want.sort_unstable();
        let cut = split(t, &mut v, parts);
        let most = n / (2 * UNROLL * K::W::N);
        assert_eq!(cut.len(), parts.min(most).max(1), "{what}");
        for pair in cut.windows(2) {
            if let (Some(b), Some(a)) = (pair[0].iter().max(), pair[1].iter().min()) {
                assert!(b <= a, "{what}");
            }
        }
        for part in cut {
            sort(t, part);
        }
        assert_eq!(v, want, "{what}");
    }

    #[test]
    #[cfg_attr(not(avx2_here), ignore = "this CPU has no AVX2")]
    fn splits_into_ordered_parts_that_sort_into_the_whole() {
        let t = token();
        for parts in [0, 1, 2, 3, 8, usize::MAX] {
            for modulo in [1, 2, 1000, 1 << 32, u64::MAX] {
                for n in [0, 63, 64, 65, 100, 127, 128, 255, 256, 10_000, 100_001] {
                    let w = words(n, (n as u64).wrapping_add(parts as u64), modulo);
                    let what = format!("{n} keys, {parts} parts, % {modulo}");
                    // Signed, both sides of zero: the order of the keys.
                    let v32 = w.iter().map(|&x| x as u32 as i32).collect();
                    check_split::<i32>(t, v32, parts, &format!("i32: {what}"));
                    let v64 = w.iter().map(|&x| x as i64).collect();
                    check_split::<i64>(t, v64, parts, &format!("i64: {what}"));
                }
            }
        }
    }

    #[test]
    #[cfg_attr(not(avx2_here), ignore = "this CPU has no AVX2")]
    fn sorts_64_bit_integers_of_every_length_and_spread() {
        let t = token();
        for n in lengths() {
            for modulo in [1, 2, 3, 100, 1 << 32, u64::MAX] {
                let w = words(n, n as u64 + 5, modulo);
                check(t, w.clone(), "u64");
                check(
                    t,
                    w.iter().map(|&x| x.wrapping_sub(50) as i64).collect(),
                    "i64",
                );
                // Both ends of the range, and keys that differ in the
                // high half only.
                check(
                    t,
                    w.iter().map(|&x| u64::MAX - x % 3).collect(),
                    "u64 at MAX",
                );
                check(
                    t,
                    w.iter().map(|&x| i64::MIN + (x % 3) as i64).collect(),
                    "i64 at MIN",
                );
                check(t, w.iter().map(|&x| x << 32).collect(), "u64 high half");
            }
        }
    }

    #[test]
    #[cfg_attr(not(avx2_here), ignore = "this CPU has no AVX2")]
    fn sorts_doubles_in_total_order_keeping_their_bits() {
        let t = token();
        let special = crate::lanes::testing::SPECIAL_F64;
        for n in lengths() {
            let w = words(n, n as u64 + 3, u64::MAX);
            for every in [2, 500] {
                let v: Vec<f64> = w
                    .iter()
                    .map(|&x| {
                        if x % every == 0 {
                            special[(x >> 20) as usize % special.len()]
                        } else {
                            f64::from_bits(x.rotate_right(1))
                        }
                    })
                    .collect();
                assert_sorts_as(
                    &v,
                    |v| sort(t, v),
                    f64::total_cmp,
                    |x| x.to_bits(),
                    &format!("{n} f64s, a special in {every}"),
                );
            }
        }
    }

    #[test]
    #[cfg_attr(not(avx2_here), ignore = "this CPU has no AVX2")]
    fn sorts_integers_of_every_length_and_spread() {
        let t = token();
        for n in lengths() {
            for modulo in [1, 2, 3, 100, 1 << 32] {
                let w = words(n, n as u64 + 7, modulo);
                check(t, w.iter().map(|&x| x as u32).collect(), "u32");
                check(
                    t,
                    w.iter()
                        .map(|&x| (x as u32).wrapping_sub(50) as i32)
                        .collect(),
                    "i32",
                );
                // Both ends of the range.
                check(
                    t,
                    w.iter().map(|&x| u32::MAX - (x % 3) as u32).collect(),
                    "u32 at MAX",
                );
                check(
                    t,
                    w.iter().map(|&x| i32::MIN + (x % 3) as i32).collect(),
                    "i32 at MIN",
                );
            }
        }
    }

    #[test]
    #[cfg_attr(not(avx2_here), ignore = "this CPU has no AVX2")]
    fn sorts_floats_in_total_order_keeping_their_bits() {
        let t = token();
        let special = [
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            -f32::NAN,
            f32::from_bits(0x7f80_0001),
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            f32::MAX,
            f32::MIN,
            1.5,
            -1.5,
        ];
        for n in lengths() {
            let w = words(n, n as u64 + 3, u64::MAX);
            for every in [2, 500] {
                let v: Vec<f32> = w
                    .iter()
                    .map(|&x| {
                        if x % every == 0 {
                            special[(x >> 20) as usize % special.len()]
                        } else {
                            f32::from_bits((x >> 7) as u32)
                        }
                    })
                    .collect();
                assert_sorts_as(
                    &v,
                    |v| sort(t, v),
                    f32::total_cmp,
                    |x| x.to_bits().into(),
                    &format!("{n} f32s, a special in {every}"),
                );
            }
        }
    }

    #[test]
    #[cfg_attr(not(avx2_here), ignore = "this CPU has no AVX2")]
    fn sorts_inputs_built_for_quicksort() {
        let t = token();
        for n in [65, 1000, 100_000] {
            let ascending: Vec<u32> = (0..n as u32).collect();
            check(t, ascending.clone(), "ascending");
            check(t, ascending.iter().rev().copied().collect(), "descending");
            let organ: Vec<u32> = (0..n as u32).map(|i| i.min(n as u32 - i)).collect();
            check(t, organ, "organ pipe");
            check(t, vec![7u32; n], "all equal");
            let ascending: Vec<u64> = (0..n as u64).collect();
            check(t, ascending.clone(), "ascending u64");
            check(
                t,
                ascending.iter().rev().copied().collect(),
                "descending u64",
            );
            let organ: Vec<i64> = (0..n as i64).map(|i| i.min(n as i64 - i)).collect();
            check(t, organ, "organ pipe i64");
            check(t, vec![i64::MIN; n], "all equal i64 at MIN");
        }
    }
}
