//! The pairs checks of `wildhost verify` (ABI 1.1): a backend with a pairs
//! entry sorts keys with their input positions as the payload, for every key
//! type it declares and every payload type, and the result must be the keys
//! sorted with every payload still beside its own key; a backend declaring
//! `WILD_FLAG_STABLE` must keep equal keys' payloads increasing. Each sort
//! runs in a forked child, which checks the result and reports a verdict.

use super::workload::{Dist, WorkloadKey, check_sorted, generate};
use super::{Check, Options, Status, case_seed};
use crate::registry::Backend;
use crate::running::isolate::in_child;
use wildhost_abi::sdk::Payload;
use wildhost_abi::{KeyType, PayloadType};

/// A payload that can hold an input position, as these checks use it.
pub(super) trait IndexPayload: Payload {
    fn from_index(i: usize) -> Self;
    fn index(self) -> usize;
}

impl IndexPayload for u32 {
    fn from_index(i: usize) -> u32 {
        i as u32
    }
    fn index(self) -> usize {
        self as usize
    }
}

impl IndexPayload for u64 {
    fn from_index(i: usize) -> u64 {
        i as u64
    }
    fn index(self) -> usize {
        self as usize
    }
}

/// The inputs of the pairs checks: (check name, shape, length). Many equal
/// keys (`few-unique`, `all-equal`) are where payloads are easiest to
/// mislay and where stability shows.
fn cases(max_len: usize) -> Vec<(&'static str, Dist, usize)> {
    let mut cases = vec![
        ("empty", Dist::Uniform, 0),
        ("one", Dist::Uniform, 1),
        ("random", Dist::Uniform, 1000),
        ("few-unique", Dist::FewUnique, 1000),
        ("all-equal", Dist::AllEqual, 1000),
        ("narrow", Dist::Narrow, 1025),
        ("few-unique", Dist::FewUnique, max_len.min(100_000)),
    ];
    for case in &mut cases {
        case.2 = case.2.min(max_len);
    }
    cases.dedup_by_key(|c| (c.0, c.2));
    cases
}

/// The pairs checks of `backend` for `key_type`, or one `pairs` check saying
/// why there are none; and for a backend declaring stability with a pairs
/// entry, its `stable` check of the type.
pub(super) fn pairs_checks<T: WorkloadKey>(
    backend: &Backend,
    key_type: KeyType,
    options: &Options,
    checks: &mut Vec<Check>,
) {
    for payload in PayloadType::ALL {
        if !backend.pairs_payloads().any(|p| p == payload) {
            continue;
        }
        match payload {
            PayloadType::U32 => one_payload::<T, u32>(backend, key_type, options, checks),
            PayloadType::U64 => one_payload::<T, u64>(backend, key_type, options, checks),
        }
    }
}

fn one_payload<T: WorkloadKey, P: IndexPayload>(
    backend: &Backend,
    key_type: KeyType,
    options: &Options,
    checks: &mut Vec<Check>,
) {
    let check_name = format!("pairs-{}", P::TYPE.name());
    // Stability is judged on the u32 payload, once per key type.
    let judge_stability = backend.is_stable() && P::TYPE == PayloadType::U32;
    let mut unstable: Option<(String, usize, u64)> = None;
    for (shape, dist, len) in cases(options.max_len) {
        let seed = case_seed(options.seed, &check_name, len) ^ dist as u64;
        let input: Vec<T> = generate(dist, len, seed);
        let work = || verdict::<T, P>(backend, &input, None).into_bytes();
        // SAFETY: the child sorts, allocates and checks; it takes no lock
        // of the host's.
        let report = unsafe { in_child(options.timeout_for(len), work) };
        let (status, detail) = match report.map(|r| String::from_utf8_lossy(&r).into_owned()) {
            Ok(r) if r == PASSED => (Status::Pass, String::new()),
            Ok(r) => match r.strip_prefix("unstable: ") {
                Some(why) => {
                    if unstable.is_none() {
                        unstable = Some((format!("`{shape}`: {why}"), len, seed));
                    }
                    (Status::Pass, String::new())
                }
                None => (Status::Fail, r),
            },
            Err(failure) => (Status::Fail, failure.to_string()),
        };
        checks.push(Check {
            backend: backend.name().to_string(),
            key_type: Some(key_type.name()),
            check: format!("{check_name} {shape}"),
            len,
            seed,
            status,
            detail,
        });
    }
    if judge_stability {
        let (status, detail, len, seed) = match unstable {
            None => (
                Status::Pass,
                "equal keys kept their payloads in input order".to_string(),
                0,
                0,
            ),
            Some((why, len, seed)) => (
                Status::Fail,
                format!("declared stable, but not stable through pairs: {why}"),
                len,
                seed,
            ),
        };
        checks.push(Check {
            backend: backend.name().to_string(),
            key_type: Some(key_type.name()),
            check: "stable".to_string(),
            len,
            seed,
            status,
            detail,
        });
    }
}

/// The child's report of a right result (an empty report reads as none).
pub(super) const PASSED: &str = "ok";

/// Sorts `input` with its positions as the payload, on at most `threads`
/// threads if given, and checks the result: [`PASSED`] if right,
/// `unstable: <why>` if right but not stable, else what is wrong.
pub(super) fn verdict<T: WorkloadKey, P: IndexPayload>(
    backend: &Backend,
    input: &[T],
    threads: Option<usize>,
) -> String {
    let mut keys = input.to_vec();
    let mut payload: Vec<P> = (0..input.len()).map(P::from_index).collect();
    let sorted = match threads {
        Some(threads) => backend.sort_pairs_with_threads(&mut keys, &mut payload, threads),
        None => backend.sort_pairs(&mut keys, &mut payload),
    };
    if let Err(e) = sorted {
        return e.to_string();
    }
    let mut reference = input.to_vec();
    T::reference_sort(&mut reference);
    if let Err(m) = check_sorted(&keys, &reference) {
        return format!("keys: {m}");
    }
    let mut seen = vec![false; input.len()];
    for (i, (key, p)) in keys.iter().zip(&payload).enumerate() {
        let at = p.index();
        match (input.get(at), seen.get(at)) {
            (Some(_), Some(true)) => {
                return format!("the payload is not a permutation: {at} appears twice (at {i})");
            }
            (Some(original), Some(false)) if original.bits() == key.bits() => seen[at] = true,
            (Some(original), _) => {
                return format!(
                    "a payload does not follow its key: at {i}, key {:#x} carries the payload \
                     {at}, which belonged to key {:#x}",
                    key.bits(),
                    original.bits()
                );
            }
            (None, _) => {
                return format!(
                    "the payload is not a permutation: {at} at {i} is no input position"
                );
            }
        }
    }
    let pairs = keys.iter().zip(&payload).collect::<Vec<_>>();
    if let Some(i) = pairs
        .windows(2)
        .position(|w| w[0].0.bits() == w[1].0.bits() && w[0].1.index() > w[1].1.index())
    {
        return format!(
            "unstable: equal keys at {i} and {} carry the payloads {} and {}, out of input order",
            i + 1,
            pairs[i].1.index(),
            pairs[i + 1].1.index()
        );
    }
    PASSED.to_string()
}
