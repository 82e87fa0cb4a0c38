//! `wildhost sort`'s record mode: every line written back byte for byte,
//! ordered stably by a number in it (the whole line, or one field with
//! `--key` and `--delimiter`), checked against GNU sort (`sort -s` with
//! `-n`, `-g`, `-t C`, `-kN,N`) on seeded generated tables.
//!
//! GNU's output is first checked against a plain stable sort written here,
//! so a difference in the second check is wildhost's. The generator keeps
//! to what both programs read alike: no `+` on an integer (`-n` does not
//! take it for a sign), no NaN or hex float, no two spellings of one f64
//! with different decimal values (`-g` reads long doubles: `0.1` and
//! `0.10000000000000001` differ there), and no line wildhost refuses (GNU
//! reads those as 0).

mod reference;
mod table;

use reference::{gnu_expected, reference};
use std::fs;
use table::table;
use wildhost_suite::Sandbox;

/// The key types the tables are generated for.
#[derive(Clone, Copy, Debug)]
enum KeyType {
    I64,
    U64,
    I32,
    F64,
}

impl KeyType {
    fn name(self) -> &'static str {
        match self {
            KeyType::I64 => "i64",
            KeyType::U64 => "u64",
            KeyType::I32 => "i32",
            KeyType::F64 => "f64",
        }
    }

    /// GNU sort's ordering option for the type: numeric or general numeric.
    fn gnu_order(self) -> &'static str {
        match self {
            KeyType::F64 => "g",
            _ => "n",
        }
    }
}

/// Where a line's key is.
#[derive(Clone, Copy, Debug)]
enum Fields {
    /// The whole line.
    Whole,
    /// The N-th run of non-blanks (`--key N`).
    Blanks(usize),
    /// The N-th field between single-byte delimiters
    /// (`--key N --delimiter C`).
    Delimited(usize, u8),
}

/// One way of running `wildhost sort` and the GNU sort that should match it.
#[derive(Clone, Copy, Debug)]
struct Mode {
    key_type: KeyType,
    fields: Fields,
    reverse: bool,
    header: bool,
}

impl Mode {
    fn new(key_type: KeyType, fields: Fields) -> Mode {
        Mode {
            key_type,
            fields,
            reverse: false,
            header: false,
        }
    }

    fn reversed(self) -> Mode {
        Mode {
            reverse: true,
            ..self
        }
    }

    fn with_header(self) -> Mode {
        Mode {
            header: true,
            ..self
        }
    }

    fn wildhost_args(self) -> Vec<String> {
        let mut args = vec!["sort".into(), "--type".into(), self.key_type.name().into()];
        match self.fields {
            Fields::Whole => {}
            Fields::Blanks(n) => args.extend(["--key".into(), n.to_string()]),
            Fields::Delimited(n, delimiter) => args.extend([
                "--key".into(),
                n.to_string(),
                "--delimiter".into(),
                char::from(delimiter).to_string(),
            ]),
        }
        args.extend(self.reverse.then(|| "--reverse".into()));
        args.extend(self.header.then(|| "--header".into()));
        args
    }

    /// GNU sort's arguments for the lines after any header. `r` goes into
    /// the key: a key with an ordering option of its own ignores the global
    /// ones, so `sort -s -r -k2,2n` sorts ascending.
    fn gnu_args(self) -> Vec<String> {
        let order = format!(
            "{}{}",
            self.key_type.gnu_order(),
            if self.reverse { "r" } else { "" }
        );
        let key = |n: usize| format!("-k{n},{n}{order}");
        match self.fields {
            Fields::Whole => vec!["-s".into(), format!("-{order}")],
            Fields::Blanks(n) => vec!["-s".into(), key(n)],
            Fields::Delimited(n, delimiter) => vec![
                "-s".into(),
                "-t".into(),
                char::from(delimiter).to_string(),
                key(n),
            ],
        }
    }

    fn key_field(self) -> usize {
        match self.fields {
            Fields::Whole => 1,
            Fields::Blanks(n) | Fields::Delimited(n, _) => n,
        }
    }
}

// ---------------------------------------------------------------------------
// Checks

/// Fails, showing the first line that differs, unless the outputs are the
/// same bytes.
#[track_caller]
fn same_output(what: &str, expected: &[u8], got: &[u8]) {
    if expected == got {
        return;
    }
    let lines = |bytes: &[u8]| {
        bytes
            .split_inclusive(|&b| b == b'\n')
            .map(<[u8]>::to_vec)
            .collect()
    };
    let (expected, got): (Vec<Vec<u8>>, Vec<Vec<u8>>) = (lines(expected), lines(got));
    let at = expected
        .iter()
        .zip(&got)
        .position(|(e, g)| e != g)
        .unwrap_or(expected.len().min(got.len()));
    let show = |line: Option<&Vec<u8>>| match line {
        Some(line) => format!("\"{}\"", line.escape_ascii()),
        None => "(no line)".to_owned(),
    };
    panic!(
        "{what}: the output differs from line {} on ({} lines expected, {} written)\n\
         expected: {}\n     got: {}",
        at + 1,
        expected.len(),
        got.len(),
        show(expected.get(at)),
        show(got.get(at)),
    );
}

/// Checks GNU sort against the reference on `input`, then wildhost (with
/// `extra` arguments) against GNU sort.
#[track_caller]
fn agrees_with_gnu(sandbox: &Sandbox, mode: Mode, input: &[u8], extra: &[&str], what: &str) {
    let gnu = gnu_expected(mode, input);
    let gnu_args = mode.gnu_args().join(" ");
    same_output(
        &format!("GNU `sort {gnu_args}` against the reference, {what}"),
        &reference(mode, input),
        &gnu,
    );
    let mut args = mode.wildhost_args();
    args.extend(extra.iter().map(|&arg| arg.to_owned()));
    let out = sandbox.run_with_input(&args, input);
    assert_eq!(
        out.code,
        Some(0),
        "`wildhost {}` ({what}) exited with {:?}:\n{}",
        args.join(" "),
        out.code,
        out.stderr
    );
    same_output(
        &format!(
            "`wildhost {}` against `sort {gnu_args}`, {what}",
            args.join(" ")
        ),
        &gnu,
        &out.stdout,
    );
}

/// [`agrees_with_gnu`] on the table `seed` makes for `mode`.
#[track_caller]
fn table_agrees(sandbox: &Sandbox, mode: Mode, seed: u64) {
    agrees_with_gnu(
        sandbox,
        mode,
        &table(mode, seed),
        &[],
        &format!("{mode:?}, seed {seed}"),
    );
}

// ---------------------------------------------------------------------------
// Orders that match GNU sort

const DELIMITERS: [u8; 5] = [b',', b'\t', b';', b'|', b' '];

#[test]
fn delimited_integer_keys_match_gnu_sort_t_k_n() {
    let sandbox = Sandbox::new();
    for delimiter in DELIMITERS {
        for seed in 1..=6 {
            let key = 1 + (seed as usize + usize::from(delimiter)) % 4;
            let mode = Mode::new(KeyType::I64, Fields::Delimited(key, delimiter));
            table_agrees(&sandbox, mode, seed);
        }
    }
}

#[test]
fn delimited_float_keys_match_gnu_sort_t_k_g() {
    let sandbox = Sandbox::new();
    for delimiter in [b',', b'\t'] {
        for seed in 11..=16 {
            let mode = Mode::new(
                KeyType::F64,
                Fields::Delimited(1 + seed as usize % 3, delimiter),
            );
            table_agrees(&sandbox, mode, seed);
        }
    }
}

#[test]
fn whole_lines_match_gnu_sort_n_and_g() {
    let sandbox = Sandbox::new();
    for seed in 21..=26 {
        table_agrees(&sandbox, Mode::new(KeyType::I64, Fields::Whole), seed);
    }
    for seed in 27..=29 {
        table_agrees(&sandbox, Mode::new(KeyType::F64, Fields::Whole), seed);
    }
}

#[test]
fn blank_separated_fields_match_gnu_sort_k() {
    let sandbox = Sandbox::new();
    for seed in 31..=36 {
        let mode = Mode::new(KeyType::I64, Fields::Blanks(1 + seed as usize % 4));
        table_agrees(&sandbox, mode, seed);
    }
    for seed in 37..=39 {
        let mode = Mode::new(KeyType::F64, Fields::Blanks(1 + seed as usize % 3));
        table_agrees(&sandbox, mode, seed);
    }
}

#[test]
fn reverse_keeps_equal_keys_in_input_order_as_gnu_sort_r_does() {
    let sandbox = Sandbox::new();
    for seed in 41..=43 {
        for fields in [
            Fields::Whole,
            Fields::Blanks(2),
            Fields::Delimited(3, b','),
            Fields::Delimited(1, b'\t'),
        ] {
            table_agrees(&sandbox, Mode::new(KeyType::I64, fields).reversed(), seed);
        }
        let mode = Mode::new(KeyType::F64, Fields::Delimited(2, b',')).reversed();
        table_agrees(&sandbox, mode, seed);
    }
}

#[test]
fn a_header_stays_first_and_the_rest_matches_gnu_sort() {
    let sandbox = Sandbox::new();
    for seed in 51..=52 {
        for fields in [Fields::Whole, Fields::Blanks(3), Fields::Delimited(2, b',')] {
            let mode = Mode::new(KeyType::I64, fields).with_header();
            table_agrees(&sandbox, mode, seed);
            table_agrees(&sandbox, mode.reversed(), seed);
        }
    }
}

#[test]
fn u64_and_i32_keys_match_gnu_sort() {
    let sandbox = Sandbox::new();
    for key_type in [KeyType::U64, KeyType::I32] {
        for seed in 61..=63 {
            let mode = Mode::new(key_type, Fields::Delimited(2, b','));
            table_agrees(&sandbox, mode, seed);
            table_agrees(&sandbox, mode.reversed(), seed);
        }
    }
}

#[test]
fn every_backend_keeps_equal_keys_in_input_order() {
    let sandbox = Sandbox::new();
    for backend in ["std", "wildsort", "radix"] {
        for (mode, seed) in [
            (Mode::new(KeyType::I64, Fields::Delimited(2, b',')), 71),
            (Mode::new(KeyType::F64, Fields::Blanks(1)).reversed(), 72),
        ] {
            let what = format!("{mode:?}, seed {seed}, backend {backend}");
            agrees_with_gnu(
                &sandbox,
                mode,
                &table(mode, seed),
                &["--backend", backend],
                &what,
            );
        }
    }
}

#[test]
fn records_come_out_verbatim_in_key_order() {
    let sandbox = Sandbox::new();
    let input = "name,qty,city\r\nbolt, 12 ,Zürich\r\nnut,3,Oslo\nwasher,12,Bern\nscrew,-007,Rome";
    let mode = Mode::new(KeyType::I64, Fields::Delimited(2, b',')).with_header();
    for (mode, expected) in [
        (
            mode,
            "name,qty,city\r\nscrew,-007,Rome\nnut,3,Oslo\nbolt, 12 ,Zürich\r\nwasher,12,Bern\n",
        ),
        (
            mode.reversed(),
            "name,qty,city\r\nbolt, 12 ,Zürich\r\nwasher,12,Bern\nnut,3,Oslo\nscrew,-007,Rome\n",
        ),
    ] {
        spelled_out(&sandbox, mode, input, expected);
    }
}

/// GNU sort and wildhost both write `expected`, spelled out by hand.
fn spelled_out(sandbox: &Sandbox, mode: Mode, input: &str, expected: &str) {
    same_output(
        "GNU sort",
        expected.as_bytes(),
        &gnu_expected(mode, input.as_bytes()),
    );
    sandbox
        .run_with_input(mode.wildhost_args(), input.as_bytes())
        .expect_exactly(0, expected, "");
}

#[test]
fn a_last_line_without_its_newline_gets_one() {
    let sandbox = Sandbox::new();
    for (mode, input, expected) in [
        (
            Mode::new(KeyType::I64, Fields::Whole),
            "3\n1\n2",
            "1\n2\n3\n",
        ),
        (Mode::new(KeyType::I64, Fields::Whole), "2\n1", "1\n2\n"),
        // A last line ending in `\r` is a CRLF line without its `\n`.
        (
            Mode::new(KeyType::I64, Fields::Delimited(2, b',')),
            "b,2\r\na,1\r",
            "a,1\r\nb,2\r\n",
        ),
        (
            Mode::new(KeyType::F64, Fields::Blanks(2)),
            "x 2.5\ny -1e3",
            "y -1e3\nx 2.5\n",
        ),
    ] {
        spelled_out(&sandbox, mode, input, expected);
    }
}

#[test]
fn empty_input_gives_empty_output() {
    let sandbox = Sandbox::new();
    for args in [
        &["sort"][..],
        &["sort", "--key", "2", "--delimiter", ","],
        &["sort", "-k", "1", "-r", "-t", "f64"],
    ] {
        let out = sandbox.run_with_input(args, b"");
        out.expect_code(0);
        assert!(
            out.stdout.is_empty(),
            "{args:?} wrote {:?}",
            out.stdout_text()
        );
    }
}

// ---------------------------------------------------------------------------
// Keys that are not numbers, and flags that do not go together

/// Runs `args` on `input` and checks that it fails on a bad key, writes
/// nothing to stdout, and says `needles` on stderr.
#[track_caller]
fn refused(args: &[&str], input: &str, needles: &[&str]) {
    let sandbox = Sandbox::new();
    let out = sandbox.run_with_input(args, input.as_bytes());
    out.expect_code(1).expect_stderr(needles);
    assert!(out.stdout.is_empty(), "nothing is written on a bad key");
}

#[test]
fn a_field_that_is_not_a_number_names_its_line_field_and_text() {
    refused(
        &["sort", "--key", "2", "--delimiter", ","],
        "a,1,x\nb,2,y\nc,abc,z\nd,4,w\n",
        &["error: ", "line 3", "field 2", "abc"],
    );
    refused(
        &["sort", "-k", "3"],
        "a b 1\nc d eleven\n",
        &["line 2", "field 3", "eleven"],
    );
}

#[test]
fn an_empty_field_is_not_a_number() {
    refused(
        &["sort", "--key", "2", "--delimiter", ","],
        "4,5,6\n1,,3\n",
        &["error: ", "line 2", "field 2"],
    );
}

#[test]
fn a_missing_field_is_an_error() {
    refused(
        &["sort", "--key", "3", "--delimiter", ","],
        "a,1,7\nb,2\nc,3,9\n",
        &["error: ", "line 2", "field 3"],
    );
    refused(&["sort", "--key", "2"], "a 1\nb\n", &["line 2", "field 2"]);
}

#[test]
fn a_blank_line_is_an_error_when_the_whole_line_is_the_key() {
    refused(&["sort"], "3\n1\n\n2\n", &["error: ", "line 3"]);
    refused(&["sort"], "3\n  \t\r\n2\n", &["error: ", "line 2"]);
}

#[test]
fn a_key_out_of_its_types_range_is_an_error() {
    refused(
        &["sort", "-t", "i32", "-k", "2", "-d", ","],
        "a,1\nb,2147483648\n",
        &["line 2", "field 2", "2147483648"],
    );
    refused(
        &["sort", "-t", "u64", "-k", "1"],
        "5 a\n-17 b\n",
        &["line 2", "field 1", "-17"],
    );
}

#[test]
fn line_numbers_count_the_header() {
    refused(
        &["sort", "--header", "--key", "2", "--delimiter", ","],
        "name,qty\na,1\nb,x\n",
        &["line 3", "field 2", "x"],
    );
}

#[test]
fn a_bad_key_leaves_an_existing_output_file_exactly_as_it_was() {
    let sandbox = Sandbox::new();
    let output = sandbox.work().join("out.csv");
    fs::write(sandbox.work().join("in.csv"), "a,5\nb,4\nc,x\n").expect("write input");
    fs::write(&output, b"precious,1\r\nno newline").expect("write output");
    let args = [
        "sort",
        "-i",
        "in.csv",
        "-o",
        "out.csv",
        "--key",
        "2",
        "--delimiter",
        ",",
    ];
    let out = sandbox.run(args);
    out.expect_code(1).expect_stderr(&["line 3", "field 2"]);
    assert!(out.stdout.is_empty());
    assert_eq!(
        fs::read(&output).expect("read output"),
        b"precious,1\r\nno newline"
    );
}

#[test]
fn binary_format_refuses_the_record_flags() {
    let sandbox = Sandbox::new();
    for (args, named) in [
        (&["--key", "1"][..], Some("--key")),
        (&["--header"], Some("--header")),
        (&["--key", "1", "--delimiter", ","], None),
    ] {
        let mut command = vec!["sort", "--format", "binary"];
        command.extend(args);
        let out = sandbox.run_with_input(&command, &[0; 8]);
        out.expect_code(2).expect_stderr(&["error"]);
        out.expect_stderr(named.as_slice());
        assert!(out.stdout.is_empty(), "{command:?} wrote to stdout");
    }
}

#[test]
fn a_delimiter_needs_a_key() {
    let sandbox = Sandbox::new();
    let out = sandbox.run_with_input(["sort", "--delimiter", ","], b"1\n");
    out.expect_code(2).expect_stderr(&["--key"]);
    assert!(out.stdout.is_empty());
}

// ---------------------------------------------------------------------------
// Threads

/// A large input (read in parts, parsed in runs and written in blocks on
/// several threads) gives the same bytes with `--threads` 1, 2 and 3 as
/// with one thread (whose output the tests above hold to GNU sort's), read
/// from a file and from standard input, forwards and in reverse.
#[test]
fn every_thread_count_gives_the_same_bytes() {
    let sandbox = Sandbox::new();
    // 640K rows of 27 bytes or more: above the sizes from which reading
    // (16 MiB), parsing (4 MiB) and writing (2^17 records) use threads.
    let mut csv = Vec::new();
    let mut x: u64 = 7;
    for i in 0..640_000u64 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let key = (x >> 40) as i64 % 20_000 - 10_000;
        csv.extend_from_slice(format!("row{i},{key},a longer text\n").as_bytes());
    }
    assert!(csv.len() > 16 << 20);
    let file = sandbox.plant("big.csv", &csv);
    let file = file.to_str().expect("a UTF-8 path");
    for (reverse, counts) in [(false, ["1", "2", "3"].as_slice()), (true, &["1", "2"])] {
        let mut outputs = Vec::new();
        for &threads in counts {
            let mut args = vec![
                "sort",
                "-k",
                "2",
                "-d",
                ",",
                "--threads",
                threads,
                "-i",
                file,
            ];
            if reverse {
                args.push("-r");
            }
            let out = sandbox.run(&args);
            assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
            outputs.push(out.stdout);
        }
        assert!(
            outputs.iter().all(|o| *o == outputs[0]),
            "reverse {reverse}"
        );
    }
    // Whole lines, canonical: the keys alone are sorted and written.
    let lines: Vec<u8> = csv
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .flat_map(|l| {
            let key = l.split(|&b| b == b',').nth(1).expect("a key");
            [key, b"\n"].concat()
        })
        .collect();
    let one = sandbox.run_with_input(["sort", "--threads", "1"], &lines);
    let two = sandbox.run_with_input(["sort", "--threads", "2"], &lines);
    assert_eq!(two.code, Some(0), "{}", two.stderr);
    assert!(one.stdout == two.stdout);
    sandbox
        .run(["sort", "--threads", "0"])
        .expect_code(2)
        .expect_stderr(&["--threads"]);
    // A thread count past the cap is refused, not tried (100000 threads'
    // stacks once made wildhost abort).
    sandbox
        .run(["sort", "--threads", "100000", "-i", file])
        .expect_code(2)
        .expect_stderr(&["at most 256 threads"]);
    let most = sandbox.run(["sort", "--threads", "256", "-i", file, "-k", "2", "-d", ","]);
    assert_eq!(most.code, Some(0), "{}", most.stderr);
}
