//! A plugin file opened once: the descriptor that every later step (the
//! permission check, preflight, the scanner's verdict, `dlopen`) asks
//! about or loads through, so that they all judge the same file whatever
//! its path names meanwhile.

use super::file_id::FileId;
use crate::error::{Refusal, Stage};
use std::fs::{File, Metadata};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// A regular file, opened read-only, and what `fstat` said of it.
#[derive(Debug)]
pub struct PluginFile {
    file: File,
    path: PathBuf,
    meta: Metadata,
    id: FileId,
}

impl PluginFile {
    /// Opens the file at `real_path`, a path with its links resolved; a link
    /// put in its place since is refused, not followed.
    pub fn open(real_path: &Path) -> Result<PluginFile, Refusal> {
        let unreadable = |e: std::io::Error| {
            Refusal::new(
                Stage::Preflight,
                format!("cannot read the file: {e}"),
                "check that it exists and is readable",
            )
        };
        let not_regular = || {
            Refusal::new(
                Stage::Preflight,
                "not a regular file (a directory, a device, a named pipe or a socket)",
                "a plugin is a shared library file: remove this one from the plugin directory",
            )
        };
        // Asked first without opening: opening a device can do something (a
        // watchdog starts counting), and opening a named pipe to read waits
        // for a writer, forever if none comes.
        let before = std::fs::symlink_metadata(real_path).map_err(unreadable)?;
        if before.file_type().is_symlink() {
            return Err(replaced_by_link());
        }
        if !before.is_file() {
            return Err(not_regular());
        }
        // Opened without waiting and without following a link, and asked
        // again: whatever was put in the file's place since is what the
        // descriptor holds, and is judged as such. (Reads of a regular file
        // never wait, so `O_NONBLOCK` changes nothing else.)
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_NOCTTY | libc::O_CLOEXEC)
            .open(real_path)
            .map_err(|e| {
                if e.raw_os_error() == Some(libc::ELOOP) {
                    replaced_by_link()
                } else {
                    unreadable(e)
                }
            })?;
        let meta = file.metadata().map_err(unreadable)?;
        if !meta.is_file() {
            return Err(not_regular());
        }
        let id = FileId::of_metadata(&meta);
        Ok(PluginFile {
            file,
            path: real_path.to_path_buf(),
            meta,
            id,
        })
    }

    /// The path it was opened by, links resolved.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What `fstat` said of the open file.
    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    /// The open file's identity, from `fstat`.
    pub fn id(&self) -> &FileId {
        &self.id
    }

    /// The open file, to read.
    pub(crate) fn file(&self) -> &File {
        &self.file
    }
}

fn replaced_by_link() -> Refusal {
    Refusal::new(
        Stage::Discovery,
        "the file was replaced by a link after its links were resolved",
        "run the command again; if this repeats, something keeps replacing the file",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn the_open_file_stays_the_file_opened_when_its_path_is_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("libx.so");
        std::fs::write(&path, b"first").expect("write");
        let opened = PluginFile::open(&path).expect("opens");
        let other = dir.path().join("other");
        std::fs::write(&other, b"second, longer").expect("write");
        std::fs::rename(&other, &path).expect("replace");
        assert_eq!(opened.id().size, 5);
        assert_eq!(opened.id(), &FileId::of_metadata(opened.metadata()));
        let now = std::fs::metadata(&path).expect("stat");
        assert_ne!(opened.id().inode, now.ino());
        let mut read = [0u8; 16];
        let n = std::os::unix::fs::FileExt::read_at(opened.file(), &mut read, 0).expect("read");
        assert_eq!(&read[..n], b"first");
    }

    #[test]
    fn links_and_pipes_are_refused_unopened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("target.so");
        std::fs::write(&target, b"x").expect("write");
        let link = dir.path().join("liblink.so");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let refusal = PluginFile::open(&link).expect_err("a link is refused");
        assert!(refusal.cause.contains("replaced by a link"), "{refusal:?}");
        let refusal = PluginFile::open(dir.path()).expect_err("a directory is refused");
        assert!(
            refusal.cause.starts_with("not a regular file"),
            "{refusal:?}"
        );
    }
}
