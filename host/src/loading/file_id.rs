//! What tells one version of a file from another without reading it.

use serde::{Deserialize, Serialize};
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A file's identity and version: device, inode, size, modification time
/// and status-change time. A file replaced or rewritten since gets another
/// `FileId`: its modification time can be put back by hand, its
/// status-change time cannot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileId {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, in nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// Status-change time, in nanoseconds since the epoch.
    pub ctime_ns: i128,
    /// Inode number.
    pub inode: u64,
    /// Device number.
    pub device: u64,
}

impl FileId {
    /// The identity of the file `path` names (links followed), if it can be
    /// told.
    pub fn of(path: &Path) -> Option<FileId> {
        Some(FileId::of_metadata(&std::fs::metadata(path).ok()?))
    }

    /// The identity `meta` describes (from `stat` or `fstat`).
    pub fn of_metadata(meta: &Metadata) -> FileId {
        FileId {
            size: meta.size(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
            inode: meta.ino(),
            device: meta.dev(),
        }
    }

    /// The file itself, whatever its version: the dynamic loader takes a
    /// file with the same device and inode for one already loaded.
    pub fn inode(&self) -> (u64, u64) {
        (self.device, self.inode)
    }
}
