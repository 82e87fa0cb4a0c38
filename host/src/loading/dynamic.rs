//! What a plugin file asks of the dynamic loader: the libraries it needs
//! (`DT_NEEDED`) and where the loader looks for them (`DT_RUNPATH`,
//! `DT_RPATH`), read from the ELF dynamic section without running anything.
//!
//! `dlopen` loads those libraries too, and runs their constructors, so a
//! search path that reaches a directory someone else controls would let
//! them run code in wildhost, past every check of the plugin file itself.
//! An empty or relative search-path entry is read by the loader from the
//! current directory, which wildhost otherwise never searches: both are
//! refused, and the directories that remain (with `$ORIGIN` resolved) are
//! held to the same trust rules as plugin directories.

use super::trust;
use object::elf;
use object::read::ReadRef;
use object::read::elf::{Dyn, ElfFile, FileHeader, ProgramHeader};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The libraries a plugin needs, and where the loader will look for them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Dependencies {
    /// `DT_NEEDED`, in order: library names (`libc.so.6`) or paths.
    pub needed: Vec<String>,
    /// The entries of `DT_RPATH` and `DT_RUNPATH`, in order, as written.
    pub search_path: Vec<String>,
}

/// The dependencies an object file declares; none for formats other than
/// ELF. The error is the cause of a refusal.
pub(super) fn read<'data, R: ReadRef<'data>>(
    file: &object::File<'data, R>,
    data: R,
) -> Result<Dependencies, String> {
    match file {
        object::File::Elf64(elf) => read_elf(elf, data),
        object::File::Elf32(elf) => read_elf(elf, data),
        _ => Ok(Dependencies::default()),
    }
}

fn read_elf<'data, Elf, R>(file: &ElfFile<'data, Elf, R>, data: R) -> Result<Dependencies, String>
where
    Elf: FileHeader<Endian = object::Endianness>,
    R: ReadRef<'data>,
{
    let endian = file.endian();
    let sections = file.elf_section_table();
    let dynamic = sections
        .dynamic(endian, data)
        .map_err(|e| format!("its dynamic section cannot be read: {e}"))?;
    let Some((entries, strings_index)) = dynamic else {
        // The loader reads the segment; a file that hides it from the
        // section headers hides what it asks of the loader.
        if file
            .elf_program_headers()
            .iter()
            .any(|p| p.p_type(endian) == elf::PT_DYNAMIC)
        {
            return Err("its dynamic segment is not described by a section header".into());
        }
        return Ok(Dependencies::default());
    };
    let strings = sections
        .strings(endian, data, strings_index)
        .map_err(|e| format!("the strings of its dynamic section cannot be read: {e}"))?;
    let mut deps = Dependencies::default();
    for entry in entries {
        let tag = entry.tag32(endian);
        if tag == Some(elf::DT_NULL) {
            break;
        }
        let Some(tag @ (elf::DT_NEEDED | elf::DT_RPATH | elf::DT_RUNPATH)) = tag else {
            continue;
        };
        let offset: u64 = entry.d_val(endian).into();
        let text = u32::try_from(offset)
            .ok()
            .and_then(|offset| strings.get(offset).ok())
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .filter(|text| !text.chars().any(char::is_control))
            .ok_or("an entry of its dynamic section is not a readable name")?;
        if tag == elf::DT_NEEDED {
            deps.needed.push(text.to_string());
        } else {
            deps.search_path.extend(text.split(':').map(str::to_string));
        }
    }
    Ok(deps)
}

/// The help of every refusal here.
pub(super) const HELP: &str = "relink the plugin with absolute or $ORIGIN-relative library \
                               directories that only their owner can write (e.g. \
                               -Wl,-rpath,'$ORIGIN'), or none";

/// The rules that need no file system: no empty or relative search-path
/// entry, no loader token but `$ORIGIN` at the start, no needed library by
/// a relative path.
pub(super) fn check_entries(deps: &Dependencies) -> Result<(), String> {
    for entry in &deps.search_path {
        if entry.is_empty() {
            return Err(
                "its library search path has an empty entry, which the loader \
                        reads as the current directory"
                    .into(),
            );
        }
        let rest = strip_origin(entry).unwrap_or(entry);
        if rest.contains('$') {
            return Err(format!(
                "its library search path has `{entry}`: wildhost resolves only a leading \
                 $ORIGIN"
            ));
        }
        if strip_origin(entry).is_none() && !entry.starts_with('/') {
            return Err(format!(
                "its library search path has the relative entry `{entry}`, which the loader \
                 reads from the current directory"
            ));
        }
    }
    if let Some(name) = deps
        .needed
        .iter()
        .find(|n| n.contains('/') && !n.starts_with('/'))
    {
        return Err(format!(
            "it needs `{name}` by a relative path, which the loader reads from the current \
             directory"
        ));
    }
    Ok(())
}

/// `$ORIGIN/lib` → `Some("/lib")`; `None` when the entry does not start
/// with the `$ORIGIN` token.
fn strip_origin(entry: &str) -> Option<&str> {
    ["${ORIGIN}", "$ORIGIN"]
        .iter()
        .find_map(|token| entry.strip_prefix(token))
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The trust rules for every directory the loader will search for the
/// plugin's libraries, with `$ORIGIN` as the directory of `plugin` (links
/// resolved), and for every library it needs by an absolute path.
/// [`check_entries`] passed.
pub(super) fn check_places(deps: &Dependencies, plugin: &Path) -> Result<(), String> {
    let origin = plugin
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    for entry in &deps.search_path {
        let dir = match (strip_origin(entry), &origin) {
            (Some(rest), Some(origin)) => origin.join(rest.trim_start_matches('/')),
            (Some(_), None) => continue,
            (None, _) => PathBuf::from(entry),
        };
        // A directory that does not exist yet can be made by whoever can
        // write the nearest one above it.
        let existing = dir.ancestors().find_map(|d| d.canonicalize().ok());
        if let Some(real) = existing {
            trust::check_dir_named(&real, "that directory")
                .map_err(|why| format!("its library search path has `{entry}`, and {why}"))?;
        }
    }
    for name in deps.needed.iter().filter(|n| n.starts_with('/')) {
        if let Ok(real) = Path::new(name).canonicalize() {
            trust::check_file(&real).map_err(|why| format!("it needs `{name}`, and {why}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(search_path: &[&str], needed: &[&str]) -> Dependencies {
        Dependencies {
            needed: needed.iter().map(|s| s.to_string()).collect(),
            search_path: search_path.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn empty_relative_and_unknown_entries_are_refused() {
        assert_eq!(
            check_entries(&deps(&["/usr/lib", "$ORIGIN", "${ORIGIN}/lib"], &[])),
            Ok(())
        );
        let refused = |search: &[&str], needed: &[&str]| {
            check_entries(&deps(search, needed)).expect_err("refused")
        };
        assert!(refused(&[""], &[]).contains("an empty entry"));
        assert!(refused(&["."], &[]).contains("the relative entry `.`"));
        assert!(refused(&["lib"], &[]).contains("the relative entry `lib`"));
        assert!(refused(&["$ORIGINAL"], &[]).contains("resolves only a leading $ORIGIN"));
        assert!(refused(&["/opt/$LIB"], &[]).contains("resolves only a leading $ORIGIN"));
        assert!(refused(&[], &["./libdep.so"]).contains("needs `./libdep.so` by a relative path"));
        assert_eq!(
            check_entries(&deps(&[], &["libc.so.6", "/usr/lib/libm.so.6"])),
            Ok(())
        );
    }
}
