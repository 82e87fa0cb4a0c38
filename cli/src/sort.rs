//! `wildhost sort`: read numbers, sort them through a backend, write them.
//!
//! Everything is read and checked before anything is written: a bad line,
//! a failing backend or an unwritable destination leaves the output file
//! exactly as it was.

use crate::output::Destination;
use crate::report::{self, Failure};
use crate::{Cli, Outcome};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use std::time::Duration;
use wildhost::budget::{self, ReadError};
use wildhost::codec::{Encoding, TextKey, Writer};
use wildhost::mem;
use wildhost::running::integrity::{Fingerprint, OutputCheck, Tally};
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
    /// text: one number per line; binary: the raw little-endian array.
    #[arg(long, short, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Skip checking the backend's result (sorted, same keys as the input)
    /// before writing it.
    #[arg(long)]
    no_verify: bool,
    /// Run the backend in a worker process: if it crashes or hangs, wildhost
    /// says so and writes nothing.
    #[arg(long)]
    isolate: bool,
    /// With --isolate: stop a backend that runs longer than this (the
    /// worker reads the input first and gets the same limit for that).
    #[arg(long, value_name = "SECONDS", default_value_t = 600.0, requires = "isolate",
          value_parser = parse_timeout)]
    timeout: f64,
    /// Memory the sort may take, in bytes or with a K, M, G or T suffix
    /// (powers of 1024). An input whose sort could need more is refused
    /// before it is read. Default: the memory available (MemAvailable, or
    /// less under a cgroup's memory limit).
    #[arg(long, value_name = "SIZE", value_parser = parse_memory)]
    memory: Option<u64>,
}

/// `4096`, `512K`, `1.5G`, `2GiB`: bytes, or with a suffix of powers of
/// 1024 (as GNU sort's `--buffer-size` reads them).
fn parse_memory(text: &str) -> Result<u64, String> {
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
    /// `--memory`, else the memory available; no limit if that is unknown.
    pub fn new(given: Option<u64>) -> MemoryLimit {
        match given {
            Some(bytes) => MemoryLimit { bytes, given: true },
            None => MemoryLimit {
                bytes: wildhost::budget::available_memory().unwrap_or(u64::MAX),
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
                "the limit is {bytes}, the memory available (MemAvailable, or the room under \
                 wildhost's cgroup memory limit)"
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
    let registry = cli.registry();
    let backend = choose_backend(&registry, args.backend.as_deref(), key_type)?;
    let destination = Destination::from_arg(args.output.as_deref());
    let encoding = match args.format {
        Format::Text => Encoding::Text,
        Format::Binary => Encoding::Binary,
    };

    // The one check of memory: the most input whose sort fits the limit,
    // refused from a file's length before it is read, or once a stream
    // holds more.
    let limit = MemoryLimit::new(args.memory);
    let scratch = backend.scratch_percent();
    let largest = budget::largest_input(limit.bytes, key_type, scratch, encoding);
    let (input, source) = read_input(args.input.as_deref(), largest, |source, length| {
        let why = format!(
            "a key for every {}, backend `{}`'s scratch of {scratch}% and the output",
            match encoding {
                Encoding::Text => "2 bytes of text".to_string(),
                Encoding::Binary => format!("{} bytes", key_type.size()),
            },
            backend.name(),
        );
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
            .help(
                "nothing was written; give --memory a larger size if the machine has that much \
                 free, or sort the input in parts",
            )
    })?;
    // Room for the whole output now, so that writing it cannot run out.
    let room = budget::output_bound(input.len() as u64, key_type, encoding);
    let mut out =
        mem::try_with_capacity(usize::try_from(room).unwrap_or(usize::MAX)).map_err(|e| {
            Failure::new(format!("cannot make room for the output of {source}"))
                .cause(e)
                .help("nothing was written; free some memory, or sort the input in parts")
        })?;
    let sorting_failed = |cause: String| {
        Failure::new(format!("sorting with backend `{}` failed", backend.name()))
            .cause(cause)
            .cause(format!(
                "the backend comes from `{}`",
                backend.module().path.display()
            ))
            .help("nothing was written; try another backend (`wildhost list` shows them)")
    };
    let check = if args.isolate {
        macro_rules! isolated {
            ($($variant:ident => $t:ty),*) => {
                match key_type {
                    $(KeyType::$variant => sort_isolated::<$t>(
                        backend, args, input, encoding, &mut out,
                    ),)*
                }
            };
        }
        isolated!(U32 => u32, U64 => u64, I32 => i32, I64 => i64, F32 => f32, F64 => f64).map_err(
            |e| match e {
                PreparedSortError::Prepare(cause) => {
                    parse_failure(cause, key_type, args.format, &source)
                }
                PreparedSortError::PrepareStopped(failure) => {
                    Failure::new(format!("cannot read the numbers in {source}"))
                        .cause(format!("the worker process reading them: {failure}"))
                        .help(
                            "the backend never ran; for a large input give --timeout more \
                             seconds, which reading the input gets as well as the sort",
                        )
                }
                PreparedSortError::Sort(e) => sorting_failed(e.to_string()),
            },
        )?
    } else {
        // The input's fingerprint is taken while parsing and the result
        // checked while encoding, each block while it is in the cache.
        let mut tally = (!args.no_verify).then(Tally::default);
        let mut keys = parse_input(&input, key_type, args.format, &source, tally.as_mut())?;
        drop(input);
        backend
            .sort_keys(&mut keys)
            .map_err(|e| sorting_failed(e.to_string()))?;
        let mut check = tally.map(|tally| (tally.finish(), OutputCheck::default()));
        let checking = check.as_mut().map(|(_, c)| c);
        match encoding {
            Encoding::Text => codec::write_text(&keys, &mut out, checking),
            Encoding::Binary => codec::write_binary(&keys, &mut out, checking),
        }
        check
    };
    if let Some((fingerprint, check)) = check {
        check.finish(fingerprint).map_err(|wrong| {
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
        })?;
    }
    destination.write(&out)
}

/// `--isolate`: the worker parses the input itself (the host never holds
/// the keys) and sends their fingerprint before the backend runs; the
/// sorted keys are encoded (and checked) as they are copied out of the
/// worker, a cache-sized block at a time. The fingerprint and the check of
/// the result, unless `--no-verify`.
fn sort_isolated<T: Key + TextKey>(
    backend: &Backend,
    args: &SortArgs,
    input: Vec<u8>,
    encoding: Encoding,
    out: &mut Vec<u8>,
) -> Result<Option<(Fingerprint, OutputCheck)>, PreparedSortError> {
    let verify = !args.no_verify;
    // Room for the output before the number of keys is known: the keys'
    // bytes in binary; in text an integer never takes more than its line
    // of input did, a float may (`1` is written `1.0`): the output grows
    // past the room if need be, and pages never written are never faulted
    // in.
    let room = match encoding {
        Encoding::Binary => input.len(),
        Encoding::Text if matches!(T::TYPE, KeyType::F32 | KeyType::F64) => {
            input.len().saturating_mul(2).saturating_add(64)
        }
        Encoding::Text => input.len().saturating_add(1),
    };
    // The worker parses the input and drops it; the host drops its own
    // view of it as soon as the worker has started.
    let prepare = move || {
        let mut tally = verify.then(Tally::default);
        let parsed = match args.format {
            Format::Text => codec::parse_text(&input, T::TYPE, tally.as_mut()),
            Format::Binary => codec::parse_binary(&input, T::TYPE, tally.as_mut()),
        };
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
    let fingerprint = if encoding == Encoding::Binary && cfg!(target_endian = "little") {
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
        let mut writer = Writer::with_room(encoding, room, check.as_mut());
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
    let backend = registry.backend(name).ok_or_else(|| {
        let refused = registry.refused().len();
        let failure = Failure::new(format!("no backend named `{name}`"))
            .cause(format!("backends found: {}", names()));
        let failure = if refused > 0 {
            failure.cause(format!(
                "{refused} plugin file(s) were refused; `wildhost list` says why"
            ))
        } else {
            failure
        };
        failure.help(no_backend_help(registry))
    })?;
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
        "no plugins were found: build them (`cargo build --release --workspace`) or name a \
         directory with --plugin-dir; `wildhost list` shows where it looked"
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
    let file = path.is_some_and(|p| p.as_os_str() != "-");
    let (read, source, failed) = match path {
        Some(p) if p.as_os_str() != "-" => {
            let source = format!("`{}`", p.display());
            let failed = Failure::new(format!("cannot read the input file {source}"))
                .help("check the path given with --input");
            (wildhost::budget::read_file(p, limit), source, failed)
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
