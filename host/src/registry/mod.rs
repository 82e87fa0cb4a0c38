//! The registry: every plugin on the search path, loaded and validated, and
//! its backends by name, ready to sort.
//!
//! Discovery never fails as a whole: a file that cannot be used is recorded
//! with its reason and the others load. A module name's first file that
//! loads wins; files after it with the same module name are shadowed (never
//! opened), and so are backends whose name an earlier module already took.

mod backend;

pub use backend::{Backend, Module};

use crate::error::{Refusal, Stage};
use crate::loading::discover::{Candidate, SearchPath};
use crate::loading::load::{self, Checked, LoadedFile};
use crate::loading::plugin_file::PluginFile;
use crate::loading::scanner::Scanner;
use crate::loading::trust;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wildhost_abi::KeyType;

/// The backends preferred as the default for a key type, best first. The
/// default for a type is the first of these that is available and sorts it,
/// else the first available backend in search order that sorts it.
pub const DEFAULT_PREFERENCE: [&str; 3] = ["radix", "std", "wildsort"];

/// A plugin file that could not be used.
#[derive(Clone, Debug, Serialize)]
pub struct RefusedFile {
    /// The file or directory.
    pub path: PathBuf,
    /// Its module name, when the file name gives one.
    pub module: Option<String>,
    /// Why.
    pub refusal: Refusal,
}

/// A plugin file never opened because an earlier file holds the same module.
#[derive(Clone, Debug, Serialize)]
pub struct ShadowedFile {
    /// The file.
    pub path: PathBuf,
    /// The module name.
    pub module: String,
    /// The file that provides the module.
    pub by: PathBuf,
}

/// A backend hidden because an earlier module has one of the same name.
#[derive(Clone, Debug, Serialize)]
pub struct ShadowedBackend {
    /// The backend name.
    pub name: String,
    /// The module whose backend is hidden.
    pub module: String,
    /// The module that provides the name.
    pub by: String,
}

/// Every plugin found on a search path.
#[derive(Debug, Default)]
pub struct Registry {
    modules: Vec<Arc<Module>>,
    backends: Vec<Backend>,
    refused: Vec<RefusedFile>,
    shadowed: Vec<ShadowedFile>,
    shadowed_backends: Vec<ShadowedBackend>,
    /// The handles of shadowed backends, reachable as `module.name`.
    hidden: Vec<Backend>,
}

impl Registry {
    /// Finds, checks and loads every plugin on `path`, in this process.
    pub fn discover(path: &SearchPath) -> Registry {
        Registry::discover_inner(path, None)
    }

    /// [`Registry::discover`], but each plugin's code runs first in the
    /// child process of `scanner` (or its verdict comes from the scan
    /// cache): a plugin that crashes or hangs while loading is refused at
    /// [`Stage::Scan`] and never loaded into this process.
    pub fn discover_scanned(path: &SearchPath, scanner: &Scanner) -> Registry {
        Registry::discover_inner(path, Some(scanner))
    }

    fn discover_inner(path: &SearchPath, scanner: Option<&Scanner>) -> Registry {
        let listing = path.list();
        let allow_unsafe = path.allow_unsafe_permissions;
        // Each file is opened once, and that open file is what is checked,
        // scanned and loaded. With a scanner, every file is checked first:
        // files preflight refuses never reach the scanner, nothing of
        // theirs runs.
        let mut checked: HashMap<PathBuf, Result<Checked, Refusal>> = HashMap::new();
        let mut verdicts: HashMap<PathBuf, Result<(), Refusal>> = HashMap::new();
        if let Some(scanner) = scanner {
            for c in &listing.candidates {
                checked
                    .entry(c.real_path.clone())
                    .or_insert_with(|| open_checked(&c.real_path, allow_unsafe));
            }
            let mut to_scan: Vec<(&PathBuf, &Checked)> = Vec::new();
            for c in &listing.candidates {
                if let Some(Ok(file)) = checked.get(&c.real_path)
                    && !load::already_loaded(&file.file)
                    && !to_scan.iter().any(|(p, _)| **p == c.real_path)
                {
                    to_scan.push((&c.real_path, file));
                }
            }
            let files: Vec<&PluginFile> = to_scan.iter().map(|(_, c)| &c.file).collect();
            let results = scanner.verdicts(&files);
            verdicts.extend(to_scan.iter().map(|(p, _)| (*p).clone()).zip(results));
        }
        let mut registry = Registry::default();
        for problem in listing.problems {
            registry.refused.push(RefusedFile {
                path: problem.path,
                module: None,
                refusal: problem.refusal,
            });
        }
        let mut provided: HashMap<String, PathBuf> = HashMap::new();
        for Candidate {
            path,
            real_path,
            module,
            origin: _,
        } in listing.candidates
        {
            if let Some(by) = provided.get(&module) {
                registry.shadowed.push(ShadowedFile {
                    path,
                    module,
                    by: by.clone(),
                });
                continue;
            }
            // A file reached by two paths was checked once; its verdict
            // stands for both.
            let verdict = verdicts.get(&real_path).cloned().unwrap_or(Ok(()));
            let file = match checked.remove(&real_path) {
                Some(file) => file,
                None => open_checked(&real_path, allow_unsafe),
            };
            let loaded = verdict
                .and(file)
                .and_then(|file| load::load_cached(&file, &path));
            match loaded {
                Ok(loaded) => {
                    provided.insert(module, path);
                    registry.add(&loaded);
                }
                Err(refusal) => registry.refused.push(RefusedFile {
                    path,
                    module: Some(module),
                    refusal,
                }),
            }
        }
        registry
    }

    /// [`Registry::discover`] on the standard search path with no extra
    /// directories.
    pub fn discover_standard() -> Registry {
        Registry::discover(&SearchPath::standard([]))
    }

    fn add(&mut self, loaded: &LoadedFile) {
        let module = Arc::new(Module::of(loaded));
        self.modules.push(module.clone());
        for method in &loaded.definition.methods {
            let backend = Backend::new(&module, method);
            match self.backends.iter().find(|b| b.name() == method.name) {
                Some(owner) => {
                    self.shadowed_backends.push(ShadowedBackend {
                        name: method.name.clone(),
                        module: module.name.clone(),
                        by: owner.module().name.clone(),
                    });
                    self.hidden.push(backend);
                }
                None => self.backends.push(backend),
            }
        }
    }

    /// Every backend, in search order.
    pub fn backends(&self) -> &[Backend] {
        &self.backends
    }
    /// Every loaded module, in search order.
    pub fn modules(&self) -> &[Arc<Module>] {
        &self.modules
    }
    /// Files and directories that could not be used.
    pub fn refused(&self) -> &[RefusedFile] {
        &self.refused
    }
    /// Files hidden by an earlier file of the same module.
    pub fn shadowed(&self) -> &[ShadowedFile] {
        &self.shadowed
    }
    /// Backends hidden by an earlier backend of the same name.
    pub fn shadowed_backends(&self) -> &[ShadowedBackend] {
        &self.shadowed_backends
    }

    /// The backend named `name`, or `module.name` to reach one by its module
    /// even when another module's backend shadows the name.
    pub fn backend(&self, name: &str) -> Option<&Backend> {
        match name.split_once('.') {
            Some((module, _)) if self.modules.iter().any(|m| m.name == module) => {
                self.qualified(module, &name[module.len() + 1..])
            }
            _ => self.backends.iter().find(|b| b.name() == name),
        }
    }

    fn qualified(&self, module: &str, name: &str) -> Option<&Backend> {
        self.backends
            .iter()
            .chain(&self.hidden)
            .find(|b| b.module().name == module && b.name() == name)
    }

    /// The default backend for `key_type`: see [`DEFAULT_PREFERENCE`].
    pub fn default_backend(&self, key_type: KeyType) -> Option<&Backend> {
        let usable = |b: &&Backend| b.supports(key_type) && b.is_available();
        DEFAULT_PREFERENCE
            .iter()
            .find_map(|name| {
                self.backends
                    .iter()
                    .filter(usable)
                    .find(|b| b.name() == *name)
            })
            .or_else(|| self.backends.iter().find(usable))
    }

    /// The key types `backend` is the default for.
    pub fn default_for(&self, backend: &Backend) -> Vec<KeyType> {
        KeyType::ALL
            .into_iter()
            .filter(|&k| {
                self.default_backend(k).is_some_and(|d| {
                    d.name() == backend.name() && d.module().name == backend.module().name
                })
            })
            .collect()
    }
}

/// Preflights and loads one file outside any search path, as `inspect` does.
/// The file is opened only if it passes the permission check
/// ([`crate::loading::trust`]) and preflight.
pub fn load_file(path: &Path) -> Result<(Arc<Module>, Vec<Backend>), Refusal> {
    load_file_with(path, false, None)
}

/// [`load_file`], optionally loading a file that others can write, and
/// optionally running its code first in the child process of `scanner`.
pub fn load_file_with(
    path: &Path,
    allow_unsafe_permissions: bool,
    scanner: Option<&Scanner>,
) -> Result<(Arc<Module>, Vec<Backend>), Refusal> {
    let loaded = load_one(path, allow_unsafe_permissions, scanner)?;
    let module = Arc::new(Module::of(&loaded));
    let backends = loaded
        .definition
        .methods
        .iter()
        .map(|m| Backend::new(&module, m))
        .collect();
    Ok((module, backends))
}

/// Loads one file: it is opened only if it passes the permission check
/// (unless `allow_unsafe_permissions`) and preflight, and, with a
/// `scanner`, only if its code ran in the scanner's child first without
/// crashing.
fn load_one(
    path: &Path,
    allow_unsafe_permissions: bool,
    scanner: Option<&Scanner>,
) -> Result<Arc<LoadedFile>, Refusal> {
    let real = path.canonicalize().map_err(|e| {
        Refusal::new(
            Stage::Discovery,
            format!("cannot resolve the file (dangling or looping link?): {e}"),
            "check the path",
        )
    })?;
    let checked = open_checked(&real, allow_unsafe_permissions)?;
    if let Some(scanner) = scanner
        && !load::already_loaded(&checked.file)
    {
        let verdict = scanner.verdicts(&[&checked.file]);
        verdict.into_iter().next().unwrap_or(Ok(()))?;
    }
    load::load_cached(&checked, path)
}

/// Opens the file at `real` (links resolved) once, checks its permissions
/// (unless `allow_unsafe_permissions`) by what `fstat` says of the open
/// file, and preflights it through the same descriptor.
fn open_checked(real: &Path, allow_unsafe_permissions: bool) -> Result<Checked, Refusal> {
    let file = PluginFile::open(real)?;
    if !allow_unsafe_permissions {
        trust::check_opened(&file)
            .map_err(|why| Refusal::new(Stage::Discovery, why, trust::HELP))?;
    }
    Checked::new(file)
}
