//! The k-way merge of sorted runs: a tree of losers over the runs' current
//! keys, so each record costs one path from a leaf to the root (log2 k
//! comparisons).
//!
//! Ties go to the run that came first in the input, which keeps equal keys
//! in input order across runs (each run is itself stable).

use crate::codec::TextKey;
use crate::codec::records::{RunForm, RunReader};
use std::cmp::Ordering;
use std::io::{self, BufRead};

/// Where merged records go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Emit {
    /// Lines of text, each as it was read (or its key's text).
    Text,
    /// The keys alone, little-endian: binary output.
    Keys,
    /// Another run, of this form.
    Run(RunForm),
}

/// Merges `runs` (in input order) into `sink`, a buffer handed on (with
/// the number of records so far) whenever it holds `flush_at` bytes or
/// more, and once more at the end. `reverse`:
/// the runs hold the largest key first, and so does the result. Returns
/// the number of records; a result out of order (a run that was not
/// sorted) is an `InvalidData` error.
pub(super) fn merge<T: TextKey, R: BufRead>(
    mut runs: Vec<RunReader<T, R>>,
    reverse: bool,
    emit: Emit,
    flush_at: usize,
    sink: &mut dyn FnMut(&mut Vec<u8>, u64) -> io::Result<()>,
) -> io::Result<u64> {
    for run in &mut runs {
        run.advance()?;
    }
    let k = runs.len();
    let mut out = Vec::with_capacity(flush_at + (64 << 10));
    let mut tree = Losers::new(k, |a, b| first(&runs, reverse, a, b));
    let mut count = 0u64;
    let mut last: Option<T> = None;
    while let Some(winner) = tree.winner() {
        let Some(key) = runs[winner].key() else { break };
        if let Some(last) = last {
            let order = T::order(&last, &key);
            let wrong = if reverse {
                order == Ordering::Less
            } else {
                order == Ordering::Greater
            };
            if wrong {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "the merged result is not sorted: records {} and {} are out of order",
                        count - 1,
                        count
                    ),
                ));
            }
        }
        last = Some(key);
        let run = &mut runs[winner];
        match emit {
            Emit::Text => run.emit_text(&mut out)?,
            Emit::Keys => out.extend_from_slice(key.to_le().as_ref()),
            Emit::Run(form) => run.emit_as(form, &mut out)?,
        }
        run.advance()?;
        count += 1;
        if out.len() >= flush_at {
            sink(&mut out, count)?;
            out.clear();
        }
        tree.replay(winner, |a, b| first(&runs, reverse, a, b));
    }
    sink(&mut out, count)?;
    Ok(count)
}

/// Whether run `a`'s current record goes before run `b`'s: the smaller
/// key (`reverse`: the larger), on a tie the earlier run; a finished run
/// goes last.
#[inline(always)]
fn first<T: TextKey, R: BufRead>(
    runs: &[RunReader<T, R>],
    reverse: bool,
    a: usize,
    b: usize,
) -> bool {
    match (runs[a].key(), runs[b].key()) {
        (Some(x), Some(y)) => {
            let order = if reverse {
                T::order(&y, &x)
            } else {
                T::order(&x, &y)
            };
            order == Ordering::Less || (order == Ordering::Equal && a < b)
        }
        (Some(_), None) => true,
        (None, Some(_)) => false,
        (None, None) => a < b,
    }
}

/// A tree of losers over `k` leaves: node `i` (1 ≤ i < k) holds the loser
/// of the match played there, the root's winner is kept apart. Leaves are
/// the positions k..2k of the implicit tree, whatever k is.
#[derive(Debug)]
pub(super) struct Losers {
    nodes: Vec<usize>,
    winner: Option<usize>,
}

impl Losers {
    /// Plays every match: `first(a, b)` says whether leaf `a` beats `b`.
    pub(super) fn new(k: usize, first: impl Fn(usize, usize) -> bool) -> Losers {
        let mut nodes = vec![0; k.max(1)];
        fn play(
            node: usize,
            k: usize,
            nodes: &mut [usize],
            first: &impl Fn(usize, usize) -> bool,
        ) -> usize {
            if node >= k {
                return node - k;
            }
            let a = play(2 * node, k, nodes, first);
            let b = play(2 * node + 1, k, nodes, first);
            let (winner, loser) = if first(a, b) { (a, b) } else { (b, a) };
            nodes[node] = loser;
            winner
        }
        let winner = match k {
            0 => None,
            _ => Some(play(1, k, &mut nodes, &first)),
        };
        Losers { nodes, winner }
    }

    /// The leaf that goes next.
    pub(super) fn winner(&self) -> Option<usize> {
        self.winner
    }

    /// Leaf `leaf` (the last winner) changed: replays its path to the root.
    #[inline]
    pub(super) fn replay(&mut self, leaf: usize, first: impl Fn(usize, usize) -> bool) {
        let k = self.nodes.len();
        let mut winner = leaf;
        let mut node = (leaf + k) / 2;
        while node > 0 {
            let other = self.nodes[node];
            if first(other, winner) {
                self.nodes[node] = winner;
                winner = other;
            }
            node /= 2;
        }
        self.winner = Some(winner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Merges lists of (key, tag) with the tree, as `merge` drives it.
    fn merged(lists: &[Vec<(i64, u32)>]) -> Vec<(i64, u32)> {
        let mut at = vec![0usize; lists.len()];
        let head = |at: &[usize], i: usize| lists[i].get(at[i]).copied();
        let beats = |at: &[usize], a: usize, b: usize| match (head(at, a), head(at, b)) {
            (Some(x), Some(y)) => x.0 < y.0 || (x.0 == y.0 && a < b),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => a < b,
        };
        let mut tree = Losers::new(lists.len(), |a, b| beats(&at, a, b));
        let mut out = Vec::new();
        while let Some(w) = tree.winner() {
            let Some(item) = head(&at, w) else { break };
            out.push(item);
            at[w] += 1;
            tree.replay(w, |a, b| beats(&at, a, b));
        }
        out
    }

    #[test]
    fn every_number_of_runs_merges_in_order_and_stably() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for k in 0..40 {
            let mut lists = Vec::new();
            let mut tag = 0u32;
            for _ in 0..k {
                let len = (next() % 30) as usize;
                let mut list: Vec<(i64, u32)> = (0..len)
                    .map(|_| {
                        tag += 1;
                        ((next() % 10) as i64, tag)
                    })
                    .collect();
                list.sort_by_key(|&(key, _)| key);
                lists.push(list);
            }
            let mut expected: Vec<(i64, u32)> = lists.concat();
            // Tags grow with the run: a stable sort of the whole is the merge.
            expected.sort_by_key(|&(key, _)| key);
            assert_eq!(merged(&lists), expected, "{k} runs");
        }
    }
}
