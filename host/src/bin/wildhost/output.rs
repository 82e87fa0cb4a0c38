//! Writing results: to stdout, or to a file replaced atomically so that a
//! failure at any point leaves an existing file exactly as it was. A device,
//! a pipe or a socket named as the output is written as a stream, like
//! stdout: it is never replaced.

use crate::report::Failure;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where output goes.
#[derive(Debug)]
pub enum Destination {
    /// Standard output.
    Stdout,
    /// A file, replaced atomically (a device, a pipe or a socket: written).
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
    /// pipe or a socket as a stream, as standard output is.
    pub fn write(&self, bytes: &[u8]) -> Result<(), Failure> {
        let path = match self {
            Destination::Stdout => return write_stdout(bytes),
            Destination::File(path) => path,
        };
        let failure = |e: io::Error, help: &str| {
            Failure::new(format!("cannot write the output file `{}`", path.display()))
                .cause(e)
                .help(help)
        };
        let untouched = "check that the directory exists and is writable; nothing was written";
        match kind_of(path).map_err(|e| failure(e, untouched))? {
            Kind::File(target) => replace(&target, bytes).map_err(|e| failure(e, untouched)),
            Kind::Stream => write_stream(path, bytes).map_err(|e| {
                failure(
                    e,
                    "it is not a regular file but a device, a pipe, a socket or an open \
                     descriptor, so it was written as a stream; what it took before the error \
                     cannot be taken back",
                )
            }),
        }
    }
}

/// How an output path is written.
enum Kind {
    /// A regular file, or none yet: replaced (or created) atomically at
    /// this path, with every symbolic link on the way followed.
    File(PathBuf),
    /// A device, a pipe, a socket or an open descriptor of this process:
    /// there is no file to replace, and renaming over it would replace the
    /// device node (`/dev/null`), the pipe or the link itself. Written in
    /// place.
    Stream,
}

/// What `path` is, following symbolic links.
fn kind_of(path: &Path) -> io::Result<Kind> {
    if names_own_descriptor(path) {
        return Ok(Kind::Stream);
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(io::Error::other("it is a directory")),
        Ok(meta) if meta.is_file() => Ok(Kind::File(path.canonicalize()?)),
        Ok(_) => Ok(Kind::Stream),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Kind::File(dangling_target(path)?)),
        Err(e) => Err(e),
    }
}

/// Whether `path` names one of this process's open files (`/dev/stdout`,
/// `/dev/fd/3`, `/proc/self/fd/1`): written where the descriptor points,
/// never replaced, even when that is a regular file (`wildhost sort -o
/// /dev/stdout >> log` appends to `log`).
fn names_own_descriptor(path: &Path) -> bool {
    let Some(path) = path.to_str() else {
        return false;
    };
    let number = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    matches!(path, "/dev/stdin" | "/dev/stdout" | "/dev/stderr")
        || number("/dev/fd/")
        || number("/proc/self/fd/")
}

/// The path that creating `path` creates: `path` itself, or, if it is a
/// symbolic link to nothing (yet), the path the chain of links ends at, so
/// that the link is kept and its target created.
fn dangling_target(path: &Path) -> io::Result<PathBuf> {
    let mut at = path.to_path_buf();
    // The kernel's own limit on links followed in one lookup.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let to = std::fs::read_link(&at)?;
                // A relative link is relative to its own directory; an
                // absolute one replaces the path whole.
                at = match at.parent() {
                    Some(dir) => dir.join(to),
                    None => to,
                };
            }
            Ok(_) => return Ok(at),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(at),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// Writes `bytes` into the device, pipe, socket or descriptor at `path`,
/// after whatever it already holds (`O_APPEND`, which devices and pipes
/// ignore: reopened through `/proc/self/fd`, a regular file would
/// otherwise be written from its start). A reader that stops reading is
/// not a failure, as on standard output.
fn write_stream(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut stream = std::fs::OpenOptions::new().append(true).open(path)?;
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
