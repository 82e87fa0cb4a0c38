//! The host's side of a worker: forks it, hands it the keys or waits for
//! it to make them, pulls the sorted keys out of its memory (or its pipe)
//! and stops it.

use super::child::{start_on, worker_main};
use super::{PreparedSortError, Receive, Sink, Source, child_failed};
use crate::mem::{self, bytes_of_mut, prefault, release_pages, uninit, uninit_bytes};
use crate::process::{
    Reaped, Wait, describe_exit, die_with_parent, pipe, read_some, reap_by, wait_readable,
    write_all,
};
use crate::registry::Backend;
use crate::running::integrity::Fingerprint;
use crate::running::isolate::{ChildFailure, IsolatedSortError, sort_error, unreadable_report};
use crate::wire::{Body, Failure, HostRequest, ReportKind, WorkerReport};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::process::ExitStatus;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use wildhost_abi::sdk::Key;

/// How many keys the host pulls from the worker at a time when it hands
/// them on as it goes: 256 KiB of 64-bit keys, well inside an L2 cache.
const PULL: usize = 32 * 1024;

/// The worker's whole life, seen from the host: forks it, hands it the
/// keys or waits for it to load them, and receives the result. The
/// fingerprint a loading worker sent, if it is one.
pub(super) fn in_worker<T: Key>(
    backend: &Backend,
    mut source: Source<'_, T>,
    timeout: Duration,
    receive: Receive<'_, T>,
) -> Result<Option<Fingerprint>, PreparedSortError> {
    // What the host refuses, it refuses here, without a worker (`run`
    // calls the backend as it will, and the backend checks that call).
    if !matches!(source, Source::Run { .. }) {
        backend
            .check_callable(T::TYPE)
            .map_err(IsolatedSortError::from)?;
    }
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
            release_pages(caller);
            if let Some(to_worker) = &worker.to_worker {
                write_all(to_worker, &HostRequest::Go.encode());
            }
            keys = Some(caller);
        }
        // What `load` owns (the input it reads, say) the host lets go
        // of now: the worker's copy is the one used. Once the worker has
        // made the keys and dropped it too, its memory is free, and the
        // backend's scratch reuses it while it is still in the cache, which
        // makes the worker's sort faster (figures in docs/PERFORMANCE.md).
        Source::Prepare(prepare) => drop(prepare),
        // The values are made in the worker, and received into the
        // caller's vector: fresh pages, as many values as `len`.
        Source::Run { run, len, into } => {
            drop(run);
            if let Some(to_worker) = &worker.to_worker {
                write_all(to_worker, &HostRequest::Go.encode());
            }
            *into = mem::try_with_capacity(len).map_err(spawn)?;
            // SAFETY: every bit pattern is a valid key; the values are
            // written by the copy out of the worker before they are read
            // (a failed copy leaves the vector emptied by the caller).
            into.resize(len, unsafe { std::mem::zeroed() });
            keys = Some(into);
        }
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
/// each sort cost a measurable part of a small isolated sort: figures in
/// docs/PERFORMANCE.md.)
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
                // shared memory bus (figures in docs/PERFORMANCE.md).
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
        match reap_by(self.pid, grace) {
            Reaped::Ended(status) => Some(status),
            Reaped::Killed(status) => status,
            Reaped::Gone => None,
        }
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
