//! The archive `wildhost pack` writes and `wildhost install` reads: a tar
//! file compressed with gzip (readable with `tar xzf`, no wildhost needed)
//! holding
//!
//! - `wildhost-plugin.json`, the [`Metadata`]: the module, the binary's
//!   platform tag and SHA-256, how its source builds and with what
//!   features;
//! - the binary, `lib<module>.so`, built for the machine of the tag;
//! - `source/`, the plugin project it was built from.
//!
//! An archive comes from anyone: reading one refuses, before writing
//! anything outside a fresh directory, a member with an absolute path or
//! `..`, a link or a device, a member larger than [`MAX_MEMBER_BYTES`],
//! more than [`MAX_TOTAL_BYTES`] in all or more than [`MAX_MEMBERS`]
//! members, and a member named twice.

use crate::loading::manifest::Sha256;
use crate::loading::preflight::is_valid_module_name;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

/// The metadata member's name.
pub const METADATA: &str = "wildhost-plugin.json";
/// The folder of the source.
pub const SOURCE_DIR: &str = "source";
/// The largest member.
pub const MAX_MEMBER_BYTES: u64 = 256 << 20;
/// The most bytes of all members together.
pub const MAX_TOTAL_BYTES: u64 = 1 << 30;
/// The most members.
pub const MAX_MEMBERS: usize = 10_000;
/// The archive format this host writes and reads.
const FORMAT: u32 = 1;

/// What an archive says of itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The format, 1.
    pub format: u32,
    /// The module.
    pub module: String,
    /// The binary's member name, `lib<module>.so`.
    pub file: String,
    /// Where the binary runs, as [`super::tag::Tag`] writes it.
    pub tag: String,
    /// The binary's digest.
    pub sha256: Sha256,
    /// How `source/` builds: `cargo` or `make`.
    pub build: String,
    /// The features the binary was built with, and the source builds with
    /// unless others are asked for.
    pub features: Vec<String>,
}

impl Metadata {
    /// A new archive's metadata.
    pub fn new(
        module: &str,
        tag: String,
        sha256: Sha256,
        build: &str,
        features: Vec<String>,
    ) -> Metadata {
        Metadata {
            format: FORMAT,
            module: module.to_string(),
            file: plugin_file_name(module),
            tag,
            sha256,
            build: build.to_string(),
            features,
        }
    }
}

/// `lib<module>.so` on this platform.
pub fn plugin_file_name(module: &str) -> String {
    format!(
        "{}{module}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// Writes the archive `out` (replacing it atomically): the metadata, the
/// binary, and the files `sources` (relative paths under `source_root`)
/// under `source/`.
pub fn pack(
    out: &Path,
    metadata: &Metadata,
    binary: &Path,
    source_root: &Path,
    sources: &[PathBuf],
) -> io::Result<()> {
    let dir = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let temp = tempfile::Builder::new()
        .prefix(".wildhost-pack-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    let gz = flate2::write::GzEncoder::new(temp.as_file(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    let mut json = serde_json::to_vec_pretty(metadata).map_err(io::Error::other)?;
    json.push(b'\n');
    append(&mut tar, METADATA, 0o644, &mut &json[..], json.len() as u64)?;
    append_file(&mut tar, &metadata.file, binary)?;
    for relative in sources {
        let name = Path::new(SOURCE_DIR).join(relative);
        let name = name
            .to_str()
            .ok_or_else(|| io::Error::other(format!("`{}` is not UTF-8", relative.display())))?;
        append_file(&mut tar, name, &source_root.join(relative))?;
    }
    tar.into_inner()?.finish()?;
    temp.as_file().sync_all()?;
    crate::loading::manifest::set_mode(temp.path(), 0o644)?;
    temp.persist(out).map_err(|e| e.error)?;
    Ok(())
}

fn append_file<W: Write>(tar: &mut tar::Builder<W>, name: &str, path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let file = File::open(path)?;
    let meta = file.metadata()?;
    let mode = if meta.permissions().mode() & 0o100 != 0 {
        0o755
    } else {
        0o644
    };
    append(tar, name, mode, &mut BufReader::new(file), meta.len())
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    mode: u32,
    data: &mut dyn Read,
    len: u64,
) -> io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(len);
    header.set_mode(mode);
    header.set_mtime(0);
    tar.append_data(&mut header, name, data.take(len))
}

/// Why an archive was refused.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// It could not be read.
    #[error("cannot read it: {0}")]
    Io(#[from] io::Error),
    /// It is not a wildhost archive, or a hostile one.
    #[error("{0}")]
    Refused(String),
}

/// Unpacks `archive` into the empty directory `into`, which only this
/// process writes, and returns its metadata. Nothing is written outside
/// `into`; on an error, what was written into it is left for the caller to
/// remove with the directory.
pub fn unpack(archive: &Path, into: &Path) -> Result<Metadata, ArchiveError> {
    let mut file = File::open(archive)?;
    let mut magic = [0u8; 2];
    let gzip = file.read(&mut magic)? == 2 && magic == [0x1f, 0x8b];
    unpack_from(BufReader::new(File::open(archive)?), gzip, into)
}

/// [`unpack`] of the bytes `reader` yields, gzip-compressed if `gzip`.
pub fn unpack_from(reader: impl Read, gzip: bool, into: &Path) -> Result<Metadata, ArchiveError> {
    let reader: Box<dyn Read> = if gzip {
        Box::new(flate2::read::GzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    let mut tar = tar::Archive::new(reader);
    let refuse = |why: String| ArchiveError::Refused(why);
    let mut total = 0u64;
    let mut count = 0usize;
    for entry in tar.entries()? {
        let mut entry = entry?;
        count += 1;
        if count > MAX_MEMBERS {
            return Err(refuse(format!("it has more than {MAX_MEMBERS} members")));
        }
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let relative = safe_path(&raw).map_err(refuse)?;
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            fs::create_dir_all(into.join(&relative))?;
            continue;
        }
        if !matches!(kind, tar::EntryType::Regular | tar::EntryType::Continuous) {
            return Err(refuse(format!(
                "the member `{raw}` is {}: a wildhost archive holds only files and directories",
                describe(kind)
            )));
        }
        let size = entry.header().size()?;
        if size > MAX_MEMBER_BYTES {
            return Err(refuse(format!(
                "the member `{raw}` is {size} bytes, more than the {MAX_MEMBER_BYTES} a member may have"
            )));
        }
        total += size;
        if total > MAX_TOTAL_BYTES {
            return Err(refuse(format!(
                "its members hold more than the {MAX_TOTAL_BYTES} bytes an archive may"
            )));
        }
        let top = relative.components().next();
        let expected_top =
            relative.components().count() == 1 || top.is_some_and(|c| c.as_os_str() == SOURCE_DIR);
        if !expected_top {
            return Err(refuse(format!(
                "the member `{raw}` is neither the metadata, the binary nor under `{SOURCE_DIR}/`"
            )));
        }
        let path = into.join(&relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let executable = entry.header().mode().is_ok_and(|m| m & 0o100 != 0);
        let mut out = match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if executable { 0o755 } else { 0o644 })
            .open(&path)
        {
            Ok(out) => out,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(refuse(format!("the member `{raw}` is named twice")));
            }
            Err(e) => return Err(e.into()),
        };
        let copied = io::copy(&mut (&mut entry).take(size), &mut out)?;
        if copied != size {
            return Err(refuse(format!("the member `{raw}` is cut short")));
        }
    }
    let metadata = fs::read(into.join(METADATA)).map_err(|e| {
        refuse(format!(
            "it has no readable `{METADATA}` ({e}): it was not written by `wildhost pack`"
        ))
    })?;
    let metadata: Metadata = serde_json::from_slice(&metadata)
        .map_err(|e| refuse(format!("its `{METADATA}` is damaged: {e}")))?;
    if metadata.format != FORMAT {
        return Err(refuse(format!(
            "its format is {} (this wildhost reads format {FORMAT})",
            metadata.format
        )));
    }
    if !is_valid_module_name(&metadata.module)
        || metadata.file != plugin_file_name(&metadata.module)
    {
        return Err(refuse(format!(
            "its `{METADATA}` names module `{}` and file `{}`, which do not go together",
            metadata.module, metadata.file
        )));
    }
    Ok(metadata)
}

/// A member's path, relative and free of `..`, or why it is refused.
fn safe_path(raw: &str) -> Result<PathBuf, String> {
    let mut out = PathBuf::new();
    for component in Path::new(raw).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(format!(
                    "the member `{raw}` climbs out of the archive's directory (`..`)"
                ));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!("the member `{raw}` has an absolute path"));
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(format!("the member `{raw}` has an empty path"));
    }
    Ok(out)
}

fn describe(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Symlink => "a symbolic link",
        tar::EntryType::Link => "a hard link",
        tar::EntryType::Char | tar::EntryType::Block => "a device",
        tar::EntryType::Fifo => "a named pipe",
        _ => "of a kind wildhost does not unpack",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata() -> Metadata {
        Metadata::new(
            "demo",
            "x86_64-linux-gnu-abi1.2".into(),
            Sha256::of_bytes(b"binary"),
            "make",
            vec!["fast".into()],
        )
    }

    #[test]
    fn a_packed_archive_unpacks_to_the_same_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("sub")).expect("mkdir");
        fs::write(src.join("Makefile"), b"all:\n").expect("write");
        fs::write(src.join("sub/a.c"), b"int a;\n").expect("write");
        let binary = dir.path().join("bin");
        fs::write(&binary, b"binary").expect("write");
        let out = dir.path().join("demo.tar.gz");
        let sources = [PathBuf::from("Makefile"), PathBuf::from("sub/a.c")];
        pack(&out, &metadata(), &binary, &src, &sources).expect("pack");
        let into = dir.path().join("into");
        fs::create_dir(&into).expect("mkdir");
        assert_eq!(unpack(&out, &into).expect("unpack"), metadata());
        assert_eq!(
            fs::read(into.join("libdemo.so")).expect("binary"),
            b"binary"
        );
        assert_eq!(
            fs::read(into.join("source/sub/a.c")).expect("a.c"),
            b"int a;\n"
        );
    }

    #[test]
    fn member_paths_that_leave_the_directory_are_refused() {
        assert_eq!(safe_path("./source/a.c"), Ok(PathBuf::from("source/a.c")));
        assert!(safe_path("../x").is_err_and(|e| e.contains("`..`")));
        assert!(safe_path("source/../../x").is_err_and(|e| e.contains("`..`")));
        assert!(safe_path("/etc/passwd").is_err_and(|e| e.contains("absolute")));
        assert!(safe_path(".").is_err());
    }
}
