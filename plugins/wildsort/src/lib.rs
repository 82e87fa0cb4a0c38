//! The `wildsort` plugin is written in C (`wildsort.c`); `build.rs` compiles
//! it into `libwildsort.so` beside the other plugins, and into a static
//! library this crate links: a program that depends on this crate carries
//! the module and registers it as a built-in with
//! `wildhost::builtin_module!(c: wildsort)` (its symbols are
//! `WildInit_wildsort` and `WildAbi_wildsort`). This crate has no Rust code
//! of its own.

/// The file name of the plugin this package builds.
pub const FILE_NAME: &str = "libwildsort.so";
