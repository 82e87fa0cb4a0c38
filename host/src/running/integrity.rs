//! Checking a backend's result without keeping a copy of the input: the
//! output must be sorted in the contract's order and hold the same multiset
//! of keys, which an order-independent fingerprint of the input shows.
//!
//! The fingerprint is the number of keys and the wrapping sum of a
//! quadratic function of each key's bits, so it does not depend on the
//! keys' order. A changed key changes the sum (its linear term alone sees
//! any single change), and so do a dropped or duplicated one, except when
//! several changes cancel out by accident.
//!
//! The check is built to ride along passes that happen anyway: [`Tally`]
//! takes the input block by block as the parser produces it, [`OutputCheck`] the
//! output block by block as the encoder writes it, each block while it is in
//! the L1 cache, so that checking adds arithmetic but no pass over memory.
//! For binary input and output the fingerprint is taken in the very loop
//! that copies the keys.
//! Both run vectorised with AVX-512 or AVX2 where the CPU has it.

use crate::keys::SortKey;
use std::fmt;
use std::mem::MaybeUninit;

/// An order-independent fingerprint of a multiset of keys: their number and
/// the wrapping sum of a quadratic function of each key's bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fingerprint {
    len: u64,
    sum: u64,
}

impl Fingerprint {
    /// The size of [`Fingerprint::to_le_bytes`].
    pub const BYTES: usize = 16;

    /// The fingerprint as bytes, to send to another process.
    pub fn to_le_bytes(&self) -> [u8; Self::BYTES] {
        let mut bytes = [0u8; Self::BYTES];
        bytes[..8].copy_from_slice(&self.len.to_le_bytes());
        bytes[8..].copy_from_slice(&self.sum.to_le_bytes());
        bytes
    }

    /// The fingerprint that [`Fingerprint::to_le_bytes`] gave `bytes`.
    pub fn from_le_bytes(bytes: [u8; Self::BYTES]) -> Fingerprint {
        let (len, sum) = bytes.split_at(8);
        Fingerprint {
            len: u64::from_le_bytes(len.try_into().unwrap_or_default()),
            sum: u64::from_le_bytes(sum.try_into().unwrap_or_default()),
        }
    }
}

/// How many keys the parser and encoder hand over at a time: 32 KiB of
/// 64-bit keys, half an L1 data cache.
pub const BLOCK: usize = 4096;

/// A key's contribution: its bits plus a product of keyed copies of them
/// (NH-style, as in UMAC). 64-bit keys multiply their two halves, which a
/// bug swapping halves between keys cannot preserve; 32-bit keys multiply
/// two copies of themselves. 32×32→64-bit products vectorise on every
/// x86-64.
#[inline(always)]
fn contribution<T: SortKey>(key: T) -> u64 {
    let bits = key.bits();
    let product = |a: u32, b: u32| u64::from(a) * u64::from(b);
    if size_of::<T>() == 4 {
        let x = bits as u32;
        u64::from(x).wrapping_add(product(x ^ 0x243F_6A88, x ^ 0x85A3_08D3))
    } else {
        let (lo, hi) = (bits as u32, (bits >> 32) as u32);
        bits.wrapping_add(product(lo ^ 0x1319_8A2E, hi ^ 0x0370_7344))
    }
}

#[inline(always)]
fn sum_of<T: SortKey>(keys: &[T]) -> u64 {
    keys.iter()
        .fold(0u64, |sum, &k| sum.wrapping_add(contribution(k)))
}

/// Whether every neighbour pair is in order, `prev` (if any) before the
/// first key.
#[inline(always)]
fn in_order<T: SortKey>(prev: Option<T>, keys: &[T]) -> bool {
    let first_in_order = match (prev, keys.first()) {
        (Some(p), Some(k)) => T::order(&p, k).is_le(),
        _ => true,
    };
    let out_of_order = keys
        .iter()
        .zip(keys.iter().skip(1))
        .fold(false, |bad, (a, b)| bad | T::order(a, b).is_gt());
    first_in_order & !out_of_order
}

/// The keys' fingerprint sum and whether they are in order, in one pass.
#[inline(always)]
fn sum_and_order<T: SortKey>((prev, keys): (Option<T>, &[T])) -> (u64, bool) {
    (sum_of(keys), in_order(prev, keys))
}

/// Copies the keys in `src`, little-endian, into `dst` (as many), and sums
/// their contributions in the same loop.
#[cfg(target_endian = "little")]
#[inline(always)]
fn copy_in_and_sum<T: SortKey>((src, dst): (&[u8], &mut [MaybeUninit<T>])) -> u64 {
    let mut sum = 0u64;
    for (bytes, slot) in src.chunks_exact(size_of::<T>()).zip(dst) {
        // SAFETY: `bytes` holds size_of::<T>() bytes, and every bit pattern
        // is a valid key; on a little-endian target they are the key.
        let key = unsafe { bytes.as_ptr().cast::<T>().read_unaligned() };
        slot.write(key);
        sum = sum.wrapping_add(contribution(key));
    }
    sum
}

/// Copies `keys` as little-endian bytes into `dst` (as many bytes) and sums
/// their contributions in the same loop; then whether they are in order,
/// over the block now in the cache.
#[cfg(target_endian = "little")]
#[inline(always)]
fn copy_out_sum_and_order<T: SortKey>(
    (prev, keys, dst): (Option<T>, &[T], &mut [MaybeUninit<u8>]),
) -> (u64, bool) {
    let mut sum = 0u64;
    for (&key, bytes) in keys.iter().zip(dst.chunks_exact_mut(size_of::<T>())) {
        // SAFETY: `bytes` has room for size_of::<T>() bytes; on a
        // little-endian target the key's memory is its little-endian form.
        unsafe { bytes.as_mut_ptr().cast::<T>().write_unaligned(key) };
        sum = sum.wrapping_add(contribution(key));
    }
    (sum, in_order(prev, keys))
}

/// Runs `$body($arg)` compiled for AVX-512 or AVX2 when the CPU has it.
macro_rules! with_best_simd {
    ($body:ident, $arg:expr, $in:ty, $ret:ty) => {
        'simd: {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
                fn avx512<T: SortKey>(arg: $in) -> $ret {
                    $body(arg)
                }
                #[target_feature(enable = "avx2")]
                fn avx2<T: SortKey>(arg: $in) -> $ret {
                    $body(arg)
                }
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                {
                    // SAFETY: the CPU supports these features (just checked).
                    break 'simd unsafe { avx512($arg) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2 (just checked).
                    break 'simd unsafe { avx2($arg) };
                }
            }
            $body($arg)
        }
    };
}

/// The fingerprint of a multiset of keys taken a block at a time, in any
/// order.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally(Fingerprint);

impl Tally {
    /// Adds `keys` to the multiset.
    pub fn add<T: SortKey>(&mut self, keys: &[T]) {
        let sum = with_best_simd!(sum_of, keys, &[T], u64);
        self.0.len += keys.len() as u64;
        self.0.sum = self.0.sum.wrapping_add(sum);
    }

    /// Decodes the little-endian keys in `src` into `dst` (exactly as many)
    /// and adds them, in one pass over the bytes.
    #[cfg(target_endian = "little")]
    pub(crate) fn add_decoding<T: SortKey>(&mut self, src: &[u8], dst: &mut [MaybeUninit<T>]) {
        assert_eq!(src.len(), size_of_val(dst), "as many keys as bytes hold");
        let sum = with_best_simd!(
            copy_in_and_sum,
            (src, dst),
            (&[u8], &mut [MaybeUninit<T>]),
            u64
        );
        self.0.len += dst.len() as u64;
        self.0.sum = self.0.sum.wrapping_add(sum);
    }

    /// The fingerprint of every key added.
    pub fn finish(self) -> Fingerprint {
        self.0
    }
}

/// The fingerprint of `keys`, by their bits (so -0.0 and +0.0 differ, and
/// NaN payloads count).
pub fn fingerprint<T: SortKey>(keys: &[T]) -> Fingerprint {
    let mut tally = Tally::default();
    tally.add(keys);
    tally.finish()
}

/// Why a result is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wrong {
    /// `keys[index] > keys[index + 1]` in the contract's order.
    NotSorted { index: usize },
    /// Sorted, but not the keys that went in: one was changed, dropped or
    /// duplicated.
    NotThePermutation,
    /// Pairs whose keys are equal, `index` and `index + 1`, out of their
    /// input order (or the same pair twice).
    NotStable { index: usize },
}

impl fmt::Display for Wrong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wrong::NotSorted { index } => write!(
                f,
                "the result is not sorted: keys {} and {} are out of order",
                index,
                index + 1
            ),
            Wrong::NotStable { index } => write!(
                f,
                "the result is not stable: keys {} and {} are equal but out of their input order",
                index,
                index + 1
            ),
            Wrong::NotThePermutation => f.write_str(
                "the result does not hold the same keys as the input: a key was changed, \
                 dropped or duplicated",
            ),
        }
    }
}

impl std::error::Error for Wrong {}

/// The check of a result taken a block at a time, in order: sorted across
/// blocks too, and the input's fingerprint at the end.
#[derive(Clone, Copy, Debug, Default)]
pub struct OutputCheck {
    tally: Tally,
    /// Index of the first key that sorts after its successor.
    unsorted: Option<usize>,
}

impl OutputCheck {
    /// Adds the next block of the result; `prev` is the key just before it
    /// (`None` for the first block).
    pub fn add<T: SortKey>(&mut self, prev: Option<T>, block: &[T]) {
        let (sum, sorted) =
            with_best_simd!(sum_and_order, (prev, block), (Option<T>, &[T]), (u64, bool));
        self.note(prev, block, sum, sorted);
    }

    /// [`OutputCheck::add`], encoding the block as little-endian bytes into `dst`
    /// (exactly its size) in the same pass.
    #[cfg(target_endian = "little")]
    pub(crate) fn add_encoding<T: SortKey>(
        &mut self,
        prev: Option<T>,
        block: &[T],
        dst: &mut [MaybeUninit<u8>],
    ) {
        assert_eq!(dst.len(), size_of_val(block), "room for the block");
        let (sum, sorted) = with_best_simd!(
            copy_out_sum_and_order,
            (prev, block, dst),
            (Option<T>, &[T], &mut [MaybeUninit<u8>]),
            (u64, bool)
        );
        self.note(prev, block, sum, sorted);
    }

    fn note<T: SortKey>(&mut self, prev: Option<T>, block: &[T], sum: u64, sorted: bool) {
        if !sorted && self.unsorted.is_none() {
            self.unsorted = Some(first_unsorted(prev, block, self.tally.0.len as usize));
        }
        self.tally.0.len += block.len() as u64;
        self.tally.0.sum = self.tally.0.sum.wrapping_add(sum);
    }

    /// Whether the result was sorted and holds the keys whose fingerprint
    /// is `input`.
    pub fn finish(self, input: Fingerprint) -> Result<(), Wrong> {
        if let Some(index) = self.unsorted {
            return Err(Wrong::NotSorted { index });
        }
        if self.tally.finish() != input {
            return Err(Wrong::NotThePermutation);
        }
        Ok(())
    }
}

/// Checks that `result` is sorted and has the fingerprint of the input, in
/// one pass over it.
pub fn verify<T: SortKey>(result: &[T], input: Fingerprint) -> Result<(), Wrong> {
    let mut check = OutputCheck::default();
    let mut prev = None;
    for block in result.chunks(BLOCK) {
        check.add(prev, block);
        prev = block.last().copied();
    }
    check.finish(input)
}

/// The fingerprint of `keys[i]` paired with `payload[i]` for every `i`: a
/// pair's two values are mixed into one before they count, so that a
/// payload moved apart from its key changes the fingerprint, where two
/// separate fingerprints would not see it.
pub fn fingerprint_pairs<T: SortKey, P: SortKey>(keys: &[T], payload: &[P]) -> Fingerprint {
    let mut tally = Tally::default();
    let mut mixed = [0u64; 256];
    for (keys, payload) in keys.chunks(mixed.len()).zip(payload.chunks(mixed.len())) {
        for ((slot, &k), &p) in mixed.iter_mut().zip(keys).zip(payload) {
            *slot = mix(k, p);
        }
        tally.add(&mixed[..keys.len().min(payload.len())]);
    }
    tally.finish()
}

/// One value for a pair: the key's bits plus the payload's bits spread by an
/// odd multiplier and turned half round, so that no pair of small keys and
/// payloads maps onto another pair.
#[inline(always)]
fn mix<T: SortKey, P: SortKey>(key: T, payload: P) -> u64 {
    key.bits()
        ^ payload
            .bits()
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(32)
}

/// Checks a stable sort of pairs: the keys in order, equal keys with their
/// payloads ascending (a payload is each key's position in the input, so
/// that is the input's order), and the same pairs as went in, whose
/// [`fingerprint_pairs`] is `input`. Payloads must be distinct: two equal
/// pairs read as out of order.
pub fn verify_pairs<T: SortKey, P: SortKey + Ord>(
    keys: &[T],
    payload: &[P],
    input: Fingerprint,
) -> Result<(), Wrong> {
    if keys.len() != payload.len() {
        return Err(Wrong::NotThePermutation);
    }
    pairs_in_order(keys, payload, 0)?;
    if fingerprint_pairs(keys, payload) != input {
        return Err(Wrong::NotThePermutation);
    }
    Ok(())
}

/// Keys below this many are fingerprinted and checked on one thread.
const PARALLEL_CHECK: usize = 1 << 20;

impl Fingerprint {
    /// The fingerprint of both multisets together.
    fn plus(self, other: Fingerprint) -> Fingerprint {
        Fingerprint {
            len: self.len + other.len,
            sum: self.sum.wrapping_add(other.sum),
        }
    }
}

/// `work` on each of up to `threads` contiguous ranges of `0..n`, one
/// thread each (the first on this one), the results in order; one range
/// below `PARALLEL_CHECK`.
fn on_ranges<R: Send>(
    n: usize,
    threads: usize,
    work: impl Fn(std::ops::Range<usize>) -> R + Sync,
) -> Vec<R> {
    // One range below `PARALLEL_CHECK` keys, and at least a quarter of
    // that a thread above.
    let threads = if n < PARALLEL_CHECK {
        1
    } else {
        threads.min(n / (PARALLEL_CHECK / 4)).max(1)
    };
    let ranges: Vec<_> = (0..threads)
        .map(|t| t * n / threads..(t + 1) * n / threads)
        .collect();
    crate::threads::each(ranges, work)
}

/// The fingerprint of `keys` ([`Tally::add`] of them all), on up to
/// `threads` threads.
pub fn fingerprint_on<T: SortKey>(keys: &[T], threads: usize) -> Fingerprint {
    on_ranges(keys.len(), threads, |r| {
        let mut tally = Tally::default();
        tally.add(&keys[r]);
        tally.finish()
    })
    .into_iter()
    .fold(Fingerprint::default(), Fingerprint::plus)
}

/// [`verify`] on up to `threads` threads: the same verdict, the same index.
pub fn verify_on<T: SortKey>(
    result: &[T],
    input: Fingerprint,
    threads: usize,
) -> Result<(), Wrong> {
    let parts = on_ranges(result.len(), threads, |r| {
        let mut check = OutputCheck::default();
        let mut prev = None;
        for block in result[r.clone()].chunks(BLOCK) {
            check.add(prev, block);
            prev = block.last().copied();
        }
        // The range's first unsorted key, then the pair across its end,
        // whose index comes after every one inside it.
        let across = result
            .get(r.end)
            .filter(|next| r.end > 0 && T::order(&result[r.end - 1], next).is_gt())
            .map(|_| r.end - 1);
        (
            check.unsorted.map(|i| r.start + i).or(across),
            check.tally.finish(),
        )
    });
    let mut total = Fingerprint::default();
    for (unsorted, print) in parts {
        if let Some(index) = unsorted {
            return Err(Wrong::NotSorted { index });
        }
        total = total.plus(print);
    }
    if total != input {
        return Err(Wrong::NotThePermutation);
    }
    Ok(())
}

/// [`fingerprint_pairs`] on up to `threads` threads.
pub fn fingerprint_pairs_on<T: SortKey, P: SortKey>(
    keys: &[T],
    payload: &[P],
    threads: usize,
) -> Fingerprint {
    let n = keys.len().min(payload.len());
    on_ranges(n, threads, |r| {
        fingerprint_pairs(&keys[r.clone()], &payload[r])
    })
    .into_iter()
    .fold(Fingerprint::default(), Fingerprint::plus)
}

/// [`verify_pairs`] on up to `threads` threads: the same verdict, the same
/// index.
pub fn verify_pairs_on<T: SortKey, P: SortKey + Ord>(
    keys: &[T],
    payload: &[P],
    input: Fingerprint,
    threads: usize,
) -> Result<(), Wrong> {
    if keys.len() != payload.len() {
        return Err(Wrong::NotThePermutation);
    }
    let n = keys.len();
    let parts = on_ranges(n, threads, |r| {
        // The pair across the range's end is this range's to check.
        let end = (r.end + 1).min(n);
        let order = pairs_in_order(&keys[r.start..end], &payload[r.start..end], r.start);
        (order, fingerprint_pairs(&keys[r.clone()], &payload[r]))
    });
    let mut total = Fingerprint::default();
    for (order, print) in parts {
        order?;
        total = total.plus(print);
    }
    if total != input {
        return Err(Wrong::NotThePermutation);
    }
    Ok(())
}

/// Whether each key of `keys` is at most the next, and equal keys' payloads
/// ascend; an index is counted from `offset`.
fn pairs_in_order<T: SortKey, P: SortKey + Ord>(
    keys: &[T],
    payload: &[P],
    offset: usize,
) -> Result<(), Wrong> {
    for (i, (k, p)) in keys.windows(2).zip(payload.windows(2)).enumerate() {
        let index = offset + i;
        match T::order(&k[0], &k[1]) {
            std::cmp::Ordering::Less => {}
            std::cmp::Ordering::Greater => return Err(Wrong::NotSorted { index }),
            std::cmp::Ordering::Equal if p[0] < p[1] => {}
            std::cmp::Ordering::Equal => return Err(Wrong::NotStable { index }),
        }
    }
    Ok(())
}

/// The index of the first key that sorts after its successor, in a result
/// where `block` starts at index `start` and `prev` is the key before it.
#[cold]
fn first_unsorted<T: SortKey>(prev: Option<T>, block: &[T], start: usize) -> usize {
    if let (Some(p), Some(k)) = (prev, block.first())
        && T::order(&p, k).is_gt()
    {
        return start.saturating_sub(1);
    }
    start
        + block
            .windows(2)
            .position(|w| T::order(&w[0], &w[1]).is_gt())
            .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::workload::{Dist, WorkloadKey, generate};

    #[test]
    fn the_fingerprint_ignores_order_and_sees_every_change() {
        let keys: Vec<f64> = generate(Dist::Specials, 10_000, 9);
        let mut shuffled = keys.clone();
        shuffled.reverse();
        shuffled.swap(3, 7000);
        assert_eq!(fingerprint(&keys), fingerprint(&shuffled));

        let mut changed = keys.clone();
        changed[5] = f64::from_bits(changed[5].to_bits() ^ 1);
        assert_ne!(fingerprint(&keys), fingerprint(&changed));

        let mut duplicated = keys.clone();
        duplicated[5] = duplicated[6];
        assert_ne!(fingerprint(&keys), fingerprint(&duplicated));

        assert_ne!(fingerprint(&keys), fingerprint(&keys[1..]));
        assert_ne!(fingerprint(&[0.0f64]), fingerprint(&[-0.0f64]));
    }

    #[test]
    fn changes_that_cancel_in_a_sum_still_change_the_fingerprint() {
        // One key up by d, another down by d: the plain sum is the same.
        let keys: Vec<u64> = generate(Dist::Uniform, 1000, 3);
        let mut shifted = keys.clone();
        shifted[10] = shifted[10].wrapping_add(1 << 40);
        shifted[20] = shifted[20].wrapping_sub(1 << 40);
        assert_ne!(fingerprint(&keys), fingerprint(&shifted));
        // Halves swapped between two keys.
        let (a, b) = (0x1111_2222_3333_4444u64, 0x5555_6666_7777_8888u64);
        let swapped = [
            (a & 0xffff_ffff) | (b & !0xffff_ffff),
            (b & 0xffff_ffff) | (a & !0xffff_ffff),
        ];
        assert_ne!(fingerprint(&[a, b]), fingerprint(&swapped));
        // The same for 32-bit keys, negative ones included.
        let keys: Vec<i32> = generate(Dist::Uniform, 1000, 4);
        let mut shifted = keys.clone();
        shifted[1] = shifted[1].wrapping_add(7);
        shifted[2] = shifted[2].wrapping_sub(7);
        assert_ne!(fingerprint(&keys), fingerprint(&shifted));
        assert_ne!(fingerprint(&[-1i32, 1]), fingerprint(&[0i32, 0]));
    }

    #[test]
    fn verify_accepts_the_reference_and_names_each_fault() {
        let input: Vec<i32> = generate(Dist::Zipf, 20_000, 4);
        let print = fingerprint(&input);
        let mut sorted = input.clone();
        sorted.sort_unstable();
        assert_eq!(verify(&sorted, print), Ok(()));

        let mut unsorted = sorted.clone();
        unsorted.swap(
            9000,
            9001 + sorted[9001..]
                .iter()
                .position(|&k| k != sorted[9000])
                .unwrap_or(0),
        );
        assert!(matches!(
            verify(&unsorted, print),
            Err(Wrong::NotSorted { index: 9000 })
        ));

        let mut lost = sorted.clone();
        let i = lost
            .windows(2)
            .position(|w| w[0] != w[1])
            .expect("two values");
        lost[i + 1] = lost[i]; // still sorted, one key duplicated, one gone
        assert_eq!(verify(&lost, print), Err(Wrong::NotThePermutation));

        assert_eq!(verify::<u64>(&[], fingerprint::<u64>(&[])), Ok(()));
    }

    #[test]
    fn an_unsorted_pair_is_found_inside_and_across_blocks() {
        for at in [0, 17, BLOCK - 2, BLOCK - 1, BLOCK, 2 * BLOCK - 1, 9998] {
            let mut keys: Vec<u64> = (0..10_000).collect();
            keys.swap(at, at + 1);
            let print = fingerprint(&keys);
            assert_eq!(
                verify(&keys, print),
                Err(Wrong::NotSorted { index: at }),
                "swapped at {at}"
            );
        }
    }

    #[test]
    fn blocks_in_any_size_give_the_whole_slice_verdict() {
        let mut keys: Vec<f32> = generate(Dist::Specials, 9000, 5);
        let print = fingerprint(&keys);
        keys.sort_unstable_by(f32::total_cmp);
        for size in [1, 3, 1000, BLOCK, 20_000] {
            let mut check = OutputCheck::default();
            let mut prev = None;
            for block in keys.chunks(size) {
                check.add(prev, block);
                prev = block.last().copied();
            }
            assert_eq!(check.finish(print), Ok(()), "blocks of {size}");
        }
    }

    /// The one-pass decoding and encoding give the keys, the bytes and the
    /// verdicts of the separate passes.
    #[cfg(target_endian = "little")]
    #[test]
    fn checking_while_copying_matches_the_separate_passes() {
        fn case<T: WorkloadKey>(len: usize, seed: u64) {
            let keys: Vec<T> = generate(Dist::Specials, len, seed);
            let bytes: Vec<u8> = keys
                .iter()
                .flat_map(|k| k.bits().to_le_bytes()[..size_of::<T>()].to_vec())
                .collect();
            let mut tally = Tally::default();
            let mut decoded: Vec<MaybeUninit<T>> = vec![MaybeUninit::uninit(); len];
            for (src, dst) in bytes
                .chunks(BLOCK * size_of::<T>())
                .zip(decoded.chunks_mut(BLOCK))
            {
                tally.add_decoding(src, dst);
            }
            // SAFETY: add_decoding wrote every key.
            let decoded: Vec<T> = decoded.iter().map(|k| unsafe { k.assume_init() }).collect();
            let bits = |v: &[T]| v.iter().map(|k| k.bits()).collect::<Vec<_>>();
            assert_eq!(bits(&decoded), bits(&keys), "{len} {}", T::TYPE);
            assert_eq!(tally.finish(), fingerprint(&keys), "{len} {}", T::TYPE);

            let encode = |sorted: &[T]| {
                let mut check = OutputCheck::default();
                let mut out = vec![MaybeUninit::<u8>::uninit(); size_of_val(sorted)];
                let mut prev = None;
                for (block, dst) in sorted
                    .chunks(BLOCK)
                    .zip(out.chunks_mut(BLOCK * size_of::<T>()))
                {
                    check.add_encoding(prev, block, dst);
                    prev = block.last().copied();
                }
                // SAFETY: add_encoding wrote every byte.
                let out: Vec<u8> = out.iter().map(|b| unsafe { b.assume_init() }).collect();
                (check.finish(fingerprint(&keys)), out)
            };
            let mut sorted = keys.clone();
            T::reference_sort(&mut sorted);
            let sorted_bytes: Vec<u8> = sorted
                .iter()
                .flat_map(|k| k.bits().to_le_bytes()[..size_of::<T>()].to_vec())
                .collect();
            assert_eq!(encode(&sorted), (Ok(()), sorted_bytes), "{len} {}", T::TYPE);
            if len >= 2 {
                let at = len / 2 - 1;
                if let Some(next) = sorted[at + 1..]
                    .iter()
                    .position(|k| T::order(&sorted[at], k).is_lt())
                {
                    let mut unsorted = sorted.clone();
                    unsorted.swap(at, at + 1 + next);
                    assert_eq!(
                        encode(&unsorted).0,
                        verify(&unsorted, fingerprint(&keys)),
                        "{len} {}",
                        T::TYPE
                    );
                    assert!(encode(&unsorted).0.is_err());
                }
                let mut lost = sorted.clone();
                lost[0] = lost[1];
                if lost[0].bits() != sorted[0].bits() {
                    assert_eq!(encode(&lost).0, Err(Wrong::NotThePermutation));
                }
            }
        }
        for (i, len) in [0, 1, 2, 3, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 5]
            .into_iter()
            .enumerate()
        {
            let seed = i as u64;
            case::<u32>(len, seed);
            case::<u64>(len, seed);
            case::<i32>(len, seed);
            case::<i64>(len, seed);
            case::<f32>(len, seed);
            case::<f64>(len, seed);
        }
    }

    /// The checks on several threads give the one-thread verdicts and
    /// indexes: a result right, out of order inside a range and across
    /// two, unstable, and missing a key.
    #[test]
    fn checks_on_threads_agree_with_one_thread() {
        let n = PARALLEL_CHECK + 12_345;
        let sorted: Vec<u64> = (0..n as u64).map(|i| i / 3).collect();
        let rows: Vec<u32> = (0..n as u32).collect();
        let print = fingerprint_on(&sorted, 1);
        let pairs = fingerprint_pairs_on(&sorted, &rows, 1);
        for threads in [2, 3, 7] {
            assert_eq!(fingerprint_on(&sorted, threads), print);
            assert_eq!(fingerprint_pairs_on(&sorted, &rows, threads), pairs);
            assert_eq!(verify_on(&sorted, print, threads), Ok(()));
            assert_eq!(verify_pairs_on(&sorted, &rows, pairs, threads), Ok(()));
        }
        // Every boundary of 2, 3 and 7 ranges, and places inside them.
        let mut places: Vec<usize> = [2, 3, 7]
            .iter()
            .flat_map(|&t| (1..t).map(move |i| i * n / t))
            .flat_map(|b| [b - 1, b])
            .collect();
        places.extend([0, 1, n / 5, n - 2]);
        for at in places {
            let mut keys = sorted.clone();
            keys.swap(at, at + 1);
            keys[at] += 1;
            let mut rows = rows.clone();
            rows.swap(at, at + 1);
            let one = verify(&keys, print);
            let one_pairs = verify_pairs(&keys, &rows, pairs);
            for threads in [2, 3, 7] {
                assert_eq!(
                    verify_on(&keys, print, threads),
                    one,
                    "{at}, {threads} threads"
                );
                assert_eq!(
                    verify_pairs_on(&keys, &rows, pairs, threads),
                    one_pairs,
                    "{at}, {threads} threads"
                );
            }
        }
        let mut unstable = rows.clone();
        unstable.swap(n / 2, n / 2 + 1);
        let one = verify_pairs(&sorted, &unstable, pairs);
        assert!(matches!(one, Err(Wrong::NotStable { .. })));
        assert_eq!(verify_pairs_on(&sorted, &unstable, pairs, 2), one);
        let short = &sorted[..n - 1];
        assert_eq!(verify_on(short, print, 3), Err(Wrong::NotThePermutation));
    }
}
