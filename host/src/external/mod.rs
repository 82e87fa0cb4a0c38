//! Sorting more than fits in memory: the input is cut into parts that
//! each sort within the memory limit, each part is sorted with the chosen
//! backend (as a whole input would be: parsed, sorted, checked) and written
//! to a temporary file as a sorted run, and the runs are merged k-way
//! while the result streams to the output (`merge.rs`).
//!
//! The temporary files have no name (`O_TMPFILE` where the file system has
//! it, else unlinked as soon as they are created): whatever ends wildhost,
//! an error, a signal or `kill -9`, the kernel frees them and leaves
//! nothing in the directory.
//!
//! Memory: a part is cut where its bytes, its records' keys and line
//! positions and the backend's scratch reach the limit (`Plan::memory`);
//! the merge holds a read buffer per run and one output buffer, within the
//! same limit.

mod merge;

use self::merge::Emit;
use crate::budget::position_size;
use crate::codec::records::{IsolatedError, Records};
use crate::codec::records::{Layout, RunForm, RunReader, write_keys_run};
use crate::codec::{self, ParseError, TextKey};
use crate::error::SortError;
use crate::registry::Backend;
use crate::running::integrity::{Wrong, fingerprint_on, verify_on};
use crate::running::isolate::IsolatedSortError;
use crate::running::worker;
use crate::with_keys;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use wildhost_abi::KeyType;

/// The least memory a sort in parts runs in: room for a part, and for the
/// merge's buffers.
pub const MIN_MEMORY: u64 = 1 << 20;

/// What the input holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Lines of text, their keys where the layout says (its header flag:
    /// the first line stays first).
    Text(Layout),
    /// A raw array of little-endian keys.
    Binary(KeyType),
}

impl Shape {
    fn key_type(&self) -> KeyType {
        match self {
            Shape::Text(layout) => layout.key_type,
            Shape::Binary(key_type) => *key_type,
        }
    }
}

/// How to sort in parts.
#[derive(Clone, Copy, Debug)]
pub struct Plan<'a> {
    /// The backend each part is sorted with.
    pub backend: &'a Backend,
    /// What the input holds.
    pub shape: Shape,
    /// The most memory the sort takes, in bytes (at least [`MIN_MEMORY`]).
    pub memory: u64,
    /// Where the runs are written.
    pub temp_dir: &'a Path,
    /// Threads to parse, sort and check each part with.
    pub threads: usize,
    /// Largest key first (equal keys still in input order).
    pub reverse: bool,
    /// Check each part's sorted result (as a whole input's is checked).
    pub verify: bool,
    /// Sort each part in a worker process stopped after this long, as
    /// `wildhost sort --isolate` sorts a whole input.
    pub isolate: Option<Duration>,
}

/// How far a sort in parts has come, for a progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Parts sorted: input bytes read so far, of `total` if known.
    Runs { read: u64, total: Option<u64> },
    /// Merging: records written so far, of `total`.
    Merge { written: u64, total: u64 },
}

/// Why a sort in parts stopped. Nothing of the output has been written
/// unless the error came from [`Runs::merge`].
#[derive(Debug, thiserror::Error)]
pub enum ExternalError {
    /// Reading the input failed.
    #[error("reading the input failed: {0}")]
    Read(io::Error),
    /// A line's key is not a number of the type.
    #[error(transparent)]
    Parse(ParseError),
    /// A line longer than a part can hold.
    #[error("line {line} is longer than {limit} bytes, the most a part of the sort can hold")]
    LineTooLong {
        /// Its number, counted from 1.
        line: u64,
        /// The part's size.
        limit: u64,
    },
    /// The backend failed on a part.
    #[error(transparent)]
    Sort(SortError),
    /// The worker sorting a part (with [`Plan::isolate`]), or the backend
    /// in it, failed.
    #[error(transparent)]
    Isolated(IsolatedSortError),
    /// The backend's result for a part failed the check.
    #[error(transparent)]
    Wrong(Wrong),
    /// Writing or reading a temporary file failed.
    #[error("the temporary directory `{}`: {error}", dir.display())]
    Temp {
        /// The directory.
        dir: PathBuf,
        /// What failed.
        error: io::Error,
        /// The bytes the runs need there (an estimate), if known.
        needed: Option<u64>,
        /// The bytes free there, if known.
        free: Option<u64>,
    },
    /// Writing the output failed.
    #[error("writing the output failed: {0}")]
    Output(io::Error),
    /// The merged result was out of order.
    #[error("{0}")]
    Merge(io::Error),
}

/// A run on disk: its file, at the start, and its form.
#[derive(Debug)]
struct Run {
    file: File,
    form: RunForm,
    /// Merge generations behind it: 0 for a sorted part.
    level: u32,
}

/// The sorted runs of an input, ready to merge.
#[derive(Debug)]
pub struct Runs {
    runs: Vec<Run>,
    /// The header line (text with a header), written first.
    header: Vec<u8>,
    /// Records in all the runs.
    records: u64,
}

impl Runs {
    /// How many runs there are.
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    /// Whether the input had no record.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// How many records the runs hold.
    pub fn records(&self) -> u64 {
        self.records
    }
}

/// Bytes per run read buffer in the merge, at most.
const READ_BUFFER: u64 = 1 << 20;
/// ... and at least.
const MIN_READ_BUFFER: u64 = 16 << 10;
/// Runs merged at once, at most: open files stay well under the usual
/// limit of 1024.
const MAX_FAN_IN: usize = 256;
/// Output is handed on in blocks of this many bytes.
const OUT_BLOCK: usize = 1 << 20;

/// Runs merged at once within `memory`: each with a read buffer of at
/// least [`MIN_READ_BUFFER`], half the memory for all of them.
fn fan_in(memory: u64) -> usize {
    ((memory / 2 / MIN_READ_BUFFER) as usize).clamp(2, MAX_FAN_IN)
}

/// A read buffer for each of `runs` runs within `memory`.
fn read_buffer(memory: u64, runs: usize) -> usize {
    (memory / 2 / runs.max(1) as u64).clamp(MIN_READ_BUFFER, READ_BUFFER) as usize
}

/// Cuts `input`, of which `first` was read already (the bytes of a stream
/// read before it was found too large), into parts that sort within the
/// plan's memory, sorts each and writes it as a run. `total`: the input's
/// size, if known, for `progress`.
pub fn make_runs(
    plan: &Plan<'_>,
    first: Vec<u8>,
    input: &mut dyn Read,
    total: Option<u64>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Runs, ExternalError> {
    let key_type = plan.shape.key_type();
    let size = key_type.size() as u64;
    let scratch = u64::from(plan.backend.scratch_percent());
    // Per record: its key and position (twice while parts parsed on
    // several threads are joined), and the backend's scratch for them.
    let pair = size + position_size(plan.memory);
    let joined = if plan.threads > 1 { 2 } else { 1 };
    let per_record = match plan.shape {
        Shape::Text(_) => pair * joined + pair * scratch / 100,
        Shape::Binary(_) => size + size * scratch / 100,
    };
    // The run's write buffer, the merge of finished runs (below) and
    // the records of the part: what remains is the part's bytes.
    let write_buffer = (plan.memory / 16).clamp(64 << 10, 1 << 20);
    let mut buffer = first;
    let capacity = {
        // The part's bytes against its records: the lines seen so far
        // say how long lines are (at least 2 bytes with the newline).
        let mut sample = buffer.len();
        if sample < 64 << 10 {
            let mut more = Vec::new();
            input
                .take((64 << 10) - sample as u64)
                .read_to_end(&mut more)
                .map_err(ExternalError::Read)?;
            buffer.extend_from_slice(&more);
            sample = buffer.len();
        }
        let lines = memchr::memchr_iter(b'\n', &buffer).count().max(1) as u64;
        let line = match plan.shape {
            Shape::Text(_) => (sample as u64 / lines).max(2),
            Shape::Binary(_) => size,
        };
        let room = plan.memory.saturating_sub(write_buffer);
        let bytes = room.saturating_mul(line) / (line + per_record);
        (bytes.max(buffer.len() as u64) as usize).max(64 << 10)
    };
    // What a stream's first read left spare would count against the
    // parts' records.
    buffer.shrink_to_fit();
    buffer
        .try_reserve_exact(capacity.saturating_sub(buffer.len()))
        .map_err(|e| ExternalError::Read(io::Error::other(e)))?;

    let mut runs = Runs {
        runs: Vec::new(),
        header: Vec::new(),
        records: 0,
    };
    let mut layout = match plan.shape {
        Shape::Text(layout) => Some(layout),
        Shape::Binary(_) => None,
    };
    let mut lines_before = 0u64;
    let mut read = 0u64;
    let mut at_end = false;
    loop {
        // Fill the buffer.
        while !at_end && buffer.len() < capacity {
            let len = buffer.len();
            buffer.resize(capacity, 0);
            match input.read(&mut buffer[len..]) {
                Ok(0) => {
                    buffer.truncate(len);
                    at_end = true;
                }
                Ok(n) => buffer.truncate(len + n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => buffer.truncate(len),
                Err(e) => return Err(ExternalError::Read(e)),
            }
        }
        // The header line leaves the input before the first part.
        if let Some(l) = layout.as_mut().filter(|l| l.header) {
            match memchr::memchr(b'\n', &buffer) {
                Some(end) => {
                    runs.header = buffer.drain(..=end).collect();
                    read += runs.header.len() as u64;
                }
                None if at_end => {
                    // A header with no line after it (or no input at all).
                    runs.header = std::mem::take(&mut buffer);
                    if !runs.header.is_empty() {
                        read += runs.header.len() as u64;
                        runs.header.push(b'\n');
                    }
                }
                None => {
                    return Err(ExternalError::LineTooLong {
                        line: 1,
                        limit: capacity as u64,
                    });
                }
            }
            l.header = false;
            lines_before = 1;
            continue;
        }
        if buffer.is_empty() {
            break;
        }
        // The part: whole lines (whole keys), as many records as fit.
        let room = plan
            .memory
            .saturating_sub(write_buffer)
            .saturating_sub(buffer.capacity() as u64);
        let most = (room / per_record.max(1)).max(1) as usize;
        let cut = match plan.shape {
            Shape::Text(_) => {
                let mut ends = memchr::memchr_iter(b'\n', &buffer);
                match ends.nth(most - 1) {
                    Some(end) => end + 1,
                    None => match memchr::memrchr(b'\n', &buffer) {
                        Some(end) if !at_end => end + 1,
                        _ if at_end => buffer.len(),
                        _ => {
                            return Err(ExternalError::LineTooLong {
                                line: lines_before + 1,
                                limit: capacity as u64,
                            });
                        }
                    },
                }
            }
            Shape::Binary(_) => {
                let whole = buffer.len() / size as usize * size as usize;
                let cut = whole.min(most * size as usize);
                if cut == 0 {
                    // Fewer bytes than a key, and the input is over.
                    return Err(ExternalError::Parse(ParseError::BinaryLength {
                        len: usize::try_from(read).unwrap_or(usize::MAX) + buffer.len(),
                        size: key_type.size(),
                        key_type,
                    }));
                }
                cut
            }
        };
        let part = &buffer[..cut];
        let (run, records) = sort_part(plan, layout.as_ref(), part, lines_before, write_buffer)?;
        lines_before += records;
        runs.records += records;
        runs.runs.push(run);
        read += cut as u64;
        buffer.drain(..cut);
        progress(Progress::Runs { read, total });
        // Too many runs to merge at once: the latest of the lowest level
        // are merged into one.
        if runs.runs.len() >= fan_in(plan.memory) {
            let room = plan.memory.saturating_sub(buffer.capacity() as u64);
            merge_tail(plan, &mut runs, room)?;
        }
    }
    drop(buffer);
    Ok(runs)
}

/// Sorts one part and writes it as a run; returns the run and how many
/// records (lines) it holds.
fn sort_part(
    plan: &Plan<'_>,
    layout: Option<&Layout>,
    part: &[u8],
    lines_before: u64,
    write_buffer: u64,
) -> Result<(Run, u64), ExternalError> {
    let mut writer = BufWriter::with_capacity(write_buffer as usize, temp_file(plan, None)?);
    let (form, records) = match layout {
        Some(layout) => {
            let mut records = Records::parse_on(part, layout, plan.threads)
                .map_err(|e| ExternalError::Parse(e.after_lines(lines_before as usize)))?;
            let print = plan.verify.then(|| records.fingerprint_on(plan.threads));
            match plan.isolate {
                Some(timeout) => {
                    records
                        .sort_isolated(plan.backend, timeout)
                        .map_err(|e| match e {
                            IsolatedError::Sort(e) => ExternalError::Isolated(e),
                            IsolatedError::Wrong(wrong) => ExternalError::Wrong(wrong),
                        })?
                }
                None => records
                    .sort_on(plan.backend, plan.threads)
                    .map_err(ExternalError::Sort)?,
            }
            if let Some(print) = print {
                records
                    .verify_on(print, plan.threads)
                    .map_err(ExternalError::Wrong)?;
            }
            let lines = memchr::memchr_iter(b'\n', part).count() as u64
                + u64::from(part.last().is_some_and(|&b| b != b'\n'));
            let form = records
                .write_run(plan.reverse, &mut writer)
                .map_err(|e| temp_error(plan, e, Some(part.len() as u64)))?;
            (form, lines)
        }
        None => {
            let mut keys = codec::parse_binary(part, plan.shape.key_type(), None)
                .map_err(ExternalError::Parse)?;
            let print = plan
                .verify
                .then(|| with_keys!(&keys, keys => fingerprint_on(keys, plan.threads)));
            match plan.isolate {
                Some(timeout) => with_keys!(&mut keys, keys => {
                    worker::sort(plan.backend, keys, timeout).map_err(ExternalError::Isolated)?
                }),
                None => plan
                    .backend
                    .sort_keys_with_threads(&mut keys, plan.threads)
                    .map_err(ExternalError::Sort)?,
            }
            with_keys!(&keys, keys => {
                if let Some(print) = print {
                    verify_on(keys, print, plan.threads).map_err(ExternalError::Wrong)?;
                }
                write_keys_run(keys, plan.reverse, &mut writer)
                    .map_err(|e| temp_error(plan, e, Some(part.len() as u64)))?;
                (RunForm::Keys, keys.len() as u64)
            })
        }
    };
    let mut file = writer
        .into_inner()
        .map_err(|e| temp_error(plan, e.into_error(), Some(part.len() as u64)))?;
    file.rewind().map_err(|e| temp_error(plan, e, None))?;
    Ok((
        Run {
            file,
            form,
            level: 0,
        },
        records,
    ))
}

/// A new temporary file in the plan's directory, with no name.
fn temp_file(plan: &Plan<'_>, needed: Option<u64>) -> Result<File, ExternalError> {
    tempfile::tempfile_in(plan.temp_dir).map_err(|e| temp_error(plan, e, needed))
}

/// An error in the temporary directory, with the space the runs need
/// (about `needed` bytes more) and the space it has.
fn temp_error(plan: &Plan<'_>, error: io::Error, needed: Option<u64>) -> ExternalError {
    ExternalError::Temp {
        dir: plan.temp_dir.to_path_buf(),
        error,
        needed,
        free: free_space(plan.temp_dir),
    }
}

/// The bytes an unprivileged user may still write in `dir`'s file system.
fn free_space(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a valid C string; `statvfs` writes the struct it
    // is given, which is read only once it returned 0.
    let stat = unsafe {
        if libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) != 0 {
            return None;
        }
        stat.assume_init()
    };
    Some((stat.f_bavail as u64).saturating_mul(stat.f_frsize as u64))
}

/// Merges the latest runs of the lowest level into one run of the next.
fn merge_tail(plan: &Plan<'_>, runs: &mut Runs, room: u64) -> Result<(), ExternalError> {
    let lowest = runs.runs.iter().map(|r| r.level).min().unwrap_or(0);
    let from = runs
        .runs
        .iter()
        .rposition(|r| r.level != lowest)
        .map_or(0, |i| i + 1);
    // At least two runs are merged: with every run of another level, the
    // last two.
    let from = from.min(runs.runs.len().saturating_sub(2));
    let tail: Vec<Run> = runs.runs.drain(from..).collect();
    let level = tail.iter().map(|r| r.level).max().unwrap_or(0) + 1;
    let form = if tail.iter().all(|r| r.form == RunForm::Keys) {
        RunForm::Keys
    } else {
        RunForm::Lines
    };
    let needed = Some(
        tail.iter()
            .filter_map(|r| r.file.metadata().ok())
            .map(|m| m.len())
            .sum(),
    );
    let mut writer = BufWriter::with_capacity(OUT_BLOCK, temp_file(plan, needed)?);
    let mut sink = |bytes: &mut Vec<u8>, _: u64| writer.write_all(bytes);
    merge_runs(plan, tail, room, Emit::Run(form), &mut sink).map_err(|e| match e {
        MergeError::Read(e) | MergeError::Sink(e) => temp_error(plan, e, needed),
        MergeError::Order(e) => ExternalError::Merge(e),
    })?;
    let mut file = writer
        .into_inner()
        .map_err(|e| temp_error(plan, e.into_error(), needed))?;
    file.rewind().map_err(|e| temp_error(plan, e, None))?;
    runs.runs.push(Run { file, form, level });
    Ok(())
}

/// Why merging stopped.
enum MergeError {
    /// Reading a run failed.
    Read(io::Error),
    /// The result was out of order.
    Order(io::Error),
    /// Where the result goes failed.
    Sink(io::Error),
}

/// Merges `runs` into `sink`, each run read through its own buffer.
fn merge_runs(
    plan: &Plan<'_>,
    runs: Vec<Run>,
    memory: u64,
    emit: Emit,
    sink: &mut dyn FnMut(&mut Vec<u8>, u64) -> io::Result<()>,
) -> Result<u64, MergeError> {
    let buffer = read_buffer(memory, runs.len());
    // Errors of the sink are told apart from those of the runs.
    let mut failed = None;
    let mut guarded = |bytes: &mut Vec<u8>, count: u64| {
        sink(bytes, count).map_err(|e| {
            let marker = io::Error::other("the output failed");
            failed = Some(e);
            marker
        })
    };
    macro_rules! go {
        ($($variant:ident => $t:ty),*) => {
            match plan.shape.key_type() {
                $(KeyType::$variant => merge_as::<$t>(runs, buffer, plan.reverse, emit, &mut guarded),)*
            }
        };
    }
    let merged = go!(U32 => u32, U64 => u64, I32 => i32, I64 => i64, F32 => f32, F64 => f64);
    match (merged, failed) {
        (_, Some(e)) => Err(MergeError::Sink(e)),
        (Ok(count), None) => Ok(count),
        (Err(e), None) if e.kind() == io::ErrorKind::InvalidData => Err(MergeError::Order(e)),
        (Err(e), None) => Err(MergeError::Read(e)),
    }
}

fn merge_as<T: TextKey>(
    runs: Vec<Run>,
    buffer: usize,
    reverse: bool,
    emit: Emit,
    sink: &mut dyn FnMut(&mut Vec<u8>, u64) -> io::Result<()>,
) -> io::Result<u64> {
    let readers = runs
        .into_iter()
        .map(|run| RunReader::<T, _>::new(BufReader::with_capacity(buffer, run.file), run.form))
        .collect();
    merge::merge(readers, reverse, emit, OUT_BLOCK, sink)
}

impl Runs {
    /// Merges the runs into `out`: the header line first, then every
    /// record, as text lines or (binary input) little-endian keys.
    pub fn merge(
        self,
        plan: &Plan<'_>,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), ExternalError> {
        out.write_all(&self.header).map_err(ExternalError::Output)?;
        let total = self.records;
        let emit = match plan.shape {
            Shape::Text(_) => Emit::Text,
            Shape::Binary(_) => Emit::Keys,
        };
        let mut sink = |bytes: &mut Vec<u8>, written: u64| {
            out.write_all(bytes)?;
            progress(Progress::Merge { written, total });
            Ok(())
        };
        let merged =
            merge_runs(plan, self.runs, plan.memory, emit, &mut sink).map_err(|e| match e {
                MergeError::Read(e) => temp_error(plan, e, None),
                MergeError::Order(e) => ExternalError::Merge(e),
                MergeError::Sink(e) => ExternalError::Output(e),
            })?;
        if merged != total {
            return Err(ExternalError::Merge(io::Error::other(format!(
                "the merge wrote {merged} records of the {total} sorted"
            ))));
        }
        out.flush().map_err(ExternalError::Output)
    }
}
