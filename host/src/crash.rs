//! What wildhost says when it is ended by a plugin's code or by its own bug:
//! a backend that crashes or calls `exit` in the middle of a sort would
//! otherwise leave a bare `Segmentation fault`, or a success status with
//! nothing written.
//!
//! [`Culprit`] holds the words naming a backend, made when the backend is;
//! [`Culprit::enter`] records it as running on this thread (and in the
//! process) for the length of a plugin call. [`install`] sets up the
//! reports: a handler of the fatal signals, on an alternate stack, that
//! writes who was running and then dies by the same signal; and an `atexit`
//! handler that turns an exit during a plugin call into a named failure
//! with status 1. Both only `write` bytes made beforehand: no allocation,
//! no lock. In a forked child (the `--isolate` worker, `verify`'s sorts)
//! they stay silent, since the parent reports how the child ended.

use crate::process::signal_name;
use std::cell::Cell;
use std::io;
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering, compiler_fence};

/// The signals that end a process which does not handle them, and that a
/// crashing plugin raises.
pub const FATAL_SIGNALS: [libc::c_int; 5] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGABRT,
];

/// The help line of a report that blames a backend.
const BACKEND_HELP: &[u8] = b"  help: rerun with --isolate to contain it, or remove the plugin\n";

/// A backend named for a report, ready to write from a signal handler.
#[derive(Debug)]
pub struct Culprit {
    /// "backend `name` (file)".
    subject: Box<[u8]>,
}

thread_local! {
    /// The culprit whose call runs on this thread, or null. Constant
    /// initialiser and no destructor: a plain thread-local word, which a
    /// signal handler may read.
    static RUNNING: Cell<*const Culprit> = const { Cell::new(ptr::null()) };
}

/// The culprit of the call entered last in the process, or null: for a
/// crash or an exit on a thread the plugin started itself, which has no
/// [`RUNNING`] of its own.
static LAST_ENTERED: AtomicPtr<Culprit> = AtomicPtr::new(ptr::null_mut());

/// The process that installed the reports; 0 before [`install`].
static INSTALLER: AtomicI32 = AtomicI32::new(0);

impl Culprit {
    /// The culprit for backend `backend` of plugin file `file`.
    pub fn new(backend: &str, file: &Path) -> Culprit {
        let subject = format!("backend `{backend}` ({})", file.display());
        Culprit {
            subject: subject.into_bytes().into_boxed_slice(),
        }
    }

    /// The words naming the backend, as a report writes them.
    pub fn subject(&self) -> &[u8] {
        &self.subject
    }

    /// Records this culprit's plugin call as running until the returned
    /// guard is dropped.
    #[inline(always)]
    pub fn enter(&self) -> Running<'_> {
        let outer = RUNNING.with(|r| r.replace(self));
        LAST_ENTERED.store(ptr::from_ref(self).cast_mut(), Ordering::Relaxed);
        // The plugin call that follows is opaque, but the compiler could
        // still sink the stores past it: a signal handler on this thread
        // must see them.
        compiler_fence(Ordering::SeqCst);
        Running {
            outer,
            _culprit: self,
        }
    }
}

/// A plugin call in progress, recorded; see [`Culprit::enter`].
#[derive(Debug)]
#[must_use = "the call is recorded only while the guard lives"]
pub struct Running<'a> {
    /// The call this one is nested in (a plugin calling back into a host),
    /// usually none.
    outer: *const Culprit,
    _culprit: &'a Culprit,
}

impl Drop for Running<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        compiler_fence(Ordering::SeqCst);
        RUNNING.with(|r| r.set(self.outer));
        LAST_ENTERED.store(self.outer.cast_mut(), Ordering::Relaxed);
    }
}

/// The culprit of the plugin call running on this thread, or else of the
/// one entered last in the process.
fn running() -> Option<&'static Culprit> {
    let mut culprit = RUNNING.with(Cell::get);
    if culprit.is_null() {
        culprit = LAST_ENTERED.load(Ordering::Relaxed);
    }
    // SAFETY: a non-null pointer is set by `enter` from a live `&Culprit`
    // and cleared before that borrow ends; while it is set, the plugin call
    // it names has not returned, and a process ended during it never sees
    // the borrow end.
    unsafe { culprit.as_ref() }
}

/// Whether this is the process that installed the reports, not a child
/// forked from it.
fn in_installer() -> bool {
    // SAFETY: getpid has no preconditions and is async-signal-safe.
    INSTALLER.load(Ordering::Relaxed) == unsafe { libc::getpid() }
}

/// Writes `bytes` to stderr, as much as it takes; async-signal-safe.
fn write_stderr(bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: writes from a live buffer of its length.
        let n = unsafe { libc::write(libc::STDERR_FILENO, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        rest = &rest[n as usize..];
    }
}

/// `n` in decimal, into `buf`; the digits written.
fn decimal(n: i32, buf: &mut [u8; 12]) -> &[u8] {
    let mut at = buf.len();
    let negative = n < 0;
    let mut n = n.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if negative {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}

/// The report of a fatal `signal`, with `culprit` running or not; each
/// piece is written as it comes, so that nothing is allocated.
fn report_signal(signal: i32, culprit: Option<&Culprit>, mut write: impl FnMut(&[u8])) {
    let mut digits = [0u8; 12];
    let digits = decimal(signal, &mut digits);
    let name = signal_name(signal).as_bytes();
    match culprit {
        Some(culprit) => {
            write(b"error: ");
            write(culprit.subject());
            write(b" crashed during a sort\n  cause: signal ");
            write(digits);
            write(b" (");
            write(name);
            write(b")\n");
            write(BACKEND_HELP);
        }
        None => {
            write(b"error: wildhost crashed: signal ");
            write(digits);
            write(b" (");
            write(name);
            write(b"), this is a bug\n");
            write(b"  help: please report it with the command that triggered it\n");
        }
    }
}

/// The report of an exit during `culprit`'s sort.
fn report_exit(culprit: &Culprit, mut write: impl FnMut(&[u8])) {
    write(b"error: ");
    write(culprit.subject());
    write(b" exited the process during a sort\n");
    write(b"  cause: it called `exit` before returning its keys; no output was written\n");
    write(BACKEND_HELP);
}

extern "C" fn on_fatal_signal(signal: libc::c_int) {
    if in_installer() {
        report_signal(signal, running(), write_stderr);
    }
    // SAFETY: sigaction, sigemptyset and raise are async-signal-safe; the
    // default action of a fatal signal ends the process, once this
    // handler returns and unblocks it (a fault that the handler returns
    // to raises it again anyway), so the exit status still names it.
    unsafe {
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut default.sa_mask);
        libc::sigaction(signal, &default, ptr::null_mut());
        libc::raise(signal);
    }
}

extern "C" fn on_exit() {
    if !in_installer() {
        return;
    }
    if let Some(culprit) = running() {
        report_exit(culprit, write_stderr);
        // SAFETY: ends the process at once, from inside `exit`, which must
        // not be entered again; no other handler needs to run.
        unsafe { libc::_exit(1) };
    }
}

/// The size of the alternate signal stack installed when the thread has
/// none: far more than the handler needs, which is little.
const ALT_STACK: usize = 64 * 1024;

/// Installs the reports of a crash or an exit during a plugin call, for the
/// whole process. Call it once, early in `main`, before other threads
/// start: the alternate signal stack is this thread's (threads std starts
/// get one of their own from std).
pub fn install() -> io::Result<()> {
    // SAFETY: getpid has no preconditions.
    INSTALLER.store(unsafe { libc::getpid() }, Ordering::Relaxed);
    ensure_alt_stack()?;
    for signal in FATAL_SIGNALS {
        // SAFETY: a zeroed sigaction is a valid value to fill in; the
        // handler only calls async-signal-safe functions.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_fatal_signal as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, ptr::null_mut())
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    // SAFETY: registers a handler that only reads atomics and thread-local
    // words, writes, and may call `_exit`.
    if unsafe { libc::atexit(on_exit) } != 0 {
        return Err(io::Error::other("atexit refused the handler"));
    }
    Ok(())
}

/// Gives this thread an alternate signal stack if it has none, so that a
/// report can be written even when the crash is a stack overflow.
fn ensure_alt_stack() -> io::Result<()> {
    // SAFETY: a zeroed stack_t is a valid value to read the current one into.
    let mut current: libc::stack_t = unsafe { std::mem::zeroed() };
    // SAFETY: only reads the current alternate stack into `current`.
    if unsafe { libc::sigaltstack(ptr::null(), &mut current) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if current.ss_flags & libc::SS_DISABLE == 0 {
        return Ok(());
    }
    // SAFETY: a fresh anonymous mapping, kept for the life of the process.
    let stack = unsafe {
        libc::mmap(
            ptr::null_mut(),
            ALT_STACK,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if stack == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let new = libc::stack_t {
        ss_sp: stack,
        ss_flags: 0,
        ss_size: ALT_STACK,
    };
    // SAFETY: `new` describes the mapping just made, which is never unmapped.
    if unsafe { libc::sigaltstack(&new, ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut dyn FnMut(&[u8]))) -> String {
        let mut out = Vec::new();
        f(&mut |bytes: &[u8]| out.extend_from_slice(bytes));
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn a_crash_names_the_backend_or_wildhost() {
        let culprit = Culprit::new("fast", Path::new("/p/libfast.so"));
        assert_eq!(
            text(|w| report_signal(libc::SIGSEGV, Some(&culprit), w)),
            "error: backend `fast` (/p/libfast.so) crashed during a sort\n\
             \x20 cause: signal 11 (SIGSEGV, invalid memory access)\n\
             \x20 help: rerun with --isolate to contain it, or remove the plugin\n"
        );
        assert_eq!(
            text(|w| report_signal(libc::SIGABRT, None, w)),
            "error: wildhost crashed: signal 6 (SIGABRT, aborted), this is a bug\n\
             \x20 help: please report it with the command that triggered it\n"
        );
        assert_eq!(
            text(|w| report_exit(&culprit, w)),
            "error: backend `fast` (/p/libfast.so) exited the process during a sort\n\
             \x20 cause: it called `exit` before returning its keys; no output was written\n\
             \x20 help: rerun with --isolate to contain it, or remove the plugin\n"
        );
    }

    #[test]
    fn decimals_of_any_sign() {
        let mut buf = [0; 12];
        assert_eq!(decimal(0, &mut buf), b"0");
        assert_eq!(decimal(11, &mut buf), b"11");
        assert_eq!(decimal(-7, &mut buf), b"-7");
        assert_eq!(decimal(i32::MIN, &mut buf), b"-2147483648");
    }

    #[test]
    fn a_call_is_recorded_while_it_runs_and_nested_calls_restore_the_outer() {
        let outer = Culprit::new("a", Path::new("/a.so"));
        let inner = Culprit::new("b", Path::new("/b.so"));
        assert!(RUNNING.with(Cell::get).is_null());
        {
            let _a = outer.enter();
            assert_eq!(running().map(Culprit::subject), Some(outer.subject()));
            {
                let _b = inner.enter();
                assert_eq!(running().map(Culprit::subject), Some(inner.subject()));
            }
            assert_eq!(running().map(Culprit::subject), Some(outer.subject()));
        }
        assert!(RUNNING.with(Cell::get).is_null());
    }
}
