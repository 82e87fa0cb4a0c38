//! Compiles the C plugin `plugins/wildsort/wildsort.c` into a static
//! library linked into the extension, where it is the built-in module
//! `wildsort` (registered by `WildInit_wildsort`, as the file
//! `libwildsort.so` would be). The plugin's own `build.rs` still makes the
//! shared library; this compiles the same source a second time, with the
//! version of the plugin's package.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let plugin = manifest_dir.join("../plugins/wildsort");
    let source = plugin.join("wildsort.c");
    let include = manifest_dir.join("../abi/include");
    let package = plugin.join("Cargo.toml");
    for path in [&source, &include.join("wildsort.h"), &package] {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let manifest = fs::read_to_string(&package)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", package.display()));
    let version = manifest
        .lines()
        .find_map(|line| line.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("no `version = \"...\"` line in {}", package.display()));
    cc::Build::new()
        .file(&source)
        .include(&include)
        .define("WILDSORT_VERSION", format!("\"{version}\"").as_str())
        .opt_level(2)
        .flag_if_supported("-std=c11")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("wildsort_builtin");
}
