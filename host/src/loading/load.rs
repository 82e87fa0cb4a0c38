//! Loading one plugin file into this process: preflight, open, compare the
//! type layout, call the entry point, validate the module definition it
//! returns, and run `init`. Each file is loaded at most once per process
//! and never unloaded.

use super::plugin_file::PluginFile;
use super::preflight::{self, PreflightReport};
use super::validate::{self, ModuleDefinition};
use super::{layout, loader};
use crate::error::{MESSAGE_CAP, Refusal, Stage, plugin_message};
use crate::message::with_buffer;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use wildhost_abi::{ABI_MINOR, LAYOUT_PREFIX, status};

/// Whether a module can run on this machine, as its `init` said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "kebab-case")]
pub enum Availability {
    /// Ready to sort.
    Available,
    /// `init` said it cannot run here, and why.
    Unavailable(String),
}

impl Availability {
    /// Why the module cannot run here; `None` when it can.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Availability::Available => None,
            Availability::Unavailable(reason) => Some(reason),
        }
    }
}

/// How the contract's type layout was checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayoutCheck {
    /// abi_stable compared the plugin's layout with the host's: equal.
    Matched,
    /// The plugin exports no layout (C plugins): checked by magic, version and size.
    NotExported,
    /// The plugin was built for an older minor of the ABI, whose layout is
    /// not this host's by design (a later minor appended fields): checked by
    /// magic, version and size, as a C plugin.
    OlderMinor,
}

/// Where a module's code comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModuleOrigin {
    /// A plugin file on the search path, opened with `dlopen`.
    File,
    /// Linked into the process and registered by its entry point
    /// ([`super::builtin`]); its path reads [`super::builtin::BUILT_IN_PATH`].
    BuiltIn,
}

impl ModuleOrigin {
    /// Whether the module was loaded from a file.
    pub fn is_file(&self) -> bool {
        *self == ModuleOrigin::File
    }

    /// `file` or `built-in`, as listings name it.
    pub fn name(self) -> &'static str {
        match self {
            ModuleOrigin::File => "file",
            ModuleOrigin::BuiltIn => "built-in",
        }
    }
}

/// A plugin file loaded into this process, or a built-in module: its
/// validated module definition and what the layout check and `init` said.
#[derive(Debug)]
pub struct LoadedFile {
    /// The path the file was first loaded by, as found on the search path;
    /// [`super::builtin::BUILT_IN_PATH`] for a built-in module.
    pub path: PathBuf,
    /// A file, or built in.
    pub origin: ModuleOrigin,
    /// The validated module definition.
    pub definition: ModuleDefinition,
    /// What `init` said.
    pub availability: Availability,
    /// How the type layout was checked.
    pub layout: LayoutCheck,
}

/// A plugin file opened once, and what preflight said of it: the file the
/// scanner's verdict is compared with and the one that is loaded.
#[derive(Debug)]
pub(crate) struct Checked {
    /// The open file.
    pub file: PluginFile,
    /// What preflight read in it.
    pub report: PreflightReport,
}

impl Checked {
    /// Preflight of the open `file`.
    pub(crate) fn new(file: PluginFile) -> Result<Checked, Refusal> {
        let report = preflight::preflight_opened(&file)?;
        Ok(Checked { file, report })
    }
}

type LoadedFiles = Mutex<HashMap<(u64, u64), Result<Arc<LoadedFile>, Refusal>>>;

/// Every file this process tried to load, by device and inode (as the
/// dynamic loader tells files apart): a file is opened, and its entry point
/// and `init` called, at most once per process, whatever path names it.
fn loaded_files() -> &'static LoadedFiles {
    static LOADED: OnceLock<LoadedFiles> = OnceLock::new();
    LOADED.get_or_init(Default::default)
}

/// Whether this process already loaded (or refused) the file.
pub(crate) fn already_loaded(file: &PluginFile) -> bool {
    let loaded = loaded_files().lock().unwrap_or_else(|e| e.into_inner());
    loaded.contains_key(&file.id().inode())
}

/// Loads one file in this process, for the scanner child: whether it loads.
pub(crate) fn probe(file: PluginFile) -> Result<(), Refusal> {
    let shown = file.path().to_path_buf();
    load_cached(&Checked::new(file)?, &shown).map(|_| ())
}

/// Loads the checked file unless this process already tried. `shown_path`
/// is the path the user knows it by.
pub(crate) fn load_cached(
    checked: &Checked,
    shown_path: &Path,
) -> Result<Arc<LoadedFile>, Refusal> {
    // A panic while holding the lock cannot leave the map inconsistent
    // (entries are inserted whole), so a poisoned lock is still usable.
    let mut loaded = loaded_files().lock().unwrap_or_else(|e| e.into_inner());
    let key = checked.file.id().inode();
    if let Some(result) = loaded.get(&key) {
        return result.clone();
    }
    let result = load(checked, shown_path).map(Arc::new);
    loaded.insert(key, result.clone());
    result
}

/// Opens the checked file, checks the layout, validates, and runs `init`.
fn load(checked: &Checked, shown_path: &Path) -> Result<LoadedFile, Refusal> {
    let report = &checked.report;
    let layout_symbol = format!("{LAYOUT_PREFIX}{}", report.module);
    // SAFETY: the file passed preflight; its entry point is called once
    // below, under the loaded-files lock, from this thread only.
    let opened = unsafe { loader::open(&checked.file, &report.entry_symbol, &layout_symbol) }?;
    // The layout is compared before the entry point runs: validation reads
    // the definition with the host's layout, which must first be the plugin's.
    let layout = match opened.layout {
        // Its layout lacks the fields later minors appended: comparing it
        // with this host's would refuse a plugin the ABI promises to load.
        Some(_) if report.tag().abi_minor < ABI_MINOR => LayoutCheck::OlderMinor,
        Some(pointer) => {
            // SAFETY: the pointer held by the `WildLayout_<module>` static of
            // a never-unloaded library that passed preflight, and it points
            // inside that library's image (checked by the loader).
            unsafe { layout::check(pointer) }.map_err(|diff| {
                Refusal::new(
                    Stage::Layout,
                    format!("built against a different wildhost-abi: {diff}"),
                    "rebuild the plugin against the wildhost-abi crate this host was built with",
                )
            })?;
            LayoutCheck::Matched
        }
        None => LayoutCheck::NotExported,
    };
    // SAFETY: the ABI's entry point: no arguments, returns a pointer the
    // validator checks before anything reads through it.
    let def_ptr = unsafe { (opened.entry)() };
    // SAFETY: `def_ptr` came from the entry point of a never-unloaded library.
    let definition = unsafe { validate::validate(def_ptr, &report.module, &report.tag()) }?;
    let availability = run_init(&definition);
    Ok(LoadedFile {
        path: shown_path.to_path_buf(),
        origin: ModuleOrigin::File,
        definition,
        availability,
        layout,
    })
}

/// Runs the module's `init`, if it has one: what it says of this machine.
/// Called once per module and process, before any sort (the callers'
/// caches see to it).
pub(super) fn run_init(def: &ModuleDefinition) -> Availability {
    let Some(init) = def.init else {
        return Availability::Available;
    };
    // The same guarded buffer a sort gets: an `init` that ignores the
    // capacity writes into its own mapping, never into wildhost's memory.
    with_buffer(|reason| {
        // SAFETY: `init` comes from a validated definition of a loaded
        // library; it is called once per process (the loaded-files cache),
        // before any sort, with a buffer of more than `MESSAGE_CAP`
        // writable bytes, all zeros.
        let code = unsafe { init(reason.as_mut_ptr().cast(), MESSAGE_CAP) };
        let past = reason.written_past(MESSAGE_CAP);
        let text = plugin_message(reason.message(MESSAGE_CAP));
        reason.clear();
        if past > 0 {
            return Availability::Unavailable(format!(
                "its init wrote {past} bytes past its message capacity of {MESSAGE_CAP} bytes"
            ));
        }
        match code {
            status::OK => Availability::Available,
            status::UNAVAILABLE => Availability::Unavailable(text),
            other => Availability::Unavailable(format!(
                "init failed with status {other} ({}): {text}",
                status::name(other),
            )),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What is loaded is the file that was opened and checked: a file put
    /// in its place between the check and the load (one preflight would
    /// refuse) is never opened, and the checked one loads.
    #[test]
    fn the_file_checked_is_the_file_loaded_when_its_path_is_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = preflight::tests::compiled_plugin(dir.path());
        let checked = Checked::new(PluginFile::open(&path).expect("opens")).expect("passes");
        let swapped = dir.path().join("swapped");
        std::fs::write(&swapped, b"#!/bin/sh\necho not a library\n").expect("write");
        std::fs::rename(&swapped, &path).expect("replace the plugin");
        assert!(
            preflight::preflight(&path).is_err(),
            "preflight refuses what is there now"
        );
        let loaded = load_cached(&checked, &path).expect("the checked file loads");
        assert_eq!(loaded.definition.name, preflight::tests::MODULE);
        assert_eq!(loaded.path, path);
        assert_eq!(loaded.layout, LayoutCheck::NotExported);
    }
}
