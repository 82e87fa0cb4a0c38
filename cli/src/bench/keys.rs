//! Keys alone: generated inputs of chosen shapes and sizes, or the numbers
//! of an --input file, each sorted by every backend's key sort beside
//! `memcpy` of the same buffer.

use super::{
    BenchArgs, Row, backends_for, compare_with_std, dedup, file_name, input_type, progress_bar,
    read_bench_input, with_stats,
};
use crate::report::Failure;
use crate::sort::{Format, parse_input};
use indicatif::ProgressBar;
use std::hint::black_box;
use std::time::Instant;
use wildhost::codec::Encoding;
use wildhost::conformance::workload::{WorkloadKey, check_sorted};
use wildhost::{Backend, KeyType, KeyVec, Registry, with_keys};

/// The rows of every workload the flags ask for: memcpy, then each backend
/// of `chosen` (or every one) that sorts the workload's type.
pub(super) fn measure(
    registry: &Registry,
    chosen: &[&Backend],
    args: &BenchArgs,
    types: &[KeyType],
    scratch: &dyn Fn(KeyType) -> u32,
    available: u64,
) -> Result<Vec<Row>, Failure> {
    memory_check(args, types, scratch, available)?;
    let workloads = workloads(args, types, scratch, available)?;
    let measurements: usize = workloads
        .iter()
        .map(|w| backends_for(registry, chosen, w.key_type).len() + 1)
        .sum();
    let progress = progress_bar(measurements);
    let mut rows = Vec::new();
    for workload in &workloads {
        let backends = backends_for(registry, chosen, workload.key_type);
        let before = rows.len();
        with_keys!(&workload.keys, data => {
            measure_workload(workload, data, &backends, args.repeat, &progress, &mut rows);
        });
        compare_with_std(&mut rows[before..]);
    }
    progress.finish_and_clear();
    Ok(rows)
}

/// A workload: one key type, one input.
struct Workload {
    key_type: KeyType,
    input: String,
    keys: KeyVec,
}

/// Refuses, before anything is generated, generated inputs that would not
/// fit in the `available` memory: bench holds every input it generates,
/// and while it measures one, two copies more (the reference result and
/// the one sorted), with the scratch its backends declare (`scratch`, the
/// most of any backend measured on a type, in percent of the keys).
fn memory_check(
    args: &BenchArgs,
    types: &[KeyType],
    scratch: &dyn Fn(KeyType) -> u32,
    available: u64,
) -> Result<(), Failure> {
    if args.input.is_some() {
        return Ok(());
    }
    let (mut inputs, mut measuring, mut largest) = (0u64, 0u64, (0, KeyType::U32));
    for &key_type in types {
        let dists = dedup(args.dist.iter().copied());
        for _ in dists.iter().filter(|d| d.applies_to(key_type)) {
            for &len in &dedup(args.sizes.iter().copied()) {
                let bytes = (len as u64).saturating_mul(key_type.size() as u64);
                let copies = bytes.saturating_mul(200 + u64::from(scratch(key_type))) / 100;
                inputs = inputs.saturating_add(bytes);
                measuring = measuring.max(copies);
                if bytes > largest.0 as u64 * largest.1.size() as u64 {
                    largest = (len, key_type);
                }
            }
        }
    }
    let needs = inputs.saturating_add(measuring);
    if needs <= available {
        return Ok(());
    }
    let (len, key_type) = largest;
    Err(
        Failure::new(format!("not enough memory to bench {len} {key_type} keys"))
            .cause(format!(
                "the inputs, two copies of one and the backends' scratch need {}",
                crate::report::bytes(needs)
            ))
            .cause(format!(
                "{} is available (MemAvailable, or the room under wildhost's cgroup memory limit)",
                crate::report::bytes(available)
            ))
            .help("nothing was measured; give smaller --sizes, or fewer --types and --dist"),
    )
}

fn workloads(
    args: &BenchArgs,
    types: &[KeyType],
    scratch: &dyn Fn(KeyType) -> u32,
    available: u64,
) -> Result<Vec<Workload>, Failure> {
    if let Some(path) = &args.input {
        let key_type = input_type(types)?;
        let encoding = match args.format {
            Format::Text => Encoding::Text,
            Format::Binary => Encoding::Binary,
        };
        // The file's keys, then two copies and the scratch as a sort's.
        let copies = 200 + scratch(key_type);
        let (bytes, source) =
            read_bench_input(path, key_type, encoding, copies, available, "keys")?;
        let keys = parse_input(&bytes, key_type, args.format, &source, None)?;
        if keys.is_empty() {
            return Err(Failure::new(format!("{source} holds no numbers"))
                .help("bench needs at least one key"));
        }
        return Ok(vec![Workload {
            key_type,
            input: format!("file {}", file_name(path)),
            keys,
        }]);
    }
    let mut out = Vec::new();
    for &key_type in types {
        for &dist in &dedup(args.dist.iter().copied()) {
            if !dist.applies_to(key_type) {
                continue;
            }
            for &len in &dedup(args.sizes.iter().copied()) {
                out.push(Workload {
                    key_type,
                    input: dist.name().to_string(),
                    keys: wildhost::conformance::workload::generate_keys(
                        key_type, dist, len, args.seed,
                    ),
                });
            }
        }
    }
    if out.is_empty() {
        return Err(
            Failure::usage("nothing to measure: `specials` applies to f32 and f64 only")
                .help("add --types f64, or another --dist"),
        );
    }
    Ok(out)
}

fn measure_workload<T: WorkloadKey>(
    workload: &Workload,
    data: &[T],
    backends: &[&Backend],
    repeat: u32,
    progress: &ProgressBar,
    rows: &mut Vec<Row>,
) {
    let mut reference = data.to_vec();
    T::reference_sort(&mut reference);
    let row = |backend: &str| {
        Row::new(
            workload.key_type.name(),
            &workload.input,
            data.len(),
            backend,
        )
    };
    let label = format!("{} {} × {}", workload.key_type, workload.input, data.len());
    let mut work = data.to_vec();

    progress.set_message(format!("{label}: memcpy"));
    let mut samples = Vec::with_capacity(repeat as usize);
    for _ in 0..=repeat {
        let start = Instant::now();
        work.copy_from_slice(black_box(data));
        black_box(&mut work);
        samples.push(start.elapsed().as_nanos() as f64 / data.len() as f64);
    }
    samples.remove(0); // the warm-up
    rows.push(Row {
        status: "baseline",
        ..with_stats(row("memcpy"), &samples)
    });
    progress.inc(1);

    for backend in backends {
        progress.set_message(format!("{label}: {}", backend.name()));
        let mut samples = Vec::with_capacity(repeat as usize);
        let mut failure = None;
        for run in 0..=repeat {
            work.copy_from_slice(data);
            let start = Instant::now();
            let result = backend.sort(&mut work);
            let elapsed = start.elapsed();
            if let Err(e) = result {
                failure = Some(e.to_string());
                break;
            }
            if let Err(mismatch) = check_sorted(&work, &reference) {
                failure = Some(format!("wrong result: {mismatch}"));
                break;
            }
            if run > 0 {
                samples.push(elapsed.as_nanos() as f64 / data.len() as f64);
            }
        }
        rows.push(match failure {
            None => with_stats(row(backend.name()), &samples),
            Some(error) => Row {
                status: "failed",
                error: Some(error),
                ..row(backend.name())
            },
        });
        progress.inc(1);
    }
}
