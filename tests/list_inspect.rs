//! `wildhost list` and `wildhost inspect`: what they tell, in text and JSON.

use std::path::Path;
use wildhost_suite::{Sandbox, shipped_plugin};

#[test]
fn list_shows_every_backend_with_its_facts() {
    let sandbox = Sandbox::with_shipped_plugins();
    let out = sandbox.run(["list"]);
    out.expect_code(0).expect_stdout(&[
        "BACKEND",
        "std",
        "wildsort_std",
        "wildsort",
        "u32 u64 i32 i64 f32 f64",
        "stable, scratch 100%",
        "available",
        "search path (first match wins):",
    ]);
}

#[test]
fn list_json_has_every_field() {
    let sandbox = Sandbox::with_shipped_plugins();
    let out = sandbox.run(["list", "--json"]);
    out.expect_code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let backends = json["backends"].as_array().expect("backends");
    let wildsort = backends
        .iter()
        .find(|b| b["name"] == "wildsort")
        .expect("wildsort");
    assert_eq!(wildsort["module"], "wildsort");
    assert_eq!(wildsort["abi"], "1.0");
    assert_eq!(wildsort["stable"], true);
    assert_eq!(wildsort["parallel"], false);
    assert_eq!(wildsort["scratch_percent"], 100);
    assert_eq!(wildsort["available"], true);
    assert_eq!(wildsort["features"], serde_json::json!(["c11"]));
    assert_eq!(
        wildsort["key_types"],
        serde_json::json!(["u32", "u64", "i32", "i64", "f32", "f64"])
    );
    assert!(
        wildsort["file"]
            .as_str()
            .expect("file")
            .ends_with("plugins/libwildsort.so")
    );
    assert!(wildsort["version"].is_string());
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
    assert_eq!(json["modules"].as_array().expect("modules").len(), 3);
    assert!(json["refused"].as_array().expect("refused").is_empty());
    let search = json["search_path"].as_array().expect("search_path");
    assert_eq!(search[0]["origin"], "--plugin-dir");
}

#[test]
fn inspect_tells_everything_about_a_good_plugin() {
    let sandbox = Sandbox::new();
    let path = shipped_plugin("libwildsort.so");
    let out = sandbox.run([Path::new("inspect"), &path]);
    out.expect_code(0).expect_stdout(&[
        "format:       ELF 64-bit",
        "module:       wildsort (from the file name)",
        "entry point:  WildInit_wildsort (exported)",
        "ABI tag:      1.0 (host speaks 1.0)",
        "status:       loadable",
        "features:     c11",
        "wildsort",
    ]);
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
fn inspect_of_a_missing_file_is_an_error() {
    let sandbox = Sandbox::new();
    sandbox
        .run(["inspect", "/nonexistent/libnothing.so"])
        .expect_code(1)
        .expect_stderr(&[
            "error: cannot inspect `/nonexistent/libnothing.so`",
            "no such file",
            "help: ",
        ]);
    sandbox.run(["inspect"]).expect_code(2);
}
