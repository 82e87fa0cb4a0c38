//! The ABI 1.1 plugin of `fixtures/abi-1.1`, built against the 1.1 header
//! and kept for ever: every later 1.x host loads it, sorts keys and pairs
//! through it, verifies it, and, since it has no `sort_with` (ABI 1.2),
//! calls its `sort` and `sort_pairs` when a call has a thread count.

use wildhost::running::integrity;
use wildhost::{Registry, SearchPath};
use wildhost_suite::{Sandbox, fixtures};

fn backend() -> (tempfile::TempDir, wildhost::Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(fixtures::abi_1_1_plugin(), dir.path().join("libabi11.so")).expect("copy");
    let registry = Registry::discover(&SearchPath::only([dir.path().to_path_buf()]));
    let backend = registry
        .backend("pairs11")
        .expect("the ABI 1.1 backend")
        .clone();
    (dir, backend)
}

#[test]
fn it_loads_and_list_shows_abi_1_1() {
    let sandbox = Sandbox::new();
    sandbox.install(&fixtures::abi_1_1_plugin());
    let out = sandbox.normalise(sandbox.run(["list"]));
    out.expect_exactly(
        0,
        &["\
BACKEND   MODULE          KEY TYPES                FLAGS                                           DEFAULT FOR              STATUS     DESCRIPTION
wildsort  wildsort        u32 u64 i32 i64 f32 f64  stable, pairs, scratch 100%                     -                        available  stable bottom-up merge sort with insertion-sorted runs, written in C
radix     wildsort_radix  u32 u64 i32 i64 f32 f64  stable, parallel, pairs, threads, scratch 100%  u32 u64 i32 i64 f32 f64  available  MSD radix sort (adaptive digits, counting for few values), one scratch buffer the size of the input; on several threads when given a thread count
std       wildsort_std    u32 u64 i32 i64 f32 f64  stable, pairs, scratch 100%                     -                        available  core::slice::sort_unstable (pattern-defeating quicksort), in place; pairs by a stable sort of indices
pairs11   abi11           u32 u64                  stable, parallel, pairs, in place               -                        available  insertion sort of keys and pairs, built against the ABI 1.1 header

MODULE          VERSION  ABI  FEATURES  FROM
wildsort        1.0.0    1.3  c11       built-in
wildsort_radix  0.1.0    1.3  -         built-in
wildsort_std    0.1.0    1.3  -         built-in
abi11           1.1.0    1.1  -         <sandbox>/plugins/libabi11.so

", wildhost_suite::SEARCH_PATH].concat(),
        "",
    );
}

#[test]
fn it_sorts_bare_keys_and_records() {
    let sandbox = Sandbox::new();
    sandbox.install(&fixtures::abi_1_1_plugin());
    sandbox
        .run_with_input(
            ["sort", "-b", "pairs11", "-t", "u64"],
            b"3\n18446744073709551615\n0\n2\n",
        )
        .expect_exactly(0, "0\n2\n3\n18446744073709551615\n", "");
    // Records sort through its pairs entry: stable, each line as it was.
    sandbox
        .run_with_input(
            ["sort", "-b", "pairs11", "-t", "u64", "-k", "2", "-d", ","],
            b"a,07\r\nb,18446744073709551615\nc,7\nd,0\ne,007",
        )
        .expect_exactly(0, "d,0\na,07\r\nc,7\ne,007\nb,18446744073709551615\n", "");
}

#[test]
fn it_passes_verify_with_its_pairs_checked() {
    let sandbox = Sandbox::new();
    let plugin = fixtures::abi_1_1_plugin();
    let out = sandbox.run([
        "verify".as_ref(),
        plugin.as_os_str(),
        "--max-len".as_ref(),
        "1000".as_ref(),
    ]);
    out.expect_code(0)
        .expect_stdout(&["module abi11 1.1.0, ABI 1.1, 1 backend(s)", " 0 failed"]);
    let stdout = out.stdout_text();
    assert!(!stdout.contains("SKIP  pairs11  -    pairs"), "{stdout}");
}

#[test]
fn the_library_sorts_keys_and_pairs_through_it() {
    let (_dir, backend) = backend();
    assert_eq!(backend.module().abi, (1, 1));
    assert!(backend.supports_pairs());
    assert!(backend.is_parallel());
    assert!(!backend.takes_threads(), "a 1.1 entry has no sort_with");

    let mut keys = [7u64, u64::MAX, 7, 0, 7, 3];
    backend.sort(&mut keys).expect("sorted");
    assert_eq!(keys, [0, 3, 7, 7, 7, u64::MAX]);

    let mut keys = [5u32, 1, 5, u32::MAX, 1, 0, 5];
    let mut payload = [10u64, 11, 12, 13, 14, 15, u64::MAX];
    backend.sort_pairs(&mut keys, &mut payload).expect("sorted");
    assert_eq!(keys, [0, 1, 1, 5, 5, 5, u32::MAX]);
    assert_eq!(payload, [15, 11, 14, 10, 12, u64::MAX, 13]);
}

/// With a thread count, the host calls the 1.1 backend exactly as without:
/// its `sort` and its `sort_pairs`, the results checked the same way.
#[test]
fn with_a_thread_count_the_library_falls_back_to_sort_and_sort_pairs() {
    let (_dir, backend) = backend();
    for threads in [0, 1, 4, usize::MAX] {
        let input = [9u64, 2, u64::MAX, 2, 0];
        let mut keys = input;
        backend
            .sort_with_threads(&mut keys, threads)
            .expect("sorted through `sort`");
        assert_eq!(keys, [0, 2, 2, 9, u64::MAX], "threads {threads}");
        integrity::verify(&keys, integrity::fingerprint(&input)).expect("a sorted result");

        let mut keys = [9u32, 2, 2, 0];
        let mut payload = [0u32, 1, 2, 3];
        backend
            .sort_pairs_with_threads(&mut keys, &mut payload, threads)
            .expect("sorted through `sort_pairs`");
        assert_eq!((keys, payload), ([0, 2, 2, 9], [3, 1, 2, 0]));
    }
    // A key type it lacks is refused by the host, as by `sort`.
    let error = backend
        .sort_with_threads(&mut [1i64, 0], 2)
        .expect_err("no i64");
    assert!(error.to_string().contains("i64"), "{error}");
}
