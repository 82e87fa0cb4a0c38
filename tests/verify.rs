//! `wildhost verify`: the shipped plugins pass; plugins that sort wrongly,
//! touch memory outside their buffer, panic, or use more memory than they
//! declare fail, each with the input's size and seed.

use std::path::Path;
use wildhost_suite::{Sandbox, fixtures, shipped_plugin};

fn verify(sandbox: &Sandbox, plugin: &Path, extra: &[&str]) -> wildhost_suite::Outcome {
    let mut args: Vec<&std::ffi::OsStr> = vec!["verify".as_ref(), plugin.as_os_str()];
    args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
    sandbox.run(args)
}

fn hostile(case: &str) -> std::path::PathBuf {
    fixtures::compile_c("hostile.c", "libhostile.so", &[&format!("-DCASE_{case}")])
}

#[test]
fn every_shipped_plugin_passes() {
    let sandbox = Sandbox::new();
    for name in wildhost_suite::SHIPPED {
        let out = verify(&sandbox, &shipped_plugin(name), &["--max-len", "5000"]);
        out.expect_code(0).expect_stdout(&["PASS", " 0 failed"]);
        let text = out.stdout_text();
        assert!(!text.contains("FAIL"), "{name}:\n{text}");
        for key_type in ["u32", "u64", "i32", "i64", "f32", "f64"] {
            assert!(
                text.contains(&format!(" {key_type}  random")),
                "{name} {key_type}"
            );
            assert!(
                text.contains(&format!(" {key_type}  scratch-memory")),
                "{name} {key_type}"
            );
            // A pass says the memory was within what is allowed.
            let scratch = text
                .lines()
                .find(|l| l.contains(&format!(" {key_type}  scratch-memory")))
                .unwrap_or_default();
            assert!(scratch.contains(": within the "), "{scratch}");
        }
    }
}

#[test]
fn a_plugin_with_one_key_type_is_checked_on_it_and_refused_the_others() {
    let sandbox = Sandbox::new();
    let out = verify(&sandbox, &hostile("NONE"), &["--max-len", "3000", "--json"]);
    out.expect_code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let checks = json["checks"].as_array().expect("checks");
    let undeclared: Vec<_> = checks
        .iter()
        .filter(|c| c["check"] == "undeclared-type")
        .collect();
    assert_eq!(undeclared.len(), 5);
    assert!(undeclared.iter().all(|c| c["status"] == "pass"));
    assert!(
        checks
            .iter()
            .any(|c| c["type"] == "u64" && c["check"] == "random" && c["len"] == 1025)
    );
    assert_eq!(json["failed"], 0);
    assert_eq!(json["seed"], 42);
    assert_eq!(json["max_len"], 3000);
    assert_eq!(json["module"]["name"], "hostile");
    assert_eq!(json["module"]["abi"], "1.3");
    assert_eq!(json["module"]["backends"], 1);
}

#[test]
fn a_wrong_sort_fails_with_the_size_and_seed_that_show_it() {
    let sandbox = Sandbox::new();
    let out = verify(
        &sandbox,
        &hostile("SORT_LOSES_A_KEY"),
        &["--max-len", "3000"],
    );
    out.expect_code(1)
        .expect_stdout(&[
            "FAIL  hostile  u64  random",
            "not a permutation of the input",
            "seed=",
        ])
        .expect_stderr(&[
            "error: ",
            "failed",
            "help: reproduce it with `wildhost verify ",
            " --seed 42 --max-len 3000 --failures`",
        ]);
    assert!(out.stdout_text().starts_with("verify "));
    assert!(
        out.stdout_text()
            .lines()
            .next()
            .is_some_and(|l| l.ends_with(", seed 42"))
    );
    // The same seed gives the same verdict.
    let again = verify(
        &sandbox,
        &hostile("SORT_LOSES_A_KEY"),
        &["--max-len", "3000"],
    );
    let checks = |o: &wildhost_suite::Outcome| -> Vec<String> {
        o.stdout_text().lines().skip(1).map(String::from).collect()
    };
    assert!(
        checks(&again) == checks(&out),
        "the same seed gave other results"
    );

    let idle = verify(
        &sandbox,
        &hostile("SORT_DOES_NOTHING"),
        &["--max-len", "3000"],
    );
    idle.expect_code(1).expect_stdout(&["not sorted: keys"]);
}

/// The FAIL lines of a verify run.
fn failures(out: &wildhost_suite::Outcome) -> Vec<String> {
    let text = out.stdout_text();
    text.lines()
        .filter(|l| l.trim_start().starts_with("FAIL"))
        .map(String::from)
        .collect()
}

#[test]
fn the_reproduction_line_reproduces_the_failure_and_failures_shows_only_them() {
    let sandbox = Sandbox::new();
    let plugin = hostile("SORT_DOES_NOTHING");
    let plugin_arg = plugin.to_str().expect("utf-8");
    let out = verify(&sandbox, &plugin, &["--max-len", "2000", "--seed", "7"]);
    out.expect_code(1);
    let all = failures(&out);
    assert!(!all.is_empty());
    // `not sorted` names the two keys, and 0 0 or u64::MAX would be
    // sorted: the values differ.
    let first = &all[0];
    let values = first
        .split_once("are out of order (")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .and_then(|rest| rest.split_once(" before "))
        .unwrap_or_else(|| panic!("no values in {first}"));
    let (before, after): (u64, u64) = (
        values.0.parse().expect("a u64"),
        values.1.parse().expect("a u64"),
    );
    assert!(before > after, "{first}");

    let help = out
        .stderr
        .split_once("reproduce it with `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(command, _)| command.to_string())
        .unwrap_or_else(|| panic!("no reproduction line in\n{}", out.stderr));
    let words: Vec<&str> = help.split_whitespace().collect();
    assert_eq!(
        words,
        [
            "wildhost",
            "verify",
            plugin_arg,
            "--seed",
            "7",
            "--max-len",
            "2000",
            "--failures"
        ]
    );
    let again = sandbox.run(&words[1..]);
    again.expect_code(1);
    assert_eq!(
        failures(&again),
        all,
        "the reproduction found other failures"
    );
    // --failures: the header, the failing lines, the counts.
    let text = again.stdout_text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("verify ") && lines[0].ends_with(", seed 7"));
    assert_eq!(lines.len(), all.len() + 2, "{text}");
    assert!(lines[lines.len() - 1].starts_with("result: "));
    assert!(!text.contains("PASS"));

    // A different seed gives other inputs: other values in the failures.
    let other = verify(&sandbox, &plugin, &["--max-len", "2000", "--seed", "8"]);
    assert_ne!(failures(&other), all);
}

#[test]
fn touching_memory_outside_the_buffer_is_caught() {
    let sandbox = Sandbox::new();
    let over = verify(&sandbox, &hostile("SORT_OVERRUNS"), &["--max-len", "3000"]);
    over.expect_code(1).expect_stdout(&[
        "it crashed: its process was killed by signal 11 (SIGSEGV, invalid memory access); \
         with the buffer against a guard page after its end",
    ]);
    let under = verify(&sandbox, &hostile("SORT_UNDERRUNS"), &["--max-len", "3000"]);
    under
        .expect_code(1)
        .expect_stdout(&["guard page before its start"]);
}

#[test]
fn a_panic_is_reported_with_its_message() {
    let sandbox = Sandbox::new();
    let out = verify(
        &sandbox,
        &fixtures::rust_plugin("libwildsort_panicky.so"),
        &["--max-len", "100"],
    );
    out.expect_code(1).expect_stdout(&[
        "FAIL  panicky  u64  two",
        "backend `panicky` failed with status 4 (panicked): ",
        "panicky gives up on 2 keys",
        "PASS  panicky  u64  one",
    ]);
}

#[test]
fn memory_beyond_the_declared_scratch_fails() {
    let sandbox = Sandbox::new();
    let out = verify(
        &sandbox,
        &hostile("SORT_HOARDS_MEMORY"),
        &["--max-len", "1000000"],
    );
    out.expect_code(1).expect_stdout(&[
        "FAIL  hostile  u64  scratch-memory",
        ": more than the ",
        "MiB allowed (declares 0%",
    ]);
}

#[test]
fn an_unloadable_or_missing_file_fails_verify() {
    let sandbox = Sandbox::new();
    let junk = sandbox.plant("libjunk.so", b"junk");
    verify(&sandbox, &junk, &[]).expect_code(1).expect_stdout(&[
        "FAIL  -  -    load",
        "refused at preflight: not a shared library",
    ]);
    sandbox
        .run(["verify", "/nonexistent/libx.so"])
        .expect_code(1)
        .expect_stderr(&["no such file"]);
    let crash = fixtures::compile_c(
        "hostile.c",
        "libh_crash.so",
        &["-DMODULE=h_crash", "-DCASE_INIT_SEGFAULTS"],
    );
    verify(&sandbox, &crash, &[])
        .expect_code(1)
        .expect_stdout(&["refused at scan", "SIGSEGV"]);
}

/// The u64 checks of a `verify --json` run, as (check, status, detail).
fn u64_checks(out: &wildhost_suite::Outcome) -> Vec<(String, String, String)> {
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    json["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["type"] == "u64")
        .map(|c| {
            let text = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (text("check"), text("status"), text("detail"))
        })
        .collect()
}

/// A backend that hangs costs one time limit, not one per check: the first
/// sort that hangs fails, and every other check of its key type is skipped
/// with the reason.
#[test]
fn after_a_hang_the_key_types_other_checks_are_skipped() {
    let sandbox = Sandbox::new();
    let out = verify(
        &sandbox,
        &hostile("SORT_HANGS"),
        &["--max-len", "3000", "--timeout", "1", "--json"],
    );
    out.expect_code(1);
    let checks = u64_checks(&out);
    assert!(checks.len() > 5, "{checks:?}");
    let (first, status, detail) = &checks[0];
    assert_eq!(status, "fail", "{checks:?}");
    assert!(detail.contains("did not finish within 1 s"), "{detail}");
    for (check, status, detail) in &checks[1..] {
        assert_eq!(status, "skip", "{check}: {detail}");
        assert_eq!(
            detail,
            &format!("skipped: the backend hung on the u64 `{first}` check (0 keys)"),
        );
    }
}

/// A backend that closes every descriptor (the end of the pipe the host
/// reads) and never returns is stopped at the time limit too: the wait for
/// its process has the limit, not only the wait for its report.
#[test]
fn a_backend_that_closes_its_pipe_and_waits_forever_is_stopped() {
    let sandbox = Sandbox::new();
    let out = verify(
        &sandbox,
        &hostile("SORT_CLOSES_AND_PAUSES"),
        &["--max-len", "3000", "--timeout", "1", "--json"],
    );
    out.expect_code(1);
    let checks = u64_checks(&out);
    assert_eq!(checks[0].1, "fail", "{checks:?}");
    assert!(
        checks[0].2.contains("did not finish within 1 s"),
        "{checks:?}"
    );
    assert!(checks[1..].iter().all(|c| c.1 == "skip"), "{checks:?}");
}

/// After a crash, the key type's other checks are skipped as well.
#[test]
fn after_a_crash_the_key_types_other_checks_are_skipped() {
    let sandbox = Sandbox::new();
    let out = verify(
        &sandbox,
        &hostile("SORT_SEGFAULTS"),
        &["--max-len", "3000", "--json"],
    );
    out.expect_code(1);
    let checks = u64_checks(&out);
    assert_eq!(checks[0].1, "fail", "{checks:?}");
    assert!(checks[0].2.contains("SIGSEGV"), "{checks:?}");
    assert!(
        checks[1..]
            .iter()
            .all(|c| c.1 == "skip" && c.2.starts_with("skipped: the backend crashed on the u64")),
        "{checks:?}"
    );
}

#[test]
fn a_message_past_its_capacity_fails_verify() {
    let sandbox = Sandbox::new();
    for name in wildhost_suite::SHIPPED {
        verify(&sandbox, &shipped_plugin(name), &["--max-len", "100"])
            .expect_code(0)
            .expect_stdout(&["PASS  ", "  message-capacity"]);
    }
    // The u64-only fixture is asked for another key type with no keys; it
    // writes 600 bytes and a terminator whatever the capacity.
    let near = verify(
        &sandbox,
        &hostile("MESSAGE_OVERRUNS"),
        &["--max-len", "100"],
    );
    near.expect_code(1).expect_stdout(&[
        "FAIL  hostile  -    message-capacity",
        "given 0 bytes for its message and a key type it does not declare, \
         it wrote 600 bytes past the capacity",
    ]);
    let far = verify(
        &sandbox,
        &hostile("MESSAGE_OVERRUNS_FAR"),
        &["--max-len", "100"],
    );
    far.expect_code(1).expect_stdout(&[
        "FAIL  hostile  -    message-capacity",
        "it crashed given 0 bytes for its message and a key type it does not declare: \
         its process was killed by signal 11 (SIGSEGV, invalid memory access); most likely \
         a write of its message past the capacity, into the inaccessible page after the buffer",
    ]);
}

#[test]
fn a_crash_given_no_keys_is_not_blamed_on_the_key_buffer() {
    let sandbox = Sandbox::new();
    let out = verify(&sandbox, &hostile("SORT_SEGFAULTS"), &["--max-len", "3"]);
    out.expect_code(1);
    let text = out.stdout_text();
    let line = |check: &str| {
        text.lines()
            .find(|l| l.contains(&format!("  u64  {check} ")))
            .unwrap_or_else(|| panic!("no `{check}` line in\n{text}"))
            .to_owned()
    };
    let empty = line("empty");
    assert!(
        empty.contains("it crashed given no keys: its process was killed by signal 11 (SIGSEGV")
            && !empty.contains("buffer"),
        "{empty}"
    );
    // The type's other checks are skipped after the crash; the words for a
    // crash with keys are checked by `touching_memory_outside_the_buffer_is_caught`.
    assert!(
        line("one").contains("skipped: the backend crashed on the u64 `empty` check (0 keys)"),
        "{text}"
    );
}

#[test]
fn pairs_and_stability_are_checked_through_the_pairs_entry() {
    let sandbox = Sandbox::new();
    for name in ["libwildsort_std.so", "libwildsort.so"] {
        let out = verify(&sandbox, &shipped_plugin(name), &["--max-len", "3000"]);
        out.expect_code(0);
        let text = out.stdout_text();
        for key_type in ["u32", "u64", "i32", "i64", "f32", "f64"] {
            for payload in ["u32", "u64"] {
                for shape in ["random", "few-unique", "all-equal"] {
                    let line = format!(" {key_type}  pairs-{payload} {shape}");
                    assert!(
                        text.lines()
                            .any(|l| l.trim_start().starts_with("PASS") && l.contains(&line)),
                        "{name} lacks a passing {line:?}:\n{text}"
                    );
                }
            }
            let stable = format!(" {key_type}  stable");
            assert!(
                text.lines()
                    .any(|l| l.trim_start().starts_with("PASS") && l.contains(&stable)),
                "{name} lacks a passing {stable:?}:\n{text}"
            );
        }
        assert!(!text.contains("stable-flag"), "{name}:\n{text}");
    }
}

#[test]
fn a_backend_without_pairs_skips_them_and_says_why() {
    let sandbox = Sandbox::new();
    // The hostile fixture, built against the current header, has no pairs entry.
    let out = verify(&sandbox, &hostile("NONE"), &["--max-len", "1000", "--json"]);
    out.expect_code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let checks = json["checks"].as_array().expect("checks");
    let pairs: Vec<_> = checks
        .iter()
        .filter(|c| c["check"].as_str().is_some_and(|n| n.starts_with("pairs")))
        .collect();
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    assert_eq!(pairs[0]["status"], "skip");
    assert_eq!(
        pairs[0]["detail"],
        "built for ABI 1.3, no pairs entry (sort_pairs is null)"
    );
    let stable = checks
        .iter()
        .find(|c| c["check"] == "stable-flag")
        .expect("stable-flag");
    assert_eq!(stable["status"], "skip");
    assert_eq!(stable["detail"], "declared not stable");
}

#[test]
fn a_pairs_backend_that_claims_stable_but_is_not_fails() {
    let sandbox = Sandbox::new();
    let out = verify(&sandbox, &hostile("PAIRS_UNSTABLE"), &["--max-len", "3000"]);
    out.expect_code(1).expect_stdout(&[
        "FAIL  hostile  u64  stable",
        "declared stable, but not stable through pairs: `few-unique`: equal keys at ",
        "out of input order",
        "PASS  hostile  u64  pairs-u64 few-unique",
    ]);
}

#[test]
fn a_pairs_backend_whose_payloads_stay_behind_fails() {
    let sandbox = Sandbox::new();
    let out = verify(
        &sandbox,
        &hostile("PAIRS_PAYLOAD_STAYS"),
        &["--max-len", "3000"],
    );
    out.expect_code(1).expect_stdout(&[
        "FAIL  hostile  u64  pairs-u32 random",
        "FAIL  hostile  u64  pairs-u64 random",
        "a payload does not follow its key: at 0, key 0x",
        "PASS  hostile  u64  pairs-u32 all-equal",
    ]);
}
