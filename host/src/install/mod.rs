//! Installing plugins: putting a file into a plugin directory so that it
//! is complete or absent, never half there, and the pieces `wildhost
//! install` and `wildhost pack` share.
//!
//! - this file: [`stage`] copies a file into a private directory inside
//!   the plugin directory, hashing it on the way; what is checked, loaded
//!   and verified is that copy, and [`Staged::commit`] renames it into
//!   place (the same file system, so the rename is atomic);
//! - [`tag`]: the platform tag of a binary (`x86_64-linux-gnu-abi1.2`);
//! - [`archive`]: the archive `pack` writes and `install` reads.
//!
//! The digests of what was installed are kept by
//! [`crate::loading::manifest`], which discovery reads.

pub mod archive;
pub mod tag;

use crate::loading::manifest::{Sha256, set_mode, sync_dir};
use std::ffi::CString;
use std::fs::{self, File};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// Creates the plugin directory `dir` and the directories above it that are
/// missing, readable by all and writable by the user only (0755).
pub fn create_plugin_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
}

/// A copy of a plugin file in a private directory of the plugin
/// directory, not yet in place. Dropping it removes the copy.
#[derive(Debug)]
pub struct Staged {
    dir: tempfile::TempDir,
    path: PathBuf,
    file_name: String,
    sha256: Sha256,
}

/// Copies `source` into a new private directory inside `plugin_dir`, as
/// `file_name`, with mode 0644, flushed to disk.
pub fn stage(plugin_dir: &Path, source: &Path, file_name: &str) -> io::Result<Staged> {
    let dir = tempfile::Builder::new()
        .prefix(".wildhost-install-")
        .tempdir_in(plugin_dir)
        .map_err(crate::error::unstaged)?;
    let path = dir.path().join(file_name);
    let mut output = File::create_new(&path)?;
    io::copy(&mut File::open(source)?, &mut output)?;
    output.sync_all()?;
    set_mode(&path, 0o644)?;
    // The copy is in a directory only this process writes: its digest is
    // the digest of what is checked, loaded and installed.
    let sha256 = Sha256::of_file(&path)?;
    Ok(Staged {
        dir,
        path,
        file_name: file_name.to_string(),
        sha256,
    })
}

/// Why a staged file could not be put in place.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// A file of that name is there and replacing it was not asked for.
    #[error("`{}` is already there", .0.display())]
    Exists(PathBuf),
    /// The rename failed.
    #[error("cannot move the file into place: {0}")]
    Io(#[from] io::Error),
}

impl Staged {
    /// The staged copy: check, load and verify this file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The digest of the staged bytes.
    pub fn sha256(&self) -> Sha256 {
        self.sha256
    }

    /// Renames the copy into `plugin_dir` (the directory it was staged in)
    /// and flushes the directory. Without `replace`, a file already there
    /// is kept and the rename refused, atomically.
    pub fn commit(self, plugin_dir: &Path, replace: bool) -> Result<PathBuf, CommitError> {
        let to = plugin_dir.join(&self.file_name);
        rename(&self.path, &to, replace).map_err(|e| match e.raw_os_error() {
            Some(libc::EEXIST) => CommitError::Exists(to.clone()),
            _ => CommitError::Io(e),
        })?;
        sync_dir(plugin_dir)?;
        drop(self.dir);
        Ok(to)
    }
}

/// `rename`, or without `replace`, `renameat2(RENAME_NOREPLACE)`.
fn rename(from: &Path, to: &Path, replace: bool) -> io::Result<()> {
    if replace {
        return fs::rename(from, to);
    }
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes()).map_err(|e| io::Error::other(e.to_string()))
    };
    let (from, to) = (c(from)?, c(to)?);
    // SAFETY: both are NUL-terminated paths that outlive the call.
    let done = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if done == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staged_file_is_hashed_and_commits_without_replacing() {
        let root = tempfile::tempdir().expect("tempdir");
        let plugins = root.path().join("a/b/plugins");
        create_plugin_dir(&plugins).expect("mkdir");
        let source = root.path().join("libx.so");
        fs::write(&source, b"bytes").expect("write");
        let staged = stage(&plugins, &source, "libx.so").expect("stage");
        assert_eq!(staged.sha256(), Sha256::of_bytes(b"bytes"));
        let installed = staged.commit(&plugins, false).expect("commit");
        assert_eq!(fs::read(&installed).expect("read"), b"bytes");

        fs::write(&source, b"other").expect("write");
        let again = stage(&plugins, &source, "libx.so").expect("stage");
        assert!(matches!(
            again.commit(&plugins, false),
            Err(CommitError::Exists(_))
        ));
        assert_eq!(fs::read(&installed).expect("read"), b"bytes");
        // Nothing is left of the refused copy.
        let names: Vec<_> = fs::read_dir(&plugins)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["libx.so"]);

        let forced = stage(&plugins, &source, "libx.so").expect("stage");
        forced.commit(&plugins, true).expect("replace");
        assert_eq!(fs::read(&installed).expect("read"), b"other");
    }
}
