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

use crate::error::SortError;
use crate::process::{
    Reaped, Wait, describe_exit, die_with_parent, page_size, pipe, read_some, reap, reap_by,
    wait_readable, write_all,
};
use crate::registry::Backend;
use crate::wire::{Failure, IsolateReport};
use std::io;
use std::marker::PhantomData;
use std::os::fd::OwnedFd;
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

/// Runs `work` in a forked child and returns the bytes it reported, or how
/// the child failed.
///
/// # Safety
///
/// `work` runs in a copy of this process that has only the calling thread.
/// It must not wait for a lock that another thread of this process might
/// have held at the moment of the fork (a `Mutex`, stdout's lock, a
/// `OnceLock` being initialised): in the child, no one would ever release
/// it. The allocator's own lock is safe (glibc's `fork` takes care of it).
pub unsafe fn in_child(
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
    // The pipe's end is not the child's: it may have closed its descriptors
    // and still run, so the wait has the same deadline.
    match reap_by(pid, deadline) {
        Reaped::Ended(status) if status.success() && !report.is_empty() => Ok(report),
        Reaped::Ended(status) => Err(ChildFailure::Died(describe_exit(status))),
        Reaped::Killed(_) => Err(ChildFailure::TimedOut(timeout)),
        Reaped::Gone => Err(ChildFailure::Died("vanished".into())),
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

/// Sorts `keys` in a forked worker process, with a time limit: a backend
/// that crashes or hangs gives an error, and `keys` may then hold
/// anything (the caller keeps its own copy of the input).
pub fn sort<T: Key>(
    backend: &Backend,
    keys: &mut SharedKeys<T>,
    timeout: Duration,
) -> Result<(), IsolatedSortError> {
    // What the host refuses, it refuses here, without a child.
    backend.check_callable(T::TYPE)?;
    let slice = keys.as_mut_slice();
    // SAFETY: the child only calls the backend and allocates its report;
    // it takes no lock of the host's.
    let report = unsafe {
        in_child(timeout, || match backend.sort(slice) {
            Ok(()) => IsolateReport::Sorted.encode(),
            Err(error) => IsolateReport::Failed(failure_of(error)).encode(),
        })
    }
    .map_err(|failure| IsolatedSortError::Child {
        backend: backend.name().to_string(),
        failure,
    })?;
    match IsolateReport::decode(&report) {
        Ok(IsolateReport::Sorted) => Ok(()),
        Ok(IsolateReport::Failed(failure)) => Err(sort_error(backend.name(), failure).into()),
        Err(_) => Err(unreadable_report(backend.name())),
    }
}

/// A backend's error as a child reports it: a status code and a message.
pub(crate) fn failure_of(error: SortError) -> Failure {
    let (code, message) = match error {
        SortError::Failed { code, message, .. } => (code, message),
        other => (wildhost_abi::status::FAILED, other.to_string()),
    };
    Failure { code, message }
}

/// The backend's error a child reported with [`failure_of`].
pub(crate) fn sort_error(backend: &str, failure: Failure) -> SortError {
    SortError::Failed {
        backend: backend.to_string(),
        code: failure.code,
        message: failure.message,
    }
}

/// The error of a child whose report is not one (see [`crate::wire`]).
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
        // SAFETY: the child sorts and allocates; it takes no lock.
        let report = unsafe {
            in_child(Duration::from_secs(10), || {
                slice.sort_unstable();
                b"done".to_vec()
            })
        };
        assert_eq!(report, Ok(b"done".to_vec()));
        assert_eq!(shared.as_slice(), [1, 2, 3]);
    }

    #[test]
    fn a_crash_a_hang_and_a_panic_are_reported() {
        // SAFETY: the three children abort, sleep or panic, taking no lock
        // but the panic message's (stderr), which no other thread of a test
        // process holds for long; abort has no preconditions.
        let crash = unsafe { in_child(Duration::from_secs(10), || libc::abort()) };
        assert_eq!(
            crash,
            Err(ChildFailure::Died(
                "was killed by signal 6 (SIGABRT, aborted)".into()
            ))
        );
        // SAFETY: see above.
        let hang = unsafe {
            in_child(Duration::from_millis(200), || {
                loop {
                    std::thread::sleep(Duration::from_secs(1));
                }
            })
        };
        assert_eq!(
            hang,
            Err(ChildFailure::TimedOut(Duration::from_millis(200)))
        );
        // SAFETY: see above.
        let panic = unsafe { in_child(Duration::from_secs(10), || panic!("boom")) };
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
            let work = || {
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
            };
            // SAFETY: the child writes through a pointer and faults; it
            // takes no lock.
            let report = unsafe { in_child(Duration::from_secs(10), work) };
            assert!(
                matches!(&report, Err(ChildFailure::Died(how)) if how.contains("SIGSEGV")),
                "{placement:?}: {report:?}"
            );
            assert_eq!(shared.as_slice(), [5, 5, 5]);
        }
    }
}
