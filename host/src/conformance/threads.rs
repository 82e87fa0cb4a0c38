//! The thread-count checks of `wildhost verify` (ABI 1.2): a backend with
//! `sort_with` sorts keys through it on one thread and on four, and, with a
//! pairs entry, keys with their positions as a `u32` payload on four
//! threads. Each sort runs in a forked child that checks the result (the
//! keys bit for bit against the reference sort; every payload beside its
//! own key, and in input order among equal keys if the backend declares
//! `WILD_FLAG_STABLE`) and reports a verdict. The other checks call `sort`
//! and `sort_pairs`, so without these `sort_with` would go unchecked.
//!
//! A backend flagged `WILD_FLAG_FROM_SOURCE` (ABI 1.3) also sorts from a
//! source on one thread and on four: into an output that holds other
//! keys, which must all be overwritten, with the source left as it was.

use super::pairs::{PASSED, verdict};
use super::workload::{Dist, WorkloadKey, check_sorted, generate};
use super::{Check, Options, Status, case_seed};
use crate::registry::Backend;
use crate::running::isolate::in_child;
use wildhost_abi::{KeyType, PayloadType};

/// The thread counts keys are sorted with: the calling thread only, and
/// more threads than a small machine has cores.
const THREADS: [usize; 2] = [1, 4];

/// The thread count of the pairs check.
const PAIRS_THREADS: usize = 4;

/// The longest input of these checks: long enough for a parallel backend
/// to split it, short enough to cost little next to the other checks.
const MAX_LEN: usize = 100_000;

/// The longest input of the from-source checks: past the sizes below which
/// a backend may simply copy and sort in place (the radix backend's
/// parallel cut-over is 2^18 keys).
const FROM_MAX_LEN: usize = 300_000;

/// The `threads-N` checks of `backend` for `key_type`, and with a `u32`
/// pairs entry its `threads-4 pairs-u32` check.
pub(super) fn checks<T: WorkloadKey>(
    backend: &Backend,
    key_type: KeyType,
    options: &Options,
    checks: &mut Vec<Check>,
) {
    let len = options.max_len.min(MAX_LEN);
    let check = |name: String, seed: u64, (status, detail): (Status, String)| Check {
        backend: backend.name().to_string(),
        key_type: Some(key_type.name()),
        check: name,
        len,
        seed,
        status,
        detail,
    };
    for threads in THREADS {
        let name = format!("threads-{threads}");
        let seed = case_seed(options.seed, &name, len);
        let input: Vec<T> = generate(Dist::Uniform, len, seed);
        let work = || keys_verdict(backend, &input, threads).into_bytes();
        // SAFETY: the child sorts, allocates and checks; it takes no lock
        // of the host's.
        let report = unsafe { in_child(options.timeout_for(len), work) };
        let outcome = match report.map(|r| String::from_utf8_lossy(&r).into_owned()) {
            Ok(r) if r == PASSED => (Status::Pass, String::new()),
            Ok(r) => (Status::Fail, r),
            Err(failure) => (Status::Fail, failure.to_string()),
        };
        checks.push(check(name, seed, outcome));
    }
    if backend.sorts_from_source() {
        let len = options.max_len.min(FROM_MAX_LEN);
        for threads in THREADS {
            let name = format!("from-source-{threads}");
            let seed = case_seed(options.seed, &name, len);
            let source: Vec<T> = generate(Dist::Uniform, len, seed);
            let garbage: Vec<T> = generate(Dist::Uniform, len, seed ^ 1);
            let work = || from_verdict(backend, &source, garbage.clone(), threads).into_bytes();
            // SAFETY: as above.
            let report = unsafe { in_child(options.timeout_for(len), work) };
            let outcome = match report.map(|r| String::from_utf8_lossy(&r).into_owned()) {
                Ok(r) if r == PASSED => (Status::Pass, String::new()),
                Ok(r) => (Status::Fail, r),
                Err(failure) => (Status::Fail, failure.to_string()),
            };
            checks.push(Check {
                len,
                ..check(name, seed, outcome)
            });
        }
    }
    if backend.pairs_payloads().any(|p| p == PayloadType::U32) {
        let name = format!("threads-{PAIRS_THREADS} pairs-u32");
        let seed = case_seed(options.seed, &name, len);
        let input: Vec<T> = generate(Dist::FewUnique, len, seed);
        let work = || verdict::<T, u32>(backend, &input, Some(PAIRS_THREADS)).into_bytes();
        // SAFETY: as above.
        let report = unsafe { in_child(options.timeout_for(len), work) };
        let outcome = match report.map(|r| String::from_utf8_lossy(&r).into_owned()) {
            Ok(r) if r == PASSED => (Status::Pass, String::new()),
            Ok(r) => match r.strip_prefix("unstable: ") {
                Some(why) if backend.is_stable() => (
                    Status::Fail,
                    format!("declared stable, but not stable through sort_with: {why}"),
                ),
                Some(_) => (Status::Pass, String::new()),
                None => (Status::Fail, r),
            },
            Err(failure) => (Status::Fail, failure.to_string()),
        };
        checks.push(check(name, seed, outcome));
    }
}

/// Sorts `source` into an output of other keys, on at most `threads`
/// threads, and checks the output and that `source` did not change:
/// [`PASSED`], or what is wrong.
fn from_verdict<T: WorkloadKey>(
    backend: &Backend,
    source: &[T],
    garbage: Vec<T>,
    threads: usize,
) -> String {
    let before = source.to_vec();
    let mut out = garbage;
    if let Err(e) = backend.sort_copy_with_threads(source, &mut out, threads) {
        return e.to_string();
    }
    if let Some(i) = (0..source.len()).find(|&i| source[i].bits() != before[i].bits()) {
        return format!("it wrote into the source, at index {i}");
    }
    let mut reference = before;
    T::reference_sort(&mut reference);
    match check_sorted(&out, &reference) {
        Ok(()) => PASSED.to_string(),
        Err(m) => m.to_string(),
    }
}

/// Sorts a copy of `input` on at most `threads` threads and checks it:
/// [`PASSED`], or what is wrong.
fn keys_verdict<T: WorkloadKey>(backend: &Backend, input: &[T], threads: usize) -> String {
    let mut keys = input.to_vec();
    if let Err(e) = backend.sort_with_threads(&mut keys, threads) {
        return e.to_string();
    }
    let mut reference = input.to_vec();
    T::reference_sort(&mut reference);
    match check_sorted(&keys, &reference) {
        Ok(()) => PASSED.to_string(),
        Err(m) => m.to_string(),
    }
}
