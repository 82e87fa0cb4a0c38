//! What the two vector sorts ([`crate::vector`], [`crate::avx2`]) share:
//! the table of lane orders that splits 8 lanes in one permute, and the
//! cutting of an input into one part per thread.

/// For each mask of 8 lanes, the lane indexes that put the lanes whose
/// bit is set first and the others last, each in their order.
const ORDERS: [[u8; 8]; 256] = {
    let mut table = [[0; 8]; 256];
    let mut mask = 0;
    while mask < 256 {
        let (mut front, mut back) = (0, (mask as u32).count_ones() as usize);
        let mut lane = 0;
        while lane < 8 {
            if mask >> lane & 1 == 1 {
                table[mask][front] = lane as u8;
                front += 1;
            } else {
                table[mask][back] = lane as u8;
                back += 1;
            }
            lane += 1;
        }
        mask += 1;
    }
    table
};

/// [`ORDERS`] as 64-bit lane indexes, ready for a 512-bit permute.
pub(crate) static SPLIT8_64: [[u64; 8]; 256] = {
    let mut table = [[0; 8]; 256];
    let mut mask = 0;
    while mask < 256 {
        let mut lane = 0;
        while lane < 8 {
            table[mask][lane] = ORDERS[mask][lane] as u64;
            lane += 1;
        }
        mask += 1;
    }
    table
};

/// [`ORDERS`] as 32-bit lane indexes, ready for a 256-bit permute.
pub(crate) static SPLIT8_32: [[u32; 8]; 256] = {
    let mut table = [[0; 8]; 256];
    let mut mask = 0;
    while mask < 256 {
        let mut lane = 0;
        while lane < 8 {
            table[mask][lane] = ORDERS[mask][lane] as u32;
            lane += 1;
        }
        mask += 1;
    }
    table
};

/// [`ORDERS`] of 4 lanes (the first four of a mask below 16) as pairs of
/// 32-bit lane indexes, ready for a 256-bit permute of 64-bit lanes.
pub(crate) static SPLIT4_64: [[u32; 8]; 16] = {
    let mut table = [[0; 8]; 16];
    let mut mask = 0;
    while mask < 16 {
        let mut lane = 0;
        while lane < 4 {
            let from = ORDERS[mask][lane] as u32;
            table[mask][2 * lane] = 2 * from;
            table[mask][2 * lane + 1] = 2 * from + 1;
            lane += 1;
        }
        mask += 1;
    }
    table
};

/// Cuts `v` into `parts` consecutive slices of about equal length, each
/// holding no key above any key of the next, with `partition(v, pivot)`
/// (which moves the keys at most `pivot` first and returns how many; it
/// takes at least `least` keys). Pivots are quantiles of a sorted
/// sample, and each cut is one partition pass; where equal keys crowd a
/// quantile, the parts come out unequal (some may be empty), never
/// wrong. Fewer parts (at least one) where `v` has fewer than `least`
/// keys for each.
pub(crate) fn split<'a, T, K: Ord + Copy>(
    v: &'a mut [T],
    parts: usize,
    least: usize,
    key: impl Fn(&T) -> K,
    partition: &impl Fn(&mut [T], K) -> usize,
) -> Vec<&'a mut [T]> {
    let parts = parts.min(v.len() / least).max(1);
    if parts == 1 {
        return vec![v];
    }
    let sample = sample(v, parts, key);
    let mut out = Vec::with_capacity(parts);
    cut(v, &sample, parts, least, partition, &mut out);
    out
}

/// The sorted keys of a sample of `v` (not empty), 64 for each of
/// `parts`, spread evenly: where [`split`] takes its pivots.
pub(crate) fn sample<T, K: Ord>(v: &[T], parts: usize, key: impl Fn(&T) -> K) -> Vec<K> {
    let n = v.len();
    let count = (64 * parts).min(n);
    let mut sample: Vec<K> = (0..count)
        .map(|i| key(&v[i * (n / count) + n / count / 2]))
        .collect();
    sample.sort_unstable();
    sample
}

/// [`split`] of `v` into `parts` slices appended to `out`, with `sample`,
/// the sorted keys of a sample of `v`, to choose the pivots from.
pub(crate) fn cut<'a, T, K: Copy>(
    v: &'a mut [T],
    sample: &[K],
    parts: usize,
    least: usize,
    partition: &impl Fn(&mut [T], K) -> usize,
    out: &mut Vec<&'a mut [T]>,
) {
    if parts == 1 || v.len() < least || sample.is_empty() {
        out.push(v);
        out.extend((1..parts).map(|_| Default::default()));
        return;
    }
    let left = parts / 2;
    let at = sample.len() * left / parts;
    let k = partition(v, sample[at.saturating_sub(1)]);
    let (lo, hi) = v.split_at_mut(k);
    let (s_lo, s_hi) = sample.split_at(at);
    cut(lo, s_lo, left, least, partition, out);
    cut(hi, s_hi, parts - left, least, partition, out);
}

/// Test inputs both vector sorts' tests use.
#[cfg(test)]
pub(crate) mod testing {
    /// `n` pseudo-random 64-bit words (xorshift), each `% modulo`.
    pub(crate) fn words(n: usize, seed: u64, modulo: u64) -> Vec<u64> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % modulo
            })
            .collect()
    }

    /// Doubles that a float sort gets wrong first: zeros of both signs,
    /// infinities, NaNs of both signs and another payload, the extremes
    /// and subnormals. Entries 7 to 10 are neither NaN nor `-0.0`.
    pub(crate) const SPECIAL_F64: [f64; 16] = [
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7ff0_0000_0000_0001),
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        1.5,
        -1.5,
        f64::from_bits(0xfff0_0000_0000_0001),
        f64::from_bits(1),
        f64::from_bits(0x8000_0000_0000_0001),
    ];

    /// Sorts a copy of `v` with `sort` and asserts that it holds, bit for
    /// bit, what `sort_by(cmp)` gives (floats: `total_cmp`).
    pub(crate) fn assert_sorts_as<T: Copy>(
        v: &[T],
        sort: impl FnOnce(&mut [T]),
        cmp: fn(&T, &T) -> std::cmp::Ordering,
        bits: fn(&T) -> u64,
        what: &str,
    ) {
        let mut got = v.to_vec();
        sort(&mut got);
        let mut want = v.to_vec();
        want.sort_by(cmp);
        assert_eq!(
            got.iter().map(bits).collect::<Vec<_>>(),
            want.iter().map(bits).collect::<Vec<_>>(),
            "{what}"
        );
    }

    #[test]
    fn every_order_puts_the_set_lanes_first_and_keeps_each_side_in_order() {
        for (mask, order) in super::ORDERS.iter().enumerate() {
            let set: Vec<u8> = (0..8).filter(|&l| mask >> l & 1 == 1).collect();
            let clear: Vec<u8> = (0..8).filter(|&l| mask >> l & 1 == 0).collect();
            assert_eq!(order.to_vec(), [set, clear].concat(), "mask {mask:#x}");
        }
    }
}
