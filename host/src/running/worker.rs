//! `wildhost sort --isolate`: the backend sorts in a forked worker process,
//! and the host pulls the result back.
//!
//! The keys reach the worker in one of two ways, neither a copy:
//! - The worker makes them ([`sort_prepared`], what the
//!   command does): forked once the input is read, it parses it (its copy
//!   of the host's memory, shared copy-on-write and only read) and sends
//!   the keys' fingerprint back before any code of the backend runs there.
//!   The host lets go of the input at once and never holds the keys.
//! - The caller has them ([`sort`]): the worker is forked
//!   once they are in memory, so it starts with them at no cost, and the
//!   host lets go of its own view of their pages before the worker touches
//!   them: the worker is left their only owner and sorts them in place,
//!   its writes copying nothing.
//!
//! When the worker reports where its sorted keys are, the host copies them
//! with `process_vm_readv`, a cache-sized block at a time, into its own
//! buffer (the output itself, for the binary format) and checks each block
//! while it is in the cache; then it stops the worker. Where the kernel
//! does not allow reading another process's memory (or the environment
//! sets `WILDHOST_ISOLATE_VIA_PIPE`, which the tests use), the worker sends
//! the keys through the pipe instead.
//!
//! The host only ever writes to its own buffer, within its bounds, and only
//! reads the worker: a worker that lies about where its keys are gives
//! wrong keys, which the caller's result check catches, never a write
//! anywhere else.

use super::integrity::Fingerprint;
use super::isolate::{ChildFailure, IsolatedSortError, failure_of, sort_error, unreadable_report};
use crate::mem;
use crate::process::{
    Wait, describe_exit, die_with_parent, page_size, pipe, read_some, reap, wait_readable,
    write_all,
};
use crate::registry::Backend;
use crate::wire::{Body, Failure, HostRequest, ReportKind, WorkerReport};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt as _;
use std::process::ExitStatus;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use wildhost_abi::sdk::Key;

/// How many keys the host pulls from the worker at a time when it hands
/// them on as it goes: 256 KiB of 64-bit keys, well inside an L2 cache.
const PULL: usize = 32 * 1024;

/// Sorts `keys` in a forked worker process with a time limit, as
/// `wildhost sort --isolate` does: a backend that crashes, exits or hangs
/// gives an error naming what happened. The keys' memory goes to the
/// worker, so on an error `keys` is left empty; on success it holds the
/// worker's result (the caller still checks it, as for any backend).
pub fn sort<T: Key>(
    backend: &Backend,
    keys: &mut Vec<T>,
    timeout: Duration,
) -> Result<(), IsolatedSortError> {
    sort_keys(backend, keys, timeout, Receive::Whole)
}

/// [`sort`], handing the sorted keys to `take` in
/// order, a cache-sized block at a time, as they are copied out of the
/// worker: no buffer of the whole result is made. `keys` is left empty.
/// On an error, `take` may have been given part of the keys.
pub fn sort_with<T: Key>(
    backend: &Backend,
    keys: &mut Vec<T>,
    timeout: Duration,
    mut take: impl FnMut(&[T]),
) -> Result<(), IsolatedSortError> {
    sort_keys(backend, keys, timeout, Receive::To(Sink::Blocks(&mut take)))
}

/// Sorts, in a forked worker process with a time limit, keys that the
/// worker makes itself, as `wildhost sort --isolate` does: `prepare` runs
/// in the worker (which starts as a copy of this process) before any code
/// of the backend does there, and returns the keys and their fingerprint;
/// the worker sends the fingerprint back, then sorts. The host never holds
/// the keys, so nothing of them is handed over or copied into the worker.
/// Preparing gets the time limit, and sorting gets it again from the
/// fingerprint's arrival. The sorted keys go to `sink` as they are copied
/// out (on an error, `Sink::Bytes` may have been given part of them); the
/// fingerprint is returned, for checking them.
///
/// # Safety
///
/// `prepare` runs in a forked copy of this process in which only the
/// calling thread exists. It must not wait for a lock that another thread
/// of this process might have held at the moment of the fork (a `Mutex`,
/// stdout's lock, a `OnceLock` being initialised): in the child, no one
/// would ever release it. The allocator's own lock is safe (glibc's `fork`
/// takes care of it). The caller must know every thread of the process, or
/// that `prepare` takes no lock.
pub unsafe fn sort_prepared<'a, T: Key>(
    backend: &Backend,
    timeout: Duration,
    prepare: impl FnOnce() -> Result<Prepared<T>, String> + 'a,
    sink: Sink<'_, T>,
) -> Result<Fingerprint, PreparedSortError> {
    let fingerprint = in_worker(
        backend,
        Source::Prepare(Box::new(prepare)),
        timeout,
        Receive::To(sink),
    )?;
    // A loading worker always sends its fingerprint before the keys.
    fingerprint.ok_or_else(|| {
        PreparedSortError::Sort(child_failed(
            backend,
            ChildFailure::Died("sent its keys without their fingerprint".into()),
        ))
    })
}

fn sort_keys<T: Key>(
    backend: &Backend,
    keys: &mut Vec<T>,
    timeout: Duration,
    receive: Receive<'_, T>,
) -> Result<(), IsolatedSortError> {
    match in_worker(backend, Source::Keys(keys), timeout, receive) {
        Ok(_) => Ok(()),
        Err(PreparedSortError::Sort(e)) => Err(e),
        // Only a loading worker reports on loading.
        Err(PreparedSortError::Prepare(what)) => {
            Err(child_failed(backend, ChildFailure::Died(what)))
        }
        Err(PreparedSortError::PrepareStopped(failure)) => Err(child_failed(backend, failure)),
    }
}

fn child_failed(backend: &Backend, failure: ChildFailure) -> IsolatedSortError {
    IsolatedSortError::Child {
        backend: backend.name().to_string(),
        failure,
    }
}

/// The worker's whole life, seen from the host: forks it, hands it the
/// keys or waits for it to load them, and receives the result. The
/// fingerprint a loading worker sent, if it is one.
fn in_worker<T: Key>(
    backend: &Backend,
    mut source: Source<'_, T>,
    timeout: Duration,
    receive: Receive<'_, T>,
) -> Result<Option<Fingerprint>, PreparedSortError> {
    // What the host refuses, it refuses here, without a worker.
    backend
        .check_callable(T::TYPE)
        .map_err(IsolatedSortError::from)?;
    reap_ended();
    let failed = |failure| PreparedSortError::Sort(child_failed(backend, failure));
    let spawn = |e: io::Error| failed(ChildFailure::Spawn(e.to_string()));
    if let Source::Keys(keys) = &mut source {
        mem::round_up_to_huge_pages(keys);
    }
    let loading = matches!(source, Source::Prepare(_));
    let (from_worker, worker_report) = pipe().map_err(spawn)?;
    let (worker_control, to_worker) = pipe().map_err(spawn)?;
    // SAFETY: sched_getcpu and getpid have no preconditions.
    let (cpu, parent) = unsafe { (libc::sched_getcpu(), libc::getpid()) };
    // SAFETY: fork has no preconditions; the child runs only
    // `worker_main`, which ends in `_exit`, never returning into the
    // parent's code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(spawn(io::Error::last_os_error()));
    }
    if pid == 0 {
        die_with_parent(parent);
        start_on(cpu);
        drop((from_worker, to_worker));
        worker_main(backend, source, worker_report, worker_control);
    }
    drop((worker_report, worker_control));
    let mut worker = Worker {
        pid,
        from_worker,
        to_worker: Some(to_worker),
        deadline: deadline_after(timeout),
        live: true,
    };
    let mut keys = None;
    match source {
        Source::Keys(caller) => {
            // The worker becomes the only owner of the keys' pages, then
            // sorts.
            release(caller);
            if let Some(to_worker) = &worker.to_worker {
                write_all(to_worker, &HostRequest::Go.encode());
            }
            keys = Some(caller);
        }
        // What `load` owns (the input it reads, say) the host lets go
        // of now: the worker's copy is the one used. Once the worker has
        // made the keys and dropped it too, its memory is free, and the
        // backend's scratch reuses it while it is still in the cache
        // (in back-to-back runs, the worker's sort of 1e6 keys 4.48 ->
        // 4.30 ms).
        Source::Prepare(prepare) => drop(prepare),
    }
    let mut fingerprint = None;
    let outcome = match keys {
        Some(keys) => {
            let len = keys.len();
            let outcome = worker.receive(len, receive, keys);
            if outcome.is_err() {
                keys.clear();
            }
            outcome
        }
        None => worker.loaded(timeout).and_then(|(len, loaded)| {
            fingerprint = Some(loaded);
            worker.receive(len, receive, &mut Vec::new())
        }),
    };
    if outcome.is_ok() {
        // The worker has nothing left to do, and its end (unmapping its
        // memory) need not hold up the caller.
        worker.stop_later();
        return Ok(fingerprint);
    }
    let status = worker.stop(matches!(outcome, Err(Pulled::Ended)));
    let ended = |status: Option<ExitStatus>| match status {
        Some(status) if status.success() => "ended without sending the keys".into(),
        Some(status) => describe_exit(status),
        None => "vanished".into(),
    };
    match outcome {
        Ok(()) => Ok(fingerprint),
        Err(Pulled::Failed(failure)) => {
            Err(IsolatedSortError::from(sort_error(backend.name(), failure)).into())
        }
        Err(Pulled::Unreadable) => Err(unreadable_report(backend.name()).into()),
        Err(Pulled::LoadFailed(what)) => Err(PreparedSortError::Prepare(what)),
        // Before the fingerprint, the worker was still loading: the
        // backend never ran.
        Err(Pulled::TimedOut) if loading && fingerprint.is_none() => Err(
            PreparedSortError::PrepareStopped(ChildFailure::TimedOut(timeout)),
        ),
        Err(Pulled::TimedOut) => Err(failed(ChildFailure::TimedOut(timeout))),
        Err(Pulled::Ended) if loading && fingerprint.is_none() => Err(
            PreparedSortError::PrepareStopped(ChildFailure::Died(ended(status))),
        ),
        Err(Pulled::Ended) => Err(failed(ChildFailure::Died(ended(status)))),
        Err(Pulled::Garbled(what)) => Err(failed(ChildFailure::Died(what))),
    }
}

/// `timeout` from now, or as far as the clock goes.
fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(u64::from(u32::MAX)))
}

/// Moves the worker onto `cpu`, the one the host was running on, whose
/// caches hold the keys the host just read (the scheduler would start it on
/// the idle one: a sort 0.3 to 0.4 ms slower at 1e6 keys), then lets it run
/// on every CPU it could before: it stays put unless the scheduler has a
/// reason to move it, and a backend's own threads may use them all. The
/// host only waits meanwhile.
fn start_on(cpu: libc::c_int) {
    let Ok(cpu) = usize::try_from(cpu) else {
        return;
    };
    // SAFETY: an all-zero cpu_set_t is an empty set.
    let (mut allowed, mut here): (libc::cpu_set_t, libc::cpu_set_t) =
        unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
    let size = size_of::<libc::cpu_set_t>();
    // SAFETY: both sets are valid for `size` bytes; CPU_SET checks `cpu`
    // against the set's size.
    unsafe {
        if libc::sched_getaffinity(0, size, &mut allowed) != 0 || !libc::CPU_ISSET(cpu, &allowed) {
            return;
        }
        libc::CPU_SET(cpu, &mut here);
        if libc::sched_setaffinity(0, size, &here) == 0 {
            libc::sched_setaffinity(0, size, &allowed);
        }
    }
}

/// Where the sorted keys go: back into the caller's vector, or to a sink.
enum Receive<'a, T> {
    Whole,
    To(Sink<'a, T>),
}

/// Where an isolated sort's keys go, in order, as they are copied out of
/// the worker.
pub enum Sink<'a, T> {
    /// To the function, a cache-sized block at a time.
    Blocks(&'a mut dyn FnMut(&[T])),
    /// Appended to the buffer in this machine's byte order (on a
    /// little-endian machine: the binary format), copied from the worker
    /// straight into it; each block, right after it was appended (while it
    /// is in the cache), also goes to the function, which may check it.
    Bytes(&'a mut Vec<u8>, &'a mut dyn FnMut(&[T])),
}

impl<T> std::fmt::Debug for Sink<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sink::Blocks(_) => "Sink::Blocks",
            Sink::Bytes(..) => "Sink::Bytes",
        })
    }
}

/// Keys a worker made itself, and their fingerprint, taken as it made them.
#[derive(Debug)]
pub struct Prepared<T> {
    /// The keys to sort.
    pub keys: Vec<T>,
    /// Their fingerprint, for checking the result.
    pub fingerprint: Fingerprint,
}

/// Why a sort of keys the worker makes itself did not give a result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PreparedSortError {
    /// Making the keys failed (before the backend ran): what the loader
    /// said.
    #[error("{0}")]
    Prepare(String),
    /// The worker died or ran out of time while making the keys, before
    /// the backend ran.
    #[error("the worker process making the keys: {0}")]
    PrepareStopped(ChildFailure),
    /// The sort failed.
    #[error(transparent)]
    Sort(#[from] IsolatedSortError),
}

/// What the worker sorts.
enum Source<'a, T> {
    /// The caller's keys, whose pages go over to the worker.
    Keys(&'a mut Vec<T>),
    /// Keys the worker makes itself, with their fingerprint.
    Prepare(Box<dyn FnOnce() -> Result<Prepared<T>, String> + 'a>),
}

/// The worker: waits for the host to let go of the keys, or makes them
/// (and sends their fingerprint), sorts them in place, reports, sends the
/// keys if asked, and waits for the host to be done. Never returns.
fn worker_main<T: Key>(
    backend: &Backend,
    source: Source<'_, T>,
    report: OwnedFd,
    control: OwnedFd,
) -> ! {
    // A panic must not unwind into the copy of the host's stack.
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // Free heap memory inherited from the host is shared copy-on-write:
        // the first write to each of its pages copies the page. Handing it
        // back to the kernel first makes the backend's scratch fresh zero
        // pages instead.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only releases free memory of this process.
        unsafe {
            libc::malloc_trim(0);
        }
        let mut request = [0u8; 1];
        let mut next_request = || {
            let n = read_some(&control, &mut request);
            HostRequest::decode(&request[..n])
        };
        let send = |message: WorkerReport| write_all(&report, &message.encode());
        let mut loaded;
        let keys: &mut [T] = match source {
            Source::Keys(keys) => {
                if next_request() != Ok(HostRequest::Go) {
                    return;
                }
                keys
            }
            Source::Prepare(prepare) => match prepare() {
                Ok(made) => {
                    send(WorkerReport::Prepared {
                        len: made.keys.len() as u64,
                        fingerprint: made.fingerprint.to_le_bytes(),
                    });
                    loaded = made.keys;
                    &mut loaded
                }
                Err(message) => {
                    send(WorkerReport::PrepareFailed(message));
                    return;
                }
            },
        };
        match backend.sort(keys) {
            Ok(()) => {
                send(WorkerReport::Sorted {
                    address: keys.as_ptr() as u64,
                    len: keys.len() as u64,
                });
                if next_request() == Ok(HostRequest::SendThroughPipe) {
                    write_all(&report, bytes_of(keys));
                    // Until the host has read it all and hangs up.
                    let _ = next_request();
                }
            }
            Err(error) => send(WorkerReport::Failed(failure_of(error))),
        }
    }));
    // SAFETY: leaves the worker at once, without running the host's atexit
    // handlers or destructors a second time.
    unsafe { libc::_exit(if run.is_ok() { 0 } else { 101 }) }
}

/// Copies one block of the worker's keys into the room it is given.
type CopyBlock<'a> = dyn FnMut(&mut [MaybeUninit<u8>]) -> Result<(), Pulled> + 'a;

/// Why the host got no sorted keys from the worker.
enum Pulled {
    /// The backend reported an error.
    Failed(Failure),
    /// The backend's error came in a report that cannot be read.
    Unreadable,
    /// The worker could not make the keys: what it said.
    LoadFailed(String),
    /// The time limit passed.
    TimedOut,
    /// The worker ended (or closed its pipe) before sending the keys.
    Ended,
    /// The worker sent something that is not a report.
    Garbled(String),
}

/// A report that [`Worker::next_report`] let through for a stage that does
/// not expect it (it lets none through).
fn unexpected(stage: &str, kind: ReportKind) -> Pulled {
    Pulled::Garbled(format!("sent {stage} byte {:#x}", kind.byte()))
}

/// Workers ended after a successful sort, reaped without waiting at the
/// start of the next isolated sort (or by the system once this process
/// exits): neither waiting for a worker's end (unmapping its memory) nor a
/// thread to wait for it holds up the caller. (A reaper thread started for
/// each sort cost 0.11 ms of a 2.2 ms `wildhost sort --isolate` of 1e4
/// keys, 41 alternating runs, and nothing measurable at 1e6.)
static ENDED: Mutex<Vec<libc::pid_t>> = Mutex::new(Vec::new());

/// Reaps the ended workers that have finished ending.
fn reap_ended() {
    let mut ended = ENDED.lock().unwrap_or_else(PoisonError::into_inner);
    ended.retain(|&pid| {
        let mut status = 0;
        // SAFETY: polls our own child; `status` is a valid out-pointer.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        // Still ending (0), or interrupted: look again next time.
        rc == 0 || (rc < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted)
    });
}

/// The host's side of a running worker.
struct Worker {
    pid: libc::pid_t,
    from_worker: OwnedFd,
    to_worker: Option<OwnedFd>,
    deadline: Instant,
    /// Not yet stopped: dropping the worker then stops it (a caller's sink
    /// that panics unwinds through here).
    live: bool,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.end_later();
    }
}

impl Worker {
    /// Waits for a loading worker's word that it made the keys: their number
    /// and fingerprint. The time limit starts again from there, for the
    /// sort.
    fn loaded(&mut self, timeout: Duration) -> Result<(usize, Fingerprint), Pulled> {
        let stage = [ReportKind::Prepared, ReportKind::PrepareFailed];
        let (len, fingerprint) = match self.next_report("loading", &stage)? {
            WorkerReport::Prepared { len, fingerprint } => (len, fingerprint),
            WorkerReport::PrepareFailed(said) => return Err(Pulled::LoadFailed(said)),
            other => return Err(unexpected("loading", other.kind())),
        };
        let fingerprint = Fingerprint::from_le_bytes(fingerprint);
        let len = usize::try_from(len)
            .map_err(|_| Pulled::Garbled(format!("reported {len} keys loaded")))?;
        self.deadline = deadline_after(timeout);
        Ok((len, fingerprint))
    }

    /// Waits for the report that the `len` keys are sorted and takes them:
    /// into `keys` (as long as the result) or to the sink.
    fn receive<T: Key>(
        &mut self,
        len: usize,
        receive: Receive<'_, T>,
        keys: &mut Vec<T>,
    ) -> Result<(), Pulled> {
        match receive {
            Receive::Whole => {
                // Fresh pages for the result, faulted in by the host rather
                // than one by one inside the copy. A small result's while
                // the worker sorts, on the other core; a large one's once
                // it has sorted: it is on huge pages, a few faults, and
                // taking them earlier slows the worker's sort down on the
                // shared memory bus (0.4 ms at 1e6 keys).
                let large = size_of_val(keys.as_slice()) >= mem::WORTH_IT;
                if !large {
                    prefault(keys);
                }
                let address = self.report(len)?;
                if large {
                    prefault(keys);
                }
                self.pull(address, keys)
            }
            Receive::To(sink) => {
                // The buffer's pages went to the worker: nothing to keep.
                *keys = Vec::new();
                let address = self.report(len)?;
                match sink {
                    Sink::Blocks(take) => self.pull_blocks(address, len, take),
                    Sink::Bytes(out, inspect) => self.pull_bytes(address, len, out, inspect),
                }
            }
        }
    }

    /// Waits for the worker's report that it sorted the `len` keys; the
    /// address of its keys.
    fn report(&mut self, len: usize) -> Result<u64, Pulled> {
        let stage = [ReportKind::Sorted, ReportKind::Failed];
        let (address, reported) = match self.next_report("report", &stage)? {
            WorkerReport::Sorted { address, len } => (address, len),
            WorkerReport::Failed(failure) => return Err(Pulled::Failed(failure)),
            other => return Err(unexpected("report", other.kind())),
        };
        if reported != len as u64 {
            return Err(Pulled::Garbled(format!(
                "reported {reported} sorted keys for {len} keys sent"
            )));
        }
        Ok(address)
    }

    /// Reads the worker's next report, which must be of one of the `kinds`
    /// the `stage` (the word for it in an error) expects: a report of
    /// another kind is garbled, and nothing after its first byte is read.
    fn next_report(&mut self, stage: &str, kinds: &[ReportKind]) -> Result<WorkerReport, Pulled> {
        let mut first = [0u8; 1];
        if self.read_exact(&mut first)? < 1 {
            return Err(Pulled::Ended);
        }
        let kind = ReportKind::from_byte(first[0])
            .filter(|kind| kinds.contains(kind))
            .ok_or_else(|| Pulled::Garbled(format!("sent {stage} byte {:#x}", first[0])))?;
        let body = match kind.body() {
            Body::Fixed(len) => {
                let mut body = vec![0u8; len];
                if self.read_exact(&mut body)? < len {
                    return Err(Pulled::Ended);
                }
                body
            }
            Body::ToEnd => self.read_to_end()?,
        };
        WorkerReport::decode_body(kind, &body).map_err(|_| Pulled::Unreadable)
    }

    /// Whether to read the worker's memory: not where the environment says
    /// to use the pipe (the tests do) or after the kernel refused it once.
    fn readable(&self) -> bool {
        self.to_worker.is_some() && std::env::var_os("WILDHOST_ISOLATE_VIA_PIPE").is_none()
    }

    /// Switches to receiving the keys through the pipe: the kernel does not
    /// let this process read the worker (a seccomp filter or ptrace
    /// policy). The worker sends them all, from the first.
    fn ask_for_pipe(&mut self) {
        if let Some(to_worker) = &self.to_worker {
            write_all(to_worker, &HostRequest::SendThroughPipe.encode());
        }
    }

    /// Copies the worker's sorted keys, at `address`, into `keys` (as many).
    fn pull<T: Key>(&mut self, address: u64, keys: &mut [T]) -> Result<(), Pulled> {
        let mut rest = keys;
        self.pull_each(address, rest.len(), size_of::<T>(), &mut |count, copy| {
            let (block, tail) = std::mem::take(&mut rest).split_at_mut(count);
            rest = tail;
            copy(uninit(bytes_of_mut(block)))
        })
    }

    /// Copies the worker's `len` sorted keys, at `address`, a block at a
    /// time into a buffer in the cache, and hands each block to `take`.
    fn pull_blocks<T: Key>(
        &mut self,
        address: u64,
        len: usize,
        take: &mut dyn FnMut(&[T]),
    ) -> Result<(), Pulled> {
        let mut buffer: Vec<T> = Vec::with_capacity(PULL.min(len));
        self.pull_each(address, len, size_of::<T>(), &mut |count, copy| {
            buffer.clear();
            copy(uninit_bytes(&mut buffer.spare_capacity_mut()[..count]))?;
            // SAFETY: `copy` wrote all `count` keys' bytes, and any bytes
            // make valid keys.
            unsafe { buffer.set_len(count) };
            take(&buffer);
            Ok(())
        })
    }

    /// Appends the worker's `len` sorted keys, at `address`, to `out`, a
    /// block at a time, and hands each block to `inspect`.
    fn pull_bytes<T: Key>(
        &mut self,
        address: u64,
        len: usize,
        out: &mut Vec<u8>,
        inspect: &mut dyn FnMut(&[T]),
    ) -> Result<(), Pulled> {
        let size = size_of::<T>();
        let bytes = len.saturating_mul(size);
        if !mem::try_reserve(out, bytes) && out.try_reserve_exact(bytes).is_err() {
            return Err(Pulled::Garbled(format!(
                "sent {len} keys, more than this process can hold"
            )));
        }
        // Where `out` is not aligned for keys, each block is inspected from
        // a copy (a `Vec<u8>` promises no alignment; large ones have it).
        // SAFETY: keys are plain integers or floats: all-zero bits are one.
        let zero: T = unsafe { std::mem::zeroed() };
        let mut aligned = Vec::new();
        self.pull_each(address, len, size, &mut |count, copy| {
            let start = out.len();
            copy(&mut out.spare_capacity_mut()[..count * size])?;
            // SAFETY: `copy` wrote every byte of the block.
            unsafe { out.set_len(start + count * size) };
            let written = &out[start..];
            // SAFETY: any bytes make valid keys; `align_to` hands out only
            // the aligned middle.
            match unsafe { written.align_to::<T>() } {
                ([], block, []) => inspect(block),
                _ => {
                    aligned.clear();
                    aligned.resize(count, zero);
                    bytes_of_mut(&mut aligned).copy_from_slice(written);
                    inspect(&aligned);
                }
            }
            Ok(())
        })
    }

    /// The loop of [`Worker::pull`], [`Worker::pull_blocks`] and
    /// [`Worker::pull_bytes`]: for each block of at most `PULL` of the `len`
    /// keys of `size` bytes at `address`, `block` is given the block's number
    /// of keys and a function that copies the block's bytes into the room it
    /// is given (exactly that many bytes). From the worker's memory, or
    /// through the pipe where the kernel refuses that.
    fn pull_each(
        &mut self,
        address: u64,
        len: usize,
        size: usize,
        block: &mut dyn FnMut(usize, &mut CopyBlock<'_>) -> Result<(), Pulled>,
    ) -> Result<(), Pulled> {
        let mut through_pipe = !self.readable();
        if through_pipe {
            self.ask_for_pipe();
        }
        let mut done = 0;
        while done < len {
            let count = PULL.min(len - done);
            let at = address.wrapping_add((done * size) as u64);
            block(count, &mut |dest| {
                if !through_pipe {
                    if read_process(self.pid, at, dest).is_ok() {
                        return Ok(());
                    }
                    if done > 0 {
                        return Err(Pulled::Garbled(
                            "could no longer be read from after the first keys".into(),
                        ));
                    }
                    through_pipe = true;
                    self.ask_for_pipe();
                }
                dest.fill(MaybeUninit::new(0));
                // SAFETY: every byte was just initialised.
                let dest = unsafe {
                    std::slice::from_raw_parts_mut(dest.as_mut_ptr().cast::<u8>(), dest.len())
                };
                if self.read_exact(dest)? < dest.len() {
                    return Err(Pulled::Ended);
                }
                Ok(())
            })?;
            done += count;
        }
        Ok(())
    }

    /// Everything the worker sends until it closes the pipe.
    fn read_to_end(&mut self) -> Result<Vec<u8>, Pulled> {
        let mut rest = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match self.read_exact(&mut buf)? {
                0 => return Ok(rest),
                n => rest.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// Fills `buf` from the worker's pipe; fewer bytes only at its end.
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<usize, Pulled> {
        let mut filled = 0;
        while filled < buf.len() {
            match wait_readable(&self.from_worker, self.deadline) {
                Wait::Ready => {}
                Wait::TimedOut => return Err(Pulled::TimedOut),
                Wait::Failed => return Err(Pulled::Garbled("could not be watched".into())),
            }
            match read_some(&self.from_worker, &mut buf[filled..]) {
                0 => break,
                n => filled += n,
            }
        }
        Ok(filled)
    }

    /// Ends the worker without waiting for it: a later isolated sort reaps
    /// it, or the system once this process exits.
    fn stop_later(mut self) {
        self.end_later();
    }

    fn end_later(&mut self) {
        if !std::mem::replace(&mut self.live, false) {
            return;
        }
        self.to_worker = None;
        // SAFETY: `pid` is our child, not yet reaped.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        ENDED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(self.pid);
    }

    /// Ends the worker and reaps it; how it ended. `ended`: the worker
    /// closed its pipe, so it is exiting on its own: it gets a moment to
    /// finish, so that its own exit status or signal is the one reported.
    fn stop(&mut self, ended: bool) -> Option<ExitStatus> {
        self.to_worker = None;
        // Reaped below, one way or the other: not again when dropped.
        self.live = false;
        let grace = Instant::now() + Duration::from_millis(if ended { 200 } else { 0 });
        loop {
            let mut status = 0;
            // SAFETY: polls our own child; `status` is a valid out-pointer.
            let rc = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
            if rc == self.pid {
                return Some(ExitStatus::from_raw(status));
            }
            if rc < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return None;
            }
            if Instant::now() >= grace {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        // SAFETY: `pid` is our child, not yet reaped.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        reap(self.pid)
    }
}

/// Copies `dest.len()` bytes at `address` in process `pid` into `dest`.
fn read_process(pid: libc::pid_t, address: u64, dest: &mut [MaybeUninit<u8>]) -> io::Result<()> {
    let mut done = 0;
    while done < dest.len() {
        let local = libc::iovec {
            iov_base: dest[done..].as_mut_ptr().cast(),
            iov_len: dest.len() - done,
        };
        let remote = libc::iovec {
            iov_base: (address as usize).wrapping_add(done) as *mut libc::c_void,
            iov_len: dest.len() - done,
        };
        // SAFETY: the local iovec covers the live, exclusively borrowed
        // `dest[done..]`; the remote one is only read, by the kernel, which
        // checks it against the worker's mappings.
        let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
        if n <= 0 {
            return Err(io::Error::last_os_error());
        }
        done += n as usize;
    }
    Ok(())
}

/// The room of `keys` as bytes to copy into.
fn uninit_bytes<T: Key>(keys: &mut [MaybeUninit<T>]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: the same memory, as bytes that may be uninitialised; every
    // bit pattern is a valid key, so whatever is written through the view
    // leaves valid keys wherever all their bytes were written.
    unsafe { std::slice::from_raw_parts_mut(keys.as_mut_ptr().cast(), size_of_val(keys)) }
}

/// `bytes` as room to copy into.
fn uninit(bytes: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: same layout; through the view only bytes are written, never
    // uninitialised memory, so `bytes` stays initialised.
    unsafe { std::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast(), bytes.len()) }
}

fn bytes_of<T: Key>(keys: &[T]) -> &[u8] {
    // SAFETY: keys are plain integers or floats: no padding, every byte
    // initialised; the byte view covers exactly the slice.
    unsafe { std::slice::from_raw_parts(keys.as_ptr().cast(), size_of_val(keys)) }
}

fn bytes_of_mut<T: Key>(keys: &mut [T]) -> &mut [u8] {
    // SAFETY: as in `bytes_of`, and every bit pattern is a valid key, so any
    // bytes written through the view leave valid keys.
    unsafe { std::slice::from_raw_parts_mut(keys.as_mut_ptr().cast(), size_of_val(keys)) }
}

/// In the host, right after the fork: drops its view of the pages that lie
/// wholly inside the buffer of `keys` (its spare capacity included), so that
/// the worker is their only owner and its writes to them copy nothing. The
/// host reads zeros there afterwards, and fresh pages back its later writes.
/// (A page shared with other memory stays shared, and the worker's first
/// write to it copies it: under the `wildhost` command's allocator a large
/// buffer has no such page.)
fn release<T: Key>(keys: &mut Vec<T>) {
    let page = page_size();
    let buffer = keys.as_mut_ptr() as usize;
    let start = buffer.next_multiple_of(page);
    let end = (buffer + keys.capacity() * size_of::<T>()) & !(page - 1);
    if end > start {
        // SAFETY: the range lies inside the buffer of `keys`, which the host
        // borrows exclusively; for private anonymous memory MADV_DONTNEED
        // only replaces the host's pages with zero pages, which are valid
        // keys.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
}

/// Writes to each page of `keys`, so that the kernel backs them now. What
/// was there is about to be overwritten by the result (or dropped).
fn prefault<T: Key>(keys: &mut [T]) {
    let page = page_size();
    let bytes = bytes_of_mut(keys);
    let mut at = 0;
    while at < bytes.len() {
        // SAFETY: `at` is in bounds; volatile, so that the compiler keeps
        // a write nothing reads before the result overwrites it.
        unsafe { bytes.as_mut_ptr().add(at).write_volatile(0) };
        at += page;
    }
}
