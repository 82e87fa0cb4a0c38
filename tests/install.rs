//! `wildhost install`, `uninstall` and `pack`: a checked file lands in the
//! user plugin directory (created if missing) with its digest in the
//! install manifest; modified, foreign, future, failing and hostile inputs
//! are refused with nothing installed; projects build with their features,
//! and archives install their binary or their source.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use wildhost_suite::{Outcome, Sandbox, fixtures, run, shipped_plugin, workspace_root};

/// `wildhost <args>` with the sandbox's HOME and XDG_DATA_HOME, no
/// `--plugin-dir`: the user plugin directory is `data/wildhost/plugins`.
fn wildhost(sandbox: &Sandbox, args: &[&str]) -> Outcome {
    let mut command = sandbox.bare_command();
    command.args(args);
    run(command, b"")
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

fn user_dir(sandbox: &Sandbox) -> PathBuf {
    sandbox.path().join("data/wildhost/plugins")
}

/// The names in the user plugin directory, sorted; none if it is missing.
fn user_files(sandbox: &Sandbox) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(user_dir(sandbox))
        .map(|entries| {
            entries
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The plugin files in the user plugin directory (no staging leftovers
/// either: those are directories whose names start with `.wildhost-`).
#[track_caller]
fn assert_nothing_installed(sandbox: &Sandbox) {
    let files = user_files(sandbox);
    assert!(
        files
            .iter()
            .all(|f| !f.ends_with(".so") && !f.starts_with(".wildhost-")),
        "something was installed or left behind: {files:?}"
    );
}

fn manifest(sandbox: &Sandbox) -> serde_json::Value {
    let text = fs::read_to_string(user_dir(sandbox).join("installed.json")).expect("manifest");
    serde_json::from_str(&text).expect("manifest JSON")
}

fn sha256_of(path: &Path) -> String {
    let digest = wildhost::loading::manifest::Sha256::of_file(path).expect("digest");
    digest.to_string()
}

/// A plugin that passes `verify`, quickly: the C template `wildhost new`
/// writes, built once per test process as `libgood_c.so` (module `good_c`,
/// backend `good`, every key type). The unbroken `fixtures/hostile.c`
/// would not do: it sorts with qsort, which allocates scratch memory it
/// does not declare, and the quick verify of `install` says so.
fn good_plugin() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let template = workspace_root().join("cli/src/templates/c/plugin.c");
        let source = fs::read_to_string(template)
            .expect("the C template")
            .replace("{{name}}", "good_c")
            .replace("{{backend}}", "good")
            .replace("{{file}}", "libgood_c.so");
        fs::create_dir_all(fixtures::dir()).expect("fixture directory");
        let dir = tempfile::Builder::new()
            .prefix("good-")
            .tempdir_in(fixtures::dir())
            .expect("tempdir")
            .keep();
        fs::write(dir.join("plugin.c"), source).expect("write");
        let out = Command::new(std::env::var_os("CC").unwrap_or_else(|| "cc".into()))
            .args([
                "-std=c11",
                "-O2",
                "-shared",
                "-fPIC",
                "-fvisibility=hidden",
                "-I",
            ])
            .arg(fixtures::include_dir())
            .arg("-o")
            .arg(dir.join("libgood_c.so"))
            .arg(dir.join("plugin.c"))
            .output()
            .expect("run cc");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir.join("libgood_c.so")
    })
    .clone()
}

#[test]
fn install_checks_a_file_copies_it_into_a_new_user_directory_and_records_it() {
    let sandbox = Sandbox::new();
    assert!(!user_dir(&sandbox).exists());
    let plugin = good_plugin();
    let out = wildhost(&sandbox, &["install", plugin.to_str().expect("utf-8")]);
    out.expect_code(0).expect_stdout(&[
        "installed good_c 0.1.0 (ABI 1.3) from file ",
        "  backend:  good (u32 u64 i32 i64 f32 f64)",
        "checks passed (a quick run)",
        &format!("  sha256:   {}", sha256_of(&plugin)),
    ]);
    let installed = user_dir(&sandbox).join("libgood_c.so");
    assert_eq!(
        fs::read(&installed).expect("installed"),
        fs::read(&plugin).expect("plugin")
    );
    let mode = fs::metadata(&installed).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o644);
    assert_eq!(
        user_files(&sandbox),
        [".installed.lock", "installed.json", "libgood_c.so"]
    );
    let entry = &manifest(&sandbox)["plugins"][0];
    assert_eq!(entry["module"], "good_c");
    assert_eq!(entry["source"], "file");
    assert_eq!(entry["sha256"], sha256_of(&plugin));

    // The installed plugin is found and sorts; `list` marks it.
    let mut sort = sandbox.bare_command();
    sort.args(["sort", "--backend", "good", "--type", "u64"]);
    let sorted = run(sort, b"3\n1\n2\n");
    sorted.expect_code(0);
    assert_eq!(sorted.stdout_text(), "1\n2\n3\n");
    wildhost(&sandbox, &["list"])
        .expect_code(0)
        .expect_stdout(&["installed by `wildhost install` (1):", "  good_c  "]);
    let json: serde_json::Value =
        serde_json::from_slice(&wildhost(&sandbox, &["list", "--json"]).stdout).expect("json");
    assert_eq!(json["installed"][0]["status"], "intact");
    assert_eq!(json["installed"][0]["module"], "good_c");

    // Not replaced unless --force.
    wildhost(&sandbox, &["install", plugin.to_str().expect("utf-8")])
        .expect_code(1)
        .expect_stderr(&[
            "error: module `good_c` is already installed",
            "(installed from file ",
            "help: pass --force to replace it",
        ]);
    // Replaced with --force; a file of the module in a directory searched
    // first (here --plugin-dir) is named.
    let earlier = sandbox.install(&plugin);
    let forced = run(
        sandbox.command(["install", "--force", plugin.to_str().expect("utf-8")]),
        b"",
    );
    forced.expect_code(0).expect_stdout(&[&format!(
        "  note:     `{}` comes first on the search path and shadows it",
        earlier.display()
    )]);
    fs::remove_file(earlier).expect("rm");

    // A typo of an installed module's name is answered with that name.
    wildhost(&sandbox, &["uninstall", "god_c"])
        .expect_code(1)
        .expect_stderr(&[
            "no module `god_c` was installed",
            "help: did you mean `good_c`?",
        ]);

    // Uninstalled: the file and its entry are gone.
    wildhost(&sandbox, &["uninstall", "good_c"])
        .expect_code(0)
        .expect_stdout(&["uninstalled good_c: removed "]);
    assert!(!installed.exists());
    assert_eq!(manifest(&sandbox)["plugins"], serde_json::json!([]));
    let listed = wildhost(&sandbox, &["list"]);
    assert!(!listed.stdout_text().contains("installed by"));
    wildhost(&sandbox, &["uninstall", "good_c"])
        .expect_code(1)
        .expect_stderr(&[
            "error: cannot uninstall `good_c`",
            "no module `good_c` was installed",
        ]);
}

/// A failure while the plugin is staged beside its destination names the
/// plugin directory, never the temporary directory it is staged in (a
/// name the user never chose, gone when they read it).
#[test]
fn a_failed_install_names_the_plugin_directory_not_its_staging() {
    let sandbox = Sandbox::new();
    // A user plugin directory just short of PATH_MAX (4096): it can be
    // made and used, even by root, but nothing can be created inside it.
    const LENGTH: usize = 4075;
    let tail = "/wildhost/plugins".len();
    let mut data = sandbox.path().join("deep");
    while data.as_os_str().len() + 201 + tail < LENGTH {
        data.push("d".repeat(200));
    }
    data.push("e".repeat((LENGTH - data.as_os_str().len() - tail - 1).max(1)));
    let plugins = data.join("wildhost/plugins");
    fs::create_dir_all(&plugins).expect("a deep plugin directory");
    let mut command = sandbox.bare_command();
    command
        .env("XDG_DATA_HOME", &data)
        .args(["install", "--no-verify"])
        .arg(good_plugin());
    let out = run(command, b"");
    out.expect_code(1).expect_stderr(&[
        "error: cannot install",
        &format!(
            "  cause: cannot copy it into `{}`: File name too long (os error 36)\n",
            plugins.display()
        ),
    ]);
    assert!(!out.stderr.contains(".wildhost-"), "{}", out.stderr);
    assert_eq!(fs::read_dir(&plugins).expect("read_dir").count(), 0);
}

#[test]
fn a_file_where_the_plugin_directory_belongs_is_named_with_a_help() {
    let sandbox = Sandbox::new();
    // `data/wildhost` is a file: the plugin directory below it cannot be.
    let blocker = sandbox.path().join("data/wildhost");
    fs::create_dir_all(sandbox.path().join("data")).expect("data");
    fs::write(&blocker, b"not a directory").expect("a file in the way");
    let plugin = good_plugin();
    let out = wildhost(&sandbox, &["install", "--no-verify", path_str(&plugin)]);
    out.expect_code(1).expect_stderr(&[
        &format!(
            "error: cannot use the plugin directory `{}`",
            user_dir(&sandbox).display()
        ),
        &format!("  cause: `{}` is not a directory\n", blocker.display()),
        &format!("  help: move `{}` out of the way", blocker.display()),
    ]);
    assert_eq!(fs::read(&blocker).expect("read"), b"not a directory");
}

#[test]
fn a_plugin_copied_by_hand_is_not_uninstalled() {
    let sandbox = Sandbox::new();
    fs::create_dir_all(user_dir(&sandbox)).expect("mkdir");
    fs::copy(good_plugin(), user_dir(&sandbox).join("libgood_c.so")).expect("copy");
    wildhost(&sandbox, &["uninstall", "good_c"])
        .expect_code(1)
        .expect_stderr(&["did not put it there", "remove the file yourself"]);
    assert!(user_dir(&sandbox).join("libgood_c.so").exists());
}

#[test]
fn an_installed_file_whose_bytes_changed_is_refused_unless_allowed() {
    let sandbox = Sandbox::new();
    let plugin = good_plugin();
    wildhost(&sandbox, &["install", plugin.to_str().expect("utf-8")]).expect_code(0);
    let installed = user_dir(&sandbox).join("libgood_c.so");
    let mut bytes = fs::read(&installed).expect("read");
    bytes.extend_from_slice(b"appended");
    fs::write(&installed, bytes).expect("modify");

    let sort = |extra: &[&str]| {
        let mut command = sandbox.bare_command();
        command
            .args(extra)
            .args(["sort", "--backend", "good", "--type", "u64"]);
        run(command, b"2\n1\n")
    };
    sort(&[])
        .expect_code(1)
        .expect_stderr(&["no backend named `good`"]);
    wildhost(&sandbox, &["list"])
        .expect_code(0)
        .expect_stdout(&[
            "its bytes changed since `wildhost install` put it there",
            "MODIFIED since installed",
            "--allow-modified",
        ]);
    let allowed = sort(&["--allow-modified"]);
    allowed.expect_code(0);
    assert_eq!(allowed.stdout_text(), "1\n2\n");
}

/// `inspect` of an installed file says `wildhost install` put it there,
/// from what, with the recorded SHA-256, and whether the bytes still match;
/// a modified file is named as such with what to do. Inspecting the same
/// plugin where it was built says nothing of an install.
#[test]
fn inspect_shows_the_install_record_and_a_modified_file() {
    let sandbox = Sandbox::new();
    let plugin = good_plugin();
    let source = plugin.to_str().expect("utf-8");
    wildhost(&sandbox, &["install", source]).expect_code(0);
    let installed = user_dir(&sandbox).join("libgood_c.so");
    let path = installed.to_str().expect("utf-8");
    let recorded = sha256_of(&installed);
    let inspect = |extra: &[&str]| {
        let mut args = vec!["inspect", path];
        args.extend(extra);
        wildhost(&sandbox, &args)
    };
    let installed_line = format!("installed:    by `wildhost install`, from file {source}\n");
    inspect(&[]).expect_code(0).expect_stdout(&[
        &format!("file:         {path}\n{installed_line}"),
        &format!("sha256:       {recorded} (as installed: the bytes match)\n"),
        "status:       loadable\n",
    ]);
    let json = inspect(&["--json"]);
    json.expect_code(0);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(
        json["installed"],
        serde_json::json!({
            "manifest": user_dir(&sandbox).join("installed.json"),
            "source": "file",
            "from": source,
            "features": [],
            "sha256": recorded,
            "status": "intact",
        })
    );
    let elsewhere = wildhost(&sandbox, &["inspect", source, "--json"]);
    let elsewhere: serde_json::Value = serde_json::from_slice(&elsewhere.stdout).expect("JSON");
    assert!(elsewhere.get("installed").is_none(), "{elsewhere}");

    let mut bytes = fs::read(&installed).expect("read");
    bytes.extend_from_slice(b"appended");
    fs::write(&installed, bytes).expect("modify");
    let now = sha256_of(&installed);
    inspect(&[]).expect_code(0).expect_stdout(&[
        &installed_line,
        &format!("sha256:       {now}, installed as {recorded}\n"),
        "modified:     its bytes changed since `wildhost install` put it there: \
         wildhost refuses it in its plugin directory unless --allow-modified\n",
        "help:         reinstall it (`wildhost install --force SOURCE`), remove it \
         (`wildhost uninstall MODULE`), or pass --allow-modified to load it anyway\n",
    ]);
    let json = inspect(&["--json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(json["installed"]["status"], "modified");
    assert_eq!(json["installed"]["sha256"], recorded.as_str());
    assert_eq!(json["installed"]["sha256_now"], now.as_str());
    assert!(
        json["installed"]["help"]
            .as_str()
            .expect("help")
            .contains("--allow-modified")
    );
}

#[test]
fn a_digest_that_differs_from_hash_refuses_the_file() {
    let sandbox = Sandbox::new();
    let plugin = good_plugin();
    let path = plugin.to_str().expect("utf-8");
    let wrong = format!("sha256:{}", "0".repeat(64));
    wildhost(&sandbox, &["install", "--hash", &wrong, path])
        .expect_code(1)
        .expect_stderr(&[
            &format!(
                "its SHA-256 is {}, --hash requires {}",
                sha256_of(&plugin),
                &wrong[7..]
            ),
            "nothing was installed",
        ]);
    assert_nothing_installed(&sandbox);
    wildhost(&sandbox, &["install", "--hash", "sha256:12ab", path])
        .expect_code(2)
        .expect_stderr(&["is not a SHA-256 digest"]);
    let right = format!("sha256:{}", sha256_of(&plugin));
    wildhost(&sandbox, &["install", "--hash", &right, path]).expect_code(0);
}

/// A file of a module built into wildhost would be shadowed by the
/// built-in and never loaded: it is refused before it is copied.
#[test]
fn a_file_of_a_built_in_module_is_refused_and_nothing_is_installed() {
    let sandbox = Sandbox::new();
    let plugin = shipped_plugin("libwildsort_radix.so");
    let out = wildhost(&sandbox, &["install", plugin.to_str().expect("utf-8")]);
    out.expect_code(1).expect_stderr(&[
        "error: cannot install `",
        "cause: module `wildsort_radix` is built into wildhost: a plugin file of that name \
         is shadowed by the built-in and never loaded",
        "help: the built-in is already there (`wildhost list`)",
    ]);
    assert!(!user_dir(&sandbox).exists(), "{:?}", user_files(&sandbox));
}

#[test]
fn a_foreign_future_or_failing_plugin_is_refused_and_nothing_is_installed() {
    let sandbox = Sandbox::new();
    // Another architecture, as hostile.rs makes one.
    let plugin = fixtures::compile_c("hostile.c", "libforeign.so", &["-DMODULE=foreign"]);
    let mut bytes = fs::read(plugin).expect("read");
    let machine: u16 = if cfg!(target_arch = "aarch64") {
        62
    } else {
        183
    };
    bytes[18..20].copy_from_slice(&machine.to_le_bytes());
    let foreign = sandbox.work().join("libforeign.so");
    fs::write(&foreign, bytes).expect("write");
    let canary = sandbox.path().join("canary");
    let cases: [(PathBuf, &[&str]); 4] = [
        (
            foreign,
            &["refused at preflight: built for ", "this host is"],
        ),
        (
            fixtures::hostile("TAG_MAJOR_2"),
            &["refused at preflight: plugin ABI 2.0, host speaks 1.x"],
        ),
        (
            fixtures::hostile("TAG_MINOR_NEWER"),
            &["refused at preflight: plugin ABI 1.4 is newer than this host's 1.3"],
        ),
        (
            fixtures::hostile("SORT_DROPS_THE_MAX"),
            &[
                "checks of `wildhost verify`",
                "first: hostile u64",
                "--no-verify",
            ],
        ),
    ];
    for (file, cause) in &cases {
        let mut command = sandbox.bare_command();
        command
            .env("WILDHOST_TEST_CANARY", &canary)
            .arg("install")
            .arg(file);
        let out = run(command, b"");
        out.expect_code(1)
            .expect_stderr(&["error: cannot install `"])
            .expect_stderr(cause);
        assert_nothing_installed(&sandbox);
    }
    // Only the one that passed preflight ever ran code (in the scanner
    // child and in wildhost).
    let opened = fs::read_to_string(&canary).unwrap_or_default();
    assert!(
        !opened.is_empty() && opened.lines().all(|l| l == "h_sort_drops_the_max"),
        "{opened}"
    );

    // --no-verify installs the failing one, with a warning.
    let failing = fixtures::hostile("SORT_DROPS_THE_MAX");
    wildhost(
        &sandbox,
        &["install", "--no-verify", failing.to_str().expect("utf-8")],
    )
    .expect_code(0)
    .expect_stderr(&["warning: --no-verify"])
    .expect_stdout(&["verify:   skipped (--no-verify)"]);
}

/// `wildhost new NAME --lang c` in the sandbox's work directory.
fn c_project(sandbox: &Sandbox, name: &str) -> PathBuf {
    wildhost(sandbox, &["new", name, "--lang", "c"]).expect_code(0);
    sandbox.work().join(name)
}

#[test]
fn a_c_project_is_built_with_its_features_and_installed() {
    let sandbox = Sandbox::new();
    let dir = c_project(&sandbox, "demo_feat");
    wildhost(
        &sandbox,
        &["install", "demo_feat", "--features", "fast,wide"],
    )
    .expect_code(0)
    .expect_stderr(&["building: cd demo_feat && make -B FEATURES=fast,wide"])
    .expect_stdout(&[
        "from project ",
        "features: fast wide",
        "backend:  demo_feat (",
    ]);
    let installed = user_dir(&sandbox).join("libdemo_feat.so");
    wildhost(&sandbox, &["inspect", installed.to_str().expect("utf-8")])
        .expect_code(0)
        .expect_stdout(&["features:     fast wide"]);
    let entry = &manifest(&sandbox)["plugins"][0];
    assert_eq!(entry["source"], "project");
    assert_eq!(entry["features"], serde_json::json!(["fast", "wide"]));
    assert_eq!(entry["from"], dir.to_str().expect("utf-8"));
}

#[test]
fn a_missing_compiler_is_named_with_how_to_get_it() {
    let sandbox = Sandbox::new();
    c_project(&sandbox, "demo_nocc");
    // A PATH with make on it and no C compiler.
    let bin = sandbox.path().join("only-make");
    fs::create_dir(&bin).expect("mkdir");
    let make = ["/usr/bin/make", "/bin/make"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("make is installed");
    std::os::unix::fs::symlink(make, bin.join("make")).expect("symlink");
    let mut command = sandbox.bare_command();
    command
        .env("PATH", &bin)
        .env_remove("CC")
        .args(["install", "demo_nocc"]);
    run(command, b"").expect_code(1).expect_stderr(&[
        "error: cannot build `demo_nocc`",
        "`cc` not found: cc (the C compiler) is needed to build it",
        "help: install a C compiler, for example `apt-get install gcc`",
    ]);
    assert_nothing_installed(&sandbox);
}

#[test]
fn a_failed_build_shows_its_last_lines_and_how_to_reproduce_it() {
    let sandbox = Sandbox::new();
    let dir = c_project(&sandbox, "demo_broken");
    let source = dir.join("plugin.c");
    let mut text = fs::read_to_string(&source).expect("read");
    text.push_str("#error broken on purpose\n");
    fs::write(&source, text).expect("write");
    let out = wildhost(&sandbox, &["install", "demo_broken"]);
    out.expect_code(1).expect_stderr(&[
        "error: cannot build `demo_broken`",
        "the build failed (exit status: 2); its last lines:",
        "broken on purpose",
        "help: reproduce it with: cd demo_broken && make -B",
    ]);
    assert!(
        out.stderr.lines().count() <= 20,
        "not a wall of text:\n{}",
        out.stderr
    );
    assert_nothing_installed(&sandbox);
}

/// The tag of a binary built on this machine for this host.
fn host_tag() -> String {
    let libc = if cfg!(target_env = "musl") {
        "musl"
    } else {
        "gnu"
    };
    format!("{}-linux-{libc}-abi1.3", std::env::consts::ARCH)
}

#[test]
fn a_packed_archive_installs_its_binary_here_or_its_source_when_asked() {
    let sandbox = Sandbox::new();
    c_project(&sandbox, "demo_pack");
    let archive = format!("demo_pack-{}.tar.gz", host_tag());
    wildhost(&sandbox, &["pack", "demo_pack", "--features", "fast"])
        .expect_code(0)
        .expect_stdout(&[
            &format!("packed demo_pack for {} into {archive}", host_tag()),
            "source:  4 files",
        ]);
    // Readable without wildhost.
    if let Ok(listed) = Command::new("tar")
        .arg("tzf")
        .arg(sandbox.work().join(&archive))
        .output()
    {
        let names = String::from_utf8_lossy(&listed.stdout).into_owned();
        for member in [
            "wildhost-plugin.json",
            "libdemo_pack.so",
            "source/plugin.c",
            "source/Makefile",
            "source/wildsort.h",
            "source/README.md",
        ] {
            assert!(
                names.lines().any(|l| l == member),
                "{member} not in\n{names}"
            );
        }
    }
    // The project is gone: what installs comes from the archive.
    fs::remove_dir_all(sandbox.work().join("demo_pack")).expect("rm");
    wildhost(&sandbox, &["install", &archive])
        .expect_code(0)
        .expect_stderr(&["the archive's binary fits this machine"])
        .expect_stdout(&["from archive ", "features: fast"]);
    assert_eq!(manifest(&sandbox)["plugins"][0]["source"], "archive");
    wildhost(&sandbox, &["uninstall", "demo_pack"]).expect_code(0);

    wildhost(&sandbox, &["install", "--from-source", &archive])
        .expect_code(0)
        .expect_stderr(&[
            "note: --from-source: building from its source",
            "make -B FEATURES=fast",
        ])
        .expect_stdout(&["from the source in archive ", "features: fast"]);
    assert_eq!(manifest(&sandbox)["plugins"][0]["source"], "archive-source");

    // --hash applies to the archive.
    let wrong = format!("sha256:{}", "f".repeat(64));
    wildhost(
        &sandbox,
        &["install", "--force", "--hash", &wrong, &archive],
    )
    .expect_code(1)
    .expect_stderr(&["--hash requires"]);
}

/// A ustar member header: `name`, `kind` (b'0' file, b'2' symlink, ...),
/// `size` as the header says it (the data written is `data`).
fn tar_header(name: &str, kind: u8, size: u64, link: &str) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// A plain tar file of `members` (name, kind, data, link target).
fn tar(members: &[(&str, u8, &[u8], &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, kind, data, link) in members {
        out.extend_from_slice(&tar_header(name, *kind, data.len() as u64, link));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

#[test]
fn hostile_archives_are_refused_and_nothing_is_written() {
    let sandbox = Sandbox::new();
    // Archives are unpacked under TMPDIR: a member that climbed out of its
    // directory would land in the sandbox, and so would the absolute one.
    let tmp = sandbox.path().join("tmp");
    fs::create_dir(&tmp).expect("mkdir");
    let absolute = format!("{}/evil-absolute", sandbox.path().display());
    let metadata = br#"{"format":1,"module":"evil","file":"libevil.so","tag":"x86_64-linux-gnu-abi1.3","sha256":"0000000000000000000000000000000000000000000000000000000000000000","build":"make","features":[]}"#;
    let absolute_cause = format!("the member `{absolute}` has an absolute path");
    let cases: [(&str, Vec<u8>, &str); 6] = [
        (
            "dotdot",
            tar(&[("../evil", b'0', b"x", "")]),
            "the member `../evil` climbs out of the archive's directory (`..`)",
        ),
        (
            "nested-dotdot",
            tar(&[("source/../../evil", b'0', b"x", "")]),
            "climbs out of the archive's directory",
        ),
        (
            "absolute",
            tar(&[(&absolute, b'0', b"x", "")]),
            &absolute_cause,
        ),
        (
            "symlink",
            tar(&[("source/link", b'2', b"", "/etc/passwd")]),
            "the member `source/link` is a symbolic link",
        ),
        (
            "huge",
            {
                // The header claims 300 MiB; the data is not there.
                let mut bytes = tar_header("source/big", b'0', 300 << 20, "").to_vec();
                bytes.resize(2048, 0);
                bytes
            },
            "the member `source/big` is 314572800 bytes, more than the 268435456",
        ),
        (
            "no-metadata",
            tar(&[("source/a.c", b'0', b"int a;\n", "")]),
            "it has no readable `wildhost-plugin.json`",
        ),
    ];
    for (name, bytes, cause) in &cases {
        let path = sandbox.work().join(format!("{name}.tar"));
        fs::write(&path, bytes).expect("write");
        let mut command = sandbox.bare_command();
        command.env("TMPDIR", &tmp).arg("install").arg(&path);
        run(command, b"").expect_code(1).expect_stderr(&[
            "error: cannot install `",
            cause,
            "nothing was installed",
        ]);
        assert_nothing_installed(&sandbox);
        assert!(!sandbox.path().join("evil").exists(), "{name}");
        assert!(!tmp.join("evil").exists(), "{name}");
        assert!(!Path::new(&absolute).exists(), "{name}");
        assert_eq!(
            fs::read_dir(&tmp).expect("tmp").count(),
            0,
            "{name} left files"
        );
    }

    // Metadata naming a file outside the archive's own naming is refused.
    let bad_name = String::from_utf8_lossy(metadata).replace("libevil.so", "../libevil.so");
    let path = sandbox.work().join("bad-name.tar");
    fs::write(
        &path,
        tar(&[("wildhost-plugin.json", b'0', bad_name.as_bytes(), "")]),
    )
    .expect("write");
    wildhost(&sandbox, &["install", path.to_str().expect("utf-8")])
        .expect_code(1)
        .expect_stderr(&["names module `evil` and file `../libevil.so`"]);
    assert_nothing_installed(&sandbox);
}

#[test]
fn an_archive_for_another_machine_is_built_from_its_source() {
    let sandbox = Sandbox::new();
    let dir = c_project(&sandbox, "demo_far");
    let other = if cfg!(target_arch = "aarch64") {
        "x86_64"
    } else {
        "aarch64"
    };
    let tag = format!("{other}-linux-gnu-abi1.3");
    let metadata = format!(
        r#"{{"format":1,"module":"demo_far","file":"libdemo_far.so","tag":"{tag}","sha256":"{}","build":"make","features":[]}}"#,
        "0".repeat(64)
    );
    let read = |f: &str| fs::read(dir.join(f)).expect("source file");
    let (c, h, make) = (read("plugin.c"), read("wildsort.h"), read("Makefile"));
    let bytes = tar(&[
        ("wildhost-plugin.json", b'0', metadata.as_bytes(), ""),
        ("libdemo_far.so", b'0', b"not for this machine", ""),
        ("source/plugin.c", b'0', &c, ""),
        ("source/wildsort.h", b'0', &h, ""),
        ("source/Makefile", b'0', &make, ""),
    ]);
    let path = sandbox.work().join("far.tar");
    fs::write(&path, bytes).expect("write");
    wildhost(&sandbox, &["install", path.to_str().expect("utf-8")])
        .expect_code(0)
        .expect_stderr(&[&format!(
            "note: the archive's binary cannot run here: built for {other}-linux-gnu, this \
             machine is {}-linux-",
            std::env::consts::ARCH
        )])
        .expect_stderr(&["building from its source"])
        .expect_stdout(&["installed demo_far 0.1.0"]);
    assert_eq!(manifest(&sandbox)["plugins"][0]["source"], "archive-source");
}

/// `wildhost install demo_cargo ARGS` as tests/new.rs builds its Rust
/// project: into the fixture target directory (abi_stable compiled once,
/// with the same flags), with the lock file of an earlier build when there
/// is one.
fn install_cargo_project(sandbox: &Sandbox, args: &[&str]) -> Outcome {
    let dir = sandbox.work().join("demo_cargo");
    let lock = fixtures::dir().join("new-rust.Cargo.lock");
    if lock.is_file() && !dir.join("Cargo.lock").is_file() {
        fs::copy(&lock, dir.join("Cargo.lock")).expect("copy the lock file");
    }
    let mut command = sandbox.bare_command();
    // The sandbox's HOME hides the toolchain and the registry cache where
    // no rustup proxy has named them already (running the test binary
    // directly): name them from the real HOME.
    if let Some(home) = std::env::var_os("HOME") {
        for (var, dir) in [("CARGO_HOME", ".cargo"), ("RUSTUP_HOME", ".rustup")] {
            if std::env::var_os(var).is_none() {
                command.env(var, Path::new(&home).join(dir));
            }
        }
    }
    command
        .env("CARGO_TARGET_DIR", fixtures::dir().join("target"))
        .env("RUSTFLAGS", "-D warnings")
        .args(["install", "demo_cargo"])
        .args(args);
    run(command, b"")
}

/// The Rust template declares the Cargo feature `stable`: built without
/// it, the plugin reports no feature and its backend sorts in place; with
/// `--features stable`, `inspect` shows the feature and a stable backend
/// with a scratch buffer, and the manifest records it.
#[test]
fn a_cargo_project_is_built_and_installed_with_and_without_its_feature() {
    let sandbox = Sandbox::new();
    wildhost(&sandbox, &["new", "demo_cargo", "--lang", "rust"]).expect_code(0);
    install_cargo_project(&sandbox, &[])
        .expect_code(0)
        .expect_stderr(&["building: cd demo_cargo && cargo build --release\n"])
        .expect_stdout(&["installed demo_cargo 0.1.0", "backend:  demo_cargo ("]);
    let entry = &manifest(&sandbox)["plugins"][0];
    assert_eq!(entry["source"], "project");
    assert!(
        entry
            .get("features")
            .is_none_or(|f| f == &serde_json::json!([])),
        "{entry}"
    );
    let installed = user_dir(&sandbox).join("libdemo_cargo.so");
    assert_eq!(entry["sha256"], sha256_of(&installed));
    let path = installed.to_str().expect("utf-8");
    wildhost(&sandbox, &["inspect", path])
        .expect_code(0)
        .expect_stdout(&[
            "features:     -\n",
            "  demo_cargo  [u32 u64 i32 i64 f32 f64]  in place\n",
        ]);

    install_cargo_project(&sandbox, &["--features", "stable", "--force"])
        .expect_code(0)
        .expect_stderr(&["building: cd demo_cargo && cargo build --release --features stable\n"])
        .expect_stdout(&["installed demo_cargo 0.1.0", "features: stable"]);
    wildhost(&sandbox, &["inspect", path])
        .expect_code(0)
        .expect_stdout(&[
            &format!(
                "installed:    by `wildhost install`, from project {} (features: stable)\n",
                sandbox.work().join("demo_cargo").display()
            ),
            "features:     stable\n",
            "  demo_cargo  [u32 u64 i32 i64 f32 f64]  stable, scratch 100%\n",
        ]);
    let entry = &manifest(&sandbox)["plugins"][0];
    assert_eq!(entry["features"], serde_json::json!(["stable"]));
    assert_eq!(entry["sha256"], sha256_of(&installed));
    let sorted = sandbox.run_with_input(
        ["sort", "-b", "demo_cargo", "-t", "f64"],
        b"2.5\n-0.0\nnan\n-1\n",
    );
    sorted.expect_exactly(0, "-1\n-0.0\n2.5\nnan\n", "");
}
