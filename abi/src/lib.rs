//! The wildhost plugin contract, shared by the host and every plugin.
//!
//! A plugin is a shared library that exports `WildInit_<module>`, a function
//! returning a static [`ModuleDef`] (the `PyModuleDef` of this world) whose
//! method table lists its sort backends, and `WildAbi_<module>`, the
//! [`AbiTag`] the host reads from the file before running any of its code
//! (plus `WildLayout_<module>` from the Rust SDK; the header lists when each
//! is read). This crate holds the `#[repr(C)]` types and constants of that
//! ABI ([`contract`]), the C header that documents it
//! (`include/wildsort.h`), and the Rust SDK ([`sdk`]) that exports a plugin
//! from ordinary sort functions:
//!
//! ```ignore
//! fn sort_u64(keys: &mut [u64]) { keys.sort_unstable() }
//!
//! wildhost_abi::export_plugin! {
//!     module: wildsort_mine,
//!     version: "0.1.0",
//!     doc: "an example",
//!     features: [],
//!     backends: [{
//!         name: "mine", doc: "std's unstable sort", flags: 0, scratch_percent: 0,
//!         sorts: { u64: sort_u64 },
//!     }],
//! }
//! ```
//!
//! Neither side depends on the other: the host and the plugins depend on this
//! crate only.

pub mod contract;
pub mod sdk;

pub use contract::{
    ABI_MAJOR, ABI_MINOR, AbiTag, ENTRY_PREFIX, InitFn, KeyType, LAYOUT_PREFIX, MAGIC, MAX_DOC,
    MAX_FEATURES, MAX_METHOD_SIZE, MAX_METHODS, MAX_NAME, METHOD_SIZE_1_0, METHOD_SIZE_1_1,
    MethodDef, ModuleDef, PayloadType, SortFn, SortOptions, SortPairsFn, SortWithFn, TAG_PREFIX,
    UnknownKeyType, flags, status,
};

/// The C header, for tools that write it next to a C plugin (`wildhost new`).
pub const C_HEADER: &str = include_str!("../include/wildsort.h");

/// Items the SDK's macros name; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use abi_stable::StableAbi;
    pub use abi_stable::type_layout::TypeLayout;
    pub use core::ffi::{c_char, c_void};
}
