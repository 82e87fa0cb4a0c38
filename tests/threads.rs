//! ABI 1.2's `sort_with`, through the library: the thread count of a call
//! reaches the backend (and only through `sort_with_threads` and
//! `sort_pairs_with_threads`), keys and pairs sort through it, and a wrong
//! result from it is caught by the result check as one from `sort` is, and
//! by `wildhost verify`. The plugin is `fixtures/threads.c`.

use wildhost::running::integrity;
use wildhost::{Backend, Registry, SearchPath, SortError};
use wildhost_suite::{Sandbox, fixtures};

fn registry() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        fixtures::threads_plugin(),
        dir.path().join("libthreads12.so"),
    )
    .expect("copy");
    let registry = Registry::discover(&SearchPath::only([dir.path().to_path_buf()]));
    assert!(registry.refused().is_empty(), "{:?}", registry.refused());
    (dir, registry)
}

fn backend<'r>(registry: &'r Registry, name: &str) -> &'r Backend {
    registry.backend(name).expect("a backend of threads12")
}

/// The message of a backend's failure; panics on anything else.
#[track_caller]
fn failure(result: Result<(), SortError>) -> String {
    match result {
        Err(SortError::Failed { code, message, .. }) => {
            assert_eq!(code, wildhost_abi::status::FAILED);
            message
        }
        other => panic!("expected the backend's failure, got {other:?}"),
    }
}

#[test]
fn the_thread_count_reaches_sort_with_with_the_options_size() {
    let (_dir, registry) = registry();
    let echo = backend(&registry, "echo");
    assert!(echo.takes_threads() && echo.is_parallel());
    for (threads, seen) in [(3, 3), (1, 1), (0, 1), (usize::MAX, u32::MAX as usize)] {
        let mut keys = [2u64, 1];
        assert_eq!(
            failure(echo.sort_with_threads(&mut keys, threads)),
            format!("sort_with: threads={seen} size=16 payload_type=0"),
        );
    }
    // The plain calls never go through `sort_with`.
    let mut keys = [2u64, 1, 0];
    echo.sort(&mut keys).expect("sorted by `sort`");
    assert_eq!(keys, [0, 1, 2]);
}

#[test]
fn pairs_reach_sort_with_with_their_payload_type() {
    let (_dir, registry) = registry();
    let echo_pairs = backend(&registry, "echo_pairs");
    let mut keys = [2u64, 1];
    assert_eq!(
        failure(echo_pairs.sort_pairs_with_threads(&mut keys, &mut [0u32, 1], 5)),
        "sort_with: threads=5 size=16 payload_type=1",
    );
    assert_eq!(
        failure(echo_pairs.sort_pairs_with_threads(&mut keys, &mut [0u64, 1], 2)),
        "sort_with: threads=2 size=16 payload_type=2",
    );
    let mut payload = [0u32, 1];
    echo_pairs
        .sort_pairs(&mut keys, &mut payload)
        .expect("sorted by `sort_pairs`");
    assert_eq!((keys, payload), ([1, 2], [1, 0]));
}

/// A backend with `sort_with` but no pairs entry gets the thread count in
/// the key sort the library sorts pairs through.
#[test]
fn the_pairs_fallbacks_pass_the_thread_count_to_the_key_sort() {
    let (_dir, registry) = registry();
    let echo = backend(&registry, "echo");
    assert!(!echo.supports_pairs());
    // u32 keys: packed with their positions into its u64 sort.
    assert_eq!(
        failure(echo.sort_pairs_with_threads(&mut [2u32, 1], &mut [0u64, 1], 6)),
        "sort_with: threads=6 size=16 payload_type=0",
    );
    // u64 keys: sorted alone, each payload placed after them.
    assert_eq!(
        failure(echo.sort_pairs_with_threads(&mut [2u64, 1], &mut [0u32, 1], 7)),
        "sort_with: threads=7 size=16 payload_type=0",
    );
}

#[test]
fn keys_and_pairs_sort_through_sort_with_from_many_threads_at_once() {
    let (_dir, registry) = registry();
    let good = backend(&registry, "good");
    std::thread::scope(|s| {
        for t in 0..8u64 {
            s.spawn(move || {
                let input: Vec<u64> = (0..500).map(|i| (i * 7919 + t) % 61).collect();
                let mut keys = input.clone();
                good.sort_with_threads(&mut keys, 1 + t as usize)
                    .expect("sorted");
                integrity::verify(&keys, integrity::fingerprint(&input)).expect("right");

                let mut keys = input.clone();
                let mut rows: Vec<u32> = (0..input.len() as u32).collect();
                let fingerprint = integrity::fingerprint_pairs(&keys, &rows);
                good.sort_pairs_with_threads(&mut keys, &mut rows, 4)
                    .expect("sorted");
                integrity::verify_pairs(&keys, &rows, fingerprint).expect("sorted and stable");
            });
        }
    });
}

/// `sort_with` that answers WILD_OK with the keys out of order: the call
/// succeeds, as `sort`'s would, and the result check the command runs on
/// every result catches it, for keys and for pairs.
#[test]
fn a_wrong_result_from_sort_with_is_caught_by_the_result_check() {
    let (_dir, registry) = registry();
    let garbage = backend(&registry, "garbage");
    let input = [3u64, 1, 2, 0];

    let mut keys = input;
    garbage.sort(&mut keys).expect("`sort` sorts");
    integrity::verify(&keys, integrity::fingerprint(&input)).expect("right through `sort`");

    let mut keys = input;
    garbage
        .sort_with_threads(&mut keys, 2)
        .expect("the call itself succeeds");
    assert_eq!(keys, [3, 2, 1, 0]);
    let wrong = integrity::verify(&keys, integrity::fingerprint(&input)).expect_err("wrong");
    assert_eq!(
        wrong.to_string(),
        "the result is not sorted: keys 0 and 1 are out of order"
    );

    let mut keys = input;
    let mut rows = [0u64, 1, 2, 3];
    let fingerprint = integrity::fingerprint_pairs(&keys, &rows);
    garbage
        .sort_pairs_with_threads(&mut keys, &mut rows, 2)
        .expect("the call itself succeeds");
    assert_eq!((keys, rows), ([3, 2, 1, 0], [0, 2, 1, 3]));
    assert!(integrity::verify_pairs(&keys, &rows, fingerprint).is_err());
}

/// `wildhost verify` sorts through `sort_with` too, on one thread and on
/// four, keys and pairs: a backend whose `sort_with` fails or sorts wrongly
/// fails there, though its `sort` and `sort_pairs` pass every other check.
#[test]
fn verify_checks_sort_with_on_one_thread_and_on_four() {
    let sandbox = Sandbox::new();
    let plugin = fixtures::threads_plugin();
    let out = sandbox.run([
        "verify".as_ref(),
        plugin.as_os_str(),
        "--max-len".as_ref(),
        "1000".as_ref(),
    ]);
    out.expect_code(1).expect_stdout(&[
        "PASS  good        u64  threads-1             n=1000",
        "PASS  good        u64  threads-4             n=1000",
        "PASS  good        u64  threads-4 pairs-u32   n=1000",
        "sort_with: threads=4 size=16 payload_type=0",
        "sort_with: threads=4 size=16 payload_type=1",
        "FAIL  garbage     u64  threads-1             n=1000",
        "not sorted: keys 0 and 1 are out of order",
        "FAIL  garbage     u64  threads-4 pairs-u32   n=1000",
    ]);
    // Its plain entries pass: only the `threads` checks fail.
    let stdout = out.stdout_text();
    let failed: Vec<&str> = stdout.lines().filter(|l| l.contains("FAIL")).collect();
    assert!(
        failed.iter().all(|l| l.contains(" threads-")),
        "{}",
        failed.join("\n")
    );
    assert_eq!(failed.len(), 8, "{}", failed.join("\n"));
}
