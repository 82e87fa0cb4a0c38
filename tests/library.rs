//! wildhost as a library: discover, pick a backend, sort, from many threads
//! at once through the same loaded plugins.

use std::sync::Arc;
use wildhost::running::worker;
use wildhost::{KeyType, Registry, SearchPath};
use wildhost_suite::{Rng, built};

fn registry() -> Registry {
    Registry::discover(&SearchPath::only([built().to_path_buf()]))
}

#[test]
fn registry_and_backends_are_send_and_sync() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Registry>();
    shareable::<wildhost::Backend>();
    shareable::<wildhost::Module>();
}

#[test]
fn three_lines_to_sort() {
    let registry = registry();
    let backend = registry
        .default_backend(KeyType::U64)
        .expect("a u64 backend");
    let mut keys = vec![3u64, u64::MAX, 0, 2];
    backend.sort(&mut keys).expect("sorted");
    assert_eq!(keys, [0, 2, 3, u64::MAX]);
}

#[test]
fn a_key_type_the_backend_lacks_is_refused_by_the_host() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin = wildhost_suite::fixtures::compile_c("hostile.c", "libhostile.so", &[]);
    std::fs::copy(&plugin, dir.path().join("libhostile.so")).expect("copy");
    let registry = Registry::discover(&SearchPath::only([dir.path().to_path_buf()]));
    let backend = registry.backend("hostile").expect("the u64-only fixture");
    let mut keys = [2.0f32, 1.0];
    let err = backend.sort(&mut keys).expect_err("f32 is not declared");
    assert!(
        matches!(err, wildhost::SortError::UnsupportedKeyType { .. }),
        "{err}"
    );
    assert_eq!(keys, [2.0, 1.0], "the keys are untouched");
    assert!(registry.default_backend(KeyType::F32).is_none());
}

#[test]
fn every_shipped_backend_supports_every_key_type() {
    let registry = registry();
    assert!(registry.refused().is_empty(), "{:?}", registry.refused());
    for backend in registry.backends() {
        for key_type in KeyType::ALL {
            assert!(
                backend.supports(key_type),
                "{} lacks {key_type}",
                backend.name()
            );
        }
    }
}

#[test]
fn eight_threads_sort_through_the_same_plugins_at_once() {
    let registry = Arc::new(registry());
    let names: Vec<String> = registry
        .backends()
        .iter()
        .map(|b| b.name().to_owned())
        .collect();
    assert!(names.len() >= 2, "{names:?}");
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let registry = Arc::clone(&registry);
            let names = names.clone();
            std::thread::spawn(move || {
                let mut rng = Rng::new(t);
                for round in 0..40 {
                    let name = &names[(t as usize + round) % names.len()];
                    let backend = registry.backend(name).expect("backend");
                    let len = rng.below(20_000) as usize;
                    let mut keys: Vec<i64> = (0..len).map(|_| rng.next_u64() as i64).collect();
                    let mut expected = keys.clone();
                    expected.sort_unstable();
                    backend.sort(&mut keys).expect("sort");
                    assert_eq!(keys, expected, "thread {t} round {round} via {name}");

                    let mut floats: Vec<f64> = (0..len / 4)
                        .map(|_| f64::from_bits(rng.next_u64()))
                        .collect();
                    let mut expected: Vec<u64> = floats.iter().map(|f| f.to_bits()).collect();
                    expected
                        .sort_unstable_by(|a, b| f64::from_bits(*a).total_cmp(&f64::from_bits(*b)));
                    backend.sort(&mut floats).expect("sort");
                    let got: Vec<u64> = floats.iter().map(|f| f.to_bits()).collect();
                    assert_eq!(got, expected, "thread {t} round {round} via {name} (f64)");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a sorting thread panicked");
    }
}

/// `worker::sort`, again and again from one process: each result
/// sorted and complete; a failing backend leaves the keys empty (their pages
/// went to the worker) and says why.
#[test]
fn sorting_in_a_worker_process_repeatedly() {
    let registry = registry();
    let radix = registry.backend("radix").expect("the radix plugin");
    let mut rng = Rng::new(11);
    let timeout = std::time::Duration::from_secs(60);
    // Small keys, and 5 MB: a buffer large enough for huge pages.
    for len in [0usize, 1, 1000, 655_360, 3, 655_361] {
        let input: Vec<u64> = (0..len).map(|_| rng.next_u64()).collect();
        let mut keys = input.clone();
        worker::sort(radix, &mut keys, timeout).expect("sorted");
        let mut expected = input;
        expected.sort_unstable();
        assert!(keys == expected, "{len} keys");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin = wildhost_suite::fixtures::rust_plugin("libwildsort_panicky.so");
    std::fs::copy(&plugin, dir.path().join("libwildsort_panicky.so")).expect("copy");
    let registry = Registry::discover(&SearchPath::only([dir.path().to_path_buf()]));
    let panicky = registry.backend("panicky").expect("the panicking fixture");
    let mut keys = vec![2u64, 1];
    let err = worker::sort(panicky, &mut keys, timeout).expect_err("it panics");
    assert!(
        err.to_string().contains("panicky gives up on 2 keys"),
        "{err}"
    );
    assert!(keys.is_empty());
}

/// `worker::sort_prepared`: the worker makes the keys and their
/// fingerprint itself; the sorted keys come back into a byte buffer (here
/// one byte in, so not aligned for keys) or block by block. A loader's
/// error, and a worker that dies while loading, are told apart from the
/// backend's failures, and a loader that hangs is stopped.
#[test]
fn sorting_keys_the_worker_loads() {
    use std::time::Duration;
    use wildhost::running::integrity::fingerprint;
    use wildhost::running::worker::{Prepared, PreparedSortError, Sink};

    let registry = registry();
    let radix = registry.backend("radix").expect("the radix plugin");
    let mut rng = Rng::new(12);
    let input: Vec<u64> = (0..655_361).map(|_| rng.next_u64()).collect();
    let mut expected = input.clone();
    expected.sort_unstable();
    let load = |keys: &Vec<u64>| {
        let keys = keys.clone();
        move || {
            let fingerprint = fingerprint(&keys);
            Ok(Prepared { keys, fingerprint })
        }
    };
    let timeout = Duration::from_secs(60);

    let mut out = vec![0xAAu8];
    let mut seen = Vec::new();
    let mut inspect = |block: &[u64]| seen.extend_from_slice(block);
    // SAFETY: the closure clones, allocates, aborts or sleeps: no lock.
    let sent = unsafe {
        worker::sort_prepared(
            radix,
            timeout,
            load(&input),
            Sink::Bytes(&mut out, &mut inspect),
        )
    }
    .expect("sorted");
    assert_eq!(sent, fingerprint(&input));
    assert!(seen == expected, "the blocks handed over, in order");
    let bytes: Vec<u8> = expected.iter().flat_map(|k| k.to_ne_bytes()).collect();
    assert_eq!(out[0], 0xAA);
    assert!(out[1..] == bytes[..], "the bytes appended");

    let mut blocks = Vec::new();
    let mut take = |block: &[u64]| blocks.extend_from_slice(block);
    // SAFETY: the closure clones, allocates, aborts or sleeps: no lock.
    unsafe {
        worker::sort_prepared(
            radix,
            timeout,
            load(&input[..1000].to_vec()),
            Sink::Blocks(&mut take),
        )
    }
    .expect("sorted");
    let mut small = input[..1000].to_vec();
    small.sort_unstable();
    assert_eq!(blocks, small);

    let mut ignore = |_: &[u64]| {};
    // SAFETY: the closure clones, allocates, aborts or sleeps: no lock.
    let err = unsafe {
        worker::sort_prepared(
            radix,
            timeout,
            || Err::<Prepared<u64>, _>("line 7 is not a number".to_string()),
            Sink::Blocks(&mut ignore),
        )
    }
    .expect_err("the loader failed");
    assert_eq!(
        err,
        PreparedSortError::Prepare("line 7 is not a number".into())
    );

    // SAFETY: the closure clones, allocates, aborts or sleeps: no lock.
    let err = unsafe {
        worker::sort_prepared(
            radix,
            timeout,
            || -> Result<Prepared<u64>, String> { std::process::abort() },
            Sink::Blocks(&mut ignore),
        )
    }
    .expect_err("the worker died while loading");
    assert!(
        matches!(err, PreparedSortError::PrepareStopped(_)) && err.to_string().contains("SIGABRT"),
        "{err}"
    );

    // A loader that never finishes is stopped at the time limit too.
    let stuck = || -> Result<Prepared<u64>, String> {
        std::thread::sleep(Duration::from_secs(600));
        Err("woke up".into())
    };
    // SAFETY: the closure clones, allocates, aborts or sleeps: no lock.
    let err = unsafe {
        worker::sort_prepared(
            radix,
            Duration::from_millis(300),
            stuck,
            Sink::Blocks(&mut ignore),
        )
    }
    .expect_err("stopped");
    assert!(
        err.to_string()
            .contains("making the keys: it did not finish within 0.3 s and was stopped"),
        "{err}"
    );
}

/// Where the kernel refuses this process the worker's memory (here a
/// seccomp filter on the calling thread, as a sandbox might install), the
/// first read of the worker fails and the keys come through the pipe
/// instead: whole, into a byte buffer, and block by block.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn a_host_refused_the_workers_memory_gets_the_keys_through_the_pipe() {
    use std::time::Duration;
    use wildhost::running::integrity::fingerprint;
    use wildhost::running::worker::{Prepared, Sink};

    /// Makes `process_vm_readv` fail with EPERM on this thread (and the
    /// processes it forks) from now on.
    fn refuse_reading_other_processes() {
        const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
        let nr = libc::SYS_process_vm_readv as u32;
        let stmt = |code: u32, k: u32| libc::sock_filter {
            code: code as u16,
            jt: 0,
            jf: 0,
            k,
        };
        let jump_if = |k: u32, jt: u8, jf: u8| libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt,
            jf,
            k,
        };
        let load_word_at = |offset: u32| stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, offset);
        let ret = |k: u32| stmt(libc::BPF_RET | libc::BPF_K, k);
        let mut program = [
            // Another architecture's system calls: allowed.
            load_word_at(4),
            jump_if(AUDIT_ARCH_X86_64, 1, 0),
            ret(libc::SECCOMP_RET_ALLOW),
            load_word_at(0),
            jump_if(nr, 0, 1),
            ret(libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
            ret(libc::SECCOMP_RET_ALLOW),
        ];
        let filter = libc::sock_fprog {
            len: program.len() as u16,
            filter: program.as_mut_ptr(),
        };
        // SAFETY: the filter program is valid for the call, which copies it.
        unsafe {
            assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
            assert_eq!(
                libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER,
                    &filter as *const libc::sock_fprog
                ),
                0,
                "installing the filter: {}",
                std::io::Error::last_os_error()
            );
        }
        // The filter works: reading even this process's memory is refused.
        let mut byte = 0u8;
        let source = 7u8;
        let local = libc::iovec {
            iov_base: (&mut byte as *mut u8).cast(),
            iov_len: 1,
        };
        let remote = libc::iovec {
            iov_base: (&source as *const u8).cast_mut().cast(),
            iov_len: 1,
        };
        // SAFETY: both iovecs cover one live byte.
        let n = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
        assert_eq!(n, -1);
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EPERM)
        );
    }

    // On a thread of its own, so that the filter ends with it.
    std::thread::spawn(|| {
        refuse_reading_other_processes();
        let registry = registry();
        let radix = registry.backend("radix").expect("the radix plugin");
        let mut rng = Rng::new(13);
        let input: Vec<u64> = (0..100_003).map(|_| rng.next_u64()).collect();
        let mut expected = input.clone();
        expected.sort_unstable();
        let timeout = Duration::from_secs(60);

        let mut keys = input.clone();
        worker::sort(radix, &mut keys, timeout).expect("sorted");
        assert!(keys == expected, "the whole vector");

        let load = || {
            let keys = input.clone();
            let fingerprint = fingerprint(&keys);
            Ok(Prepared { keys, fingerprint })
        };
        let mut out = Vec::new();
        let mut seen = Vec::new();
        let mut inspect = |block: &[u64]| seen.extend_from_slice(block);
        // SAFETY: the closure clones, allocates, aborts or sleeps: no lock.
        unsafe { worker::sort_prepared(radix, timeout, load, Sink::Bytes(&mut out, &mut inspect)) }
            .expect("sorted");
        let bytes: Vec<u8> = expected.iter().flat_map(|k| k.to_ne_bytes()).collect();
        assert!(out == bytes, "the bytes appended");
        assert!(seen == expected, "the blocks inspected");

        let mut blocks = Vec::new();
        let mut take = |block: &[u64]| blocks.extend_from_slice(block);
        // SAFETY: the closure clones, allocates, aborts or sleeps: no lock.
        unsafe { worker::sort_prepared(radix, timeout, load, Sink::Blocks(&mut take)) }
            .expect("sorted");
        assert!(blocks == expected, "the blocks handed over");
    })
    .join()
    .expect("the sorts through the pipe");
}

/// This process's children that have ended but are not reaped, by pid.
fn unreaped_children() -> Vec<String> {
    let me = std::process::id().to_string();
    let mut zombies = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: the command may hold spaces.
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        if fields.first() == Some(&"Z") && fields.get(1) == Some(&me.as_str()) {
            zombies.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    zombies
}

/// A caller's block function that panics unwinds through the isolated
/// sort: the worker is still stopped and reaped (by a later isolated sort),
/// not left behind.
#[test]
fn a_panicking_block_function_leaves_no_worker_behind() {
    let registry = registry();
    let radix = registry.backend("radix").expect("the radix plugin");
    let timeout = std::time::Duration::from_secs(60);
    let mut keys: Vec<u64> = (0..100_000u64).rev().collect();
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        worker::sort_with(radix, &mut keys, timeout, |_| panic!("the caller gives up"))
    }));
    assert!(unwound.is_err());
    std::thread::sleep(std::time::Duration::from_millis(300));
    let left = unreaped_children();
    // Each isolated sort reaps the workers that have ended since.
    for _ in 0..2 {
        let mut more: Vec<u64> = (0..10u64).rev().collect();
        worker::sort(radix, &mut more, timeout).expect("sorted");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let still = unreaped_children();
    assert!(
        left.iter().all(|pid| !still.contains(pid)),
        "unreaped after the panic: {left:?}, still: {still:?}"
    );
}

#[test]
fn pairs_sort_through_every_backend_with_a_pairs_entry() {
    let registry = registry();
    for name in ["std", "wildsort"] {
        let backend = registry.backend(name).expect("shipped");
        assert!(backend.supports_pairs(), "{name}");
        assert!(backend.is_stable(), "{name}");
        let mut keys = [2.5f64, -1.0, 2.5, f64::NEG_INFINITY, -1.0];
        let mut payload = [0u64, 1, 2, 3, 4];
        backend.sort_pairs(&mut keys, &mut payload).expect("sorted");
        assert_eq!(keys, [f64::NEG_INFINITY, -1.0, -1.0, 2.5, 2.5], "{name}");
        assert_eq!(payload, [3, 1, 4, 0, 2], "{name}");
    }
}

#[test]
fn pairs_of_other_lengths_are_an_error_not_a_call() {
    let registry = registry();
    let backend = registry.backend("std").expect("shipped");
    let mut keys = [2u32, 1, 0];
    let mut payload = [0u32, 1];
    let err = backend
        .sort_pairs(&mut keys, &mut payload)
        .expect_err("lengths differ");
    assert_eq!(
        err.to_string(),
        "3 keys but 2 payload values: a pairs sort needs one value per key"
    );
    assert_eq!(keys, [2, 1, 0]);
}

/// A sorted copy through every shipped backend, for every key type, past
/// the sizes where a backend may just copy and sort in place: bit for bit
/// the in-place sort of a copy, the source unchanged; and through the one
/// that sorts from a source, the call reaches it with the source.
#[test]
fn sorted_copies_equal_sorted_copies_in_place() {
    fn check<T: wildhost::SortKey>(backend: &wildhost::Backend, source: Vec<T>) {
        let bits = |v: &[T]| v.iter().map(|k| k.bits()).collect::<Vec<u64>>();
        let before = bits(&source);
        for threads in [1, 2, 3] {
            let mut expected = source.clone();
            backend
                .sort_with_threads(&mut expected, threads)
                .expect("sorted in place");
            let mut out = source.iter().rev().copied().collect::<Vec<T>>();
            backend
                .sort_copy_with_threads(&source, &mut out, threads)
                .expect("sorted copy");
            assert!(
                bits(&out) == bits(&expected),
                "{} threads {threads}",
                backend.name()
            );
            assert!(
                bits(&source) == before,
                "{} wrote its source",
                backend.name()
            );
        }
        let mut short = vec![source[0]; source.len() - 1];
        let err = backend
            .sort_copy_with_threads(&source, &mut short, 1)
            .expect_err("lengths differ");
        assert!(
            err.to_string().contains("needs room for every key"),
            "{err}"
        );
    }
    let registry = registry();
    let radix = registry.backend("radix").expect("radix");
    assert!(radix.sorts_from_source());
    assert!(!registry.backend("std").expect("std").sorts_from_source());
    let mut rng = Rng::new(0x5eed);
    // Past the radix backend's parallel cut-over; the others copy first at
    // any size.
    for (name, n) in [("radix", 300_000), ("std", 5_000), ("wildsort", 5_000)] {
        let backend = registry.backend(name).expect("a shipped backend");
        check(backend, (0..n).map(|_| rng.next_u64() as u32).collect());
        check(
            backend,
            (0..n).map(|_| rng.next_u64()).collect::<Vec<u64>>(),
        );
        check(backend, (0..n).map(|_| rng.next_u64() as i32).collect());
        check(
            backend,
            (0..n)
                .map(|_| (rng.next_u64() % 1000) as i64 - 500)
                .collect(),
        );
        check(
            backend,
            (0..n)
                .map(|_| f32::from_bits(rng.next_u64() as u32))
                .collect(),
        );
        check(
            backend,
            (0..n).map(|_| f64::from_bits(rng.next_u64())).collect(),
        );
    }
}
