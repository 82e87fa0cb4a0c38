//! Loading one plugin file into this process: preflight, open, compare the
//! type layout, call the entry point, validate the module definition it
//! returns, and run `init`. Each file is loaded at most once per process
//! and never unloaded.

use super::file_id::FileId;
use super::preflight::{self, PreflightReport};
use super::validate::{self, ModuleDefinition};
use super::{layout, loader};
use crate::error::{MESSAGE_CAP, Refusal, Stage, plugin_message};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use wildhost_abi::{LAYOUT_PREFIX, status};

/// Whether a module can run on this machine, as its `init` said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "kebab-case")]
pub enum Availability {
    /// Ready to sort.
    Available,
    /// `init` said it cannot run here, and why.
    Unavailable(String),
}

/// How the contract's type layout was checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayoutCheck {
    /// abi_stable compared the plugin's layout with the host's: equal.
    Matched,
    /// The plugin exports no layout (C plugins): checked by magic, version and size.
    NotExported,
}

/// A plugin file loaded into this process: its validated module definition
/// and what the layout check and `init` said.
#[derive(Debug)]
pub struct LoadedFile {
    /// The path the file was first loaded by, as found on the search path.
    pub path: PathBuf,
    /// The validated module definition.
    pub definition: ModuleDefinition,
    /// What `init` said.
    pub availability: Availability,
    /// How the type layout was checked.
    pub layout: LayoutCheck,
}

type LoadedFiles = Mutex<HashMap<PathBuf, Result<Arc<LoadedFile>, Refusal>>>;

/// Every file this process tried to load, by resolved path: a file is
/// opened, and its entry point and `init` called, at most once per process.
fn loaded_files() -> &'static LoadedFiles {
    static LOADED: OnceLock<LoadedFiles> = OnceLock::new();
    LOADED.get_or_init(Default::default)
}

/// Whether this process already loaded (or refused) the file.
pub(crate) fn already_loaded(real_path: &Path) -> bool {
    let loaded = loaded_files().lock().unwrap_or_else(|e| e.into_inner());
    loaded.contains_key(real_path)
}

/// Loads one file in this process, for the scanner child: whether it loads.
pub(crate) fn probe(real_path: &Path) -> Result<(), Refusal> {
    load_cached(real_path, real_path, None).map(|_| ())
}

/// What [`preflight::preflight`] said of a file, and the file as it was
/// just before (None if it could not be told).
pub(crate) type Preflighted = (Option<FileId>, Result<PreflightReport, Refusal>);

/// Preflight of `path`, with the file's identity as it was just before.
pub(crate) fn checked(path: &Path) -> Preflighted {
    (FileId::of(path), preflight::preflight(path))
}

/// Loads `real_path` unless this process already tried. `preflighted` is
/// what preflight said of the file earlier in this discovery, if it ran.
pub(crate) fn load_cached(
    real_path: &Path,
    shown_path: &Path,
    preflighted: Option<Preflighted>,
) -> Result<Arc<LoadedFile>, Refusal> {
    // A panic while holding the lock cannot leave the map inconsistent
    // (entries are inserted whole), so a poisoned lock is still usable.
    let mut loaded = loaded_files().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(result) = loaded.get(real_path) {
        return result.clone();
    }
    let result = load(real_path, shown_path, preflighted).map(Arc::new);
    loaded.insert(real_path.to_path_buf(), result.clone());
    result
}

/// Preflight (unless `preflighted` says how it went), open, check the
/// layout, validate, and run `init`.
fn load(
    real_path: &Path,
    shown_path: &Path,
    preflighted: Option<Preflighted>,
) -> Result<LoadedFile, Refusal> {
    let report = match preflighted {
        // What preflight said earlier stands while the file is the one it
        // read: one replaced since (during the scan, say) is checked again.
        Some((Some(then), said)) if FileId::of(real_path).as_ref() == Some(&then) => said?,
        _ => preflight::preflight(real_path)?,
    };
    let layout_symbol = format!("{LAYOUT_PREFIX}{}", report.module);
    // SAFETY: the file passed preflight; its entry point is called once
    // below, under the loaded-files lock, from this thread only.
    let opened = unsafe { loader::open(real_path, &report.entry_symbol, &layout_symbol) }?;
    // The layout is compared before the entry point runs: validation reads
    // the definition with the host's layout, which must first be the plugin's.
    let layout = match opened.layout {
        Some(symbol) => {
            // SAFETY: the symbol is the SDK's `WildLayout_<module>` static in a
            // never-unloaded library that passed preflight.
            unsafe { layout::check(symbol) }.map_err(|diff| {
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
        definition,
        availability,
        layout,
    })
}

fn run_init(def: &ModuleDefinition) -> Availability {
    let Some(init) = def.init else {
        return Availability::Available;
    };
    let mut reason = [0u8; MESSAGE_CAP];
    // SAFETY: `init` comes from a validated definition of a loaded library;
    // it is called once per process (the loaded-files cache), before any
    // sort, with a buffer of `MESSAGE_CAP` writable bytes.
    let code = unsafe { init(reason.as_mut_ptr().cast(), MESSAGE_CAP) };
    match code {
        status::OK => Availability::Available,
        status::UNAVAILABLE => Availability::Unavailable(plugin_message(&reason)),
        other => Availability::Unavailable(format!(
            "init failed with status {other} ({}): {}",
            status::name(other),
            plugin_message(&reason)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A preflight verdict from earlier in a discovery is used only for the
    /// file it read: a file replaced since is checked again before it is
    /// opened, and refused if it is no plugin now.
    #[test]
    fn a_file_replaced_after_its_preflight_is_checked_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("libreplaced.so");
        std::fs::write(&path, b"#!/bin/sh\necho not a library\n").expect("write");
        let passed = PreflightReport {
            format: "ELF",
            architecture: std::env::consts::ARCH.into(),
            bits: 64,
            size: 1,
            module: "replaced".into(),
            entry_symbol: "WildInit_replaced".into(),
            abi_major: wildhost_abi::ABI_MAJOR,
            abi_minor: wildhost_abi::ABI_MINOR,
            module_size: 0,
            has_layout: false,
            dependencies: Default::default(),
        };
        let before = FileId {
            size: 1,
            mtime_ns: 0,
            ctime_ns: 0,
            inode: 0,
            device: 0,
        };
        assert_ne!(FileId::of(&path).as_ref(), Some(&before));
        let Err(refusal) = load(&path, &path, Some((Some(before), Ok(passed)))) else {
            panic!("a replaced file was loaded on its old verdict");
        };
        assert_eq!(refusal.stage, Stage::Preflight, "{refusal:?}");
        assert!(
            refusal.cause.contains("not a shared library"),
            "{refusal:?}"
        );
    }
}
