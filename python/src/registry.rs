//! The registry the module sorts through: the shipped backends built in,
//! then the plugin files on the command's search path (`WILDHOST_PLUGIN_PATH`,
//! then the user plugin directory), with the command's permission check,
//! preflight and scanner. It is built once per process, at the first call
//! that needs it; the search path is read then.

use crate::errors::{self, BackendNotFound, BackendUnavailable, SortError, UnsupportedKeyType};
use pyo3::prelude::*;
use serde::Serialize;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::OnceLock;
use wildhost::loading::builtin::BuiltinModule;
use wildhost::loading::discover::user_plugin_dir;
use wildhost::loading::scanner::Scanner;
use wildhost::registry::listing::{BackendRow, SearchRow};
use wildhost::registry::names::did_you_mean;
use wildhost::registry::{RefusedFile, ShadowedBackend, ShadowedFile};
use wildhost::{Availability, Backend, KeyType, Origin, Registry, SearchPath};

static SCANNER: OnceLock<Option<Vec<OsString>>> = OnceLock::new();
static REGISTRY: OnceLock<Registry> = OnceLock::new();

/// The scanner command; only the first call counts.
pub(crate) fn set_scanner(command: Option<Vec<OsString>>) {
    let _ = SCANNER.set(command.filter(|c| !c.is_empty()));
}

/// The shipped backends, in the order they are listed: they come before
/// every plugin file, and a file of one of their module names is shadowed.
fn builtins() -> [BuiltinModule; 3] {
    [
        wildhost::builtin_module!(sdk: wildsort_radix),
        wildhost::builtin_module!(sdk: wildsort_std),
        wildhost::builtin_module!(c: wildsort),
    ]
}

/// The command's search path without `--plugin-dir` flags and without the
/// directory of the running executable, which here is the interpreter's.
fn search_path() -> SearchPath {
    let mut path = SearchPath::standard([]);
    path.dirs.retain(|dir| dir.origin != Origin::ExeDir);
    path
}

/// The registry, built on first use with the GIL released (loading a
/// plugin file may first run it in the scanner's child process).
pub(crate) fn get(py: Python<'_>) -> &'static Registry {
    if let Some(registry) = REGISTRY.get() {
        return registry;
    }
    py.detach(|| {
        REGISTRY.get_or_init(|| {
            let scanner = SCANNER.get().cloned().flatten().map(Scanner::new);
            Registry::discover_with(&builtins(), &search_path(), scanner.as_ref())
        })
    })
}

/// The backend to sort `key_type` keys with: the one named, or the default
/// for the type (radix, then std, then wildsort, then the first that can).
pub(crate) fn resolve<'r>(
    py: Python<'_>,
    registry: &'r Registry,
    name: Option<&str>,
    key_type: KeyType,
) -> PyResult<&'r Backend> {
    let Some(name) = name else {
        return registry.default_backend(key_type).ok_or_else(|| {
            errors::error::<SortError>(
                py,
                &format!("no backend sorts {key_type} keys"),
                &format!("the backends here: {}", described(registry)),
                "install a plugin that sorts them, or convert the values",
            )
        });
    };
    let Some(backend) = registry.backend(name) else {
        let known = registry.backends().iter().map(Backend::name);
        let guess = did_you_mean(name, known).map_or(String::new(), |g| g + " or ");
        return Err(errors::error::<BackendNotFound>(
            py,
            &format!("no backend named `{name}`"),
            &format!("the backends here: {}", described(registry)),
            &format!(
                "{guess}pass one of them as backend=; a plugin is found in a directory of \
                 WILDHOST_PLUGIN_PATH or in {}, and wildsort.refused() lists the files \
                 found there that could not be used",
                user_dir()
            ),
        ));
    };
    if let Availability::Unavailable(reason) = &backend.module().availability {
        return Err(errors::error::<BackendUnavailable>(
            py,
            &format!(
                "backend `{name}` (module `{}`, {}) cannot run here",
                backend.module().name,
                origin(backend)
            ),
            reason,
            &format!(
                "use another backend ({}), or a build of module `{}` that runs on this machine",
                names(registry, |b| b.is_available()),
                backend.module().name
            ),
        ));
    }
    if !backend.supports(key_type) {
        let sorts: Vec<&str> = backend.key_types().map(KeyType::name).collect();
        return Err(errors::error::<UnsupportedKeyType>(
            py,
            &format!("backend `{name}` does not sort {key_type} keys"),
            &format!("it sorts {}", sorts.join(" ")),
            &format!(
                "use a backend that sorts {key_type} ({}), or convert the values",
                names(registry, |b| b.is_available() && b.supports(key_type))
            ),
        ));
    }
    Ok(backend)
}

/// A failed sort, as an exception.
pub(crate) fn sort_failed(py: Python<'_>, backend: &Backend, error: wildhost::SortError) -> PyErr {
    errors::error::<SortError>(
        py,
        &format!("the sort through backend `{}` failed", backend.name()),
        &error.to_string(),
        "the values are as they were, or sorted; try another backend, and report the failure \
         to the plugin's author",
    )
}

fn user_dir() -> String {
    user_plugin_dir().map_or_else(
        || "the user plugin directory".to_string(),
        |dir| dir.display().to_string(),
    )
}

fn origin(backend: &Backend) -> String {
    match backend.module().file() {
        Some(file) => file.display().to_string(),
        None => "built in".to_string(),
    }
}

fn names(registry: &Registry, keep: impl Fn(&Backend) -> bool) -> String {
    let names: Vec<&str> = registry
        .backends()
        .iter()
        .filter(|b| keep(b))
        .map(Backend::name)
        .collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// Every backend with its state: `radix, std, gpu (unavailable: no GPU)`.
fn described(registry: &Registry) -> String {
    let all: Vec<String> = registry
        .backends()
        .iter()
        .map(|b| match &b.module().availability {
            Availability::Available => b.name().to_string(),
            Availability::Unavailable(reason) => format!("{} (unavailable: {reason})", b.name()),
        })
        .collect();
    if all.is_empty() {
        "none".to_string()
    } else {
        all.join(", ")
    }
}

/// What the listing says of a module; each backend's row
/// (`wildhost::registry::listing`) carries the same facts of its module.
#[derive(Serialize)]
struct ModuleRow {
    name: String,
    version: String,
    abi: String,
    file: Option<PathBuf>,
    origin: &'static str,
    features: Vec<String>,
    available: bool,
    unavailable_reason: Option<String>,
    doc: String,
}

#[derive(Serialize)]
struct Listing<'a> {
    backends: Vec<BackendRow>,
    modules: Vec<ModuleRow>,
    refused: &'a [RefusedFile],
    shadowed: &'a [ShadowedFile],
    shadowed_backends: &'a [ShadowedBackend],
    search_path: Vec<SearchRow>,
}

/// The registry as JSON, in the shape of `wildhost list --json`: backends,
/// modules, refused and shadowed files, and the search path.
#[pyfunction]
#[pyo3(name = "_listing")]
pub(crate) fn listing(py: Python<'_>) -> PyResult<String> {
    let registry = get(py);
    let listing = Listing {
        backends: BackendRow::all(registry),
        modules: registry
            .modules()
            .iter()
            .map(|m| ModuleRow {
                name: m.name.clone(),
                version: m.version.clone(),
                abi: format!("{}.{}", m.abi.0, m.abi.1),
                file: m.file().map(PathBuf::from),
                origin: m.origin.name(),
                features: m.features.clone(),
                available: m.availability == Availability::Available,
                unavailable_reason: m.availability.reason().map(str::to_string),
                doc: m.doc.clone(),
            })
            .collect(),
        refused: registry.refused(),
        shadowed: registry.shadowed(),
        shadowed_backends: registry.shadowed_backends(),
        search_path: search_path().dirs.iter().map(SearchRow::of).collect(),
    };
    serde_json::to_string(&listing).map_err(|e| {
        pyo3::exceptions::PyRuntimeError::new_err(format!("cannot encode the listing: {e}"))
    })
}

/// The threads one sort may use: every CPU this process may run on, as
/// the command's `--threads` default.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
