//! What the command line prints for help and for errors, compared whole,
//! byte for byte: the help of `wildhost` and of every subcommand (frozen in
//! `tests/expected/help/`), and the cargo-style error reports
//! (`error:`, `cause:`, `help:`) with their exit codes.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use wildhost_suite::{Sandbox, fixtures, run, with_build_facts};

/// Runs `wildhost <args>` as a user types it, without `--plugin-dir`.
fn run_bare(sandbox: &Sandbox, args: &[&str]) -> wildhost_suite::Outcome {
    let mut command = sandbox.bare_command();
    command.args(args);
    run(command, b"")
}

#[test]
fn help_of_wildhost_and_of_every_subcommand_is_the_frozen_text() {
    let sandbox = Sandbox::new();
    let cases: [(&[&str], &str); 11] = [
        (&["--help"], include_str!("expected/help/wildhost.txt")),
        (&["sort", "--help"], include_str!("expected/help/sort.txt")),
        (&["list", "--help"], include_str!("expected/help/list.txt")),
        (
            &["inspect", "--help"],
            include_str!("expected/help/inspect.txt"),
        ),
        (
            &["bench", "--help"],
            include_str!("expected/help/bench.txt"),
        ),
        (&["new", "--help"], include_str!("expected/help/new.txt")),
        (&["new", "-h"], include_str!("expected/help/new-short.txt")),
        (
            &["verify", "--help"],
            include_str!("expected/help/verify.txt"),
        ),
        (
            &["install", "--help"],
            include_str!("expected/help/install.txt"),
        ),
        (
            &["uninstall", "--help"],
            include_str!("expected/help/uninstall.txt"),
        ),
        (&["pack", "--help"], include_str!("expected/help/pack.txt")),
    ];
    for (args, expected) in cases {
        run_bare(&sandbox, args).expect_exactly(0, expected, "");
    }
}

#[test]
fn help_subcommand_prints_the_same_help() {
    let sandbox = Sandbox::new();
    run_bare(&sandbox, &["help"]).expect_exactly(0, include_str!("expected/help/wildhost.txt"), "");
    run_bare(&sandbox, &["help", "sort"]).expect_exactly(
        0,
        include_str!("expected/help/sort.txt"),
        "",
    );
}

#[test]
fn no_command_prints_the_help_on_stderr_and_exits_2() {
    let sandbox = Sandbox::new();
    run_bare(&sandbox, &[]).expect_exactly(2, "", include_str!("expected/help/wildhost.txt"));
}

#[test]
fn an_invalid_option_value_is_a_usage_error() {
    let sandbox = Sandbox::new();
    sandbox.run(["sort", "--type", "u8"]).expect_exactly(
        2,
        "",
        "\
error: invalid value 'u8' for '--type <KEY_TYPE>'
  [possible values: u32, u64, i32, i64, f32, f64]

For more information, try '--help'.
",
    );
}

#[test]
fn an_unknown_backend_is_reported_with_the_choices() {
    let sandbox = Sandbox::new();
    sandbox
        .run_with_input(["sort", "-b", "nosuch"], b"2\n1\n")
        .expect_exactly(
            2,
            "",
            "\
error: no backend named `nosuch`
  cause: backends found: wildsort, radix, std
  help: `wildhost list` shows every backend and the key types it sorts
",
        );
}

#[test]
fn a_mistyped_backend_is_answered_with_the_nearest_name() {
    let sandbox = Sandbox::new();
    sandbox
        .run_with_input(["sort", "--backend", "radx"], b"2\n1\n")
        .expect_exactly(
            2,
            "",
            "\
error: no backend named `radx`
  cause: backends found: wildsort, radix, std
  help: did you mean `radix`?
",
        );
    sandbox
        .run(["inspect", "wildsrot"])
        .expect_code(1)
        .expect_stderr(&[
            "error: cannot inspect `wildsrot`",
            "help: did you mean `wildsort`?",
        ]);
}

#[test]
fn a_refused_plugin_file_is_reported_with_its_cause_and_help() {
    let sandbox = Sandbox::new();
    let file = sandbox.install(&fixtures::compile_c(
        "hostile.c",
        "libmine.so",
        &["-DMODULE=mine"],
    ));
    fs::set_permissions(&file, fs::Permissions::from_mode(0o666)).expect("chmod");
    sandbox
        .run_with_input(["sort", "-b", "hostile"], b"2\n1\n")
        .expect_exactly(
            1,
            "",
            "\
error: no backend named `hostile`
  cause: backends found: wildsort, radix, std
  cause: 1 plugin file(s) were refused; `wildhost list` says why
  help: `wildhost list` shows every backend and the key types it sorts
",
        );
    let out = sandbox.normalise(sandbox.run([Path::new("inspect"), &file]));
    out.expect_exactly(
        1,
        &with_build_facts(
            "\
file:         <sandbox>/plugins/libmine.so
size:         <size> bytes
format:       ELF 64-bit <arch> shared library
module:       mine (from the file name)
entry point:  WildInit_mine (exported)
ABI tag:      1.3 (host speaks 1.3)
needs:        libc.so.6
library path: -
status:       refused at discovery: the file is writable by every user (mode 0666)
",
            &file,
        ),
        "\
error: cannot load plugin `<sandbox>/plugins/libmine.so`
  cause: the file is writable by every user (mode 0666)
  help: anyone who can write there can run code as you through wildhost: remove their write access (`chmod go-w PATH`), or pass --allow-unsafe-permissions to load it anyway
",
    );
}

#[test]
fn a_file_that_is_not_a_plugin_is_reported_by_inspect() {
    let sandbox = Sandbox::new();
    let path = sandbox.plant("libjunk.so", b"junk");
    let out = sandbox.normalise(sandbox.run([Path::new("inspect"), &path]));
    out.expect_exactly(
        1,
        "\
file:         <sandbox>/plugins/libjunk.so
status:       refused at preflight: not a shared library: the file is not an object file
",
        "\
error: cannot load plugin `<sandbox>/plugins/libjunk.so`
  cause: not a shared library: the file is not an object file
  help: a plugin must be a shared library (.so) built for this machine; remove this file from the plugin directory
",
    );
}

#[test]
fn a_bad_input_line_is_reported_with_its_number_and_text() {
    let sandbox = Sandbox::new();
    sandbox
        .run_with_input(["sort"], b"2\n1\nx12\n4\n")
        .expect_exactly(
            1,
            "",
            "\
error: cannot read the numbers in standard input
  cause: line 3: `x12` is not a valid i64
  help: nothing was written; each line must hold one i64 number; choose the type with --type, sort by a field of each line with --key, or read raw arrays with --format binary
",
        );
    sandbox
        .run_with_input(["sort"], b"1\n-2\n\xff\n")
        .expect_exactly(
            1,
            "",
            "\
error: cannot read the numbers in standard input
  cause: line 3: not valid UTF-8 text
  help: nothing was written; each line must hold one i64 number; choose the type with --type, sort by a field of each line with --key, or read raw arrays with --format binary
",
        );
}

#[test]
fn binary_input_of_a_partial_key_is_reported_with_its_length() {
    let sandbox = Sandbox::new();
    sandbox
        .run_with_input(["sort", "-f", "binary", "-t", "u32"], b"abc")
        .expect_exactly(
            1,
            "",
            "\
error: cannot read the numbers in standard input
  cause: the input is 3 bytes, not a whole number of 4-byte u32 keys
  help: binary input is an array of little-endian u32 keys
",
        );
}

#[test]
fn a_missing_input_file_is_reported_with_its_path() {
    let sandbox = Sandbox::new();
    sandbox.run(["sort", "-i", "missing.txt"]).expect_exactly(
        1,
        "",
        "\
error: cannot read the input file `missing.txt`
  cause: No such file or directory (os error 2)
  help: check the path given with --input
",
    );
}

/// Runs `wildhost <args>` with standard output or standard error (`fd` 1
/// or 2) opened on `/dev/full`, where every write fails.
fn run_onto_full_device(sandbox: &Sandbox, args: &[&str], fd: i32) -> wildhost_suite::Outcome {
    let full = || {
        fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full")
    };
    let mut command = sandbox.command(args);
    command.stdin(std::process::Stdio::null());
    let out = if fd == 1 {
        command.stdout(full()).stderr(std::process::Stdio::piped())
    } else {
        command.stderr(full()).stdout(std::process::Stdio::piped())
    }
    .output()
    .expect("run wildhost");
    wildhost_suite::Outcome {
        code: out.status.code(),
        signal: std::os::unix::process::ExitStatusExt::signal(&out.status),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn an_error_written_to_a_full_stderr_still_exits_1() {
    let sandbox = Sandbox::new();
    let out = run_onto_full_device(&sandbox, &["sort", "-i", "/nonexistent"], 2);
    out.expect_exactly(1, "", "");
    // A warning that cannot be written is no failure either.
    let out = run_onto_full_device(
        &sandbox,
        &["--allow-unsafe-permissions", "list", "--json"],
        2,
    );
    out.expect_code(0);
}

#[test]
fn output_that_cannot_be_written_to_stdout_is_a_failure() {
    let sandbox = Sandbox::new();
    run_onto_full_device(&sandbox, &["list"], 1).expect_exactly(
        1,
        "",
        "\
error: cannot write to standard output
  cause: No space left on device (os error 28)
",
    );
    run_onto_full_device(&sandbox, &["sort", "--help"], 1).expect_exactly(1, "", "");
}

#[test]
fn long_lines_are_counted_before_a_file_is_called_too_large() {
    let sandbox = Sandbox::new();
    // 2000 lines of 20 bytes: at one record per 2 bytes the sort of these
    // 40,000 bytes could take 520,000 (i64 keys, u32 positions, std's
    // scratch of 100%); with their 2000 lines counted, about 104,000.
    let lines: Vec<String> = (0..2000u64)
        .map(|i| format!("{:>19}\n", (i * 7_919) % 2000 * 1_000_003))
        .collect();
    fs::write(sandbox.work().join("long.txt"), lines.concat()).expect("write");
    let mut sorted = lines.clone();
    sorted.sort_by_key(|line| line.trim().parse::<i64>().expect("a number"));
    let args = ["sort", "-b", "std", "-i", "long.txt", "-o", "out.txt"];
    sandbox
        .run([&args[..], &["--memory", "200000"]].concat())
        .expect_exactly(0, "", "");
    let out = fs::read_to_string(sandbox.work().join("out.txt")).expect("output");
    assert_eq!(out, sorted.concat());
    // Counted, they still need more than 50,000 bytes.
    sandbox
        .run([
            "sort",
            "-b",
            "std",
            "-i",
            "long.txt",
            "-o",
            "small.txt",
            "--memory",
            "50000",
        ])
        .expect_code(1)
        .expect_stderr(&["error: `long.txt` is too large to sort in memory"]);
    assert!(!sandbox.work().join("small.txt").exists());
}

#[test]
fn an_input_whose_sort_needs_more_than_memory_is_reported_with_both_figures() {
    let sandbox = Sandbox::new();
    // 1000 lines of `7`: the 2000 bytes, 12,000 bytes of i64 keys and u32
    // line positions, and beside them the larger of std's scratch (100%)
    // and the output's buffer.
    fs::write(sandbox.work().join("sevens.txt"), "7\n".repeat(1000)).expect("write");
    let args = ["sort", "-b", "std", "-i", "sevens.txt", "-o", "out.txt"];
    sandbox
        .run([&args[..], &["--memory", "10000"]].concat())
        .expect_exactly(
            1,
            "",
            "\
error: `sevens.txt` is too large to sort in memory
  cause: sorting its 2000 bytes as i64 text could take up to 26000 bytes (the input, a key and a line position for every 2 bytes of it, backend `std`'s scratch of 100% and the output's buffer)
  cause: the limit is 10000 bytes, given with --memory
  help: nothing was written; with --memory of at least 1.0 MiB, wildhost sorts it in parts through temporary files
",
        );
    sandbox
        .run_with_input(["sort", "-b", "radix", "-f", "binary", "--memory", "1K"], &[0; 4096])
        .expect_exactly(
            1,
            "",
            "\
error: standard input is too large to sort in memory
  cause: it holds more than 512 bytes, the most whose sort as i64 binary fits (a key for every 8 bytes, backend `radix`'s scratch of 100% and the output)
  cause: the limit is 1024 bytes, given with --memory
  help: nothing was written; with --memory of at least 1.0 MiB, wildhost sorts it in parts through temporary files
",
        );
}
