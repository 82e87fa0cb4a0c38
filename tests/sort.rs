//! `wildhost sort` end to end: the built binary, the built plugins, every
//! key type, both formats, checked byte for byte against a reference sort.

use std::fs;
use std::path::PathBuf;
use wildhost_suite::{Outcome, Rng, Sandbox};

/// The shipped backends every key type is sorted through.
const BACKENDS: [&str; 3] = ["std", "wildsort", "radix"];

/// A key type as the tests see it: random values with the edge cases mixed
/// in, the reference order, and both wire formats.
trait TestKey: Copy + std::fmt::Debug {
    const NAME: &'static str;
    fn random(rng: &mut Rng) -> Self;
    /// Values that must survive a sort bit for bit.
    fn edges() -> Vec<Self>;
    fn reference_sort(keys: &mut [Self]);
    /// The order of text lines: stable, and floats' -0.0 equal to 0.0 (as
    /// numbers are).
    fn lines_sort(keys: &mut [Self]) {
        Self::reference_sort(keys);
    }
    fn to_le(self, out: &mut Vec<u8>);
    /// The line `wildhost sort` prints for this value.
    fn text(self) -> String;
    /// Whether the text format keeps every bit (not so for NaN payloads).
    fn text_exact(self) -> bool {
        true
    }
}

macro_rules! int_key {
    ($t:ty, $name:literal) => {
        impl TestKey for $t {
            const NAME: &'static str = $name;
            fn random(rng: &mut Rng) -> Self {
                // Mostly full range, some small, so duplicates happen.
                match rng.below(4) {
                    0 => rng.below(16) as $t,
                    _ => rng.next_u64() as $t,
                }
            }
            fn edges() -> Vec<Self> {
                vec![
                    <$t>::MIN,
                    <$t>::MAX,
                    0 as $t,
                    1 as $t,
                    <$t>::MAX - 1,
                    <$t>::MIN + 1,
                ]
            }
            fn reference_sort(keys: &mut [Self]) {
                keys.sort_unstable();
            }
            fn to_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn text(self) -> String {
                self.to_string()
            }
        }
    };
}

int_key!(u32, "u32");
int_key!(u64, "u64");
int_key!(i32, "i32");
int_key!(i64, "i64");

macro_rules! float_key {
    ($t:ty, $bits:ty, $name:literal) => {
        impl TestKey for $t {
            const NAME: &'static str = $name;
            fn random(rng: &mut Rng) -> Self {
                match rng.below(8) {
                    // any bit pattern: NaNs with payloads, subnormals, all of it
                    0 => <$t>::from_bits(rng.next_u64() as $bits),
                    1 => (rng.below(8) as $t) - 4.0,
                    _ => ((rng.next_u64() >> 11) as $t / (1u64 << 53) as $t - 0.5) * 1e6,
                }
            }
            fn edges() -> Vec<Self> {
                let nan = <$t>::NAN;
                vec![
                    nan,
                    -nan,
                    <$t>::from_bits(nan.to_bits() | 1),
                    <$t>::from_bits((-nan).to_bits() | 0x5),
                    <$t>::INFINITY,
                    <$t>::NEG_INFINITY,
                    0.0,
                    -0.0,
                    <$t>::MIN_POSITIVE,
                    <$t>::from_bits(1),
                    -<$t>::from_bits(1),
                    <$t>::from_bits(<$t>::MIN_POSITIVE.to_bits() - 1),
                    <$t>::MAX,
                    <$t>::MIN,
                    <$t>::EPSILON,
                ]
            }
            fn reference_sort(keys: &mut [Self]) {
                keys.sort_unstable_by(<$t>::total_cmp);
            }
            fn lines_sort(keys: &mut [Self]) {
                let number = |k: $t| if k == 0.0 { 0.0 } else { k };
                keys.sort_by(|a, b| number(*a).total_cmp(&number(*b)));
            }
            fn to_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn text(self) -> String {
                match (self.is_nan(), self.is_sign_negative()) {
                    (true, true) => "-NaN".to_owned(),
                    _ => format!("{self:?}"),
                }
            }
            fn text_exact(self) -> bool {
                !self.is_nan()
                    || self.to_bits() & !(1 << (<$bits>::BITS - 1)) == <$t>::NAN.to_bits()
            }
        }
    };
}

float_key!(f32, u32, "f32");
float_key!(f64, u64, "f64");

fn keys<T: TestKey>(seed: u64, len: usize) -> Vec<T> {
    let mut rng = Rng::new(seed);
    let mut keys: Vec<T> = (0..len).map(|_| T::random(&mut rng)).collect();
    keys.extend(T::edges());
    keys.extend(T::edges());
    // shuffle so the edge cases are not all at the end
    for i in (1..keys.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        keys.swap(i, j);
    }
    keys
}

fn binary<T: TestKey>(keys: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    keys.iter().for_each(|k| k.to_le(&mut out));
    out
}

fn text<T: TestKey>(keys: &[T]) -> String {
    keys.iter().map(|k| k.text() + "\n").collect()
}

fn sort_binary<T: TestKey>(sandbox: &Sandbox, backend: &str, input: &[T]) {
    let mut expected = input.to_vec();
    T::reference_sort(&mut expected);
    let out = sandbox.run_with_input(
        [
            "sort",
            "--backend",
            backend,
            "--type",
            T::NAME,
            "--format",
            "binary",
        ],
        &binary(input),
    );
    out.expect_code(0);
    assert!(
        out.stdout == binary(&expected),
        "{backend} sorted {} {} keys wrong (binary)",
        input.len(),
        T::NAME
    );
}

fn sort_text<T: TestKey>(sandbox: &Sandbox, backend: &str, input: &[T]) {
    // Text cannot carry NaN payloads: keep the keys it can.
    let input: Vec<T> = input.iter().copied().filter(|k| k.text_exact()).collect();
    let mut expected = input.clone();
    T::lines_sort(&mut expected);
    let out = sandbox.run_with_input(
        ["sort", "-b", backend, "-t", T::NAME],
        text(&input).as_bytes(),
    );
    out.expect_code(0);
    assert_eq!(
        out.stdout_text(),
        text(&expected),
        "{backend}: {} (text)",
        T::NAME
    );
}

fn every_backend<T: TestKey>() {
    let sandbox = Sandbox::new();
    for backend in BACKENDS {
        for (seed, len) in [
            (1, 0),
            (2, 1),
            (3, 2),
            (4, 23),
            (5, 24),
            (6, 25),
            (7, 1000),
            (8, 30_000),
        ] {
            let input = keys::<T>(seed, len);
            sort_binary(&sandbox, backend, &input);
            sort_text(&sandbox, backend, &input);
        }
    }
}

#[test]
fn u32_through_every_backend() {
    every_backend::<u32>();
}

#[test]
fn u64_through_every_backend() {
    every_backend::<u64>();
}

#[test]
fn i32_through_every_backend() {
    every_backend::<i32>();
}

#[test]
fn i64_through_every_backend() {
    every_backend::<i64>();
}

#[test]
fn f32_through_every_backend() {
    every_backend::<f32>();
}

#[test]
fn f64_through_every_backend() {
    every_backend::<f64>();
}

#[test]
fn floats_come_out_in_total_order() {
    let sandbox = Sandbox::new();
    let input = "inf\n1e-310\n-0.0\nNaN\n0.0\n-inf\n-NaN\n-1.5\n";
    for backend in BACKENDS {
        let out = sandbox.run_with_input(["sort", "-b", backend, "-t", "f64"], input.as_bytes());
        out.expect_code(0);
        assert_eq!(
            out.stdout_text(),
            "-NaN\n-inf\n-1.5\n-0.0\n0.0\n1e-310\ninf\nNaN\n"
        );
    }
}

#[test]
fn empty_input_gives_empty_output() {
    let sandbox = Sandbox::new();
    for format in ["text", "binary"] {
        let out = sandbox.run_with_input(["sort", "--format", format], b"");
        out.expect_code(0);
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn blanks_around_numbers_are_ignored_and_kept() {
    let sandbox = Sandbox::new();
    let out = sandbox.run_with_input(["sort"], b"  42 \n\t-7\r\n1000\n3");
    out.expect_code(0);
    assert_eq!(out.stdout_text(), "\t-7\r\n3\n  42 \n1000\n");
}

#[test]
fn a_blank_line_is_an_error_not_a_line_lost() {
    let sandbox = Sandbox::new();
    for input in [&b"\n  \n\t\n"[..], b"1\n2\n\n", b"1\r\n\r\n2\r\n"] {
        let out = sandbox.run_with_input(["sort"], input);
        out.expect_code(1)
            .expect_stderr(&["is blank: it holds no number"]);
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn default_type_is_i64_and_default_backend_is_listed() {
    let sandbox = Sandbox::new();
    let out = sandbox.run_with_input(["sort"], b"9223372036854775807\n-9223372036854775808\n0\n");
    out.expect_code(0);
    assert_eq!(
        out.stdout_text(),
        "-9223372036854775808\n0\n9223372036854775807\n"
    );
}

fn bad_input(sandbox: &Sandbox, args: &[&str], input: &str) -> Outcome {
    let out = sandbox.run_with_input(args, input.as_bytes());
    out.expect_code(1);
    assert!(out.stdout.is_empty(), "nothing is written on a bad line");
    out
}

#[test]
fn a_bad_line_names_its_number_and_text() {
    let sandbox = Sandbox::new();
    bad_input(&sandbox, &["sort"], "1\n2\nthree\n4\n")
        .expect_stderr(&["error: ", "line 3: `three` is not a valid i64"]);
    bad_input(&sandbox, &["sort", "-t", "u32"], "1\n4294967296\n")
        .expect_stderr(&["line 2: `4294967296` is out of range for u32"]);
    bad_input(&sandbox, &["sort", "-t", "u64"], "-1\n").expect_stderr(&["line 1: `-1`", "u64"]);
    bad_input(&sandbox, &["sort", "-t", "i32"], "2147483648\n")
        .expect_stderr(&["line 1: `2147483648` is out of range for i32"]);
    bad_input(&sandbox, &["sort", "-t", "f32"], "1\n1e39\n")
        .expect_stderr(&["line 2: `1e39`", "infinite"]);
    bad_input(&sandbox, &["sort", "-t", "f64"], "1.5.2\n")
        .expect_stderr(&["line 1: `1.5.2` is not a valid f64"]);
    bad_input(&sandbox, &["sort", "-t", "i64"], "1 2\n").expect_stderr(&["line 1: `1 2`"]);
}

#[test]
fn input_that_is_not_utf8_is_refused() {
    let sandbox = Sandbox::new();
    let out = sandbox.run_with_input(["sort"], b"1\n\xff\xfe\n");
    out.expect_code(1)
        .expect_stderr(&["error: ", "line 2", "UTF-8"]);
    assert!(out.stdout.is_empty());
}

#[test]
fn binary_input_must_hold_whole_keys() {
    let sandbox = Sandbox::new();
    let out = sandbox.run_with_input(["sort", "-f", "binary", "-t", "u64"], &[0u8; 12]);
    out.expect_code(1)
        .expect_stderr(&["12 bytes, not a whole number of 8-byte u64 keys"]);
    assert!(out.stdout.is_empty());
}

#[test]
fn a_bad_line_leaves_an_existing_output_file_exactly_as_it_was() {
    let sandbox = Sandbox::new();
    let input = sandbox.work().join("in.txt");
    let output = sandbox.work().join("out.txt");
    fs::write(&input, "5\n4\nx\n").expect("write input");
    fs::write(&output, "precious\n").expect("write output");
    let out = sandbox.run(["sort", "-i", "in.txt", "-o", "out.txt"]);
    out.expect_code(1).expect_stderr(&["line 3: `x`"]);
    assert_eq!(fs::read_to_string(&output).expect("read"), "precious\n");
    let leftovers: Vec<_> = fs::read_dir(sandbox.work())
        .expect("read work/")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        2,
        "no temporary files left behind: {leftovers:?}"
    );
}

#[test]
fn output_may_be_the_input_file() {
    let sandbox = Sandbox::new();
    let path = sandbox.work().join("data.txt");
    fs::write(&path, "3\n1\n2\n").expect("write");
    sandbox
        .run(["sort", "-i", "data.txt", "-o", "data.txt"])
        .expect_code(0);
    assert_eq!(fs::read_to_string(&path).expect("read"), "1\n2\n3\n");
}

#[test]
fn output_file_replaces_an_old_one_and_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    let output = sandbox.work().join("out.bin");
    fs::write(&output, "old contents that are longer than the new ones").expect("write");
    fs::set_permissions(&output, fs::Permissions::from_mode(0o640)).expect("chmod");
    let out = sandbox.run_with_input(
        ["sort", "-t", "u32", "-f", "binary", "-o", "out.bin"],
        &[2, 0, 0, 0, 1, 0, 0, 0],
    );
    out.expect_code(0);
    assert!(out.stdout.is_empty());
    assert_eq!(fs::read(&output).expect("read"), [1, 0, 0, 0, 2, 0, 0, 0]);
    let mode = fs::metadata(&output).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn missing_input_file_is_an_error_naming_it() {
    let sandbox = Sandbox::new();
    sandbox
        .run(["sort", "-i", "no-such-file.txt"])
        .expect_code(1)
        .expect_stderr(&["no-such-file.txt"]);
}

#[test]
fn output_into_a_missing_directory_is_an_error() {
    let sandbox = Sandbox::new();
    let out = sandbox.run_with_input(["sort", "-o", "nowhere/out.txt"], b"1\n");
    out.expect_code(1).expect_stderr(&["nowhere"]);
    assert!(!sandbox.work().join("nowhere").exists());
}

#[test]
fn unknown_backend_is_an_error_with_the_choices() {
    let sandbox = Sandbox::new();
    sandbox
        .run_with_input(["sort", "--backend", "quantum"], b"1\n")
        .expect_code(2)
        .expect_stderr(&["error: ", "quantum", "help: "]);
}

#[test]
fn usage_errors_exit_2() {
    let sandbox = Sandbox::new();
    sandbox.run(["sort", "--type", "u128"]).expect_code(2);
    sandbox.run(["sort", "--format", "csv"]).expect_code(2);
    sandbox.run(["sort", "--no-such-flag"]).expect_code(2);
    sandbox.run(["frobnicate"]).expect_code(2);
}

/// What a sort may need is bounded from the input before it is read: the
/// input, a key and a line position for every 2 bytes of it (`7\n`), and
/// the larger of the backend's scratch and the output's buffer. Past that
/// the input is sorted in parts, to the same bytes; under 1 MiB it is
/// refused.
#[test]
fn an_input_is_sorted_within_memory_in_parts_past_it_and_refused_below_a_mib() {
    let sandbox = Sandbox::new();
    let input = "7\n3\n".repeat(25_000);
    fs::write(sandbox.work().join("in.txt"), &input).expect("write input");
    let expected = format!("{}{}", "3\n".repeat(25_000), "7\n".repeat(25_000));
    let temp = sandbox.work().join("temp");
    fs::create_dir(&temp).expect("temp dir");
    let temp = temp.to_str().expect("utf-8").to_string();
    // 100,000 bytes of input, 50,000 records of 12 bytes (an i64 key and a
    // u32 position), and the scratch of radix and std (100%) as much again.
    for (backend, needs) in [("std", 1_300_000), ("radix", 1_300_000)] {
        let sort = |memory: u64| {
            let memory = memory.to_string();
            sandbox.run([
                "sort",
                "-b",
                backend,
                "-i",
                "in.txt",
                "-o",
                "out.txt",
                "--memory",
                &memory,
                "--temp-dir",
                &temp,
            ])
        };
        for memory in [needs, needs - 1] {
            fs::write(sandbox.work().join("out.txt"), "old\n").expect("write output");
            sort(memory).expect_exactly(0, "", "");
            assert_eq!(
                fs::read_to_string(sandbox.work().join("out.txt")).unwrap(),
                expected,
                "--memory {memory}"
            );
        }
        fs::write(sandbox.work().join("out.txt"), "old\n").expect("write output");
        sort((1 << 20) - 1)
            .expect_code(1)
            .expect_stderr(&["too large to sort in memory", "could take up to 1.2 MiB"]);
        assert_eq!(
            fs::read_to_string(sandbox.work().join("out.txt")).unwrap(),
            "old\n"
        );
    }
    assert_eq!(
        fs::read_dir(&temp).expect("temp").count(),
        0,
        "nothing left"
    );
    // Standard input is read up to what fits, then sorted in parts.
    for memory in ["1299999", "1300000"] {
        let out = sandbox.run_with_input(
            ["sort", "-b", "std", "--memory", memory, "--temp-dir", &temp],
            input.as_bytes(),
        );
        out.expect_code(0);
        assert_eq!(out.stdout_text(), expected);
    }
    sandbox
        .run_with_input(
            ["sort", "-b", "std", "--memory", "1048575"],
            input.as_bytes(),
        )
        .expect_code(1)
        .expect_stderr(&["standard input is too large", "more than"]);
    // Sizes take the suffixes of powers of 1024.
    sandbox
        .run_with_input(["sort", "--memory", "1.5KiB"], input.as_bytes())
        .expect_stderr(&["the limit is 1536 bytes, given with --memory"]);
    for wrong in ["0", "lots", "5x", "-1M", "MiB"] {
        sandbox
            .run_with_input(["sort", &format!("--memory={wrong}")], b"1\n")
            .expect_code(2)
            .expect_stderr(&["--memory", "is not a size"]);
    }
}

/// SIGTERM while the output is being written, into an existing file:
/// afterwards the directory holds the input and the output only, and the
/// output is the old file (or the whole result, had it been put in place
/// before the signal came), never a part. The file being written has no
/// name (`O_TMPFILE`) until it is whole: no descriptor of wildhost ever
/// names a `.wildhost-*` file.
#[test]
fn a_sort_ended_by_sigterm_while_writing_leaves_the_old_output_and_no_temporary_file() {
    use std::os::unix::process::ExitStatusExt;
    let sandbox = Sandbox::new();
    let input = keys::<u64>(7, 1_000_000);
    let mut sorted = input.clone();
    sorted.sort_unstable();
    // Text, for a large output and a long write.
    fs::write(sandbox.work().join("in.txt"), text(&input)).expect("write input");
    let whole = text(&sorted);
    let work = fs::canonicalize(sandbox.work()).expect("work directory");
    let args = [
        "sort", "-t", "u64", "-b", "std", "-i", "in.txt", "-o", "out.txt",
    ];
    let mut caught = 0;
    for _ in 0..10 {
        fs::write(sandbox.work().join("out.txt"), b"old").expect("write output");
        let mut child = sandbox
            .command(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start wildhost");
        let fds = format!("/proc/{}/fd", child.id());
        // Watch for the file being written: a descriptor into the work
        // directory other than the input; SIGTERM the moment it appears.
        let writing = loop {
            if child.try_wait().expect("wait").is_some() {
                break false;
            }
            let open: Vec<PathBuf> = fs::read_dir(&fds)
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|entry| fs::read_link(entry.path()).ok())
                .collect();
            for target in &open {
                assert!(
                    !target.to_string_lossy().contains(".wildhost-"),
                    "a temporary file has a name while it is written: {}",
                    target.display()
                );
            }
            if open
                .iter()
                .any(|t| t.starts_with(&work) && !t.ends_with("in.txt"))
            {
                break true;
            }
        };
        // SAFETY: kill sends a signal to the child started above.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let status = child.wait().expect("wait for wildhost");
        let mut names: Vec<String> = fs::read_dir(sandbox.work())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["in.txt", "out.txt"], "{status}");
        let output = fs::read(sandbox.work().join("out.txt")).expect("read output");
        if output == b"old" {
            assert_eq!(status.signal(), Some(libc::SIGTERM), "{status}");
        } else {
            assert!(output == whole.as_bytes(), "a partial or wrong output");
        }
        caught += usize::from(writing);
        if caught == 3 {
            break;
        }
    }
    assert!(caught > 0, "no run was seen writing its output");
}

#[test]
fn a_large_sort_round_trips_every_number() {
    let sandbox = Sandbox::new();
    let input = keys::<i64>(42, 200_000);
    for backend in BACKENDS {
        sort_binary(&sandbox, backend, &input);
    }
}

/// Runs `wildhost sort -i in.txt -o <output>` (input `3 1 2`) with its
/// standard output going to `stdout`, and returns its exit code and stderr.
fn sort_into(sandbox: &Sandbox, output: &str, stdout: std::process::Stdio) -> (i32, String) {
    fs::write(sandbox.work().join("in.txt"), "3\n1\n2\n").expect("write input");
    let child = sandbox
        .command(["sort", "-i", "in.txt", "-o", output])
        .stdin(std::process::Stdio::null())
        .stdout(stdout)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start wildhost");
    let out = child.wait_with_output().expect("wait for wildhost");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_symbolic_link_as_output_is_kept_and_its_target_written() {
    use std::os::unix::fs::symlink;
    let sandbox = Sandbox::new();
    let work = sandbox.work();
    // To an existing file, and to none yet (the target is created).
    fs::write(work.join("old.txt"), "old\n").expect("write");
    symlink("old.txt", work.join("to-old")).expect("symlink");
    symlink("new.txt", work.join("to-new")).expect("symlink");
    // A chain of two, the last dangling.
    symlink("to-new2", work.join("to-to-new2")).expect("symlink");
    symlink("new2.txt", work.join("to-new2")).expect("symlink");
    // Relative to the link's own directory, not to the current one.
    fs::create_dir(work.join("sub")).expect("mkdir");
    symlink("../up.txt", work.join("sub/to-up")).expect("symlink");
    symlink("here.txt", work.join("sub/to-here")).expect("symlink");
    for (link, target) in [
        ("to-old", "old.txt"),
        ("to-new", "new.txt"),
        ("to-to-new2", "new2.txt"),
        ("sub/to-up", "up.txt"),
        ("sub/to-here", "sub/here.txt"),
    ] {
        let (code, stderr) = sort_into(&sandbox, link, std::process::Stdio::null());
        assert_eq!(code, 0, "{link}: {stderr}");
        let meta = fs::symlink_metadata(work.join(link)).expect("lstat");
        assert!(meta.file_type().is_symlink(), "{link} is still a link");
        assert_eq!(
            fs::read_to_string(work.join(target)).expect("read"),
            "1\n2\n3\n"
        );
    }
}

#[test]
fn a_pipe_as_output_is_written_not_replaced() {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let sandbox = Sandbox::new();
    let fifo = sandbox.work().join("out.fifo");
    wildhost_suite::mkfifo(&fifo);
    // A reader opened first, without blocking, so that wildhost's open for
    // writing finds it and the sorted keys wait in the pipe.
    let mut reader = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .expect("open the pipe for reading");
    let (code, stderr) = sort_into(&sandbox, "out.fifo", std::process::Stdio::null());
    assert_eq!(code, 0, "{stderr}");
    let meta = fs::symlink_metadata(&fifo).expect("lstat");
    assert!(
        meta.file_type().is_fifo(),
        "the pipe was replaced by a file"
    );
    let mut got = String::new();
    reader.read_to_string(&mut got).expect("read the pipe");
    assert_eq!(got, "1\n2\n3\n");
}

#[test]
fn an_open_descriptor_as_output_is_written_where_it_points() {
    let sandbox = Sandbox::new();
    // Standard output is a file the caller already wrote a line to, opened
    // for appending (`>> log`): the keys follow that line, and the file is
    // neither replaced nor overwritten from its start.
    let log = sandbox.work().join("log.txt");
    fs::write(&log, "header\n").expect("write");
    let appending = || {
        fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .expect("open log")
    };
    let (code, stderr) = sort_into(&sandbox, "/proc/self/fd/1", appending().into());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(fs::read_to_string(&log).expect("read"), "header\n1\n2\n3\n");
    // The same through a link to the descriptor.
    std::os::unix::fs::symlink("/dev/stdout", sandbox.work().join("to-stdout")).expect("symlink");
    let (code, stderr) = sort_into(&sandbox, "to-stdout", appending().into());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        fs::read_to_string(&log).expect("read"),
        "header\n1\n2\n3\n1\n2\n3\n"
    );
    // Standard output a pipe, named by its `/dev/fd` path.
    let out = sandbox.run_with_input(["sort", "-o", "/dev/fd/1"], b"3\n1\n2\n");
    out.expect_code(0);
    assert_eq!(out.stdout_text(), "1\n2\n3\n");
    // Standard output a socket, which no path can open.
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    let (code, stderr) = sort_into(
        &sandbox,
        "/dev/stdout",
        std::os::fd::OwnedFd::from(theirs).into(),
    );
    assert_eq!(code, 0, "{stderr}");
    let mut got = String::new();
    use std::io::Read;
    (&ours).read_to_string(&mut got).expect("read the socket");
    assert_eq!(got, "1\n2\n3\n");
    // Standard input is read, not written.
    let (code, stderr) = sort_into(&sandbox, "/dev/stdin", std::process::Stdio::null());
    assert_eq!(code, 1);
    assert!(stderr.contains("it is standard input"), "{stderr}");
}

#[test]
fn the_file_size_limit_is_an_error_not_a_signal() {
    let sandbox = Sandbox::new();
    let work = sandbox.work();
    let lines: String = (0..100_000).rev().map(|i| format!("{i}\n")).collect();
    fs::write(work.join("in.txt"), lines).expect("write input");
    fs::write(work.join("out.txt"), "precious\n").expect("write output");
    for output in ["out.txt", "-"] {
        let mut command = sandbox.command(["sort", "-i", "in.txt", "-o", output]);
        wildhost_suite::limit_file_size(&mut command, 64 << 10);
        // Standard output is a file too, so that the limit applies to it.
        let stdout = fs::File::create(work.join("stdout.txt")).expect("create");
        let out = command
            .stdin(std::process::Stdio::null())
            .stdout(stdout)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("run wildhost");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{output}: {:?} {stderr}",
            out.status
        );
        assert!(stderr.contains("File too large"), "{output}: {stderr}");
    }
    assert_eq!(
        fs::read_to_string(work.join("out.txt")).expect("read"),
        "precious\n"
    );
    let mut left: Vec<_> = fs::read_dir(&work)
        .expect("read work/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["in.txt", "out.txt", "stdout.txt"],
        "no temporary file left"
    );
}

/// Tests that give a link to another user, which only root can do: CI runs
/// them as root with `--ignored needs_root::`.
mod needs_root {
    use super::*;

    #[test]
    #[ignore = "needs root: only root can give a link to another user"]
    fn a_strangers_dangling_link_in_a_shared_directory_is_not_followed() {
        use std::os::unix::fs::{PermissionsExt, lchown, symlink};
        wildhost_suite::require_root("giving a link to another user");
        let sandbox = Sandbox::new();
        let work = sandbox.work();
        let shared = work.join("shared");
        fs::create_dir(&shared).expect("mkdir");
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).expect("chmod");
        let strangers = shared.join("report.txt");
        symlink("../victim.txt", &strangers).expect("symlink");
        lchown(&strangers, Some(54321), Some(54321)).expect("lchown");
        let (code, stderr) = sort_into(&sandbox, "shared/report.txt", std::process::Stdio::null());
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains("it is not followed"), "{stderr}");
        assert!(!work.join("victim.txt").exists());
        // One's own link there is followed.
        symlink("../mine.txt", shared.join("mine")).expect("symlink");
        let (code, stderr) = sort_into(&sandbox, "shared/mine", std::process::Stdio::null());
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(
            fs::read_to_string(work.join("mine.txt")).expect("read"),
            "1\n2\n3\n"
        );
    }
}

/// `--reverse` on binary input: the largest key first, each key's bytes
/// as they were, through every backend and with `--isolate`.
#[test]
fn reverse_binary_puts_the_largest_key_first() {
    let sandbox = Sandbox::new();
    let keys: [i32; 6] = [5, -2, i32::MAX, 0, -2, i32::MIN];
    let input: Vec<u8> = keys.iter().flat_map(|k| k.to_le_bytes()).collect();
    let mut descending = keys;
    descending.sort_unstable_by(|a, b| b.cmp(a));
    let expected: Vec<u8> = descending.iter().flat_map(|k| k.to_le_bytes()).collect();
    for backend in BACKENDS {
        for isolate in [false, true] {
            let mut args = vec!["sort", "-b", backend, "-t", "i32", "-f", "binary", "-r"];
            if isolate {
                args.push("--isolate");
            }
            let out = sandbox.run_with_input(&args, &input);
            out.expect_code(0);
            assert!(out.stdout == expected, "{backend} isolate={isolate}");
        }
    }
}
