//! The install manifest: what `wildhost install` put into a plugin
//! directory, each file with the SHA-256 of its bytes and where it came
//! from, as pip's `RECORD` does.
//!
//! The manifest is `installed.json` inside the plugin directory; discovery
//! ignores it (it is not a plugin file name). A file the manifest names
//! whose bytes no longer have the recorded digest was changed since it was
//! installed: [`super::discover`] refuses it unless the user allows
//! modified files. Writers take [`lock`] first and replace the manifest
//! atomically, so a reader sees the old manifest or the new, never half.

use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// The manifest's file name inside a plugin directory.
pub const FILE_NAME: &str = "installed.json";
/// The lock file writers of the manifest hold, beside it.
const LOCK_NAME: &str = ".installed.lock";
/// The manifest format this host writes and reads.
const FORMAT: u32 = 1;

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha256([u8; 32]);

impl Sha256 {
    /// The digest of everything `reader` yields.
    pub fn of_reader(mut reader: impl Read) -> io::Result<Sha256> {
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => hasher.update(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Sha256(hasher.finalize().into()))
    }

    /// The digest of the file at `path`.
    pub fn of_file(path: &Path) -> io::Result<Sha256> {
        Sha256::of_reader(File::open(path)?)
    }

    /// The digest of `bytes`.
    pub fn of_bytes(bytes: &[u8]) -> Sha256 {
        Sha256(sha2::Sha256::digest(bytes).into())
    }

    /// Parses 64 hexadecimal digits, optionally after `sha256:` (the form
    /// `install --hash` takes).
    pub fn parse(text: &str) -> Result<Sha256, String> {
        let hex = text.strip_prefix("sha256:").unwrap_or(text);
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "`{text}` is not a SHA-256 digest: expected `sha256:` and 64 hexadecimal digits"
            ));
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|e| format!("`{text}` is not a SHA-256 digest: {e}"))?;
        }
        Ok(Sha256(out))
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{self}")
    }
}

impl Serialize for Sha256 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Sha256, D::Error> {
        let text = String::deserialize(d)?;
        Sha256::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// What an installed file was made from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// A plugin file, copied as it was.
    File,
    /// A plugin project, built on this machine.
    Project,
    /// The binary of an archive `wildhost pack` wrote.
    Archive,
    /// The source in such an archive, built on this machine.
    ArchiveSource,
}

impl SourceKind {
    /// How `install` and `list` name it.
    pub fn describe(self) -> &'static str {
        match self {
            SourceKind::File => "file",
            SourceKind::Project => "project",
            SourceKind::Archive => "archive",
            SourceKind::ArchiveSource => "the source in archive",
        }
    }
}

/// One installed file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The file's name in the plugin directory, `lib<module>.so`.
    pub file: String,
    /// Its module.
    pub module: String,
    /// The digest of the bytes installed.
    pub sha256: Sha256,
    /// What it was made from.
    pub source: SourceKind,
    /// The path of that source, as given to `install`, made absolute.
    pub from: PathBuf,
    /// The features asked of the build, when it was built here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

/// The manifest of one plugin directory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The format, 1.
    pub format: u32,
    /// Every installed file, by file name.
    pub plugins: Vec<Entry>,
}

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Reading failed.
    #[error("cannot read the install manifest `{}`: {source}", path.display())]
    Read {
        /// The manifest.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// It is not a manifest this host understands.
    #[error("the install manifest `{}` is damaged: {why}", path.display())]
    Damaged {
        /// The manifest.
        path: PathBuf,
        /// Why.
        why: String,
    },
}

impl Manifest {
    /// The manifest's path in `dir`.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }

    /// The manifest of `dir`; empty when there is none.
    pub fn read(dir: &Path) -> Result<Manifest, ManifestError> {
        let path = Manifest::path_in(dir);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Manifest {
                    format: FORMAT,
                    plugins: Vec::new(),
                });
            }
            Err(source) => return Err(ManifestError::Read { path, source }),
        };
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| ManifestError::Damaged {
                path: path.clone(),
                why: e.to_string(),
            })?;
        if manifest.format != FORMAT {
            return Err(ManifestError::Damaged {
                path,
                why: format!(
                    "format {} (this wildhost reads format {FORMAT})",
                    manifest.format
                ),
            });
        }
        Ok(manifest)
    }

    /// Replaces the manifest of `dir` atomically: a new file beside it,
    /// flushed, renamed over it, and the directory flushed.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(io::Error::other)?;
        text.push('\n');
        // Errors through the `File`, not the `NamedTempFile`, which would
        // name the temporary file in them.
        let mut temp = tempfile::Builder::new()
            .prefix(".installed-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(crate::error::unstaged)?;
        temp.as_file_mut().write_all(text.as_bytes())?;
        temp.as_file().sync_all()?;
        set_mode(temp.path(), 0o644)?;
        temp.persist(Manifest::path_in(dir)).map_err(|e| e.error)?;
        sync_dir(dir)
    }

    /// The entry of the file named `file`.
    pub fn entry(&self, file: &str) -> Option<&Entry> {
        self.plugins.iter().find(|e| e.file == file)
    }

    /// The entry of module `module`.
    pub fn entry_of_module(&self, module: &str) -> Option<&Entry> {
        self.plugins.iter().find(|e| e.module == module)
    }

    /// Records `entry`, replacing the entry of the same file.
    pub fn record(&mut self, entry: Entry) {
        self.plugins.retain(|e| e.file != entry.file);
        self.plugins.push(entry);
        self.plugins.sort_by(|a, b| a.file.cmp(&b.file));
    }

    /// Forgets the entry of the file named `file`.
    pub fn forget(&mut self, file: &str) -> Option<Entry> {
        let at = self.plugins.iter().position(|e| e.file == file)?;
        Some(self.plugins.remove(at))
    }
}

/// Whether the file at `path` still has the bytes `entry` recorded: `Err`
/// says how it differs.
pub fn check(entry: &Entry, path: &Path) -> Result<(), String> {
    let digest =
        Sha256::of_file(path).map_err(|e| format!("cannot read it to check its digest: {e}"))?;
    if digest == entry.sha256 {
        Ok(())
    } else {
        Err(format!(
            "its bytes changed since `wildhost install` put it there: SHA-256 {digest}, \
             recorded {}",
            entry.sha256
        ))
    }
}

/// The help line of a refused modified file.
pub const MODIFIED_HELP: &str = "reinstall it (`wildhost install --force SOURCE`), remove it \
     (`wildhost uninstall MODULE`), or pass --allow-modified to load it anyway";

/// An exclusive lock on the manifest of a directory, held until dropped.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Waits for and takes the lock on the manifest of `dir`.
pub fn lock(dir: &Path) -> io::Result<Lock> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o644)
        .open(dir.join(LOCK_NAME))?;
    loop {
        // SAFETY: flock on a descriptor this function owns, open for the
        // call; it has no memory preconditions.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if locked == 0 {
            return Ok(Lock { _file: file });
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Sets a file's permission bits.
pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// Flushes a directory's entries (a rename in it) to disk.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_prints_and_parses_back() {
        // The SHA-256 of "abc", from FIPS 180-2.
        let abc = Sha256::of_bytes(b"abc");
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(abc.to_string(), hex);
        assert_eq!(Sha256::parse(hex), Ok(abc));
        assert_eq!(Sha256::parse(&format!("sha256:{hex}")), Ok(abc));
        assert_eq!(Sha256::of_reader(&b"abc"[..]).expect("read"), abc);
        for bad in [
            "",
            "sha256:",
            &hex[1..],
            &format!("{}g", &hex[1..]),
            "md5:00",
        ] {
            assert!(Sha256::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_manifest_is_written_and_read_back_and_entries_replace() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(Manifest::read(dir.path()).expect("none").plugins.is_empty());
        let entry = |file: &str, bytes: &[u8]| Entry {
            file: file.into(),
            module: file
                .trim_start_matches("lib")
                .trim_end_matches(".so")
                .into(),
            sha256: Sha256::of_bytes(bytes),
            source: SourceKind::File,
            from: "/x".into(),
            features: Vec::new(),
        };
        let mut manifest = Manifest::read(dir.path()).expect("none");
        manifest.record(entry("libb.so", b"1"));
        manifest.record(entry("liba.so", b"2"));
        manifest.record(entry("libb.so", b"3"));
        manifest.write(dir.path()).expect("write");
        let read = Manifest::read(dir.path()).expect("read");
        assert_eq!(read, manifest);
        assert_eq!(read.plugins.len(), 2);
        assert_eq!(read.entry("libb.so"), Some(&entry("libb.so", b"3")));
        assert_eq!(read.entry_of_module("a"), Some(&entry("liba.so", b"2")));

        fs::write(dir.path().join("libb.so"), b"3").expect("write");
        assert_eq!(
            check(&entry("libb.so", b"3"), &dir.path().join("libb.so")),
            Ok(())
        );
        let changed = check(&entry("libb.so", b"4"), &dir.path().join("libb.so"));
        assert!(changed.is_err_and(|e| e.contains("bytes changed")));

        fs::write(Manifest::path_in(dir.path()), "{ not json").expect("write");
        assert!(matches!(
            Manifest::read(dir.path()),
            Err(ManifestError::Damaged { .. })
        ));
    }
}
