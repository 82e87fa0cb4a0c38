//! The names a user types for backends and modules: a name that matches
//! none is reported with the names there are and, when one of them is
//! close (a typo), `help: did you mean ...?`.

use crate::report::Failure;
use wildhost::{Backend, Registry};

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

/// The report of a backend name that names no backend of `registry`: the
/// backends there are, the refused plugin files if any, and the nearest
/// name when one is close. With no file refused it is a usage error (exit
/// status 2): the name is nowhere. With files refused it is a failure
/// (exit status 1): the backend may be in one of them.
pub fn unknown_backend(registry: &Registry, name: &str) -> Failure {
    let found: Vec<&str> = registry.backends().iter().map(Backend::name).collect();
    let refused = registry.refused().len();
    let failure = if refused > 0 {
        Failure::new(format!("no backend named `{name}`"))
    } else {
        Failure::usage(format!("no backend named `{name}`"))
    };
    let failure = failure.cause(format!(
        "backends found: {}",
        if found.is_empty() {
            "none".to_string()
        } else {
            found.join(", ")
        }
    ));
    let failure = if refused > 0 {
        failure.cause(format!(
            "{refused} plugin file(s) were refused; `wildhost list` says why"
        ))
    } else {
        failure
    };
    let help = if found.is_empty() {
        "no backend loaded, not even the built-in ones: `wildhost list` says why each \
         module was refused and where it looked for plugin files"
            .to_string()
    } else {
        did_you_mean(name, found.iter().copied()).unwrap_or_else(|| {
            "`wildhost list` shows every backend and the key types it sorts".to_string()
        })
    };
    failure.help(help)
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
