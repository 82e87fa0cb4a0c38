//! `wildhost bench --input FILE --key N`: backends measured on the records
//! of the user's file, sorted as `wildhost sort --key N` sorts them.
//!
//! The file is parsed once. Each backend's row times [`Records::sort`] on a
//! fresh copy of the parsed records, the part that differs between
//! backends, and checks the result after every run, outside the time. One
//! row more times the command's whole job with one backend (parse,
//! fingerprint, sort, check, write the lines into memory), so that the
//! sort's share of it shows; a `memcpy` of the input is the floor.

use super::{BenchArgs, Row, compare_with_std, file_name, progress_bar, with_stats};
use crate::report::Failure;
use std::hint::black_box;
use std::num::NonZeroUsize;
use std::path::Path;
use std::time::{Duration, Instant};
use wildhost::codec::ParseError;
use wildhost::codec::records::{Fields, Layout, Records};
use wildhost::external::{self, Plan, Shape};
use wildhost::{Backend, KeyType, Registry};

/// The backend whose whole job is timed: the first of --backends that is
/// measured, else the one `wildhost sort` picks by default for the type.
pub(super) fn job_backend<'r>(
    registry: &'r Registry,
    chosen: &[&'r Backend],
    measured: &[&'r Backend],
    key_type: KeyType,
) -> Option<&'r Backend> {
    chosen
        .iter()
        .copied()
        .find(|c| measured.iter().any(|m| std::ptr::eq(*m, *c)))
        .or_else(|| registry.default_backend(key_type))
}

/// The records of the --input file at `path`, keyed by field `field` of
/// `key_type`, as the flags lay them out.
pub(super) struct RecordInput {
    layout: Layout,
    /// The input column: the file's name and the key's field.
    label: String,
}

impl RecordInput {
    pub(super) fn new(
        args: &BenchArgs,
        path: &Path,
        field: Option<NonZeroUsize>,
        key_type: KeyType,
    ) -> RecordInput {
        RecordInput {
            layout: Layout {
                key_type,
                field,
                fields: args.delimiter.map_or(Fields::Blanks, Fields::Delimiter),
                header: args.header,
            },
            label: match field {
                Some(field) => format!("file {}, key {field}", file_name(path)),
                None => format!("file {}, lines", file_name(path)),
            },
        }
    }
}

/// The rows of the records `what` in `input` (named `source` in reports):
/// memcpy, the sort of each of `backends`, and the whole job with `job`.
pub(super) fn measure(
    what: &RecordInput,
    input: &[u8],
    source: &str,
    backends: &[&Backend],
    job: Option<&Backend>,
    args: &BenchArgs,
) -> Result<Vec<Row>, Failure> {
    let repeat = args.repeat;
    let RecordInput { layout, label } = what;
    let records = Records::parse(input, layout).map_err(|e| parse_failure(e, layout, source))?;
    if records.is_empty() {
        return Err(Failure::new(format!("{source} holds no records"))
            .help("bench needs at least one line with a key"));
    }
    let print = records.fingerprint();
    let row = |backend: &str| Row {
        records: true,
        ..Row::new(layout.key_type.name(), label, records.len(), backend)
    };
    let per_record = |elapsed: Duration| elapsed.as_nanos() as f64 / records.len() as f64;
    let measured = |name: &str, samples: Result<Vec<Duration>, String>| match samples {
        Ok(samples) => {
            let samples: Vec<f64> = samples.into_iter().map(per_record).collect();
            with_stats(row(name), &samples)
        }
        Err(error) => Row {
            status: "failed",
            error: Some(error),
            ..row(name)
        },
    };
    // The job's output, and memcpy's copy: the lines, and a last newline
    // if the input lacks it.
    let mut out = wildhost::mem::try_with_capacity(input.len().saturating_add(1)).map_err(|e| {
        Failure::new(format!("cannot make room for the output of {source}"))
            .cause(e)
            .help("nothing was measured; free some memory, or bench a part of the file")
    })?;
    let parts = args.memory.filter(|_| job.is_some());
    let progress = progress_bar(
        backends.len() + 1 + usize::from(job.is_some()) + usize::from(parts.is_some()),
    );
    let mut rows = Vec::with_capacity(backends.len() + 2);

    progress.set_message(format!("{label}: memcpy"));
    let samples = timed_runs(repeat, || {
        out.clear();
        let start = Instant::now();
        out.extend_from_slice(black_box(input));
        black_box(&mut out);
        Ok(start.elapsed())
    });
    rows.push(Row {
        status: "baseline",
        ..measured("memcpy", samples)
    });
    progress.inc(1);

    for backend in backends {
        progress.set_message(format!("{label}: {}", backend.name()));
        let samples = timed_runs(repeat, || {
            let mut work = records.clone();
            let start = Instant::now();
            let sorted = work.sort(backend);
            let elapsed = start.elapsed();
            sorted.map_err(|e| e.to_string())?;
            work.verify(print)
                .map_err(|wrong| format!("wrong result: {wrong}"))?;
            Ok(elapsed)
        });
        rows.push(measured(backend.name(), samples));
        progress.inc(1);
    }

    if let Some(backend) = job {
        let name = format!("{} (whole job)", backend.name());
        progress.set_message(format!("{label}: {name}"));
        let samples = timed_runs(repeat, || {
            out.clear();
            let start = Instant::now();
            let mut records = Records::parse(input, layout).map_err(|e| e.to_string())?;
            let print = records.fingerprint();
            records.sort(backend).map_err(|e| e.to_string())?;
            records
                .verify(print)
                .map_err(|wrong| format!("wrong result: {wrong}"))?;
            records.write(false, &mut out).map_err(|e| e.to_string())?;
            let elapsed = start.elapsed();
            black_box(&out);
            Ok(elapsed)
        });
        rows.push(job_row(measured(&name, samples)));
        progress.inc(1);
    }
    if let (Some(backend), Some(memory)) = (job, parts) {
        let name = format!(
            "{} (in parts, --memory {})",
            backend.name(),
            crate::report::bytes(memory)
        );
        progress.set_message(format!("{label}: {name}"));
        let temp_dir = std::env::temp_dir();
        let plan = Plan {
            backend,
            shape: Shape::Text(*layout),
            memory: memory.max(external::MIN_MEMORY),
            temp_dir: &temp_dir,
            threads: 1,
            reverse: false,
            verify: true,
            isolate: None,
        };
        let samples = timed_runs(repeat, || {
            out.clear();
            let start = Instant::now();
            let mut rest: &[u8] = input;
            let runs = external::make_runs(&plan, Vec::new(), &mut rest, None, &mut |_| {})
                .map_err(|e| e.to_string())?;
            runs.merge(&plan, &mut out, &mut |_| {})
                .map_err(|e| e.to_string())?;
            let elapsed = start.elapsed();
            black_box(&out);
            Ok(elapsed)
        });
        rows.push(job_row(measured(&name, samples)));
        progress.inc(1);
    }
    progress.finish_and_clear();
    compare_with_std(&mut rows);
    Ok(rows)
}

/// A whole job's row: marked as a job once it measured.
fn job_row(row: Row) -> Row {
    match row.status {
        "ok" => Row {
            status: "job",
            ..row
        },
        _ => row,
    }
}

/// One warm-up run, then `repeat` timed ones; each run times itself (its
/// setup and its check are not timed). The first failure ends the runs.
fn timed_runs(
    repeat: u32,
    mut run: impl FnMut() -> Result<Duration, String>,
) -> Result<Vec<Duration>, String> {
    let mut samples = Vec::with_capacity(repeat as usize);
    run()?;
    for _ in 0..repeat {
        samples.push(run()?);
    }
    Ok(samples)
}

/// Records that cannot be read, with the parser's words (line and field).
fn parse_failure(error: ParseError, layout: &Layout, source: &str) -> Failure {
    if let ParseError::OutOfMemory { .. } = error {
        return Failure::new(format!("cannot hold the records of {source}"))
            .cause(error)
            .help("nothing was measured; free some memory, or bench a part of the file");
    }
    let key_type = layout.key_type;
    let field = layout.field.map_or(1, NonZeroUsize::get);
    let header = if layout.header {
        ""
    } else {
        "; give --header if the first line names the fields"
    };
    Failure::new(format!("cannot read the numbers in {source}"))
        .cause(error)
        .help(format!(
            "nothing was measured; field {field} of each line must hold one {key_type} number; \
             choose the type with --types, the field with --key and what separates fields with \
             --delimiter (default: runs of blanks){header}"
        ))
}
