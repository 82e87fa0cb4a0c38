//! Writing results: to stdout, or to a file replaced atomically so that a
//! failure at any point leaves an existing file exactly as it was. A device,
//! a named pipe or one of wildhost's own descriptors named as the output is
//! written as a stream, like stdout: it is never replaced.

use crate::report::Failure;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Where output goes.
#[derive(Debug)]
pub enum Destination {
    /// Standard output.
    Stdout,
    /// A file, replaced atomically (a device, a pipe or a descriptor:
    /// written).
    File(PathBuf),
}

impl Destination {
    /// `None` or `-` is stdout.
    pub fn from_arg(path: Option<&Path>) -> Destination {
        match path {
            None => Destination::Stdout,
            Some(p) if p.as_os_str() == "-" => Destination::Stdout,
            Some(p) => Destination::File(p.to_path_buf()),
        }
    }

    /// Writes `bytes`: a regular file whole or not at all; a device, a
    /// pipe or one of wildhost's own descriptors as a stream, as standard
    /// output is.
    pub fn write(&self, bytes: &[u8]) -> Result<(), Failure> {
        self.write_with(|out| out.write_all(bytes))
    }

    /// Writes what `produce` writes into the writer it is given, as
    /// [`Destination::write`] writes bytes: a regular file whole or not at
    /// all (`produce` failing leaves it as it was), anything else as a
    /// stream.
    pub fn write_with(
        &self,
        produce: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), Failure> {
        self.write_then(produce, false)?.finish()
    }

    /// [`Destination::write_with`], but a regular file is flushed to disk
    /// and put in place on another thread once `produce` has written it:
    /// the caller can free what it no longer needs while the disk works,
    /// then [`Pending::finish`] says how it went, as `write_with` would
    /// have.
    pub fn write_pending(
        &self,
        produce: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<Pending, Failure> {
        self.write_then(produce, true)
    }

    /// Writes what `produce` writes; a regular file is then flushed and put
    /// in place on another thread if `aside`, else before this returns.
    fn write_then(
        &self,
        produce: impl FnOnce(&mut dyn Write) -> io::Result<()>,
        aside: bool,
    ) -> Result<Pending, Failure> {
        let path = match self {
            Destination::Stdout => return write_stdout(produce).map(|()| Pending::done()),
            Destination::File(path) => path,
        };
        let streamed = "it is not a regular file but a device, a pipe or an open descriptor, so \
                        it was written as a stream; what it took before the error cannot be \
                        taken back";
        let failure = |e: io::Error, help: &str| file_failure(path, e, help);
        let unusable = "choose another path; nothing was written";
        match kind_of(path).map_err(|e| failure(e, unusable))? {
            Kind::File(target) => {
                let written =
                    stage(&target, produce).map_err(|e| replace_failure(path, &target, e))?;
                Ok(Pending {
                    commit: Some(Commit {
                        path: path.clone(),
                        target,
                        finishing: if aside {
                            written.finish_aside()
                        } else {
                            Finishing::Done(written.finish())
                        },
                    }),
                })
            }
            Kind::Stream => {
                let stream = std::fs::OpenOptions::new()
                    .append(true)
                    .open(path)
                    .map_err(|e| failure(e, UNTOUCHED))?;
                write_stream(stream, produce).map_err(|e| failure(e, streamed))?;
                Ok(Pending::done())
            }
            Kind::Descriptor(fd) => {
                let stream = duplicate(fd).map_err(|e| failure(e, UNTOUCHED))?;
                write_stream(stream, produce).map_err(|e| failure(e, streamed))?;
                Ok(Pending::done())
            }
        }
    }
}

/// The help of a failure that left the output as it was.
const UNTOUCHED: &str = "check that the directory exists and is writable; nothing was written";

fn file_failure(path: &Path, e: io::Error, help: &str) -> Failure {
    Failure::new(format!("cannot write the output file `{}`", path.display()))
        .cause(e)
        .help(help)
}

/// A failure to replace `target`, the file at the end of `path`'s links.
fn replace_failure(path: &Path, target: &Path, e: io::Error) -> Failure {
    let failure = file_failure(path, e, UNTOUCHED);
    if is_link(path) {
        failure.cause(format!("it links to `{}`", target.display()))
    } else {
        failure
    }
}

/// An output written whole, being flushed to disk and put in place
/// ([`Destination::write_pending`]).
#[must_use = "the output is in place only once `finish` has said so"]
pub struct Pending {
    commit: Option<Commit>,
}

/// A new file's flush and rename over the target at the end of `path`.
struct Commit {
    path: PathBuf,
    target: PathBuf,
    finishing: Finishing,
}

impl Pending {
    fn done() -> Pending {
        Pending { commit: None }
    }

    /// Waits for the output to be in place; a failure leaves the file that
    /// was there as it was.
    pub fn finish(self) -> Result<(), Failure> {
        let Some(Commit {
            path,
            target,
            finishing,
        }) = self.commit
        else {
            return Ok(());
        };
        let finished = match finishing {
            Finishing::Done(finished) => finished,
            Finishing::Aside(thread) => thread.join().unwrap_or_else(|_| {
                Err(io::Error::other(
                    "the thread that flushed it to disk panicked",
                ))
            }),
        };
        finished.map_err(|e| replace_failure(&path, &target, e))
    }
}

/// How an output path is written.
#[derive(Debug, PartialEq)]
enum Kind {
    /// A regular file, or none yet: replaced (or created) atomically at
    /// this path, where the chain of links ends.
    File(PathBuf),
    /// A device or a named pipe: there is no file to replace, and renaming
    /// over it would replace the device node (`/dev/null`) or the pipe
    /// itself. Opened and written.
    Stream,
    /// One of wildhost's own open descriptors (`/dev/stdout`, `/dev/fd/3`,
    /// or a link to one): written through a copy of it, where and as it
    /// points (appending if it was opened to append, into a socket or a
    /// deleted file alike), never replaced.
    Descriptor(RawFd),
}

/// Links followed at most in one path, as the kernel does.
const MAX_LINKS: usize = 40;

/// What `path` is and how to write it, following its chain of links by
/// hand: own descriptors are told apart by name at every link (`out ->
/// /dev/stdout`; following one would reach the file behind the
/// descriptor, which a rename would replace), and a file to replace or
/// create is the one the chain ends at, so that the links are kept. A link
/// the kernel would not follow (`fs.protected_symlinks`: one in a sticky
/// directory that all may write, like `/tmp`, owned by neither the
/// directory's owner nor the user running wildhost) is not followed here
/// either: a stranger's link there must not choose where wildhost writes.
fn kind_of(path: &Path) -> io::Result<Kind> {
    let mut at = path.to_path_buf();
    for _ in 0..=MAX_LINKS {
        if let Some(fd) = own_descriptor(&at) {
            if fd == 0 {
                return Err(io::Error::other(
                    "it is standard input, which wildhost reads, not writes",
                ));
            }
            return Ok(Kind::Descriptor(fd));
        }
        let meta = match std::fs::symlink_metadata(&at) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Kind::File(at)),
            Err(e) => return Err(e),
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            if !may_follow(&at, &meta) {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "`{}` is a link of another user's in a directory all may write; \
                         it is not followed",
                        at.display()
                    ),
                ));
            }
            at = link_target(&at)?;
        } else if kind.is_dir() {
            return Err(io::Error::other("it is a directory"));
        } else if kind.is_file() {
            return Ok(Kind::File(at));
        } else if kind.is_socket() {
            return Err(io::Error::other(
                "it is a socket, which cannot be opened as a file",
            ));
        } else {
            return Ok(Kind::Stream);
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// The descriptor `path` names, if it names one of this process's own:
/// `/dev/stdin|stdout|stderr`, `/dev/fd/N`, `/proc/self/fd/N`,
/// `/proc/thread-self/fd/N` or `/proc/<wildhost's pid>/fd/N`.
fn own_descriptor(path: &Path) -> Option<RawFd> {
    let path = path.to_str()?;
    match path {
        "/dev/stdin" => return Some(0),
        "/dev/stdout" => return Some(1),
        "/dev/stderr" => return Some(2),
        _ => {}
    }
    let pid = format!("/proc/{}/fd/", std::process::id());
    ["/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/", &pid]
        .iter()
        .find_map(|prefix| path.strip_prefix(prefix))
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
}

/// Whether `path` itself is a symbolic link.
fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink())
}

/// Where the symbolic link `at` points: relative to its own directory, or
/// the absolute path it holds.
fn link_target(at: &Path) -> io::Result<PathBuf> {
    let to = std::fs::read_link(at)?;
    Ok(match at.parent() {
        Some(dir) => dir.join(to),
        None => to,
    })
}

/// The kernel's `protected_symlinks` rule for the link `at`.
fn may_follow(at: &Path, link: &std::fs::Metadata) -> bool {
    let dir = match at.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let Ok(dir) = std::fs::metadata(dir) else {
        return false;
    };
    let shared = dir.mode() & 0o1002 == 0o1002;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    !shared || link.uid() == me || link.uid() == dir.uid()
}

/// A new descriptor for what `fd` (one of this process's) points at.
fn duplicate(fd: RawFd) -> io::Result<std::fs::File> {
    // SAFETY: dup touches no memory; a descriptor it returns is new, open,
    // and owned by nothing else in this process.
    let copy = unsafe { libc::dup(fd) };
    if copy < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `copy` was just returned by dup (above): open and unowned.
    Ok(unsafe { std::fs::File::from_raw_fd(copy) })
}

/// Writes into an opened device, pipe or descriptor. A reader that stops
/// reading is not a failure, as on standard output.
fn write_stream(
    mut stream: std::fs::File,
    produce: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    match produce(&mut stream).and_then(|()| stream.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn write_stdout(produce: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    match produce(&mut out).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // The reader stopped reading (`wildhost sort | head`): not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::new("cannot write to standard output").cause(e)),
    }
}

/// Writes what `produce` writes to a new file beside `target` (a regular
/// file or none, no link: see [`kind_of`]), for [`Written::finish`] to put
/// in place.
fn stage(
    target: &Path,
    produce: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<Written> {
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // Keep the mode of the file being replaced; a new file gets the usual
    // 0666 less the umask rather than a temporary file's private 0600.
    let existing = std::fs::metadata(target)
        .ok()
        .map(|meta| meta.permissions());
    let mut staged = Staged::create(&dir, existing.is_none())?;
    if let Some(permissions) = existing {
        // The replaced file keeps its mode exactly, whatever the umask.
        staged.file().set_permissions(permissions)?;
    }
    produce(&mut EarlyWriteback::new(staged.file()))?;
    Ok(Written {
        staged,
        dir,
        target: target.to_path_buf(),
    })
}

/// A new file written whole beside its target, not yet in place.
struct Written {
    staged: Staged,
    dir: PathBuf,
    target: PathBuf,
}

impl Written {
    /// Flushes the file to disk, renames it over its target, then flushes
    /// the directory, so that the rename itself survives a crash.
    fn finish(mut self) -> io::Result<()> {
        self.staged.file().sync_all()?;
        self.staged.commit(&self.dir, &self.target)?;
        // The new file is in place and whole; a directory that cannot be
        // flushed (some filesystems refuse) changes nothing about that.
        if let Ok(dir) = std::fs::File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// [`Written::finish`] on a thread of its own, or on this one if no
    /// thread can be had.
    fn finish_aside(self) -> Finishing {
        let (give, take) = std::sync::mpsc::channel::<Written>();
        let thread = std::thread::Builder::new().spawn(move || match take.recv() {
            Ok(written) => written.finish(),
            Err(_) => Err(io::Error::other("the file to flush never came")),
        });
        match thread {
            Ok(thread) => match give.send(self) {
                Ok(()) => Finishing::Aside(thread),
                // The thread is gone already: the file comes back.
                Err(std::sync::mpsc::SendError(written)) => Finishing::Done(written.finish()),
            },
            Err(_) => Finishing::Done(self.finish()),
        }
    }
}

/// A [`Written::finish_aside`] under way, or done.
enum Finishing {
    Aside(std::thread::JoinHandle<io::Result<()>>),
    Done(io::Result<()>),
}

/// Bytes written between two requests to start writing them to disk.
const WRITEBACK_STEP: u64 = 8 << 20;

/// Writes to a new file and asks the kernel to start writing each
/// [`WRITEBACK_STEP`] bytes to disk as soon as they are written
/// (`sync_file_range`), so that the flush before the rename finds little
/// left to wait for: the disk works while the rest of the output is made.
struct EarlyWriteback<'f> {
    file: &'f mut std::fs::File,
    written: u64,
    started: u64,
}

impl<'f> EarlyWriteback<'f> {
    fn new(file: &'f mut std::fs::File) -> EarlyWriteback<'f> {
        EarlyWriteback {
            file,
            written: 0,
            started: 0,
        }
    }
}

impl Write for EarlyWriteback<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = self.file.write(bytes)?;
        self.written += n as u64;
        if self.written - self.started >= WRITEBACK_STEP {
            let (from, len) = (self.started as libc::off64_t, self.written - self.started);
            // SAFETY: sync_file_range only reads its arguments; the
            // descriptor is the open file. A failure (a filesystem that
            // has no such thing) changes nothing: the flush before the
            // rename writes everything and reports any error.
            unsafe {
                libc::sync_file_range(
                    self.file.as_raw_fd(),
                    from,
                    len as libc::off64_t,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
            self.started = self.written;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The file a result is written to before it replaces the output.
#[derive(Debug)]
enum Staged {
    /// Made with `O_TMPFILE`: no name points to it until it is whole, so a
    /// wildhost ended while writing it (SIGINT, SIGTERM, SIGKILL, a crash)
    /// leaves nothing behind.
    Unnamed(std::fs::File),
    /// A named temporary file (`.wildhost-*.tmp`), where the filesystem or
    /// kernel has no `O_TMPFILE` or `/proc` is not mounted: removed when
    /// dropped, and by [`cleanup`] on SIGINT or SIGTERM.
    Named(tempfile::NamedTempFile, cleanup::Registered),
}

/// Attempts at a fresh name before giving up (names are made unique by the
/// process and the time, so a clash means another writer in the same
/// instant).
const NAME_ATTEMPTS: u32 = 100;

impl Staged {
    /// A new file in `dir`, with a new file's mode if `fresh` (0666 less
    /// the umask), else private until its mode is set.
    fn create(dir: &Path, fresh: bool) -> io::Result<Staged> {
        let mode = if fresh { 0o666 } else { 0o600 };
        if let Some(file) = open_unnamed(dir, mode)? {
            return Ok(Staged::Unnamed(file));
        }
        Staged::create_named(dir, fresh)
    }

    /// [`Staged::create`] where there is no `O_TMPFILE`.
    fn create_named(dir: &Path, fresh: bool) -> io::Result<Staged> {
        let mut builder = tempfile::Builder::new();
        builder.prefix(".wildhost-").suffix(".tmp");
        if let (true, Some(permissions)) = (fresh, new_file_permissions()) {
            builder.permissions(permissions);
        }
        // A signal between the file's creation and its registration would
        // leave it behind: none is taken in between.
        let _deferred = cleanup::Deferred::signals();
        let file = builder
            .tempfile_in(dir)
            .map_err(wildhost::error::unstaged)?;
        let registered = cleanup::register(file.path());
        Ok(Staged::Named(file, registered))
    }

    fn file(&mut self) -> &mut std::fs::File {
        match self {
            Staged::Unnamed(file) => file,
            Staged::Named(file, _) => file.as_file_mut(),
        }
    }

    /// Puts the whole file in place of `target`, in `dir`.
    fn commit(self, dir: &Path, target: &Path) -> io::Result<()> {
        match self {
            Staged::Named(file, registered) => {
                file.persist(target).map_err(|e| e.error)?;
                drop(registered);
                Ok(())
            }
            Staged::Unnamed(file) => {
                // `linkat` cannot replace a file: the file gets a fresh name
                // of its own, which is then renamed over the target. No
                // signal is taken between the two, so the name never
                // outlives wildhost.
                let from = cstring(Path::new(&format!("/proc/self/fd/{}", file.as_raw_fd())))?;
                let _deferred = cleanup::Deferred::signals();
                for attempt in 0..NAME_ATTEMPTS {
                    let name = dir.join(fresh_name(attempt));
                    let to = cstring(&name)?;
                    // SAFETY: both paths are NUL-terminated strings that
                    // live across the call; linkat reads them only.
                    let linked = unsafe {
                        libc::linkat(
                            libc::AT_FDCWD,
                            from.as_ptr(),
                            libc::AT_FDCWD,
                            to.as_ptr(),
                            libc::AT_SYMLINK_FOLLOW,
                        )
                    };
                    if linked != 0 {
                        let e = io::Error::last_os_error();
                        if e.kind() == io::ErrorKind::AlreadyExists {
                            continue;
                        }
                        return Err(e);
                    }
                    return std::fs::rename(&name, target).inspect_err(|_| {
                        let _ = std::fs::remove_file(&name);
                    });
                }
                Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "no fresh name for the new file could be found beside it",
                ))
            }
        }
    }
}

/// `.wildhost-<pid>-<time>-<attempt>.tmp`.
fn fresh_name(attempt: u32) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(".wildhost-{}-{nanos:x}-{attempt}.tmp", std::process::id())
}

fn cstring(path: &Path) -> io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "the path holds a NUL byte"))
}

/// A new file in `dir` with no name (`O_TMPFILE`), created with `mode` less
/// the umask; `None` where the kernel or the filesystem cannot make one, or
/// where `/proc`, through which it is linked into place, is missing.
fn open_unnamed(dir: &Path, mode: libc::mode_t) -> io::Result<Option<std::fs::File>> {
    if !Path::new("/proc/self/fd").is_dir() {
        return Ok(None);
    }
    let path = cstring(dir)?;
    // SAFETY: `path` is a NUL-terminated string that lives across the
    // call; open reads it only, and a descriptor it returns is new.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_TMPFILE | libc::O_WRONLY | libc::O_CLOEXEC,
            libc::c_uint::from(mode),
        )
    };
    if fd < 0 {
        let e = io::Error::last_os_error();
        // EISDIR: a kernel before O_TMPFILE (3.11) takes it for a
        // directory; EOPNOTSUPP: a filesystem without it.
        return match e.raw_os_error() {
            Some(libc::EISDIR | libc::EOPNOTSUPP | libc::EINVAL) => Ok(None),
            _ => Err(e),
        };
    }
    // SAFETY: `fd` was just returned by open: open and owned by nothing else.
    Ok(Some(unsafe { std::fs::File::from_raw_fd(fd) }))
}

/// The named temporary file's removal on SIGINT and SIGTERM, and keeping
/// those two signals waiting while a name is made or moved.
mod cleanup {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::sync::atomic::{AtomicPtr, Ordering};

    /// The path to remove if wildhost is ended by SIGINT or SIGTERM; null
    /// when there is none. Set before the handler may need it, so that the
    /// handler only reads it.
    static PATH: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

    const SIGNALS: [libc::c_int; 2] = [libc::SIGINT, libc::SIGTERM];

    /// A registered path; dropping it forgets the path and puts the
    /// previous handlers back.
    #[derive(Debug)]
    pub(super) struct Registered {
        previous: Vec<(libc::c_int, libc::sigaction)>,
    }

    /// Registers `path` for removal on SIGINT or SIGTERM and installs the
    /// handler that removes it.
    pub(super) fn register(path: &Path) -> Registered {
        let Ok(path) = CString::new(path.as_os_str().as_bytes()) else {
            return Registered {
                previous: Vec::new(),
            };
        };
        let old = PATH.swap(path.into_raw(), Ordering::SeqCst);
        forget(old);
        let mut previous = Vec::new();
        for signal in SIGNALS {
            // SAFETY: a zeroed sigaction is a valid "no handler, no flags"
            // value; sigaction reads `action` and writes `old`, both ours.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, &action, &mut old) == 0 {
                    previous.push((signal, old));
                }
            }
        }
        Registered { previous }
    }

    impl Drop for Registered {
        fn drop(&mut self) {
            for (signal, old) in &self.previous {
                // SAFETY: puts back the action sigaction returned for this
                // signal.
                unsafe { libc::sigaction(*signal, old, std::ptr::null_mut()) };
            }
            forget(PATH.swap(std::ptr::null_mut(), Ordering::SeqCst));
        }
    }

    /// Frees a path taken out of [`PATH`].
    fn forget(path: *mut libc::c_char) {
        if !path.is_null() {
            // SAFETY: every non-null pointer in PATH came from
            // CString::into_raw, and was taken out of PATH by the caller,
            // so nothing else frees or reads it.
            drop(unsafe { CString::from_raw(path) });
        }
    }

    /// Removes the registered file, if any; what the handler does first.
    /// Async-signal-safe: an atomic load and `unlink`.
    pub(super) fn remove_registered() {
        let path = PATH.load(Ordering::SeqCst);
        if !path.is_null() {
            // SAFETY: a non-null PATH is a NUL-terminated string that stays
            // allocated while it is registered.
            unsafe { libc::unlink(path) };
        }
    }

    /// Removes the registered file, then ends wildhost by the same signal
    /// as it would have ended without this handler.
    extern "C" fn on_signal(signal: libc::c_int) {
        remove_registered();
        // SAFETY: signal and raise are async-signal-safe; the default
        // action of SIGINT and SIGTERM ends the process once the signal,
        // blocked while its handler runs, is delivered on return.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }

    /// SIGINT and SIGTERM kept waiting (blocked in this thread) while it
    /// lives; delivered when it is dropped.
    pub(super) struct Deferred {
        previous: libc::sigset_t,
    }

    impl Deferred {
        pub(super) fn signals() -> Deferred {
            // SAFETY: the sets are ours, initialised by sigemptyset before
            // use; pthread_sigmask writes the previous mask into ours.
            unsafe {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                for signal in SIGNALS {
                    libc::sigaddset(&mut set, signal);
                }
                let mut previous: libc::sigset_t = std::mem::zeroed();
                libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut previous);
                Deferred { previous }
            }
        }
    }

    impl Drop for Deferred {
        fn drop(&mut self) {
            // SAFETY: puts back the mask pthread_sigmask returned.
            unsafe {
                libc::pthread_sigmask(libc::SIG_SETMASK, &self.previous, std::ptr::null_mut())
            };
        }
    }
}

/// 0666 less the umask (applied by the kernel at creation), as any new
/// file gets, rather than the temporary file's private 0600.
#[cfg(unix)]
fn new_file_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(std::fs::Permissions::from_mode(0o666))
}

/// Elsewhere the temporary file's defaults are a new file's defaults.
#[cfg(not(unix))]
fn new_file_permissions() -> Option<std::fs::Permissions> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_new_file_has_no_name_until_it_is_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("out.txt");
        std::fs::write(&target, "old\n").expect("write");
        let mut staged = Staged::create(dir.path(), false).expect("staged");
        assert!(matches!(staged, Staged::Unnamed(_)), "{staged:?}");
        staged.file().write_all(b"new\n").expect("write");
        assert_eq!(names(dir.path()), ["out.txt"]);
        // Ended before the commit: nothing is left, the old file is kept.
        drop(staged);
        assert_eq!(names(dir.path()), ["out.txt"]);
        assert_eq!(std::fs::read(&target).expect("read"), b"old\n");

        let mut staged = Staged::create(dir.path(), false).expect("staged");
        staged.file().write_all(b"new\n").expect("write");
        staged.commit(dir.path(), &target).expect("commit");
        assert_eq!(names(dir.path()), ["out.txt"]);
        assert_eq!(std::fs::read(&target).expect("read"), b"new\n");
    }

    #[test]
    fn a_named_temporary_file_is_removed_by_the_signal_handler() {
        let handler = |signal| {
            // SAFETY: a query: sigaction writes the current action into
            // ours and changes nothing.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                libc::sigaction(signal, std::ptr::null(), &mut action);
                action.sa_sigaction
            }
        };
        let before = (handler(libc::SIGINT), handler(libc::SIGTERM));
        let dir = tempfile::tempdir().expect("tempdir");
        let staged = Staged::create_named(dir.path(), true).expect("staged");
        let [name] = &names(dir.path())[..] else {
            panic!("one temporary file: {:?}", names(dir.path()));
        };
        assert!(
            name.starts_with(".wildhost-") && name.ends_with(".tmp"),
            "{name}"
        );
        assert_ne!(handler(libc::SIGTERM), before.1, "the handler is installed");
        assert_ne!(handler(libc::SIGINT), before.0, "the handler is installed");
        // What the handler does before it ends wildhost.
        cleanup::remove_registered();
        assert!(names(dir.path()).is_empty());
        drop(staged);
        assert_eq!((handler(libc::SIGINT), handler(libc::SIGTERM)), before);
        cleanup::remove_registered();
    }
}
