//! A quicksort in AVX2 registers for 32-bit keys (`u32`, `i32`, `f32`;
//! floats in IEEE-754 totalOrder), for CPUs that have AVX2 but not
//! AVX-512F: the [`vector`](crate::vector) sort's design on 8 lanes.
//!
//! - **Keys**: lanes compare as signed 32-bit integers: `i32` as itself,
//!   `u32` with its top bit flipped, `f32` as the signed integer of its
//!   bits with the low bits of negative values flipped. The map is its
//!   own inverse and is applied in the registers only: what is written is
//!   always the values as they were read, every bit kept.
//! - **Partition**: around the median of a sample, in place. Each vector
//!   is compared with the pivot, and one permute from a table of the 256
//!   lane orders puts its keys at most the pivot first and the others
//!   last; the vector is stored whole at both ends, and each side's next
//!   store overwrites the other side's keys. `UNROLL` vectors are read at
//!   a time from the side with less room, and as many are held back at
//!   each end to make that room; those, and every vector of a part too
//!   small to hold any back, are partitioned into a buffer on the stack
//!   and copied. No masked store anywhere: AMD's CPUs run them as
//!   microcode.
//! - **Small parts** (at most 64 keys): eight vectors, padded with the
//!   largest key; an optimal sorting network down the columns, the
//!   columns merged where they stand, and a transpose.
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

/// Keys in one vector.
const N: usize = 8;

/// Most keys the network sorts: one vector a lane.
const SMALL: usize = N * N;

/// Vectors read in a row from one side, and held back at each end.
const UNROLL: usize = 8;

/// A 32-bit key type: how its values map to signed keys.
///
/// Sealed: the sort's `unsafe` code reads and writes the slice as 32-bit
/// integers, which needs 4-byte types every bit pattern of which is a
/// value, and relies on `keys` giving back the bits it was given: only
/// the three key types implement it.
pub trait Lane32: sealed::Sealed + Copy + std::fmt::Debug + 'static {
    /// The ordered key of a value.
    fn key(self) -> i32;
    /// The keys of a vector of values, or the values of a vector of keys.
    fn keys(t: Avx2, v: __m256i) -> __m256i;
}

mod sealed {
    /// Implemented by the three 32-bit key types only.
    pub trait Sealed {}
    impl Sealed for u32 {}
    impl Sealed for i32 {}
    impl Sealed for f32 {}
}

// SAFETY (every `unsafe` block of these impls): the `Avx2` token exists
// only on a CPU with AVX2, which is all these instructions need.
impl Lane32 for u32 {
    #[inline(always)]
    fn key(self) -> i32 {
        (self ^ 0x8000_0000).cast_signed()
    }
    #[inline(always)]
    fn keys(_: Avx2, v: __m256i) -> __m256i {
        // SAFETY: see above.
        unsafe { _mm256_xor_si256(v, _mm256_set1_epi32(i32::MIN)) }
    }
}

impl Lane32 for i32 {
    #[inline(always)]
    fn key(self) -> i32 {
        self
    }
    #[inline(always)]
    fn keys(_: Avx2, v: __m256i) -> __m256i {
        v
    }
}

impl Lane32 for f32 {
    #[inline(always)]
    fn key(self) -> i32 {
        let b = self.to_bits().cast_signed();
        b ^ ((b >> 31).cast_unsigned() >> 1).cast_signed()
    }
    #[inline(always)]
    fn keys(_: Avx2, v: __m256i) -> __m256i {
        // SAFETY: see above.
        unsafe { _mm256_xor_si256(v, _mm256_srli_epi32::<1>(_mm256_srai_epi32::<31>(v))) }
    }
}

/// Sorts `v` in place and returns true if this CPU has AVX2, else returns
/// false and leaves `v` as it is.
#[inline]
pub fn sorted<K: Lane32>(v: &mut [K]) -> bool {
    let Some(t) = Avx2::detect() else {
        return false;
    };
    sort(t, v);
    true
}

/// Sorts `v` in place, with the quicksort described in the module's
/// documentation.
pub fn sort<K: Lane32>(t: Avx2, v: &mut [K]) {
    // SAFETY: the token exists only on a CPU with AVX2 and POPCNT.
    unsafe { sort_in_registers(t, v) }
}

/// Cuts `v` into `parts` consecutive slices of about equal length, each
/// holding no key above any key of the next, for `parts` threads to sort
/// one each with [`sort`]: as the AVX-512 sort's
/// [`split`](crate::vector::split), pivots from a sorted sample and one
/// partition pass per cut; fewer parts (at least one) where `v` has fewer
/// than `2 * UNROLL * N` keys for each.
pub fn split<K: Lane32>(t: Avx2, v: &mut [K], parts: usize) -> Vec<&mut [K]> {
    // SAFETY: the token exists only on a CPU with AVX2 and POPCNT.
    let partition = |v: &mut [K], pivot| unsafe { partition(t, v, pivot) };
    crate::lanes::split(v, parts, 2 * UNROLL * N, |x| x.key(), &partition)
}

/// [`sort`], compiled for AVX2.
#[target_feature(enable = "avx2,popcnt")]
fn sort_in_registers<K: Lane32>(t: Avx2, v: &mut [K]) {
    let depth = 2 * (usize::BITS - v.len().leading_zeros());
    quicksort(t, v, depth);
}

/// The quicksort loop: recurses into the smaller side, loops on the larger.
#[target_feature(enable = "avx2,popcnt")]
fn quicksort<K: Lane32>(t: Avx2, mut v: &mut [K], mut depth: u32) {
    loop {
        if v.len() <= SMALL {
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
            if pivot == i32::MIN {
                return;
            }
            k = partition(t, v, pivot - 1);
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
/// over `v` (`v.len() > SMALL`), without a branch, or, above 16K keys,
/// the median of 32 sorted keys.
fn pivot<K: Lane32>(v: &[K]) -> i32 {
    let n = v.len();
    if n > 1 << 14 {
        let step = n / 32;
        let mut a = [0; 32];
        for (i, x) in a.iter_mut().enumerate() {
            *x = v[i * step + step / 2].key();
        }
        a.sort_unstable();
        return a[16];
    }
    let step = n / 9;
    let at = |i: usize| v[i * step + step / 2].key();
    let median3 = |a: i32, b: i32, c: i32| a.min(b).max(a.max(b).min(c));
    median3(
        median3(at(0), at(1), at(2)),
        median3(at(3), at(4), at(5)),
        median3(at(6), at(7), at(8)),
    )
}

/// Eight lanes set, then eight clear: the vector of 8 from `8 - k` on has
/// lanes `0..k` set.
static FIRST: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// The lane mask of `maskload` for lanes `from..to`
/// (`from <= to <= 8`).
#[inline(always)]
fn lanes(t: Avx2, from: usize, to: usize) -> __m256i {
    let _ = t;
    debug_assert!(from <= to && to <= N);
    // SAFETY: the token says the CPU has AVX2; `8 - k <= 8` keeps each
    // read of 8 inside `FIRST`.
    unsafe {
        let below = |k: usize| _mm256_loadu_si256(FIRST.as_ptr().add(N - k).cast());
        _mm256_andnot_si256(below(from), below(to))
    }
}

/// The lanes of `x` (values) whose keys are at most the pivot's, `pk`
/// in every lane, as a bit mask.
#[inline(always)]
fn at_most<K: Lane32>(t: Avx2, x: __m256i, pk: __m256i) -> usize {
    // SAFETY: the token says the CPU has AVX2.
    let above = unsafe { _mm256_cmpgt_epi32(K::keys(t, x), pk) };
    // SAFETY: as above.
    (!unsafe { _mm256_movemask_ps(_mm256_castsi256_ps(above)) } & 0xff) as usize
}

/// `x` with its lanes in `mask` first and the others last, each in their
/// order.
#[inline(always)]
fn split_lanes(t: Avx2, x: __m256i, mask: usize) -> __m256i {
    let _ = t;
    // SAFETY: the token says the CPU has AVX2; a row of the table is one
    // vector of lane indexes, and `mask < 256`.
    unsafe {
        let order = _mm256_loadu_si256(crate::lanes::SPLIT8_32[mask & 0xff].as_ptr().cast());
        _mm256_permutevar8x32_epi32(x, order)
    }
}

/// Writes lanes `0..valid` of `x` to both sides of a partition: the keys
/// at most the pivot to `wl..`, which advances, the others to `..wr`,
/// which retreats. One permute puts the first group's keys first and the
/// second group's last, the lanes past `valid` between them, and the
/// vector is stored whole at both ends: each side's next store overwrites
/// the other side's keys. (Masked stores would write exactly the lanes
/// wanted, but AMD's CPUs run them as microcode: a partition's last
/// vectors through them took a third of its time there.)
///
/// # Safety
/// `wl..wl + N` and `wr - N..wr` are free slots of the memory `p` points
/// into (they may overlap), and `wr - wl >= N + valid`: neither store
/// then reaches the keys the other one places.
#[inline(always)]
unsafe fn put<K: Lane32>(
    t: Avx2,
    p: *mut i32,
    x: __m256i,
    valid: usize,
    pk: __m256i,
    wl: &mut usize,
    wr: &mut usize,
) {
    debug_assert!(valid <= N && *wl + N + valid <= *wr);
    let lanes = (1 << valid) - 1;
    let lo = at_most::<K>(t, x, pk) & lanes;
    let nlo = lo.count_ones() as usize;
    let y = split_lanes(t, x, lo | (!lanes & 0xff));
    // SAFETY: the caller's free slots; the left store's keys end at
    // `wl + nlo <= wr - N`, where the right store begins, and the right
    // store's keys begin at `wr - (valid - nlo) >= wl + N`, where the left
    // store ends.
    unsafe {
        _mm256_storeu_si256(p.add(*wl).cast(), y);
        _mm256_storeu_si256(p.add(*wr - N).cast(), y);
    }
    *wl += nlo;
    *wr -= valid - nlo;
}

/// Slots for [`partition_into`]'s vectors: `2 * UNROLL` of them and the
/// one vector of room the stores of [`put`] need.
const BUFFER: usize = (2 * UNROLL + 1) * N;

/// Partitions the `len` keys of `xs` (`valid` lanes each, in order) into
/// `p[..len]`, through a buffer: [`put`] needs a vector of room that
/// `p[..len]` does not have. Returns how many are at most the pivot.
///
/// # Safety
/// `p..p + len` are free slots, `len` is the sum of the valid lanes and at
/// most `2 * UNROLL * N`.
#[inline(always)]
unsafe fn partition_into<K: Lane32>(
    t: Avx2,
    p: *mut i32,
    len: usize,
    xs: impl Iterator<Item = (__m256i, usize)>,
    pk: __m256i,
) -> usize {
    debug_assert!(len + N <= BUFFER);
    let mut buf = std::mem::MaybeUninit::<[i32; BUFFER]>::uninit();
    let b = buf.as_mut_ptr().cast::<i32>();
    let (mut wl, mut wr) = (0, len + N);
    for (x, valid) in xs {
        // SAFETY: `wr <= len + N <= BUFFER` and `wr - wl` is `N` more
        // than the keys left to write, `valid` of them among these.
        unsafe { put::<K>(t, b, x, valid, pk, &mut wl, &mut wr) };
    }
    debug_assert_eq!(wr - wl, N);
    // SAFETY: `b[..wl]` and `b[wr..len + N]` were written, `len` keys in
    // all, which go to the caller's `len` free slots.
    unsafe {
        std::ptr::copy_nonoverlapping(b, p, wl);
        std::ptr::copy_nonoverlapping(b.add(wr), p.add(wl), len + N - wr);
    }
    wl
}

/// Splits `v` in place into the keys at most `pivot`, first, and the keys
/// above it; returns how many are at most.
#[target_feature(enable = "avx2,popcnt")]
fn partition<K: Lane32>(t: Avx2, v: &mut [K], pivot: i32) -> usize {
    let n = v.len();
    let block = UNROLL * N;
    let p = v.as_mut_ptr().cast::<i32>();
    let pk = _mm256_set1_epi32(pivot);
    if n < 2 * block {
        // Too few keys to hold a block back at each end: every vector is
        // read before the first is written back.
        let xs = (0..n).step_by(N).map(|at| {
            let valid = N.min(n - at);
            // SAFETY: the mask reads `at..at + valid`, inside `v`.
            let x = unsafe { _mm256_maskload_epi32(p.add(at), lanes(t, 0, valid)) };
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
            i * N
        } else {
            n - 2 * block + i * N
        };
        // SAFETY: `n >= 2 * block`: the first and the last `block` keys
        // are inside `v`.
        *x = unsafe { _mm256_loadu_si256(p.add(at).cast()) };
    }
    let (mut l, mut r, mut wl, mut wr) = (block, n - block, 0, n);
    // Single vectors from the left first, a part one among them, so that
    // whole blocks remain.
    let rest = (r - l) % block;
    let part = rest % N;
    if part != 0 {
        // SAFETY: `l + part <= r`: unread keys inside `v`, the only lanes
        // the mask reads.
        let x = unsafe { _mm256_maskload_epi32(p.add(l), lanes(t, 0, part)) };
        l += part;
        // SAFETY: `block` free slots at each end.
        unsafe { put::<K>(t, p, x, part, pk, &mut wl, &mut wr) };
    }
    for _ in 0..rest / N {
        // SAFETY: `l + N <= r`: unread keys inside `v`.
        let x = unsafe { _mm256_loadu_si256(p.add(l).cast()) };
        l += N;
        // SAFETY: apart (`wr - wl` is at least the `2 * block` free
        // slots), and each side keeps `N` free slots: fewer than `block`
        // keys are written here.
        unsafe { put::<K>(t, p, x, N, pk, &mut wl, &mut wr) };
    }
    while l < r {
        // Read a block where less room is left: afterwards both sides
        // have at least `block` free slots for its writes. Without a
        // branch: which side is read depends on the keys.
        let left = usize::from(l - wl <= wr - r);
        let at = left * l + (1 - left) * (r - block);
        l += left * block;
        r -= (1 - left) * block;
        // The blocks four reads ahead on each side, for the cache; the
        // addresses may lie outside `v`: a prefetch never faults.
        for i in (0..block).step_by(16) {
            let ahead = p.wrapping_add(l + 4 * block + i);
            let back = p.wrapping_add(r.wrapping_sub(5 * block).wrapping_add(i));
            _mm_prefetch::<_MM_HINT_T0>(ahead.cast());
            _mm_prefetch::<_MM_HINT_T0>(back.cast());
        }
        let mut xs = [pk; UNROLL];
        for (i, x) in xs.iter_mut().enumerate() {
            // SAFETY: `at..at + block` was unread, inside `v`.
            *x = unsafe { _mm256_loadu_si256(p.add(at + i * N).cast()) };
        }
        for x in xs {
            // SAFETY: apart: `2 * block` free slots, at most `block` of
            // them written by these stores.
            unsafe { put::<K>(t, p, x, N, pk, &mut wl, &mut wr) };
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
            held.map(|x| (x, N)).into_iter(),
            pk,
        )
    }
}

/// Sorts `v` (at most `SMALL` keys) in registers.
#[target_feature(enable = "avx2,popcnt")]
fn small<K: Lane32>(t: Avx2, v: &mut [K]) {
    let n = v.len();
    debug_assert!(n <= SMALL);
    let p = v.as_mut_ptr().cast::<i32>();
    let pad = _mm256_set1_epi32(i32::MAX);
    let mut vs = [pad; N];
    for (i, x) in vs.iter_mut().enumerate() {
        let at = i * N;
        if at + N <= n {
            // SAFETY: `at + N <= n`: inside `v`.
            *x = K::keys(t, unsafe { _mm256_loadu_si256(p.add(at).cast()) });
        } else if at < n {
            let m = lanes(t, 0, n - at);
            // SAFETY: the mask reads `at..n`, inside `v`.
            let x0 = K::keys(t, unsafe { _mm256_maskload_epi32(p.add(at), m) });
            *x = _mm256_blendv_epi8(pad, x0, m);
        }
    }
    columns(t, &mut vs);
    merge_level::<0>(t, &mut vs);
    merge_level::<1>(t, &mut vs);
    merge_level::<2>(t, &mut vs);
    transpose(t, &mut vs);
    for (i, x) in vs.iter().enumerate() {
        let at = i * N;
        let x = K::keys(t, *x);
        if at + N <= n {
            // SAFETY: as for the load.
            unsafe { _mm256_storeu_si256(p.add(at).cast(), x) };
        } else if at < n {
            // Through a copy: a masked store is microcode on AMD's CPUs.
            let mut last = [0i32; N];
            // SAFETY: `last` holds one vector; `at..n` is inside `v`.
            unsafe {
                _mm256_storeu_si256(last.as_mut_ptr().cast(), x);
                std::ptr::copy_nonoverlapping(last.as_ptr(), p.add(at), n - at);
            }
        }
    }
}

/// Vector `a` keeps the smaller key of each lane, vector `b` the larger.
#[inline(always)]
fn exchange(_: Avx2, vs: &mut [__m256i; N], a: usize, b: usize) {
    let (x, y) = (vs[a], vs[b]);
    // SAFETY: the token says the CPU has AVX2.
    unsafe {
        vs[a] = _mm256_min_epi32(x, y);
        vs[b] = _mm256_max_epi32(x, y);
    }
}

/// Sorts each lane's keys down the 8 vectors: 19 compare-exchanges in 6
/// layers.
#[inline(always)]
fn columns(t: Avx2, vs: &mut [__m256i; N]) {
    // One statement each, so that every vector index is a constant.
    macro_rules! exchanges {
        ($(($a:literal, $b:literal)),*) => {
            $(exchange(t, vs, $a, $b);)*
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
fn meet<const L: usize>(_: Avx2, a: __m256i, b: __m256i) -> __m256i {
    // SAFETY: the token says the CPU has AVX2.
    unsafe {
        let (lo, hi) = (_mm256_min_epi32(a, b), _mm256_max_epi32(a, b));
        match L {
            0 => _mm256_blend_epi32::<0xAA>(lo, hi),
            1 => _mm256_blend_epi32::<0xCC>(lo, hi),
            _ => _mm256_blend_epi32::<0xF0>(lo, hi),
        }
    }
}

/// The permutation index taking lane `i` to lane `i ^ m`.
#[inline(always)]
fn xor_lanes(_: Avx2, m: i32) -> __m256i {
    // SAFETY: the token says the CPU has AVX2.
    unsafe {
        _mm256_xor_si256(
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            _mm256_set1_epi32(m),
        )
    }
}

/// One level of merging the sorted columns where they stand (key `i` of
/// lane `j` is number `j * 8 + i`): runs of `2^L` lanes merged in pairs,
/// as in the AVX-512 sort's `column_level`.
#[inline(always)]
fn merge_level<const L: usize>(t: Avx2, vs: &mut [__m256i; N]) {
    let mirror = xor_lanes(t, (2 << L) - 1);
    for i in 0..N / 2 {
        let j = N - 1 - i;
        let (a, b) = (vs[i], vs[j]);
        // SAFETY: the token says the CPU has AVX2.
        let (ra, rb) = unsafe {
            (
                _mm256_permutevar8x32_epi32(a, mirror),
                _mm256_permutevar8x32_epi32(b, mirror),
            )
        };
        vs[i] = meet::<L>(t, a, rb);
        vs[j] = meet::<L>(t, b, ra);
    }
    if L >= 2 {
        half_clean_lanes::<1>(t, vs);
    }
    if L >= 1 {
        half_clean_lanes::<0>(t, vs);
    }
    half_clean_vectors::<4>(t, vs);
    half_clean_vectors::<2>(t, vs);
    half_clean_vectors::<1>(t, vs);
}

/// Vectors `D` apart compare-exchanged, lane by lane.
#[inline(always)]
fn half_clean_vectors<const D: usize>(t: Avx2, vs: &mut [__m256i; N]) {
    for i in 0..N {
        if i & D == 0 {
            exchange(t, vs, i, i + D);
        }
    }
}

/// Every vector's lanes `2^S` apart compare-exchanged.
#[inline(always)]
fn half_clean_lanes<const S: usize>(t: Avx2, vs: &mut [__m256i; N]) {
    let swap = xor_lanes(t, 1 << S);
    for v in vs.iter_mut() {
        // SAFETY: the token says the CPU has AVX2.
        let q = unsafe { _mm256_permutevar8x32_epi32(*v, swap) };
        *v = meet::<S>(t, *v, q);
    }
}

/// Transposes the 8 × 8 keys: lane `j` of vector `i` goes to lane `i` of
/// vector `j`.
#[inline(always)]
fn transpose(_: Avx2, vs: &mut [__m256i; N]) {
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
    fn check<K: Lane32 + PartialEq>(t: Avx2, mut v: Vec<K>, what: &str) {
        let mut want = v.clone();
        want.sort_by_key(|x| x.key());
        sort(t, &mut v);
        let same = v.iter().zip(&want).all(|(a, b)| a.key() == b.key());
        assert!(same, "{} {what} sorted differently", v.len());
    }

    #[test]
    #[cfg_attr(not(avx2_here), ignore = "this CPU has no AVX2")]
    fn splits_into_ordered_parts_that_sort_into_the_whole() {
        let t = token();
        for parts in [0, 1, 2, 3, 8, usize::MAX] {
            for modulo in [1, 2, 1000, 1 << 32] {
                for n in [0, 100, 127, 128, 255, 256, 10_000, 100_001] {
                    let w = words(n, (n as u64).wrapping_add(parts as u64), modulo);
                    // Signed, both sides of zero: the order of the keys.
                    let mut v: Vec<i32> = w.iter().map(|&x| x as u32 as i32).collect();
                    let mut want = v.clone();
                    want.sort_unstable();
                    let cut = split(t, &mut v, parts);
                    let most = n / (2 * UNROLL * N);
                    assert_eq!(cut.len(), parts.min(most).max(1), "{n} keys");
                    for pair in cut.windows(2) {
                        if let (Some(b), Some(a)) = (pair[0].iter().max(), pair[1].iter().min()) {
                            assert!(b <= a, "{n} keys, {parts} parts, % {modulo}");
                        }
                    }
                    for part in cut {
                        sort(t, part);
                    }
                    assert_eq!(v, want, "{n} keys, {parts} parts, % {modulo}");
                }
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
        }
    }
}
