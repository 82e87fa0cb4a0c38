//! Where plugins are found: the backends built into `wildhost` first, then
//! `--plugin-dir`, then `WILDHOST_PLUGIN_PATH`, then the user's data
//! directory, then the executable's directory; never the current
//! directory; the first file of a module wins.
//!
//! The files placed here are a fixture plugin (module `found`, backend
//! `hostile`): a file of a shipped module's name is shadowed by the
//! built-in, wherever it lies.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use wildhost_suite::{Outcome, SHIPPED_LIST, Sandbox, fixtures, shipped_plugin};

fn list_json(out: &Outcome) -> serde_json::Value {
    out.expect_code(0);
    serde_json::from_slice(&out.stdout).expect("list --json is JSON")
}

/// The file each backend was loaded from, by backend name; `None` for a
/// backend not found or built in.
fn backend_file(json: &serde_json::Value, name: &str) -> Option<PathBuf> {
    json["backends"]
        .as_array()
        .expect("backends")
        .iter()
        .find(|b| b["name"] == name)
        .and_then(|b| b["file"].as_str().map(PathBuf::from))
}

/// The backends' names and origins, in order.
fn backend_origins(json: &serde_json::Value) -> Vec<(String, String)> {
    json["backends"]
        .as_array()
        .expect("backends")
        .iter()
        .map(|b| {
            let text = |key: &str| b[key].as_str().expect("a string").to_string();
            (text("name"), text("origin"))
        })
        .collect()
}

/// The backends built into `wildhost`, as [`backend_origins`] lists them.
fn built_ins() -> Vec<(String, String)> {
    ["wildsort", "radix", "std"]
        .map(|name| (name.to_string(), "built-in".to_string()))
        .to_vec()
}

/// The plugin file these tests place: module `found`, backend `hostile`
/// (u64 keys).
const FILE: &str = "libfound.so";

fn plugin() -> PathBuf {
    fixtures::compile_c("hostile.c", FILE, &["-DMODULE=found"])
}

fn dir(sandbox: &Sandbox, name: &str) -> PathBuf {
    let dir = sandbox.path().join(name);
    fs::create_dir_all(&dir).expect("create a directory");
    dir
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().expect("canonicalize")
}

#[test]
fn each_place_on_the_search_path_is_searched_in_order() {
    let sandbox = Sandbox::new();
    let plugin = plugin();
    let flag = dir(&sandbox, "flag");
    let env_a = dir(&sandbox, "env-a");
    let env_b = dir(&sandbox, "env-b");
    let xdg = dir(&sandbox, "data/wildhost/plugins");
    let exe_dir = sandbox.path().join("bin");
    let places = [&flag, &env_a, &env_b, &xdg, &exe_dir];
    for place in places {
        fs::copy(&plugin, place.join(FILE)).expect("copy");
    }
    let env_path = format!("{}::{}", env_a.display(), env_b.display());

    // Remove the winner each time: the next place on the path takes over.
    for (i, winner) in places.iter().enumerate() {
        let mut command = sandbox.bare_command();
        command.env("WILDHOST_PLUGIN_PATH", &env_path);
        command
            .arg("--plugin-dir")
            .arg(&flag)
            .args(["list", "--json"]);
        let json = list_json(&wildhost_suite::run(command, b""));
        let file = backend_file(&json, "hostile").expect("the plugin is found");
        assert_eq!(file, canonical(&winner.join(FILE)), "place {i}");
        let shadowed = json["shadowed"].as_array().expect("shadowed").len();
        assert_eq!(
            shadowed,
            places.len() - i - 1,
            "the later copies are shadowed"
        );
        fs::remove_file(winner.join(FILE)).expect("remove the winner");
    }
}

#[test]
fn home_is_used_when_xdg_data_home_is_unset() {
    let sandbox = Sandbox::new();
    let home_plugins = dir(&sandbox, "home/.local/share/wildhost/plugins");
    fs::copy(plugin(), home_plugins.join(FILE)).expect("copy");
    let mut command = sandbox.bare_command();
    command.env_remove("XDG_DATA_HOME").args(["list", "--json"]);
    let json = list_json(&wildhost_suite::run(command, b""));
    assert_eq!(
        backend_file(&json, "hostile"),
        Some(canonical(&home_plugins.join(FILE)))
    );
}

#[test]
fn the_current_directory_is_never_searched() {
    let sandbox = Sandbox::new();
    // A plugin in the working directory, as a careless download would put it.
    fs::copy(plugin(), sandbox.work().join(FILE)).expect("copy");
    let canary = sandbox.path().join("canary");
    let hostile = fixtures::compile_c("hostile.c", "libhostile.so", &[]);
    fs::copy(&hostile, sandbox.work().join("libhostile.so")).expect("copy");

    let mut command = sandbox.bare_command();
    command
        .env("WILDHOST_TEST_CANARY", &canary)
        .args(["list", "--json"]);
    let json = list_json(&wildhost_suite::run(command, b""));
    assert_eq!(backend_origins(&json), built_ins());
    assert!(
        !canary.exists(),
        "a plugin in the current directory was opened"
    );

    // An empty entry in WILDHOST_PLUGIN_PATH does not mean "here" either.
    let mut command = sandbox.bare_command();
    command
        .env("WILDHOST_TEST_CANARY", &canary)
        .env("WILDHOST_PLUGIN_PATH", ":")
        .args(["list", "--json"]);
    let json = list_json(&wildhost_suite::run(command, b""));
    assert_eq!(backend_origins(&json), built_ins());
    assert!(!canary.exists());

    // Named explicitly, it is used.
    let mut command = sandbox.bare_command();
    command.env("WILDHOST_TEST_CANARY", &canary).args([
        "--plugin-dir",
        ".",
        "sort",
        "-b",
        "found.hostile",
        "-t",
        "u64",
    ]);
    let out = wildhost_suite::run(command, b"2\n1\n");
    out.expect_code(0);
    assert_eq!(out.stdout_text(), "1\n2\n");
    let opened = fs::read_to_string(&canary).expect("the canary of the opened files");
    assert!(opened.lines().any(|m| m == "found"), "{opened}");
}

#[test]
fn the_executables_directory_is_searched() {
    let sandbox = Sandbox::new();
    fs::copy(plugin(), sandbox.path().join("bin").join(FILE)).expect("copy");
    let mut command = sandbox.bare_command();
    command.args(["sort", "-b", "hostile", "-t", "u64"]);
    let out = wildhost_suite::run(command, b"10\n5\n");
    out.expect_code(0);
    assert_eq!(out.stdout_text(), "5\n10\n");
}

#[test]
fn a_missing_plugin_dir_named_by_the_user_is_reported_but_not_fatal() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(["--plugin-dir", "/nonexistent/wildhost", "list"]);
    sandbox.normalise(out).expect_exactly(
        0,
        &[
            SHIPPED_LIST,
            "
refused (1):
  /nonexistent/wildhost
    cause: cannot use the plugin directory: No such file or directory (os error 2) (discovery)
    help: check the path given with --plugin-dir or WILDHOST_PLUGIN_PATH

search path (first match wins):
  <sandbox>/plugins  [--plugin-dir]
  /nonexistent/wildhost  [--plugin-dir] (missing)
  <sandbox>/data/wildhost/plugins  [user plugin directory] (missing)
  <sandbox>/bin  [next to the wildhost executable]
",
        ]
        .concat(),
        "",
    );
}

#[test]
fn a_dangling_symlink_is_refused_with_a_reason() {
    let sandbox = Sandbox::new();
    symlink(
        "/nonexistent/libgone.so",
        sandbox.plugins().join("libgone.so"),
    )
    .expect("symlink");
    let json = list_json(&sandbox.run(["list", "--json"]));
    let refused = json["refused"].as_array().expect("refused");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0]["path"]
            .as_str()
            .expect("path")
            .ends_with("libgone.so")
    );
    assert_eq!(backend_origins(&json), built_ins(), "the others still load");
}

#[test]
fn a_symlinked_plugin_loads_once() {
    let sandbox = Sandbox::new();
    let installed = sandbox.install(&plugin());
    let other = dir(&sandbox, "other");
    symlink(&installed, other.join(FILE)).expect("symlink");
    let out = sandbox.run([
        "--plugin-dir",
        other.to_str().expect("UTF-8"),
        "list",
        "--json",
    ]);
    let json = list_json(&out);
    let found = json["backends"]
        .as_array()
        .expect("backends")
        .iter()
        .filter(|b| b["name"] == "hostile")
        .count();
    assert_eq!(found, 1);
    let shadowed = json["shadowed"].as_array().expect("shadowed");
    assert_eq!(shadowed.len(), 1, "{shadowed:?}");
    assert_eq!(shadowed[0]["module"], "found");
}

#[test]
fn files_that_are_not_plugins_by_name_are_ignored() {
    let sandbox = Sandbox::new();
    sandbox.plant("README.txt", b"notes");
    sandbox.plant("libwildsort_std.so.bak", b"old");
    let json = list_json(&sandbox.run(["list", "--json"]));
    assert!(
        json["refused"].as_array().expect("refused").is_empty(),
        "{json}"
    );
}

#[test]
fn two_modules_with_the_same_backend_name_shadow_the_later_backend() {
    let sandbox = Sandbox::new();
    // Two modules, both with a backend named `hostile`.
    let a = fixtures::compile_c("hostile.c", "libhost_a.so", &["-DMODULE=host_a"]);
    let b = fixtures::compile_c("hostile.c", "libhost_b.so", &["-DMODULE=host_b"]);
    sandbox.install(&a);
    sandbox.install(&b);
    let json = list_json(&sandbox.run(["list", "--json"]));
    let hostile: Vec<_> = json["backends"]
        .as_array()
        .expect("backends")
        .iter()
        .filter(|b| b["name"] == "hostile")
        .collect();
    assert_eq!(hostile.len(), 1);
    assert_eq!(
        hostile[0]["module"], "host_a",
        "the first module in file order wins"
    );
    let shadowed = json["shadowed_backends"]
        .as_array()
        .expect("shadowed_backends");
    assert_eq!(shadowed.len(), 1, "{shadowed:?}");
    let text = sandbox.normalise(sandbox.run(["list"]));
    text.expect_exactly(
        0,
        &["\
BACKEND   MODULE          KEY TYPES                FLAGS                                           DEFAULT FOR              STATUS     DESCRIPTION
wildsort  wildsort        u32 u64 i32 i64 f32 f64  stable, pairs, scratch 100%                     -                        available  stable bottom-up merge sort with insertion-sorted runs, written in C
radix     wildsort_radix  u32 u64 i32 i64 f32 f64  stable, parallel, pairs, threads, scratch 100%  u32 u64 i32 i64 f32 f64  available  MSD radix sort (adaptive digits, counting for few values), one scratch buffer the size of the input; on several threads when given a thread count
std       wildsort_std    u32 u64 i32 i64 f32 f64  stable, pairs, scratch 100%                     -                        available  core::slice::sort_unstable (pattern-defeating quicksort), in place; pairs by a stable sort of indices
hostile   host_a          u64                      in place                                        -                        available  sorts with qsort

MODULE          VERSION  ABI  FEATURES  FROM
wildsort        1.0.0    1.3  c11       built-in
wildsort_radix  0.1.0    1.3  -         built-in
wildsort_std    0.1.0    1.3  -         built-in
host_a          6.6.6    1.3  qsort     <sandbox>/plugins/libhost_a.so
host_b          6.6.6    1.3  qsort     <sandbox>/plugins/libhost_b.so

shadowed (1):
  backend `hostile` of module `host_b`: the name is taken by module `host_a` (reach it as `host_b.hostile`)

", wildhost_suite::SEARCH_PATH].concat(),
        "",
    );
}

/// The built-ins come first: a plugin file of a shipped module's name, the
/// shipped file itself or another, is shadowed by the built-in and never
/// opened (its constructor would write to the canary), and the backend
/// sorts through the built-in.
#[test]
fn a_file_of_a_built_in_modules_name_is_shadowed_and_never_opened() {
    let sandbox = Sandbox::new();
    sandbox.install(&shipped_plugin("libwildsort_std.so"));
    let impostor = fixtures::compile_c(
        "hostile.c",
        "libwildsort_radix.so",
        &["-DMODULE=wildsort_radix", "-DCASE_SORT_DROPS_THE_MAX"],
    );
    sandbox.install(&impostor);
    let canary = sandbox.path().join("canary");
    let mut command = sandbox.command(["list"]);
    command.env("WILDHOST_TEST_CANARY", &canary);
    let out = sandbox.normalise(wildhost_suite::run(command, b""));
    out.expect_exactly(
        0,
        &[
            SHIPPED_LIST,
            "
shadowed (2):
  <sandbox>/plugins/libwildsort_radix.so: module `wildsort_radix` is built into wildhost
  <sandbox>/plugins/libwildsort_std.so: module `wildsort_std` is built into wildhost

",
            wildhost_suite::SEARCH_PATH,
        ]
        .concat(),
        "",
    );
    for backend in ["radix", "std"] {
        let mut command = sandbox.command(["sort", "-b", backend, "-t", "u64"]);
        command.env("WILDHOST_TEST_CANARY", &canary);
        wildhost_suite::run(command, b"3\n18446744073709551615\n1\n").expect_exactly(
            0,
            "1\n3\n18446744073709551615\n",
            "",
        );
    }
    assert!(!canary.exists(), "a shadowed file was opened");
    let json = list_json(&sandbox.run(["list", "--json"]));
    let shadowed = json["shadowed"].as_array().expect("shadowed");
    assert!(
        shadowed.iter().all(|s| s["by"] == "<built-in>"),
        "{shadowed:?}"
    );
}
