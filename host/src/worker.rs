//! `wildhost sort --isolate`: the backend sorts in a forked worker process,
//! and the host pulls the result back.
//!
//! The worker is forked once the keys are read, so it starts with them at no
//! cost (the pages are shared copy-on-write). The host then lets go of its
//! own view of those pages before the worker touches them: the worker is
//! left their only owner and sorts them in place, its writes copying
//! nothing. Meanwhile the host faults in fresh pages for the result on the
//! other core. When the worker reports where its sorted keys are, the host
//! copies them straight into its buffer with `process_vm_readv`, one copy,
//! and stops the worker. Where the kernel does not allow reading another
//! process's memory (or the environment sets `WILDHOST_ISOLATE_VIA_PIPE`,
//! which the tests use), the worker sends the keys through the pipe instead.
//!
//! The host only ever writes to its own buffer, within its bounds, and only
//! reads the worker: a worker that lies about where its keys are gives
//! wrong keys, which the caller's result check catches, never a write
//! anywhere else.

use crate::isolate::{
    ChildFailure, IsolatedSortError, Wait, describe_exit, failure_from_report, failure_report,
    page_size, pipe, read_some, reap, wait_readable, write_all,
};
use crate::{Backend, mem};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt as _;
use std::process::ExitStatus;
use std::sync::{Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};
use wildhost_abi::sdk::Key;

/// The worker's first byte: sorted (then the address and length of its
/// keys, 8 bytes each, little-endian), or failed (then the status code, 4
/// bytes, and the backend's message until the pipe closes).
const SORTED: u8 = 0;
const FAILED: u8 = 1;
/// The host's request for the keys through the pipe.
const SEND_THROUGH_PIPE: u8 = b'p';
/// The host's word that its view of the keys is gone: the worker may sort.
const GO: u8 = b'g';

/// How many keys the host pulls from the worker at a time when it hands
/// them on as it goes: 256 KiB of 64-bit keys, well inside an L2 cache.
const PULL: usize = 32 * 1024;

impl Backend {
    /// Sorts `keys` in a forked worker process with a time limit, as
    /// `wildhost sort --isolate` does: a backend that crashes, exits or hangs
    /// gives an error naming what happened. The keys' memory goes to the
    /// worker, so on an error `keys` is left empty; on success it holds the
    /// worker's result (the caller still checks it, as for any backend).
    pub fn sort_in_worker<T: Key>(
        &self,
        keys: &mut Vec<T>,
        timeout: Duration,
    ) -> Result<(), IsolatedSortError> {
        self.in_worker(keys, timeout, Receive::Whole)
    }

    /// [`Backend::sort_in_worker`], handing the sorted keys to `take` in
    /// order, a cache-sized block at a time, as they are copied out of the
    /// worker: no buffer of the whole result is made. `keys` is left empty.
    /// On an error, `take` may have been given part of the keys.
    pub fn sort_in_worker_with<T: Key>(
        &self,
        keys: &mut Vec<T>,
        timeout: Duration,
        mut take: impl FnMut(&[T]),
    ) -> Result<(), IsolatedSortError> {
        self.in_worker(keys, timeout, Receive::Blocks(&mut take))
    }

    fn in_worker<T: Key>(
        &self,
        keys: &mut Vec<T>,
        timeout: Duration,
        receive: Receive<'_, T>,
    ) -> Result<(), IsolatedSortError> {
        // What the host refuses, it refuses here, without a worker.
        self.check_callable(T::TYPE)?;
        reap_ended();
        let deadline = Instant::now() + timeout;
        let failed = |failure| IsolatedSortError::Child {
            backend: self.name().to_string(),
            failure,
        };
        let spawn = |e: io::Error| failed(ChildFailure::Spawn(e.to_string()));
        mem::round_up_to_huge_pages(keys);
        let (from_worker, worker_report) = pipe().map_err(spawn)?;
        let (worker_control, to_worker) = pipe().map_err(spawn)?;
        // SAFETY: sched_getcpu has no preconditions.
        let cpu = unsafe { libc::sched_getcpu() };
        // SAFETY: fork has no preconditions; the child runs only
        // `worker_main`, which ends in `_exit`, never returning into the
        // parent's code.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(spawn(io::Error::last_os_error()));
        }
        if pid == 0 {
            start_on(cpu);
            drop((from_worker, to_worker));
            worker_main(self, keys, worker_report, worker_control);
        }
        drop((worker_report, worker_control));
        // The worker becomes the only owner of the keys' pages, then sorts.
        release(keys);
        write_all(&to_worker, &[GO]);
        let mut worker = Worker {
            pid,
            from_worker,
            to_worker: Some(to_worker),
            deadline,
            reaper: start_reaper(pid),
        };
        let len = keys.len();
        let outcome = match receive {
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
                worker.report(len).and_then(|address| {
                    if large {
                        prefault(keys);
                    }
                    worker.pull(address, bytes_of_mut(keys))
                })
            }
            Receive::Blocks(take) => {
                // The buffer's pages went to the worker: nothing to keep.
                *keys = Vec::new();
                worker
                    .report(len)
                    .and_then(|address| worker.pull_blocks(address, len, take))
            }
        };
        if outcome.is_ok() {
            // The worker has nothing left to do, and its end (unmapping its
            // memory) need not hold up the caller.
            worker.stop_later();
            return Ok(());
        }
        keys.clear();
        let status = worker.stop(matches!(outcome, Err(Pulled::Ended)));
        match outcome {
            Ok(()) => Ok(()),
            Err(Pulled::Failed(report)) => Err(failure_from_report(self.name(), &report)?.into()),
            Err(Pulled::TimedOut) => Err(failed(ChildFailure::TimedOut(timeout))),
            Err(Pulled::Ended) => Err(failed(ChildFailure::Died(match status {
                Some(status) if status.success() => "ended without sending the keys".into(),
                Some(status) => describe_exit(status),
                None => "vanished".into(),
            }))),
            Err(Pulled::Garbled(what)) => Err(failed(ChildFailure::Died(what))),
        }
    }
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

/// Where the sorted keys go: back into the caller's vector, or block by
/// block to a function.
enum Receive<'a, T> {
    Whole,
    Blocks(&'a mut dyn FnMut(&[T])),
}

/// The worker: waits for the host to let go of the keys, sorts them in
/// place, reports, sends the keys if asked, and waits for the host to be
/// done. Never returns.
fn worker_main<T: Key>(backend: &Backend, keys: &mut [T], report: OwnedFd, control: OwnedFd) -> ! {
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
        if read_some(&control, &mut request) != 1 || request[0] != GO {
            return;
        }
        match backend.sort(keys) {
            Ok(()) => {
                let mut header = [0u8; 17];
                header[0] = SORTED;
                header[1..9].copy_from_slice(&(keys.as_ptr() as u64).to_le_bytes());
                header[9..].copy_from_slice(&(keys.len() as u64).to_le_bytes());
                write_all(&report, &header);
                if read_some(&control, &mut request) == 1 && request[0] == SEND_THROUGH_PIPE {
                    write_all(&report, bytes_of(keys));
                    // Until the host has read it all and hangs up.
                    read_some(&control, &mut request);
                }
            }
            Err(error) => {
                let mut out = vec![FAILED];
                out.extend(failure_report(error));
                write_all(&report, &out);
            }
        }
    }));
    // SAFETY: leaves the worker at once, without running the host's atexit
    // handlers or destructors a second time.
    unsafe { libc::_exit(if run.is_ok() { 0 } else { 101 }) }
}

/// Why the host got no sorted keys from the worker.
enum Pulled {
    /// The backend reported an error: the rest of its report.
    Failed(Vec<u8>),
    /// The time limit passed.
    TimedOut,
    /// The worker ended (or closed its pipe) before sending the keys.
    Ended,
    /// The worker sent something that is not a report.
    Garbled(String),
}

/// Starts a thread, while the worker sorts, that reaps it once told to:
/// after a successful sort, neither starting a thread nor waiting for the
/// worker's end (unmapping its memory) holds up the caller. None if no
/// thread can start.
fn start_reaper(pid: libc::pid_t) -> Option<mpsc::Sender<()>> {
    let (go, wait) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("wildhost-reaper".into())
        .spawn(move || {
            // Told to: reap. The sender dropped: the host reaps it itself.
            if wait.recv().is_ok() {
                reap(pid);
            }
        })
        .ok()
        .map(|_| go)
}

/// Workers ended after a successful sort when no reaper thread could
/// start: reaped at the start of the next isolated sort, without waiting.
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
    /// The thread that reaps the worker after a successful sort.
    reaper: Option<mpsc::Sender<()>>,
}

impl Worker {
    /// Waits for the worker's report that it sorted the `len` keys; the
    /// address of its keys.
    fn report(&mut self, len: usize) -> Result<u64, Pulled> {
        let mut first = [0u8; 1];
        if self.read_exact(&mut first)? < 1 {
            return Err(Pulled::Ended);
        }
        match first[0] {
            SORTED => {}
            FAILED => return Err(self.failure()),
            other => return Err(Pulled::Garbled(format!("sent report byte {other:#x}"))),
        }
        let mut header = [0u8; 16];
        if self.read_exact(&mut header)? < header.len() {
            return Err(Pulled::Ended);
        }
        let address = u64::from_le_bytes(header[..8].try_into().unwrap_or_default());
        let reported = u64::from_le_bytes(header[8..].try_into().unwrap_or_default());
        if reported != len as u64 {
            return Err(Pulled::Garbled(format!(
                "reported {reported} sorted keys for {len} keys sent"
            )));
        }
        Ok(address)
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
            write_all(to_worker, &[SEND_THROUGH_PIPE]);
        }
    }

    /// Copies the worker's sorted keys, at `address`, into `dest`.
    fn pull(&mut self, address: u64, dest: &mut [u8]) -> Result<(), Pulled> {
        if self.readable() && read_process(self.pid, address, dest).is_ok() {
            return Ok(());
        }
        self.ask_for_pipe();
        if self.read_exact(dest)? < dest.len() {
            return Err(Pulled::Ended);
        }
        Ok(())
    }

    /// Copies the worker's `len` sorted keys, at `address`, a block at a
    /// time into a buffer in the cache, and hands each block to `take`.
    fn pull_blocks<T: Key>(
        &mut self,
        address: u64,
        len: usize,
        take: &mut dyn FnMut(&[T]),
    ) -> Result<(), Pulled> {
        // SAFETY: keys are plain integers or floats: all-zero bits are one.
        let zero: T = unsafe { std::mem::zeroed() };
        let mut buffer = vec![zero; PULL.min(len)];
        let mut through_pipe = !self.readable();
        if through_pipe {
            self.ask_for_pipe();
        }
        let mut done = 0;
        while done < len {
            let block = &mut buffer[..PULL.min(len - done)];
            let dest = bytes_of_mut(block);
            if !through_pipe {
                let at = address.wrapping_add((done * size_of::<T>()) as u64);
                if read_process(self.pid, at, dest).is_err() {
                    if done > 0 {
                        return Err(Pulled::Garbled(
                            "could no longer be read from after the first keys".into(),
                        ));
                    }
                    through_pipe = true;
                    self.ask_for_pipe();
                }
            }
            if through_pipe && self.read_exact(dest)? < dest.len() {
                return Err(Pulled::Ended);
            }
            take(block);
            done += block.len();
        }
        Ok(())
    }

    /// The backend's status code and message, after the `FAILED` byte.
    fn failure(&mut self) -> Pulled {
        let mut rest = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match self.read_exact(&mut buf) {
                Ok(0) => break,
                Ok(n) => rest.extend_from_slice(&buf[..n]),
                Err(pulled) => return pulled,
            }
        }
        Pulled::Failed(rest)
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

    /// Ends the worker without waiting for it: the reaper thread reaps it
    /// (or, without one, a later isolated sort, or the system once the host
    /// exits).
    fn stop_later(mut self) {
        self.to_worker = None;
        // SAFETY: `pid` is our child, not yet reaped: the reaper thread
        // waits for word before it reaps.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        let told = self
            .reaper
            .take()
            .is_some_and(|reaper| reaper.send(()).is_ok());
        if !told {
            ENDED
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(self.pid);
        }
    }

    /// Ends the worker and reaps it; how it ended. `ended`: the worker
    /// closed its pipe, so it is exiting on its own: it gets a moment to
    /// finish, so that its own exit status or signal is the one reported.
    fn stop(&mut self, ended: bool) -> Option<ExitStatus> {
        self.to_worker = None;
        // The reaper thread ends without reaping.
        self.reaper = None;
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
fn read_process(pid: libc::pid_t, address: u64, dest: &mut [u8]) -> io::Result<()> {
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
