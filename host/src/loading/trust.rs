//! Whether a plugin file may be trusted by where it lies: loading a plugin
//! runs its code as the user, so anyone who can write the file, its
//! directory or a directory above could run code as the user too.
//!
//! A file or plugin directory is refused when it is writable by its group
//! or by others, or owned by another user than the one running wildhost
//! (root's are fine). The directories above it are held to the same rules,
//! except that a directory with the sticky bit (like `/tmp`) may be
//! writable by others: they cannot rename or replace what is not theirs.
//! Paths are checked with their links resolved.

use super::plugin_file::PluginFile;
use std::fs::Metadata;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

const GROUP_WRITE: u32 = 0o020;
const OTHER_WRITE: u32 = 0o002;
const STICKY: u32 = 0o1000;

/// The help line of every permission refusal.
pub const HELP: &str = "anyone who can write there can run code as you through wildhost: \
     remove their write access (`chmod go-w PATH`), or pass --allow-unsafe-permissions to \
     load it anyway";

/// Checks a plugin file (links resolved) and every directory above it.
pub fn check_file(real: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(real).map_err(|e| format!("cannot read the file: {e}"))?;
    check_one(&meta, "the file")?;
    match real.parent() {
        Some(parent) => check_ancestors(parent),
        None => Ok(()),
    }
}

/// Checks an open plugin file by what `fstat` says of it, and every
/// directory above the path it was opened by: the verdict holds for the
/// file that is then read and loaded, even if its path names another since.
pub fn check_opened(file: &PluginFile) -> Result<(), String> {
    check_one(file.metadata(), "the file")?;
    match file.path().parent() {
        Some(parent) => check_ancestors(parent),
        None => Ok(()),
    }
}

/// Checks a plugin directory (links resolved) and every directory above it.
pub fn check_dir(real: &Path) -> Result<(), String> {
    check_dir_named(real, "the plugin directory")
}

/// [`check_dir`] of a directory the causes call `what`.
pub(super) fn check_dir_named(real: &Path, what: &str) -> Result<(), String> {
    let meta = std::fs::metadata(real).map_err(|e| format!("cannot read the directory: {e}"))?;
    check_one(&meta, what)?;
    match real.parent() {
        Some(parent) => check_ancestors(parent),
        None => Ok(()),
    }
}

fn check_ancestors(dir: &Path) -> Result<(), String> {
    for ancestor in dir.ancestors() {
        let meta = std::fs::metadata(ancestor)
            .map_err(|e| format!("cannot read `{}`: {e}", ancestor.display()))?;
        let mode = meta.permissions().mode();
        if mode & STICKY != 0 && owner_is_trusted(&meta) {
            continue;
        }
        check_one(
            &meta,
            &format!("the directory `{}` above it", ancestor.display()),
        )?;
    }
    Ok(())
}

pub(super) fn check_one(meta: &Metadata, what: &str) -> Result<(), String> {
    let mode = meta.permissions().mode();
    if mode & OTHER_WRITE != 0 {
        return Err(format!(
            "{what} is writable by every user (mode {:04o})",
            mode & 0o7777
        ));
    }
    if mode & GROUP_WRITE != 0 {
        return Err(format!(
            "{what} is writable by its group (gid {}, mode {:04o})",
            meta.gid(),
            mode & 0o7777
        ));
    }
    if !owner_is_trusted(meta) {
        return Err(format!(
            "{what} is owned by another user (uid {})",
            meta.uid()
        ));
    }
    Ok(())
}

fn owner_is_trusted(meta: &Metadata) -> bool {
    let uid = meta.uid();
    uid == 0 || uid == effective_uid()
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn private_files_in_private_directories_pass() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("libx.so");
        fs::write(&file, b"x").expect("write");
        chmod(&file, 0o644);
        assert_eq!(check_file(&file), Ok(()));
        assert_eq!(check_dir(dir.path()), Ok(()));
    }

    #[test]
    fn writable_files_and_directories_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("libx.so");
        fs::write(&file, b"x").expect("write");
        chmod(&file, 0o666);
        assert_eq!(
            check_file(&file),
            Err("the file is writable by every user (mode 0666)".into())
        );
        chmod(&file, 0o664);
        assert!(
            check_file(&file)
                .expect_err("group-writable")
                .contains("writable by its group")
        );
        chmod(&file, 0o644);
        chmod(dir.path(), 0o777);
        let err = check_file(&file).expect_err("directory writable by all");
        assert!(
            err.contains("above it is writable by every user (mode 0777)"),
            "{err}"
        );
        assert!(
            check_dir(dir.path())
                .expect_err("plugin dir")
                .starts_with("the plugin directory")
        );
        // The sticky bit protects what lies below a shared directory.
        chmod(dir.path(), 0o1777);
        assert_eq!(check_file(&file), Ok(()));
        chmod(dir.path(), 0o700);
    }

    /// The verdict is on the open file: a file put in its place since (by
    /// whoever could) does not change it, and the file opened is the one
    /// that is read and loaded.
    #[test]
    fn an_open_file_is_judged_by_fstat() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("libx.so");
        fs::write(&file, b"x").expect("write");
        chmod(&file, 0o666);
        let opened = PluginFile::open(&file).expect("opens");
        let private = dir.path().join("private");
        fs::write(&private, b"y").expect("write");
        chmod(&private, 0o644);
        fs::rename(&private, &file).expect("replace");
        assert_eq!(check_file(&file), Ok(()));
        assert_eq!(
            check_opened(&opened),
            Err("the file is writable by every user (mode 0666)".into())
        );
    }

    mod needs_root {
        use super::*;

        /// Only root can give a file away; `.ci/run`, which runs as root,
        /// runs this with `--ignored needs_root::`.
        #[test]
        #[ignore = "needs root: only root can give a file to another user"]
        fn another_users_file_is_refused() {
            let dir = tempfile::tempdir().expect("tempdir");
            let file = dir.path().join("libx.so");
            fs::write(&file, b"x").expect("write");
            std::os::unix::fs::chown(&file, Some(4242), None)
                .expect("this test needs root to give a file to another user");
            assert_eq!(
                check_file(&file),
                Err("the file is owned by another user (uid 4242)".into())
            );
        }
    }
}
