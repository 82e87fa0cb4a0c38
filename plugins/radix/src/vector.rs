//! A quicksort in AVX-512 registers, for the six key types (`u32`, `i32`,
//! `f32`, `u64`, `i64`, `f64`; floats in IEEE-754 totalOrder).
//!
//! Used where the CPU has AVX-512F (detected at run time): a vector holds
//! 16 32-bit or 8 64-bit keys, and one instruction compares, moves or
//! takes the minimum of all of them.
//!
//! - **Partition**: a pivot from a sorted sample of keys, then one pass in
//!   place. Each vector read is compared with the pivot and its two parts
//!   compressed (`vpcompress`) to the write cursor of each side; 8-lane
//!   vectors take one permute from a table of lane orders instead. The
//!   pass reads `UNROLL` vectors at a time from the side with less room left,
//!   so neither side's writes can overtake its reads, and as many vectors
//!   at each end are held in registers until the end to make room for
//!   that.
//! - **Keys equal to the pivot**: the pass splits "at most the pivot" from
//!   "above it". When nothing is above, a second pass splits "below the
//!   pivot" off, and what remains is all equal to the pivot: sorted.
//! - **Small parts** (at most `SMALL_VECTORS` vectors) are sorted in
//!   registers, padded to a power of two of vectors with the largest key:
//!   a sorting network down the columns (every lane at once), a transpose
//!   that makes each column a run of whole vectors, then bitonic merges of
//!   the runs. Floats compare as keys (see [`Lane`]) unless the part
//!   holds no NaN and no `-0.0`: then as the numbers themselves, with the
//!   floats' minimum and maximum instructions, which cost less than the
//!   integer ones on 64-bit lanes. 64-bit integers sort with those too:
//!   the pivots above a part bound its keys, and where the span between
//!   the bounds allows, each key less the lower bound (and `2^52`, so
//!   that none is subnormal) is the bits of a positive float, ordered as
//!   the key is.
//! - **Depth**: past `2 log2(n)` levels, a part goes to `sort_unstable`, so
//!   an input built against the pivot choice costs `O(n log n)`.

use std::arch::x86_64::*;

/// Proof that the CPU has AVX-512F (and POPCNT, which every such CPU
/// has): made only by [`Avx512::detect`], so a safe function that takes
/// one may run AVX-512F instructions.
#[derive(Clone, Copy, Debug)]
pub struct Avx512(());

impl Avx512 {
    /// The token, if this CPU has AVX-512F and `WILDHOST_NO_AVX512=1` is
    /// not set (read once): that switch has a sort take the path of a CPU
    /// without AVX-512F (the AVX2 sort of 32-bit keys, the radix passes),
    /// so that its tests run on any machine.
    #[inline]
    pub fn detect() -> Option<Avx512> {
        static OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        let off =
            *OFF.get_or_init(|| std::env::var_os("WILDHOST_NO_AVX512").is_some_and(|v| v == "1"));
        if off { None } else { Self::cpu() }
    }

    /// The token, if this CPU has AVX-512F, whatever the switch says.
    #[inline]
    fn cpu() -> Option<Avx512> {
        let has = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("popcnt");
        has.then_some(Avx512(()))
    }
}

/// Most vectors a part may have to be sorted by the network.
const SMALL_VECTORS: usize = 16;

/// A key type the vectors sort: its lanes and its operations.
///
/// Lanes hold the values as they are in memory, and compare as their
/// ordered [`Key`](Lane::Key): the integers as themselves, floats as the
/// signed integer of their bits with the lower bits of negative values
/// flipped, which orders them as IEEE-754 totalOrder (`total_cmp`). That
/// map is its own inverse, so [`keys`](Lane::keys) also turns keys back
/// into values.
///
/// Every operation takes the [`Avx512`] token, which proves the CPU runs
/// them. They are `#[inline(always)]`, so they are compiled inside the
/// sort's functions, which enable AVX-512F for the code they generate.
///
/// Sealed: the sort's `unsafe` code relies on what these operations
/// return (a vector is 64 bytes of `N <= 16` lanes, `keys` gives back the
/// bits it was given), so only the six key types implement it.
pub trait Lane: sealed::Sealed + Copy + std::fmt::Debug + 'static {
    /// What lanes compare as.
    type Key: Copy + Ord + Default + std::fmt::Debug;
    /// Whether the keys are floats' (mapped), not the values themselves.
    const FLOAT: bool;
    /// Keys in one vector.
    const N: usize;
    /// The smallest key.
    const MIN_KEY: Self::Key;
    /// The largest key.
    const MAX_KEY: Self::Key;
    /// The ordered key of a value.
    fn key(self) -> Self::Key;
    /// `k - 1`; never called on `MIN_KEY`.
    fn below(k: Self::Key) -> Self::Key;
    /// A vector of `k` in every lane.
    fn splat(t: Avx512, k: Self::Key) -> __m512i;
    /// The keys of a vector of values, or the values of a vector of keys.
    fn keys(t: Avx512, v: __m512i) -> __m512i;
    /// The permutation index that swaps lane `i` with lane `i ^ 2^row`
    /// (`row < log2 N`), or, for `row == 4`, reverses the lanes.
    fn permutation(t: Avx512, row: usize) -> __m512i;
    /// # Safety
    /// `p..p + N` is readable (`P` is `Self` or `Self::Key`).
    unsafe fn load<P>(t: Avx512, p: *const P) -> __m512i;
    /// # Safety
    /// `p..p + N` is writable (`P` is `Self` or `Self::Key`).
    unsafe fn store<P>(t: Avx512, p: *mut P, v: __m512i);
    /// Writes lanes `0..len` of `v` to `p..p + len`, nothing else.
    ///
    /// # Safety
    /// `len <= N` and `p..p + len` is writable.
    unsafe fn store_first(t: Avx512, p: *mut Self, len: usize, v: __m512i);
    /// Reads `p..p + len` into lanes `0..len`; the other lanes hold the
    /// value whose key is the largest.
    ///
    /// # Safety
    /// `len <= N` and `p..p + len` is readable.
    unsafe fn load_first(t: Avx512, p: *const Self, len: usize) -> __m512i;
    /// The smaller key of each pair of lanes.
    fn lo(t: Avx512, a: __m512i, b: __m512i) -> __m512i;
    /// The larger key of each pair of lanes.
    fn hi(t: Avx512, a: __m512i, b: __m512i) -> __m512i;
    /// The smaller value of each pair of lanes, compared as the values
    /// themselves (floats as IEEE-754 numbers), not as keys: the order of
    /// keys wherever no lane is a NaN or `-0.0` (see [`odd`](Lane::odd)).
    /// Floats' minimum instruction costs less than the 64-bit integers'
    /// one that compares keys, and needs no key map. The 64-bit integers'
    /// is the floats' too, for lanes that hold offsets (see
    /// [`offset`](Lane::offset)).
    fn lo_plain(t: Avx512, a: __m512i, b: __m512i) -> __m512i;
    /// The larger value of each pair of lanes, as [`lo_plain`](Lane::lo_plain).
    fn hi_plain(t: Avx512, a: __m512i, b: __m512i) -> __m512i;
    /// Bit `i` set where lane `i` of `v` is a float [`lo_plain`](Lane::lo_plain)
    /// cannot order: a NaN or `-0.0`. Always 0 for integers.
    fn odd(t: Avx512, v: __m512i) -> u32;
    /// For integers whose plain minimum and maximum are the floats' (the
    /// 64-bit ones): where every key from `lower` to `upper` gives, less
    /// the vector returned, the bits of a positive normal float (in the
    /// same order, as the bits of such floats are), that vector. `None`
    /// for other types, or where the span is too wide.
    fn offset(t: Avx512, lower: Self::Key, upper: Self::Key) -> Option<__m512i>;
    /// `a - b` in each lane, wrapping.
    fn sub(t: Avx512, a: __m512i, b: __m512i) -> __m512i;
    /// `a + b` in each lane, wrapping.
    fn add(t: Avx512, a: __m512i, b: __m512i) -> __m512i;
    /// The value that pads vectors for [`lo_plain`](Lane::lo_plain): the
    /// largest that is not [`odd`](Lane::odd) (`+inf` for floats and for
    /// 64-bit integers' offsets).
    fn plain_pad(t: Avx512) -> __m512i;
    /// The permutation index that takes lane `i` to lane `i ^ m`
    /// (`m < N`).
    fn xor_lanes(t: Avx512, m: usize) -> __m512i;
    /// Lane `i` of the result is lane `idx[i]` of `v`.
    fn permute(t: Avx512, idx: __m512i, v: __m512i) -> __m512i;
    /// Lane `i` of the result is lane `idx[i]` of `a`, or lane
    /// `idx[i] - N` of `b` where `idx[i] >= N`.
    fn permute2(t: Avx512, idx: __m512i, a: __m512i, b: __m512i) -> __m512i;
    /// The [`permute2`](Lane::permute2) index of one step of the
    /// transpose of a square of vectors: for the vectors `a` and `b` whose
    /// numbers differ in bit `row` only, the new `a` (`upper` false) or
    /// the new `b` (`upper` true), after the keys whose lane and vector
    /// numbers differ in that bit trade places.
    fn transposition(t: Avx512, row: usize, upper: bool) -> __m512i;
    /// Lane `i` from `b` where bit `i` of `mask` is set, else from `a`.
    fn blend(t: Avx512, mask: u32, a: __m512i, b: __m512i) -> __m512i;
    /// Bit `i` set where key `i` of `v` is at most key `i` of `p`.
    fn at_most(t: Avx512, v: __m512i, p: __m512i) -> u32;
    /// Bit `i` set where lane `i` of `v` is at least lane `i` of `p`, both
    /// read as unsigned integers.
    fn at_least_bits(t: Avx512, v: __m512i, p: __m512i) -> u32;
    /// The lanes of `v` whose bit is set in `mask`, moved to the low lanes
    /// in order.
    fn compress(t: Avx512, mask: u32, v: __m512i) -> __m512i;
}

mod sealed {
    /// Implemented by the six key types only.
    pub trait Sealed {}
    impl Sealed for u32 {}
    impl Sealed for i32 {}
    impl Sealed for f32 {}
    impl Sealed for u64 {}
    impl Sealed for i64 {}
    impl Sealed for f64 {}
}

/// The mask of lanes `0..len`.
#[inline(always)]
fn first(len: usize) -> u32 {
    ((1u64 << len) - 1) as u32
}

macro_rules! lane {
    ($t:ty, key $k:ty, idx $i:ty, $n:expr, $mask:ty, pad $pad:expr,
     key($x:ident) = $key:expr, keys($t_:ident, $v:ident) = $keys:expr,
     odd($ot:ident, $ov:ident) = $odd:expr, plain_pad $plain_pad:expr,
     offset($ft:ident, $lower:ident, $upper:ident) = $offset:expr, $sub:ident, $add:ident,
     plain $pmin:ident, $pmax:ident,
     float $float:expr, $set1:ident, $min:ident, $max:ident, $perm:ident, $perm2:ident,
     $blend:ident,
     $le:ident, $ge_bits:ident,
     $compress:ident, $mstore:ident, $mload:ident) => {
        // SAFETY (every `unsafe` block of this impl): the `Avx512` token
        // exists only on a CPU with AVX-512F, which is all these
        // instructions need; the pointer operations' bounds are the callers'
        // `# Safety` contracts, restated in the trait.
        impl Lane for $t {
            type Key = $k;
            const FLOAT: bool = $float;
            const N: usize = $n;
            const MIN_KEY: $k = <$k>::MIN;
            const MAX_KEY: $k = <$k>::MAX;
            #[inline(always)]
            fn key(self) -> $k {
                let $x = self;
                $key
            }
            #[inline(always)]
            fn below(k: $k) -> $k {
                k - 1
            }
            #[inline(always)]
            fn splat(_: Avx512, k: $k) -> __m512i {
                // SAFETY: see the impl.
                #[allow(clippy::cast_possible_wrap)]
                unsafe {
                    $set1(k as _)
                }
            }
            #[inline(always)]
            fn keys($t_: Avx512, $v: __m512i) -> __m512i {
                $keys
            }
            #[inline(always)]
            fn permutation(t: Avx512, row: usize) -> __m512i {
                static TABLE: [[$i; $n]; 5] = {
                    let mut a = [[0; $n]; 5];
                    let mut row = 0;
                    while row < 5 {
                        let mut i = 0;
                        while i < $n {
                            a[row][i] = if row < 4 { i ^ (1 << row) } else { $n - 1 - i } as $i;
                            i += 1;
                        }
                        row += 1;
                    }
                    a
                };
                // SAFETY: a row holds one vector of lane indexes.
                unsafe { Self::load(t, TABLE[row].as_ptr()) }
            }
            #[inline(always)]
            fn xor_lanes(t: Avx512, m: usize) -> __m512i {
                static TABLE: [[$i; $n]; $n] = {
                    let mut a = [[0; $n]; $n];
                    let mut m = 0;
                    while m < $n {
                        let mut i = 0;
                        while i < $n {
                            a[m][i] = (i ^ m) as $i;
                            i += 1;
                        }
                        m += 1;
                    }
                    a
                };
                // SAFETY: a row holds one vector of lane indexes.
                unsafe { Self::load(t, TABLE[m].as_ptr()) }
            }
            #[inline(always)]
            fn transposition(t: Avx512, row: usize, upper: bool) -> __m512i {
                static TABLE: [[[$i; $n]; 4]; 2] = {
                    let mut a = [[[0; $n]; 4]; 2];
                    let mut row = 0;
                    while row < 4 {
                        let d = 1 << row;
                        let mut i = 0;
                        while i < $n {
                            // Lane `i` of the lower vector keeps its key
                            // where bit `d` of `i` is clear, else takes
                            // lane `i - d` of the upper; the upper keeps
                            // its keys where the bit is set, else takes
                            // lane `i + d` of the lower.
                            let clear = i & d == 0;
                            a[0][row][i] = if clear { i } else { $n + i - d } as $i;
                            a[1][row][i] = if clear { i + d } else { $n + i } as $i;
                            i += 1;
                        }
                        row += 1;
                    }
                    a
                };
                // SAFETY: a row holds one vector of lane indexes.
                unsafe { Self::load(t, TABLE[usize::from(upper)][row].as_ptr()) }
            }
            #[inline(always)]
            unsafe fn load<P>(_: Avx512, p: *const P) -> __m512i {
                // SAFETY: see the impl.
                unsafe { _mm512_loadu_si512(p.cast()) }
            }
            #[inline(always)]
            unsafe fn store<P>(_: Avx512, p: *mut P, v: __m512i) {
                // SAFETY: see the impl.
                unsafe { _mm512_storeu_si512(p.cast(), v) }
            }
            #[inline(always)]
            unsafe fn store_first(_: Avx512, p: *mut Self, len: usize, v: __m512i) {
                // SAFETY: see the impl; the mask writes lanes `0..len` only.
                unsafe { $mstore(p.cast(), first(len) as $mask, v) }
            }
            #[inline(always)]
            unsafe fn load_first(_: Avx512, p: *const Self, len: usize) -> __m512i {
                // SAFETY: see the impl; the mask reads lanes `0..len` only.
                unsafe { $mload($set1($pad), first(len) as $mask, p.cast()) }
            }
            #[inline(always)]
            fn lo(_: Avx512, a: __m512i, b: __m512i) -> __m512i {
                // SAFETY: see the impl.
                unsafe { $min(a, b) }
            }
            #[inline(always)]
            fn hi(_: Avx512, a: __m512i, b: __m512i) -> __m512i {
                // SAFETY: see the impl.
                unsafe { $max(a, b) }
            }
            #[inline(always)]
            fn lo_plain(_: Avx512, a: __m512i, b: __m512i) -> __m512i {
                // SAFETY: see the impl.
                unsafe { $pmin(a, b) }
            }
            #[inline(always)]
            fn hi_plain(_: Avx512, a: __m512i, b: __m512i) -> __m512i {
                // SAFETY: see the impl.
                unsafe { $pmax(a, b) }
            }
            #[inline(always)]
            fn odd($ot: Avx512, $ov: __m512i) -> u32 {
                $odd
            }
            #[inline(always)]
            fn offset($ft: Avx512, $lower: $k, $upper: $k) -> Option<__m512i> {
                $offset
            }
            #[inline(always)]
            fn sub(_: Avx512, a: __m512i, b: __m512i) -> __m512i {
                // SAFETY: see the impl.
                unsafe { $sub(a, b) }
            }
            #[inline(always)]
            fn add(_: Avx512, a: __m512i, b: __m512i) -> __m512i {
                // SAFETY: see the impl.
                unsafe { $add(a, b) }
            }
            #[inline(always)]
            fn plain_pad(_: Avx512) -> __m512i {
                // SAFETY: see the impl.
                #[allow(clippy::cast_possible_wrap)]
                unsafe {
                    $set1($plain_pad as _)
                }
            }
            #[inline(always)]
            fn permute(_: Avx512, idx: __m512i, v: __m512i) -> __m512i {
                // SAFETY: see the impl.
                unsafe { $perm(idx, v) }
            }
            #[inline(always)]
            fn permute2(_: Avx512, idx: __m512i, a: __m512i, b: __m512i) -> __m512i {
                // SAFETY: see the impl.
                unsafe { $perm2(a, idx, b) }
            }
            #[inline(always)]
            fn blend(_: Avx512, mask: u32, a: __m512i, b: __m512i) -> __m512i {
                // SAFETY: see the impl.
                unsafe { $blend(mask as $mask, a, b) }
            }
            #[inline(always)]
            fn at_most(_: Avx512, v: __m512i, p: __m512i) -> u32 {
                // SAFETY: see the impl.
                u32::from(unsafe { $le(v, p) })
            }
            #[inline(always)]
            fn at_least_bits(_: Avx512, v: __m512i, p: __m512i) -> u32 {
                // SAFETY: see the impl.
                u32::from(unsafe { $ge_bits(v, p) })
            }
            #[inline(always)]
            fn compress(_: Avx512, mask: u32, v: __m512i) -> __m512i {
                // SAFETY: see the impl.
                unsafe { $compress(mask as $mask, v) }
            }
        }
    };
}

lane!(u32, key u32, idx u32, 16, u16, pad -1, key(x) = x, keys(_t, v) = v,
      odd(_o, _x) = 0, plain_pad -1,
      offset(_t, _l, _u) = None, _mm512_sub_epi32, _mm512_add_epi32,
      plain _mm512_min_epu32, _mm512_max_epu32,
      float false, _mm512_set1_epi32, _mm512_min_epu32, _mm512_max_epu32, _mm512_permutexvar_epi32, _mm512_permutex2var_epi32,
      _mm512_mask_blend_epi32, _mm512_cmple_epu32_mask, _mm512_cmpge_epu32_mask, _mm512_maskz_compress_epi32,
      _mm512_mask_storeu_epi32, _mm512_mask_loadu_epi32);
lane!(i32, key i32, idx u32, 16, u16, pad i32::MAX, key(x) = x, keys(_t, v) = v,
      odd(_o, _x) = 0, plain_pad i32::MAX,
      offset(_t, _l, _u) = None, _mm512_sub_epi32, _mm512_add_epi32,
      plain _mm512_min_epi32, _mm512_max_epi32,
      float false, _mm512_set1_epi32, _mm512_min_epi32, _mm512_max_epi32, _mm512_permutexvar_epi32, _mm512_permutex2var_epi32,
      _mm512_mask_blend_epi32, _mm512_cmple_epi32_mask, _mm512_cmpge_epu32_mask, _mm512_maskz_compress_epi32,
      _mm512_mask_storeu_epi32, _mm512_mask_loadu_epi32);
lane!(f32, key i32, idx u32, 16, u16, pad i32::MAX,
      key(x) = {
          let b = x.to_bits().cast_signed();
          b ^ ((b >> 31).cast_unsigned() >> 1).cast_signed()
      },
      // SAFETY: the token says the CPU has AVX-512F.
      keys(_t, v) = unsafe { _mm512_xor_si512(v, _mm512_srli_epi32::<1>(_mm512_srai_epi32::<31>(v))) },
      // SAFETY: as above.
      odd(_t, v) = u32::from(unsafe {
          _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(_mm512_castsi512_ps(v), _mm512_castsi512_ps(v))
              | _mm512_cmpeq_epi32_mask(v, _mm512_set1_epi32(i32::MIN))
      }),
      plain_pad 0x7f80_0000_u32,
      offset(_t, _l, _u) = None, _mm512_sub_epi32, _mm512_add_epi32,
      plain min_ps_bits, max_ps_bits,
      float true, _mm512_set1_epi32, _mm512_min_epi32, _mm512_max_epi32, _mm512_permutexvar_epi32, _mm512_permutex2var_epi32,
      _mm512_mask_blend_epi32, _mm512_cmple_epi32_mask, _mm512_cmpge_epu32_mask, _mm512_maskz_compress_epi32,
      _mm512_mask_storeu_epi32, _mm512_mask_loadu_epi32);
lane!(u64, key u64, idx u64, 8, u8, pad -1, key(x) = x, keys(_t, v) = v,
      odd(_o, _x) = 0, plain_pad 0x7ff0_0000_0000_0000_u64,
      offset(t, lower, upper) = offset64(t, lower, upper), _mm512_sub_epi64, _mm512_add_epi64,
      plain min_pd_bits, max_pd_bits,
      float false, _mm512_set1_epi64, _mm512_min_epu64, _mm512_max_epu64, _mm512_permutexvar_epi64, _mm512_permutex2var_epi64,
      _mm512_mask_blend_epi64, _mm512_cmple_epu64_mask, _mm512_cmpge_epu64_mask, _mm512_maskz_compress_epi64,
      _mm512_mask_storeu_epi64, _mm512_mask_loadu_epi64);
lane!(i64, key i64, idx u64, 8, u8, pad i64::MAX, key(x) = x, keys(_t, v) = v,
      odd(_o, _x) = 0, plain_pad 0x7ff0_0000_0000_0000_u64,
      offset(t, lower, upper) = offset64(t, lower.cast_unsigned(), upper.cast_unsigned()),
      _mm512_sub_epi64, _mm512_add_epi64,
      plain min_pd_bits, max_pd_bits,
      float false, _mm512_set1_epi64, _mm512_min_epi64, _mm512_max_epi64, _mm512_permutexvar_epi64, _mm512_permutex2var_epi64,
      _mm512_mask_blend_epi64, _mm512_cmple_epi64_mask, _mm512_cmpge_epu64_mask, _mm512_maskz_compress_epi64,
      _mm512_mask_storeu_epi64, _mm512_mask_loadu_epi64);
lane!(f64, key i64, idx u64, 8, u8, pad i64::MAX,
      key(x) = {
          let b = x.to_bits().cast_signed();
          b ^ ((b >> 63).cast_unsigned() >> 1).cast_signed()
      },
      // SAFETY: the token says the CPU has AVX-512F.
      keys(_t, v) = unsafe { _mm512_xor_si512(v, _mm512_srli_epi64::<1>(_mm512_srai_epi64::<63>(v))) },
      // SAFETY: as above.
      odd(_t, v) = u32::from(unsafe {
          _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(_mm512_castsi512_pd(v), _mm512_castsi512_pd(v))
              | _mm512_cmpeq_epi64_mask(v, _mm512_set1_epi64(i64::MIN))
      }),
      plain_pad 0x7ff0_0000_0000_0000_u64,
      offset(_t, _l, _u) = None, _mm512_sub_epi64, _mm512_add_epi64,
      plain min_pd_bits, max_pd_bits,
      float true, _mm512_set1_epi64, _mm512_min_epi64, _mm512_max_epi64, _mm512_permutexvar_epi64, _mm512_permutex2var_epi64,
      _mm512_mask_blend_epi64, _mm512_cmple_epi64_mask, _mm512_cmpge_epu64_mask, _mm512_maskz_compress_epi64,
      _mm512_mask_storeu_epi64, _mm512_mask_loadu_epi64);

/// The smallest bits of a positive normal `f64`.
const NORMAL64: u64 = 1 << 52;

/// [`Lane::offset`] of 64-bit integers, their keys' bits from `lower` to
/// `upper` (ordered as unsigned, wrapping): `lower - NORMAL64`, which
/// takes them to the bits of the positive normal floats from `NORMAL64`
/// on, where the span leaves them below `+inf` (the pad).
#[inline(always)]
fn offset64(t: Avx512, lower: u64, upper: u64) -> Option<__m512i> {
    let span = upper.wrapping_sub(lower);
    (span < f64::INFINITY.to_bits() - NORMAL64).then(|| u64::splat(t, lower.wrapping_sub(NORMAL64)))
}

/// `_mm512_min_ps` on vectors of bits.
#[inline]
#[target_feature(enable = "avx512f")]
fn min_ps_bits(a: __m512i, b: __m512i) -> __m512i {
    _mm512_castps_si512(_mm512_min_ps(
        _mm512_castsi512_ps(a),
        _mm512_castsi512_ps(b),
    ))
}

/// `_mm512_max_ps` on vectors of bits.
#[inline]
#[target_feature(enable = "avx512f")]
fn max_ps_bits(a: __m512i, b: __m512i) -> __m512i {
    _mm512_castps_si512(_mm512_max_ps(
        _mm512_castsi512_ps(a),
        _mm512_castsi512_ps(b),
    ))
}

/// `_mm512_min_pd` on vectors of bits.
#[inline]
#[target_feature(enable = "avx512f")]
fn min_pd_bits(a: __m512i, b: __m512i) -> __m512i {
    _mm512_castpd_si512(_mm512_min_pd(
        _mm512_castsi512_pd(a),
        _mm512_castsi512_pd(b),
    ))
}

/// `_mm512_max_pd` on vectors of bits.
#[inline]
#[target_feature(enable = "avx512f")]
fn max_pd_bits(a: __m512i, b: __m512i) -> __m512i {
    _mm512_castpd_si512(_mm512_max_pd(
        _mm512_castsi512_pd(a),
        _mm512_castsi512_pd(b),
    ))
}

/// Sorts `v` in place and returns true if this CPU has AVX-512F, else
/// returns false and leaves `v` as it is.
#[inline]
pub fn sorted<K: Lane>(v: &mut [K]) -> bool {
    let Some(t) = Avx512::detect() else {
        return false;
    };
    sort(t, v);
    true
}

/// Cuts `v` into `parts` consecutive slices of about equal length, each
/// holding no key above any key of the next, for `parts` threads to sort
/// one each. Pivots are quantiles of a sorted sample, and each cut is one
/// partition pass; where equal keys crowd a quantile, the parts come out
/// unequal (some may be empty), never wrong. Fewer parts (at least one)
/// where `v` has fewer than `2 * UNROLL * N` keys for each, the least a
/// partition pass takes.
pub fn split<K: Lane>(t: Avx512, v: &mut [K], parts: usize) -> Vec<&mut [K]> {
    crate::lanes::split(v, parts, 2 * UNROLL * K::N, |x| x.key(), &cutter(t))
}

/// The partition pass of [`split`], for [`crate::lanes::cut`], which
/// partitions no fewer than `2 * UNROLL * N` keys.
fn cutter<K: Lane>(t: Avx512) -> impl Fn(&mut [K], K::Key) -> usize {
    move |v, pivot| {
        if v.len() < 2 * UNROLL * K::N {
            // Never reached from `cut`; a right answer all the same.
            v.sort_unstable_by_key(|x| x.key());
            return v.partition_point(|x| x.key() <= pivot);
        }
        // SAFETY: the token exists only on a CPU with AVX-512F, and `v`
        // holds at least `2 * UNROLL * N` keys.
        unsafe { partition(t, v, pivot) }
    }
}

/// [`split`] of a copy of `src` into `dst` (of the same length, its
/// contents never read): the first cut reads `src` and writes its two
/// sides into `dst`, so that the copy costs no pass of its own, and the
/// further cuts are made in `dst`. Gives at least two slices (for one
/// part, two for the same thread), unless `src` is too short for a
/// partition pass: then `dst` is a plain copy, cut by [`split`].
///
/// A `src` that another thread writes meanwhile (a caller breaking its
/// promise) gives a wrong order at worst, never a write outside `dst`:
/// the first cut reads each key once, and where it goes depends on that
/// one read alone.
///
/// # Panics
/// If `src` and `dst` differ in length.
pub fn split_from<'a, K: Lane>(
    t: Avx512,
    src: &[K],
    dst: &'a mut [K],
    parts: usize,
) -> Vec<&'a mut [K]> {
    assert_eq!(
        src.len(),
        dst.len(),
        "src and dst must have the same length"
    );
    let n = src.len();
    let most = n / (2 * UNROLL * K::N);
    if most < 2 {
        dst.copy_from_slice(src);
        return split(t, dst, parts);
    }
    let parts = parts.clamp(2, most);
    let sample = crate::lanes::sample(src, parts, |x| x.key());
    let left = parts / 2;
    let at = sample.len() * left / parts;
    // SAFETY: the token exists only on a CPU with AVX-512F.
    let k = unsafe { partition_into(t, src, dst, sample[at - 1]) };
    let (lo, hi) = dst.split_at_mut(k);
    let (s_lo, s_hi) = sample.split_at(at);
    let mut out = Vec::with_capacity(parts);
    let least = 2 * UNROLL * K::N;
    crate::lanes::cut(lo, s_lo, left, least, &cutter(t), &mut out);
    crate::lanes::cut(hi, s_hi, parts - left, least, &cutter(t), &mut out);
    out
}

/// Writes the keys of `src` at most `pivot` to the front of `dst` (of the
/// same length), the others to its back; returns how many are at most.
#[target_feature(enable = "avx512f,popcnt")]
fn partition_into<K: Lane>(t: Avx512, src: &[K], dst: &mut [K], pivot: K::Key) -> usize {
    let n = src.len();
    assert_eq!(n, dst.len());
    let (w, s, p) = (K::N, src.as_ptr(), dst.as_mut_ptr());
    let pv = Pivot::new::<K>(t, pivot);
    let (mut wl, mut wr) = (0, n);
    let mut at = 0;
    while at < n {
        let len = w.min(n - at);
        // SAFETY: `at + len <= n`: inside `src`.
        let x = unsafe { K::load_first(t, s.add(at), len) };
        at += len;
        let lo = pv.above::<K>(t, x) & first(len);
        let hi = !lo & first(len);
        let (nlo, nhi) = (lo.count_ones() as usize, hi.count_ones() as usize);
        // SAFETY: `wl + nlo + nhi <= wr` (each key read is written once,
        // and `at` keys have been read): both stores stay inside `dst`, in
        // slots no other store has written.
        unsafe {
            K::store_first(t, p.add(wl), nlo, K::compress(t, lo, x));
            K::store_first(t, p.add(wr - nhi), nhi, K::compress(t, hi, x));
        }
        wl += nlo;
        wr -= nhi;
    }
    debug_assert_eq!(wl, wr);
    wl
}

/// Sorts `v` in place, with the quicksort described in the module's
/// documentation.
pub fn sort<K: Lane>(t: Avx512, v: &mut [K]) {
    // SAFETY: the token exists only on a CPU with AVX-512F.
    unsafe { sort_in_registers(t, v) }
}

/// [`sort`], compiled for AVX-512F.
#[target_feature(enable = "avx512f,popcnt")]
fn sort_in_registers<K: Lane>(t: Avx512, v: &mut [K]) {
    let depth = 2 * (usize::BITS - v.len().leading_zeros());
    quicksort(t, v, depth, K::MIN_KEY, K::MAX_KEY);
}

/// The quicksort loop: recurses into the smaller side, loops on the larger.
/// Every key of `v` lies from `lower` to `upper`.
#[target_feature(enable = "avx512f,popcnt")]
fn quicksort<K: Lane>(
    t: Avx512,
    mut v: &mut [K],
    mut depth: u32,
    mut lower: K::Key,
    mut upper: K::Key,
) {
    loop {
        if v.len() <= SMALL_VECTORS * K::N {
            small(t, v, lower, upper);
            return;
        }
        if depth == 0 {
            v.sort_unstable_by_key(|x| x.key());
            return;
        }
        depth -= 1;
        let pivot = pivot(t, v);
        let mut k = partition(t, v, pivot);
        if k == v.len() {
            // Nothing above the pivot: split off the keys below it; the
            // rest equal it.
            if pivot == K::MIN_KEY {
                return;
            }
            k = partition(t, v, K::below(pivot));
            v = &mut v[..k];
            upper = K::below(pivot);
            continue;
        }
        let (lo, hi) = v.split_at_mut(k);
        if lo.len() < hi.len() {
            quicksort(t, lo, depth, lower, pivot);
            (v, lower) = (hi, pivot);
        } else {
            quicksort(t, hi, depth, pivot, upper);
            (v, upper) = (lo, pivot);
        }
    }
}

/// Above this many keys, the pivot is the median of `4 * N` keys, not
/// of `N`: a better split saves more than the larger sample costs.
const WIDE_SAMPLE: usize = 1 << 14;

/// The pivot: the median of the keys of `N` values spread evenly over
/// `v` (`v.len() > SMALL_VECTORS * N`), or of `4 * N` above
/// `WIDE_SAMPLE`.
#[target_feature(enable = "avx512f,popcnt")]
fn pivot<K: Lane>(t: Avx512, v: &[K]) -> K::Key {
    if v.len() > WIDE_SAMPLE {
        return median::<K, 4>(t, v);
    }
    median::<K, 1>(t, v)
}

/// The median of the keys of `M * N` values spread evenly over `v`.
#[inline(always)]
fn median<K: Lane, const M: usize>(t: Avx512, v: &[K]) -> K::Key {
    let count = M * K::N;
    let step = v.len() / count;
    let mut a = [K::MIN_KEY; 64];
    for (i, x) in a.iter_mut().take(count).enumerate() {
        *x = v[i * step + step / 2].key();
    }
    let mut vs = [K::splat(t, K::MIN_KEY); M];
    for (i, x) in vs.iter_mut().enumerate() {
        // SAFETY: `a` holds `64 >= M * N` keys.
        *x = unsafe { K::load(t, a.as_ptr().add(i * K::N)) };
    }
    network::<K, M, false>(t, &mut vs);
    for (i, x) in vs.iter().enumerate() {
        // SAFETY: as above, and `a` is writable.
        unsafe { K::store(t, a.as_mut_ptr().add(i * K::N), *x) };
    }
    a[count / 2]
}

/// Vectors read in a row from one side by [`partition`], and held back at
/// each end: where to read next depends on the keys just written, and
/// deciding once per `UNROLL` vectors keeps that wait off most reads.
const UNROLL: usize = 8;

/// Splits `v` (at least `2 * UNROLL * N` keys) in place into the keys at
/// most `pivot`, first, and the keys above it; returns how many are at
/// most.
#[target_feature(enable = "avx512f,popcnt")]
fn partition<K: Lane>(t: Avx512, v: &mut [K], pivot: K::Key) -> usize {
    let n = v.len();
    let w = K::N;
    let block = UNROLL * w;
    debug_assert!(n >= 2 * block);
    let p = v.as_mut_ptr();
    let pv = Pivot::new::<K>(t, pivot);
    // The keys in `l..r` are unread; `0..wl` holds keys at most the pivot,
    // `wr..n` keys above it; `wl..l` and `r..wr` are free, and together
    // `2 * block` long before each read.
    let mut held = [K::splat(t, pivot); 2 * UNROLL];
    for (i, x) in held.iter_mut().enumerate() {
        let at = if i < UNROLL {
            i * w
        } else {
            n - 2 * block + i * w
        };
        // SAFETY: `n >= 2 * block`: the first and the last `block` keys
        // are inside `v`.
        *x = unsafe { K::load(t, p.add(at)) };
    }
    let (mut l, mut r, mut wl, mut wr) = (block, n - block, 0, n);
    let write = |x, valid, apart, wl: &mut usize, wr: &mut usize| {
        // SAFETY: every call below states why its slots are free, and
        // apart where it says so.
        unsafe { put(t, p, pv, x, valid, apart, wl, wr) }
    };
    // Single vectors from the left first, a part one among them, so that
    // whole blocks remain: the left side keeps at least `block` free
    // slots, and the right side's writes, fewer than `block`, fit in its.
    let rest = (r - l) % block;
    let part = rest % w;
    if part != 0 {
        // SAFETY: `l + part <= r`: unread keys inside `v`.
        let x = unsafe { K::load_first(t, p.add(l), part) };
        l += part;
        write(x, first(part), false, &mut wl, &mut wr);
    }
    let all = first(w);
    for _ in 0..rest / w {
        // SAFETY: `l + N <= r`: unread keys inside `v`.
        let x = unsafe { K::load(t, p.add(l)) };
        l += w;
        // Apart: `wr - wl` is at least the `2 * block` free slots.
        write(x, all, true, &mut wl, &mut wr);
    }
    while l < r {
        // Read a block where less room is left: afterwards both sides
        // have at least `block` free slots for its writes. Without a
        // branch: which side is read depends on the keys.
        let left = usize::from(l - wl <= wr - r);
        let at = left * l + (1 - left) * (r - block);
        l += left * block;
        r -= (1 - left) * block;
        // Ask for the block four reads ahead on each side: which side is
        // read next is known only now, too late for the load to find its
        // keys in the cache (a third less time on 10M keys with this).
        // The addresses may lie outside `v`: a prefetch never faults, and
        // they are never dereferenced.
        for i in 0..UNROLL {
            let ahead = p.wrapping_add(l + 4 * block + i * w);
            let back = p.wrapping_add(r.wrapping_sub(5 * block).wrapping_add(i * w));
            _mm_prefetch::<_MM_HINT_T0>(ahead.cast());
            _mm_prefetch::<_MM_HINT_T0>(back.cast());
        }
        let mut xs = [held[0]; UNROLL];
        for (i, x) in xs.iter_mut().enumerate() {
            // SAFETY: `l + block <= r` before the read: `at..at + block`
            // is unread, inside `v`.
            *x = unsafe { K::load(t, p.add(at + i * w)) };
        }
        // Apart: `2 * block` free slots, at most `block` of them
        // written by these stores.
        for x in xs {
            write(x, all, true, &mut wl, &mut wr);
        }
    }
    // `wr - wl = 2 * block` free slots for the vectors held back, each of
    // which leaves at least `N` for the next one's unmasked store.
    for x in held {
        write(x, all, false, &mut wl, &mut wr);
    }
    debug_assert_eq!(wl, wr);
    wl
}

/// A pivot as a partition compares with it: the value whose key it is, so
/// that no lane is mapped to its key. For integers the value is the key.
/// A float compares by its key as the signed integer of its bits if the
/// pivot is not negative (every negative float lies below it, as its bits
/// do), and by its bits as an unsigned integer, reversed, if it is (the
/// negative floats run backwards in their bits, and every positive one
/// lies above).
#[derive(Clone, Copy)]
struct Pivot {
    value: __m512i,
    negative: bool,
}

impl Pivot {
    #[inline(always)]
    fn new<K: Lane>(t: Avx512, key: K::Key) -> Pivot {
        Pivot {
            value: K::keys(t, K::splat(t, key)),
            negative: K::FLOAT && key < K::Key::default(),
        }
    }

    /// Bit `i` set where lane `i` of `x` has a key at most the pivot's.
    #[inline(always)]
    fn above<K: Lane>(self, t: Avx512, x: __m512i) -> u32 {
        if self.negative {
            K::at_least_bits(t, x, self.value)
        } else {
            K::at_most(t, x, self.value)
        }
    }
}

/// Writes the lanes of `x` set in `valid` to both sides of a partition
/// of `p`'s keys around `pv`: the keys at most the pivot to `wl..`, which
/// advances, the others to `..wr`, which retreats.
///
/// With `apart` (and every lane valid), 8-lane keys take one permute,
/// which puts the keys at most the pivot first and the others last, where
/// two compresses cost more: the whole vector is stored at both ends, and
/// the next stores on each side overwrite the other side's keys.
///
/// # Safety
/// `p + wl..p + wl + N` (the low side's store is unmasked) and
/// `p + wr - N..p + wr` are free slots of the slice being partitioned,
/// and, with `apart`, they do not overlap.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn put<K: Lane>(
    t: Avx512,
    p: *mut K,
    pv: Pivot,
    x: __m512i,
    valid: u32,
    apart: bool,
    wl: &mut usize,
    wr: &mut usize,
) {
    let lo = pv.above::<K>(t, x) & valid;
    let hi = !lo & valid;
    let (nlo, nhi) = (lo.count_ones() as usize, hi.count_ones() as usize);
    if K::N == 8 && apart {
        // SAFETY: the table holds 256 rows of 8 lane indexes; `lo < 256`.
        let order = unsafe { K::load(t, crate::lanes::SPLIT8_64[lo as usize & 0xff].as_ptr()) };
        let y = K::permute(t, order, x);
        // SAFETY: the caller's free slots, apart.
        unsafe {
            K::store(t, p.add(*wl), y);
            K::store(t, p.add(*wr - K::N), y);
        }
    } else {
        // SAFETY: the caller's free slots; `nhi <= N`.
        unsafe {
            K::store(t, p.add(*wl), K::compress(t, lo, x));
            K::store_first(t, p.add(*wr - nhi), nhi, K::compress(t, hi, x));
        }
    }
    *wl += nlo;
    *wr -= nhi;
}

/// The smaller key of each pair of lanes: by [`Lane::lo`] of keys, or,
/// with `P` (plain), by [`Lane::lo_plain`] of values.
#[inline(always)]
fn smaller<K: Lane, const P: bool>(t: Avx512, a: __m512i, b: __m512i) -> __m512i {
    if P {
        K::lo_plain(t, a, b)
    } else {
        K::lo(t, a, b)
    }
}

/// The larger key of each pair of lanes, as [`smaller`] picks.
#[inline(always)]
fn larger<K: Lane, const P: bool>(t: Avx512, a: __m512i, b: __m512i) -> __m512i {
    if P {
        K::hi_plain(t, a, b)
    } else {
        K::hi(t, a, b)
    }
}

/// Lane `i` takes the larger key of itself and its partner `i ^ j` when
/// bit `j` and bit `k` of `i` differ: one step of a bitonic sort that
/// orders blocks of `k` lanes, ascending where bit `k` of `i` is clear.
#[inline(always)]
fn step<K: Lane, const P: bool>(t: Avx512, v: __m512i, j: usize, k: usize) -> __m512i {
    let partner = K::permute(t, K::permutation(t, j.trailing_zeros() as usize), v);
    let mask = lanes_with(j) ^ lanes_with(k);
    K::blend(
        t,
        mask,
        smaller::<K, P>(t, v, partner),
        larger::<K, P>(t, v, partner),
    )
}

/// The lanes `i < 32` with bit `x` (a power of two) set in `i`; lanes
/// past a vector's `N` are cut off by the mask's type.
#[inline(always)]
fn lanes_with(x: usize) -> u32 {
    match x {
        1 => 0xAAAA_AAAA,
        2 => 0xCCCC_CCCC,
        4 => 0xF0F0_F0F0,
        8 => 0xFF00_FF00,
        16 => 0xFFFF_0000,
        _ => 0,
    }
}

/// `v` sorted ascending.
#[inline(always)]
fn sort_vector<K: Lane, const P: bool>(t: Avx512, mut v: __m512i) -> __m512i {
    let mut k = 2;
    while k <= K::N {
        let mut j = k / 2;
        while j >= 1 {
            v = step::<K, P>(t, v, j, k);
            j /= 2;
        }
        k *= 2;
    }
    v
}

/// `v`, a bitonic sequence, sorted ascending.
#[inline(always)]
fn merge_vector<K: Lane, const P: bool>(t: Avx512, mut v: __m512i) -> __m512i {
    let mut j = K::N / 2;
    while j >= 1 {
        v = step::<K, P>(t, v, j, K::N);
        j /= 2;
    }
    v
}

/// `v`'s lanes in reverse order.
#[inline(always)]
fn reverse<K: Lane>(t: Avx512, v: __m512i) -> __m512i {
    K::permute(t, K::permutation(t, 4), v)
}

/// Sorts `M` vectors as one sequence of `M * N` keys, lane by lane:
/// vector `0` ends up with the smallest keys.
///
/// Where `M` is `N` or `2 N`, the keys first sort down the columns: a
/// sorting network on whole vectors orders each lane's `M` keys, one
/// instruction for every lane, with no key moved between lanes. The
/// columns are then merged where they stand, and at the end a transpose
/// of each square of `N` vectors (with `2 N`, the two squares' vectors
/// then interleaved) puts the result in order. Otherwise each vector is
/// sorted within itself first, which costs more shuffles per key, and
/// blocks of vectors are merged.
///
/// Each merge of blocks of `S` vectors is a function of its own whose
/// loops have constant bounds: compiled, they unroll into straight code on
/// registers, where one loop over every size of block kept the vectors in
/// memory.
#[inline(always)]
fn network<K: Lane, const M: usize, const P: bool>(t: Avx512, vs: &mut [__m512i; M]) {
    if M == K::N || M == 2 * K::N {
        columns::<K, M, P>(t, vs);
        merge_columns::<K, M, P>(t, vs);
        transpose::<K, M>(t, vs, 0);
        if M == 2 * K::N {
            transpose::<K, M>(t, vs, K::N);
            // Lane `c`'s first `N` keys are now vector `c`, its last `N`
            // vector `N + c`: put them side by side.
            let old = *vs;
            for c in 0..K::N {
                vs[2 * c] = old[c];
                vs[2 * c + 1] = old[K::N + c];
            }
        }
        return;
    }
    for v in vs.iter_mut() {
        *v = sort_vector::<K, P>(t, *v);
    }
    // Here `M < N`: at most 8 vectors.
    if M >= 2 {
        for b in vs.as_chunks_mut::<2>().0 {
            merge_block::<K, 2, P>(t, b);
        }
    }
    if M >= 4 {
        for b in vs.as_chunks_mut::<4>().0 {
            merge_block::<K, 4, P>(t, b);
        }
    }
    if M >= 8 {
        for b in vs.as_chunks_mut::<8>().0 {
            merge_block::<K, 8, P>(t, b);
        }
    }
}

/// Merges the sorted columns of `M` vectors (`N` or `2 N`) into one sorted
/// sequence in column order: key `i` of lane `j` is number `j * M + i`, so
/// that transposing each square of `N` vectors (and, for `2 N`,
/// interleaving the two) puts it in order. Each level merges runs of `2^k`
/// lanes in pairs: the keys of one run meet those of the other in reverse
/// order (lanes reversed within the pair, vectors `i` and `M - 1 - i`),
/// then half-cleaners of the bitonic halves, lane distances by a permute,
/// vector distances between whole vectors with no shuffle at all.
#[inline(always)]
fn merge_columns<K: Lane, const M: usize, const P: bool>(t: Avx512, vs: &mut [__m512i; M]) {
    if K::N > 1 {
        column_level::<K, M, P, 0>(t, vs);
    }
    if K::N > 2 {
        column_level::<K, M, P, 1>(t, vs);
    }
    if K::N > 4 {
        column_level::<K, M, P, 2>(t, vs);
    }
    if K::N > 8 {
        column_level::<K, M, P, 3>(t, vs);
    }
}

/// One level of [`merge_columns`]: runs of `2^L` lanes merged in pairs.
#[inline(always)]
fn column_level<K: Lane, const M: usize, const P: bool, const L: usize>(
    t: Avx512,
    vs: &mut [__m512i; M],
) {
    // Lane `x` of the pair's upper run meets lane `x ^ (2^(L+1) - 1)` of
    // the lower, vector `i` vector `M - 1 - i`; the upper run keeps the
    // larger keys.
    let mirror = K::xor_lanes(t, (2 << L) - 1);
    let upper = lanes_with(1 << L);
    for i in 0..M / 2 {
        let j = M - 1 - i;
        let (a, b) = (vs[i], vs[j]);
        let (ra, rb) = (K::permute(t, mirror, a), K::permute(t, mirror, b));
        vs[i] = K::blend(
            t,
            upper,
            smaller::<K, P>(t, a, rb),
            larger::<K, P>(t, a, rb),
        );
        vs[j] = K::blend(
            t,
            upper,
            smaller::<K, P>(t, b, ra),
            larger::<K, P>(t, b, ra),
        );
    }
    // Half-cleaners: lanes `2^(L-1)` down to 1 apart, then vectors `M/2`
    // down to 1 apart.
    let mut s = L;
    while s > 0 {
        s -= 1;
        let swap = K::xor_lanes(t, 1 << s);
        let upper = lanes_with(1 << s);
        for v in vs.iter_mut() {
            let q = K::permute(t, swap, *v);
            *v = K::blend(
                t,
                upper,
                smaller::<K, P>(t, *v, q),
                larger::<K, P>(t, *v, q),
            );
        }
    }
    let mut d = M / 2;
    while d >= 1 {
        for i in 0..M {
            if i & d == 0 {
                exchange::<K, M, P>(t, vs, i, i + d);
            }
        }
        d /= 2;
    }
}

/// Vector `a` keeps the smaller key of each lane, vector `b` the larger.
#[inline(always)]
fn exchange<K: Lane, const M: usize, const P: bool>(
    t: Avx512,
    vs: &mut [__m512i; M],
    a: usize,
    b: usize,
) {
    let (x, y) = (vs[a], vs[b]);
    vs[a] = smaller::<K, P>(t, x, y);
    vs[b] = larger::<K, P>(t, x, y);
}

/// Expands to the compare-exchanges of a sorting network, one statement
/// each, so that every vector index is a constant.
macro_rules! exchanges {
    ($k:ty, $t:expr, $vs:expr; $(($a:literal, $b:literal)),* $(,)?) => {
        $(exchange::<$k, M, P>($t, $vs, $a, $b);)*
    };
}

/// Sorts each lane's keys down the `M` vectors (`M` is 8 or 16), with the
/// smallest in vector 0.
#[inline(always)]
fn columns<K: Lane, const M: usize, const P: bool>(t: Avx512, vs: &mut [__m512i; M]) {
    if M == 8 {
        // 19 compare-exchanges in 6 layers (optimal in both).
        exchanges!(K, t, vs;
            (0, 2), (1, 3), (4, 6), (5, 7),
            (0, 4), (1, 5), (2, 6), (3, 7),
            (0, 1), (2, 3), (4, 5), (6, 7),
            (2, 4), (3, 5),
            (1, 4), (3, 6),
            (1, 2), (3, 4), (5, 6));
    } else if M == 16 {
        // 60 compare-exchanges in 10 layers (Green's network: the fewest
        // known for 16 keys).
        exchanges!(K, t, vs;
            (0, 13), (1, 12), (2, 15), (3, 14), (4, 8), (5, 6), (7, 11), (9, 10),
            (0, 5), (1, 7), (2, 9), (3, 4), (6, 13), (8, 14), (10, 15), (11, 12),
            (0, 1), (2, 3), (4, 5), (6, 8), (7, 9), (10, 11), (12, 13), (14, 15),
            (0, 2), (1, 3), (4, 10), (5, 11), (6, 7), (8, 9), (12, 14), (13, 15),
            (1, 2), (3, 12), (4, 6), (5, 7), (8, 10), (9, 11), (13, 14),
            (1, 4), (2, 6), (5, 8), (7, 10), (9, 13), (11, 14),
            (2, 4), (3, 6), (9, 12), (11, 13),
            (3, 5), (6, 8), (7, 9), (10, 12),
            (3, 4), (5, 6), (7, 8), (9, 10), (11, 12),
            (6, 7), (8, 9));
    } else {
        unreachable!("no column network for {M} vectors");
    }
}

/// Transposes the square of the `N` vectors from `vs[at]`: lane `j` of
/// vector `at + i` goes to lane `i` of vector `at + j`. Each step trades
/// the keys whose lane and vector numbers differ in one bit, two
/// vectors at a time.
#[inline(always)]
fn transpose<K: Lane, const M: usize>(t: Avx512, vs: &mut [__m512i; M], at: usize) {
    let mut row = K::N.trailing_zeros() as usize;
    while row > 0 {
        row -= 1;
        let d = 1 << row;
        let (lower, upper) = (
            K::transposition(t, row, false),
            K::transposition(t, row, true),
        );
        for i in 0..K::N {
            if i & d == 0 {
                let (a, b) = (vs[at + i], vs[at + i + d]);
                vs[at + i] = K::permute2(t, lower, a, b);
                vs[at + i + d] = K::permute2(t, upper, a, b);
            }
        }
    }
}

/// Merges the two sorted halves of `S` vectors into one sorted sequence.
#[inline(always)]
fn merge_block<K: Lane, const S: usize, const P: bool>(t: Avx512, b: &mut [__m512i; S]) {
    // Key `x` meets key `S N - 1 - x`: the smaller of each pair forms the
    // first half, the larger the second, each a bitonic sequence. The
    // second half is left in reverse order (a bitonic sequence still),
    // which saves reversing its vectors back.
    let mut lo = [b[0]; S];
    let mut hi = [b[0]; S];
    for i in 0..S / 2 {
        let (x, y) = (b[i], reverse::<K>(t, b[S - 1 - i]));
        lo[i] = smaller::<K, P>(t, x, y);
        hi[i] = larger::<K, P>(t, x, y);
    }
    for i in 0..S / 2 {
        b[i] = lo[i];
        b[S / 2 + i] = hi[i];
    }
    if S >= 8 {
        half_clean::<K, S, P>(t, b, 2);
    }
    if S >= 4 {
        half_clean::<K, S, P>(t, b, 1);
    }
    for v in b.iter_mut() {
        *v = merge_vector::<K, P>(t, *v);
    }
}

/// Each vector `i` with bit `d` clear keeps the smaller keys of itself and
/// vector `i + d`, which takes the larger: one half-cleaner step of a
/// bitonic merge across vectors.
#[inline(always)]
fn half_clean<K: Lane, const S: usize, const P: bool>(t: Avx512, b: &mut [__m512i; S], d: usize) {
    for i in 0..S {
        if i & d == 0 && i + d < S {
            let (x, y) = (b[i], b[i + d]);
            b[i] = smaller::<K, P>(t, x, y);
            b[i + d] = larger::<K, P>(t, x, y);
        }
    }
}

/// Sorts `v` (at most `SMALL_VECTORS * N` keys) in registers.
#[target_feature(enable = "avx512f,popcnt")]
fn small<K: Lane>(t: Avx512, v: &mut [K], lower: K::Key, upper: K::Key) {
    let vectors = v.len().div_ceil(K::N);
    match vectors {
        0 => {}
        1 => small_in::<K, 1>(t, v, lower, upper),
        2 => small_in::<K, 2>(t, v, lower, upper),
        3..=4 => small_in::<K, 4>(t, v, lower, upper),
        5..=8 => small_in::<K, 8>(t, v, lower, upper),
        _ => small_in::<K, 16>(t, v, lower, upper),
    }
}

/// [`small`] with `M` vectors, `v.len() <= M * N`.
#[target_feature(enable = "avx512f,popcnt")]
fn small_in<K: Lane, const M: usize>(t: Avx512, v: &mut [K], lower: K::Key, upper: K::Key) {
    let n = v.len();
    debug_assert!(n <= M * K::N);
    let p = v.as_mut_ptr();
    // SAFETY: no lane is read: a vector of the value with the largest key.
    let pad = unsafe { K::load_first(t, p, 0) };
    let mut vs = [pad; M];
    // The lanes of each vector that hold keys of `v`.
    let mut valid = [0; M];
    for (i, x) in vs.iter_mut().enumerate() {
        let at = i * K::N;
        if at + K::N <= n {
            // SAFETY: `at + N <= n`: inside `v`.
            *x = unsafe { K::load(t, p.add(at)) };
            valid[i] = first(K::N);
        } else if at < n {
            // SAFETY: `at..n`, fewer than `N` keys, inside `v`.
            *x = unsafe { K::load_first(t, p.add(at), n - at) };
            valid[i] = first(n - at);
        }
    }
    let odd = K::FLOAT && vs.iter().zip(valid).any(|(&x, m)| K::odd(t, x) & m != 0);
    if K::FLOAT && !odd {
        // Floats with no NaN and no -0.0 compare as themselves, padded
        // with `+inf` in place of the NaN that is the largest key.
        let top = K::plain_pad(t);
        for (x, m) in vs.iter_mut().zip(valid) {
            if m != first(K::N) {
                *x = K::blend(t, !m, *x, top);
            }
        }
        network::<K, M, true>(t, &mut vs);
    } else if let Some(base) = K::offset(t, lower, upper) {
        // Integers sort as offsets from `base`: the bits of positive
        // floats, below the `+inf` that pads them.
        let top = K::plain_pad(t);
        for (x, m) in vs.iter_mut().zip(valid) {
            *x = K::blend(t, m, top, K::sub(t, *x, base));
        }
        network::<K, M, true>(t, &mut vs);
        for x in vs.iter_mut() {
            *x = K::add(t, *x, base);
        }
    } else {
        for x in vs.iter_mut() {
            *x = K::keys(t, *x);
        }
        network::<K, M, false>(t, &mut vs);
        for x in vs.iter_mut() {
            *x = K::keys(t, *x);
        }
    }
    for (i, x) in vs.iter().enumerate() {
        let at = i * K::N;
        if at + K::N <= n {
            // SAFETY: as for the load.
            unsafe { K::store(t, p.add(at), *x) };
        } else if at < n {
            // SAFETY: as for the load.
            unsafe { K::store_first(t, p.add(at), n - at, *x) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lanes::testing::{assert_sorts_as, words};

    /// Sorts `v` in registers and compares it, bit for bit, with
    /// `sort_unstable_by_key` of the keys, which `want_key` gives.
    fn check<K: Lane + PartialEq, O: Ord>(t: Avx512, mut v: Vec<K>, want_key: impl Fn(&K) -> O) {
        let mut want = v.clone();
        want.sort_by_key(|x| want_key(x));
        let n = v.len();
        sort(t, &mut v);
        let same = v.iter().zip(&want).all(|(a, b)| want_key(a) == want_key(b));
        assert!(same, "{n} keys sorted differently: {v:?}");
    }

    /// The token. A test forced to run (`--ignored`) on a CPU without
    /// AVX-512F fails here, saying why, rather than passing untested.
    fn token() -> Avx512 {
        Avx512::cpu().expect("this CPU has no AVX-512F: the vector sort cannot run here")
    }

    /// Lengths around every size the network and the partition handle
    /// differently, and a few large ones.
    fn lengths() -> impl Iterator<Item = usize> {
        (0..600).chain([1000, 4097, 65_537, 300_000])
    }

    #[test]
    #[cfg_attr(not(avx512_here), ignore = "this CPU has no AVX-512F")]
    fn sorts_integers_of_every_length_and_spread() {
        let t = token();
        for n in lengths() {
            let seed = n as u64 + 7;
            for modulo in [1, 2, 3, 100, 1 << 32] {
                let w = words(n, seed, modulo);
                check(t, w.iter().map(|&x| x as u32).collect(), |&x| x);
                check(
                    t,
                    w.iter()
                        .map(|&x| (x as u32).wrapping_sub(50) as i32)
                        .collect(),
                    |&x| x,
                );
            }
            for modulo in [1, 2, 3, 100, u64::MAX] {
                let w = words(n, seed, modulo);
                check(t, w.clone(), |&x| x);
                check(
                    t,
                    w.iter().map(|&x| x.wrapping_sub(50) as i64).collect(),
                    |&x| x,
                );
                // Both ends of the range: the keys nearest `MIN` and `MAX`.
                check(
                    t,
                    w.iter().map(|&x| i64::MAX - (x % 3) as i64).collect(),
                    |&x| x,
                );
                check(
                    t,
                    w.iter().map(|&x| (x % 3) as i64 + i64::MIN).collect(),
                    |&x| x,
                );
            }
        }
    }

    /// Small parts of 64-bit integers whose bounds are close enough sort
    /// as offsets with the floats' minimum; at the widest span that still
    /// does and the narrowest that does not, with keys at both bounds.
    #[test]
    #[cfg_attr(not(avx512_here), ignore = "this CPU has no AVX-512F")]
    fn sorts_small_parts_as_offsets_up_to_the_widest_span() {
        let t = token();
        let widest = f64::INFINITY.to_bits() - NORMAL64 - 1;
        for span in [0, 1, 1000, widest - 1, widest, widest + 1, u64::MAX] {
            let offsets = span <= widest;
            for lower in [0, 1, 1 << 63, u64::MAX - span] {
                let upper = lower.wrapping_add(span);
                if upper < lower {
                    continue;
                }
                assert_eq!(u64::offset(t, lower, upper).is_some(), offsets);
                let (il, iu) = (lower.cast_signed(), upper.cast_signed());
                assert_eq!(i64::offset(t, il, iu).is_some(), offsets && il <= iu);
                for n in [1, 7, 8, 9, 31, 64, 65, 127, 128] {
                    let mut v: Vec<u64> =
                        words(n, (n as u64).wrapping_add(span), span.saturating_add(1))
                            .iter()
                            .map(|&x| lower + x)
                            .collect();
                    v[0] = upper;
                    v[n / 2] = lower;
                    let mut iv: Vec<i64> = v.iter().map(|&x| x.cast_signed()).collect();
                    let mut want = v.clone();
                    want.sort_unstable();
                    // SAFETY: the token says the CPU has AVX-512F.
                    unsafe { small(t, &mut v, lower, upper) };
                    assert_eq!(v, want, "u64, span {span:#x}, lower {lower:#x}");
                    if il <= iu {
                        let mut want = iv.clone();
                        want.sort_unstable();
                        // SAFETY: as above.
                        unsafe { small(t, &mut iv, il, iu) };
                        assert_eq!(iv, want, "i64, span {span:#x}, lower {il:#x}");
                    }
                }
            }
        }
    }

    /// Runs the column network of `M` vectors on every column of `M`
    /// zeros and ones, 16 columns (the lanes of `u32`) at a time, and
    /// returns the first column it left unsorted.
    #[target_feature(enable = "avx512f,popcnt")]
    fn unsorted_zero_one_column<const M: usize>(t: Avx512) -> Option<u32> {
        for base in (0..1u32 << M).step_by(16) {
            // Lane `j` of vector `i` holds bit `i` of column `base + j`.
            let mut rows = [[0u32; 16]; M];
            for (i, row) in rows.iter_mut().enumerate() {
                for (j, x) in row.iter_mut().enumerate() {
                    *x = (base + j as u32) >> i & 1;
                }
            }
            // SAFETY: each row is one vector of `u32`s.
            let mut vs = rows.map(|row| unsafe { <u32 as Lane>::load(t, row.as_ptr()) });
            columns::<u32, M, false>(t, &mut vs);
            for (row, v) in rows.iter_mut().zip(vs) {
                // SAFETY: as above.
                unsafe { <u32 as Lane>::store(t, row.as_mut_ptr(), v) };
            }
            for j in 0..16 {
                let column: Vec<u32> = rows.iter().map(|row| row[j]).collect();
                let ones = (base + j as u32).count_ones();
                if !column.is_sorted() || column.iter().sum::<u32>() != ones {
                    return Some(base + j as u32);
                }
            }
        }
        None
    }

    #[test]
    #[cfg_attr(not(avx512_here), ignore = "this CPU has no AVX-512F")]
    fn column_networks_sort_every_column_of_zeros_and_ones() {
        // A network that sorts every sequence of zeros and ones sorts
        // every sequence (the 0-1 principle).
        let t = token();
        // SAFETY: the token says the CPU has AVX-512F.
        assert_eq!(unsafe { unsorted_zero_one_column::<8>(t) }, None);
        // SAFETY: as above.
        assert_eq!(unsafe { unsorted_zero_one_column::<16>(t) }, None);
    }

    #[test]
    #[cfg_attr(not(avx512_here), ignore = "this CPU has no AVX-512F")]
    fn sorts_floats_in_total_order_keeping_their_bits() {
        let t = token();
        let special64 = crate::lanes::testing::SPECIAL_F64;
        // Leaves without a NaN or -0.0 compare floats as themselves, the
        // others as keys: each mix reaches one kind of leaf or both.
        let plain = |x: u64| {
            let f = f64::from_bits(x);
            if f.is_nan() || x == (-0.0f64).to_bits() {
                special64[(x >> 1) as usize % 4 + 7]
            } else {
                f
            }
        };
        let mixes: [(&str, &dyn Fn(u64) -> f64); 3] = [
            ("half special", &|x| {
                if x & 1 == 0 {
                    f64::from_bits(x)
                } else {
                    special64[(x >> 1) as usize % special64.len()]
                }
            }),
            ("no NaN or -0.0", &|x| {
                if x & 1 == 0 {
                    plain(x)
                } else {
                    // Zero, both infinities, a subnormal, or a repeat.
                    [
                        0.0,
                        f64::INFINITY,
                        f64::NEG_INFINITY,
                        f64::from_bits(3),
                        2.5,
                    ][(x >> 1) as usize % 5]
                }
            }),
            ("a special in 500", &|x| {
                if x % 500 == 0 {
                    special64[(x >> 9) as usize % special64.len()]
                } else {
                    plain(x)
                }
            }),
        ];
        for n in lengths() {
            let w = words(n, n as u64 + 3, u64::MAX);
            for (mix, value) in mixes {
                let f64s: Vec<f64> = w.iter().map(|&x| value(x)).collect();
                let f32s: Vec<f32> = f64s
                    .iter()
                    .zip(&w)
                    .map(|(&f, &x)| {
                        let g = if x & 2 == 0 {
                            f32::from_bits(x as u32)
                        } else {
                            f as f32
                        };
                        let odd = g.is_nan() || g.to_bits() == (-0.0f32).to_bits();
                        match mix {
                            "half special" => g,
                            _ if !odd => g,
                            "a special in 500" if x % 500 == 0 => g,
                            _ => 1.25,
                        }
                    })
                    .collect();
                assert_sorts_as(
                    &f32s,
                    |v| sort(t, v),
                    f32::total_cmp,
                    |x| x.to_bits().into(),
                    &format!("{n} f32s, {mix}"),
                );
                assert_sorts_as(
                    &f64s,
                    |v| sort(t, v),
                    f64::total_cmp,
                    |x| x.to_bits(),
                    &format!("{n} f64s, {mix}"),
                );
            }
        }
    }

    #[test]
    #[cfg_attr(not(avx512_here), ignore = "this CPU has no AVX-512F")]
    fn splits_into_ordered_parts_that_sort_into_the_whole() {
        let t = token();
        for parts in [0, 1, 2, 3, 8, usize::MAX] {
            for modulo in [1, 2, 1000, u64::MAX] {
                for n in [0, 100, 255, 256, 10_000, 100_000] {
                    let mut v = words(n, (n as u64).wrapping_add(parts as u64), modulo);
                    let mut want = v.clone();
                    want.sort_unstable();
                    let cut = split(t, &mut v, parts);
                    let most = n / (2 * UNROLL * <u64 as Lane>::N);
                    assert_eq!(cut.len(), parts.min(most).max(1), "{n} keys");
                    for pair in cut.windows(2) {
                        let below = pair[0].iter().max();
                        let above = pair[1].iter().min();
                        if let (Some(b), Some(a)) = (below, above) {
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
    #[cfg_attr(not(avx512_here), ignore = "this CPU has no AVX-512F")]
    fn splits_a_copy_into_ordered_parts_without_touching_the_source() {
        let t = token();
        for parts in [0, 1, 2, 3, 8, usize::MAX] {
            for modulo in [1, 2, 1000, u64::MAX] {
                for n in [0, 100, 255, 256, 257, 10_000, 100_001] {
                    let src = words(n, (n as u64).wrapping_add(parts as u64), modulo);
                    let mut dst = vec![7; n];
                    let mut want = src.clone();
                    want.sort_unstable();
                    let cut = split_from(t, &src, &mut dst, parts);
                    assert_eq!(cut.iter().map(|p| p.len()).sum::<usize>(), n);
                    for pair in cut.windows(2) {
                        if let (Some(b), Some(a)) = (pair[0].iter().max(), pair[1].iter().min()) {
                            assert!(b <= a, "{n} keys, {parts} parts, % {modulo}");
                        }
                    }
                    for part in cut {
                        sort(t, part);
                    }
                    assert_eq!(dst, want, "{n} keys, {parts} parts, % {modulo}");
                }
            }
        }
    }
}
