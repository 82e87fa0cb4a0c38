//! Keys whose span is small (integers in a narrow range: ages, counters,
//! identifiers, offsets): counted, or sorted as 32-bit offsets; and 64-bit
//! floats that 32 bits hold exactly (whole numbers, data widened from
//! `f32`): sorted as 32-bit keys.
//!
//! A sorted sample of the keys decides which, if either, may apply:
//!
//! - **Counted**, where the keys span no more values than there are keys
//!   and the table of one counter per value fits the L2 cache: one pass
//!   finds the smallest and the largest key, one counts each key, one
//!   writes the keys back in order from the counts. A table out of the
//!   cache costs more a key than a sort in vector registers does.
//! - **Narrowed**, where 64-bit keys span fewer than `2^32` values: each
//!   key, less a base, is written as a `u32` into the first half of the
//!   slice's own memory, those are sorted (16 to a vector where 64-bit
//!   keys go 8), and written back, widened, from the last. The base is
//!   the smallest key where a count's pass found it, else a guess from the
//!   sample, checked key by key as the keys are narrowed: at a key out of
//!   range the narrowing is undone and the keys are left to the sort.
//! - **Exact in 32 bits**, where every `f64` of the sample is an `i32`,
//!   else every one an `f32`, bit for bit (so no NaN, and no `-0.0` as an
//!   `i32`): each value is narrowed to the ordered 32-bit key of that
//!   `i32` or `f32` in the same way, checked as it goes, and widened back
//!   from it exactly.
//!
//! Every key type qualifies for a count or offsets, floats by their
//! ordered keys, though only integers are dense in practice; the keys are
//! written back from their ordered keys, so nothing changes.

use crate::sort::{Bits, RadixKey, fill};

/// Most counters the table may take: 1 MiB of `u32` counters, which stays
/// in the L2 cache while every key's counter is incremented at random.
const MOST_COUNTERS: u64 = 1 << 18;

/// Sorts `v` by counting or as narrowed offsets or 32-bit keys, and
/// returns true, where its keys' span or its values allow (see the module
/// documentation) and, for offsets from a base guessed from the sample or
/// keys whose sample was exact, where every key turns out to fit; else
/// returns false and leaves `v` as it is. `sample`, a sorted sample of
/// the keys, decides whether to look: a sample whose span is already too
/// wide, and whose values 32 bits do not hold, costs no pass. `sort`
/// sorts the narrowed keys as `u32`.
pub(crate) fn sorted<T: RadixKey>(v: &mut [T], sample: &[T::K], sort: impl Fn(&mut [u32])) -> bool {
    if let Some((count_below, narrow_below)) = spans::<T>(v.len(), sample)
        && by_span(v, sample, count_below, narrow_below, &sort)
    {
        return true;
    }
    match exact_as_int::<T>(sample) {
        Some(int) => narrowed(v, |x| x.exact32(int), |k| T::from_exact32(k, int), sort),
        None => false,
    }
}

/// [`sorted`] where the sample's span is less than `count_below` or
/// `narrow_below`.
fn by_span<T: RadixKey>(
    v: &mut [T],
    sample: &[T::K],
    count_below: u64,
    narrow_below: u64,
    sort: impl FnOnce(&mut [u32]),
) -> bool {
    let (lo, hi) = (sample[0].wide(), sample[sample.len() - 1].wide());
    if hi - lo < count_below {
        // A count needs the true bounds, which a pass finds.
        let (min, max) = min_max(v);
        let span = max - min;
        if span < count_below {
            count(v, min, span);
            return true;
        }
        return span < narrow_below && offsets(v, min, sort);
    }
    // Too wide for a count: offsets from below the sample's smallest key,
    // with as much room below it as above its largest (less near either
    // end of the keys' range). The narrowing checks each key as it goes.
    let room = (narrow_below - 1 - (hi - lo)) / 2;
    let base = lo.saturating_sub(room).min(u64::MAX - (narrow_below - 1));
    offsets(v, base, sort)
}

/// Whether [`sorted`] may sort `n` keys of which `sample` is a sorted
/// sample: not where the sample's span is already too wide, nor its
/// values too fine for 32 bits.
pub(crate) fn may_sort<T: RadixKey>(n: usize, sample: &[T::K]) -> bool {
    spans::<T>(n, sample).is_some() || exact_as_int::<T>(sample).is_some()
}

/// Whether every value of `sample` (sorted keys of 64-bit floats) is held
/// exactly by an `i32` (`Some(true)`), else by an `f32` (`Some(false)`);
/// `None` if by neither, and for every other type.
fn exact_as_int<T: RadixKey>(sample: &[T::K]) -> Option<bool> {
    if !T::EXACT32 || sample.is_empty() {
        return None;
    }
    let exact = |int| {
        sample
            .iter()
            .all(|&k| T::from_key(k).exact32(int) >> 32 == 0)
    };
    if exact(true) {
        Some(true)
    } else if exact(false) {
        Some(false)
    } else {
        None
    }
}

/// [`narrowed`] to offsets from `base`: keys from `base` to `base + 2^32 - 1`.
fn offsets<T: RadixKey>(v: &mut [T], base: u64, sort: impl FnOnce(&mut [u32])) -> bool {
    narrowed(
        v,
        |x| x.key().wide().wrapping_sub(base),
        |o| T::from_key(T::K::narrow(base + u64::from(o))),
        sort,
    )
}

/// The spans below which `n` keys are counted and narrowed, if `sample`,
/// a sorted sample of them, spans less than one of them.
fn spans<T: RadixKey>(n: usize, sample: &[T::K]) -> Option<(u64, u64)> {
    // The counters and the offsets' sort are `u32`.
    let n = u32::try_from(n).ok()?;
    let count_below = u64::from(n).min(MOST_COUNTERS);
    let narrow_below = if size_of::<T>() == 8 { 1 << 32 } else { 0 };
    let (lo, hi) = (sample.first()?, sample.last()?);
    (hi.wide() - lo.wide() < count_below.max(narrow_below)).then_some((count_below, narrow_below))
}

/// The counting sort of `v`, whose keys lie from `min` to `min + span`
/// (`span < MOST_COUNTERS`).
fn count<T: RadixKey>(v: &mut [T], min: u64, span: u64) {
    let mut counts = vec![0u32; span as usize + 1];
    for x in v.iter() {
        // `min <= key <= min + span`: inside the table.
        counts[(x.key().wide() - min) as usize] += 1;
    }
    fill(v, &counts, min, 0);
}

/// Keys moved in one go by [`narrowed`] where what it reads and what it
/// writes cannot overlap.
const CHUNK: usize = 1 << 10;

/// Sorts `v`, 64-bit values, as the 32-bit keys `narrow` gives them, in
/// the first half of its own memory, and returns true; or returns false,
/// `v` as it was, where `narrow` gives a value `2^32` or more (it does not
/// fit). `value` is `narrow`'s inverse, and the keys order as the values.
fn narrowed<T: RadixKey>(
    v: &mut [T],
    narrow: impl Fn(T) -> u64,
    value: impl Fn(u32) -> T,
    sort: impl FnOnce(&mut [u32]),
) -> bool {
    // Two `u32` keys to a value, each in place of half of one: a type of
    // another size or of less alignment (a `RadixKey` of the caller's,
    // whose `EXACT32` is not this crate's) is left to the sort.
    if size_of::<T>() != 8 || align_of::<T>() < align_of::<u32>() {
        return false;
    }
    let n = v.len();
    let p = v.as_mut_ptr();
    let q = p.cast::<u32>();
    let offset = |x: T| narrow(x) as u32;
    // Offset `i` takes bytes `4i..4i + 4`, key `i` bytes `8i..8i + 8`: going
    // up, each key is read before any offset is written over it, and a
    // chunk of keys from `CHUNK` on shares no byte with its offsets, nor
    // with any offset written before it.
    let first = n.min(CHUNK);
    // The bits above the key's 32, or-ed over the values: 0 while every
    // value fits.
    if v[..first].iter().fold(0, |acc, &x| acc | narrow(x) >> 32) != 0 {
        return false;
    }
    for i in 0..first {
        // SAFETY: `i < n`; offset `i` (bytes `4i..4i + 4`) lands on key
        // `i / 2`, read already, or, for `i = 0`, on key 0, read just
        // before; key `i` is first written over by offset `2i`, later.
        unsafe { q.add(i).write(offset(p.add(i).read())) };
    }
    let mut at = first;
    while at < n {
        let len = CHUNK.min(n - at);
        // SAFETY: keys `at..at + len` (bytes `8 at..`) and offsets
        // `at..at + len` (bytes `4 at..4 at + 4 len`, below `8 at` since
        // `len <= at`) lie inside `v` and apart; `u32` needs no more
        // alignment than `T`.
        let (keys, offsets) = unsafe {
            (
                std::slice::from_raw_parts(p.add(at), len),
                std::slice::from_raw_parts_mut(q.add(at), len),
            )
        };
        let mut over = 0;
        for (o, &x) in offsets.iter_mut().zip(keys) {
            let k = narrow(x);
            *o = k as u32;
            over |= k >> 32;
        }
        if over != 0 {
            // The offsets just written lie over keys before `at`, which
            // the widening rewrites; the keys from `at` on are untouched.
            widen(p, at, value);
            return false;
        }
        at += len;
    }
    {
        // SAFETY: the first `n` offsets, written above, inside `v`, which
        // nothing else reaches while this borrow lives.
        let offsets = unsafe { std::slice::from_raw_parts_mut(q, n) };
        sort(offsets);
    }
    widen(p, n, value);
    true
}

/// Writes `value` of each of the first `n` `u32` offsets at `p` over the
/// first `n` keys at `p`, which hold them.
fn widen<T: RadixKey>(p: *mut T, n: usize, value: impl Fn(u32) -> T) {
    let q = p.cast::<u32>();
    // Going down, each offset is read before its key is written, and a
    // chunk from `CHUNK` on shares no byte with its keys, nor with any
    // offset read after it.
    let mut end = n;
    while end > CHUNK {
        let at = (end - CHUNK).max(CHUNK);
        // SAFETY: as for the way up in `narrowed`, in the other direction.
        let (offsets, keys) = unsafe {
            (
                std::slice::from_raw_parts(q.add(at), end - at),
                std::slice::from_raw_parts_mut(p.add(at), end - at),
            )
        };
        for (x, &o) in keys.iter_mut().zip(offsets) {
            *x = value(o);
        }
        end = at;
    }
    for i in (0..end).rev() {
        // SAFETY: `i < n`; offset `i` (bytes `4i..4i + 4`) lies in key
        // `i / 2`, which is written later, going down, or, for `i = 0`, in
        // key 0, written just after the read; key `i` (bytes `8i..`) holds
        // offsets `2i` and `2i + 1`, read already.
        unsafe { p.add(i).write(value(q.add(i).read())) };
    }
}

/// The smallest and the largest key of `v` (widened), four keys at a time
/// so that the comparisons of one do not wait on those of the last.
fn min_max<T: RadixKey>(v: &[T]) -> (u64, u64) {
    let mut lo = [u64::MAX; 4];
    let mut hi = [0; 4];
    let (quads, rest) = v.as_chunks::<4>();
    for q in quads {
        for i in 0..4 {
            let k = q[i].key().wide();
            lo[i] = lo[i].min(k);
            hi[i] = hi[i].max(k);
        }
    }
    for x in rest {
        let k = x.key().wide();
        lo[0] = lo[0].min(k);
        hi[0] = hi[0].max(k);
    }
    (
        lo.into_iter().min().unwrap_or(u64::MAX),
        hi.into_iter().max().unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lanes::testing::words;

    /// Runs [`sorted`] on `v` with a sample of every key but the largest
    /// (which the pass over the keys must find), checks that `v` is then
    /// sorted, with the same keys, or else unchanged, and returns whether
    /// it sorted.
    fn check<T: RadixKey + Ord + std::fmt::Debug>(v: Vec<T>) -> bool {
        check_with(v, true)
    }

    /// [`check`], with the largest key in the sample unless `drop_largest`.
    fn check_with<T: RadixKey + Ord + std::fmt::Debug>(mut v: Vec<T>, drop_largest: bool) -> bool {
        let before = v.clone();
        let mut want = v.clone();
        want.sort_unstable();
        let mut sample: Vec<T::K> = v.iter().map(|x| x.key()).collect();
        sample.sort_unstable();
        if drop_largest {
            sample.pop();
        }
        let done = sorted(&mut v, &sample, crate::sort::radix_sort);
        let n = v.len();
        assert_eq!(v, if done { want } else { before }, "{n} keys");
        done
    }

    /// Lengths around the narrowing's chunks.
    const LENGTHS: [usize; 12] = [
        2,
        3,
        9,
        100,
        CHUNK - 1,
        CHUNK,
        CHUNK + 1,
        2 * CHUNK - 1,
        2 * CHUNK,
        2 * CHUNK + 1,
        3 * CHUNK + 5,
        10 * CHUNK + 7,
    ];

    #[test]
    fn counts_keys_spanning_fewer_values_than_there_are_keys() {
        for n in LENGTHS {
            let w = words(n, n as u64, n as u64 - 1);
            assert!(check(w.iter().map(|&x| x as u32).collect()));
            assert!(check(w.iter().map(|&x| u32::MAX - x as u32).collect()));
            assert!(check(w.iter().map(|&x| i32::MIN + x as i32).collect()));
            assert!(check(w.iter().map(|&x| u64::MAX - x).collect()));
            assert!(check(w.iter().map(|&x| x as i64 - n as i64 / 2).collect()));
            assert!(check(w.iter().map(|&x| i64::MAX - x as i64).collect()));
        }
    }

    #[test]
    fn narrows_64_bit_keys_spanning_fewer_than_2_to_the_32_values() {
        let top = u64::from(u32::MAX);
        for n in LENGTHS {
            let mut w = words(n, n as u64 + 1, top + 1);
            // Both ends of the widest span, and a span as wide as the keys.
            w[0] = top;
            w[n / 2] = 0;
            // The sample holds both ends where the span is the widest: else
            // the room left around it may be too little.
            let few = words(n, n as u64 + 2, 3 * n as u64);
            assert!(check_with(
                w.iter().map(|&x| x + (1 << 40)).collect(),
                false
            ));
            assert!(check_with(w.iter().map(|&x| u64::MAX - x).collect(), false));
            assert!(check(few.iter().map(|&x| x as i64 - 5).collect()));
            assert!(check_with(
                w.iter().map(|&x| i64::MIN + x as i64).collect(),
                false
            ));
            assert!(check_with(
                w.iter().map(|&x| i64::MAX - x as i64).collect(),
                false
            ));
        }
    }

    #[test]
    fn gives_up_narrowing_at_a_key_the_sample_missed() {
        let n = 10 * CHUNK + 7;
        for at in [0, 1, CHUNK - 1, CHUNK, 2 * CHUNK + 3, n - 1] {
            // Keys far wider apart than a count takes, and one too far
            // from them for any room left around the sample.
            let mut w = words(n, at as u64, 1 << 31);
            w[at] = 1 << 40;
            assert!(!check(w.clone()), "outlier at {at}");
            assert!(!check(w.iter().map(|&x| x as i64 - (1 << 35)).collect()));
        }
    }

    #[test]
    fn leaves_wider_spans_as_they_are() {
        for n in LENGTHS {
            let mut w = words(n, n as u64 + 3, n as u64);
            // One past the span each way takes, found by the pass alone.
            w[1] = 0;
            w[0] = 1 << 32;
            assert!(!check(w.clone()));
            assert!(!check(w.iter().map(|&x| x as i64 - 7).collect()));
            w[0] = n as u64;
            assert!(!check(w.iter().map(|&x| x as u32).collect()));
            assert!(!check(w.iter().map(|&x| x as i32 - 7).collect()));
        }
    }

    /// Runs [`sorted`] on floats with a sample of every value but the one
    /// at `hidden`, checks that they come out in total order with every
    /// bit they had, or else unchanged, and returns whether they were
    /// sorted.
    fn check_floats(mut v: Vec<f64>, hidden: usize) -> bool {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let before = bits(&v);
        let mut want = v.clone();
        want.sort_unstable_by(f64::total_cmp);
        let mut sample: Vec<u64> = (v.iter().enumerate())
            .filter(|&(i, _)| i != hidden)
            .map(|(_, x)| x.key())
            .collect();
        sample.sort_unstable();
        let done = sorted(&mut v, &sample, crate::sort::radix_sort);
        let n = v.len();
        assert_eq!(
            bits(&v),
            if done { bits(&want) } else { before },
            "{n} keys"
        );
        done
    }

    #[test]
    fn narrows_floats_that_i32_or_f32_hold_exactly() {
        for n in LENGTHS {
            let w = words(n, n as u64 + 4, 1 << 32);
            // Integers over the whole of `i32`, both ends present: as
            // `i32`.
            let mut ints: Vec<f64> = w.iter().map(|&x| f64::from(x as i32)).collect();
            ints[0] = f64::from(i32::MAX);
            ints[n / 2] = f64::from(i32::MIN);
            assert!(check_floats(ints, n - 1), "{n} integers");
            // Normal `f32` values of both signs and every exponent, zeros
            // of both signs, infinities: as `f32`.
            let mut halves: Vec<f64> = w
                .iter()
                .map(|&x| {
                    let exponent = 1 + (x >> 23) as u32 % 254;
                    let sign = (x as u32 & 1) << 31;
                    f64::from(f32::from_bits(sign | exponent << 23 | x as u32 & 0x7f_ffff))
                })
                .collect();
            halves[0] = f64::from(f32::MAX);
            halves[n - 1] = -f64::from(f32::MIN_POSITIVE);
            if n > 5 {
                halves[1] = -0.0;
                halves[2] = 0.0;
                halves[3] = f64::INFINITY;
                halves[4] = f64::NEG_INFINITY;
            }
            assert!(check_floats(halves, n - 1), "{n} f32 values");
        }
    }

    #[test]
    fn gives_up_narrowing_floats_at_a_value_32_bits_do_not_hold() {
        let n = 10 * CHUNK + 7;
        for at in [0, 1, CHUNK - 1, CHUNK, 2 * CHUNK + 3, n - 2] {
            let w = words(n, at as u64 + 9, 1 << 20);
            for odd in [
                0.1,
                f64::NAN,
                -f64::NAN,
                f64::from_bits(0x7ff0_0000_0000_0001),
                f64::from(f32::MAX) * 2.0,
                f64::INFINITY,
                2_147_483_648.0,
                f64::from(f32::from_bits(1)),
            ] {
                // Integers, whose sample says `i32`: one value is not.
                let mut v: Vec<f64> = w.iter().map(|&x| x as f64 - 5e5).collect();
                v[at] = odd;
                assert!(!check_floats(v.clone(), at), "{odd} at {at}");
                // `-0.0` is not an `i32`, but is an `f32`.
                v[at] = -0.0;
                assert!(!check_floats(v, at), "-0.0 at {at}");
                // `f32` values, whose sample says `f32`: one value is not.
                let mut v: Vec<f64> = w.iter().map(|&x| x as f64 / 64.0 - 0.5).collect();
                v[at] = odd;
                // The last three are `f32` values.
                let f32_too = odd.is_infinite()
                    || odd == 2_147_483_648.0
                    || odd == f64::from(f32::from_bits(1));
                assert_eq!(
                    check_floats(v.clone(), at),
                    f32_too,
                    "{odd} at {at} among f32 values"
                );
                v[at] = -0.0;
                assert!(check_floats(v, at), "-0.0 at {at} among f32 values");
            }
        }
    }

    /// A caller's key type of 2 bytes that claims `EXACT32`.
    #[derive(Clone, Copy, Default, Debug, PartialEq)]
    struct Short(u16);

    impl RadixKey for Short {
        type K = u32;
        const EXACT32: bool = true;
        fn key(self) -> u32 {
            u32::from(self.0)
        }
        fn from_key(k: u32) -> Self {
            Short(k as u16)
        }
        fn small_sort(v: &mut [Self]) {
            v.sort_unstable_by_key(|x| x.0);
        }
        fn exact32(self, _: bool) -> u64 {
            u64::from(self.0)
        }
        fn from_exact32(k: u32, _: bool) -> Self {
            Short(k as u16)
        }
    }

    #[test]
    fn narrows_no_type_but_of_8_bytes_whatever_it_claims() {
        let n = 4 * CHUNK;
        let mut buffer: Vec<Short> = words(2 * n, 11, 1 << 16)
            .iter()
            .map(|&x| Short(x as u16))
            .collect();
        let before = buffer.clone();
        // Too wide a sample for a count or offsets, and every sampled key
        // "exact": only the 32-bit narrowing could apply, and would write
        // past the first half of `buffer`.
        let wide = [0, u32::MAX];
        assert!(!sorted(&mut buffer[..n], &wide, |_| {}));
        assert_eq!(buffer, before);
    }
}
