//! The ABI 1.2 plugin of `fixtures/abi-1.2`, built against the 1.2 header
//! and kept for ever: every later 1.x host loads it, sorts keys and pairs
//! through its `sort_with`, verifies it, and, since it cannot sort from a
//! source (ABI 1.3), makes a sorted copy by copying first.

use wildhost::{Registry, SearchPath};
use wildhost_suite::{Sandbox, fixtures};

fn backend() -> (tempfile::TempDir, wildhost::Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(fixtures::abi_1_2_plugin(), dir.path().join("libabi12.so")).expect("copy");
    let registry = Registry::discover(&SearchPath::only([dir.path().to_path_buf()]));
    let backend = registry
        .backend("with12")
        .expect("the ABI 1.2 backend")
        .clone();
    (dir, backend)
}

#[test]
fn it_loads_and_list_shows_abi_1_2() {
    let sandbox = Sandbox::new();
    sandbox.install(&fixtures::abi_1_2_plugin());
    let out = sandbox.run(["list"]);
    out.expect_code(0).expect_stdout(&[
        "stable, parallel, pairs, threads, in place",
        "abi12           1.2.0    1.2",
    ]);
}

#[test]
fn it_sorts_bare_keys_and_records_with_threads() {
    let sandbox = Sandbox::new();
    sandbox.install(&fixtures::abi_1_2_plugin());
    sandbox
        .run_with_input(
            ["sort", "-b", "with12", "-t", "u64", "--threads", "2"],
            b"3\n18446744073709551615\n0\n2\n",
        )
        .expect_exactly(0, "0\n2\n3\n18446744073709551615\n", "");
    sandbox
        .run_with_input(
            ["sort", "-b", "with12", "-t", "u32", "-k", "2", "-d", ","],
            b"a,07\nb,4294967295\nc,7\nd,0\n",
        )
        .expect_exactly(0, "d,0\na,07\nc,7\nb,4294967295\n", "");
}

#[test]
fn it_passes_verify() {
    let sandbox = Sandbox::new();
    let plugin = fixtures::abi_1_2_plugin();
    let out = sandbox.run([
        "verify".as_ref(),
        plugin.as_os_str(),
        "--max-len".as_ref(),
        "1000".as_ref(),
    ]);
    out.expect_code(0)
        .expect_stdout(&["module abi12 1.2.0, ABI 1.2, 1 backend(s)", " 0 failed"]);
    let stdout = out.stdout_text();
    assert!(!stdout.contains("from-source"), "{stdout}");
}

/// A sorted copy through a 1.2 backend: the host copies, then sorts in
/// place through `sort_with`. Had it passed the source instead, the
/// backend would have sorted the output's garbage.
#[test]
fn a_sorted_copy_is_copied_then_sorted_in_place() {
    let (_dir, backend) = backend();
    assert_eq!(backend.module().abi, (1, 2));
    assert!(backend.takes_threads());
    assert!(!backend.sorts_from_source());
    for threads in [1, 4] {
        let source = [9u64, 2, u64::MAX, 2, 0];
        let mut out = [7u64; 5];
        backend
            .sort_copy_with_threads(&source, &mut out, threads)
            .expect("sorted");
        assert_eq!(out, [0, 2, 2, 9, u64::MAX], "threads {threads}");
        assert_eq!(source, [9, 2, u64::MAX, 2, 0]);
    }
    let mut keys = [5u32, 1, 5, u32::MAX, 1, 0, 5];
    let mut payload = [10u64, 11, 12, 13, 14, 15, u64::MAX];
    backend
        .sort_pairs_with_threads(&mut keys, &mut payload, 3)
        .expect("sorted");
    assert_eq!(keys, [0, 1, 1, 5, 5, 5, u32::MAX]);
    assert_eq!(payload, [15, 11, 14, 10, 12, u64::MAX, 13]);
}
