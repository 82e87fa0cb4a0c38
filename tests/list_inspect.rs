//! `wildhost list` and `wildhost inspect`: what they tell, in text and JSON.
//! The texts are compared whole, byte for byte, with the sandbox's path
//! written as `<sandbox>`; a change in them is a change users see.

use std::path::Path;
use wildhost_suite::{SHIPPED_LIST, Sandbox, fixtures, shipped_plugin, with_build_facts};

/// Runs `wildhost inspect` (with `extra` arguments) on the shipped
/// `file_name`, installed in the sandbox's `plugins/`, and checks its
/// whole output against `expected`.
fn expect_inspect(file_name: &str, extra: &[&str], expected: &str) {
    let sandbox = Sandbox::new();
    let path = sandbox.install(&shipped_plugin(file_name));
    let mut args = vec![Path::new("inspect"), &path];
    args.extend(extra.iter().map(Path::new));
    let out = sandbox.normalise(sandbox.run(args));
    out.expect_exactly(0, &with_build_facts(expected, &path), "");
}

#[test]
fn list_shows_every_backend_with_its_facts() {
    let sandbox = Sandbox::new();
    let out = sandbox.normalise(sandbox.run(["list"]));
    out.expect_exactly(
        0,
        &[
            SHIPPED_LIST,
            "
",
            wildhost_suite::SEARCH_PATH,
        ]
        .concat(),
        "",
    );
}

#[test]
fn list_shows_a_refused_file_with_its_cause_and_help() {
    let sandbox = Sandbox::new();
    sandbox.plant("libjunk.so", b"junk");
    let out = sandbox.normalise(sandbox.run(["list"]));
    out.expect_exactly(
        0,
        &[SHIPPED_LIST, "
refused (1):
  <sandbox>/plugins/libjunk.so
    cause: not a shared library: the file is not an object file (preflight)
    help: a plugin must be a shared library (.so) built for this machine; remove this file from the plugin directory

", wildhost_suite::SEARCH_PATH].concat(),
        "",
    );
}

#[test]
fn list_json_is_the_frozen_text() {
    let sandbox = Sandbox::new();
    let out = sandbox.normalise(sandbox.run(["list", "--json"]));
    out.expect_exactly(0, include_str!("expected/list.json"), "");
}

#[test]
fn list_json_has_every_field() {
    let sandbox = Sandbox::new();
    let mine = sandbox.install(&fixtures::compile_c(
        "hostile.c",
        "libmine.so",
        &["-DMODULE=mine"],
    ));
    let out = sandbox.run(["list", "--json"]);
    out.expect_code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let backends = json["backends"].as_array().expect("backends");
    let wildsort = backends
        .iter()
        .find(|b| b["name"] == "wildsort")
        .expect("wildsort");
    assert_eq!(wildsort["module"], "wildsort");
    assert_eq!(wildsort["abi"], "1.3");
    assert_eq!(wildsort["stable"], true);
    assert_eq!(wildsort["parallel"], false);
    assert_eq!(wildsort["pairs"], true);
    assert_eq!(wildsort["pair_payloads"], serde_json::json!(["u32", "u64"]));
    assert_eq!(wildsort["scratch_percent"], 100);
    assert_eq!(wildsort["available"], true);
    assert_eq!(wildsort["features"], serde_json::json!(["c11"]));
    assert_eq!(
        wildsort["key_types"],
        serde_json::json!(["u32", "u64", "i32", "i64", "f32", "f64"])
    );
    assert!(wildsort["file"].is_null(), "built in: no file");
    assert_eq!(wildsort["origin"], "built-in");
    assert!(wildsort["version"].is_string());
    let hostile = backends
        .iter()
        .find(|b| b["name"] == "hostile")
        .expect("hostile");
    assert_eq!(hostile["module"], "mine");
    assert_eq!(hostile["file"], mine.to_str().expect("UTF-8"));
    assert_eq!(hostile["origin"], "file");
    // radix is the default for every type, the others for none.
    let radix = backends
        .iter()
        .find(|b| b["name"] == "radix")
        .expect("radix");
    assert_eq!(
        radix["default_for"],
        serde_json::json!(["u32", "u64", "i32", "i64", "f32", "f64"])
    );
    let std = backends.iter().find(|b| b["name"] == "std").expect("std");
    assert_eq!(std["default_for"], serde_json::json!([]));
    let modules = json["modules"].as_array().expect("modules");
    let origins: Vec<(&str, &str, &str)> = modules
        .iter()
        .map(|m| {
            let origin = m
                .get("origin")
                .map_or("file", |o| o.as_str().expect("origin"));
            (
                m["name"].as_str().expect("name"),
                origin,
                m["path"].as_str().expect("path"),
            )
        })
        .collect();
    assert_eq!(
        origins,
        [
            ("wildsort", "built-in", "<built-in>"),
            ("wildsort_radix", "built-in", "<built-in>"),
            ("wildsort_std", "built-in", "<built-in>"),
            ("mine", "file", mine.to_str().expect("UTF-8")),
        ]
    );
    assert!(json["refused"].as_array().expect("refused").is_empty());
    let search = json["search_path"].as_array().expect("search_path");
    assert_eq!(search[0]["origin"], "--plugin-dir");
}

#[test]
fn inspect_tells_everything_about_a_good_plugin() {
    expect_inspect(
        "libwildsort.so",
        &[],
        "\
file:         <sandbox>/plugins/libwildsort.so
size:         <size> bytes
format:       ELF 64-bit <arch> shared library
module:       wildsort (from the file name)
entry point:  WildInit_wildsort (exported)
ABI tag:      1.3 (host speaks 1.3)
needs:        libc.so.6
library path: -
layout:       not exported (C plugin): checked by magic, version and size
status:       loadable
shadowed:     module `wildsort` is built into wildhost: `list` and `sort` use the built-in and never load this file from a plugin directory
version:      1.0.0
doc:          the classic wildsort module, in C
features:     c11
availability: available
backends:
  wildsort  [u32 u64 i32 i64 f32 f64]  stable, pairs, scratch 100%
      stable bottom-up merge sort with insertion-sorted runs, written in C
",
    );
    let sandbox = Sandbox::new();
    let path = shipped_plugin("libwildsort.so");
    let json = sandbox.run([Path::new("inspect"), &path, Path::new("--json")]);
    json.expect_code(0);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(json["status"], "loadable");
    assert_eq!(json["preflight"]["entry_symbol"], "WildInit_wildsort");
    assert_eq!(json["module"]["name"], "wildsort");
    assert_eq!(json["backends"][0]["name"], "wildsort");
    assert_eq!(json["backends"][0]["stable"], true);
}

#[test]
fn inspect_tells_everything_about_each_rust_plugin() {
    expect_inspect(
        "libwildsort_std.so",
        &[],
        "\
file:         <sandbox>/plugins/libwildsort_std.so
size:         <size> bytes
format:       ELF 64-bit <arch> shared library
module:       wildsort_std (from the file name)
entry point:  WildInit_wildsort_std (exported)
ABI tag:      1.3 (host speaks 1.3)
needs:        libgcc_s.so.1 libc.so.6 <ld.so>
library path: -
layout:       abi_stable layout matches the host's
status:       loadable
shadowed:     module `wildsort_std` is built into wildhost: `list` and `sort` use the built-in and never load this file from a plugin directory
version:      0.1.0
doc:          Rust's standard library sorts
features:     -
availability: available
backends:
  std  [u32 u64 i32 i64 f32 f64]  stable, pairs, scratch 100%
      core::slice::sort_unstable (pattern-defeating quicksort), in place; pairs by a stable sort of indices
",
    );
    expect_inspect(
        "libwildsort_radix.so",
        &[],
        "\
file:         <sandbox>/plugins/libwildsort_radix.so
size:         <size> bytes
format:       ELF 64-bit <arch> shared library
module:       wildsort_radix (from the file name)
entry point:  WildInit_wildsort_radix (exported)
ABI tag:      1.3 (host speaks 1.3)
needs:        libgcc_s.so.1 libc.so.6 <ld.so>
library path: -
layout:       abi_stable layout matches the host's
status:       loadable
shadowed:     module `wildsort_radix` is built into wildhost: `list` and `sort` use the built-in and never load this file from a plugin directory
version:      0.1.0
doc:          radix sorts
features:     -
availability: available
backends:
  radix  [u32 u64 i32 i64 f32 f64]  stable, parallel, pairs, threads, from source, scratch 100%
      MSD radix sort (adaptive digits, counting for few values), one scratch buffer the size of the input; on several threads when given a thread count
",
    );
}

#[test]
fn inspect_json_of_each_shipped_plugin_is_the_frozen_text() {
    expect_inspect(
        "libwildsort.so",
        &["--json"],
        include_str!("expected/inspect-wildsort.json"),
    );
    expect_inspect(
        "libwildsort_std.so",
        &["--json"],
        include_str!("expected/inspect-wildsort_std.json"),
    );
    expect_inspect(
        "libwildsort_radix.so",
        &["--json"],
        include_str!("expected/inspect-wildsort_radix.json"),
    );
}

#[test]
fn inspect_of_a_rust_plugin_reports_the_layout_check() {
    let sandbox = Sandbox::new();
    let path = shipped_plugin("libwildsort_std.so");
    let out = sandbox.run([Path::new("inspect"), &path, Path::new("--json")]);
    out.expect_code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["module"]["layout"], "matched");
    assert_eq!(json["preflight"]["has_layout"], true);
}

#[test]
fn inspect_json_of_a_refused_file_carries_the_refusal() {
    let sandbox = Sandbox::new();
    let path = sandbox.plant("libjunk.so", b"junk");
    let out = sandbox.run([Path::new("inspect"), &path, Path::new("--json")]);
    out.expect_code(1);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["status"], "refused");
    assert_eq!(json["refusal"]["stage"], "preflight");
    assert_eq!(
        json["refusal"]["cause"],
        "not a shared library: the file is not an object file"
    );
    assert!(json["module"].is_null());
}

#[test]
fn inspect_json_of_a_refused_file_is_the_frozen_text() {
    let sandbox = Sandbox::new();
    let path = sandbox.plant("libjunk.so", b"junk");
    let out = sandbox.normalise(sandbox.run([Path::new("inspect"), &path, Path::new("--json")]));
    out.expect_exactly(
        1,
        r#"{
  "path": "<sandbox>/plugins/libjunk.so",
  "origin": "file",
  "status": "refused",
  "refusal": {
    "stage": "preflight",
    "cause": "not a shared library: the file is not an object file",
    "help": "a plugin must be a shared library (.so) built for this machine; remove this file from the plugin directory"
  },
  "preflight": null,
  "module": null,
  "backends": []
}
"#,
        "\
error: cannot load plugin `<sandbox>/plugins/libjunk.so`
  cause: not a shared library: the file is not an object file
  help: a plugin must be a shared library (.so) built for this machine; remove this file from the plugin directory
",
    );
}

#[test]
fn inspect_of_a_missing_file_is_an_error() {
    let sandbox = Sandbox::new();
    sandbox
        .run(["inspect", "/nonexistent/libnothing.so"])
        .expect_exactly(
            1,
            "",
            "\
error: cannot inspect `/nonexistent/libnothing.so`
  cause: no such file
  help: give the path of a plugin file (e.g. target/release/libwildsort_radix.so) or a module or backend name that `wildhost list` shows
",
        );
    sandbox.run(["inspect"]).expect_exactly(
        2,
        "",
        "\
error: the following required arguments were not provided:
  <PATH|NAME>

Usage: wildhost inspect <PATH|NAME>

For more information, try '--help'.
",
    );
}

/// `COLUMNS=100` fits every line of `list` into 100 columns (standard
/// output is no terminal here, so COLUMNS decides), with every backend,
/// module and word of a description still there; `--wide` prints the
/// whole lines of the frozen listing, as does no COLUMNS.
#[test]
fn list_fits_columns_and_wide_prints_every_column_in_full() {
    let sandbox = Sandbox::new();
    sandbox.install(&fixtures::compile_c(
        "hostile.c",
        "libmine.so",
        &["-DMODULE=mine"],
    ));
    sandbox.install(&fixtures::hostile("NULL_SORT"));
    let list = |extra: &[&str]| {
        let mut command = sandbox.command(["list"]);
        command.args(extra).env("COLUMNS", "100");
        wildhost_suite::run(command, b"")
    };
    let narrow = list(&[]);
    narrow.expect_code(0);
    let text = narrow.stdout_text();
    for line in text.lines() {
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line}\n{text}",
            line.chars().count()
        );
    }
    let words = |text: &str| {
        let mut words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
        words.sort();
        words
    };
    let full = sandbox.run(["list"]);
    full.expect_code(0);
    assert!(
        full.stdout_text().lines().any(|l| l.chars().count() > 100),
        "the full listing should be wider than the test's limit"
    );
    // The same words: nothing dropped, only wrapped.
    assert_eq!(words(&text), words(&full.stdout_text()));
    for name in [
        "wildsort",
        "radix",
        "std",
        "hostile",
        "wildsort_radix",
        "mine",
    ] {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "{name}: {text}"
        );
    }
    assert!(
        text.contains("\n          MSD radix sort (adaptive digits,"),
        "{text}"
    );

    let wide = list(&["--wide"]);
    wide.expect_code(0);
    assert_eq!(wide.stdout_text(), full.stdout_text());

    let shipped = Sandbox::new();
    let mut command = shipped.command(["list", "--wide"]);
    command.env("COLUMNS", "40");
    let out = shipped.normalise(wildhost_suite::run(command, b""));
    out.expect_exactly(
        0,
        &[
            SHIPPED_LIST,
            "
",
            wildhost_suite::SEARCH_PATH,
        ]
        .concat(),
        "",
    );
}

/// A directory is named as one, with a plugin file in it to inspect and
/// how to list them all; an empty one says it holds none.
#[test]
fn inspect_of_a_directory_says_it_is_one() {
    let sandbox = Sandbox::new();
    sandbox.install(&shipped_plugin("libwildsort_radix.so"));
    sandbox.plant("README.txt", b"not a plugin");
    let out = sandbox.normalise(sandbox.run([Path::new("inspect"), &sandbox.plugins()]));
    out.expect_exactly(
        1,
        "",
        "\
error: cannot inspect `<sandbox>/plugins`
  cause: it is a directory; `wildhost inspect` takes one plugin file or a module name
  help: inspect its plugin file: `wildhost inspect <sandbox>/plugins/libwildsort_radix.so`, or list them all: `wildhost list --plugin-dir <sandbox>/plugins`
",
    );
    sandbox.install(&shipped_plugin("libwildsort_std.so"));
    sandbox
        .run([Path::new("inspect"), &sandbox.plugins()])
        .expect_code(1)
        .expect_stderr(&["help: inspect one of its 2 plugin files: `wildhost inspect "]);
    sandbox.run(["inspect", "."]).expect_exactly(
        1,
        "",
        "\
error: cannot inspect `.`
  cause: it is a directory; `wildhost inspect` takes one plugin file or a module name
  help: it holds no plugin file: give the path of one (`lib<module>.so`), or a module name
",
    );
}

/// `inspect NAME` of a module loaded from a file inspects that file; a
/// backend's name reaches its module.
#[test]
fn inspect_by_name_of_a_plugin_file_inspects_the_file() {
    let sandbox = Sandbox::new();
    sandbox.install(&fixtures::compile_c(
        "hostile.c",
        "libmine.so",
        &["-DMODULE=mine"],
    ));
    for name in ["mine", "hostile"] {
        let out = sandbox.normalise(sandbox.run(["inspect", name]));
        out.expect_code(0).expect_stdout(&[
            "file:         <sandbox>/plugins/libmine.so\n",
            "module:       mine (from the file name)\n",
            "status:       loadable\n",
        ]);
        let json = sandbox.run(["inspect", name, "--json"]);
        let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
        assert_eq!(json["origin"], "file");
        assert_eq!(json["module"]["name"], "mine");
    }
}
