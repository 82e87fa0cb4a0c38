//! Plugins whose code crashes, aborts, exits or hangs while loading: they
//! run first in the scanner child, are listed with what happened, never
//! enter the wildhost process, and are not scanned again until they change
//! (one that ran out of time is, since the machine may have been busy).
//! Backends that do so while sorting: `sort --isolate` survives them; in
//! wildhost's own process they are named as they end it.

use std::fs;
use std::path::{Path, PathBuf};
use wildhost_suite::{SHIPPED_LIST, Sandbox, fixtures};

/// (CASE, words of the reason)
const CRASHERS: [(&str, &str); 5] = [
    ("ENTRY_SEGFAULTS", "killed by signal 11 (SIGSEGV"),
    ("INIT_SEGFAULTS", "killed by signal 11 (SIGSEGV"),
    (
        "INIT_ABORTS",
        "killed by signal 6 (SIGABRT, aborted); it printed: hostile: giving up",
    ),
    ("INIT_EXITS", "exited with status 3"),
    (
        "INIT_HANGS",
        "did not finish within 0.5 s (its entry point or init hangs)",
    ),
];

fn list(sandbox: &Sandbox, canary: &Path) -> serde_json::Value {
    let mut command = sandbox.command(["list", "--json"]);
    command
        .env("WILDHOST_TEST_CANARY", canary)
        .env("WILDHOST_SCAN_TIMEOUT_MS", "500");
    let out = wildhost_suite::run(command, b"");
    out.expect_code(0);
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn opened(canary: &Path, module: &str) -> usize {
    fs::read_to_string(canary)
        .unwrap_or_default()
        .lines()
        .filter(|l| *l == module)
        .count()
}

#[test]
fn crashing_plugins_are_listed_with_what_happened_to_the_scanner() {
    let sandbox = Sandbox::new();
    for (case, _) in CRASHERS {
        sandbox.install(&fixtures::hostile(case));
    }
    // Listed the same whether scanned now or read from the scan cache.
    for _ in 0..2 {
        let mut command = sandbox.command(["list"]);
        command.env("WILDHOST_SCAN_TIMEOUT_MS", "500");
        let out = sandbox.normalise(wildhost_suite::run(command, b""));
        out.expect_exactly(
            0,
            &[SHIPPED_LIST, "
refused (5):
  <sandbox>/plugins/libh_entry_segfaults.so
    cause: loading it crashed the plugin scanner: it was killed by signal 11 (SIGSEGV, invalid memory access) (scan)
    help: its entry point or init crashed; it is not loaded until the file changes: fix or remove it
  <sandbox>/plugins/libh_init_aborts.so
    cause: loading it crashed the plugin scanner: it was killed by signal 6 (SIGABRT, aborted); it printed: hostile: giving up (scan)
    help: its entry point or init crashed; it is not loaded until the file changes: fix or remove it
  <sandbox>/plugins/libh_init_exits.so
    cause: loading it crashed the plugin scanner: it exited with status 3 before reporting (scan)
    help: its entry point or init crashed; it is not loaded until the file changes: fix or remove it
  <sandbox>/plugins/libh_init_hangs.so
    cause: loading it did not finish within 0.5 s (its entry point or init hangs) (scan)
    help: it is scanned again at the next start, in case the machine was busy; if it hangs every time, fix or remove it
  <sandbox>/plugins/libh_init_segfaults.so
    cause: loading it crashed the plugin scanner: it was killed by signal 11 (SIGSEGV, invalid memory access) (scan)
    help: its entry point or init crashed; it is not loaded until the file changes: fix or remove it

", wildhost_suite::SEARCH_PATH].concat(),
            "",
        );
    }
}

#[test]
fn crashing_plugins_are_listed_as_crashed_and_the_rest_works() {
    let sandbox = Sandbox::new();
    let canary = sandbox.path().join("canary");
    for (case, _) in CRASHERS {
        sandbox.install(&fixtures::hostile(case));
    }
    let json = list(&sandbox, &canary);
    let refused = json["refused"].as_array().expect("refused");
    assert_eq!(refused.len(), CRASHERS.len(), "{refused:?}");
    for (case, words) in CRASHERS {
        let module = fixtures::hostile_module(case);
        let entry = refused
            .iter()
            .find(|r| r["module"] == module.as_str())
            .expect("listed");
        assert_eq!(entry["refusal"]["stage"], "scan", "{module}");
        let cause = entry["refusal"]["cause"].as_str().expect("cause");
        assert!(cause.contains(words), "{module}: {cause}");
        // Run once, in the scanner child.
        assert_eq!(opened(&canary, &module), 1, "{module}");
    }
    let backends: Vec<&str> = json["backends"]
        .as_array()
        .expect("backends")
        .iter()
        .map(|b| b["name"].as_str().expect("name"))
        .collect();
    assert!(
        backends.contains(&"std") && backends.contains(&"wildsort"),
        "{backends:?}"
    );

    // The next start asks the cache: the crashers are not run again at all,
    // but one that ran out of time is scanned again (the machine may have
    // been busy).
    let again = list(&sandbox, &canary);
    assert_eq!(again["refused"], json["refused"]);
    for (case, _) in CRASHERS {
        let runs = if case == "INIT_HANGS" { 2 } else { 1 };
        assert_eq!(
            opened(&canary, &fixtures::hostile_module(case)),
            runs,
            "{case} ran again"
        );
    }

    let sorted = sandbox.run_with_input(["sort", "-b", "wildsort"], b"3\n1\n2\n");
    sorted.expect_code(0);
    assert_eq!(sorted.stdout_text(), "1\n2\n3\n");
}

#[test]
fn a_changed_file_is_scanned_again() {
    let sandbox = Sandbox::new();
    let canary = sandbox.path().join("canary");
    let path = sandbox.install(&fixtures::hostile("INIT_ABORTS"));
    let json = list(&sandbox, &canary);
    assert_eq!(json["refused"].as_array().expect("refused").len(), 1);

    // The author fixes the plugin: same module, same file name.
    let fixed = fixtures::compile_c(
        "hostile.c",
        "libh_init_aborts.so",
        &["-DMODULE=h_init_aborts"],
    );
    fs::copy(&fixed, &path).expect("replace the plugin");
    let json = list(&sandbox, &canary);
    assert!(
        json["refused"].as_array().expect("refused").is_empty(),
        "{json}"
    );
    assert_eq!(
        backend_names(&json),
        ["wildsort", "radix", "std", "hostile"]
    );
}

/// The backends' names, built-ins first.
fn backend_names(json: &serde_json::Value) -> Vec<&str> {
    json["backends"]
        .as_array()
        .expect("backends")
        .iter()
        .map(|b| b["name"].as_str().expect("name"))
        .collect()
}

/// Installs a plugin file that loads (module `cached`, backend `hostile`):
/// only files are scanned, and their verdicts cached, never the built-ins.
fn install_scanned_plugin(sandbox: &Sandbox) -> PathBuf {
    sandbox.install(&fixtures::compile_c(
        "hostile.c",
        "libcached.so",
        &["-DMODULE=cached"],
    ))
}

/// A scan that ran out of time (a busy machine: here a plugin whose `init`
/// takes 2 s when asked to, against a 300 ms limit) says nothing lasting
/// about the file: the next start scans it again and loads it.
#[test]
fn a_scan_that_ran_out_of_time_is_not_kept() {
    let sandbox = Sandbox::new();
    let slow = sandbox.install(&fixtures::hostile("INIT_SLOW_WHEN_ASKED"));
    let mut hurried = sandbox.command(["list", "--json"]);
    hurried
        .env("WILDHOST_SCAN_TIMEOUT_MS", "300")
        .env("WILDHOST_TEST_INIT_SECONDS", "2");
    let out = wildhost_suite::run(hurried, b"");
    out.expect_code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let refused = json["refused"].as_array().expect("refused");
    assert_eq!(refused.len(), 1, "{json}");
    assert_eq!(refused[0]["path"], slow.to_str().expect("UTF-8 path"));
    let cause = refused[0]["refusal"]["cause"].as_str().unwrap_or_default();
    assert!(cause.contains("did not finish within 0.3 s"), "{cause}");

    let out = sandbox.run(["list", "--json"]);
    out.expect_code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["refused"], serde_json::json!([]), "{json}");
}

/// A file rewritten in place, same size, its modification time put back,
/// is still another file to the cache: its status-change time moved.
#[test]
fn a_file_rewritten_in_place_with_its_old_time_is_scanned_again() {
    use std::io::Write as _;
    let sandbox = Sandbox::new();
    let canary = sandbox.path().join("canary");
    let crashing = fs::read(fixtures::hostile("INIT_ABORTS")).expect("read");
    let fixed = fs::read(fixtures::compile_c(
        "hostile.c",
        "libh_init_aborts.so",
        &["-DMODULE=h_init_aborts"],
    ))
    .expect("read");
    // Both the same size: zeros after an object file's end are ignored.
    let size = crashing.len().max(fixed.len());
    let padded = |mut bytes: Vec<u8>| {
        bytes.resize(size, 0);
        bytes
    };
    let padded_file = sandbox.path().join("libh_init_aborts.so");
    fs::write(&padded_file, padded(crashing)).expect("write");
    let path = sandbox.install(&padded_file);
    let json = list(&sandbox, &canary);
    assert_eq!(
        json["refused"].as_array().expect("refused").len(),
        1,
        "{json}"
    );

    let modified = fs::metadata(&path)
        .and_then(|m| m.modified())
        .expect("mtime");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open in place");
    file.write_all(&padded(fixed)).expect("rewrite in place");
    file.set_modified(modified).expect("put the time back");
    drop(file);
    let json = list(&sandbox, &canary);
    assert_eq!(json["refused"], serde_json::json!([]), "{json}");
    assert_eq!(
        backend_names(&json),
        ["wildsort", "radix", "std", "hostile"]
    );
}

/// What the cache says is printed with its control characters escaped,
/// and a cache that others can write is not read at all.
#[test]
fn a_forged_scan_cache_is_escaped_or_ignored() {
    use std::os::unix::fs::PermissionsExt as _;
    let sandbox = Sandbox::new();
    let cache = sandbox.path().join("cache/wildhost/scan-cache.json");
    install_scanned_plugin(&sandbox);
    sandbox.run(["list"]).expect_code(0);
    let forge = || {
        let mut json: serde_json::Value =
            serde_json::from_slice(&fs::read(&cache).expect("read the cache")).expect("JSON");
        for entry in json["entries"]
            .as_object_mut()
            .expect("entries")
            .values_mut()
        {
            entry["verdict"] = serde_json::json!({"Err": {
                "stage": "scan",
                "cause": "forged \u{1b}[31mred",
                "help": "forged help",
            }});
        }
        fs::write(&cache, serde_json::to_vec(&json).expect("JSON")).expect("write");
    };
    forge();
    let out = sandbox.run(["list"]);
    out.expect_code(0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cause: forged \\u{1b}[31mred"), "{text}");
    assert!(!out.stdout.contains(&0x1b), "{text}");

    forge();
    fs::set_permissions(&cache, fs::Permissions::from_mode(0o666)).expect("chmod");
    let out = sandbox.run(["list", "--json"]);
    out.expect_code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["refused"], serde_json::json!([]), "{json}");
}

/// What is loaded is the file the scanner judged: a file put in its place
/// after its scan (here by the constructor of the plugin scanned next, in
/// the scanner child) is never loaded on the old verdict. The file put
/// there crashes in `init`; loaded in wildhost, it would take it down.
#[test]
fn a_file_replaced_after_its_scan_is_not_loaded_on_its_verdict() {
    let sandbox = Sandbox::new();
    let module = |case: &str| {
        let mut args = vec!["-DMODULE=h_swapped"];
        if !case.is_empty() {
            args.push(case);
        }
        fixtures::compile_c("hostile.c", "libh_swapped.so", &args)
    };
    let path = sandbox.install(&module(""));
    let crasher = module("-DCASE_INIT_SEGFAULTS");
    let waiting = sandbox.work().join("libh_swapped.so");
    fs::copy(&crasher, &waiting).expect("copy the crasher");
    // Scanned after `h_swapped`: the names sort so.
    sandbox.install(&fixtures::compile_c(
        "hostile.c",
        "libh_swapper.so",
        &["-DMODULE=h_swapper", "-DCASE_REPLACES_A_FILE"],
    ));
    let mut command = sandbox.command(["sort", "-b", "h_swapped.hostile", "-t", "u64"]);
    command
        .env("WILDHOST_TEST_REPLACE_FROM", &waiting)
        .env("WILDHOST_TEST_REPLACE_TO", &path);
    let out = wildhost_suite::run(command, b"3\n1\n2\n");
    out.expect_exactly(0, "1\n2\n3\n", "");
    assert!(!waiting.exists(), "the scanner child replaced the file");
    assert_eq!(
        fs::read(&path).expect("read the plugin"),
        fs::read(&crasher).expect("read the crasher"),
        "the crasher is in the plugin's place"
    );
}

/// A file reached by two paths is scanned once, and the scanner's verdict
/// stands for both: the crasher is refused under each, loaded under none.
#[test]
fn a_crasher_reached_by_two_paths_is_refused_under_both() {
    let sandbox = Sandbox::new();
    let path = sandbox.install(&fixtures::hostile("INIT_SEGFAULTS"));
    let other = sandbox.path().join("other");
    fs::create_dir(&other).expect("create a directory");
    let link = other.join("libh_init_segfaults.so");
    std::os::unix::fs::symlink(&path, &link).expect("symlink");
    let mut command = sandbox.bare_command();
    command
        .arg("--plugin-dir")
        .arg(sandbox.plugins())
        .arg("--plugin-dir")
        .arg(&other)
        .args(["list", "--json"]);
    let out = wildhost_suite::run(command, b"");
    out.expect_code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let refused = json["refused"].as_array().expect("refused");
    let paths: Vec<&str> = refused
        .iter()
        .map(|r| r["path"].as_str().expect("path"))
        .collect();
    assert_eq!(
        paths,
        [path.to_str().expect("UTF-8"), link.to_str().expect("UTF-8")]
    );
    for r in refused {
        assert_eq!(r["refusal"]["stage"], "scan", "{r}");
        let cause = r["refusal"]["cause"].as_str().expect("cause");
        assert!(cause.contains("killed by signal 11 (SIGSEGV"), "{cause}");
    }
}

#[test]
fn inspect_survives_a_crashing_plugin() {
    let sandbox = Sandbox::new();
    let path = fixtures::hostile("INIT_SEGFAULTS");
    let out = sandbox.run([Path::new("inspect"), &path]);
    out.expect_code(1).expect_stderr(&[
        "error: cannot load plugin",
        "loading it crashed the plugin scanner: it was killed by signal 11",
        "help: ",
    ]);
    out.expect_stdout(&["refused at scan: "]);
}

#[test]
fn a_damaged_scan_cache_is_ignored_and_rewritten() {
    let sandbox = Sandbox::new();
    let cache = sandbox.path().join("cache/wildhost/scan-cache.json");
    install_scanned_plugin(&sandbox);
    sandbox.run(["list"]).expect_code(0);
    assert!(cache.is_file(), "the scan is cached");
    fs::write(&cache, b"{ not json").expect("damage the cache");
    sandbox
        .run_with_input(["sort", "-b", "hostile", "-t", "u64"], b"2\n1\n")
        .expect_code(0)
        .expect_stdout(&["1\n2\n"]);
    let text = fs::read_to_string(&cache).expect("rewritten");
    assert!(text.contains("libcached.so"), "{text}");
}

#[test]
fn a_pipe_in_place_of_the_scan_cache_is_not_waited_on() {
    let sandbox = Sandbox::new();
    let cache = sandbox.path().join("cache/wildhost/scan-cache.json");
    fs::create_dir_all(cache.parent().expect("cache dir")).expect("mkdir");
    wildhost_suite::mkfifo(&cache);
    install_scanned_plugin(&sandbox);
    sandbox
        .run_with_input(["sort", "-b", "hostile", "-t", "u64"], b"2\n1\n")
        .expect_code(0)
        .expect_stdout(&["1\n2\n"]);
    // Not a pipe any more (reading one nobody writes would wait for ever).
    let kind = fs::symlink_metadata(&cache).expect("the cache").file_type();
    assert!(kind.is_file(), "{kind:?}");
    let text = fs::read_to_string(&cache).expect("a cache file in the pipe's place");
    assert!(text.contains("libcached.so"), "{text}");
}

fn sort_crasher(case: &str, extra: &[&str]) -> (wildhost_suite::Outcome, Sandbox) {
    let sandbox = Sandbox::new();
    let plugin = fixtures::compile_c("hostile.c", "libhostile.so", &[&format!("-DCASE_{case}")]);
    sandbox.install(&plugin);
    fs::write(sandbox.work().join("in.txt"), "3\n1\n2\n").expect("write");
    fs::write(sandbox.work().join("out.txt"), "keep\n").expect("write");
    let mut args = vec![
        "sort",
        "--isolate",
        "-b",
        "hostile",
        "-t",
        "u64",
        "-i",
        "in.txt",
        "-o",
        "out.txt",
    ];
    args.extend(extra);
    let out = sandbox.run(args);
    (out, sandbox)
}

#[test]
fn isolate_survives_a_backend_that_crashes_aborts_or_hangs() {
    for (case, extra, words) in [
        (
            "SORT_SEGFAULTS",
            &[][..],
            "was killed by signal 11 (SIGSEGV, invalid memory access)",
        ),
        (
            "SORT_ABORTS",
            &[][..],
            "was killed by signal 6 (SIGABRT, aborted)",
        ),
        (
            "SORT_EXITS",
            &[][..],
            "exited with status 4 before reporting",
        ),
        // Sorts, but closes every descriptor it did not open, the worker's
        // pipes included.
        (
            "SORT_CLOSES_FDS",
            &[][..],
            "its process ended without sending the keys",
        ),
        (
            "SORT_HANGS",
            &["--timeout", "0.5"][..],
            "it did not finish within 0.5 s and was stopped",
        ),
    ] {
        let (out, sandbox) = sort_crasher(case, extra);
        out.expect_code(1).expect_stderr(&[
            "error: sorting with backend `hostile` failed",
            "backend `hostile` failed in its worker process",
            words,
            "help: nothing was written",
        ]);
        assert_eq!(
            fs::read_to_string(sandbox.work().join("out.txt")).expect("read"),
            "keep\n"
        );
        assert_eq!(
            fs::read_to_string(sandbox.work().join("in.txt")).expect("read"),
            "3\n1\n2\n"
        );
    }
}

#[test]
fn isolate_gives_the_same_result_as_in_process() {
    let sandbox = Sandbox::new();
    // 200 000 keys: 1.6 MB, far more than a pipe holds at once.
    let input: String = (0..200_000i64)
        .map(|i| format!("{}\n", (i * 7919) % 200_003 - 100_000))
        .collect();
    for backend in ["std", "wildsort", "radix"] {
        let direct = sandbox.run_with_input(["sort", "-b", backend], input.as_bytes());
        direct.expect_code(0);
        let isolated =
            sandbox.run_with_input(["sort", "--isolate", "-b", backend], input.as_bytes());
        isolated.expect_code(0);
        assert_eq!(direct.stdout, isolated.stdout, "{backend}");
        // Where the kernel does not let wildhost read the worker's memory,
        // the keys come through the pipe: the same result.
        let mut through_pipe = sandbox.command(["sort", "--isolate", "-b", backend]);
        through_pipe.env("WILDHOST_ISOLATE_VIA_PIPE", "1");
        let piped = wildhost_suite::run(through_pipe, input.as_bytes());
        piped.expect_code(0);
        assert_eq!(direct.stdout, piped.stdout, "{backend} through the pipe");
    }
    // A million binary keys, 8 MB: a buffer of whole huge pages, every page
    // of which the worker takes over, result byte-identical again.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let binary: Vec<u8> = (0..1_000_000)
        .flat_map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()
        })
        .collect();
    let args = ["sort", "-t", "u64", "-f", "binary", "-b", "radix"];
    let direct = sandbox.run_with_input(args, &binary);
    direct.expect_code(0);
    assert_eq!(direct.stdout.len(), binary.len());
    for via_pipe in [false, true] {
        let mut isolated = sandbox.command(args.iter().chain(&["--isolate"]));
        if via_pipe {
            isolated.env("WILDHOST_ISOLATE_VIA_PIPE", "1");
        }
        let isolated = wildhost_suite::run(isolated, &binary);
        isolated.expect_code(0);
        assert!(
            direct.stdout == isolated.stdout,
            "8 MB, through the pipe: {via_pipe}"
        );
    }
    // A backend's own error comes through the worker with its message.
    sandbox.install(&fixtures::rust_plugin("libwildsort_panicky.so"));
    sandbox
        .run_with_input(
            ["sort", "--isolate", "-b", "panicky", "-t", "u64"],
            b"2\n1\n",
        )
        .expect_code(1)
        .expect_stderr(&["panicky gives up on 2 keys"]);
    sandbox.run(["sort", "--timeout", "3"]).expect_code(2);
    sandbox
        .run(["sort", "--isolate", "--timeout", "0"])
        .expect_code(2);
}

/// With `--isolate` the worker reads the numbers (the host never holds
/// them) and sends their fingerprint before the backend runs: a bad input
/// is reported as without `--isolate`, and a wrong result is still caught,
/// in both formats; `--no-verify` still trusts the backend.
#[test]
fn isolate_reads_the_input_in_the_worker_and_still_checks_the_result() {
    let sandbox = Sandbox::new();
    sandbox.install(&fixtures::compile_c(
        "hostile.c",
        "libloses.so",
        &["-DMODULE=loses", "-DCASE_SORT_LOSES_A_KEY"],
    ));
    sandbox.install(&fixtures::compile_c(
        "hostile.c",
        "libidle.so",
        &["-DMODULE=idle", "-DCASE_SORT_DOES_NOTHING"],
    ));
    let work = sandbox.work();
    fs::write(work.join("out"), "keep\n").expect("write");
    let binary: Vec<u8> = [30u64, 10, 20]
        .iter()
        .flat_map(|k| k.to_le_bytes())
        .collect();
    fs::write(work.join("in.bin"), &binary).expect("write");
    fs::write(work.join("in.txt"), "30\n10\n20\n").expect("write");
    fs::write(work.join("bad.txt"), "30\nten\n20\n").expect("write");
    fs::write(work.join("bad.bin"), &binary[..20]).expect("write");
    let sort = |backend: &str, input: &str, extra: &[&str]| {
        let mut args = vec!["sort", "-b", backend, "-t", "u64", "-i", input, "-o", "out"];
        args.extend(extra);
        sandbox.run(args)
    };
    for (input, format) in [("bad.txt", "text"), ("bad.bin", "binary")] {
        let direct = sort("loses.hostile", input, &["-f", format]);
        direct.expect_code(1);
        let isolated = sort("loses.hostile", input, &["-f", format, "--isolate"]);
        isolated
            .expect_code(1)
            .expect_stderr(&["error: cannot read the numbers in `"]);
        assert_eq!(direct.stderr, isolated.stderr, "{input}");
    }
    for (input, format) in [("in.txt", "text"), ("in.bin", "binary")] {
        sort("loses.hostile", input, &["-f", format, "--isolate"])
            .expect_code(1)
            .expect_stderr(&[
                "error: backend `hostile` returned a wrong result",
                "a key was changed, dropped or duplicated",
                "help: nothing was written",
            ]);
        sort("idle.hostile", input, &["-f", format, "--isolate"])
            .expect_code(1)
            .expect_stderr(&[
                "error: backend `hostile` returned a wrong result",
                "the result is not sorted: keys 0 and 1 are out of order",
            ]);
    }
    assert_eq!(
        fs::read_to_string(work.join("out")).expect("read"),
        "keep\n"
    );
    sort("loses.hostile", "in.txt", &["--isolate", "--no-verify"]).expect_code(0);
    assert_eq!(
        fs::read_to_string(work.join("out")).expect("read"),
        "20\n20\n30\n"
    );
    assert_eq!(fs::read(work.join("in.bin")).expect("read"), binary);
}

/// Reading binary input in the worker gets the time limit too, and
/// running out of it there is told as what it is: the backend never ran.
#[test]
fn isolate_tells_a_slow_read_from_a_slow_backend() {
    let sandbox = Sandbox::new();
    // 32 MiB of keys: far longer to decode than a millisecond.
    let input: Vec<u8> = (0..4_000_000u64)
        .flat_map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes())
        .collect();
    fs::write(sandbox.work().join("big.bin"), input).expect("write");
    let out = sandbox.run([
        "sort",
        "--isolate",
        "--timeout",
        "0.001",
        "-t",
        "u64",
        "-f",
        "binary",
        "-i",
        "big.bin",
    ]);
    out.expect_code(1).expect_stderr(&[
        "error: cannot read the numbers in `big.bin`",
        "the worker process reading them: it did not finish within 0.001 s and was stopped",
        "the backend never ran",
    ]);
    assert!(out.stdout.is_empty());
}

#[test]
fn an_unusable_scan_time_limit_is_named_and_the_default_kept() {
    let sandbox = Sandbox::new();
    for value in ["abc", "0", "-5", "1.5"] {
        let mut command = sandbox.command(["list"]);
        command.env("WILDHOST_SCAN_TIMEOUT_MS", value);
        let out = wildhost_suite::run(command, b"");
        out.expect_code(0).expect_stdout(&["radix", "wildsort"]);
        assert_eq!(
            out.stderr,
            format!(
                "warning: WILDHOST_SCAN_TIMEOUT_MS=`{value}` is not a whole number of \
                 milliseconds above 0: the scanner keeps its limit of 10000 ms\n"
            )
        );
    }
    let mut command = sandbox.command(["list"]);
    command.env("WILDHOST_SCAN_TIMEOUT_MS", "20000");
    let out = wildhost_suite::run(command, b"");
    out.expect_code(0);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    // Only wildhost warns, not its scanner child: what that child prints is
    // quoted in the refusal of a plugin that crashes it.
    let plugin = fixtures::compile_c("hostile.c", "libhostile.so", &["-DCASE_INIT_SEGFAULTS"]);
    sandbox.install(&plugin);
    let mut command = sandbox.command(["list", "--json"]);
    command.env("WILDHOST_SCAN_TIMEOUT_MS", "abc");
    let out = wildhost_suite::run(command, b"");
    out.expect_code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let cause = json["refused"][0]["refusal"]["cause"]
        .as_str()
        .expect("a refusal");
    assert!(cause.contains("SIGSEGV"), "{cause}");
    assert!(!cause.contains("WILDHOST_SCAN_TIMEOUT_MS"), "{cause}");
}

/// The state letter and parent of process `pid` (`None` once it is gone).
fn state_and_parent(pid: u32) -> Option<(char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`; the name may hold spaces and parentheses.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    Some((state, parent))
}

/// Waits for a live child of `parent` whose command line contains
/// `needle`, and returns its pid.
fn child_running(parent: u32, needle: &str) -> u32 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        for entry in fs::read_dir("/proc").expect("/proc").flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if state_and_parent(pid).is_some_and(|(s, p)| p == parent && s != 'Z')
                && String::from_utf8_lossy(&cmdline).contains(needle)
            {
                return pid;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("no child of {parent} running `{needle}` within 60 s");
}

/// Starts `command` with no input and its output thrown away.
fn start_quietly(mut command: std::process::Command) -> std::process::Child {
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start wildhost")
}

/// Kills `host` and checks that `child` ends with it (a zombie counts as
/// ended: nothing here reaps orphans for certain).
fn kill_and_check_child_ends(mut host: std::process::Child, child: u32) {
    host.kill().expect("kill wildhost");
    host.wait().expect("reap wildhost");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while state_and_parent(child).is_some_and(|(s, _)| s != 'Z' && s != 'X') {
        assert!(
            std::time::Instant::now() < deadline,
            "process {child} outlived the wildhost that started it"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_killed_wildhost_takes_its_hung_worker_with_it() {
    let sandbox = Sandbox::new();
    let plugin = fixtures::compile_c("hostile.c", "libhostile.so", &["-DCASE_SORT_HANGS"]);
    sandbox.install(&plugin);
    fs::write(sandbox.work().join("in.txt"), "3\n1\n2\n").expect("write");
    let host = start_quietly(sandbox.command([
        "sort",
        "--isolate",
        "-b",
        "hostile",
        "-t",
        "u64",
        "-i",
        "in.txt",
    ]));
    // The forked worker runs the same command line as wildhost; the
    // scanner, which runs first, has `__scan` in its own.
    let worker = child_running(host.id(), "--isolate");
    kill_and_check_child_ends(host, worker);
}

#[test]
fn a_killed_wildhost_takes_its_hung_scanner_with_it() {
    let sandbox = Sandbox::new();
    let plugin = fixtures::compile_c("hostile.c", "libhostile.so", &["-DCASE_INIT_HANGS"]);
    sandbox.install(&plugin);
    let mut list = sandbox.command(["list"]);
    list.env("WILDHOST_SCAN_TIMEOUT_MS", "600000");
    let host = start_quietly(list);
    let scanner = child_running(host.id(), "__scan");
    kill_and_check_child_ends(host, scanner);
}

/// `wildhost sort` of three keys through the `hostile.c` variant `case`, in
/// wildhost's own process (no `--isolate`), to stdout or to `out.txt`
/// (which holds `keep` before).
fn sort_in_process(case: &str, to_file: bool) -> (wildhost_suite::Outcome, Sandbox) {
    let sandbox = Sandbox::new();
    let plugin = fixtures::compile_c("hostile.c", "libhostile.so", &[&format!("-DCASE_{case}")]);
    sandbox.install(&plugin);
    fs::write(sandbox.work().join("out.txt"), "keep\n").expect("write");
    let mut args = vec!["sort", "-b", "hostile", "-t", "u64"];
    if to_file {
        args.extend(["-o", "out.txt"]);
    }
    let out = sandbox.normalise(sandbox.run_with_input(args, b"3\n1\n2\n"));
    (out, sandbox)
}

/// The report of a backend of `libhostile.so` that crashed with `signal`.
fn crash_report(signal: &str) -> String {
    format!(
        "error: backend `hostile` (<sandbox>/plugins/libhostile.so) crashed during a sort\n  \
         cause: signal {signal}\n  \
         help: rerun with --isolate to contain it, or remove the plugin\n"
    )
}

#[test]
fn a_backend_crashing_wildhost_is_named_and_wildhost_dies_by_its_signal() {
    for (case, signal, words) in [
        (
            "SORT_SEGFAULTS",
            libc::SIGSEGV,
            "11 (SIGSEGV, invalid memory access)",
        ),
        ("SORT_ABORTS", libc::SIGABRT, "6 (SIGABRT, aborted)"),
        // 64 KiB of message into a buffer of 512 bytes: it runs into the
        // inaccessible page after the message buffer, not the host's memory.
        (
            "MESSAGE_OVERRUNS_FAR",
            libc::SIGSEGV,
            "11 (SIGSEGV, invalid memory access)",
        ),
    ] {
        for to_file in [false, true] {
            let (out, sandbox) = sort_in_process(case, to_file);
            assert_eq!(out.signal, Some(signal), "{case}: {out:?}");
            assert_eq!(out.stderr, crash_report(words), "{case}");
            assert_eq!(out.stdout, b"", "{case}");
            assert_eq!(
                fs::read_to_string(sandbox.work().join("out.txt")).expect("read"),
                "keep\n",
                "{case}"
            );
        }
    }
}

#[test]
fn a_backend_calling_exit_mid_sort_fails_the_sort_by_name() {
    for to_file in [false, true] {
        let (out, sandbox) = sort_in_process("SORT_EXITS_CLEANLY", to_file);
        out.expect_exactly(
            1,
            "",
            "error: backend `hostile` (<sandbox>/plugins/libhostile.so) exited the process \
             during a sort\n  \
             cause: it called `exit` before returning its keys; no output was written\n  \
             help: rerun with --isolate to contain it, or remove the plugin\n",
        );
        assert_eq!(
            fs::read_to_string(sandbox.work().join("out.txt")).expect("read"),
            "keep\n"
        );
    }
}

#[test]
fn a_message_past_its_capacity_fails_the_sort_by_name() {
    let (out, _sandbox) = sort_in_process("MESSAGE_OVERRUNS", false);
    // 600 bytes of `x` and a terminator from the start of a 512-byte
    // capacity: 88 bytes of `x` past it.
    out.expect_code(1).expect_stderr(&[
        "error: sorting with backend `hostile` failed",
        "cause: backend `hostile` wrote 88 bytes past its message capacity of 512 bytes",
        "help: nothing was written",
    ]);
    assert_eq!(out.stdout, b"");
}

/// Records sort in the worker as they do in wildhost itself, by a field or
/// by the whole line, canonical or not, forwards and in reverse.
#[test]
fn isolate_sorts_records_as_the_host_does() {
    let sandbox = Sandbox::new();
    let csv = "b,20,x\r\na,-3,y\nc,020,z\n d , 7 ,w\ne,20";
    let lines = "3\n-7\n3\n0\n";
    let padded = "03\n-7\n3\n+0\n";
    let cases: [(&[&str], &str); 5] = [
        (&["-k", "2", "-d", ","], csv),
        (&["-k", "2", "-d", ",", "-r"], csv),
        (&[], lines),
        (&["-r"], lines),
        (&["-t", "f64"], padded),
    ];
    for backend in ["radix", "std", "wildsort"] {
        for (args, input) in cases {
            let plain = [&["sort", "-b", backend][..], args].concat();
            let isolated = [&plain[..], &["--isolate"]].concat();
            let expected = sandbox.run_with_input(&plain, input.as_bytes());
            expected.expect_code(0);
            sandbox
                .run_with_input(&isolated, input.as_bytes())
                .expect_exactly(0, &expected.stdout_text(), "");
        }
    }
}
