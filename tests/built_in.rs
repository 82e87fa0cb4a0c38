//! The shipped backends travel inside the `wildhost` binary: a copy of it
//! alone, in an empty directory with no plugin anywhere, lists them as
//! built-in and sorts with each, in this process and in an `--isolate`
//! worker (the binary itself).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use wildhost_suite::{Rng, built};

/// A directory holding nothing but a copy of the built `wildhost`, and an
/// empty home: no plugin directory, no plugin file beside the binary.
struct Alone {
    dir: tempfile::TempDir,
}

impl Alone {
    fn new() -> Alone {
        let dir = tempfile::Builder::new()
            .prefix("wildhost-alone-")
            .tempdir()
            .expect("tempdir");
        fs::copy(built().join("wildhost"), dir.path().join("wildhost")).expect("copy wildhost");
        for sub in ["home", "work"] {
            fs::create_dir(dir.path().join(sub)).expect("mkdir");
        }
        Alone { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `./wildhost ARGS`, run from `work/` with an empty
    /// `WILDHOST_PLUGIN_PATH` and `home/` as the only home.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(self.path().join("wildhost"));
        command
            .current_dir(self.path().join("work"))
            .env("WILDHOST_PLUGIN_PATH", "")
            .env("HOME", self.path().join("home"))
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CACHE_HOME")
            .env_remove("WILDHOST_SCAN_TIMEOUT_MS")
            .env_remove("WILDHOST_ISOLATE_VIA_PIPE")
            .args(args);
        command
    }

    fn run(&self, args: &[&str]) -> wildhost_suite::Outcome {
        wildhost_suite::run(self.command(args), b"")
    }
}

#[test]
fn a_copy_of_wildhost_alone_lists_its_built_in_backends() {
    let alone = Alone::new();
    let names: Vec<String> = fs::read_dir(alone.path())
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.ends_with(".so")),
        "no plugin file beside the binary: {names:?}"
    );
    let out = alone.run(&["list", "--json"]);
    out.expect_code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let backends: Vec<(&str, &str, &str, bool)> = json["backends"]
        .as_array()
        .expect("backends")
        .iter()
        .map(|b| {
            (
                b["name"].as_str().expect("name"),
                b["module"].as_str().expect("module"),
                b["origin"].as_str().expect("origin"),
                b["file"].is_null(),
            )
        })
        .collect();
    assert_eq!(
        backends,
        [
            ("wildsort", "wildsort", "built-in", true),
            ("radix", "wildsort_radix", "built-in", true),
            ("std", "wildsort_std", "built-in", true),
        ]
    );
    for module in json["modules"].as_array().expect("modules") {
        assert_eq!(module["origin"], "built-in", "{module}");
    }
    assert!(json["refused"].as_array().expect("refused").is_empty());
    assert!(json["shadowed"].as_array().expect("shadowed").is_empty());

    let text = alone.run(&["list"]);
    text.expect_code(0)
        .expect_stdout(&["MODULE          VERSION  ABI  FEATURES  FROM\n\
         wildsort        1.0.0    1.3  c11       built-in\n\
         wildsort_radix  0.1.0    1.3  -         built-in\n\
         wildsort_std    0.1.0    1.3  -         built-in\n"]);
}

/// 20000 random integers of both signs, one per line, and the same sorted.
fn numbers() -> (String, String) {
    let mut rng = Rng::new(21);
    let mut keys: Vec<i64> = (0..20_000).map(|_| rng.next_u64() as i64 >> 8).collect();
    let text: String = keys.iter().map(|k| format!("{k}\n")).collect();
    keys.sort_unstable();
    let sorted: String = keys.iter().map(|k| format!("{k}\n")).collect();
    (text, sorted)
}

#[test]
fn a_copy_of_wildhost_alone_sorts_a_file_with_each_built_in_backend() {
    let alone = Alone::new();
    let (text, sorted) = numbers();
    let input: PathBuf = alone.path().join("work/in.txt");
    fs::write(&input, &text).expect("write the input");
    for backend in ["radix", "std", "wildsort"] {
        for isolate in [false, true] {
            let mut args = vec![
                "sort",
                "--backend",
                backend,
                "-i",
                "in.txt",
                "-o",
                "out.txt",
            ];
            if isolate {
                args.push("--isolate");
            }
            alone.run(&args).expect_exactly(0, "", "");
            let out = fs::read_to_string(alone.path().join("work/out.txt")).expect("output");
            assert!(
                out == sorted,
                "{backend} (isolate: {isolate}) sorted wrongly"
            );
        }
    }
}

#[test]
fn inspect_names_a_built_in_module_by_its_backend() {
    let alone = Alone::new();
    alone.run(&["inspect", "radix"]).expect_exactly(
        0,
        "\
module:       wildsort_radix
origin:       built into wildhost (linked into the binary, no file)
layout:       abi_stable layout matches the host's
status:       loadable
version:      0.1.0
doc:          radix sorts
features:     -
availability: available
backends:
  radix  [u32 u64 i32 i64 f32 f64]  stable, parallel, pairs, threads, from source, scratch 100%
      MSD radix sort (adaptive digits, counting for few values), one scratch buffer the size of the input; on several threads when given a thread count
",
        "",
    );
    let out = alone.run(&["inspect", "wildsort", "--json"]);
    out.expect_code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["origin"], "built-in");
    assert_eq!(json["path"], "<built-in>");
    assert!(json["preflight"].is_null());
    assert_eq!(json["module"]["name"], "wildsort");
    assert_eq!(json["module"]["features"], serde_json::json!(["c11"]));
    assert_eq!(json["backends"][0]["name"], "wildsort");
    alone.run(&["inspect", "nosuch"]).expect_exactly(
        1,
        "",
        "\
error: cannot inspect `nosuch`
  cause: no such file, and no module or backend of that name
  help: give the path of a plugin file (e.g. target/release/libwildsort_radix.so) or a module or backend name that `wildhost list` shows
",
    );
}
