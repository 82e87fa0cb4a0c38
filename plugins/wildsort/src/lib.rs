//! The `wildsort` plugin is written in C (`wildsort.c`); `build.rs` compiles
//! it into `libwildsort.so` beside the other plugins. This crate has no Rust
//! code of its own.

/// The file name of the plugin this package builds.
pub const FILE_NAME: &str = "libwildsort.so";
