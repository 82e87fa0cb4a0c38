//! `wildhost sort --isolate`: the backend sorts in a forked worker process,
//! on the worker's own copy of the keys, and the host pulls the result back.
//!
//! The worker is forked once the keys are read, so it starts with them at no
//! cost (the pages are shared copy-on-write). It copies them into a buffer
//! of its own, lets go of its view of the host's pages (so that the host's
//! later writes to them copy nothing), sorts, and reports where its sorted
//! keys are. The host copies them straight into its own buffer with
//! `process_vm_readv`, one copy, and stops the worker. Where the kernel does
//! not allow reading another process's memory (or the environment sets
//! `WILDHOST_ISOLATE_VIA_PIPE`, which the tests use), the worker sends the
//! keys through the pipe instead.
//!
//! The host only ever writes to its own buffer, within its bounds, and only
//! reads the worker: a worker that lies about where its keys are gives
//! wrong keys, which the caller's result check catches, never a write
//! anywhere else.

use crate::isolate::{
    ChildFailure, IsolatedSortError, describe_exit, failure_from_report, failure_report, page_size,
    reap,
};
use crate::{Backend, mem};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt as _;
use std::process::ExitStatus;
use std::time::{Duration, Instant};
use wildhost_abi::sdk::Key;

/// The worker's first byte: sorted (then the address and length of its
/// keys, 8 bytes each, little-endian), or failed (then the status code, 4
/// bytes, and the backend's message until the pipe closes).
const SORTED: u8 = 0;
const FAILED: u8 = 1;
/// The host's request for the keys through the pipe.
const SEND_THROUGH_PIPE: u8 = b'p';

impl Backend {
    /// Sorts `keys` in a forked worker process with a time limit, as
    /// `wildhost sort --isolate` does: a backend that crashes, exits or hangs
    /// gives an error naming what happened, and `keys` is then left as it
    /// was. On success `keys` is replaced by a buffer holding the worker's
    /// result (the caller still checks it, as for any backend).
    pub fn sort_in_worker<T: Key>(
        &self,
        keys: &mut Vec<T>,
        timeout: Duration,
    ) -> Result<(), IsolatedSortError> {
        // What the host refuses, it refuses here, without a worker.
        self.check_callable(T::TYPE)?;
        let deadline = Instant::now() + timeout;
        let failed = |failure| IsolatedSortError::Child {
            backend: self.name().to_string(),
            failure,
        };
        let spawn = |e: io::Error| failed(ChildFailure::Spawn(e.to_string()));
        let (from_worker, worker_report) = pipe().map_err(spawn)?;
        let (worker_control, to_worker) = pipe().map_err(spawn)?;
        // SAFETY: fork has no preconditions; the child runs only
        // `worker_main`, which ends in `_exit`, never returning into the
        // parent's code.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(spawn(io::Error::last_os_error()));
        }
        if pid == 0 {
            drop((from_worker, to_worker));
            worker_main(self, keys, worker_report, worker_control);
        }
        drop((worker_report, worker_control));
        let mut worker = Worker {
            pid,
            from_worker,
            to_worker: Some(to_worker),
            deadline,
        };
        // While the worker sorts, on the other core: a buffer for its
        // result, its pages faulted in now (by copying the keys into it)
        // rather than one by one during the copy back.
        let mut result = match mem::try_with_capacity(keys.len()) {
            Ok(result) => result,
            Err(e) => {
                worker.stop(false);
                return Err(failed(ChildFailure::Spawn(format!(
                    "no memory for the worker's result: {e}"
                ))));
            }
        };
        result.extend_from_slice(keys);
        let outcome = worker.pull(&mut result);
        if outcome.is_ok() {
            // The worker has nothing left to do, and its end (unmapping its
            // memory) and the old buffer's release need not hold up the
            // caller: a thread of their own sees to both.
            let old = std::mem::replace(keys, result);
            worker.stop_later(old);
            return Ok(());
        }
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

/// The worker: sorts its own copy, reports, sends the keys if asked, and
/// waits for the host to be done. Never returns.
fn worker_main<T: Key>(backend: &Backend, keys: &mut [T], report: OwnedFd, control: OwnedFd) -> ! {
    // A panic must not unwind into the copy of the host's stack.
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // Free heap memory inherited from the host is shared copy-on-write:
        // the first write to each of its pages copies the page. Handing it
        // back to the kernel first makes the buffers below (and the
        // backend's scratch) fresh zero pages instead.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only releases free memory of this process.
        unsafe {
            libc::malloc_trim(0);
        }
        let mut own = mem::with_capacity(keys.len());
        own.extend_from_slice(keys);
        release(keys);
        match backend.sort(&mut own) {
            Ok(()) => {
                let mut header = [0u8; 17];
                header[0] = SORTED;
                header[1..9].copy_from_slice(&(own.as_ptr() as u64).to_le_bytes());
                header[9..].copy_from_slice(&(own.len() as u64).to_le_bytes());
                write_all(&report, &header);
                let mut request = [0u8; 1];
                if read_some(&control, &mut request) == 1 && request[0] == SEND_THROUGH_PIPE {
                    write_all(&report, bytes_of(&own));
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

/// The host's side of a running worker.
struct Worker {
    pid: libc::pid_t,
    from_worker: OwnedFd,
    to_worker: Option<OwnedFd>,
    deadline: Instant,
}

impl Worker {
    /// Waits for the worker's report and copies its sorted keys into `keys`.
    fn pull<T: Key>(&mut self, keys: &mut [T]) -> Result<(), Pulled> {
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
        let len = u64::from_le_bytes(header[8..].try_into().unwrap_or_default());
        if len != keys.len() as u64 {
            return Err(Pulled::Garbled(format!(
                "reported {len} sorted keys for {} keys sent",
                keys.len()
            )));
        }
        let dest = bytes_of_mut(keys);
        if std::env::var_os("WILDHOST_ISOLATE_VIA_PIPE").is_none()
            && read_process(self.pid, address, dest).is_ok()
        {
            return Ok(());
        }
        // The kernel does not let this process read the worker (a seccomp
        // filter or ptrace policy): the keys come through the pipe.
        if let Some(to_worker) = &self.to_worker {
            write_all(to_worker, &[SEND_THROUGH_PIPE]);
        }
        if self.read_exact(dest)? < dest.len() {
            return Err(Pulled::Ended);
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
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Pulled::TimedOut);
            }
            let mut poll = libc::pollfd {
                fd: self.from_worker.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
            // SAFETY: one valid pollfd.
            let ready = unsafe { libc::poll(&mut poll, 1, ms) };
            if ready < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return Err(Pulled::Garbled("could not be watched".into()));
            }
            if ready <= 0 {
                continue;
            }
            match read_some(&self.from_worker, &mut buf[filled..]) {
                0 => break,
                n => filled += n,
            }
        }
        Ok(filled)
    }

    /// Ends the worker, and leaves reaping it and dropping `old` to a
    /// thread of their own (or reaps it here if no thread can start).
    fn stop_later<T: Send + 'static>(mut self, old: T) {
        self.to_worker = None;
        // SAFETY: `pid` is our child, not yet reaped.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        let pid = self.pid;
        let reaper = std::thread::Builder::new()
            .name("wildhost-reaper".into())
            .spawn(move || {
                drop(old);
                reap(pid);
            });
        if reaper.is_err() {
            reap(pid);
        }
    }

    /// Ends the worker and reaps it; how it ended. `ended`: the worker
    /// closed its pipe, so it is exiting on its own: it gets a moment to
    /// finish, so that its own exit status or signal is the one reported.
    fn stop(&mut self, ended: bool) -> Option<ExitStatus> {
        self.to_worker = None;
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

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 just opened both; each is owned once, here.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Reads what is there (blocking until something is); 0 at the end or on
/// an error.
fn read_some(fd: &OwnedFd, buf: &mut [u8]) -> usize {
    loop {
        // SAFETY: reads into a live buffer of its length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        return n.max(0) as usize;
    }
}

/// Writes all of `bytes`, or as much as the reader takes before hanging up.
fn write_all(fd: &OwnedFd, bytes: &[u8]) {
    let mut written = 0;
    while written < bytes.len() {
        // SAFETY: writes from a live buffer of the given length.
        let n = unsafe {
            libc::write(
                fd.as_raw_fd(),
                bytes[written..].as_ptr().cast(),
                bytes.len() - written,
            )
        };
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            return;
        }
        written += n as usize;
    }
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

/// In the worker, after copying the keys: drops its view of the host's
/// pages that lie wholly inside `keys`, so that they are the host's alone
/// again and the host writing the result into them copies nothing. The
/// worker reads zeros there afterwards and never looks.
fn release<T: Key>(keys: &mut [T]) {
    let page = page_size();
    let start = (keys.as_mut_ptr() as usize).next_multiple_of(page);
    let end = (keys.as_mut_ptr() as usize + size_of_val(keys)) & !(page - 1);
    if end > start {
        // SAFETY: the range lies inside `keys`, which this process (the
        // worker) borrows exclusively and no longer reads; for private
        // anonymous memory MADV_DONTNEED only replaces the worker's pages
        // with zero pages, which are valid keys.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
}
