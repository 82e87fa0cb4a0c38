//! The ABI 1.0 plugin of `fixtures/abi-1.0`, built against the 1.0 header
//! and kept for ever: every later 1.x host loads it, sorts through it,
//! verifies it, and sorts pairs through its key sort where that is exact.

use wildhost::{Registry, SearchPath};
use wildhost_suite::{Sandbox, fixtures};

#[test]
fn it_loads_and_list_shows_abi_1_0() {
    let sandbox = Sandbox::new();
    sandbox.install(&fixtures::abi_1_0_plugin());
    let out = sandbox.normalise(sandbox.run(["list"]));
    out.expect_exactly(
        0,
        &["\
BACKEND   MODULE          KEY TYPES                FLAGS                                           DEFAULT FOR              STATUS     DESCRIPTION
wildsort  wildsort        u32 u64 i32 i64 f32 f64  stable, pairs, scratch 100%                     -                        available  stable bottom-up merge sort with insertion-sorted runs, written in C
radix     wildsort_radix  u32 u64 i32 i64 f32 f64  stable, parallel, pairs, threads, scratch 100%  u32 u64 i32 i64 f32 f64  available  MSD radix sort (adaptive digits, counting for few values), one scratch buffer the size of the input; on several threads when given a thread count
std       wildsort_std    u32 u64 i32 i64 f32 f64  stable, pairs, scratch 100%                     -                        available  core::slice::sort_unstable (pattern-defeating quicksort), in place; pairs by a stable sort of indices
old       abi10           u32 u64                  stable, in place                                -                        available  insertion sort, built against the ABI 1.0 header

MODULE          VERSION  ABI  FEATURES  FROM
wildsort        1.0.0    1.3  c11       built-in
wildsort_radix  0.1.0    1.3  -         built-in
wildsort_std    0.1.0    1.3  -         built-in
abi10           1.0.0    1.0  -         <sandbox>/plugins/libabi10.so

", wildhost_suite::SEARCH_PATH].concat(),
        "",
    );
}

#[test]
fn it_sorts_bare_keys() {
    let sandbox = Sandbox::new();
    sandbox.install(&fixtures::abi_1_0_plugin());
    sandbox
        .run_with_input(
            ["sort", "-b", "old", "-t", "u64"],
            b"3\n18446744073709551615\n0\n2\n",
        )
        .expect_exactly(0, "0\n2\n3\n18446744073709551615\n", "");
}

/// Lines that are not canonical numbers, and fields of records, sort
/// through its key sort too: stable, each line as it was.
#[test]
fn it_sorts_records() {
    let sandbox = Sandbox::new();
    sandbox.install(&fixtures::abi_1_0_plugin());
    sandbox
        .run_with_input(
            ["sort", "-b", "old", "-t", "u64", "-k", "2", "-d", ","],
            b"a,07\r\nb,18446744073709551615\nc,7\nd,0\ne,007",
        )
        .expect_exactly(0, "d,0\na,07\r\nc,7\ne,007\nb,18446744073709551615\n", "");
    sandbox
        .run_with_input(["sort", "-b", "old", "-t", "u32", "-r"], b"+3\n03\n10\n3\n")
        .expect_exactly(0, "10\n+3\n03\n3\n", "");
}

#[test]
fn it_passes_verify_and_its_pairs_checks_say_why_they_skip() {
    let sandbox = Sandbox::new();
    let plugin = fixtures::abi_1_0_plugin();
    let out = sandbox.run([
        "verify".as_ref(),
        plugin.as_os_str(),
        "--max-len".as_ref(),
        "1000".as_ref(),
    ]);
    out.expect_code(0).expect_stdout(&[
        "module abi10 1.0.0, ABI 1.0, 1 backend(s)",
        "SKIP  old  -    pairs             built for ABI 1.0, no pairs entry",
        "SKIP  old  -    stable-flag       declared stable; not observable without a pairs entry",
        " 0 failed",
    ]);
}

#[test]
fn the_library_sorts_pairs_of_every_key_type_through_it_stably() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(fixtures::abi_1_0_plugin(), dir.path().join("libabi10.so")).expect("copy");
    let registry = Registry::discover(&SearchPath::only([dir.path().to_path_buf()]));
    let backend = registry.backend("old").expect("the ABI 1.0 backend");
    assert_eq!(backend.module().abi, (1, 0));
    assert!(!backend.supports_pairs());
    assert_eq!(backend.pairs_payloads().count(), 0);

    // u32 keys: packed with their positions into its u64 sort.
    let mut keys = [5u32, 1, 5, u32::MAX, 1, 0, 5];
    let mut payload = [10u64, 11, 12, 13, 14, 15, u64::MAX];
    backend.sort_pairs(&mut keys, &mut payload).expect("sorted");
    assert_eq!(keys, [0, 1, 1, 5, 5, 5, u32::MAX]);
    assert_eq!(payload, [15, 11, 14, 10, 12, u64::MAX, 13]);

    // i32 and f32 keys too, in the contract's order.
    let mut keys = [3i32, -1, i32::MIN, -1, 0];
    let mut payload = [0u32, 1, 2, 3, 4];
    backend.sort_pairs(&mut keys, &mut payload).expect("sorted");
    assert_eq!(keys, [i32::MIN, -1, -1, 0, 3]);
    assert_eq!(payload, [2, 1, 3, 4, 0]);
    let mut keys = [0.0f32, -0.0, f32::NAN, -f32::INFINITY, 0.0];
    let mut payload = [0u32, 1, 2, 3, 4];
    backend.sort_pairs(&mut keys, &mut payload).expect("sorted");
    assert_eq!(payload, [3, 1, 0, 4, 2]);
    assert_eq!(keys[1].to_bits(), (-0.0f32).to_bits());
    assert_eq!(keys[4].to_bits(), f32::NAN.to_bits());

    // 64-bit keys cannot be packed: the backend sorts them alone, and each
    // payload value is placed after them, equal keys in input order.
    let mut keys = [7u64, u64::MAX, 7, 0, 7, 3];
    let mut payload = [0u32, 1, 2, 3, 4, 5];
    backend.sort_pairs(&mut keys, &mut payload).expect("sorted");
    assert_eq!(keys, [0, 3, 7, 7, 7, u64::MAX]);
    assert_eq!(payload, [3, 5, 0, 2, 4, 1]);
    let mut payload = [5u64, 4, 3, 2, 1, 0];
    backend.sort_pairs(&mut keys, &mut payload).expect("sorted");
    assert_eq!(payload, [5, 4, 3, 2, 1, 0], "sorted keys keep their order");
}
