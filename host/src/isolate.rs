//! Running a backend where it cannot hurt the host: in a forked child
//! process, on keys in memory shared with it, with a time limit. A backend
//! that crashes, aborts, exits or hangs ends the child, and the host reports
//! it by name; the keys it was given are then simply not used.
//!
//! The child is forked, not executed anew: it already holds the loaded
//! plugin, so starting it costs a fork, not a load. It only calls the
//! backend, writes a short report into a pipe and leaves with `_exit`.
//!
//! [`SharedKeys::with_guard_pages`] also places the keys against
//! inaccessible pages, so a backend that reads or writes past either end of
//! its buffer is stopped by the hardware instead of silently corrupting
//! memory (`wildhost verify` uses it).

use crate::Backend;
use crate::error::SortError;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::ptr::NonNull;
use std::time::{Duration, Instant};
use wildhost_abi::sdk::Key;

/// Keys in an anonymous shared mapping: what a forked child writes there,
/// the parent sees.
#[derive(Debug)]
pub struct SharedKeys<T: Key> {
    /// Start of the whole mapping (guard pages included).
    map: NonNull<u8>,
    map_len: usize,
    /// Start of the keys inside it.
    keys: NonNull<T>,
    len: usize,
    _keys: PhantomData<T>,
}

// SAFETY: SharedKeys owns its mapping exclusively, like a Vec<T> owns its
// heap buffer; T: Key is Send.
unsafe impl<T: Key> Send for SharedKeys<T> {}

/// Where the keys sit against the guard pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// The first key starts right after the lower guard page: catches
    /// accesses before the buffer.
    AgainstStart,
    /// The last key ends right before the upper guard page: catches accesses
    /// past the end.
    AgainstEnd,
}

pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .unwrap_or(4096)
}

impl<T: Key> SharedKeys<T> {
    /// Shared memory holding a copy of `keys`.
    pub fn copy_of(keys: &[T]) -> io::Result<SharedKeys<T>> {
        let mut shared = SharedKeys::map(keys.len(), None)?;
        shared.as_mut_slice().copy_from_slice(keys);
        Ok(shared)
    }

    /// Shared memory holding a copy of `keys`, with an inaccessible page on
    /// each side and the keys placed against one of them.
    pub fn with_guard_pages(keys: &[T], placement: Placement) -> io::Result<SharedKeys<T>> {
        let mut shared = SharedKeys::map(keys.len(), Some(placement))?;
        shared.as_mut_slice().copy_from_slice(keys);
        Ok(shared)
    }

    fn map(len: usize, guard: Option<Placement>) -> io::Result<SharedKeys<T>> {
        let page = page_size();
        let bytes = len
            .checked_mul(size_of::<T>())
            .ok_or_else(|| io::Error::other("the buffer is larger than the address space"))?;
        let data_len = bytes.div_ceil(page).max(1) * page;
        let guards = if guard.is_some() { 2 * page } else { 0 };
        let map_len = data_len
            .checked_add(guards)
            .ok_or_else(|| io::Error::other("the buffer is larger than the address space"))?;
        // SAFETY: a fresh anonymous mapping; no existing memory is touched.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let map =
            NonNull::new(map.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))?;
        let mut shared = SharedKeys {
            map,
            map_len,
            keys: map.cast(),
            len,
            _keys: PhantomData,
        };
        let data_start = match guard {
            None => 0,
            Some(placement) => {
                for offset in [0, page + data_len] {
                    // SAFETY: each guard page lies inside the mapping just made.
                    let rc = unsafe {
                        libc::mprotect(map.as_ptr().add(offset).cast(), page, libc::PROT_NONE)
                    };
                    if rc != 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                match placement {
                    Placement::AgainstStart => page,
                    Placement::AgainstEnd => page + data_len - bytes,
                }
            }
        };
        // SAFETY: `data_start + bytes <= map_len`, and `data_start` keeps T's
        // alignment: pages are aligned far beyond it, and `data_len - bytes`
        // is a multiple of size_of::<T>() for the key types (4 or 8 bytes).
        shared.keys = unsafe { NonNull::new_unchecked(map.as_ptr().add(data_start).cast()) };
        Ok(shared)
    }

    /// The keys.
    pub fn as_slice(&self) -> &[T] {
        // SAFETY: `keys` points to `len` keys inside the live mapping (zeroed
        // by the kernel, then written by the constructors), readable and
        // writable, owned by `self`.
        unsafe { std::slice::from_raw_parts(self.keys.as_ptr(), self.len) }
    }

    /// The keys, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        // SAFETY: as in `as_slice`, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.keys.as_ptr(), self.len) }
    }
}

impl<T: Key> Drop for SharedKeys<T> {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `map` with this length and is not
        // used after this.
        unsafe { libc::munmap(self.map.as_ptr().cast(), self.map_len) };
    }
}

/// How a child process ended without finishing its work.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChildFailure {
    /// It died: a signal, or an exit before reporting.
    #[error("its process {0}")]
    Died(String),
    /// It ran past the time limit and was killed.
    #[error("it did not finish within {} s and was stopped", .0.as_secs_f64())]
    TimedOut(Duration),
    /// The child could not be started.
    #[error("cannot start a child process: {0}")]
    Spawn(String),
}

/// The words for how a process ended.
pub fn describe_exit(status: ExitStatus) -> String {
    match (status.signal(), status.code()) {
        (Some(signal), _) => format!("was killed by signal {signal} ({})", signal_name(signal)),
        (None, Some(code)) => format!("exited with status {code} before reporting"),
        _ => "ended abnormally".to_string(),
    }
}

/// A signal's name, and what it usually means.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGSEGV => "SIGSEGV, invalid memory access",
        libc::SIGABRT => "SIGABRT, aborted",
        libc::SIGBUS => "SIGBUS, bus error",
        libc::SIGILL => "SIGILL, illegal instruction",
        libc::SIGFPE => "SIGFPE, arithmetic error",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGSYS => "SIGSYS, bad system call",
        _ => "signal",
    }
}

/// In a child just started by `parent`: asks the kernel to kill this
/// process when the thread that started it ends, and ends it now if that
/// has already happened. A worker or scanner running a hung plugin would
/// otherwise outlive a killed wildhost for ever, since wildhost's own timer
/// is what stops it. Only async-signal-safe calls, so that it may run
/// between `fork` and `exec`.
pub(crate) fn die_with_parent(parent: libc::pid_t) {
    #[cfg(target_os = "linux")]
    // SAFETY: `prctl(PR_SET_PDEATHSIG)` and `getppid` touch no memory of
    // this process; `_exit` ends it without running any of its code.
    unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        );
        // Checked after the request: a parent that died before it was
        // made sent no signal.
        if libc::getppid() != parent {
            libc::_exit(1);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = parent;
}

/// Runs `work` in a forked child and returns the bytes it reported, or how
/// the child failed. `work` runs in a copy of this process that has only the
/// calling thread; it must not wait on locks other threads may hold (the
/// allocator is safe: glibc's `fork` takes care of it).
pub fn in_child(
    timeout: Duration,
    work: impl FnOnce() -> Vec<u8>,
) -> Result<Vec<u8>, ChildFailure> {
    let (from_child, to_parent) = pipe().map_err(|e| ChildFailure::Spawn(e.to_string()))?;
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: fork has no preconditions; the child below only runs `work`,
    // writes to the pipe and calls `_exit`, never returning into the
    // parent's code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(ChildFailure::Spawn(io::Error::last_os_error().to_string()));
    }
    if pid == 0 {
        die_with_parent(parent);
        // The child. A panic in `work` must not unwind into a copy of the
        // parent's stack: it ends the child, which the parent reports.
        let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
        let code = match report {
            Ok(bytes) => {
                write_all(&to_parent, &bytes);
                0
            }
            Err(_) => 101,
        };
        // SAFETY: leaves the child at once, without running the parent's
        // atexit handlers or destructors a second time.
        unsafe { libc::_exit(code) };
    }
    // The write end belongs to the child now.
    drop(to_parent);
    collect(pid, &from_child, timeout)
}

fn collect(
    pid: libc::pid_t,
    from_child: &OwnedFd,
    timeout: Duration,
) -> Result<Vec<u8>, ChildFailure> {
    let deadline = Instant::now() + timeout;
    let mut report = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let failure = match wait_readable(from_child, deadline) {
            Wait::Ready => None,
            Wait::TimedOut => Some(ChildFailure::TimedOut(timeout)),
            Wait::Failed => Some(ChildFailure::Died("could not be watched".into())),
        };
        if let Some(failure) = failure {
            // SAFETY: `pid` is our child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            reap(pid);
            return Err(failure);
        }
        match read_some(from_child, &mut buf) {
            0 => break,
            n => report.extend_from_slice(&buf[..n]),
        }
    }
    let status = reap(pid);
    match status {
        Some(status) if status.success() && !report.is_empty() => Ok(report),
        Some(status) => Err(ChildFailure::Died(describe_exit(status))),
        None => Err(ChildFailure::Died("vanished".into())),
    }
}

/// What waiting for a pipe to have something to read came to.
pub(crate) enum Wait {
    /// Bytes, or its end, are there to read.
    Ready,
    /// The deadline passed first.
    TimedOut,
    /// The descriptor cannot be watched.
    Failed,
}

/// Waits until `fd` has something to read (or is at its end), or until
/// `deadline`.
pub(crate) fn wait_readable(fd: &OwnedFd, deadline: Instant) -> Wait {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Wait::TimedOut;
        }
        let mut poll = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1, ms) };
        if ready > 0 {
            return Wait::Ready;
        }
        if ready < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return Wait::Failed;
        }
    }
}

/// A pipe: its read end, then its write end, both closed on exec.
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
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
pub(crate) fn read_some(fd: &OwnedFd, buf: &mut [u8]) -> usize {
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
pub(crate) fn write_all(fd: &OwnedFd, bytes: &[u8]) {
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

/// Waits for child `pid` to end and reaps it; how it ended.
pub(crate) fn reap(pid: libc::pid_t) -> Option<ExitStatus> {
    let mut status = 0;
    loop {
        // SAFETY: waits for our own child; `status` is a valid out-pointer.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            return Some(ExitStatus::from_raw(status));
        }
        if rc < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        return None;
    }
}

/// Why an isolated sort did not give a result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IsolatedSortError {
    /// The backend ran and reported an error.
    #[error(transparent)]
    Sort(#[from] SortError),
    /// The backend's process crashed, hung or could not start.
    #[error("backend `{backend}` failed in its worker process: {failure}")]
    Child {
        /// The backend's name.
        backend: String,
        /// What happened to the process.
        failure: ChildFailure,
    },
}

impl Backend {
    /// Sorts `keys` in a forked worker process, with a time limit: a backend
    /// that crashes or hangs gives an error, and `keys` may then hold
    /// anything (the caller keeps its own copy of the input).
    pub fn sort_isolated<T: Key>(
        &self,
        keys: &mut SharedKeys<T>,
        timeout: Duration,
    ) -> Result<(), IsolatedSortError> {
        // What the host refuses, it refuses here, without a child.
        self.check_callable(T::TYPE)?;
        let slice = keys.as_mut_slice();
        // The report: [0], or [1] + the backend's failure.
        let report = in_child(timeout, || match self.sort(slice) {
            Ok(()) => vec![0],
            Err(error) => {
                let mut out = vec![1];
                out.extend(failure_report(error));
                out
            }
        })
        .map_err(|failure| IsolatedSortError::Child {
            backend: self.name().to_string(),
            failure,
        })?;
        match report.split_first() {
            Some((0, [])) => Ok(()),
            Some((1, rest)) => Err(failure_from_report(self.name(), rest)?.into()),
            _ => Err(unreadable_report(self.name())),
        }
    }
}

/// A backend's error as a worker reports it: the status code (4 bytes,
/// little-endian), then the message.
pub(crate) fn failure_report(error: SortError) -> Vec<u8> {
    let (code, message) = match error {
        SortError::Failed { code, message, .. } => (code, message),
        other => (wildhost_abi::status::FAILED, other.to_string()),
    };
    let mut out = code.to_le_bytes().to_vec();
    out.extend_from_slice(message.as_bytes());
    out
}

/// The backend's error a worker reported with [`failure_report`].
pub(crate) fn failure_from_report(
    backend: &str,
    report: &[u8],
) -> Result<SortError, IsolatedSortError> {
    let (code, message) = report
        .split_first_chunk::<4>()
        .ok_or_else(|| unreadable_report(backend))?;
    Ok(SortError::Failed {
        backend: backend.to_string(),
        code: i32::from_le_bytes(*code),
        message: String::from_utf8_lossy(message).into_owned(),
    })
}

pub(crate) fn unreadable_report(backend: &str) -> IsolatedSortError {
    IsolatedSortError::Child {
        backend: backend.to_string(),
        failure: ChildFailure::Died("sent a report wildhost cannot read".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_sees_what_the_child_wrote() {
        let mut shared = SharedKeys::copy_of(&[3u64, 1, 2]).expect("map");
        let slice = shared.as_mut_slice();
        let report = in_child(Duration::from_secs(10), || {
            slice.sort_unstable();
            b"done".to_vec()
        });
        assert_eq!(report, Ok(b"done".to_vec()));
        assert_eq!(shared.as_slice(), [1, 2, 3]);
    }

    #[test]
    fn a_crash_a_hang_and_a_panic_are_reported() {
        // SAFETY: abort has no preconditions; it ends only the child.
        let crash = in_child(Duration::from_secs(10), || unsafe { libc::abort() });
        assert_eq!(
            crash,
            Err(ChildFailure::Died(
                "was killed by signal 6 (SIGABRT, aborted)".into()
            ))
        );
        let hang = in_child(Duration::from_millis(200), || {
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        });
        assert_eq!(
            hang,
            Err(ChildFailure::TimedOut(Duration::from_millis(200)))
        );
        let panic = in_child(Duration::from_secs(10), || panic!("boom"));
        assert_eq!(
            panic,
            Err(ChildFailure::Died(
                "exited with status 101 before reporting".into()
            ))
        );
    }

    #[test]
    fn guard_pages_stop_an_overrun_and_an_underrun() {
        for placement in [Placement::AgainstEnd, Placement::AgainstStart] {
            let mut shared = SharedKeys::with_guard_pages(&[5u32; 3], placement).expect("map");
            let slice = shared.as_mut_slice();
            let ptr = slice.as_mut_ptr();
            let report = in_child(Duration::from_secs(10), || {
                let target = match placement {
                    // SAFETY: deliberately one past the end / one before the
                    // start: the guard page must stop it (in the child).
                    Placement::AgainstEnd => unsafe { ptr.add(3) },
                    // SAFETY: as above.
                    Placement::AgainstStart => unsafe { ptr.sub(1) },
                };
                // SAFETY: as above: the write faults.
                unsafe { target.write_volatile(7) };
                b"survived".to_vec()
            });
            assert!(
                matches!(&report, Err(ChildFailure::Died(how)) if how.contains("SIGSEGV")),
                "{placement:?}: {report:?}"
            );
            assert_eq!(shared.as_slice(), [5, 5, 5]);
        }
    }
}
