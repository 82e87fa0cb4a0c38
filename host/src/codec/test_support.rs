//! Helpers the codec's unit tests share.

use crate::conformance::workload::Rng;

/// A random line of up to 21 characters: mostly digits, the first one
/// and about one in `junk_every` after it taken from `alphabet`.
pub(super) fn random_line(rng: &mut Rng, alphabet: &[u8], junk_every: usize) -> String {
    let len = (rng.next_u64() % 22) as usize;
    (0..len)
        .map(|i| {
            let pick = rng.next_u64() as usize;
            let k = if i == 0 || pick.is_multiple_of(junk_every) {
                pick % alphabet.len()
            } else {
                pick % 10
            };
            alphabet[k] as char
        })
        .collect()
}

/// How many random values the float tests try: `WILDHOST_FLOAT_CASES`,
/// else 200 000.
pub(super) fn float_cases() -> usize {
    std::env::var("WILDHOST_FLOAT_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000)
}
