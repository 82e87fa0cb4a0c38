//! Compiles `wildsort.c` twice with the system C compiler (the `cc` crate
//! finds it and honours `CC` and `CFLAGS`): into `libwildsort.so`, placed
//! in `target/<profile>/` beside `wildhost` and the Rust plugins, and into
//! a static library that this crate links, so that a program depending on
//! it (the `wildhost` command) carries the module as a built-in.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let source = manifest_dir.join("wildsort.c");
    let include = manifest_dir.join("../../abi/include");
    println!("cargo:rerun-if-changed={}", source.display());
    println!(
        "cargo:rerun-if-changed={}",
        include.join("wildsort.h").display()
    );

    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    let mut build = cc::Build::new();
    build
        .opt_level(2)
        .debug(false)
        .flag_if_supported("-std=c11")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true);
    let compiler = build.get_compiler();
    let built = out_dir.join("libwildsort.so");
    let mut command: Command = compiler.to_command();
    command
        .args(["-shared", "-fPIC", "-fvisibility=hidden"])
        .arg(format!(
            "-DWILDSORT_VERSION=\"{}\"",
            env!("CARGO_PKG_VERSION")
        ))
        .arg("-I")
        .arg(&include)
        .arg(&source)
        .arg("-o")
        .arg(&built);
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {command:?}: {e}"));
    assert!(
        status.success(),
        "the C compiler failed ({status}): {command:?}"
    );

    // OUT_DIR is target/<profile>/build/<package>-<hash>/out.
    let profile_dir = out_dir
        .ancestors()
        .nth(3)
        .expect("OUT_DIR is at least four levels deep");
    install(&built, &profile_dir.join("libwildsort.so"));

    // The built-in: the same source and version in a static library,
    // linked into whatever depends on this crate (`cc` prints the
    // `rustc-link-lib` line). Its `WildInit_wildsort` and `WildAbi_wildsort`
    // are what `wildhost::builtin_module!(c: wildsort)` names.
    build
        .file(&source)
        .include(&include)
        .define(
            "WILDSORT_VERSION",
            format!("\"{}\"", env!("CARGO_PKG_VERSION")).as_str(),
        )
        .compile("wildsort_builtin");
}

/// Copies `from` to `to` atomically: a reader (a running `wildhost`, a
/// test) sees the old file or the new one, never half of one.
fn install(from: &Path, to: &Path) {
    let partial = to.with_extension("so.partial");
    fs::copy(from, &partial)
        .unwrap_or_else(|e| panic!("cannot copy to {}: {e}", partial.display()));
    fs::rename(&partial, to).unwrap_or_else(|e| panic!("cannot install {}: {e}", to.display()));
}
