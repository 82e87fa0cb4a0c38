//! Support for wildhost's end-to-end tests: build the workspace once, run
//! the real `wildhost` binary in an isolated sandbox, build fixture plugins,
//! and make reproducible test data.
//!
//! Every sandbox has its own `HOME` and `XDG_DATA_HOME`, an empty
//! `WILDHOST_PLUGIN_PATH`, and its own copy of the binary in `bin/`, so the
//! only plugins a test sees are the ones it put there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long one `wildhost` run may take before the test calls it hung.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The workspace's root directory.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The cargo target directory this test binary was built into.
pub fn target_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
            let dir = PathBuf::from(dir);
            return if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            };
        }
        // The test executable is <target>/<profile>/deps/<name>-<hash>.
        let exe = std::env::current_exe().expect("the test executable's path");
        exe.ancestors()
            .nth(3)
            .expect("<target>/<profile>/deps/<test>")
            .to_path_buf()
    })
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn run_checked(mut command: Command, what: &str) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The workspace's build products: the `wildhost` binary and the shipped
/// plugins, built once per test process with `cargo build --workspace`.
pub fn built() -> &'static Path {
    static PROFILE_DIR: OnceLock<PathBuf> = OnceLock::new();
    PROFILE_DIR.get_or_init(|| {
        let mut command = cargo();
        command
            .current_dir(workspace_root())
            .args(["build", "--workspace", "--quiet", "--target-dir"])
            .arg(target_dir());
        run_checked(command, "building the workspace");
        target_dir().join("debug")
    })
}

/// The two tables `wildhost list` starts with when no plugin file adds
/// to them: the backends built into `wildhost`, then their modules.
pub const SHIPPED_LIST: &str = "\
BACKEND   MODULE          KEY TYPES                FLAGS                                           DEFAULT FOR              STATUS     DESCRIPTION
wildsort  wildsort        u32 u64 i32 i64 f32 f64  stable, pairs, scratch 100%                     -                        available  stable bottom-up merge sort with insertion-sorted runs, written in C
radix     wildsort_radix  u32 u64 i32 i64 f32 f64  stable, parallel, pairs, threads, scratch 100%  u32 u64 i32 i64 f32 f64  available  MSD radix sort (adaptive digits, counting for few values), one scratch buffer the size of the input; on several threads when given a thread count
std       wildsort_std    u32 u64 i32 i64 f32 f64  stable, pairs, scratch 100%                     -                        available  core::slice::sort_unstable (pattern-defeating quicksort), in place; pairs by a stable sort of indices

MODULE          VERSION  ABI  FEATURES  FROM
wildsort        1.0.0    1.3  c11       built-in
wildsort_radix  0.1.0    1.3  -         built-in
wildsort_std    0.1.0    1.3  -         built-in
";

/// The file names of the plugins the workspace ships.
pub const SHIPPED: [&str; 3] = [
    "libwildsort_std.so",
    "libwildsort.so",
    "libwildsort_radix.so",
];

/// The path of a plugin the workspace builds, e.g. `libwildsort_std.so`.
pub fn shipped_plugin(file_name: &str) -> PathBuf {
    let path = built().join(file_name);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// What one run of `wildhost` did.
#[derive(Debug)]
pub struct Outcome {
    /// The exit code; `None` if a signal ended the process.
    pub code: Option<i32>,
    /// The signal that ended the process, if one did.
    pub signal: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Outcome {
    pub fn stdout_text(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    /// Asserts the exit code, showing the whole outcome when it differs.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "exit code differs\n--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&self.stdout),
            self.stderr
        );
        self
    }

    /// Asserts the exit code and the whole of stdout and stderr, byte for
    /// byte, and shows both texts in full when one differs (ripgrep's
    /// `eqnice!`). Use [`Sandbox::normalise`] first for what differs per
    /// run.
    #[track_caller]
    pub fn expect_exactly(&self, code: i32, stdout: &str, stderr: &str) -> &Self {
        let got_stdout = String::from_utf8_lossy(&self.stdout);
        for (stream, expected, got) in [
            ("stdout", stdout, got_stdout.as_ref()),
            ("stderr", stderr, self.stderr.as_str()),
        ] {
            if expected != got {
                let line = expected
                    .lines()
                    .zip(got.lines())
                    .position(|(e, g)| e != g)
                    .unwrap_or_else(|| expected.lines().count().min(got.lines().count()));
                panic!(
                    "{stream} differs from line {} on\n\
                     --- expected\n{expected}--- got\n{got}--- (end; exit code {:?})",
                    line + 1,
                    self.code
                );
            }
        }
        self.expect_code(code)
    }

    /// Asserts that stderr holds every one of `needles`.
    #[track_caller]
    pub fn expect_stderr(&self, needles: &[&str]) -> &Self {
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "stderr lacks {needle:?}:\n{}",
                self.stderr
            );
        }
        self
    }

    /// Asserts that stdout holds every one of `needles`.
    #[track_caller]
    pub fn expect_stdout(&self, needles: &[&str]) -> &Self {
        let stdout = String::from_utf8_lossy(&self.stdout);
        for needle in needles {
            assert!(
                stdout.contains(needle),
                "stdout lacks {needle:?}:\n{stdout}"
            );
        }
        self
    }
}

/// An isolated place to run `wildhost`: `bin/wildhost` (a copy of the
/// built binary, so "the executable's directory" is `bin/`), an empty
/// `plugins/` directory, and private `home/` and `data/` directories.
/// The copy carries the shipped backends built in: `std`, `radix` and
/// `wildsort` are there with no plugin file.
#[derive(Debug)]
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// A sandbox with no plugins at all.
    pub fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("wildhost-e2e-")
            .tempdir()
            .expect("tempdir");
        for sub in ["bin", "plugins", "home", "data", "work"] {
            fs::create_dir(dir.path().join(sub)).expect("sandbox directory");
        }
        let exe = built().join("wildhost");
        let copy = dir.path().join("bin/wildhost");
        if fs::hard_link(&exe, &copy).is_err() {
            fs::copy(&exe, &copy).expect("copy wildhost into the sandbox");
        }
        Sandbox { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `out` with every occurrence of the sandbox's path in stdout and
    /// stderr written as `<sandbox>`: the one part of wildhost's output that
    /// differs from run to run.
    pub fn normalise(&self, out: Outcome) -> Outcome {
        // The resolved path first: where the temporary directory is reached
        // through a link, it is the longer one and holds the other.
        let resolved = fs::canonicalize(self.path()).expect("the sandbox's resolved path");
        let paths = [resolved.as_path(), self.path()]
            .map(|path| path.to_str().expect("a UTF-8 temporary path").to_owned());
        let replace = |text: String| {
            paths
                .iter()
                .fold(text, |text, path| text.replace(path.as_str(), "<sandbox>"))
        };
        Outcome {
            code: out.code,
            signal: out.signal,
            stdout: replace(String::from_utf8(out.stdout).expect("stdout is UTF-8")).into_bytes(),
            stderr: replace(out.stderr),
        }
    }

    /// `plugins/`, passed to every run as `--plugin-dir`.
    pub fn plugins(&self) -> PathBuf {
        self.path().join("plugins")
    }

    /// `work/`, the current directory of every run.
    pub fn work(&self) -> PathBuf {
        self.path().join("work")
    }

    /// Copies a plugin file into `plugins/`, keeping its name.
    pub fn install(&self, plugin: &Path) -> PathBuf {
        let name = plugin.file_name().expect("a file name");
        self.install_as(plugin, name)
    }

    /// Copies a file into `plugins/` under another name.
    pub fn install_as(&self, file: &Path, name: impl AsRef<OsStr>) -> PathBuf {
        let to = self.plugins().join(name.as_ref());
        fs::copy(file, &to).unwrap_or_else(|e| panic!("copy {}: {e}", file.display()));
        to
    }

    /// Writes `bytes` into `plugins/<name>`.
    pub fn plant(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let to = self.plugins().join(name);
        fs::write(&to, bytes).expect("write a planted file");
        to
    }

    /// A `wildhost` command with the sandbox's environment and no
    /// `--plugin-dir`.
    pub fn bare_command(&self) -> Command {
        let mut command = Command::new(self.path().join("bin/wildhost"));
        command
            .current_dir(self.work())
            .env_remove("WILDHOST_PLUGIN_PATH")
            .env("HOME", self.path().join("home"))
            .env("XDG_DATA_HOME", self.path().join("data"))
            .env("XDG_CACHE_HOME", self.path().join("cache"))
            .env_remove("RUST_BACKTRACE")
            // What the caller's environment may hold that changes the
            // output: forced colours, a width for `list`, another scan
            // timeout or worker path.
            .env_remove("CLICOLOR_FORCE")
            .env_remove("COLUMNS")
            .env_remove("WILDHOST_SCAN_TIMEOUT_MS")
            .env_remove("WILDHOST_ISOLATE_VIA_PIPE");
        command
    }

    /// `wildhost --plugin-dir plugins/ <args>`.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = self.bare_command();
        command.arg("--plugin-dir").arg(self.plugins()).args(args);
        command
    }

    /// Runs `wildhost --plugin-dir plugins/ <args>` with empty stdin.
    pub fn run<I, S>(&self, args: I) -> Outcome
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run(self.command(args), b"")
    }

    /// Runs `wildhost --plugin-dir plugins/ <args>` with `stdin`.
    pub fn run_with_input<I, S>(&self, args: I, stdin: &[u8]) -> Outcome
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run(self.command(args), stdin)
    }
}

/// Limits the files `command` may write to `bytes` each (`RLIMIT_FSIZE`,
/// set between fork and exec): a write past it fails with `EFBIG`, or
/// raises SIGXFSZ in a program that does not ignore it.
pub fn limit_file_size(command: &mut Command, bytes: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the hook runs between fork and exec and only calls
    // setrlimit, which is async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes as libc::rlim_t,
                rlim_max: bytes as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

/// Fails the test unless it runs as root, which `why` needs.
///
/// A test that needs root lives in a module `needs_root`, is
/// `#[ignore = "needs root: …"]`, and calls this first: the normal run
/// reports it as ignored, CI (as root) runs it with `--ignored needs_root::`,
/// and run with `--ignored` by another user it fails instead of passing
/// without having tested anything.
#[track_caller]
pub fn require_root(why: &str) {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert!(
        euid == 0,
        "this test needs root ({why}) but runs as uid {euid}: run it as root, \
         or run the suite without --ignored"
    );
}

/// `expected` with what differs between builds and machines filled in:
/// the size of the file `plugin` for `<size>`, the machine (as
/// `std::env::consts::ARCH` names it) for `<arch>`.
pub fn with_build_facts(expected: &str, plugin: &Path) -> String {
    let size = fs::metadata(plugin).expect("the plugin's size").len();
    expected
        .replace("<size>", &size.to_string())
        .replace("<arch>", std::env::consts::ARCH)
        .replace("<ld.so>", DYNAMIC_LOADER)
}

/// The name of this platform's dynamic loader, which a Rust plugin needs.
pub const DYNAMIC_LOADER: &str = if cfg!(target_arch = "x86_64") {
    "ld-linux-x86-64.so.2"
} else if cfg!(target_arch = "aarch64") {
    "ld-linux-aarch64.so.1"
} else {
    "ld.so"
};

/// Makes a named pipe at `path`.
pub fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("path without NUL");
    // SAFETY: `name` is a NUL-terminated path that outlives the call.
    let made = unsafe { libc::mkfifo(name.as_ptr(), 0o600) };
    assert_eq!(made, 0, "mkfifo {}", path.display());
}

/// Runs a command to completion with `stdin`, killing it after
/// [`RUN_TIMEOUT`].
pub fn run(mut command: Command, stdin: &[u8]) -> Outcome {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    // A process that exits early closes its stdin: ignore the broken pipe.
    let writer = std::thread::spawn(move || drop(input.write_all(&stdin)));
    let mut out = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        out.read_to_end(&mut buf).map(|_| buf)
    });
    let mut err = child.stderr.take().expect("stderr");
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        err.read_to_end(&mut buf).map(|_| buf)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > RUN_TIMEOUT {
            drop(child.kill());
            panic!("{command:?} ran for more than {RUN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    writer.join().expect("stdin writer");
    let stdout = reader.join().expect("stdout reader").expect("read stdout");
    let stderr = err_reader
        .join()
        .expect("stderr reader")
        .expect("read stderr");
    Outcome {
        code: status.code(),
        signal: std::os::unix::process::ExitStatusExt::signal(&status),
        stdout,
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Fixture plugins built for the tests, kept apart from the shipped ones so
/// that no `wildhost` in `target/` ever sees them.
pub mod fixtures {
    use super::*;

    /// `<target>/wildhost-fixtures`.
    pub fn dir() -> PathBuf {
        target_dir().join("wildhost-fixtures")
    }

    /// The C header directory.
    pub fn include_dir() -> PathBuf {
        workspace_root().join("abi/include")
    }

    /// Compiles `tests/fixtures/<source>` into a shared library named
    /// `file_name` with extra compiler `args` (e.g. `-DNULL_DEFINITION`),
    /// in a fresh directory under the fixture directory.
    pub fn compile_c(source: &str, file_name: &str, args: &[&str]) -> PathBuf {
        compile_c_with(source, file_name, args, None)
    }

    /// [`compile_c`], searching `include` for headers before the default
    /// `abi/include`: a fixture built against another version of
    /// `wildsort.h`, such as `tests/fixtures/abi-1.0`.
    pub fn compile_c_with(
        source: &str,
        file_name: &str,
        args: &[&str],
        include: Option<&Path>,
    ) -> PathBuf {
        let out_dir = tempfile::Builder::new()
            .prefix("c-")
            .tempdir_in(ensure_dir())
            .expect("fixture directory")
            .keep();
        let out = out_dir.join(file_name);
        let mut command = Command::new(std::env::var_os("CC").unwrap_or_else(|| "cc".into()));
        command.args(["-std=c11", "-O1", "-fPIC", "-Wall", "-Werror"]);
        if let Some(include) = include {
            command.arg("-I").arg(include);
        }
        command
            .arg("-I")
            .arg(include_dir())
            .arg(workspace_root().join("tests/fixtures").join(source))
            .args(args)
            .arg("-o")
            .arg(&out);
        if !args.contains(&"-c") && !args.contains(&"-pie") {
            command.arg("-shared");
        }
        run_checked(command, &format!("compiling {source} {args:?}"));
        out
    }

    /// The plugin of `tests/fixtures/abi-1.0/plugin.c`, built against the
    /// ABI 1.0 header beside it: `libabi10.so`, module `abi10`, backend
    /// `old` (u32 and u64, stable, no pairs entry).
    pub fn abi_1_0_plugin() -> PathBuf {
        let include = workspace_root().join("tests/fixtures/abi-1.0");
        compile_c_with("abi-1.0/plugin.c", "libabi10.so", &[], Some(&include))
    }

    /// The plugin of `tests/fixtures/abi-1.1/plugin.c`, built against the
    /// ABI 1.1 header beside it: `libabi11.so`, module `abi11`, backend
    /// `pairs11` (u32 and u64, stable, parallel, a pairs entry for both
    /// payload types, no `sort_with`).
    pub fn abi_1_1_plugin() -> PathBuf {
        let include = workspace_root().join("tests/fixtures/abi-1.1");
        compile_c_with("abi-1.1/plugin.c", "libabi11.so", &[], Some(&include))
    }

    /// The plugin of `tests/fixtures/abi-1.2/plugin.c`, built against the
    /// ABI 1.2 header beside it: `libabi12.so`, module `abi12`, backend
    /// `with12` (u32 and u64, stable, parallel, a pairs entry for both
    /// payload types, a `sort_with` that reads the 1.2 options only).
    pub fn abi_1_2_plugin() -> PathBuf {
        let include = workspace_root().join("tests/fixtures/abi-1.2");
        compile_c_with("abi-1.2/plugin.c", "libabi12.so", &[], Some(&include))
    }

    /// The plugin of `tests/fixtures/threads.c`: `libthreads12.so`, module
    /// `threads12`, whose backends `good`, `echo`, `echo_pairs` and
    /// `garbage` have an ABI 1.2 `sort_with` (u64 keys).
    pub fn threads_plugin() -> PathBuf {
        compile_c("threads.c", "libthreads12.so", &[])
    }

    /// The module name of the `tests/fixtures/hostile.c` variant `case`:
    /// `NULL_SORT` → `h_null_sort`.
    pub fn hostile_module(case: &str) -> String {
        format!("h_{}", case.to_ascii_lowercase())
    }

    /// Builds the variant `case` of `tests/fixtures/hostile.c` (`""`: the
    /// unbroken plugin) as `lib<module>.so`, module [`hostile_module`].
    pub fn hostile(case: &str) -> PathBuf {
        let module = hostile_module(case);
        let mut args = vec![format!("-DMODULE={module}")];
        if !case.is_empty() {
            args.push(format!("-DCASE_{case}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        compile_c("hostile.c", &format!("lib{module}.so"), &args)
    }

    fn ensure_dir() -> PathBuf {
        let dir = dir();
        fs::create_dir_all(&dir).expect("fixture directory");
        dir
    }

    /// The Rust fixture plugins of `tests/fixtures/rust` (a workspace of
    /// its own), built once per test process; returns their directory.
    pub fn rust_plugins() -> &'static Path {
        static DIR: OnceLock<PathBuf> = OnceLock::new();
        DIR.get_or_init(|| {
            let target = ensure_dir().join("target");
            let mut command = cargo();
            command
                .args(["build", "--quiet", "--manifest-path"])
                .arg(workspace_root().join("tests/fixtures/rust/Cargo.toml"))
                .arg("--target-dir")
                .arg(&target);
            run_checked(command, "building the Rust fixture plugins");
            target.join("debug")
        })
    }

    /// A Rust fixture plugin, e.g. `libwildsort_panicky.so`.
    pub fn rust_plugin(file_name: &str) -> PathBuf {
        let path = rust_plugins().join(file_name);
        assert!(path.is_file(), "{} was not built", path.display());
        path
    }

    /// A plugin built with the SDK against a copy of the `abi` crate in
    /// which `MethodDef.scratch_percent` became a `u64`: the ABI drifted
    /// without a version change. Built once per test process.
    pub fn drifted_plugin() -> &'static Path {
        static PATH: OnceLock<PathBuf> = OnceLock::new();
        PATH.get_or_init(|| {
            let root = ensure_dir().join("drift");
            let abi = root.join("abi");
            copy_tree(&workspace_root().join("abi"), &abi);
            let contract = abi.join("src/contract.rs");
            let text = fs::read_to_string(&contract).expect("read contract.rs");
            let drifted = text.replacen("pub scratch_percent: u32", "pub scratch_percent: u64", 1);
            assert_ne!(
                text, drifted,
                "contract.rs no longer has `pub scratch_percent: u32`"
            );
            write_if_changed(&contract, &drifted);
            let manifest = fs::read_to_string(abi.join("Cargo.toml")).expect("abi manifest");
            let standalone = manifest
                .lines()
                .map(|line| {
                    let key = line.split('=').next().unwrap_or("").trim();
                    match key {
                        "edition.workspace" => "edition = \"2024\"".to_owned(),
                        "rust-version.workspace" | "license.workspace" | "publish.workspace" => {
                            String::new()
                        }
                        _ if line.trim() == "workspace = true" => String::new(),
                        _ => line.to_owned(),
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            write_if_changed(&abi.join("Cargo.toml"), &standalone);
            let plugin = root.join("plugin");
            fs::create_dir_all(plugin.join("src")).expect("drift plugin directory");
            write_if_changed(
                &plugin.join("Cargo.toml"),
                "[package]\nname = \"wildsort-drift\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
                 [lib]\nname = \"wildsort_drift\"\ncrate-type = [\"cdylib\"]\n\
                 [dependencies]\nwildhost-abi = { path = \"../abi\" }\n[workspace]\n",
            );
            write_if_changed(
                &plugin.join("src/lib.rs"),
                "fn sort(keys: &mut [u64]) { keys.sort_unstable() }\n\
                 wildhost_abi::export_plugin! {\n\
                     module: wildsort_drift, version: \"0.1.0\", doc: \"drifted\", features: [],\n\
                     backends: [{ name: \"drift\", doc: \"\", flags: 0, scratch_percent: 0,\n\
                                  sorts: { u64: sort } }],\n\
                 }\n",
            );
            let mut command = cargo();
            command
                .args(["build", "--quiet", "--manifest-path"])
                .arg(plugin.join("Cargo.toml"))
                .arg("--target-dir")
                .arg(ensure_dir().join("target"));
            run_checked(command, "building the drifted plugin");
            ensure_dir().join("target/debug/libwildsort_drift.so")
        })
    }

    fn write_if_changed(path: &Path, contents: &str) {
        if fs::read_to_string(path).ok().as_deref() != Some(contents) {
            fs::write(path, contents).expect("write a fixture file");
        }
    }

    fn copy_tree(from: &Path, to: &Path) {
        fs::create_dir_all(to).expect("create a fixture directory");
        for entry in fs::read_dir(from).expect("read a source directory") {
            let entry = entry.expect("directory entry");
            let (src, dst) = (entry.path(), to.join(entry.file_name()));
            if entry.file_type().expect("file type").is_dir() {
                if entry.file_name() != "tests" {
                    copy_tree(&src, &dst);
                }
            } else {
                let text = fs::read(&src).expect("read a source file");
                if fs::read(&dst).ok() != Some(text.clone()) {
                    fs::write(&dst, text).expect("write a fixture file");
                }
            }
        }
    }
}

/// SplitMix64, the host's own generator: the same numbers for the same seed.
pub use wildhost::conformance::workload::Rng;

/// The search path `wildhost list` ends with in a sandbox given its plugin
/// directory alone: that directory, the user plugin directory (missing),
/// and the directory of the executable.
pub const SEARCH_PATH: &str = "\
search path (first match wins):
  <sandbox>/plugins  [--plugin-dir]
  <sandbox>/data/wildhost/plugins  [user plugin directory] (missing)
  <sandbox>/bin  [next to the wildhost executable]
";
