//! The listing model: what `wildhost list --json` and the Python package's
//! `backends()` say of each backend (its module, where it comes from,
//! what it sorts and declares, whether it can run here and why not, what
//! it is the default for) and of each directory of the search path. Both
//! front ends serialise these rows, so the two listings cannot drift apart.

use super::{Backend, Registry};
use crate::loading::discover::SearchDir;
use serde::Serialize;
use std::path::PathBuf;
use wildhost_abi::{KeyType, PayloadType};

/// One backend, as a listing shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BackendRow {
    /// The backend's name.
    pub name: String,
    /// Its module's name.
    pub module: String,
    /// The module's version.
    pub version: String,
    /// The ABI the module was built for, `major.minor`.
    pub abi: String,
    /// The plugin file; `None` (null) for a built-in module.
    pub file: Option<PathBuf>,
    /// `built-in` or `file`.
    pub origin: &'static str,
    /// The key types it declares.
    pub key_types: Vec<&'static str>,
    /// Equal keys keep their order.
    pub stable: bool,
    /// It may use more than the calling thread.
    pub parallel: bool,
    /// It has a pairs entry (ABI 1.1).
    pub pairs: bool,
    /// The payload types its pairs entry takes.
    pub pair_payloads: Vec<&'static str>,
    /// It takes a thread count per call (ABI 1.2 `sort_with`).
    pub threads: bool,
    /// It sorts from a source into a new buffer, with no copy first (ABI
    /// 1.3 `WILD_FLAG_FROM_SOURCE`).
    pub from_source: bool,
    /// Declared scratch memory, in percent of the input.
    pub scratch_percent: u32,
    /// Its module's compiled-in features.
    pub features: Vec<String>,
    /// Its module's `init` said it can run here.
    pub available: bool,
    /// Why it cannot, when it cannot.
    pub unavailable_reason: Option<String>,
    /// The key types it is the default backend for.
    pub default_for: Vec<&'static str>,
    /// One line of documentation.
    pub doc: String,
}

impl BackendRow {
    /// The row of `backend`, one of `registry`'s.
    pub fn of(registry: &Registry, backend: &Backend) -> BackendRow {
        let module = backend.module();
        BackendRow {
            name: backend.name().to_string(),
            module: module.name.clone(),
            version: module.version.clone(),
            abi: format!("{}.{}", module.abi.0, module.abi.1),
            file: module.file().map(PathBuf::from),
            origin: module.origin.name(),
            key_types: backend.key_types().map(KeyType::name).collect(),
            stable: backend.is_stable(),
            parallel: backend.is_parallel(),
            pairs: backend.supports_pairs(),
            pair_payloads: backend.pairs_payloads().map(PayloadType::name).collect(),
            threads: backend.takes_threads(),
            from_source: backend.sorts_from_source(),
            scratch_percent: backend.scratch_percent(),
            features: module.features.clone(),
            available: backend.is_available(),
            unavailable_reason: module.availability.reason().map(str::to_string),
            default_for: registry
                .default_for(backend)
                .into_iter()
                .map(KeyType::name)
                .collect(),
            doc: backend.doc().to_string(),
        }
    }

    /// The rows of every backend of `registry`, in search order.
    pub fn all(registry: &Registry) -> Vec<BackendRow> {
        registry
            .backends()
            .iter()
            .map(|b| BackendRow::of(registry, b))
            .collect()
    }
}

/// One directory of the search path, as a listing shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SearchRow {
    /// The directory as given.
    pub path: PathBuf,
    /// Where it came from (`--plugin-dir`, `WILDHOST_PLUGIN_PATH`, ...).
    pub origin: &'static str,
    /// Whether it is a directory now.
    pub exists: bool,
}

impl SearchRow {
    /// The row of `dir`.
    pub fn of(dir: &SearchDir) -> SearchRow {
        SearchRow {
            path: dir.path.clone(),
            origin: dir.origin.describe(),
            exists: dir.path.is_dir(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loading::discover::{Origin, SearchPath};

    #[test]
    fn a_built_in_backends_row_has_no_file() {
        let builtins = [crate::builtin_module!(sdk: wildhost_builtin_test)];
        let registry = Registry::discover_with(&builtins, &SearchPath::only([]), None);
        let rows = BackendRow::all(&registry);
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.name, "builtin_test");
        assert_eq!(row.module, "wildhost_builtin_test");
        assert_eq!((row.file.as_deref(), row.origin), (None, "built-in"));
        assert_eq!(row.features, ["test-feature"]);
        assert_eq!(row.key_types, ["u64"]);
        assert!(row.stable && row.available && row.unavailable_reason.is_none());
        assert_eq!(row.default_for, ["u64"]);
        let json = serde_json::to_value(row).expect("json");
        assert!(json["file"].is_null());
        assert_eq!(json["threads"], false);
    }

    #[test]
    fn an_unavailable_backend_says_why() {
        let builtins = [crate::builtin_module!(sdk: wildhost_builtin_unavailable)];
        let registry = Registry::discover_with(&builtins, &SearchPath::only([]), None);
        let row = &BackendRow::all(&registry)[0];
        assert!(!row.available);
        assert_eq!(
            row.unavailable_reason.as_deref(),
            Some("no such hardware here")
        );
        assert!(row.default_for.is_empty(), "never the default");
    }

    #[test]
    fn a_search_row_says_whether_its_directory_exists() {
        let dir = tempfile::tempdir().expect("tempdir");
        let row = SearchRow::of(&SearchDir {
            path: dir.path().to_path_buf(),
            origin: Origin::Flag,
        });
        assert_eq!(row.origin, "--plugin-dir");
        assert!(row.exists);
        let gone = SearchRow::of(&SearchDir {
            path: dir.path().join("gone"),
            origin: Origin::Env,
        });
        assert!(!gone.exists);
        assert_eq!(gone.origin, "WILDHOST_PLUGIN_PATH");
    }
}
