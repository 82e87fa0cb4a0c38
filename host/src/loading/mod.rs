//! Loading: from a directory on the search path to a validated module
//! definition in this process.
//!
//! The steps, in the order a file meets them:
//!
//! 1. [`discover`] lists the plugin files on the search path, and [`trust`]
//!    refuses a file or directory that others can write to, and
//!    [`manifest`] a file `wildhost install` put there whose bytes changed
//!    since. Each file is
//!    then opened once ([`plugin_file`]): every later step asks about, reads
//!    or loads that open file, never its path again.
//! 2. [`preflight`] reads the object file (through `pages`) without
//!    running any of its code: format, architecture, entry point, ABI tag,
//!    and the libraries it needs and where the loader looks for them
//!    ([`dynamic`]).
//! 3. Optionally, the [`scanner`] runs the plugin's entry point and `init`
//!    in a child process first, and caches what it saw by [`file_id`].
//! 4. [`load`] opens the file (`loader`, the only `dlopen`), compares the
//!    contract's type layout (`layout`, the only user of abi_stable),
//!    calls the entry point, checks the module definition it returned
//!    ([`validate`]), and runs `init`.
//!
//! A module linked into the program rather than found in a file is a
//! [`builtin`]: it goes through the tag check, the layout check, the entry
//! point, [`validate`] and `init` as a file does, and skips the steps that
//! concern a file.
//!
//! Preflight decides which files are loaded; nothing decides what a loaded
//! plugin's code does (see the crate's trust model).

pub mod builtin;
pub mod discover;
pub mod dynamic;
pub mod file_id;
mod layout;
pub mod load;
mod loader;
pub mod manifest;
mod pages;
pub mod plugin_file;
pub mod preflight;
pub mod scanner;
pub mod trust;
pub mod validate;
