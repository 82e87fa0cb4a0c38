//! The registry: every plugin on the search path, loaded and validated, and
//! its backends by name, ready to sort.
//!
//! Discovery never fails as a whole: a file that cannot be used is recorded
//! with its reason and the others load. A module name's first file that
//! loads wins; files after it with the same module name are shadowed (never
//! opened), and so are backends whose name an earlier module already took.

use crate::discover::{Candidate, SearchPath};
use crate::error::{Refusal, SortError, Stage};
use crate::preflight::PreflightReport;
use crate::validate::{MethodDefinition, ModuleDefinition};
use crate::{layout, loader, preflight, validate};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use wildhost_abi::sdk::Key;
use wildhost_abi::{KeyType, LAYOUT_PREFIX, SortFn, flags, status};

/// The backends preferred as the default for a key type, best first. The
/// default for a type is the first of these that is available and sorts it,
/// else the first available backend in search order that sorts it.
pub const DEFAULT_PREFERENCE: [&str; 3] = ["radix", "std", "wildsort"];

/// Size of the buffer a plugin writes its error message into.
const MESSAGE_CAP: usize = 512;

thread_local! {
    /// Each thread's message buffer, all zeros between calls, so that a
    /// sort does not pay for zeroing 512 bytes it almost never uses.
    static MESSAGE: std::cell::RefCell<[u8; MESSAGE_CAP]> =
        const { std::cell::RefCell::new([0; MESSAGE_CAP]) };
}

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

/// A loaded, validated plugin module.
#[derive(Debug, Serialize)]
pub struct Module {
    /// Module name.
    pub name: String,
    /// The module's own version.
    pub version: String,
    /// One line of documentation.
    pub doc: String,
    /// The file it was loaded from, as found on the search path.
    pub path: PathBuf,
    /// ABI version it was built for.
    pub abi: (u16, u16),
    /// Compiled-in features.
    pub features: Vec<String>,
    /// What `init` said.
    pub availability: Availability,
    /// How the type layout was checked.
    pub layout: LayoutCheck,
}

/// A backend of a loaded module: cheap to clone, safe to share and call from
/// many threads.
#[derive(Clone, Debug)]
pub struct Backend {
    module: Arc<Module>,
    method: MethodDefinition,
    /// The key type bits it may be called with: its declared types if its
    /// module is available, else none.
    callable: u32,
}

impl Backend {
    fn new(module: &Arc<Module>, method: &MethodDefinition) -> Backend {
        let available = module.availability == Availability::Available;
        Backend {
            module: module.clone(),
            method: method.clone(),
            callable: if available { method.key_types } else { 0 },
        }
    }

    /// The backend's name.
    pub fn name(&self) -> &str {
        &self.method.name
    }
    /// Its module.
    pub fn module(&self) -> &Module {
        &self.module
    }
    /// One line of documentation.
    pub fn doc(&self) -> &str {
        &self.method.doc
    }
    /// The key types it declares.
    pub fn key_types(&self) -> impl Iterator<Item = KeyType> + '_ {
        KeyType::in_set(self.method.key_types)
    }
    /// Whether it declares `key_type`.
    pub fn supports(&self, key_type: KeyType) -> bool {
        self.method.key_types & key_type.bit() != 0
    }
    /// Whether equal keys keep their order.
    pub fn is_stable(&self) -> bool {
        self.method.flags & flags::STABLE != 0
    }
    /// Whether it may use more than the calling thread.
    pub fn is_parallel(&self) -> bool {
        self.method.flags & flags::PARALLEL != 0
    }
    /// Declared scratch memory, in percent of the buffer.
    pub fn scratch_percent(&self) -> u32 {
        self.method.scratch_percent
    }
    /// Whether its module can run here.
    pub fn is_available(&self) -> bool {
        self.module.availability == Availability::Available
    }

    /// Sorts `keys` in place. Floats sort by IEEE-754 totalOrder.
    #[inline]
    pub fn sort<T: Key>(&self, keys: &mut [T]) -> Result<(), SortError> {
        if self.callable & T::TYPE.bit() == 0 {
            return self.not_callable(T::TYPE);
        }
        // The call's own result is one pointer wide, so the common case
        // moves no error value around: it is unboxed only on failure.
        self.call(keys).map_err(|error| *error)
    }

    /// Whether the backend may be called with `key_type` keys: it declares
    /// the type and its module is available.
    #[inline]
    pub fn check_callable(&self, key_type: KeyType) -> Result<(), SortError> {
        // The common case in one test: declared, and the module available.
        if self.callable & key_type.bit() != 0 {
            return Ok(());
        }
        self.not_callable(key_type)
    }

    #[cold]
    #[inline(never)]
    fn not_callable(&self, key_type: KeyType) -> Result<(), SortError> {
        if !self.supports(key_type) {
            return Err(SortError::UnsupportedKeyType {
                backend: self.name().to_string(),
                key_type,
                supported: self
                    .key_types()
                    .map(KeyType::name)
                    .collect::<Vec<_>>()
                    .join(" "),
            });
        }
        if let Availability::Unavailable(reason) = &self.module.availability {
            return Err(SortError::Unavailable {
                backend: self.name().to_string(),
                reason: reason.clone(),
            });
        }
        Ok(())
    }

    /// Calls the plugin's sort function; [`Backend::check_callable`] passed.
    #[inline]
    fn call<T: Key>(&self, keys: &mut [T]) -> Result<(), Box<SortError>> {
        MESSAGE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut message) => self.call_with(keys, &mut message),
            // A sort called from inside a sort on this thread (a plugin
            // calling back into a host) gets a buffer of its own.
            Err(_) => self.call_with(keys, &mut [0; MESSAGE_CAP]),
        })
    }

    /// Calls the plugin with `message`, all zeros, for its error message;
    /// leaves it all zeros again.
    #[inline]
    fn call_with<T: Key>(
        &self,
        keys: &mut [T],
        message: &mut [u8; MESSAGE_CAP],
    ) -> Result<(), Box<SortError>> {
        let sort: SortFn = self.method.sort;
        // SAFETY: the plugin is loaded for good and its definition
        // validated; `keys` is a live, exclusively borrowed buffer of `len`
        // keys of the type whose bit is passed, which the backend declared;
        // `message` has `MESSAGE_CAP` writable bytes, all initialised. The
        // ABI makes `sort` thread-safe.
        let code = unsafe {
            sort(
                keys.as_mut_ptr().cast(),
                keys.len(),
                T::TYPE.bit(),
                message.as_mut_ptr().cast(),
                MESSAGE_CAP,
            )
        };
        if code == status::OK && message[0] == 0 {
            return Ok(());
        }
        self.after_message(code, message)
    }

    #[cold]
    #[inline(never)]
    fn after_message(
        &self,
        code: i32,
        message: &mut [u8; MESSAGE_CAP],
    ) -> Result<(), Box<SortError>> {
        let text = message_from(&message[..]);
        // Zeroed again for the next call: only a used buffer costs this.
        message.fill(0);
        if code == status::OK {
            return Ok(());
        }
        Err(Box::new(SortError::Failed {
            backend: self.name().to_string(),
            code,
            message: text,
        }))
    }
}

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
    /// scanner child process of `isolation` (or its verdict comes from the
    /// scan cache): a plugin that crashes or hangs while loading is refused
    /// at [`Stage::Scan`] and never loaded into this process.
    pub fn discover_isolated(path: &SearchPath, isolation: &crate::scan::Isolation) -> Registry {
        Registry::discover_inner(path, Some(isolation))
    }

    fn discover_inner(path: &SearchPath, isolation: Option<&crate::scan::Isolation>) -> Registry {
        let scan = path.scan();
        // Files preflight refuses never reach the scanner: nothing of theirs
        // runs. The results are kept for loading, which need not check again.
        let mut preflights: HashMap<PathBuf, Preflighted> = HashMap::new();
        let mut verdicts: HashMap<PathBuf, Result<(), Refusal>> = HashMap::new();
        if let Some(isolation) = isolation {
            for c in &scan.candidates {
                preflights
                    .entry(c.real_path.clone())
                    .or_insert_with(|| checked(&c.real_path));
            }
            let to_scan: Vec<PathBuf> = scan
                .candidates
                .iter()
                .filter(|c| preflights.get(&c.real_path).is_some_and(|(_, r)| r.is_ok()))
                .map(|c| c.real_path.clone())
                .filter(|p| !already_loaded(p))
                .collect();
            let results = crate::scan::verdicts(isolation, &to_scan);
            verdicts.extend(to_scan.into_iter().zip(results));
        }
        let mut registry = Registry::default();
        for problem in scan.problems {
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
        } in scan.candidates
        {
            if let Some(by) = provided.get(&module) {
                registry.shadowed.push(ShadowedFile {
                    path,
                    module,
                    by: by.clone(),
                });
                continue;
            }
            let verdict = verdicts.remove(&real_path).unwrap_or(Ok(()));
            let preflighted = preflights.remove(&real_path);
            match verdict.and_then(|()| load_cached(&real_path, &path, preflighted)) {
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

    fn add(&mut self, loaded: &Loaded) {
        self.modules.push(loaded.module.clone());
        for method in &loaded.methods {
            let backend = Backend::new(&loaded.module, method);
            match self.backends.iter().find(|b| b.name() == method.name) {
                Some(owner) => {
                    self.shadowed_backends.push(ShadowedBackend {
                        name: method.name.clone(),
                        module: loaded.module.name.clone(),
                        by: owner.module.name.clone(),
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
            .find(|b| b.module.name == module && b.name() == name)
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
                    d.name() == backend.name() && d.module.name == backend.module.name
                })
            })
            .collect()
    }
}

/// A loaded module and its validated method table.
#[derive(Debug)]
struct Loaded {
    module: Arc<Module>,
    methods: Vec<MethodDefinition>,
}

type LoadedFiles = Mutex<HashMap<PathBuf, Result<Arc<Loaded>, Refusal>>>;

/// Every file this process tried to load, by resolved path: a file is
/// opened, and its entry point and `init` called, at most once per process.
fn loaded_files() -> &'static LoadedFiles {
    static LOADED: OnceLock<LoadedFiles> = OnceLock::new();
    LOADED.get_or_init(Default::default)
}

/// Whether this process already loaded (or refused) the file.
fn already_loaded(real_path: &Path) -> bool {
    let loaded = loaded_files().lock().unwrap_or_else(|e| e.into_inner());
    loaded.contains_key(real_path)
}

/// Loads one file in this process, for the scanner child: whether it loads.
pub(crate) fn probe(real_path: &Path) -> Result<(), Refusal> {
    load_cached(real_path, real_path, None).map(|_| ())
}

/// What [`preflight::preflight`] said of a file, and the file as it was
/// just before (None if it could not be told).
type Preflighted = (Option<Stamp>, Result<PreflightReport, Refusal>);

/// What tells one version of a file from another: device, inode, size and
/// modification time.
#[derive(Debug, PartialEq, Eq)]
struct Stamp(u64, u64, u64, i64, i64);

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt as _;
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp(m.dev(), m.ino(), m.len(), m.mtime(), m.mtime_nsec()))
}

/// Preflight of `path`, stamped.
fn checked(path: &Path) -> Preflighted {
    (stamp(path), preflight::preflight(path))
}

/// Loads `real_path` unless this process already tried. `preflighted` is
/// what preflight said of the file earlier in this discovery, if it ran.
fn load_cached(
    real_path: &Path,
    shown_path: &Path,
    preflighted: Option<Preflighted>,
) -> Result<Arc<Loaded>, Refusal> {
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

/// Preflight (unless `preflighted` says how it went), open, validate, check
/// the layout, and run `init`.
fn load(
    real_path: &Path,
    shown_path: &Path,
    preflighted: Option<Preflighted>,
) -> Result<Loaded, Refusal> {
    let report = match preflighted {
        // What preflight said earlier stands while the file is the one it
        // read: one replaced since (during the scan, say) is checked again.
        Some((Some(then), said)) if stamp(real_path).as_ref() == Some(&then) => said?,
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
    let def = unsafe { validate::validate(def_ptr, &report.module, &report.tag()) }?;
    let availability = run_init(&def);
    let ModuleDefinition {
        name,
        version,
        doc,
        features,
        abi,
        init: _,
        methods,
    } = def;
    Ok(Loaded {
        module: Arc::new(Module {
            name,
            version,
            doc,
            path: shown_path.to_path_buf(),
            abi,
            features,
            availability,
            layout,
        }),
        methods,
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
        status::UNAVAILABLE => Availability::Unavailable(message_from(&reason)),
        other => Availability::Unavailable(format!(
            "init failed with status {other} ({}): {}",
            status::name(other),
            message_from(&reason)
        )),
    }
}

/// The message a plugin wrote into `buf`: up to the first NUL or the end of
/// the buffer, invalid UTF-8 replaced, control characters made visible.
pub(crate) fn message_from(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let text: String = String::from_utf8_lossy(&buf[..end])
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = text.trim();
    if text.is_empty() {
        "(no message)".to_string()
    } else {
        text.to_string()
    }
}

/// Preflights and loads one file outside any search path, as `inspect` does.
/// The file is opened only if it passes the permission check
/// ([`crate::trust`]) and preflight.
pub fn load_file(path: &Path) -> Result<(Arc<Module>, Vec<Backend>), Refusal> {
    load_file_with(path, false, None)
}

/// [`load_file`], optionally loading a file that others can write, and
/// optionally running its code first in the scanner of `isolation`.
pub fn load_file_with(
    path: &Path,
    allow_unsafe_permissions: bool,
    isolation: Option<&crate::scan::Isolation>,
) -> Result<(Arc<Module>, Vec<Backend>), Refusal> {
    let real = path.canonicalize().map_err(|e| {
        Refusal::new(
            Stage::Discovery,
            format!("cannot resolve the file (dangling or looping link?): {e}"),
            "check the path",
        )
    })?;
    if !allow_unsafe_permissions {
        crate::trust::check_file(&real)
            .map_err(|why| Refusal::new(Stage::Discovery, why, crate::trust::HELP))?;
    }
    let mut preflighted = None;
    if let Some(isolation) = isolation {
        let (then, said) = checked(&real);
        let report = said?;
        if !already_loaded(&real) {
            let verdict = crate::scan::verdicts(isolation, std::slice::from_ref(&real));
            verdict.into_iter().next().unwrap_or(Ok(()))?;
        }
        preflighted = Some((then, Ok(report)));
    }
    let loaded = load_cached(&real, path, preflighted)?;
    let backends = loaded
        .methods
        .iter()
        .map(|m| Backend::new(&loaded.module, m))
        .collect();
    Ok((loaded.module.clone(), backends))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_messages_are_bounded_and_cleaned() {
        assert_eq!(message_from(b"bad input\0garbage"), "bad input");
        assert_eq!(message_from(&[b'x'; 8]), "xxxxxxxx");
        assert_eq!(message_from(b"\x1b[31mred\0"), "[31mred");
        assert_eq!(message_from(b"\xffok\0"), "\u{fffd}ok");
        assert_eq!(message_from(b"\0"), "(no message)");
    }

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
        };
        let before = Stamp(0, 0, 1, 0, 0);
        assert_ne!(stamp(&path), Some(Stamp(0, 0, 1, 0, 0)));
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
