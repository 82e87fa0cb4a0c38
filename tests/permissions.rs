//! Plugin files and directories others can write are refused, unless the
//! user says otherwise, loudly; links are resolved first. The plugin file
//! here is a fixture (module `mine`, backend `hostile`, u64 keys): a file
//! of a shipped module's name is shadowed by the built-in, never checked.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::path::PathBuf;
use wildhost_suite::{Sandbox, fixtures};

const FILE: &str = "libmine.so";

fn plugin() -> PathBuf {
    fixtures::compile_c("hostile.c", FILE, &["-DMODULE=mine"])
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

fn refused(sandbox: &Sandbox, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = args.to_vec();
    all.extend(["list", "--json"]);
    let out = sandbox.run(all);
    out.expect_code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    json["refused"].as_array().expect("refused").clone()
}

#[test]
fn a_plugin_file_anyone_can_write_is_refused() {
    let sandbox = Sandbox::new();
    let file = sandbox.install(&plugin());
    chmod(&file, 0o666);
    let refused = refused(&sandbox, &[]);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["refusal"]["stage"], "discovery");
    assert_eq!(
        refused[0]["refusal"]["cause"],
        "the file is writable by every user (mode 0666)"
    );
    assert!(
        refused[0]["refusal"]["help"]
            .as_str()
            .expect("help")
            .contains("chmod go-w")
    );
    // The built-in backends still sort.
    sandbox.run_with_input(["sort"], b"2\n1\n").expect_code(0);
    sandbox
        .run_with_input(["sort", "-b", "hostile", "-t", "u64"], b"2\n1\n")
        .expect_code(1)
        .expect_stderr(&[
            "no backend named `hostile`",
            "1 plugin file(s) were refused",
        ]);

    let inspect = sandbox.run([Path::new("inspect"), &file]);
    inspect
        .expect_code(1)
        .expect_stderr(&["the file is writable by every user (mode 0666)"]);

    chmod(&file, 0o664);
    let refused = self::refused(&sandbox, &[]);
    assert!(
        refused[0]["refusal"]["cause"]
            .as_str()
            .expect("cause")
            .contains("writable by its group")
    );
}

#[test]
fn a_plugin_directory_others_can_write_is_refused_whole() {
    let sandbox = Sandbox::new();
    sandbox.install(&plugin());
    chmod(&sandbox.plugins(), 0o777);
    let refused = refused(&sandbox, &[]);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(
        refused[0]["refusal"]["cause"],
        "the plugin directory is writable by every user (mode 0777)"
    );
    sandbox
        .run_with_input(["sort", "-b", "hostile", "-t", "u64"], b"1\n")
        .expect_code(1)
        .expect_stderr(&["no backend named `hostile`"]);
    sandbox.run_with_input(["sort"], b"1\n").expect_code(0);
    chmod(&sandbox.plugins(), 0o755);
}

#[test]
fn allow_unsafe_permissions_loads_them_and_says_so() {
    let sandbox = Sandbox::new();
    chmod(&sandbox.install(&plugin()), 0o666);
    let out = sandbox.run_with_input(
        [
            "--allow-unsafe-permissions",
            "sort",
            "-b",
            "hostile",
            "-t",
            "u64",
        ],
        b"2\n1\n",
    );
    out.expect_code(0)
        .expect_stderr(&["warning: --allow-unsafe-permissions"]);
    assert_eq!(out.stdout_text(), "1\n2\n");
    assert!(refused(&sandbox, &["--allow-unsafe-permissions"]).is_empty());
}

#[test]
fn a_link_is_judged_by_what_it_points_to() {
    let sandbox = Sandbox::new();
    let elsewhere = sandbox.path().join("elsewhere");
    fs::create_dir(&elsewhere).expect("mkdir");
    let target = elsewhere.join(FILE);
    fs::copy(plugin(), &target).expect("copy");
    symlink(&target, sandbox.plugins().join(FILE)).expect("symlink");
    sandbox
        .run_with_input(["sort", "-b", "hostile", "-t", "u64"], b"2\n1\n")
        .expect_code(0);

    chmod(&elsewhere, 0o777);
    let refused = refused(&sandbox, &[]);
    assert_eq!(refused.len(), 1, "{refused:?}");
    let cause = refused[0]["refusal"]["cause"].as_str().expect("cause");
    assert!(
        cause.contains("elsewhere` above it is writable by every user"),
        "{cause}"
    );
    chmod(&elsewhere, 0o755);
}

#[test]
fn looping_links_are_refused_with_a_reason() {
    let sandbox = Sandbox::new();
    symlink(
        sandbox.plugins().join("libloop_b.so"),
        sandbox.plugins().join("libloop_a.so"),
    )
    .expect("symlink");
    symlink(
        sandbox.plugins().join("libloop_a.so"),
        sandbox.plugins().join("libloop_b.so"),
    )
    .expect("symlink");
    let refused = refused(&sandbox, &[]);
    assert_eq!(refused.len(), 2, "{refused:?}");
    for r in &refused {
        let cause = r["refusal"]["cause"].as_str().expect("cause");
        assert!(cause.contains("dangling or looping link"), "{cause}");
    }
    sandbox
        .run_with_input(["sort", "-b", "wildsort"], b"2\n1\n")
        .expect_code(0);
}

/// Tests that give a file away, which only root can do: CI runs them as
/// root with `--ignored needs_root::`.
mod needs_root {
    use super::*;

    #[test]
    #[ignore = "needs root: only root can give a plugin file to another user"]
    fn a_plugin_owned_by_another_user_is_refused() {
        wildhost_suite::require_root("giving a plugin file to another user");
        let sandbox = Sandbox::new();
        let file = sandbox.install(&plugin());
        std::os::unix::fs::chown(&file, Some(4242), None).expect("chown");
        let refused = refused(&sandbox, &[]);
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert_eq!(
            refused[0]["refusal"]["cause"],
            "the file is owned by another user (uid 4242)"
        );
    }
}
