//! The names a user types for backends and modules: the known name
//! nearest to one that matches none, when it is close enough to be a typo
//! of it. Used by the `wildhost` command and the Python package alike, so
//! that both suggest the same name.

/// The known name nearest to `name`, if it is close enough to be a typo of
/// it: at most two edits, and at most one edit per three characters (so a
/// short name is not "corrected" into an unrelated one). On a tie the
/// first candidate wins.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if candidate == name {
            continue;
        }
        let distance = edit_distance(name, candidate);
        let longer = name.chars().count().max(candidate.chars().count());
        if distance > 2 || distance * 3 > longer {
            continue;
        }
        if best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// `did you mean `x`?` for the nearest candidate, if one is close.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    nearest(name, candidates).map(|n| format!("did you mean `{n}`?"))
}

/// The number of single-character insertions, deletions, substitutions
/// and swaps of two neighbours that turn `a` into `b` (the optimal string
/// alignment distance), by characters, not bytes.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the table: two rows back (for swaps), the last, this.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut last: Vec<usize> = (0..=b.len()).collect();
    let mut row: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        row[0] = i;
        for j in 1..=b.len() {
            let substitution = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (last[j] + 1)
                .min(row[j - 1] + 1)
                .min(last[j - 1] + substitution);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            row[j] = d;
        }
        std::mem::swap(&mut before, &mut last);
        std::mem::swap(&mut last, &mut row);
    }
    last[b.len()]
}

#[cfg(test)]
mod tests {
    use super::{edit_distance, nearest};

    #[test]
    fn edits_are_counted_by_character() {
        assert_eq!(edit_distance("radix", "radix"), 0);
        assert_eq!(edit_distance("radx", "radix"), 1);
        assert_eq!(edit_distance("sdt", "std"), 1);
        assert_eq!(edit_distance("", "std"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("rädix", "radix"), 1);
    }

    #[test]
    fn only_a_close_name_is_suggested() {
        let names = ["wildsort", "radix", "std"];
        assert_eq!(nearest("radx", names), Some("radix"));
        assert_eq!(nearest("raddix", names), Some("radix"));
        assert_eq!(nearest("sdt", names), Some("std"));
        assert_eq!(nearest("wildsrot", names), Some("wildsort"));
        assert_eq!(nearest("quantum", names), None);
        assert_eq!(nearest("xyz", names), None);
        assert_eq!(nearest("s", names), None);
        assert_eq!(nearest("radix", names), None);
    }
}
