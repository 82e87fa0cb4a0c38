//! `wildhost new`: the projects it writes build unchanged, load, and sort
//! correctly; bad names and occupied directories are refused.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use wildhost_suite::{Sandbox, fixtures, run, workspace_root};

/// Floats with every special value, and their order by IEEE-754 totalOrder.
const FLOATS: &str = "nan\n-0.0\n1\n-inf\ninf\n-nan\n0\n-2.5\n1e-310\n";
/// The lines as they were written, in order: `-0.0` and `0` are equal, and
/// keep their input order.
const FLOATS_SORTED: &str = "-nan\n-inf\n-2.5\n-0.0\n0\n1e-310\n1\ninf\nnan\n";
const INTS: &str = "42\n-7\n9223372036854775807\n0\n-9223372036854775808\n-7\n";
const INTS_SORTED: &str = "-9223372036854775808\n-7\n-7\n0\n42\n9223372036854775807\n";

/// Runs `command` and fails the test with its output if it fails.
#[track_caller]
fn run_ok(command: Command, what: &str) {
    let out = run(command, b"");
    assert_eq!(
        out.code,
        Some(0),
        "{what} failed\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        out.stderr
    );
}

/// `wildhost new NAME --lang LANG` in the sandbox's work directory; checks
/// that it names every file it wrote and the next steps.
fn new_project(sandbox: &Sandbox, name: &str, lang: &str, files: &[&str]) -> PathBuf {
    let out = sandbox.run(["new", name, "--lang", lang]);
    out.expect_code(0)
        .expect_stdout(&["Next steps:", "wildhost inspect "]);
    let dir = sandbox.work().join(name);
    for file in files {
        assert!(dir.join(file).is_file(), "{file} was not written");
        out.expect_stdout(&[&format!("{name}/{file}")]);
    }
    dir
}

/// Installs `plugin` into the sandbox, then checks `inspect`, sorts
/// through its backend and runs `verify` with `verify_args`.
fn check_plugin(
    sandbox: &Sandbox,
    plugin: &Path,
    name: &str,
    inspect_says: &[&str],
    verify_args: &[&str],
) {
    let installed = sandbox.install(plugin);
    sandbox
        .run([Path::new("inspect"), &installed])
        .expect_code(0)
        .expect_stdout(&["status:       loadable", &format!("module:       {name}")])
        .expect_stdout(inspect_says);
    let out = sandbox.run_with_input(["sort", "-b", name, "-t", "f64"], FLOATS.as_bytes());
    out.expect_code(0);
    assert_eq!(out.stdout_text(), FLOATS_SORTED);
    let out = sandbox.run_with_input(["sort", "-b", name, "-t", "i64"], INTS.as_bytes());
    out.expect_code(0);
    assert_eq!(out.stdout_text(), INTS_SORTED);
    // The template passes every check the host trusts, unchanged.
    let mut verify = vec![Path::new("verify"), &installed];
    verify.extend(verify_args.iter().map(Path::new));
    sandbox
        .run(verify)
        .expect_code(0)
        .expect_stdout(&[" 0 failed"]);
}

#[test]
fn a_new_rust_plugin_builds_loads_and_sorts() {
    let sandbox = Sandbox::new();
    let dir = new_project(
        &sandbox,
        "demo_rust",
        "rust",
        &[
            "Cargo.toml",
            "src/lib.rs",
            "README.md",
            "wildhost-abi/Cargo.toml",
            "wildhost-abi/src/lib.rs",
            "wildhost-abi/src/contract.rs",
            "wildhost-abi/src/sdk.rs",
            "wildhost-abi/include/wildsort.h",
        ],
    );
    // The copy of the contract is exactly the host's.
    for file in [
        "src/lib.rs",
        "src/contract.rs",
        "src/sdk.rs",
        "include/wildsort.h",
    ] {
        let ours = fs::read_to_string(workspace_root().join("abi").join(file)).expect("abi");
        let theirs = fs::read_to_string(dir.join("wildhost-abi").join(file)).expect("copy");
        assert!(
            ours == theirs,
            "wildhost-abi/{file} differs from abi/{file}"
        );
    }
    let manifest = fs::read_to_string(dir.join("wildhost-abi/Cargo.toml")).expect("manifest");
    assert!(!manifest.contains("workspace"), "{manifest}");

    // Built into the fixture directory, so abi_stable is compiled once, and
    // no `wildhost` in `target/` ever finds the plugin beside itself. The
    // lock file of the last build is reused: the same versions, resolved
    // without asking the registry again.
    let target = fixtures::dir().join("target");
    let lock = fixtures::dir().join("new-rust.Cargo.lock");
    fs::create_dir_all(fixtures::dir()).expect("fixture directory");
    if lock.is_file() {
        fs::copy(&lock, dir.join("Cargo.lock")).expect("copy the lock file");
    }
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .env("RUSTFLAGS", "-D warnings");
    run_ok(cargo, "building the new Rust plugin");
    let _ = fs::copy(dir.join("Cargo.lock"), &lock);

    check_plugin(
        &sandbox,
        &target.join("release/libdemo_rust.so"),
        "demo_rust",
        &["layout:       abi_stable layout matches the host's"],
        // std's unstable sort allocates nothing: short inputs show as much.
        &["--max-len", "20000"],
    );
}

#[test]
fn a_new_c_plugin_builds_loads_and_sorts() {
    let sandbox = Sandbox::new();
    let dir = new_project(
        &sandbox,
        "demo_c",
        "c",
        &["plugin.c", "wildsort.h", "Makefile", "README.md"],
    );
    let header = fs::read_to_string(dir.join("wildsort.h")).expect("header");
    assert!(header == wildhost_abi::C_HEADER, "wildsort.h differs");
    let make_available = Command::new("make")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    let command = if make_available {
        let mut make = Command::new("make");
        make.arg("-C")
            .arg(&dir)
            .arg("CFLAGS=-O2 -Wall -Wextra -Werror");
        make
    } else {
        // What the Makefile runs.
        let mut cc = Command::new(std::env::var_os("CC").unwrap_or_else(|| "cc".into()));
        cc.current_dir(&dir).args([
            "-std=c11",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-shared",
            "-fPIC",
            "-fvisibility=hidden",
            "-o",
            "libdemo_c.so",
            "plugin.c",
        ]);
        cc
    };
    run_ok(command, "building the new C plugin");
    check_plugin(
        &sandbox,
        &dir.join("libdemo_c.so"),
        "demo_c",
        &["layout:       not exported (C plugin)"],
        // Long enough that a copy of the 64-bit input would show past the
        // scratch check's slack of 1 MiB and an eighth of the input; the
        // default length runs the debug build's reference sort for a minute.
        &["--max-len", "200000"],
    );
}

#[test]
fn dir_puts_the_project_elsewhere_and_an_empty_directory_is_fine() {
    let sandbox = Sandbox::new();
    sandbox
        .run(["new", "demo_here", "--lang", "c", "--dir", "deep/er"])
        .expect_code(0);
    assert!(sandbox.work().join("deep/er/plugin.c").is_file());
    assert!(!sandbox.work().join("demo_here").exists());

    fs::create_dir(sandbox.work().join("empty")).expect("mkdir");
    sandbox
        .run(["new", "demo_empty", "--lang", "rust", "--dir", "empty"])
        .expect_code(0);
    assert!(sandbox.work().join("empty/src/lib.rs").is_file());
}

#[test]
fn an_invalid_name_is_a_usage_error() {
    let sandbox = Sandbox::new();
    for name in ["9lives", "my-plugin", "a.b", ""] {
        sandbox
            .run(["new", name, "--lang", "c"])
            .expect_code(2)
            .expect_stderr(&[
                &format!("error: `{name}` is not a valid module name"),
                "cause: ",
                "help: ",
            ]);
    }
    sandbox
        .run(["new", "_", "--lang", "rust"])
        .expect_code(2)
        .expect_stderr(&["error: `_` cannot name a Rust plugin"]);
    sandbox.run(["new", "demo"]).expect_code(2);
    sandbox
        .run(["new", "demo", "--lang", "fortran"])
        .expect_code(2);
    assert_eq!(
        fs::read_dir(sandbox.work()).expect("work").count(),
        0,
        "a refused command wrote something"
    );
}

#[test]
fn an_existing_non_empty_directory_is_refused_and_left_alone() {
    let sandbox = Sandbox::new();
    let dir = sandbox.work().join("demo_taken");
    fs::create_dir(&dir).expect("mkdir");
    fs::write(dir.join("Cargo.toml"), "mine\n").expect("write");
    sandbox
        .run(["new", "demo_taken", "--lang", "rust"])
        .expect_code(1)
        .expect_stderr(&[
            "error: cannot create the project in `demo_taken`",
            "not empty",
            "--dir",
        ]);
    assert_eq!(
        fs::read_to_string(dir.join("Cargo.toml")).expect("read"),
        "mine\n"
    );
    assert_eq!(fs::read_dir(&dir).expect("read_dir").count(), 1);

    fs::write(sandbox.work().join("a_file"), "x").expect("write");
    sandbox
        .run(["new", "demo_file", "--lang", "c", "--dir", "a_file"])
        .expect_exactly(
            1,
            "",
            "\
error: cannot create the project in `a_file`
  cause: it exists and is not a directory
  help: choose another directory with --dir PATH
",
        );
    sandbox
        .run(["new", "demo_file", "--lang", "c", "--dir", "a_file/demo"])
        .expect_exactly(
            1,
            "",
            "\
error: cannot create the project in `a_file/demo`
  cause: `a_file` on its path is not a directory
  help: choose another directory with --dir PATH
",
        );
    assert_eq!(
        fs::read_to_string(sandbox.work().join("a_file")).expect("read"),
        "x"
    );
}
