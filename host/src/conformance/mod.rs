//! The checks a backend must pass before anyone trusts it, as `wildhost
//! verify` runs them: for every key type it declares, inputs of every shape
//! and of lengths around each power of two, each sorted in a forked child
//! on a buffer placed against inaccessible guard pages, the result compared
//! bit for bit with the reference sort; the key types it does not declare
//! must be refused by the host without calling it; its declared scratch
//! memory is measured. A backend with a pairs entry (ABI 1.1) also sorts
//! keys with a payload (`pairs.rs`), which is where its stability shows;
//! one with `sort_with` (ABI 1.2) also sorts under a thread count
//! (`threads.rs`).

mod pairs;
mod threads;
pub mod workload;

use crate::error::SortError;
use crate::registry::Backend;
use crate::running::isolate::{
    self, ChildFailure, IsolatedSortError, Placement, SharedKeys, in_child,
};
use serde::Serialize;
use std::time::Duration;
use wildhost_abi::KeyType;
use workload::{Dist, Rng, WorkloadKey, check_sorted, generate};

/// How much to check.
#[derive(Clone, Debug)]
pub struct Options {
    /// Seed of every generated input.
    pub seed: u64,
    /// The longest input.
    pub max_len: usize,
    /// Time limit of one sort; `None`: [`Options::default_timeout`] of
    /// the sort's length.
    pub timeout: Option<Duration>,
    /// The length of the scratch-memory check's input; `None`: `max_len`.
    /// Memory a sort allocates shows only past the check's slack (1 MiB
    /// and an eighth of the input), so a short run of the other checks
    /// still measures it on a long input.
    pub scratch_len: Option<usize>,
}

impl Options {
    /// The time limit of one sort of `len` keys: 5 s, and 10 s more per
    /// million keys. A correct backend takes a small fraction of it even
    /// unoptimised; a hung one costs this once per key type (the type's
    /// other checks are skipped after a hang or a crash).
    pub fn default_timeout(len: usize) -> Duration {
        Duration::from_secs(5)
            + Duration::from_micros(10).saturating_mul(len.try_into().unwrap_or(u32::MAX))
    }

    /// The time limit for a sort of `len` keys.
    pub fn timeout_for(&self, len: usize) -> Duration {
        self.timeout
            .unwrap_or_else(|| Options::default_timeout(len))
    }

    /// The length of the scratch-memory check's input: at most 1 Mi keys.
    fn scratch_len(&self) -> usize {
        self.scratch_len.unwrap_or(self.max_len).clamp(1, 1 << 20)
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            seed: 42,
            max_len: 1_000_000,
            timeout: None,
            scratch_len: None,
        }
    }
}

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// It passed.
    Pass,
    /// It failed; `detail` says how.
    Fail,
    /// It could not be checked here; `detail` says why.
    Skip,
}

/// One check and its outcome.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// The backend checked.
    pub backend: String,
    /// The key type, if the check is about one.
    #[serde(rename = "type")]
    pub key_type: Option<&'static str>,
    /// What was checked, e.g. `random`, `reversed`, `undeclared-type`.
    pub check: String,
    /// Number of keys in the input.
    pub len: usize,
    /// Seed of the input: `wildhost verify --seed` gives the same keys.
    pub seed: u64,
    /// Pass, fail or skip.
    pub status: Status,
    /// What went wrong, or why it was skipped.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Every check of `backend`.
pub fn verify_backend(backend: &Backend, options: &Options) -> Vec<Check> {
    let mut checks = Vec::new();
    for key_type in KeyType::ALL {
        if backend.supports(key_type) {
            match key_type {
                KeyType::U32 => sort_checks::<u32>(backend, key_type, options, &mut checks),
                KeyType::U64 => sort_checks::<u64>(backend, key_type, options, &mut checks),
                KeyType::I32 => sort_checks::<i32>(backend, key_type, options, &mut checks),
                KeyType::I64 => sort_checks::<i64>(backend, key_type, options, &mut checks),
                KeyType::F32 => sort_checks::<f32>(backend, key_type, options, &mut checks),
                KeyType::F64 => sort_checks::<f64>(backend, key_type, options, &mut checks),
            }
            let checks = &mut checks;
            match key_type {
                KeyType::U32 => pairs::pairs_checks::<u32>(backend, key_type, options, checks),
                KeyType::U64 => pairs::pairs_checks::<u64>(backend, key_type, options, checks),
                KeyType::I32 => pairs::pairs_checks::<i32>(backend, key_type, options, checks),
                KeyType::I64 => pairs::pairs_checks::<i64>(backend, key_type, options, checks),
                KeyType::F32 => pairs::pairs_checks::<f32>(backend, key_type, options, checks),
                KeyType::F64 => pairs::pairs_checks::<f64>(backend, key_type, options, checks),
            }
            if backend.takes_threads() {
                match key_type {
                    KeyType::U32 => threads::checks::<u32>(backend, key_type, options, checks),
                    KeyType::U64 => threads::checks::<u64>(backend, key_type, options, checks),
                    KeyType::I32 => threads::checks::<i32>(backend, key_type, options, checks),
                    KeyType::I64 => threads::checks::<i64>(backend, key_type, options, checks),
                    KeyType::F32 => threads::checks::<f32>(backend, key_type, options, checks),
                    KeyType::F64 => threads::checks::<f64>(backend, key_type, options, checks),
                }
            }
        } else {
            checks.push(match key_type {
                KeyType::U32 => undeclared::<u32>(backend, key_type),
                KeyType::U64 => undeclared::<u64>(backend, key_type),
                KeyType::I32 => undeclared::<i32>(backend, key_type),
                KeyType::I64 => undeclared::<i64>(backend, key_type),
                KeyType::F32 => undeclared::<f32>(backend, key_type),
                KeyType::F64 => undeclared::<f64>(backend, key_type),
            });
        }
    }
    checks.push(message_capacity(backend, options));
    if !backend.supports_pairs() {
        checks.push(no_pairs(backend));
    }
    // A stable backend with pairs got its `stable` checks with them.
    if !(backend.supports_pairs() && backend.is_stable()) {
        checks.push(stability(backend));
    }
    checks
}

/// The inputs of one key type: (check name, shape, length).
fn cases(max_len: usize) -> Vec<(&'static str, Dist, usize)> {
    let mut cases = vec![
        ("empty", Dist::Uniform, 0),
        ("one", Dist::Uniform, 1),
        ("two", Dist::Uniform, 2),
        ("two-reversed", Dist::Reversed, 2),
        ("all-equal", Dist::AllEqual, 1000),
        ("sorted", Dist::Sorted, 1000),
        ("reversed", Dist::Reversed, 1000),
        ("few-unique", Dist::FewUnique, 1000),
        ("narrow", Dist::Narrow, 1000),
        ("zipf", Dist::Zipf, 1000),
        ("extremes", Dist::Specials, 1000),
    ];
    for case in &mut cases {
        case.2 = case.2.min(max_len);
    }
    let mut p = 2;
    while (1usize << p) - 1 <= max_len {
        for len in [(1usize << p) - 1, 1 << p, (1 << p) + 1] {
            if len <= max_len {
                cases.push(("random", Dist::Uniform, len));
            }
        }
        p += 1;
    }
    for (check, dist) in [
        ("sorted", Dist::Sorted),
        ("reversed", Dist::Reversed),
        ("extremes", Dist::Specials),
    ] {
        if max_len > 1000 {
            cases.push((check, dist, max_len));
        }
    }
    if cases.last().is_none_or(|c| c.2 != max_len) && max_len > 2 {
        cases.push(("random", Dist::Uniform, max_len));
    }
    cases
}

pub(crate) fn case_seed(base: u64, check: &str, len: usize) -> u64 {
    let mut rng = Rng::new(base ^ (len as u64).wrapping_mul(0x9E37_79B9));
    for b in check.bytes() {
        rng = Rng::new(rng.next_u64() ^ u64::from(b));
    }
    rng.next_u64() >> 16
}

fn sort_checks<T: WorkloadKey>(
    backend: &Backend,
    key_type: KeyType,
    options: &Options,
    checks: &mut Vec<Check>,
) {
    // After a crash or a hang, the type's other checks would most likely
    // crash or hang too, each costing a time limit: they are skipped.
    let mut stopped: Option<String> = None;
    let skipped = |why: &str| format!("skipped: the backend {why}");
    for (i, (check, dist, len)) in cases(options.max_len).into_iter().enumerate() {
        let seed = case_seed(options.seed, check, len);
        let (status, detail) = match &stopped {
            Some(why) => (Status::Skip, skipped(why)),
            None => {
                let input: Vec<T> = generate(dist, len, seed);
                // Alternate the side the guard page is on.
                let placement = if i % 2 == 0 {
                    Placement::AgainstEnd
                } else {
                    Placement::AgainstStart
                };
                match sort_guarded(backend, &input, placement, options.timeout_for(len)) {
                    Ok(()) => (Status::Pass, String::new()),
                    Err(failure) => {
                        if let Some(how) = failure.stopped {
                            stopped = Some(format!(
                                "{how} on the {key_type} `{check}` check ({len} keys)"
                            ));
                        }
                        (Status::Fail, failure.detail)
                    }
                }
            }
        };
        checks.push(Check {
            backend: backend.name().to_string(),
            key_type: Some(key_type.name()),
            check: check.to_string(),
            len,
            seed,
            status,
            detail,
        });
    }
    checks.push(match &stopped {
        Some(why) => Check {
            backend: backend.name().to_string(),
            key_type: Some(key_type.name()),
            check: "scratch-memory".to_string(),
            len: options.scratch_len(),
            seed: case_seed(options.seed, "scratch", options.scratch_len()),
            status: Status::Skip,
            detail: skipped(why),
        },
        None => scratch::<T>(backend, key_type, options),
    });
}

/// Why a guarded sort failed; `stopped` says how when its process did not
/// finish ("crashed", "hung").
struct GuardedFailure {
    detail: String,
    stopped: Option<&'static str>,
}

impl From<String> for GuardedFailure {
    fn from(detail: String) -> GuardedFailure {
        GuardedFailure {
            detail,
            stopped: None,
        }
    }
}

/// Sorts a copy of `input` in a child, against a guard page, and checks it.
fn sort_guarded<T: WorkloadKey>(
    backend: &Backend,
    input: &[T],
    placement: Placement,
    timeout: Duration,
) -> Result<(), GuardedFailure> {
    let mut shared = SharedKeys::with_guard_pages(input, placement)
        .map_err(|e| format!("cannot map the test buffer: {e}"))?;
    match isolate::sort(backend, &mut shared, timeout) {
        Ok(()) => {}
        Err(IsolatedSortError::Child {
            failure: ChildFailure::Died(how),
            ..
        }) if (how.contains("SIGSEGV") || how.contains("SIGBUS")) && input.is_empty() => {
            // No keys: whatever it touched, it was not past a key buffer.
            return Err(GuardedFailure {
                detail: format!("it crashed given no keys: its process {how}"),
                stopped: Some("crashed"),
            });
        }
        Err(IsolatedSortError::Child {
            failure: ChildFailure::Died(how),
            ..
        }) if how.contains("SIGSEGV") || how.contains("SIGBUS") => {
            return Err(GuardedFailure {
                detail: format!(
                    "it crashed: its process {how}; with the buffer against a guard page {}, \
                     this is most likely an access outside its buffer",
                    match placement {
                        Placement::AgainstEnd => "after its end",
                        Placement::AgainstStart => "before its start",
                    }
                ),
                stopped: Some("crashed"),
            });
        }
        Err(e) => {
            let stopped = match &e {
                IsolatedSortError::Child { failure, .. } => Some(match failure {
                    ChildFailure::TimedOut(_) => "hung",
                    ChildFailure::Died(_) => "crashed",
                    ChildFailure::Spawn(_) => "could not be run in a child process",
                }),
                IsolatedSortError::Sort(_) => None,
            };
            return Err(GuardedFailure {
                detail: e.to_string(),
                stopped,
            });
        }
    }
    let mut reference = input.to_vec();
    T::reference_sort(&mut reference);
    check_sorted(shared.as_slice(), &reference).map_err(|m| m.to_string().into())
}

/// A key type the backend did not declare is refused by the host, which
/// never calls the backend with it.
fn undeclared<T: WorkloadKey>(backend: &Backend, key_type: KeyType) -> Check {
    let mut keys: Vec<T> = generate(Dist::Uniform, 16, 1);
    let before = keys.clone();
    let (status, detail) = match backend.sort(&mut keys) {
        Err(SortError::UnsupportedKeyType { .. }) if keys == before => {
            (Status::Pass, String::new())
        }
        Err(SortError::UnsupportedKeyType { .. }) => (
            Status::Fail,
            "the keys changed although the sort was refused".to_string(),
        ),
        other => (
            Status::Fail,
            format!("the host did not refuse the undeclared type: {other:?}"),
        ),
    };
    Check {
        backend: backend.name().to_string(),
        key_type: Some(key_type.name()),
        check: "undeclared-type".to_string(),
        len: keys.len(),
        seed: 1,
        status,
        detail,
    }
}

/// The message capacities the check gives: none at all, and room for the
/// terminator alone.
const PROBED_CAPS: [usize; 2] = [0, 1];

/// A backend writes at most `err_cap` bytes of message: called, in a child,
/// on input it must refuse, with each of [`PROBED_CAPS`], the bytes after
/// the capacity must stay zero; a write far past it hits an inaccessible
/// page and crashes the child.
fn message_capacity(backend: &Backend, options: &Options) -> Check {
    let input = backend.probe_input_words();
    let mut check = Check {
        backend: backend.name().to_string(),
        key_type: None,
        check: "message-capacity".to_string(),
        len: 0,
        seed: 0,
        status: Status::Pass,
        detail: format!("wrote nothing past a message capacity of 0 or 1 byte, given {input}"),
    };
    for cap in PROBED_CAPS {
        let given = format!(
            "given {cap} {} for its message and {input}",
            if cap == 1 { "byte" } else { "bytes" }
        );
        let work = || backend.probe_message_capacity(cap).to_string().into_bytes();
        // SAFETY: the child calls the backend and allocates its report; it
        // takes no lock of the host's.
        let report = unsafe { isolate::in_child(options.timeout_for(0), work) };
        let detail = match report {
            Ok(report) => match String::from_utf8_lossy(&report).parse::<usize>() {
                Ok(0) => continue,
                Ok(past) => format!("{given}, it wrote {past} bytes past the capacity"),
                Err(_) => format!("{given}, its process sent a report wildhost cannot read"),
            },
            Err(ChildFailure::Died(how)) if how.contains("SIGSEGV") || how.contains("SIGBUS") => {
                format!(
                    "it crashed {given}: its process {how}; most likely a write of its \
                     message past the capacity, into the inaccessible page after the buffer"
                )
            }
            Err(failure) => format!("it failed {given}: {failure}"),
        };
        check.status = Status::Fail;
        check.detail = detail;
        break;
    }
    check
}

/// A backend without a pairs entry: nothing to check, and why.
fn no_pairs(backend: &Backend) -> Check {
    let (major, minor) = backend.module().abi;
    Check {
        backend: backend.name().to_string(),
        key_type: None,
        check: "pairs".to_string(),
        len: 0,
        seed: 0,
        status: Status::Skip,
        detail: if (major, minor) < (1, 1) {
            format!("built for ABI {major}.{minor}, no pairs entry")
        } else {
            format!("built for ABI {major}.{minor}, no pairs entry (sort_pairs is null)")
        },
    }
}

/// Stability cannot be seen through a key-only sort: keys equal in the
/// contract's order are bit for bit the same, so a stable and an unstable
/// sort give the same bytes. Without a pairs entry it is said, not guessed;
/// with one, `pairs.rs` checks it.
fn stability(backend: &Backend) -> Check {
    Check {
        backend: backend.name().to_string(),
        key_type: None,
        check: "stable-flag".to_string(),
        len: 0,
        seed: 0,
        status: Status::Skip,
        detail: if backend.is_stable() {
            "declared stable; not observable without a pairs entry: keys equal in the \
             contract's order are identical bits"
                .to_string()
        } else {
            "declared not stable".to_string()
        },
    }
}

/// The heap memory one sort touches beyond its input, against the declared
/// scratch percentage: measured in the child as the rise of its peak
/// resident memory.
fn scratch<T: WorkloadKey>(backend: &Backend, key_type: KeyType, options: &Options) -> Check {
    let len = options.scratch_len();
    let seed = case_seed(options.seed, "scratch", len);
    let input: Vec<T> = generate(Dist::Uniform, len, seed);
    let bytes = len * size_of::<T>();
    let declared = bytes as u64 * u64::from(backend.scratch_percent()) / 100;
    // Page-granular accounting, the allocator's own structures and the
    // plugin's first-call setup: 1 MiB and an eighth of the input.
    let allowed = declared + (1 << 20) + bytes as u64 / 8;
    let mut check = Check {
        backend: backend.name().to_string(),
        key_type: Some(key_type.name()),
        check: "scratch-memory".to_string(),
        len,
        seed,
        status: Status::Pass,
        detail: String::new(),
    };
    let mut shared = match SharedKeys::copy_of(&input) {
        Ok(shared) => shared,
        Err(e) => {
            check.status = Status::Skip;
            check.detail = format!("cannot map the test buffer: {e}");
            return check;
        }
    };
    let keys = shared.as_mut_slice();
    let work = || {
        // A first sort of a few keys brings the backend's code into memory;
        // touching the input maps its pages: neither is scratch.
        let mut warm: Vec<T> = generate(Dist::Uniform, 64, seed);
        if backend.sort(&mut warm).is_err() {
            return b"error".to_vec();
        }
        let mut sum = 0u64;
        for key in keys.iter().step_by(512 / size_of::<T>().max(1)) {
            sum = sum.wrapping_add(key.bits());
        }
        std::hint::black_box(sum);
        drop(warm);
        // Hand free heap pages back, so that scratch memory cannot hide in
        // pages this process already holds.
        // SAFETY: malloc_trim has no preconditions.
        unsafe { libc::malloc_trim(0) };
        let Some(before) = memory() else {
            return b"skip".to_vec();
        };
        if std::fs::write("/proc/self/clear_refs", "5").is_err() {
            return b"skip".to_vec();
        }
        if backend.sort(keys).is_err() {
            return b"error".to_vec();
        }
        let Some(after) = memory() else {
            return b"skip".to_vec();
        };
        // The peak's rise, less pages of files (code) mapped meanwhile.
        let rise = after.peak.saturating_sub(before.resident);
        let code = after.file.saturating_sub(before.file);
        rise.saturating_sub(code).to_string().into_bytes()
    };
    // SAFETY: the child takes no lock: it sorts, allocates, and reads and
    // writes files under /proc.
    let report = unsafe { in_child(options.timeout_for(len), work) };
    match report
        .as_deref()
        .map(|r| std::str::from_utf8(r).unwrap_or(""))
    {
        Ok("skip") => {
            check.status = Status::Skip;
            check.detail = "peak memory cannot be measured here (/proc/self/clear_refs)".into();
        }
        Ok("error") => {
            check.status = Status::Fail;
            check.detail = "the sort failed while its memory was measured".into();
        }
        Ok(used) => {
            let used: u64 = used.parse().unwrap_or(0);
            let mib = |b: u64| b as f64 / (1 << 20) as f64;
            // The words say which side of the limit it is on: a pass that
            // read "used 1.2 MiB; declares 0%" looked like a failure.
            let verdict = if used > allowed {
                check.status = Status::Fail;
                "more than"
            } else {
                "within"
            };
            check.detail = format!(
                "used {:.1} MiB beyond its input of {:.1} MiB: {verdict} the {:.1} MiB allowed \
                 (declares {}%, plus 1 MiB and an eighth of the input for the allocator)",
                mib(used),
                mib(bytes as u64),
                mib(allowed),
                backend.scratch_percent(),
            );
        }
        Err(e) => {
            check.status = Status::Fail;
            check.detail = e.to_string();
        }
    }
    check
}

/// The process's resident memory, from `/proc/self/status`, in bytes.
struct Memory {
    /// VmRSS: resident now.
    resident: u64,
    /// VmHWM: the peak of VmRSS since it was last reset.
    peak: u64,
    /// RssFile: resident pages of mapped files (code, mostly).
    file: u64,
}

fn memory() -> Option<Memory> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib * 1024)
    };
    Some(Memory {
        resident: field("VmRSS:")?,
        peak: field("VmHWM:")?,
        file: field("RssFile:")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_cover_small_sizes_powers_of_two_and_the_maximum() {
        let lens: Vec<usize> = cases(1_000_000).iter().map(|c| c.2).collect();
        for len in [
            0, 1, 2, 3, 4, 5, 1023, 1024, 1025, 524_288, 524_289, 1_000_000,
        ] {
            assert!(lens.contains(&len), "{len}");
        }
        assert!(lens.iter().all(|&l| l <= 1_000_000));
        let small = cases(100);
        assert!(small.iter().all(|c| c.2 <= 100));
        assert!(small.iter().any(|c| c.2 == 100));
    }

    #[test]
    fn seeds_differ_between_cases_and_repeat_for_the_same_case() {
        assert_eq!(case_seed(42, "random", 1024), case_seed(42, "random", 1024));
        assert_ne!(case_seed(42, "random", 1024), case_seed(42, "random", 1025));
        assert_ne!(case_seed(42, "random", 1024), case_seed(43, "random", 1024));
    }
}
