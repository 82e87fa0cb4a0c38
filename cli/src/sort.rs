//! `wildhost sort`: read lines (or a binary array of keys), sort them by
//! their numbers through a backend, write them.
//!
//! Everything is read and checked before anything is written: a bad line,
//! a failing backend or an unwritable destination leaves the output file
//! exactly as it was.

use crate::output::{Destination, Pending};
use crate::report::{self, Failure};
use crate::{Cli, Outcome};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use wildhost::budget::{self, ReadError};
use wildhost::codec::records::{Fields, IsolatedError, Layout, Records};
use wildhost::codec::{Encoding, TextKey, Writer};
use wildhost::external::{self, ExternalError, Plan, Progress, Shape};
use wildhost::mem;
use wildhost::running::integrity::{Fingerprint, OutputCheck, Tally, Wrong};
use wildhost::running::worker::{self, Prepared, PreparedSortError, Sink};
use wildhost::{Backend, Key, KeyType, KeyVec, Registry, codec};

#[derive(Debug, Args)]
pub struct SortArgs {
    /// Backend to sort with (`wildhost list` shows them; `MODULE.NAME`
    /// reaches a shadowed one). Default: the backend marked default for the
    /// type in `wildhost list`.
    #[arg(long, short, value_name = "NAME")]
    backend: Option<String>,
    /// Key type of the numbers.
    #[arg(long = "type", short = 't', value_enum, default_value_t = TypeArg::I64)]
    key_type: TypeArg,
    /// Read from this file instead of standard input (`-` is standard input).
    #[arg(long, short, value_name = "PATH")]
    input: Option<PathBuf>,
    /// Write to this file instead of standard output (`-` is standard output).
    /// The file is replaced atomically and may be the input file; a device,
    /// a pipe or a descriptor (`/dev/null`, `/dev/stdout`) is written, never
    /// replaced.
    #[arg(long, short, value_name = "PATH")]
    output: Option<PathBuf>,
    /// text: lines, each holding its key (the whole line, or one field of
    /// it with --key), written back as they were read; binary: the raw
    /// little-endian array of keys.
    #[arg(long, short, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Sort lines by their N-th field (counted from 1) instead of the whole
    /// line.
    #[arg(long, short = 'k', value_name = "N")]
    key: Option<NonZeroUsize>,
    /// The one character that separates fields (`,` for CSV; a tab as `\t`).
    /// Default: runs of blanks (spaces and tabs), leading blanks ignored.
    #[arg(long, short = 'd', value_name = "CHAR", requires = "key",
          value_parser = parse_delimiter)]
    delimiter: Option<u8>,
    /// The first line is a header: it stays first and is not sorted.
    #[arg(long)]
    header: bool,
    /// Largest key first; equal keys still keep their input order.
    #[arg(long, short = 'r')]
    reverse: bool,
    /// Skip checking the backend's result (sorted, same keys as the input)
    /// before writing it.
    #[arg(long)]
    no_verify: bool,
    /// Run the backend in a worker process: if it crashes or hangs, wildhost
    /// says so and writes nothing.
    #[arg(long)]
    isolate: bool,
    /// With --isolate: stop a backend that runs longer than this (a worker
    /// that reads binary input itself gets the same limit for that).
    #[arg(long, value_name = "SECONDS", default_value_t = 600.0, requires = "isolate",
          value_parser = parse_timeout)]
    timeout: f64,
    /// Memory the sort may take, in bytes or with a K, M, G or T suffix
    /// (powers of 1024). An input whose sort could need more is sorted in
    /// parts: each part sorted and written to --temp-dir, then all merged
    /// into the output (at least 1 MiB for that). Default: three quarters
    /// of the memory available (MemAvailable, or less under a cgroup's
    /// memory limit).
    #[arg(long, value_name = "SIZE", value_parser = parse_memory)]
    memory: Option<u64>,
    /// Where a sort in parts keeps its sorted parts, about the input's
    /// size in all: files with no name, which vanish however wildhost
    /// ends. Default: $TMPDIR, else /tmp.
    #[arg(long, value_name = "DIR")]
    temp_dir: Option<PathBuf>,
    /// Threads to read, sort and write with: text is read, parsed and
    /// written on several; the sort runs on several with a backend that
    /// takes a thread count. Default: the CPUs this process may use (its
    /// CPU affinity, and a cgroup's CPU quota). 1: everything on one
    /// thread; at most 256.
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    threads: Option<NonZeroUsize>,
}

/// Most threads `--threads` takes: far more than any machine's sort
/// gains from, few enough that starting them cannot exhaust memory.
const MAX_THREADS: usize = 256;

/// `--threads`: 1 to [`MAX_THREADS`].
fn parse_threads(text: &str) -> Result<NonZeroUsize, String> {
    match text.trim().parse::<usize>() {
        Ok(n @ 1..=MAX_THREADS) => Ok(NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN)),
        Ok(0) => Err("a sort needs at least 1 thread".into()),
        Ok(_) => Err(format!("at most {MAX_THREADS} threads")),
        Err(_) => Err(format!(
            "`{text}` is not a number of threads (1 to {MAX_THREADS})"
        )),
    }
}

impl SortArgs {
    /// `--temp-dir`, else `$TMPDIR`, else `/tmp`.
    fn temp_dir(&self) -> PathBuf {
        self.temp_dir.clone().unwrap_or_else(std::env::temp_dir)
    }

    /// `--threads`, else the CPUs this process may use.
    fn threads(&self) -> usize {
        self.threads
            .unwrap_or_else(mem::available_threads)
            .get()
            .min(MAX_THREADS)
    }
}

/// One byte, or `\t` for a tab; a newline cannot separate fields.
pub(crate) fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text.as_bytes() {
        b"\\t" | b"\t" => Ok(b'\t'),
        [b'\n'] => Err("a newline ends a line; it cannot separate fields".into()),
        [byte] => Ok(*byte),
        _ => Err(format!(
            "`{}` is not one character of one byte (`,`, `;`, `|`, `\\t` for a tab)",
            text.escape_debug()
        )),
    }
}

/// `4096`, `512K`, `1.5G`, `2GiB`: bytes, or with a suffix of powers of
/// 1024 (as GNU sort's `--buffer-size` reads them).
pub(crate) fn parse_memory(text: &str) -> Result<u64, String> {
    let wrong = || format!("`{text}` is not a size (bytes, or with a suffix: 512M, 2G, 1.5GiB)");
    let lower = text.trim().to_ascii_lowercase();
    let unit = lower.trim_end_matches("ib").trim_end_matches('b');
    let (number, shift) = match unit.char_indices().last() {
        Some((at, 'k')) => (&unit[..at], 10),
        Some((at, 'm')) => (&unit[..at], 20),
        Some((at, 'g')) => (&unit[..at], 30),
        Some((at, 't')) => (&unit[..at], 40),
        _ if lower.ends_with("ib") => return Err(wrong()),
        _ => (unit, 0),
    };
    let value: f64 = number.trim().parse().map_err(|_| wrong())?;
    let bytes = value * (1u64 << shift) as f64;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("`{text}` is not a size above 0 bytes"));
    }
    Ok(bytes as u64)
}

/// The memory a sort may take, and where that figure came from.
#[derive(Clone, Copy, Debug)]
pub struct MemoryLimit {
    /// Bytes.
    pub bytes: u64,
    /// Given with `--memory`, rather than the memory available.
    given: bool,
}

impl MemoryLimit {
    /// `--memory`, else three quarters of the memory available; no limit
    /// if that is unknown.
    pub fn new(given: Option<u64>) -> MemoryLimit {
        match given {
            Some(bytes) => MemoryLimit { bytes, given: true },
            None => MemoryLimit {
                bytes: wildhost::budget::available_memory()
                    .map_or(u64::MAX, |available| available / 4 * 3),
                given: false,
            },
        }
    }

    /// The limit as a cause line says it.
    pub fn described(&self) -> String {
        let bytes = report::bytes(self.bytes);
        if self.given {
            format!("the limit is {bytes}, given with --memory")
        } else {
            format!(
                "the limit is {bytes}, three quarters of the memory available (MemAvailable, or \
                 the room under wildhost's cgroup memory limit)"
            )
        }
    }
}

fn parse_timeout(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 1e7 => Ok(s),
        _ => Err(format!("`{text}` is not a number of seconds above 0")),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Binary,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TypeArg {
    U32,
    U64,
    I32,
    I64,
    F32,
    F64,
}

impl From<TypeArg> for KeyType {
    fn from(t: TypeArg) -> KeyType {
        match t {
            TypeArg::U32 => KeyType::U32,
            TypeArg::U64 => KeyType::U64,
            TypeArg::I32 => KeyType::I32,
            TypeArg::I64 => KeyType::I64,
            TypeArg::F32 => KeyType::F32,
            TypeArg::F64 => KeyType::F64,
        }
    }
}

pub fn run(cli: &Cli, args: &SortArgs) -> Outcome {
    let key_type = KeyType::from(args.key_type);
    if args.format == Format::Binary && (args.key.is_some() || args.header) {
        return Err(
            Failure::usage("--key and --header sort lines of text, not binary input")
                .cause(
                    "binary input is a bare array of little-endian keys, without lines or fields",
                )
                .help("drop --key and --header, or read text (the default --format)"),
        );
    }
    let registry = cli.registry();
    let backend = choose_backend(&registry, args.backend.as_deref(), key_type)?;
    let destination = Destination::from_arg(args.output.as_deref());
    let encoding = match args.format {
        Format::Text => Encoding::Text,
        Format::Binary => Encoding::Binary,
    };

    // The one check of memory: the most input whose sort fits the limit,
    // known from a file's length before it is read, or once a stream
    // holds more. An input of more is sorted in parts.
    let limit = MemoryLimit::new(args.memory);
    let scratch = backend.scratch_percent();
    let largest = budget::largest_input(limit.bytes, key_type, scratch, encoding);
    let too_large = |source: &str, length: Option<u64>| {
        let why = match encoding {
            Encoding::Text => format!(
                "the input, a key and a line position for every 2 bytes of it, backend `{}`'s \
                 scratch of {scratch}% and the output's buffer",
                backend.name(),
            ),
            Encoding::Binary => format!(
                "a key for every {} bytes, backend `{}`'s scratch of {scratch}% and the output",
                key_type.size(),
                backend.name(),
            ),
        };
        let estimate = match length {
            Some(length) => format!(
                "sorting its {} as {key_type} {} could take up to {} ({why})",
                report::bytes(length),
                encoding_name(encoding),
                report::bytes(budget::sort_needs(length, key_type, scratch, encoding)),
            ),
            None => format!(
                "it holds more than {}, the most whose sort as {key_type} {} fits ({why})",
                report::bytes(largest),
                encoding_name(encoding),
            ),
        };
        Failure::new(format!("{source} is too large to sort in memory"))
            .cause(estimate)
            .cause(limit.described())
            .help(format!(
                "nothing was written; with --memory of at least {}, wildhost sorts it in parts \
                 through temporary files",
                report::bytes(external::MIN_MEMORY)
            ))
    };
    // Text whose length alone rules out the sort in memory may still fit
    // once its lines are counted: one record per 2 bytes is the worst case.
    // Counted, the estimate has no slack left for the parse on several
    // threads, which copies every run's keys and positions into new
    // vectors when one run has more lines than its sample said: as much
    // again at most, which a scratch of 100% covers.
    let text_fits = |text: &[u8]| {
        let lines = budget::count_lines_on(text, args.threads());
        let beside = if args.threads() > 1 {
            scratch.max(100)
        } else {
            scratch
        };
        budget::text_needs(text.len() as u64, lines, key_type, beside) <= limit.bytes
    };
    let (input, source) = read_sort_input(
        args.input.as_deref(),
        largest,
        (encoding == Encoding::Text).then_some(limit.bytes),
        &text_fits,
        args.threads(),
    )?;
    match input {
        Input::Whole(input) => match encoding {
            Encoding::Text => {
                let written = sort_text(backend, args, key_type, &input, &source, &destination)?;
                // The input's pages go while the output is flushed to disk.
                wildhost::mem::free_on(input, args.threads());
                written.finish()
            }
            Encoding::Binary => sort_binary(backend, args, key_type, input, &source, &destination),
        },
        Input::Large { .. } if limit.bytes < external::MIN_MEMORY => {
            let length = match &input {
                Input::Large { total, .. } => *total,
                Input::Whole(_) => None,
            };
            Err(too_large(&source, length))
        }
        Input::Large {
            first,
            mut rest,
            total,
        } => {
            let plan = Plan {
                backend,
                shape: match encoding {
                    Encoding::Text => Shape::Text(text_layout(args, key_type)),
                    Encoding::Binary => Shape::Binary(key_type),
                },
                memory: limit.bytes,
                temp_dir: &args.temp_dir(),
                threads: args.threads(),
                reverse: args.reverse,
                verify: !args.no_verify,
                isolate: args.isolate.then(|| Duration::from_secs_f64(args.timeout)),
            };
            sort_in_parts(&plan, args, first, &mut rest, total, &source, &destination)
        }
    }
}

/// An input as read for sorting: whole, or too large to sort in memory.
enum Input {
    /// All of it.
    Whole(Vec<u8>),
    /// More than fits: what was read of it (a stream's first bytes) and
    /// the rest, with its size if it is a file.
    Large {
        first: Vec<u8>,
        rest: Box<dyn std::io::Read>,
        total: Option<u64>,
    },
}

/// Reads the input if its sort fits in memory (`largest` bytes at most);
/// returns it with a phrase naming where it came from. A file longer than
/// `largest` but not than `counted` (text: the memory limit) is read all
/// the same, and kept if `fits` says its sort fits after all (text with
/// fewer lines than the worst case); else it is dropped and the file read
/// again in parts.
fn read_sort_input(
    path: Option<&Path>,
    largest: u64,
    counted: Option<u64>,
    fits: &dyn Fn(&[u8]) -> bool,
    threads: usize,
) -> Result<(Input, String), Failure> {
    match path {
        Some(p) if p.as_os_str() != "-" => {
            let source = format!("`{}`", p.display());
            let failed = || {
                Failure::new(format!("cannot read the input file {source}"))
                    .help("check the path given with --input")
            };
            let mut read = budget::read_file_on(p, largest, threads);
            if let (Err(ReadError::TooLarge { at_least, .. }), Some(counted)) = (&read, counted)
                && *at_least <= counted
            {
                read = match budget::read_file_on(p, counted, threads) {
                    Ok(bytes) if !fits(&bytes) => Err(ReadError::TooLarge {
                        at_least: bytes.len() as u64,
                        limit: largest,
                    }),
                    again => again,
                };
            }
            match read {
                Ok(bytes) => Ok((Input::Whole(bytes), source)),
                Err(ReadError::TooLarge { at_least, .. }) => {
                    let file = std::fs::File::open(p).map_err(|e| failed().cause(e))?;
                    let input = Input::Large {
                        first: Vec::new(),
                        rest: Box::new(file),
                        total: Some(at_least),
                    };
                    Ok((input, source))
                }
                Err(ReadError::Io(e)) => Err(failed().cause(e)),
            }
        }
        _ => {
            let source = "standard input".to_string();
            let mut bytes = Vec::new();
            match budget::read_all(std::io::stdin().lock(), &mut bytes, largest) {
                Ok(()) => Ok((Input::Whole(bytes), source)),
                Err(ReadError::TooLarge { .. }) => {
                    let input = Input::Large {
                        first: bytes,
                        rest: Box::new(std::io::stdin().lock()),
                        total: None,
                    };
                    Ok((input, source))
                }
                Err(ReadError::Io(e)) => Err(Failure::new("cannot read standard input").cause(e)),
            }
        }
    }
}

/// The input sorted in parts (`plan`): sorted runs in temporary files,
/// then merged into the output.
fn sort_in_parts(
    plan: &Plan<'_>,
    args: &SortArgs,
    first: Vec<u8>,
    rest: &mut dyn std::io::Read,
    total: Option<u64>,
    source: &str,
    destination: &Destination,
) -> Outcome {
    let mut progress = ProgressDisplay::new(total);
    let runs = external::make_runs(plan, first, rest, total, &mut |p| progress.show(p))
        .map_err(|e| external_failure(plan, args, e, source, total))?;
    let mut failed = None;
    let written = destination.write_with(|out| {
        runs.merge(plan, out, &mut |p| progress.show(p))
            .map_err(|e| match e {
                ExternalError::Output(e) => e,
                e => {
                    failed = Some(e);
                    std::io::Error::other("the merge of the sorted parts failed")
                }
            })
    });
    progress.finish();
    match failed {
        Some(e) => Err(external_failure(plan, args, e, source, total)),
        None => written,
    }
}

/// A progress bar for a sort in parts, drawn on a terminal once the sort
/// has run for a second.
struct ProgressDisplay {
    start: std::time::Instant,
    total: Option<u64>,
    bar: Option<ProgressBar>,
    merging: bool,
    terminal: bool,
}

impl ProgressDisplay {
    fn new(total: Option<u64>) -> ProgressDisplay {
        use std::io::IsTerminal;
        ProgressDisplay {
            start: std::time::Instant::now(),
            total,
            bar: None,
            merging: false,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn show(&mut self, progress: Progress) {
        if !self.terminal || self.start.elapsed() < Duration::from_secs(1) {
            return;
        }
        let (done, total, merging) = match progress {
            Progress::Runs { read, total } => (read, total.or(self.total), false),
            Progress::Merge { written, total } => (written, Some(total), true),
        };
        if self.bar.is_none() || merging != self.merging {
            if let Some(bar) = self.bar.take() {
                bar.finish_and_clear();
            }
            let (bar, template) = match (merging, total) {
                (false, Some(total)) => (
                    ProgressBar::new(total),
                    "sorting parts [{elapsed_precise}] {bar:30} {bytes}/{total_bytes}",
                ),
                (false, None) => (
                    ProgressBar::new_spinner(),
                    "sorting parts [{elapsed_precise}] {spinner} {bytes} read",
                ),
                (true, total) => (
                    ProgressBar::new(total.unwrap_or(0)),
                    "merging [{elapsed_precise}] {bar:30} {human_pos}/{human_len} lines",
                ),
            };
            bar.set_style(
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            // The clock counts from the start of the sort.
            self.bar = Some(bar.with_elapsed(self.start.elapsed()));
            self.merging = merging;
        }
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// A sort in parts that stopped.
fn external_failure(
    plan: &Plan<'_>,
    args: &SortArgs,
    e: ExternalError,
    source: &str,
    total: Option<u64>,
) -> Failure {
    let backend = plan.backend;
    match e {
        ExternalError::Read(e) => Failure::new(format!("cannot read {source}"))
            .cause(e)
            .help("nothing was written"),
        ExternalError::Parse(e) => match plan.shape {
            Shape::Text(layout) => records_failure(e.to_string(), &layout, source),
            Shape::Binary(key_type) => parse_failure(e.to_string(), key_type, args.format, source),
        },
        ExternalError::LineTooLong { .. } => Failure::new(format!("cannot sort {source} in parts"))
            .cause(e)
            .help("nothing was written; give --memory a larger size"),
        ExternalError::Sort(e) => sorting_failed(backend, e.to_string()),
        ExternalError::Isolated(e) => sorting_failed(backend, e.to_string()),
        ExternalError::Wrong(wrong) => wrong_result(backend, wrong),
        ExternalError::Temp {
            dir,
            error,
            needed,
            free,
        } => {
            let mut failure = Failure::new(format!(
                "cannot keep the sorted parts in the temporary directory `{}`",
                dir.display()
            ))
            .cause(error);
            if let (Some(needed), Some(free)) = (needed, free) {
                failure = failure.cause(format!(
                    "the part being written takes about {}, and the directory has {} free",
                    report::bytes(needed),
                    report::bytes(free)
                ));
            }
            failure = failure.cause(match total {
                Some(total) => format!(
                    "all the parts together take about {}, the size of the input",
                    report::bytes(total)
                ),
                None => "all the parts together take about the size of the input".to_string(),
            });
            failure.help(
                "nothing was written and no temporary file is left; give --temp-dir a \
                 directory with room for about the input's size",
            )
        }
        ExternalError::Output(e) => Failure::new("cannot write the output").cause(e),
        ExternalError::Merge(e) => {
            Failure::new(format!("merging the sorted parts of {source} failed"))
                .cause(e)
                .help("nothing was written; this is wildhost's fault: please report it")
        }
    }
}

/// What the lines hold, as the flags say.
fn text_layout(args: &SortArgs, key_type: KeyType) -> Layout {
    Layout {
        key_type,
        field: args.key,
        fields: args.delimiter.map_or(Fields::Blanks, Fields::Delimiter),
        header: args.header,
    }
}

/// Text: records, each line written back as it was read, in key order;
/// the output is in place once the [`Pending`] returned says so, and the
/// records' memory is freed meanwhile.
fn sort_text(
    backend: &Backend,
    args: &SortArgs,
    key_type: KeyType,
    input: &[u8],
    source: &str,
    destination: &Destination,
) -> Result<Pending, Failure> {
    let layout = text_layout(args, key_type);
    let threads = args.threads();
    let mut records = Records::parse_on(input, &layout, threads).map_err(|e| match e {
        codec::ParseError::OutOfMemory { .. } => {
            Failure::new(format!("cannot hold the records of {source}"))
                .cause(e)
                .help("nothing was written; free some memory, or sort the input in parts")
        }
        e => records_failure(e.to_string(), &layout, source),
    })?;
    let print = (!args.no_verify).then(|| records.fingerprint_on(threads));
    if args.isolate {
        sort_records_isolated(backend, args, &mut records)?;
    } else {
        records
            .sort_on(backend, threads)
            .map_err(|e| sorting_failed(backend, e.to_string()))?;
    }
    if let Some(print) = print {
        records
            .verify_on(print, threads)
            .map_err(|wrong| wrong_result(backend, wrong))?;
    }
    destination.write_pending(|out| records.write_on(args.reverse, out, threads))
}

/// Binary: the keys alone.
fn sort_binary(
    backend: &Backend,
    args: &SortArgs,
    key_type: KeyType,
    input: Vec<u8>,
    source: &str,
    destination: &Destination,
) -> Outcome {
    // Room for the whole output now, so that writing it cannot run out.
    let room = budget::output_bound(input.len() as u64, Encoding::Binary);
    let mut out =
        mem::try_with_capacity(usize::try_from(room).unwrap_or(usize::MAX)).map_err(|e| {
            Failure::new(format!("cannot make room for the output of {source}"))
                .cause(e)
                .help("nothing was written; free some memory, or sort the input in parts")
        })?;
    let check = if args.isolate {
        macro_rules! isolated {
            ($($variant:ident => $t:ty),*) => {
                match key_type {
                    $(KeyType::$variant => sort_isolated::<$t>(backend, args, input, &mut out),)*
                }
            };
        }
        isolated!(U32 => u32, U64 => u64, I32 => i32, I64 => i64, F32 => f32, F64 => f64).map_err(
            |e| match e {
                PreparedSortError::Prepare(cause) => {
                    parse_failure(cause, key_type, args.format, source)
                }
                PreparedSortError::PrepareStopped(failure) => {
                    Failure::new(format!("cannot read the numbers in {source}"))
                        .cause(format!("the worker process reading them: {failure}"))
                        .help(
                            "the backend never ran; for a large input give --timeout more \
                             seconds, which reading the input gets as well as the sort",
                        )
                }
                PreparedSortError::Sort(e) => sorting_failed(backend, e.to_string()),
            },
        )?
    } else {
        // The input's fingerprint is taken while parsing and the result
        // checked while encoding, each block while it is in the cache.
        let mut tally = (!args.no_verify).then(Tally::default);
        let mut keys = parse_input(&input, key_type, args.format, source, tally.as_mut())?;
        drop(input);
        backend
            .sort_keys_with_threads(&mut keys, args.threads())
            .map_err(|e| sorting_failed(backend, e.to_string()))?;
        let mut check = tally.map(|tally| (tally.finish(), OutputCheck::default()));
        codec::write_binary(&keys, &mut out, check.as_mut().map(|(_, c)| c));
        check
    };
    if let Some((fingerprint, check)) = check {
        check
            .finish(fingerprint)
            .map_err(|wrong| wrong_result(backend, wrong))?;
    }
    if args.reverse {
        // Largest first: the keys' order turned round, each key's bytes
        // kept.
        out.reverse();
        for key in out.chunks_exact_mut(key_type.size()) {
            key.reverse();
        }
    }
    destination.write(&out)
}

/// The backend failed: `cause` says how.
fn sorting_failed(backend: &Backend, cause: String) -> Failure {
    Failure::new(format!("sorting with backend `{}` failed", backend.name()))
        .cause(cause)
        .cause(format!(
            "the backend comes from `{}`",
            backend.module().path.display()
        ))
        .help("nothing was written; try another backend (`wildhost list` shows them)")
}

/// The backend's result failed the check.
fn wrong_result(backend: &Backend, wrong: Wrong) -> Failure {
    Failure::new(format!(
        "backend `{}` returned a wrong result",
        backend.name()
    ))
    .cause(wrong)
    .cause(format!(
        "the backend comes from `{}`",
        backend.module().path.display()
    ))
    .help("nothing was written; report it to the plugin's author and use another backend")
}

/// `--isolate` with text: the host reads the records and keeps them; the
/// worker (a copy of the host) sorts its own copy of their keys with each
/// record's index, and sends back the indexes in sorted order, which the
/// host applies to its records. What the worker sent is checked as any
/// result is (an index out of range is refused at once).
fn sort_records_isolated(
    backend: &Backend,
    args: &SortArgs,
    records: &mut Records<'_>,
) -> Result<(), Failure> {
    let timeout = Duration::from_secs_f64(args.timeout);
    records
        .sort_isolated(backend, timeout)
        .map_err(|e| match e {
            IsolatedError::Sort(e) => sorting_failed(backend, e.to_string()),
            IsolatedError::Wrong(wrong) => wrong_result(backend, wrong),
        })
}

/// `--isolate` with binary input: the worker parses the input itself (the
/// host never holds the keys) and sends their fingerprint before the
/// backend runs; the sorted keys are copied out of the worker straight
/// into the output and checked a cache-sized block at a time. The
/// fingerprint and the check of the result, unless `--no-verify`.
fn sort_isolated<T: Key + TextKey>(
    backend: &Backend,
    args: &SortArgs,
    input: Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<Option<(Fingerprint, OutputCheck)>, PreparedSortError> {
    let verify = !args.no_verify;
    // The worker parses the input and drops it; the host drops its own
    // view of it as soon as the worker has started.
    let prepare = move || {
        let mut tally = verify.then(Tally::default);
        let parsed = codec::parse_binary(&input, T::TYPE, tally.as_mut());
        drop(input);
        let keys = parsed.map_err(|e| e.to_string())?;
        Ok(Prepared {
            keys: keys
                .into_keys::<T>()
                .ok_or_else(|| format!("the input did not parse as {} keys", T::TYPE))?,
            fingerprint: tally.map(Tally::finish).unwrap_or_default(),
        })
    };
    let timeout = Duration::from_secs_f64(args.timeout);
    let mut check = verify.then(OutputCheck::default);
    let fingerprint = if cfg!(target_endian = "little") {
        // The binary format is the keys' own bytes: copied from the worker
        // straight into the output.
        let mut prev = None;
        let mut inspect = |block: &[T]| {
            if let Some(check) = check.as_mut() {
                check.add(prev, block);
            }
            prev = block.last().copied();
        };
        // SAFETY: `prepare` parses and allocates, taking no lock.
        unsafe { worker::sort_prepared(backend, timeout, prepare, Sink::Bytes(out, &mut inspect))? }
    } else {
        let mut writer = Writer::with_room(Encoding::Binary, out.capacity(), check.as_mut());
        let mut take = |block: &[T]| writer.push(block, out);
        // SAFETY: as above.
        unsafe { worker::sort_prepared(backend, timeout, prepare, Sink::Blocks(&mut take))? }
    };
    Ok(check.map(|check| (fingerprint, check)))
}

fn choose_backend<'r>(
    registry: &'r Registry,
    name: Option<&str>,
    key_type: KeyType,
) -> Result<&'r Backend, Failure> {
    let names = || {
        let names: Vec<&str> = registry.backends().iter().map(Backend::name).collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    let Some(name) = name else {
        return registry.default_backend(key_type).ok_or_else(|| {
            Failure::new(format!("no backend can sort {key_type} keys"))
                .cause(format!("backends found: {}", names()))
                .help(no_backend_help(registry))
        });
    };
    let backend = registry
        .backend(name)
        .ok_or_else(|| crate::names::unknown_backend(registry, name))?;
    if !backend.supports(key_type) {
        let types: Vec<&str> = backend.key_types().map(KeyType::name).collect();
        return Err(
            Failure::usage(format!("backend `{name}` does not sort {key_type} keys"))
                .cause(format!("it sorts {}", types.join(" ")))
                .help("pick another --type, or another backend for this type (`wildhost list`)"),
        );
    }
    if let wildhost::Availability::Unavailable(reason) = &backend.module().availability {
        return Err(
            Failure::new(format!("backend `{name}` is unavailable on this machine"))
                .cause(reason)
                .help("pick another backend (`wildhost list`)"),
        );
    }
    Ok(backend)
}

fn no_backend_help(registry: &Registry) -> String {
    if registry.backends().is_empty() {
        "no backend loaded, not even the built-in ones: `wildhost list` says why each \
         module was refused and where it looked for plugin files"
            .to_string()
    } else {
        "`wildhost list` shows every backend and the key types it sorts".to_string()
    }
}

/// Parses the bytes read from `source` as keys of `key_type`, adding them
/// to `tally` if there is one.
pub fn parse_input(
    input: &[u8],
    key_type: KeyType,
    format: Format,
    source: &str,
    tally: Option<&mut Tally>,
) -> Result<KeyVec, Failure> {
    let parsed = match format {
        Format::Text => codec::parse_text(input, key_type, tally),
        Format::Binary => codec::parse_binary(input, key_type, tally),
    };
    parsed.map_err(|e| match e {
        codec::ParseError::OutOfMemory { .. } => {
            Failure::new(format!("cannot hold the numbers in {source}"))
                .cause(e)
                .help("nothing was written; free some memory, or sort the input in parts")
        }
        e => parse_failure(e.to_string(), key_type, format, source),
    })
}

/// Records whose key is not a number of the type, as the parser put it in
/// `cause`.
fn records_failure(cause: String, layout: &Layout, source: &str) -> Failure {
    let key_type = layout.key_type;
    let help = match layout.field {
        None => format!(
            "each line must hold one {key_type} number; choose the type with --type, sort by \
             a field of each line with --key, or read raw arrays with --format binary"
        ),
        Some(field) => format!(
            "field {field} of each line must hold one {key_type} number; choose the type with \
             --type, the field with --key and what separates fields with --delimiter (default: \
             runs of blanks)"
        ),
    };
    Failure::new(format!("cannot read the numbers in {source}"))
        .cause(cause)
        .help(format!("nothing was written; {help}"))
}

/// Input that is not numbers of the type, as the parser put it in `cause`.
fn parse_failure(cause: String, key_type: KeyType, format: Format, source: &str) -> Failure {
    let help = match format {
        Format::Text => format!(
            "each line must hold one {key_type} number; choose the type with --type, \
             or read raw arrays with --format binary"
        ),
        Format::Binary => format!("binary input is an array of little-endian {key_type} keys"),
    };
    Failure::new(format!("cannot read the numbers in {source}"))
        .cause(cause)
        .help(help)
}

/// `text` or `binary`.
fn encoding_name(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Text => "text",
        Encoding::Binary => "binary",
    }
}

/// Reads all input, at most `limit` bytes; returns it with a phrase naming
/// where it came from. An input of more is refused with `too_large(the
/// phrase, its length)`, the length of a file, `None` for a stream.
pub fn read_input(
    path: Option<&Path>,
    limit: u64,
    too_large: impl FnOnce(&str, Option<u64>) -> Failure,
) -> Result<(Vec<u8>, String), Failure> {
    read_input_on(path, limit, 1, too_large)
}

/// [`read_input`], a large file read with up to `threads` threads.
pub fn read_input_on(
    path: Option<&Path>,
    limit: u64,
    threads: usize,
    too_large: impl FnOnce(&str, Option<u64>) -> Failure,
) -> Result<(Vec<u8>, String), Failure> {
    let file = path.is_some_and(|p| p.as_os_str() != "-");
    let (read, source, failed) = match path {
        Some(p) if p.as_os_str() != "-" => {
            let source = format!("`{}`", p.display());
            let failed = Failure::new(format!("cannot read the input file {source}"))
                .help("check the path given with --input");
            (
                wildhost::budget::read_file_on(p, limit, threads),
                source,
                failed,
            )
        }
        _ => {
            let mut bytes = Vec::new();
            let read = budget::read_all(std::io::stdin().lock(), &mut bytes, limit).map(|()| bytes);
            let source = "standard input".to_string();
            (read, source, Failure::new("cannot read standard input"))
        }
    };
    match read {
        Ok(bytes) => Ok((bytes, source)),
        Err(ReadError::TooLarge { at_least, .. }) => {
            Err(too_large(&source, file.then_some(at_least)))
        }
        Err(ReadError::Io(e)) => Err(failed.cause(e)),
    }
}
