//! The process primitives the host builds its child processes from: pipes,
//! waiting with a deadline, reaping, dying with the parent, and the words
//! for how a process ended. Every function here is async-signal-safe where
//! its doc says so, so that a forked child may call it before `exec` or
//! `_exit`.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

/// The size of a memory page.
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .unwrap_or(4096)
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

/// How waiting for a child with a deadline ended.
#[derive(Debug)]
pub(crate) enum Reaped {
    /// It ended by itself, so.
    Ended(ExitStatus),
    /// It was still running at the deadline and was killed (its status, if
    /// it could be reaped).
    Killed(Option<ExitStatus>),
    /// It is not (or no longer) a child of this process.
    Gone,
}

/// Waits for child `pid` to end until `deadline`, then kills and reaps it.
/// A child can close its end of every pipe and still run for ever: only
/// the deadline stops the wait.
pub(crate) fn reap_by(pid: libc::pid_t, deadline: Instant) -> Reaped {
    let mut pause = Duration::from_micros(50);
    loop {
        let mut status = 0;
        // SAFETY: polls our own child; `status` is a valid out-pointer.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc == pid {
            return Reaped::Ended(ExitStatus::from_raw(status));
        }
        if rc < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Reaped::Gone;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(5));
    }
    // SAFETY: `pid` is our child, not yet reaped.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    Reaped::Killed(reap(pid))
}
