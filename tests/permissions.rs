//! Plugin files and directories others can write are refused, unless the
//! user says otherwise, loudly; links are resolved first.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use wildhost_suite::{Sandbox, shipped_plugin};

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
    let sandbox = Sandbox::with_shipped_plugins();
    let file = sandbox.plugins().join("libwildsort.so");
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
    // std, beside it, still sorts
    sandbox.run_with_input(["sort"], b"2\n1\n").expect_code(0);
    sandbox
        .run_with_input(["sort", "-b", "wildsort"], b"2\n1\n")
        .expect_code(1)
        .expect_stderr(&[
            "no backend named `wildsort`",
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
    let sandbox = Sandbox::with_shipped_plugins();
    chmod(&sandbox.plugins(), 0o777);
    let refused = refused(&sandbox, &[]);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(
        refused[0]["refusal"]["cause"],
        "the plugin directory is writable by every user (mode 0777)"
    );
    sandbox.run_with_input(["sort"], b"1\n").expect_code(1);
    chmod(&sandbox.plugins(), 0o755);
}

#[test]
fn allow_unsafe_permissions_loads_them_and_says_so() {
    let sandbox = Sandbox::with_shipped_plugins();
    chmod(&sandbox.plugins().join("libwildsort.so"), 0o666);
    let out = sandbox.run_with_input(
        ["--allow-unsafe-permissions", "sort", "-b", "wildsort"],
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
    let target = elsewhere.join("libwildsort.so");
    fs::copy(shipped_plugin("libwildsort.so"), &target).expect("copy");
    symlink(&target, sandbox.plugins().join("libwildsort.so")).expect("symlink");
    sandbox
        .run_with_input(["sort", "-b", "wildsort"], b"2\n1\n")
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
    let sandbox = Sandbox::with_shipped_plugins();
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
        let sandbox = Sandbox::with_shipped_plugins();
        let file = sandbox.plugins().join("libwildsort.so");
        std::os::unix::fs::chown(&file, Some(4242), None).expect("chown");
        let refused = refused(&sandbox, &[]);
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert_eq!(
            refused[0]["refusal"]["cause"],
            "the file is owned by another user (uid 4242)"
        );
    }
}
