//! `wildhost bench`: every result checked, std and memcpy beside each
//! backend, failures reported in their row while the rest goes on.

use std::fs;
use wildhost_suite::{Sandbox, fixtures};

fn json_rows(out: &wildhost_suite::Outcome) -> Vec<serde_json::Value> {
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bench --json");
    json["rows"].as_array().expect("rows").clone()
}

#[test]
fn a_table_per_type_input_and_size_with_std_and_memcpy() {
    let sandbox = Sandbox::new();
    let out = sandbox.run([
        "bench", "--sizes", "1e2,1000", "--types", "u32,f64", "--repeat", "2",
    ]);
    out.expect_code(0).expect_stdout(&[
        "u32 · uniform · 100 keys · median of 2 run(s), seed 42",
        "u32 · uniform · 1000 keys",
        "f64 · uniform · 1000 keys",
        "BACKEND",
        "NS/KEY",
        "MKEYS/S",
        "VS STD",
        "wildsort",
        "1.00×",
        "floor",
    ]);
    assert!(
        out.stderr.is_empty(),
        "no progress bar when stderr is not a terminal: {}",
        out.stderr
    );
}

#[test]
fn json_has_one_row_per_backend_and_workload() {
    let sandbox = Sandbox::new();
    let out = sandbox.run([
        "bench",
        "--sizes",
        "500",
        "--types",
        "f32",
        "--dist",
        "uniform,specials,zipf",
        "--repeat",
        "3",
        "--json",
    ]);
    out.expect_code(0);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["seed"], 42);
    let rows = json_rows(&out);
    // 3 inputs × (memcpy, std, wildsort, radix)
    assert_eq!(rows.len(), 12, "{rows:?}");
    for row in &rows {
        assert_eq!(row["type"], "f32");
        assert_eq!(row["keys"], 500);
        let status = row["status"].as_str().expect("status");
        assert!(status == "ok" || status == "baseline", "{row}");
        assert!(row["ns_per_key"].as_f64().expect("ns") > 0.0);
        if status == "ok" {
            assert_eq!(row["runs"], 3);
            assert!(row["speedup_vs_std"].as_f64().is_some());
        }
    }
    let std = rows
        .iter()
        .find(|r| r["backend"] == "std")
        .expect("std row");
    assert_eq!(std["speedup_vs_std"], 1.0);
}

#[test]
fn normal_unit_and_lognormal_are_inputs_for_every_key_type() {
    let sandbox = Sandbox::new();
    let out = sandbox.run([
        "bench",
        "--sizes",
        "300",
        "--types",
        "u32,i64,f32",
        "--dist",
        "normal,unit,lognormal",
        "--backends",
        "radix",
        "--repeat",
        "1",
        "--json",
    ]);
    out.expect_code(0);
    let rows = json_rows(&out);
    // 3 types × 3 inputs × (memcpy, std, radix), every result checked
    assert_eq!(rows.len(), 27, "{rows:?}");
    for ty in ["u32", "i64", "f32"] {
        for input in ["normal", "unit", "lognormal"] {
            let row = rows
                .iter()
                .find(|r| r["type"] == ty && r["input"] == input && r["backend"] == "radix")
                .unwrap_or_else(|| panic!("no radix row for {ty} {input}: {rows:?}"));
            assert_eq!(row["status"], "ok", "{row}");
        }
    }
}

#[test]
fn csv_has_a_header_and_a_line_per_row() {
    let sandbox = Sandbox::new();
    let out = sandbox.run([
        "bench",
        "--sizes",
        "100",
        "--backends",
        "wildsort",
        "--csv",
        "-r",
        "1",
    ]);
    out.expect_code(0);
    let text = out.stdout_text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("type,input,keys,backend,status,ns_per_key"));
    assert_eq!(
        lines.len(),
        4,
        "memcpy, std (the baseline), wildsort: {text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("i64,uniform,100,wildsort,ok,"))
    );
}

#[test]
fn a_wrong_or_failing_backend_is_reported_in_its_row_and_the_rest_goes_on() {
    let sandbox = Sandbox::new();
    let loses = fixtures::compile_c(
        "hostile.c",
        "libloses.so",
        &["-DMODULE=loses", "-DCASE_SORT_LOSES_A_KEY"],
    );
    sandbox.install(&loses);
    sandbox.install(&fixtures::rust_plugin("libwildsort_panicky.so"));
    let out = sandbox.run(["bench", "--types", "u64", "--sizes", "1000", "-r", "2"]);
    out.expect_code(1).expect_stdout(&[
        "hostile   failed: wrong result: not a permutation of the input",
        "panicky   failed: backend `panicky` failed with status 4 (panicked)",
        "wildsort",
        "std",
    ]);
    out.expect_stderr(&[
        "error: 2 measurement(s) failed; the other results stand",
        "  cause: ",
    ]);

    let json = sandbox.run([
        "bench", "--types", "u64", "--sizes", "1000", "-r", "1", "--json",
    ]);
    json.expect_code(1);
    let rows = json_rows(&json);
    let wildsort = rows
        .iter()
        .find(|r| r["backend"] == "wildsort")
        .expect("wildsort");
    assert_eq!(wildsort["status"], "ok");
    let hostile = rows
        .iter()
        .find(|r| r["backend"] == "hostile")
        .expect("hostile");
    assert_eq!(hostile["status"], "failed");
    assert!(hostile["ns_per_key"].is_null());
}

#[test]
fn bench_runs_on_the_users_own_file() {
    let sandbox = Sandbox::new();
    let data: String = (0..3000)
        .map(|i| format!("{}\n", (i * 7919) % 3001))
        .collect();
    fs::write(sandbox.work().join("mine.txt"), data).expect("write");
    let out = sandbox.run(["bench", "--input", "mine.txt", "--types", "u32", "-r", "2"]);
    out.expect_code(0).expect_stdout(&[
        "u32 · file mine.txt · 3000 keys · median of 2 run(s)\n",
        "wildsort",
    ]);
    // No seed made a file's keys: none is shown, and JSON's is null.
    assert!(!out.stdout_text().contains("seed"), "{}", out.stdout_text());
    let json = sandbox.run([
        "bench", "--input", "mine.txt", "--types", "u32", "-r", "1", "--json",
    ]);
    json.expect_code(0);
    let report: serde_json::Value =
        serde_json::from_slice(&json.stdout).expect("bench --json is JSON");
    assert_eq!(report["seed"], serde_json::Value::Null);

    let bad = sandbox.run(["bench", "--input", "mine.txt", "--types", "u32,u64"]);
    bad.expect_code(2)
        .expect_stderr(&["--input holds one key type"]);
    sandbox
        .run(["bench", "--input", "mine.txt", "--sizes", "10"])
        .expect_code(2);
    // A seed makes no keys from a file: refused, not ignored.
    sandbox
        .run(["bench", "--input", "mine.txt", "--seed", "7"])
        .expect_code(2)
        .expect_stderr(&["'--input <PATH>' cannot be used with '--seed <SEED>'"]);
    sandbox.run(["bench", "--format", "binary"]).expect_code(2);
}

/// `id,amount,name` with a header and 3000 rows; the amounts repeat.
/// Each row's backend and status.
fn backends_and_statuses(rows: &[serde_json::Value]) -> Vec<(&str, &str)> {
    rows.iter()
        .map(|r| {
            let text = |field: &str| r[field].as_str().expect("a string");
            (text("backend"), text("status"))
        })
        .collect()
}

fn sales_csv() -> String {
    let rows = (0..3000).map(|i| format!("{i},{},n{}\n", (i * 7919) % 301 - 150, i % 13));
    std::iter::once("id,amount,name\n".to_string())
        .chain(rows)
        .collect()
}

#[test]
fn bench_times_the_records_of_a_csv_by_a_field_and_the_whole_job() {
    let sandbox = Sandbox::new();
    fs::write(sandbox.work().join("sales.csv"), sales_csv()).expect("write");
    let out = sandbox.run([
        "bench",
        "--input",
        "sales.csv",
        "--key",
        "2",
        "--delimiter",
        ",",
        "--header",
        "-r",
        "2",
    ]);
    out.expect_code(0).expect_stdout(&[
        "i64 · file sales.csv, key 2 · 3000 records · median of 2 run(s)",
        "NS/RECORD",
        "MREC/S",
        "wildsort",
        "1.00×",
        "radix (whole job)",
        "floor",
    ]);

    let json = sandbox.run([
        "bench",
        "--input",
        "sales.csv",
        "-k",
        "2",
        "--delimiter",
        ",",
        "--header",
        "--backends",
        "wildsort",
        "-r",
        "1",
        "--json",
    ]);
    json.expect_code(0);
    let rows = json_rows(&json);
    let found = backends_and_statuses(&rows);
    assert_eq!(
        found,
        [
            ("memcpy", "baseline"),
            ("std", "ok"),
            ("wildsort", "ok"),
            ("wildsort (whole job)", "job"),
        ],
        "the whole job runs with the first of --backends"
    );
    for row in &rows {
        assert_eq!(row["input"], "file sales.csv, key 2");
        assert_eq!(row["keys"], 3000);
        assert!(row["ns_per_key"].as_f64().expect("ns") > 0.0, "{row}");
    }
    assert!(rows[3]["speedup_vs_std"].is_null(), "a job is not a sort");
}

/// `--memory` adds the whole job sorted in parts, as `wildhost sort
/// --memory` sorts an input that needs more; without --key the records
/// are whole lines.
#[test]
fn bench_times_the_job_in_parts_within_memory() {
    let sandbox = Sandbox::new();
    let lines: String = (0..200_000u64)
        .map(|i| format!("{}\n", (i * 7_919) % 100_003))
        .collect();
    fs::write(sandbox.work().join("ints.txt"), lines).expect("write");
    let json = sandbox.run([
        "bench", "--input", "ints.txt", "--memory", "1M", "-b", "radix", "-r", "1", "--json",
    ]);
    json.expect_code(0);
    let rows = json_rows(&json);
    let found = backends_and_statuses(&rows);
    assert_eq!(
        found,
        [
            ("memcpy", "baseline"),
            ("std", "ok"),
            ("radix", "ok"),
            ("radix (whole job)", "job"),
            ("radix (in parts, --memory 1.0 MiB)", "job"),
        ]
    );
    assert_eq!(rows[4]["input"], "file ints.txt, lines");
    assert_eq!(rows[4]["keys"], 200_000);
}

#[test]
fn records_that_do_not_parse_are_named_by_line_and_field() {
    let sandbox = Sandbox::new();
    fs::write(sandbox.work().join("bad.csv"), "a,1\nb,2\nc,x3\n").expect("write");
    sandbox
        .run(["bench", "-i", "bad.csv", "-k", "2", "--delimiter", ","])
        .expect_code(1)
        .expect_stderr(&[
            "error: cannot read the numbers in `bad.csv`",
            "  cause: line 3, field 2: `x3` is not a valid i64",
            "  help: nothing was measured; field 2 of each line must hold one i64 number",
        ]);
    sandbox
        .run(["bench", "-i", "bad.csv", "-k", "3", "--delimiter", ","])
        .expect_code(1)
        .expect_stderr(&[
            "  cause: line 1 has no field 3: it has 2",
            "(default: runs of blanks); give --header if the first line names the fields\n",
        ]);
}

#[test]
fn a_backend_that_leaves_the_lines_behind_is_reported_in_its_row() {
    let sandbox = Sandbox::new();
    // It sorts the keys and leaves each line's position where it was.
    let stays = fixtures::compile_c(
        "hostile.c",
        "libstays.so",
        &["-DMODULE=stays", "-DCASE_PAIRS_PAYLOAD_STAYS"],
    );
    sandbox.install(&stays);
    let text: String = (0..1000)
        .map(|i| format!("r{i} {}\n", (i * 37) % 101))
        .collect();
    fs::write(sandbox.work().join("scores.txt"), text).expect("write");
    let out = sandbox.run([
        "bench",
        "-i",
        "scores.txt",
        "-k",
        "2",
        "-t",
        "u64",
        "-b",
        "hostile,wildsort",
        "-r",
        "1",
    ]);
    out.expect_code(1)
        .expect_stdout(&[
            "u64 · file scores.txt, key 2 · 1000 records",
            "  hostile              failed: wrong result: the result does not hold the same \
             keys as the input",
            "  hostile (whole job)  failed: wrong result: ",
            "  wildsort  ",
        ])
        .expect_stderr(&["error: 2 measurement(s) failed; the other results stand"]);
}

#[test]
fn record_flags_need_their_companions() {
    let sandbox = Sandbox::new();
    fs::write(sandbox.work().join("two.csv"), "a,1\nb,2\n").expect("write");
    sandbox
        .run(["bench", "-i", "two.csv", "--delimiter", ","])
        .expect_code(2)
        .expect_stderr(&["--key <N>"]);
    sandbox
        .run(["bench", "-i", "two.csv", "--header"])
        .expect_code(2)
        .expect_stderr(&["--key <N>"]);
    sandbox
        .run(["bench", "--key", "2"])
        .expect_code(2)
        .expect_stderr(&["--input <PATH>"]);
    sandbox
        .run(["bench", "-i", "two.csv", "-k", "2", "--delimiter", "ab"])
        .expect_code(2)
        .expect_stderr(&["is not one character"]);
    sandbox
        .run(["bench", "-i", "two.csv", "-k", "2", "--format", "binary"])
        .expect_code(2)
        .expect_stderr(&["error: --key benches lines of text, not binary input"]);
}

#[test]
fn the_plot_is_an_svg_with_title_axes_and_legend() {
    let sandbox = Sandbox::new();
    let out = sandbox.run([
        "bench",
        "--sizes",
        "100,1000",
        "--types",
        "i32",
        "--dist",
        "sorted",
        "-r",
        "2",
        "--plot",
        "speed.svg",
    ]);
    out.expect_code(0)
        .expect_stderr(&["plot written to speed.svg\n"]);
    let svg = fs::read_to_string(sandbox.work().join("speed.svg")).expect("the plot");
    assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
    for words in [
        "wildhost bench: i32 keys, sorted input (median of 2 runs, bars: slowest to fastest)",
        "keys per sort (log scale)",
        "sorts: million keys per second (log scale)",
        "memcpy: million keys per second (log scale)",
        "memcpy (upper bound, right axis)",
        "wildsort",
        "\nstd\n",
    ] {
        assert!(svg.contains(words), "the plot lacks {words:?}");
    }
    // A bar per point: a vertical line and two caps in the colour of its
    // line, for memcpy (grey) at each of the two sizes.
    let memcpy_bar_lines = svg
        .lines()
        .filter(|l| l.starts_with("<line") && l.contains("stroke=\"#7F7F7F\""))
        .count();
    assert_eq!(memcpy_bar_lines, 6, "{svg}");
}

/// `--plot` writes SVG and says so by its name: any other name is refused
/// before a benchmark runs, and nothing is written.
#[test]
fn a_plot_not_named_svg_is_refused_before_any_work() {
    let sandbox = Sandbox::new();
    for (name, cause) in [
        (
            "p.png",
            "PNG is not supported: wildhost draws its plots as SVG",
        ),
        (
            "p.xyz",
            "`.xyz` is not an extension --plot accepts; it accepts `.svg` only",
        ),
        (
            "plot",
            "the file name has no extension; --plot accepts `.svg` only",
        ),
    ] {
        let out = sandbox.run(["bench", "--sizes", "1e12", "--plot", name]);
        out.expect_code(2).expect_stderr(&[
            &format!("error: cannot plot into `{name}`\n  cause: {cause}\n"),
            "help: use `--plot p",
        ]);
        assert!(out.stdout.is_empty(), "it measured: {}", out.stdout_text());
        assert!(!sandbox.work().join(name).exists(), "{name} was written");
    }
    // The extension's case does not matter.
    sandbox
        .run([
            "bench",
            "--sizes",
            "100",
            "--types",
            "u32",
            "--dist",
            "sorted",
            "-r",
            "1",
            "--backends",
            "std",
            "--plot",
            "P.SVG",
        ])
        .expect_code(0);
    let svg = fs::read(sandbox.work().join("P.SVG")).expect("the plot");
    assert!(svg.starts_with(b"<svg"));
}

#[test]
fn bad_options_are_usage_errors() {
    let sandbox = Sandbox::new();
    sandbox.run(["bench", "--sizes", "0"]).expect_code(2);
    sandbox.run(["bench", "--sizes", "1.5"]).expect_code(2);
    sandbox
        .run(["bench", "--dist", "gaussian"])
        .expect_code(2)
        .expect_stderr(&["few-unique"]);
    sandbox.run(["bench", "--repeat", "0"]).expect_code(2);
    sandbox.run(["bench", "--json", "--csv"]).expect_code(2);
    sandbox
        .run(["bench", "--types", "u64", "--dist", "specials"])
        .expect_code(2)
        .expect_stderr(&["specials"]);
    sandbox
        .run(["bench", "--backends", "quantum"])
        .expect_code(2)
        .expect_stderr(&["no backend named `quantum`"]);
    sandbox
        .run(["bench", "--backends", "std,radx"])
        .expect_code(2)
        .expect_stderr(&["no backend named `radx`", "help: did you mean `radix`?"]);
}

#[test]
fn sizes_that_do_not_fit_in_memory_are_refused_before_any_work() {
    let sandbox = Sandbox::new();
    // 1e12 keys of 8 bytes: terabytes, on any machine.
    sandbox
        .run(["bench", "--sizes", "1e3,1e12", "--types", "u64"])
        .expect_code(1)
        .expect_stderr(&[
            "error: not enough memory to bench 1000000000000 u64 keys",
            "need 29.1 TiB",
            "is available",
            "help: nothing was measured",
        ]);
    // Beyond that is no number of keys at all.
    sandbox
        .run(["bench", "--sizes", "2e12"])
        .expect_code(2)
        .expect_stderr(&["2e12"]);
}
