//! wildhost: a host for native sort backends loaded from plugins.
//!
//! A plugin is a shared library built from Rust or C against the
//! `wildhost-abi` contract. The host finds plugin files on a search path
//! ([`discover`]), checks each file without running it ([`preflight`]),
//! opens it, validates the module definition it returns ([`validate`]), and
//! offers its backends by name in a [`Registry`] that many threads can share.
//!
//! ```no_run
//! let registry = wildhost::Registry::discover_standard();
//! let radix = registry.backend("radix").expect("the radix plugin is installed");
//! let mut keys = vec![3u64, 1, 2];
//! radix.sort(&mut keys)?;
//! # Ok::<(), wildhost::SortError>(())
//! ```
//!
//! Every file that could not be used is kept in [`Registry::refused`] with a
//! cause and a help line; a broken plugin never stops the good ones.

pub mod codec;
pub mod conformance;
pub mod discover;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod integrity;
pub mod isolate;
mod layout;
mod loader;
pub mod mem;
mod pages;
pub mod preflight;
pub mod registry;
pub mod scan;
pub mod trust;
pub mod validate;
mod worker;
pub mod workload;

pub use codec::KeyVec;
pub use discover::{Origin, SearchPath};
pub use error::{Refusal, SortError, Stage};
pub use registry::{
    Availability, Backend, DEFAULT_PREFERENCE, LayoutCheck, Module, Registry, load_file,
    load_file_with,
};
pub use wildhost_abi::KeyType;
pub use wildhost_abi::sdk::Key;
pub use worker::{Loaded, LoadedSortError, Sink};

impl Backend {
    /// Sorts a [`KeyVec`] of any key type in place.
    pub fn sort_keys(&self, keys: &mut KeyVec) -> Result<(), SortError> {
        with_keys!(keys, v => self.sort(v.as_mut_slice()))
    }
}
