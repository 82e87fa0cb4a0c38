//! Where the parse puts what it reads: a vector, or one run's stretch of a
//! vector that every run of a parallel parse shares, so that joining the
//! runs moves each one a little to the left in pages it has already
//! touched, rather than copying it into fresh ones.

use std::mem::MaybeUninit;

/// Takes the parse's values, one at a time, in order.
pub(super) trait Out<T> {
    fn push(&mut self, x: T);

    fn extend(&mut self, xs: impl IntoIterator<Item = T>) {
        for x in xs {
            self.push(x);
        }
    }
}

impl<T> Out<T> for Vec<T> {
    #[inline(always)]
    fn push(&mut self, x: T) {
        Vec::push(self, x);
    }

    fn extend(&mut self, xs: impl IntoIterator<Item = T>) {
        Extend::extend(self, xs);
    }
}

/// A run's stretch of a shared vector's spare room: values go there while
/// it lasts, and into `spill` after (a run with more lines than its
/// stretch was guessed to hold).
pub(super) struct Slots<'a, T> {
    room: &'a mut [MaybeUninit<T>],
    len: usize,
    spill: Vec<T>,
}

impl<'a, T> Slots<'a, T> {
    pub(super) fn new(room: &'a mut [MaybeUninit<T>]) -> Slots<'a, T> {
        Slots {
            room,
            len: 0,
            spill: Vec::new(),
        }
    }

    /// How many values the stretch has room for.
    pub(super) fn size(&self) -> usize {
        self.room.len()
    }

    /// How many values the stretch holds, from its start, and those that
    /// did not fit in it, if any did not.
    pub(super) fn into_parts(self) -> (usize, Vec<T>) {
        (self.len, self.spill)
    }
}

impl<T> Out<T> for Slots<'_, T> {
    #[inline(always)]
    fn push(&mut self, x: T) {
        match self.room.get_mut(self.len) {
            Some(slot) => {
                slot.write(x);
                self.len += 1;
            }
            None => self.spill.push(x),
        }
    }
}

/// One run's values in the shared vector: from `at`, `len` of them, and
/// what did not fit in its stretch.
pub(super) struct Filled<T> {
    pub(super) at: usize,
    pub(super) len: usize,
    pub(super) spill: Vec<T>,
}

/// Joins the runs `filled` wrote into the spare room of `all` (empty, its
/// first run's stretch starting at index 0, the others after it, in
/// order), in order: each run moves left to follow the one before. A run
/// that spilled (its stretch was too small) makes the join copy
/// everything into a new vector instead. None if that cannot be had.
///
/// # Safety
/// Each run's first `len` places from `at` were written, within the room
/// of `all`, and the runs' stretches do not overlap.
pub(super) unsafe fn join<T: Copy>(all: &mut Vec<T>, filled: &[Filled<T>]) -> Option<()> {
    debug_assert!(all.is_empty());
    let base = all.as_mut_ptr();
    if filled.iter().any(|run| !run.spill.is_empty()) {
        let total: usize = filled.iter().map(|run| run.len + run.spill.len()).sum();
        let mut joined: Vec<T> = Vec::new();
        joined.try_reserve_exact(total).ok()?;
        for run in filled {
            // SAFETY: the caller's promise: written, within the room.
            let values = unsafe { std::slice::from_raw_parts(base.add(run.at), run.len) };
            joined.extend_from_slice(values);
            joined.extend_from_slice(&run.spill);
        }
        *all = joined;
        return Some(());
    }
    let mut end = 0;
    for run in filled {
        debug_assert!(end <= run.at);
        // SAFETY: the run's values are written and within the room (the
        // caller's promise); the place they move to starts at or before
        // them, after the runs before it, so `copy` (a memmove) moves them
        // whole and overwrites only places no longer needed.
        unsafe { std::ptr::copy(base.add(run.at), base.add(end), run.len) };
        end += run.len;
    }
    // SAFETY: the first `end` places now hold every run's values, in
    // order, within the room.
    unsafe { all.set_len(end) };
    Some(())
}

#[cfg(test)]
mod tests {
    use super::{Filled, Out, Slots, join};

    /// Fills `runs` stretches of the given sizes of one vector with the
    /// given numbers of values, and joins them.
    fn joined(stretches: &[usize], counts: &[usize]) -> Vec<u32> {
        let room: usize = stretches.iter().sum();
        let mut all: Vec<u32> = Vec::with_capacity(room);
        let mut filled = Vec::new();
        let mut rest = &mut all.spare_capacity_mut()[..room];
        let mut at = 0;
        let mut next = 0;
        for (&size, &count) in stretches.iter().zip(counts) {
            let (here, after) = std::mem::take(&mut rest).split_at_mut(size);
            rest = after;
            let mut slots = Slots::new(here);
            for _ in 0..count {
                slots.push(next);
                next += 1;
            }
            let (len, spill) = slots.into_parts();
            filled.push(Filled { at, len, spill });
            at += size;
        }
        // SAFETY: each run wrote `len` values from `at` in its stretch.
        unsafe { join(&mut all, &filled) }.expect("memory");
        all
    }

    #[test]
    fn runs_join_in_order_whether_or_not_they_fit_their_stretches() {
        let cases: &[(&[usize], &[usize])] = &[
            (&[10, 10], &[10, 10]),
            (&[10, 10], &[3, 7]),
            (&[10, 5, 20], &[0, 5, 1]),
            (&[4, 10], &[9, 2]),
            (&[4, 4, 4], &[4, 9, 0]),
            (&[0, 3], &[2, 3]),
            (&[7], &[7]),
        ];
        for &(stretches, counts) in cases {
            let total: u32 = counts.iter().sum::<usize>() as u32;
            let expected: Vec<u32> = (0..total).collect();
            assert_eq!(
                joined(stretches, counts),
                expected,
                "{stretches:?} {counts:?}"
            );
        }
    }
}
