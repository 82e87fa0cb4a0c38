//! wildhost: a host for native sort backends loaded from plugins.
//!
//! A plugin is a shared library built from Rust or C against the
//! `wildhost-abi` contract. The host finds plugin files on a search path,
//! checks each file without running it, loads it, validates the module
//! definition it returns, and offers its backends by name in a [`Registry`]
//! that many threads can share:
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
//!
//! # Trust model
//!
//! Loading a plugin runs its code, with the user's rights, inside this
//! process. The checks of [`loading`] decide *which* files are loaded: a
//! file others can write to, a file for another machine or another ABI, a
//! file that is not a plugin at all, is refused before any of its code
//! runs. They cannot decide what a loaded plugin's code *does*: a plugin
//! that passes them is trusted as any library the user installs is. Two
//! opt-in walls limit the damage of a faulty (not a malicious) plugin: the
//! [scanner](loading::scanner) runs a plugin's entry point and `init` in a
//! child process first, and [`running`] sorts in a forked worker, so that a
//! crash or a hang ends a child, not the host.
//!
//! # How the crate fits together
//!
//! Lower modules never import higher ones:
//!
//! - [`error`], [`keys`], [`process`], [`mem`], [`budget`], [`crash`]: the
//!   base every other module uses (error types, the key vector and the
//!   contract's order, process primitives, large buffers, the memory a sort
//!   needs and reading its input within it, the reports of a process ended
//!   during a plugin call), and the guarded buffer plugins write their
//!   messages into.
//! - [`wire`]: the bytes the host and its child processes exchange, no I/O.
//! - [`loading`]: discovery, trust, preflight, the scanner, `dlopen`,
//!   layout and validation.
//! - [`registry`]: the loaded modules and their backends by name; the one
//!   place a backend's sort function is called.
//! - [`running`]: sorting in a child process, and checking a result.
//! - [`codec`]: reading and writing keys as text or binary.
//! - [`conformance`]: the checks `wildhost verify` runs, and the inputs they
//!   and the benchmarks generate.
//! - [`install`]: putting a plugin file into a plugin directory atomically,
//!   platform tags, and the archives `wildhost pack` writes.

pub mod budget;
pub mod codec;
pub mod conformance;
pub mod crash;
pub mod error;
pub mod external;
#[doc(hidden)]
pub mod fuzzing;
pub mod install;
pub mod keys;
pub mod loading;
pub mod mem;
pub(crate) mod message;
pub mod process;
pub mod registry;
pub mod running;
pub mod threads;
pub mod wire;

pub use error::{Refusal, SortError, Stage};
pub use keys::{KeyVec, SortKey};
pub use loading::builtin::BuiltinModule;
pub use loading::discover::{Origin, SearchPath};
pub use loading::load::{Availability, LayoutCheck, ModuleOrigin};
pub use registry::{Backend, DEFAULT_PREFERENCE, Module, Registry, load_file, load_file_with};
pub use wildhost_abi::sdk::{Key, Payload};
pub use wildhost_abi::{KeyType, PayloadType};
