//! `isolate/<n>`: sorting in a worker (fork it, hand it the keys' pages,
//! which it sorts in place; pull the result back) against sorting
//! in-process through the same plugin, at 1e4, 1e6 and 1e7 keys: the
//! library call alone (`isolated`: the result back as a whole vector), and
//! what `wildhost sort -f binary` does (`*-encoded`: sort, then encode and
//! check the result; with the worker, while copying it out).
//!
//! Under the allocator the `wildhost` command installs, as the command runs
//! it: its large buffers share no page with other memory, which is what lets
//! the worker take all of them over.
//!
//! `cargo bench -p wildhost-benches --bench isolate`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use std::time::Duration;
use wildhost::codec::{Encoding, Writer};
use wildhost::running::integrity::{self, OutputCheck};
use wildhost::running::worker;
use wildhost_benches::{Dist, generate, registry};

#[global_allocator]
static ALLOCATOR: wildhost::mem::HugeAllocator = wildhost::mem::HugeAllocator;

fn isolate(c: &mut Criterion) {
    // glibc's fixed default threshold for serving an allocation with a
    // mapping of its own, as in a fresh `wildhost` process: its adaptive
    // one would serve the backend's scratch from a heap that earlier
    // iterations already faulted in, which the in-process sort then reuses
    // warm while the worker must take it over.
    // SAFETY: mallopt only tunes the allocator; called before the group
    // allocates.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10);
    }
    let registry = registry();
    let radix = registry.backend("radix").expect("the radix plugin").clone();
    let mut group = c.benchmark_group("isolate");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500));
    for len in [10_000usize, 1_000_000, 10_000_000] {
        let data: Vec<u64> = generate(Dist::Uniform, len, 7);
        group.measurement_time(Duration::from_secs(if len >= 1_000_000 { 6 } else { 2 }));
        group.bench_function(BenchmarkId::new("in-process", len), |b| {
            b.iter_batched_ref(
                || data.clone(),
                |v| radix.sort(v.as_mut_slice()).expect("sorted"),
                BatchSize::LargeInput,
            );
        });
        // The library call: the result comes back as a whole vector.
        group.bench_function(BenchmarkId::new("isolated", len), |b| {
            b.iter_batched_ref(
                || data.clone(),
                |v| {
                    worker::sort(&radix, v, Duration::from_secs(600)).expect("sorted");
                },
                BatchSize::LargeInput,
            );
        });
        // What `wildhost sort -f binary` does with the keys it parsed: sort,
        // then encode and check; with --isolate the result is encoded and
        // checked as it is copied out of the worker.
        let print = integrity::fingerprint(&data);
        group.bench_function(BenchmarkId::new("in-process-encoded", len), |b| {
            b.iter_batched_ref(
                || data.clone(),
                |v| {
                    radix.sort(v.as_mut_slice()).expect("sorted");
                    let (mut check, mut out) = (OutputCheck::default(), Vec::new());
                    Writer::new(Encoding::Binary, v.len(), Some(&mut check)).push(v, &mut out);
                    check.finish(print).expect("a correct result");
                    out
                },
                BatchSize::LargeInput,
            );
        });
        group.bench_function(BenchmarkId::new("isolated-encoded", len), |b| {
            b.iter_batched_ref(
                || data.clone(),
                |v| {
                    let (mut check, mut out) = (OutputCheck::default(), Vec::new());
                    let mut writer = Writer::new(Encoding::Binary, v.len(), Some(&mut check));
                    worker::sort_with(&radix, v, Duration::from_secs(600), |block| {
                        writer.push(block, &mut out)
                    })
                    .expect("sorted");
                    check.finish(print).expect("a correct result");
                    out
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, isolate);
criterion_main!(benches);
