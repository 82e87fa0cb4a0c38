//! Built-in modules: plugins linked into the process rather than found in a
//! file, as CPython compiles some modules into the interpreter.
//!
//! A program that links a plugin's code (a Rust plugin crate as an `rlib`,
//! a C plugin compiled into a static library) registers it by its symbols:
//! [`builtin_module!`](crate::builtin_module) names `WildInit_<module>`,
//! `WildAbi_<module>` and, for Rust plugins, `WildLayout_<module>`, and
//! [`Registry::discover_with`](crate::Registry::discover_with) loads it.
//! A built-in goes through the steps of a file that concern the module
//! itself: the ABI tag's magic and versions, the layout check, the entry
//! point, the validation of its definition and `init`, once per process.
//! What concerns a file does not apply: there is no file to trust,
//! preflight, scan or open.
//!
//! The rule between the two: a built-in module comes first. A plugin file
//! of the same module name on the search path is shadowed, never opened,
//! and listed as shadowed by [`BUILT_IN_PATH`], as CPython's built-in
//! modules come before any file on `sys.path`. A plugin file can therefore
//! never take over a backend the program ships.

use super::layout;
use super::load::{Availability, LayoutCheck, LoadedFile, ModuleOrigin, run_init};
use super::validate;
use crate::error::{Refusal, Stage};
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use wildhost_abi::{ABI_MAJOR, ABI_MINOR, MAGIC};
pub use wildhost_abi::{AbiTag, ModuleDef};

/// The path a built-in module's [`Module`](crate::Module) and its
/// backends report: there is no file.
pub const BUILT_IN_PATH: &str = "<built-in>";

/// The entry point `WildInit_<module>`.
pub type EntryFn = unsafe extern "C" fn() -> *const ModuleDef;

/// A module linked into this process, named by its entry point and tag.
#[derive(Clone, Copy)]
pub struct BuiltinModule {
    name: &'static str,
    entry: EntryFn,
    tag: &'static AbiTag,
    layout: Option<*const ()>,
}

// SAFETY: the fields are a function pointer and pointers to immutable
// statics of the program itself (see `BuiltinModule::new`), valid on every
// thread for the life of the process.
unsafe impl Send for BuiltinModule {}
// SAFETY: as for `Send`: nothing behind the pointers is ever written.
unsafe impl Sync for BuiltinModule {}

impl fmt::Debug for BuiltinModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuiltinModule")
            .field("name", &self.name)
            .field("tag", self.tag)
            .field("layout", &self.layout.is_some())
            .finish()
    }
}

impl BuiltinModule {
    /// The module `name`, whose entry point is `entry`, ABI tag `tag` and,
    /// for a plugin built with the Rust SDK, layout pointer `layout` (the
    /// value of its `WildLayout_<name>` static). Most programs write
    /// [`builtin_module!`](crate::builtin_module) instead.
    ///
    /// # Safety
    /// `entry` is the `WildInit_<name>` function of a plugin linked into
    /// this program, which returns a pointer to its static module
    /// definition (or null) and may be called from any thread; `tag` is its
    /// `WildAbi_<name>`; `layout`, if given, is the `&'static TypeLayout`
    /// its `WildLayout_<name>` holds. The code behind them runs in this
    /// process with no wall around it, as a loaded plugin's does.
    pub const unsafe fn new(
        name: &'static str,
        entry: EntryFn,
        tag: &'static AbiTag,
        layout: Option<*const ()>,
    ) -> BuiltinModule {
        BuiltinModule {
            name,
            entry,
            tag,
            layout,
        }
    }

    /// The module's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// Names a plugin linked into this program as a [`BuiltinModule`], by the
/// symbols its export macro defined.
///
/// `builtin_module!(sdk: NAME)` for a Rust plugin built with
/// `wildhost_abi::export_plugin!` (which exports `WildLayout_NAME`),
/// `builtin_module!(c: NAME)` for a C plugin built with
/// `WILD_EXPORT_MODULE` (which does not). The plugin's code must be linked
/// into the program: a Rust plugin crate as a dependency with an `rlib`
/// crate type, named in the program (`use wildsort_std as _;`) so that it is
/// linked; a C plugin compiled into a static library the program links.
///
/// ```ignore
/// use wildsort_radix as _; // linked, though only its symbols are named
/// let builtins = [wildhost::builtin_module!(sdk: wildsort_radix)];
/// let registry = wildhost::Registry::discover_with(&builtins, &path, None);
/// ```
///
/// Naming a symbol the program does not define fails to link: a missing
/// built-in is a build error, never a run-time surprise.
#[macro_export]
macro_rules! builtin_module {
    (sdk: $module:ident) => {{
        unsafe extern "C" {
            #[link_name = concat!("WildInit_", stringify!($module))]
            fn entry() -> *const $crate::loading::builtin::ModuleDef;
            #[link_name = concat!("WildAbi_", stringify!($module))]
            static TAG: $crate::loading::builtin::AbiTag;
            #[link_name = concat!("WildLayout_", stringify!($module))]
            static LAYOUT: *const ();
        }
        // SAFETY: the symbols are those `export_plugin!` defines for the
        // module: its entry point, its tag, and the static holding its
        // `&'static TypeLayout` (read here by value, never written).
        unsafe {
            $crate::loading::builtin::BuiltinModule::new(
                stringify!($module),
                entry,
                &*(&raw const TAG),
                Some(LAYOUT),
            )
        }
    }};
    (c: $module:ident) => {{
        unsafe extern "C" {
            #[link_name = concat!("WildInit_", stringify!($module))]
            fn entry() -> *const $crate::loading::builtin::ModuleDef;
            #[link_name = concat!("WildAbi_", stringify!($module))]
            static TAG: $crate::loading::builtin::AbiTag;
        }
        // SAFETY: the symbols are those `WILD_EXPORT_MODULE` defines for
        // the module: its entry point and its constant tag.
        unsafe {
            $crate::loading::builtin::BuiltinModule::new(
                stringify!($module),
                entry,
                &*(&raw const TAG),
                None,
            )
        }
    }};
}

type Loaded = Mutex<HashMap<(usize, &'static str), Result<Arc<LoadedFile>, Refusal>>>;

/// Every built-in this process registered, by its entry point's address: a
/// module's entry point and `init` run at most once per process, however
/// many registries name it.
fn loaded() -> &'static Loaded {
    static LOADED: OnceLock<Loaded> = OnceLock::new();
    LOADED.get_or_init(Default::default)
}

/// Loads the built-in module, or returns what its first load gave.
pub(crate) fn load_cached(module: &BuiltinModule) -> Result<Arc<LoadedFile>, Refusal> {
    // Entries are inserted whole: a poisoned lock is still consistent.
    let mut loaded = loaded().lock().unwrap_or_else(|e| e.into_inner());
    let key = (module.entry as usize, module.name);
    if let Some(result) = loaded.get(&key) {
        return result.clone();
    }
    let result = load(module).map(Arc::new);
    loaded.insert(key, result.clone());
    result
}

const HELP: &str = "the program was built with a plugin that breaks the wildhost ABI; \
                    rebuild it against the wildhost-abi crate its host library uses";

fn load(module: &BuiltinModule) -> Result<LoadedFile, Refusal> {
    let tag = *module.tag;
    if tag.magic != MAGIC {
        return Err(Refusal::new(
            Stage::Validation,
            format!(
                "the built-in module's ABI tag has the wrong magic ({:#018x})",
                tag.magic
            ),
            HELP,
        ));
    }
    if tag.abi_major != ABI_MAJOR || tag.abi_minor > ABI_MINOR {
        return Err(Refusal::new(
            Stage::Validation,
            format!(
                "built-in module of ABI {}.{}, host speaks {ABI_MAJOR}.0 to {ABI_MAJOR}.{ABI_MINOR}",
                tag.abi_major, tag.abi_minor
            ),
            HELP,
        ));
    }
    let layout = match module.layout {
        Some(_) if tag.abi_minor < ABI_MINOR => LayoutCheck::OlderMinor,
        Some(pointer) => {
            // SAFETY: `BuiltinModule::new`'s contract: the pointer is the
            // `&'static TypeLayout` of the module's `WildLayout_` static.
            unsafe { layout::check(pointer) }.map_err(|diff| {
                Refusal::new(
                    Stage::Layout,
                    format!("built against a different wildhost-abi: {diff}"),
                    HELP,
                )
            })?;
            LayoutCheck::Matched
        }
        None => LayoutCheck::NotExported,
    };
    // SAFETY: the module's entry point (`BuiltinModule::new`'s contract),
    // called once per process under the lock of `load_cached`.
    let def = unsafe { (module.entry)() };
    // SAFETY: `def` came from the entry point of code linked into this
    // program, which is never unloaded.
    let definition = unsafe { validate::validate(def, module.name, &tag) }?;
    let availability: Availability = run_init(&definition);
    Ok(LoadedFile {
        path: PathBuf::from(BUILT_IN_PATH),
        origin: ModuleOrigin::BuiltIn,
        definition,
        availability,
        layout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wildhost_abi::{KeyType, flags};

    fn sort_u64(keys: &mut [u64]) {
        keys.sort_unstable();
    }

    fn unavailable() -> Result<(), String> {
        Err("no such hardware here".into())
    }

    wildhost_abi::export_plugin! {
        module: wildhost_builtin_test,
        version: "0.0.1",
        doc: "a module linked into the host's unit tests",
        features: ["test-feature"],
        backends: [{ name: "builtin_test", doc: "std's sort", flags: flags::STABLE,
                     scratch_percent: 0, sorts: { u64: sort_u64 } }],
    }

    wildhost_abi::export_plugin! {
        module: wildhost_builtin_unavailable,
        version: "0.0.1",
        doc: "a module whose init says no",
        features: [],
        init: unavailable,
        backends: [{ name: "builtin_unavailable", doc: "never runs", flags: 0,
                     scratch_percent: 0, sorts: { u64: sort_u64 } }],
    }

    #[test]
    fn a_linked_module_is_validated_and_initialised_once() {
        let module = crate::builtin_module!(sdk: wildhost_builtin_test);
        assert_eq!(module.name(), "wildhost_builtin_test");
        let first = load_cached(&module).expect("loads");
        assert_eq!(first.origin, ModuleOrigin::BuiltIn);
        assert_eq!(first.path, PathBuf::from(BUILT_IN_PATH));
        assert_eq!(first.layout, LayoutCheck::Matched);
        assert_eq!(first.availability, Availability::Available);
        assert_eq!(first.definition.features, ["test-feature"]);
        let method = &first.definition.methods[0];
        assert_eq!(method.name, "builtin_test");
        assert_eq!(method.key_types, KeyType::U64.bit());
        let again = load_cached(&module).expect("loads");
        assert!(Arc::ptr_eq(&first, &again), "loaded once per process");
    }

    #[test]
    fn init_says_why_a_built_in_cannot_run() {
        let module = crate::builtin_module!(sdk: wildhost_builtin_unavailable);
        let loaded = load_cached(&module).expect("loads");
        assert_eq!(
            loaded.availability,
            Availability::Unavailable("no such hardware here".into())
        );
    }

    #[test]
    fn a_wrong_tag_is_refused_before_the_entry_point_runs() {
        unsafe extern "C" fn never() -> *const ModuleDef {
            panic!("the entry point of a module with a wrong tag ran")
        }
        static TAG: AbiTag = AbiTag {
            magic: MAGIC,
            abi_major: ABI_MAJOR + 1,
            abi_minor: 0,
            module_size: 0,
        };
        // SAFETY: `never` is never called: the tag is refused first.
        let module = unsafe { BuiltinModule::new("wrong_major", never, &TAG, None) };
        let refusal = load_cached(&module).expect_err("refused");
        assert_eq!(refusal.stage, Stage::Validation);
        assert!(
            refusal.cause.contains(&format!("ABI {}.0", ABI_MAJOR + 1)),
            "{refusal:?}"
        );
    }

    #[test]
    fn a_definition_naming_another_module_is_refused() {
        // The SDK module `wildhost_builtin_test` registered as `other`.
        unsafe extern "C" {
            #[link_name = "WildInit_wildhost_builtin_test"]
            fn entry() -> *const ModuleDef;
        }
        // SAFETY: the SDK module's real entry point and its tag; only the
        // name differs.
        let module = unsafe { BuiltinModule::new("other", entry, &AbiTag::CURRENT, None) };
        let refusal = load_cached(&module).expect_err("refused");
        assert_eq!(refusal.stage, Stage::Validation);
        assert!(refusal.cause.contains("other"), "{refusal:?}");
    }
}
