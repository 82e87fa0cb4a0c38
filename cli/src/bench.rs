//! `wildhost bench`: measure backends the way a user would pick one — on
//! generated inputs of chosen shapes and sizes, or on the user's own file
//! (its numbers, or its records with `--key`) — with every result checked,
//! std `sort_unstable` and `memcpy` measured beside them in the same run.

use crate::output::Destination;
use crate::report::Failure;
use crate::sort::{Format, TypeArg, parse_delimiter, parse_memory, read_input};
use crate::{Cli, Outcome};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use wildhost::codec::Encoding;
use wildhost::conformance::workload::Dist;
use wildhost::{Backend, KeyType, Registry};

mod keys;
mod plot;
mod records;
mod table;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Backends to measure, comma-separated. Default: every available
    /// backend that sorts the type. std is always measured as the baseline.
    #[arg(long, short, value_delimiter = ',', value_name = "NAME,...")]
    backends: Vec<String>,
    /// Key types, comma-separated.
    #[arg(long, short, value_enum, value_delimiter = ',', default_value = "i64")]
    types: Vec<TypeArg>,
    /// Numbers of keys per sort, comma-separated; `1e6` and `1000000` both work.
    #[arg(
        long,
        short,
        value_delimiter = ',',
        value_parser = parse_size,
        default_value = "1e3,1e4,1e5,1e6",
        conflicts_with = "input"
    )]
    sizes: Vec<usize>,
    /// Input shapes, comma-separated: uniform, sorted, reversed, few-unique,
    /// all-equal, narrow, zipf, normal, unit, lognormal, specials (floats
    /// only).
    #[arg(
        long,
        short,
        value_delimiter = ',',
        default_value = "uniform",
        conflicts_with = "input"
    )]
    dist: Vec<Dist>,
    /// Timed runs per backend and input, after one warm-up run.
    #[arg(long, short, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    repeat: u32,
    /// Seed of the generated inputs: the same seed gives the same keys.
    #[arg(long, default_value_t = 42, conflicts_with = "input")]
    seed: u64,
    /// Bench on the numbers in this file (one key type) instead of
    /// generated ones.
    #[arg(long, short, value_name = "PATH")]
    input: Option<PathBuf>,
    /// Format of --input: text (one number per line) or binary.
    #[arg(long, short, value_enum, default_value_t = Format::Text, requires = "input")]
    format: Format,
    /// Bench the records of --input by their N-th field (counted from 1),
    /// as `wildhost sort --key N` sorts them. The file is parsed once; a
    /// backend's row times its sort of a fresh copy of the records (each
    /// result checked, untimed). The `(whole job)` row times the command's
    /// work with the first of --backends, else the default backend: parse,
    /// sort, check, write the lines into memory.
    #[arg(long, short = 'k', value_name = "N", requires = "input")]
    key: Option<NonZeroUsize>,
    /// With --key: the one character that separates fields (`,` for CSV; a
    /// tab as `\t`). Default: runs of blanks (spaces and tabs), leading
    /// blanks ignored.
    #[arg(long, value_name = "CHAR", requires = "key", value_parser = parse_delimiter)]
    delimiter: Option<u8>,
    /// With --key: the first line of --input is a header, not a record.
    #[arg(long, requires = "key")]
    header: bool,
    /// Also time the whole job sorted in parts within this much memory
    /// (`64M`, `2G`), as `wildhost sort --memory SIZE` sorts an input that
    /// needs more: sorted runs in temporary files ($TMPDIR, else /tmp),
    /// merged into memory. Without --key, the records are whole lines.
    #[arg(long, value_name = "SIZE", requires = "input", value_parser = parse_memory)]
    memory: Option<u64>,
    /// Print the results as JSON.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print the results as CSV.
    #[arg(long)]
    csv: bool,
    /// Draw throughput against size, one line per backend with bars from
    /// the slowest run to the fastest (memcpy on an axis of its own), into
    /// this SVG file. Its name must end in .svg (PNG is not supported).
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
}

/// `1e6`, `1000000`, `1_000_000`.
fn parse_size(text: &str) -> Result<usize, String> {
    let clean = text.trim().replace('_', "");
    let value = match clean.parse::<usize>() {
        Ok(v) => v,
        Err(_) => {
            let f: f64 = clean
                .parse()
                .map_err(|_| format!("`{text}` is not a number of keys (e.g. 1000 or 1e6)"))?;
            if !(f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= 1e12) {
                return Err(format!("`{text}` is not a whole number of keys"));
            }
            f as usize
        }
    };
    if value == 0 {
        return Err("a size must be at least 1 key".into());
    }
    if value > MAX_KEYS {
        return Err(format!(
            "`{text}` is more than the {MAX_KEYS} keys bench generates"
        ));
    }
    Ok(value)
}

/// Largest generated input: far beyond any machine's memory, which is what
/// really bounds a size ([`keys::memory_check`] refuses one that does not
/// fit).
const MAX_KEYS: usize = 1_000_000_000_000;

/// One measured row.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    #[serde(rename = "type")]
    key_type: &'static str,
    input: String,
    /// Keys, or records with --key (one key each).
    keys: usize,
    backend: String,
    /// "ok", "failed", "baseline" (memcpy) or "job" (the whole record job).
    status: &'static str,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    ns_per_key: Option<f64>,
    ns_per_key_min: Option<f64>,
    ns_per_key_max: Option<f64>,
    million_keys_per_s: Option<f64>,
    /// std's median time ÷ this median time: above 1 is faster than std.
    speedup_vs_std: Option<f64>,
    runs: u32,
    /// What `keys` counts: records rather than bare keys.
    #[serde(skip)]
    records: bool,
}

impl Row {
    /// A row with no measurement yet.
    fn new(key_type: &'static str, input: &str, keys: usize, backend: &str) -> Row {
        Row {
            key_type,
            input: input.to_string(),
            keys,
            backend: backend.to_string(),
            status: "ok",
            error: None,
            ns_per_key: None,
            ns_per_key_min: None,
            ns_per_key_max: None,
            million_keys_per_s: None,
            speedup_vs_std: None,
            runs: 0,
            records: false,
        }
    }
}

pub fn run(cli: &Cli, args: &BenchArgs) -> Outcome {
    if args.format == Format::Binary && args.key.is_some() {
        return Err(
            Failure::usage("--key benches lines of text, not binary input")
                .cause(
                    "binary input is a bare array of little-endian keys, without lines or fields",
                )
                .help("drop --key, or read text (the default --format)"),
        );
    }
    if let Some(path) = &args.plot {
        plot::check_path(path)?;
    }
    let registry = cli.registry();
    let types: Vec<KeyType> = dedup(args.types.iter().map(|&t| KeyType::from(t)));
    let chosen = choose_backends(&registry, &args.backends)?;
    let scratch = |key_type| {
        backends_for(&registry, &chosen, key_type)
            .iter()
            .map(|b| b.scratch_percent())
            .max()
            .unwrap_or(0)
    };
    let available = wildhost::budget::available_memory().unwrap_or(u64::MAX);
    let records = args.key.is_some() || args.memory.is_some();
    let rows = match &args.input {
        Some(path) if records && args.format == Format::Text => {
            let key_type = input_type(&types)?;
            let backends = backends_for(&registry, &chosen, key_type);
            let job = records::job_backend(&registry, &chosen, &backends, key_type);
            let copies = 200 + scratch(key_type);
            let (input, source) =
                read_bench_input(path, key_type, Encoding::Text, copies, available, "records")?;
            let what = records::RecordInput::new(args, path, args.key, key_type);
            records::measure(&what, &input, &source, &backends, job, args)?
        }
        _ => keys::measure(&registry, &chosen, args, &types, &scratch, available)?,
    };

    let text = if args.json {
        let mut json = serde_json::to_string_pretty(&Report {
            seed: args.input.is_none().then_some(args.seed),
            repeat: args.repeat,
            rows: &rows,
        })
        .map_err(|e| Failure::new("cannot encode the results as JSON").cause(e))?;
        json.push('\n');
        json
    } else if args.csv {
        table::csv(&rows)
    } else {
        table::table(
            &rows,
            args.repeat,
            args.input.is_none().then_some(args.seed),
        )
    };
    Destination::Stdout.write(text.as_bytes())?;

    if let Some(path) = &args.plot {
        let svg = plot::render(&rows, args.repeat).map_err(|e| {
            Failure::new(format!("cannot draw the plot `{}`", path.display())).cause(e)
        })?;
        Destination::File(path.clone()).write(svg.as_bytes())?;
        crate::report::to_stderr(format!("plot written to {}\n", path.display()));
    }

    let failed: Vec<&Row> = rows.iter().filter(|r| r.status == "failed").collect();
    if let Some(first) = failed.first() {
        let mut failure = Failure::new(format!(
            "{} measurement(s) failed; the other results stand",
            failed.len()
        ));
        for row in failed.iter().take(5) {
            failure = failure.cause(format!(
                "{} on {} {} × {}: {}",
                row.backend,
                row.key_type,
                row.input,
                row.keys,
                row.error.as_deref().unwrap_or("failed")
            ));
        }
        return Err(failure.help(format!(
            "check backend `{}` with `wildhost inspect` and its author",
            first.backend
        )));
    }
    Ok(())
}

/// A progress bar of `measurements` steps, drawn only on a terminal.
fn progress_bar(measurements: usize) -> ProgressBar {
    let progress = ProgressBar::new(measurements as u64);
    progress.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress
}

/// Sets each row's speed-up against std's time on the same workload
/// (`rows` are one workload's); the whole record job has none.
fn compare_with_std(rows: &mut [Row]) {
    let std_ns = rows
        .iter()
        .find(|r| r.backend == "std" && r.status == "ok")
        .and_then(|r| r.ns_per_key);
    for row in rows.iter_mut().filter(|r| r.status != "job") {
        row.speedup_vs_std = std_ns.zip(row.ns_per_key).map(|(s, t)| s / t);
    }
}

#[derive(Serialize)]
struct Report<'a> {
    /// The seed of the generated inputs; null for the keys of a file.
    seed: Option<u64>,
    repeat: u32,
    rows: &'a [Row],
}

fn dedup<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// The backends the user named, checked; empty means "every one".
fn choose_backends<'r>(
    registry: &'r Registry,
    names: &[String],
) -> Result<Vec<&'r Backend>, Failure> {
    let mut chosen = Vec::new();
    for name in dedup(names.iter().map(|n| n.trim()).filter(|n| !n.is_empty())) {
        let backend = registry
            .backend(name)
            .ok_or_else(|| crate::names::unknown_backend(registry, name))?;
        chosen.push(backend);
    }
    Ok(chosen)
}

/// What runs on `key_type`: std first (the baseline), then the chosen
/// backends (or every available one) that sort the type.
fn backends_for<'r>(
    registry: &'r Registry,
    chosen: &[&'r Backend],
    key_type: KeyType,
) -> Vec<&'r Backend> {
    let pool: Vec<&Backend> = if chosen.is_empty() {
        registry.backends().iter().collect()
    } else {
        chosen.to_vec()
    };
    let mut out: Vec<&Backend> = Vec::new();
    if let Some(std) = registry
        .backend("std")
        .filter(|b| b.supports(key_type) && b.is_available())
    {
        out.push(std);
    }
    for backend in pool {
        if backend.supports(key_type)
            && backend.is_available()
            && !out.iter().any(|b| std::ptr::eq(*b, backend))
        {
            out.push(backend);
        }
    }
    out
}

/// The one key type of an --input file.
fn input_type(types: &[KeyType]) -> Result<KeyType, Failure> {
    match types {
        [key_type] => Ok(*key_type),
        _ => Err(
            Failure::usage("--input holds one key type; give exactly one --types")
                .help("e.g. wildhost bench --input data.txt --types f64"),
        ),
    }
}

/// Reads the --input file, refused before it is read if the `what` (keys
/// or records) it could hold would not fit in `available` memory with
/// `copies` percent more of them (two copies and the backends' scratch).
fn read_bench_input(
    path: &Path,
    key_type: KeyType,
    encoding: Encoding,
    copies: u32,
    available: u64,
    what: &str,
) -> Result<(Vec<u8>, String), Failure> {
    let largest = wildhost::budget::largest_input(available, key_type, copies, encoding);
    read_input(Some(path), largest, |source, length| {
        let length = length.unwrap_or(largest.saturating_add(1));
        Failure::new(format!("not enough memory to bench {source}"))
            .cause(format!(
                "its {} could hold {what} that take up to {} with two copies and the backends' \
                 scratch",
                crate::report::bytes(length),
                crate::report::bytes(wildhost::budget::sort_needs(
                    length, key_type, copies, encoding
                ))
            ))
            .cause(format!(
                "{} is available (MemAvailable, or the room under wildhost's cgroup memory limit)",
                crate::report::bytes(available)
            ))
            .help("nothing was measured; bench a part of the file")
    })
}

/// The file's name, as the input column shows it.
fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn with_stats(mut row: Row, samples: &[f64]) -> Row {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        return row;
    }
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    row.ns_per_key = Some(median);
    row.ns_per_key_min = Some(sorted[0]);
    row.ns_per_key_max = Some(sorted[n - 1]);
    row.million_keys_per_s = (median > 0.0).then(|| 1e3 / median);
    row.runs = n as u32;
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_accept_plain_and_scientific_forms() {
        assert_eq!(parse_size("1e3"), Ok(1000));
        assert_eq!(parse_size("1000000"), Ok(1_000_000));
        assert_eq!(parse_size("1_000"), Ok(1000));
        assert_eq!(parse_size("2.5e3"), Ok(2500));
        assert!(parse_size("0").is_err());
        assert!(parse_size("1.5").is_err());
        assert!(parse_size("-1e3").is_err());
        assert!(parse_size("1e20").is_err());
        assert!(parse_size("many").is_err());
    }

    #[test]
    fn the_median_and_spread_come_from_the_samples() {
        let row = with_stats(Row::new("u64", "uniform", 10, "x"), &[4.0, 1.0, 2.0, 100.0]);
        assert_eq!(row.ns_per_key, Some(3.0));
        assert_eq!(row.ns_per_key_min, Some(1.0));
        assert_eq!(row.ns_per_key_max, Some(100.0));
        assert_eq!(row.runs, 4);
    }
}
