//! What the two vector sorts ([`crate::vector`], [`crate::avx2`]) share
//! about lanes: the table of lane orders that splits 8 lanes in one
//! permute.

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
