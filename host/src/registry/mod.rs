//! The registry: every plugin on the search path, loaded and validated, and
//! its backends by name, ready to sort.
//!
//! Discovery never fails as a whole: a file that cannot be used is recorded
//! with its reason and the others load. A module name's first file that
//! loads wins; files after it with the same module name are shadowed (never
//! opened), and so are backends whose name an earlier module already took.
//!
//! Built-in modules ([`crate::loading::builtin`]), given to
//! [`Registry::discover_with`], come before every file: a file of a
//! built-in's module name is shadowed by it, never opened or scanned.
//!
//! [`listing`] is the registry as a listing shows it: one row per backend
//! and per directory of the search path, the same for the command and the
//! Python package.

mod backend;
pub mod listing;
pub mod names;

pub use backend::{Backend, Module};

use crate::error::{Refusal, Stage};
use crate::loading::builtin::{self, BUILT_IN_PATH, BuiltinModule};
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
        Registry::discover_inner(&[], path, None)
    }

    /// [`Registry::discover`], but each plugin's code runs first in the
    /// child process of `scanner` (or its verdict comes from the scan
    /// cache): a plugin that crashes or hangs while loading is refused at
    /// [`Stage::Scan`] and never loaded into this process.
    pub fn discover_scanned(path: &SearchPath, scanner: &Scanner) -> Registry {
        Registry::discover_inner(&[], path, Some(scanner))
    }

    /// The `builtins` linked into this program first, in their order, then
    /// every plugin on `path` as [`Registry::discover`] (or, with a
    /// `scanner`, [`Registry::discover_scanned`]) finds them. A file whose
    /// module name is a built-in's is shadowed by the built-in, whether
    /// the built-in loaded or not, and none of its code runs. A built-in
    /// that fails its checks is listed among [`Registry::refused`] with the
    /// path [`BUILT_IN_PATH`].
    pub fn discover_with(
        builtins: &[BuiltinModule],
        path: &SearchPath,
        scanner: Option<&Scanner>,
    ) -> Registry {
        Registry::discover_inner(builtins, path, scanner)
    }

    fn discover_inner(
        builtins: &[BuiltinModule],
        path: &SearchPath,
        scanner: Option<&Scanner>,
    ) -> Registry {
        let mut listing = path.list();
        let mut registry = Registry::default();
        let mut provided: HashMap<String, PathBuf> = HashMap::new();
        for module in builtins {
            if provided.contains_key(module.name()) {
                continue;
            }
            provided.insert(module.name().to_string(), PathBuf::from(BUILT_IN_PATH));
            match builtin::load_cached(module) {
                Ok(loaded) => registry.add(&loaded),
                Err(refusal) => registry.refused.push(RefusedFile {
                    path: PathBuf::from(BUILT_IN_PATH),
                    module: Some(module.name().to_string()),
                    refusal,
                }),
            }
        }
        // Files of a built-in's name are shadowed before anything reads
        // them: the scanner never runs their code.
        listing
            .candidates
            .retain(|c| match provided.get(&c.module) {
                Some(by) => {
                    registry.shadowed.push(ShadowedFile {
                        path: c.path.clone(),
                        module: c.module.clone(),
                        by: by.clone(),
                    });
                    false
                }
                None => true,
            });
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
        for problem in listing.problems {
            registry.refused.push(RefusedFile {
                path: problem.path,
                module: None,
                refusal: problem.refusal,
            });
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loading::load::ModuleOrigin;
    use crate::loading::preflight;

    #[test]
    fn a_built_in_module_sorts_through_the_registry() {
        let builtins = [crate::builtin_module!(sdk: wildhost_builtin_test)];
        let registry = Registry::discover_with(&builtins, &SearchPath::only([]), None);
        let backend = registry.backend("builtin_test").expect("registered");
        assert_eq!(backend.module().origin, ModuleOrigin::BuiltIn);
        assert_eq!(backend.module().file(), None);
        assert_eq!(backend.module().path, Path::new(BUILT_IN_PATH));
        let mut keys = [3u64, 1, 2];
        backend.sort(&mut keys).expect("sorts");
        assert_eq!(keys, [1, 2, 3]);
        let json = serde_json::to_value(&*registry.modules()[0]).expect("json");
        assert_eq!(json["origin"], "built-in");
    }

    /// The rule between built-ins and files: the built-in comes first, and
    /// a file of its module name is shadowed (never opened) even when the
    /// built-in itself is refused.
    #[test]
    fn a_file_of_a_built_in_modules_name_is_shadowed_by_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = preflight::tests::compiled_plugin(dir.path());
        let alone = Registry::discover(&SearchPath::only([dir.path().to_path_buf()]));
        let module = &alone.modules()[0];
        assert_eq!(module.name, preflight::tests::MODULE);
        assert_eq!(module.file(), Some(file.as_path()));
        let json = serde_json::to_value(&**module).expect("json");
        assert!(json.get("origin").is_none(), "files' JSON unchanged");

        unsafe extern "C" {
            #[link_name = "WildInit_wildhost_builtin_test"]
            fn entry() -> *const wildhost_abi::ModuleDef;
        }
        // SAFETY: a real entry point and tag of a module linked into the
        // test binary, registered under the file's module name: its
        // definition names another module, so it is refused.
        let builtin = unsafe {
            BuiltinModule::new(
                preflight::tests::MODULE,
                entry,
                &wildhost_abi::AbiTag::CURRENT,
                None,
            )
        };
        let registry = Registry::discover_with(
            &[builtin],
            &SearchPath::only([dir.path().to_path_buf()]),
            None,
        );
        assert!(registry.modules().is_empty());
        assert_eq!(registry.refused().len(), 1);
        assert_eq!(registry.refused()[0].path, Path::new(BUILT_IN_PATH));
        assert_eq!(registry.shadowed().len(), 1);
        let shadowed = &registry.shadowed()[0];
        assert_eq!(shadowed.path, file);
        assert_eq!(shadowed.by, Path::new(BUILT_IN_PATH));
    }
}
