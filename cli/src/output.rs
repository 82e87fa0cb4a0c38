//! Writing results: to stdout, or to a file replaced atomically so that a
//! failure at any point leaves an existing file exactly as it was. A device,
//! a named pipe or one of wildhost's own descriptors named as the output is
//! written as a stream, like stdout: it is never replaced.

use crate::report::Failure;
use std::io::{self, Write};
use std::os::fd::{FromRawFd, RawFd};
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
        let path = match self {
            Destination::Stdout => return write_stdout(bytes),
            Destination::File(path) => path,
        };
        let untouched = "check that the directory exists and is writable; nothing was written";
        let streamed = "it is not a regular file but a device, a pipe or an open descriptor, so \
                        it was written as a stream; what it took before the error cannot be \
                        taken back";
        let failure = |e: io::Error, help: &str| {
            Failure::new(format!("cannot write the output file `{}`", path.display()))
                .cause(e)
                .help(help)
        };
        let unusable = "choose another path; nothing was written";
        match kind_of(path).map_err(|e| failure(e, unusable))? {
            Kind::File(target) => replace(&target, bytes).map_err(|e| {
                let failure = failure(e, untouched);
                if is_link(path) {
                    failure.cause(format!("it links to `{}`", target.display()))
                } else {
                    failure
                }
            }),
            Kind::Stream => {
                let stream = std::fs::OpenOptions::new()
                    .append(true)
                    .open(path)
                    .map_err(|e| failure(e, untouched))?;
                write_stream(stream, bytes).map_err(|e| failure(e, streamed))
            }
            Kind::Descriptor(fd) => {
                let stream = duplicate(fd).map_err(|e| failure(e, untouched))?;
                write_stream(stream, bytes).map_err(|e| failure(e, streamed))
            }
        }
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

/// Writes `bytes` into an opened device, pipe or descriptor. A reader that
/// stops reading is not a failure, as on standard output.
fn write_stream(mut stream: std::fs::File, bytes: &[u8]) -> io::Result<()> {
    match stream.write_all(bytes).and_then(|()| stream.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // The reader stopped reading (`wildhost sort | head`): not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::new("cannot write to standard output").cause(e)),
    }
}

/// Writes to a temporary file beside `target` (a regular file or none, no
/// link: see [`kind_of`]), flushes it to disk, then renames it over
/// `target`.
fn replace(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".wildhost-").suffix(".tmp");
    // Keep the mode of the file being replaced; a new file gets the usual
    // 0666 less the umask rather than the temporary file's private 0600.
    let existing = std::fs::metadata(target)
        .ok()
        .map(|meta| meta.permissions());
    if let (None, Some(permissions)) = (&existing, new_file_permissions()) {
        builder.permissions(permissions);
    }
    let mut file = builder.tempfile_in(&dir)?;
    if let Some(permissions) = existing {
        // The replaced file keeps its mode exactly, whatever the umask.
        file.as_file().set_permissions(permissions)?;
    }
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(target).map_err(|e| e.error)?;
    Ok(())
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
