//! Writing results: to stdout, or to a file replaced atomically so that a
//! failure at any point leaves an existing file exactly as it was.

use crate::report::Failure;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where output goes.
#[derive(Debug)]
pub enum Destination {
    /// Standard output.
    Stdout,
    /// A file, replaced atomically.
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

    /// Writes `bytes` whole, or nothing.
    pub fn write(&self, bytes: &[u8]) -> Result<(), Failure> {
        match self {
            Destination::Stdout => write_stdout(bytes),
            Destination::File(path) => write_atomically(path, bytes).map_err(|e| {
                Failure::new(format!("cannot write the output file `{}`", path.display()))
                    .cause(e)
                    .help("check that the directory exists and is writable; nothing was written")
            }),
        }
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

/// Writes to a temporary file beside `path`, flushes it to disk, then
/// renames it over `path`. A link at `path` is followed, so the file it
/// points to is replaced and the link kept.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let target = match path.canonicalize() {
        Ok(real) => real,
        Err(e) if e.kind() == io::ErrorKind::NotFound => path.to_path_buf(),
        Err(e) => return Err(e),
    };
    if target.is_dir() {
        return Err(io::Error::other("it is a directory"));
    }
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".wildhost-").suffix(".tmp");
    // Keep the mode of the file being replaced; a new file gets the usual
    // 0666 less the umask rather than the temporary file's private 0600.
    let existing = std::fs::metadata(&target)
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
    file.persist(&target).map_err(|e| e.error)?;
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
