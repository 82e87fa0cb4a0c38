//! A plugin directory full of hostile files: each one is refused with the
//! stage and the words of its reason, files refused by preflight are never
//! opened (their constructors never run), and the good plugins beside them
//! keep working.

use std::fs;
use std::path::Path;
use wildhost_suite::{Outcome, SHIPPED_LIST, Sandbox, fixtures, shipped_plugin, with_build_facts};

/// One variant of `tests/fixtures/hostile.c`: its `CASE_` name, the stage
/// that refuses it, and words the reason must contain.
struct Case {
    case: &'static str,
    stage: &'static str,
    cause: &'static str,
}

const fn case(case: &'static str, stage: &'static str, cause: &'static str) -> Case {
    Case { case, stage, cause }
}

/// Every C variant the host must refuse. Preflight cases never run code.
const REFUSED: &[Case] = &[
    case(
        "NO_ENTRY",
        "preflight",
        "no entry point: the file does not export `WildInit_h_no_entry`",
    ),
    case(
        "ENTRY_IS_DATA",
        "preflight",
        "`WildInit_h_entry_is_data` is not a function",
    ),
    case(
        "LAYOUT_IS_A_FUNCTION",
        "preflight",
        "`WildLayout_h_layout_is_a_function` is a function, not a variable holding a pointer",
    ),
    case(
        "LAYOUT_IS_SMALL",
        "preflight",
        "`WildLayout_h_layout_is_small` is 4 bytes, not a pointer (8 bytes)",
    ),
    case(
        "LAYOUT_IS_A_NUMBER",
        "layout check",
        "`WildLayout_h_layout_is_a_number` holds 0x2a, which points outside the plugin's image",
    ),
    case(
        "NO_TAG",
        "preflight",
        "no ABI tag: the file does not export `WildAbi_h_no_tag`",
    ),
    case(
        "TAG_BAD_MAGIC",
        "preflight",
        "the ABI tag `WildAbi_h_tag_bad_magic` has the wrong magic",
    ),
    case(
        "TAG_MAJOR_2",
        "preflight",
        "plugin ABI 2.0, host speaks 1.x",
    ),
    case(
        "TAG_MINOR_NEWER",
        "preflight",
        "plugin ABI 1.4 is newer than this host's 1.3",
    ),
    case(
        "NULL_DEFINITION",
        "validation",
        "the entry point returned a null module definition",
    ),
    case(
        "MISALIGNED_DEFINITION",
        "validation",
        "the module definition is misaligned",
    ),
    case("BAD_MAGIC", "validation", "magic"),
    case(
        "DEF_SAYS_MAJOR_2",
        "validation",
        "the module definition says ABI 2.",
    ),
    case("SMALL_SIZE", "validation", "16 bytes"),
    case("NAME_MISMATCH", "validation", "someone_else"),
    case(
        "NAME_NOT_UTF8",
        "validation",
        "module name: not valid UTF-8",
    ),
    case("NULL_NAME", "validation", "module name"),
    case("EMPTY_VERSION", "validation", "version"),
    case(
        "LONG_DOC",
        "validation",
        "module doc: longer than 1023 bytes",
    ),
    case(
        "FEATURES_UNTERMINATED",
        "validation",
        "the feature list is not null-terminated within 64 entries",
    ),
    case("NO_METHODS", "validation", "no backends"),
    case("NULL_METHODS", "validation", "null"),
    case(
        "TOO_MANY_METHODS",
        "validation",
        "1000 backends, more than the limit of 256",
    ),
    case(
        "SHORT_STRIDE",
        "validation",
        "method entries are 8 bytes apart, ABI 1.3 needs a multiple of 8 from 64 to 1024",
    ),
    case(
        "HUGE_STRIDE",
        "validation",
        "method entries are 1073741824 bytes apart",
    ),
    case("NULL_SORT", "validation", "sort"),
    case(
        "UNKNOWN_KEY_BITS",
        "validation",
        "declares unknown key type bits 0x40",
    ),
    case("NO_KEY_TYPES", "validation", "key type"),
    case("UNKNOWN_FLAGS", "validation", "0x80"),
    case("RESERVED_SET", "validation", "reserved"),
    case("BAD_BACKEND_NAME", "validation", "has space"),
    case(
        "DUPLICATE_BACKEND",
        "validation",
        "the name `hostile` appears twice",
    ),
];

/// Hostile files that are not built from C: (file name, bytes, stage,
/// cause).
fn byte_fixtures() -> Vec<(String, Vec<u8>, &'static str, &'static str)> {
    let good = fs::read(shipped_plugin("libwildsort_std.so")).expect("read the std plugin");
    let mut foreign = good.clone();
    let machine: u16 = if cfg!(target_arch = "aarch64") {
        62
    } else {
        183
    };
    foreign[18..20].copy_from_slice(&machine.to_le_bytes());
    vec![
        (
            "libempty.so".into(),
            Vec::new(),
            "preflight",
            "the file is empty",
        ),
        (
            "libtext.so".into(),
            b"#!/bin/sh\necho not a library\n".to_vec(),
            "preflight",
            "not a shared library: the file is not an object file",
        ),
        (
            "libtruncated.so".into(),
            good[..good.len() / 2].to_vec(),
            "preflight",
            "truncated",
        ),
        (
            "libheader_only.so".into(),
            good[..64].to_vec(),
            "preflight",
            "truncated",
        ),
        ("libforeign.so".into(), foreign, "preflight", "this host is"),
        (
            "libelf32.so".into(),
            elf32_shared_object(),
            "preflight",
            "(32-bit), this host is",
        ),
    ]
}

/// The smallest ELF file that says "32-bit x86 shared library".
fn elf32_shared_object() -> Vec<u8> {
    let mut h = vec![0x7f, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    h.extend_from_slice(&3u16.to_le_bytes()); // e_type: ET_DYN
    h.extend_from_slice(&3u16.to_le_bytes()); // e_machine: EM_386
    h.extend_from_slice(&1u32.to_le_bytes()); // e_version
    h.extend_from_slice(&[0; 12]); // e_entry, e_phoff, e_shoff
    h.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    h.extend_from_slice(&52u16.to_le_bytes()); // e_ehsize
    h.extend_from_slice(&32u16.to_le_bytes()); // e_phentsize
    h.extend_from_slice(&0u16.to_le_bytes()); // e_phnum
    h.extend_from_slice(&40u16.to_le_bytes()); // e_shentsize
    h.extend_from_slice(&[0; 4]); // e_shnum, e_shstrndx
    h
}

fn inspect_refuses(sandbox: &Sandbox, path: &Path, stage: &str, cause: &str) -> Outcome {
    let out = sandbox.run([Path::new("inspect"), path]);
    out.expect_code(1).expect_stderr(&[
        &format!("error: cannot load plugin `{}`", path.display()),
        "  cause: ",
        cause,
        "  help: ",
    ]);
    out.expect_stdout(&[&format!("refused at {stage}: ")]);
    out
}

fn canary_lines(canary: &Path) -> Vec<String> {
    let mut lines: Vec<String> = fs::read_to_string(canary)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines.dedup();
    lines
}

#[test]
fn the_unbroken_variant_loads_and_sorts() {
    let sandbox = Sandbox::new();
    sandbox.install(&fixtures::hostile(""));
    let out = sandbox.run_with_input(["sort", "-b", "hostile", "-t", "u64"], b"3\n1\n2\n");
    out.expect_code(0);
    assert_eq!(out.stdout_text(), "1\n2\n3\n");
}

#[test]
fn each_hostile_plugin_is_refused_with_its_reason() {
    let sandbox = Sandbox::new();
    let canary = sandbox.path().join("canary");
    for case in REFUSED {
        let path = fixtures::hostile(case.case);
        let mut command = sandbox.command([Path::new("inspect"), &path]);
        command.env("WILDHOST_TEST_CANARY", &canary);
        let _ = fs::remove_file(&canary);
        let out = wildhost_suite::run(command, b"");
        out.expect_code(1).expect_stderr(&[
            &format!("error: cannot load plugin `{}`", path.display()),
            case.cause,
            "  help: ",
        ]);
        out.expect_stdout(&[&format!("refused at {}: ", case.stage)]);
        let opened = canary_lines(&canary) == [fixtures::hostile_module(case.case)];
        assert_eq!(
            opened,
            case.stage != "preflight",
            "{}: refused at {} but the file was {}opened",
            case.case,
            case.stage,
            if opened { "" } else { "not " }
        );
    }
}

#[test]
fn byte_level_junk_is_refused_by_preflight() {
    let sandbox = Sandbox::new();
    for (name, bytes, stage, cause) in byte_fixtures() {
        let path = sandbox.plant(&name, &bytes);
        inspect_refuses(&sandbox, &path, stage, cause);
    }
}

#[test]
fn a_foreign_architecture_is_named() {
    let sandbox = Sandbox::new();
    let mut bytes = fs::read(shipped_plugin("libwildsort_std.so")).expect("read");
    let (machine, name) = if cfg!(target_arch = "aarch64") {
        (
            62u16,
            "built for x86_64 (64-bit), this host is aarch64 (64-bit)",
        )
    } else {
        (
            183u16,
            "built for aarch64 (64-bit), this host is x86_64 (64-bit)",
        )
    };
    bytes[18..20].copy_from_slice(&machine.to_le_bytes());
    let path = sandbox.plant("libwildsort_std.so", &bytes);
    inspect_refuses(&sandbox, &path, "preflight", name);
}

#[test]
fn executables_and_unlinked_objects_are_not_plugins() {
    let sandbox = Sandbox::new();
    let exe = fixtures::compile_c("program.c", "libprogram.so", &["-fPIE", "-pie"]);
    inspect_refuses(
        &sandbox,
        &exe,
        "preflight",
        "not a shared library: the file is an executable",
    );
    let object = fixtures::compile_c("hostile.c", "libhostile.so", &["-c"]);
    inspect_refuses(
        &sandbox,
        &object,
        "preflight",
        "not a shared library: the file is an unlinked object file",
    );
}

#[test]
fn file_names_must_name_a_module() {
    let sandbox = Sandbox::new();
    let good = shipped_plugin("libwildsort_std.so");
    let renamed = sandbox.install_as(&good, "libwildsort_other.so");
    inspect_refuses(
        &sandbox,
        &renamed,
        "preflight",
        "no entry point: the file does not export `WildInit_wildsort_other`",
    );
    let bad = sandbox.install_as(&good, "libBad-Name.so");
    inspect_refuses(
        &sandbox,
        &bad,
        "preflight",
        "`Bad-Name` (from the file name) is not a valid module name",
    );
}

#[test]
fn a_pipe_or_a_directory_named_like_a_plugin_is_refused_without_waiting() {
    let sandbox = Sandbox::new();
    // Opened to be read, the pipe would wait for a writer forever.
    let pipe = sandbox.plugins().join("libpipe.so");
    wildhost_suite::mkfifo(&pipe);
    let dir = sandbox.plugins().join("libdir.so");
    fs::create_dir(&dir).expect("mkdir");
    for path in [&pipe, &dir] {
        inspect_refuses(&sandbox, path, "preflight", "not a regular file");
        let out = sandbox.run([Path::new("verify"), path]);
        out.expect_code(1)
            .expect_stdout(&["refused at preflight: not a regular file"]);
    }
    let out = sandbox.normalise(sandbox.run(["list"]));
    out.expect_exactly(
        0,
        &[
            SHIPPED_LIST,
            "
refused (2):
  <sandbox>/plugins/libdir.so
    cause: not a regular file (discovery)
    help: remove it from the plugin directory
  <sandbox>/plugins/libpipe.so
    cause: not a regular file (discovery)
    help: remove it from the plugin directory

",
            wildhost_suite::SEARCH_PATH,
        ]
        .concat(),
        "",
    );
    let sorted = sandbox.run_with_input(["sort"], b"2\n1\n");
    sorted.expect_code(0);
    assert_eq!(sorted.stdout_text(), "1\n2\n");
}

#[test]
fn a_link_to_a_file_not_named_as_a_plugin_names_that_file() {
    let sandbox = Sandbox::new();
    let target = sandbox.plant("mem", b"not a plugin");
    let link = sandbox.plugins().join("libmem.so");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    inspect_refuses(
        &sandbox,
        &link,
        "preflight",
        "the file name `mem` does not end in `.so`",
    );
}

#[test]
fn a_directory_of_hostile_files_does_not_stop_the_good_plugins() {
    let sandbox = Sandbox::new();
    let canary = sandbox.path().join("canary");
    for case in REFUSED {
        sandbox.install(&fixtures::hostile(case.case));
    }
    let junk = byte_fixtures();
    for (name, bytes, _, _) in &junk {
        sandbox.plant(name, bytes);
    }

    let mut list = sandbox.command(["list", "--json"]);
    list.env("WILDHOST_TEST_CANARY", &canary);
    let out = wildhost_suite::run(list, b"");
    out.expect_code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("list --json");
    let backends: Vec<&str> = json["backends"]
        .as_array()
        .expect("backends")
        .iter()
        .map(|b| b["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        backends.len(),
        3,
        "only the shipped backends load: {backends:?}"
    );
    assert!(
        ["std", "wildsort", "radix"]
            .iter()
            .all(|b| backends.contains(b))
    );
    let refused = json["refused"].as_array().expect("refused");
    assert_eq!(refused.len(), REFUSED.len() + junk.len());
    for case in REFUSED {
        let module = fixtures::hostile_module(case.case);
        let entry = refused
            .iter()
            .find(|r| r["module"] == module.as_str())
            .unwrap_or_else(|| panic!("{module} is not listed as refused"));
        // JSON names the stage by its key, text by its words.
        let stage = match case.stage {
            "layout check" => "layout",
            other => other,
        };
        assert_eq!(entry["refusal"]["stage"], stage, "{module}");
        let cause = entry["refusal"]["cause"].as_str().expect("cause");
        assert!(cause.contains(case.cause), "{module}: {cause}");
    }
    // Exactly the files that passed preflight were opened.
    let mut opened: Vec<String> = REFUSED
        .iter()
        .filter(|c| c.stage != "preflight")
        .map(|c| fixtures::hostile_module(c.case))
        .collect();
    opened.sort();
    assert_eq!(canary_lines(&canary), opened);

    let sorted = sandbox.run_with_input(["sort", "-b", "wildsort"], b"2\n1\n");
    sorted.expect_code(0);
    assert_eq!(sorted.stdout_text(), "1\n2\n");
    let human = sandbox.run(["list"]);
    human
        .expect_code(0)
        .expect_stdout(&["h_null_definition", "refused"]);
}

#[test]
fn an_unknown_backend_mentions_the_refused_files() {
    let sandbox = Sandbox::new();
    sandbox.install(&fixtures::hostile("NULL_SORT"));
    sandbox
        .run_with_input(["sort", "-b", "hostile"], b"1\n")
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
    let out = sandbox.normalise(sandbox.run(["list"]));
    out.expect_exactly(
        0,
        &[SHIPPED_LIST, "
refused (1):
  <sandbox>/plugins/libh_null_sort.so
    cause: backend #0: `hostile`: sort function is null (validation)
    help: the plugin breaks the wildhost ABI; report it to its author, or remove it from the plugin directory

", wildhost_suite::SEARCH_PATH].concat(),
        "",
    );
}

#[test]
fn a_failing_sort_reports_the_plugins_message() {
    let sandbox = Sandbox::new();
    sandbox.install(&fixtures::hostile("SORT_FAILS"));
    let out = sandbox.run_with_input(["sort", "-b", "hostile", "-t", "u64"], b"2\n1\n");
    out.expect_code(1)
        .expect_stderr(&["error: ", "hostile", "the disk is on fire"]);
    assert!(out.stdout.is_empty());
}

#[test]
fn an_unknown_status_code_is_a_failure() {
    let sandbox = Sandbox::new();
    sandbox.install(&fixtures::hostile("SORT_BAD_STATUS"));
    let out = sandbox.run_with_input(["sort", "-b", "hostile", "-t", "u64"], b"2\n1\n");
    out.expect_code(1).expect_stderr(&[
        "error: ",
        "backend `hostile` failed with status 77 (unknown status): (no message)",
    ]);
    assert!(out.stdout.is_empty());
}

#[test]
fn a_key_type_the_backend_lacks_is_refused_before_reading() {
    let sandbox = Sandbox::new();
    sandbox.install(&fixtures::hostile(""));
    sandbox
        .run_with_input(["sort", "-b", "hostile", "-t", "f32"], b"1.5\n")
        .expect_code(2)
        .expect_stderr(&["error: ", "hostile", "f32", "help: "]);
}

#[test]
fn init_unavailable_is_listed_with_its_reason_and_never_sorts() {
    let sandbox = Sandbox::new();
    sandbox.install(&fixtures::hostile("INIT_UNAVAILABLE"));
    let out = sandbox.normalise(sandbox.run(["list"]));
    out.expect_exactly(
        0,
        &["\
BACKEND   MODULE              KEY TYPES                FLAGS                                           DEFAULT FOR              STATUS                                     DESCRIPTION
wildsort  wildsort            u32 u64 i32 i64 f32 f64  stable, pairs, scratch 100%                     -                        available                                  stable bottom-up merge sort with insertion-sorted runs, written in C
radix     wildsort_radix      u32 u64 i32 i64 f32 f64  stable, parallel, pairs, threads, scratch 100%  u32 u64 i32 i64 f32 f64  available                                  MSD radix sort (adaptive digits, counting for few values), one scratch buffer the size of the input; on several threads when given a thread count
std       wildsort_std        u32 u64 i32 i64 f32 f64  stable, pairs, scratch 100%                     -                        available                                  core::slice::sort_unstable (pattern-defeating quicksort), in place; pairs by a stable sort of indices
hostile   h_init_unavailable  u64                      in place                                        -                        unavailable: no FROB unit on this machine  sorts with qsort

MODULE              VERSION  ABI  FEATURES  FROM
wildsort            1.0.0    1.3  c11       built-in
wildsort_radix      0.1.0    1.3  -         built-in
wildsort_std        0.1.0    1.3  -         built-in
h_init_unavailable  6.6.6    1.3  qsort     <sandbox>/plugins/libh_init_unavailable.so

", wildhost_suite::SEARCH_PATH].concat(),
        "",
    );
    sandbox
        .run_with_input(["sort", "-b", "hostile", "-t", "u64"], b"1\n")
        .expect_exactly(
            1,
            "",
            "\
error: backend `hostile` is unavailable on this machine
  cause: no FROB unit on this machine
  help: pick another backend (`wildhost list`)
",
        );
    // the default backend is still found
    sandbox
        .run_with_input(["sort", "-t", "u64"], b"2\n1\n")
        .expect_code(0);
}

#[test]
fn init_failing_makes_the_module_unavailable() {
    let sandbox = Sandbox::new();
    let path = sandbox.install(&fixtures::hostile("INIT_FAILS"));
    let out = sandbox.normalise(sandbox.run([Path::new("inspect"), &path]));
    out.expect_exactly(
        0,
        &with_build_facts(
            "\
file:         <sandbox>/plugins/libh_init_fails.so
size:         <size> bytes
format:       ELF 64-bit <arch> shared library
module:       h_init_fails (from the file name)
entry point:  WildInit_h_init_fails (exported)
ABI tag:      1.3 (host speaks 1.3)
needs:        libc.so.6
library path: -
layout:       not exported (C plugin): checked by magic, version and size
status:       loadable
version:      6.6.6
doc:          a plugin that breaks one rule
features:     qsort
availability: unavailable: init failed with status 5 (failed): cannot open /dev/frob
backends:
  hostile  [u64]  in place
      sorts with qsort
",
            &path,
        ),
        "",
    );
    sandbox
        .run_with_input(["sort", "-b", "hostile", "-t", "u64"], b"1\n")
        .expect_exactly(
            1,
            "",
            "\
error: backend `hostile` is unavailable on this machine
  cause: init failed with status 5 (failed): cannot open /dev/frob
  help: pick another backend (`wildhost list`)
",
        );
}

#[test]
fn a_panicking_rust_backend_is_an_error_not_a_crash() {
    let sandbox = Sandbox::new();
    sandbox.install(&fixtures::rust_plugin("libwildsort_panicky.so"));
    let out = sandbox.run_with_input(["sort", "-b", "panicky", "-t", "u64"], b"3\n2\n1\n");
    out.expect_code(1).expect_stderr(&[
        "error: ",
        "panicky",
        "panicked",
        "panicky gives up on 3 keys",
    ]);
    assert!(out.stdout.is_empty());
    // one key does not panic; the process is still healthy
    let out = sandbox.run_with_input(["sort", "-b", "panicky", "-t", "u64"], b"7\n");
    out.expect_code(0);
    assert_eq!(out.stdout_text(), "7\n");
}

#[test]
fn a_rust_plugin_can_be_unavailable() {
    let sandbox = Sandbox::new();
    sandbox.install(&fixtures::rust_plugin("libwildsort_unavailable.so"));
    let out = sandbox.normalise(sandbox.run(["list"]));
    out.expect_exactly(
        0,
        &["\
BACKEND   MODULE                KEY TYPES                FLAGS                                           DEFAULT FOR              STATUS                                                                       DESCRIPTION
wildsort  wildsort              u32 u64 i32 i64 f32 f64  stable, pairs, scratch 100%                     -                        available                                                                    stable bottom-up merge sort with insertion-sorted runs, written in C
radix     wildsort_radix        u32 u64 i32 i64 f32 f64  stable, parallel, pairs, threads, scratch 100%  u32 u64 i32 i64 f32 f64  available                                                                    MSD radix sort (adaptive digits, counting for few values), one scratch buffer the size of the input; on several threads when given a thread count
std       wildsort_std          u32 u64 i32 i64 f32 f64  stable, pairs, scratch 100%                     -                        available                                                                    core::slice::sort_unstable (pattern-defeating quicksort), in place; pairs by a stable sort of indices
frob      wildsort_unavailable  u64                      in place                                        -                        unavailable: needs the imaginary FROB instruction set, which this CPU lacks  sorts with FROB instructions

MODULE                VERSION  ABI  FEATURES  FROM
wildsort              1.0.0    1.3  c11       built-in
wildsort_radix        0.1.0    1.3  -         built-in
wildsort_std          0.1.0    1.3  -         built-in
wildsort_unavailable  0.1.0    1.3  frob      <sandbox>/plugins/libwildsort_unavailable.so

", wildhost_suite::SEARCH_PATH].concat(),
        "",
    );
    sandbox
        .run_with_input(["sort", "-b", "frob", "-t", "u64"], b"1\n")
        .expect_exactly(
            1,
            "",
            "\
error: backend `frob` is unavailable on this machine
  cause: needs the imaginary FROB instruction set, which this CPU lacks
  help: pick another backend (`wildhost list`)
",
        );
}

#[test]
fn a_rust_plugin_built_against_a_drifted_abi_is_refused_naming_the_field() {
    let sandbox = Sandbox::new();
    let path = sandbox.install(fixtures::drifted_plugin());
    inspect_refuses(
        &sandbox,
        &path,
        "layout check",
        "field `ModuleDef.methods[].scratch_percent` is u32 (4 bytes) in this host, u64 (8 bytes) in the plugin",
    );
    sandbox.run_with_input(["sort"], b"2\n1\n").expect_code(0);
}

/// A backend without a pairs entry sorts records through its key sort;
/// keys that come back other than they went in stop that, with or without
/// the result check, and nothing is written.
#[test]
fn a_key_sort_that_changes_keys_cannot_carry_records() {
    let sandbox = Sandbox::new();
    for case in [
        "SORT_DROPS_THE_MAX",
        "SORT_LOSES_A_KEY",
        "SORT_DOES_NOTHING",
    ] {
        let plugin = fixtures::compile_c(
            "hostile.c",
            "libwrong.so",
            &["-DMODULE=wrong", &format!("-DCASE_{case}")],
        );
        sandbox.install(&plugin);
        for verify in [&[][..], &["--no-verify"]] {
            // `010` is not canonical: the lines go through the pairs sort.
            let args = [&["sort", "-b", "hostile", "-t", "u64"][..], verify].concat();
            let out = sandbox.run_with_input(&args, b"30\n010\n20\n");
            out.expect_code(1).expect_stderr(&[
                "error: sorting with backend `hostile` failed",
                "returned a wrong result from its key sort",
                "help: nothing was written",
            ]);
            assert!(out.stdout.is_empty(), "{case}");
        }
        fs::remove_file(sandbox.plugins().join("libwrong.so")).expect("remove");
    }
}

#[test]
fn a_wrong_result_is_caught_and_nothing_is_written() {
    let sandbox = Sandbox::new();
    let loses = fixtures::compile_c(
        "hostile.c",
        "libloses.so",
        &["-DMODULE=loses", "-DCASE_SORT_LOSES_A_KEY"],
    );
    let idle = fixtures::compile_c(
        "hostile.c",
        "libidle.so",
        &["-DMODULE=idle", "-DCASE_SORT_DOES_NOTHING"],
    );
    sandbox.install(&loses);
    let input = sandbox.work().join("in.txt");
    let output = sandbox.work().join("out.txt");
    fs::write(&input, "30\n10\n20\n").expect("write");
    fs::write(&output, "keep me\n").expect("write");

    let out = sandbox.run([
        "sort", "-b", "hostile", "-t", "u64", "-i", "in.txt", "-o", "out.txt",
    ]);
    out.expect_code(1).expect_stderr(&[
        "error: backend `hostile` returned a wrong result",
        "a key was changed, dropped or duplicated",
        "help: nothing was written",
    ]);
    assert_eq!(fs::read_to_string(&output).expect("read"), "keep me\n");
    assert_eq!(fs::read_to_string(&input).expect("read"), "30\n10\n20\n");

    // --no-verify trusts the backend: its wrong result is written.
    sandbox
        .run([
            "sort",
            "-b",
            "hostile",
            "-t",
            "u64",
            "-i",
            "in.txt",
            "--no-verify",
        ])
        .expect_code(0)
        .expect_stdout(&["20\n20\n30\n"]);

    fs::remove_file(sandbox.plugins().join("libloses.so")).expect("remove");
    sandbox.install(&idle);
    sandbox
        .run([
            "sort", "-b", "hostile", "-t", "u64", "-i", "in.txt", "-o", "out.txt",
        ])
        .expect_code(1)
        .expect_stderr(&["the result is not sorted: keys 0 and 1 are out of order"]);
    assert_eq!(fs::read_to_string(&output).expect("read"), "keep me\n");
}

/// The hostile fixture linked with `extra` linker arguments, as
/// `libh_deps.so`.
fn linked_with(extra: &[&str]) -> std::path::PathBuf {
    let mut args = vec!["-DMODULE=h_deps"];
    args.extend_from_slice(extra);
    fixtures::compile_c("hostile.c", "libh_deps.so", &args)
}

/// A library search path the loader would read from the current directory
/// (a relative or empty entry), or that reaches a directory others can
/// write, would let a planted library run code in wildhost: refused at
/// preflight, before anything of the plugin runs; `$ORIGIN` is fine.
#[test]
fn library_search_paths_that_others_could_plant_in_are_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let sandbox = Sandbox::new();
    let relative = linked_with(&["-Wl,-rpath,."]);
    inspect_refuses(
        &sandbox,
        &relative,
        "preflight",
        "its library search path has the relative entry `.`, which the loader reads from the \
         current directory",
    );
    let empty = linked_with(&["-Wl,-rpath,:/usr/lib"]);
    inspect_refuses(
        &sandbox,
        &empty,
        "preflight",
        "its library search path has an empty entry, which the loader reads as the current \
         directory",
    );
    let open_dir = sandbox.work().join("open");
    fs::create_dir(&open_dir).expect("mkdir");
    fs::set_permissions(&open_dir, fs::Permissions::from_mode(0o777)).expect("chmod");
    let rpath = format!("-Wl,-rpath,{}", open_dir.display());
    let open = linked_with(&[&rpath]);
    inspect_refuses(
        &sandbox,
        &open,
        "preflight",
        &format!(
            "its library search path has `{}`, and that directory is writable by every user \
             (mode 0777)",
            open_dir.display()
        ),
    );

    let origin = linked_with(&["-Wl,-rpath,$ORIGIN/lib"]);
    let out = sandbox.run([Path::new("inspect"), &origin]);
    out.expect_code(0)
        .expect_stdout(&["needs:        libc.so.6\n", "library path: $ORIGIN/lib\n"]);
}

/// An `init` that ignores its message capacity writes into a buffer of its
/// own, not into wildhost's memory: the module is listed as unavailable,
/// with how far past the capacity it wrote.
#[test]
fn an_init_writing_past_its_message_capacity_is_unavailable_by_name() {
    let sandbox = Sandbox::new();
    sandbox.install(&fixtures::hostile("INIT_OVERRUNS"));
    let out = sandbox.run(["list", "--json"]);
    out.expect_code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["refused"], serde_json::json!([]), "{json}");
    let module = json["modules"]
        .as_array()
        .expect("modules")
        .iter()
        .find(|m| m["name"] == "h_init_overruns")
        .expect("listed");
    assert_eq!(
        module["availability"],
        serde_json::json!({
            "status": "unavailable",
            "reason": "its init wrote 88 bytes past its message capacity of 512 bytes",
        }),
        "{module}"
    );
}
