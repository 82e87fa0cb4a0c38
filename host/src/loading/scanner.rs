//! The plugin scanner: a plugin's entry point and `init` run first in a
//! child process, so that one which crashes, aborts, exits or hangs takes
//! down the child, not the host. What the scanner learns is cached per file
//! (path, size, modification time, inode, device) and host ABI, so the next
//! start loads known-good plugins without scanning, and a plugin that
//! crashed is never loaded in-process until its file changes.
//!
//! The child is the host's own executable run as
//! `<scanner command> NONCE PATH...`; it calls [`serve`], which loads each
//! file and reports on stdout in lines that start with the nonce, so
//! anything a plugin prints itself cannot be mistaken for a report (the
//! lines are [`ScanEvent`]s).

use super::file_id::FileId;
use super::plugin_file::PluginFile;
use super::trust;
use crate::error::{Refusal, Stage, escape_controls, printable};
use crate::process::{describe_exit, die_with_parent};
use crate::wire::ScanEvent;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// What scanning one file concluded: it loads, or why it is refused.
pub type Verdict = crate::wire::ScanVerdict;

/// How to run the scanner, and where to keep what it learned.
#[derive(Clone, Debug)]
pub struct Scanner {
    /// The scanner command: a program and its first arguments; the nonce
    /// and the paths are appended.
    pub command: Vec<OsString>,
    /// The cache file; `None` scans every time.
    pub cache: Option<PathBuf>,
    /// How long one file may take to load in the scanner.
    pub timeout: Duration,
}

impl Scanner {
    /// The default time limit per file.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// Scanning with `command`, caching in the user's cache directory.
    pub fn new(command: Vec<OsString>) -> Scanner {
        Scanner {
            command,
            cache: default_cache_file(),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

/// `$XDG_CACHE_HOME/wildhost/scan-cache.json`, or under `~/.cache`.
pub fn default_cache_file() -> Option<PathBuf> {
    Some(super::discover::xdg_dir("XDG_CACHE_HOME", ".cache")?.join("wildhost/scan-cache.json"))
}

/// The host a verdict holds for: another ABI or another wildhost scans anew.
fn host_key() -> String {
    format!(
        "wildhost {} abi {}.{}",
        env!("CARGO_PKG_VERSION"),
        wildhost_abi::ABI_MAJOR,
        wildhost_abi::ABI_MINOR
    )
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    host: String,
    entries: HashMap<PathBuf, CacheEntry>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct CacheEntry {
    file: FileId,
    verdict: Verdict,
}

fn read_cache(path: &Path) -> CacheFile {
    let mut cache = cache_bytes(path)
        .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
        .unwrap_or_default();
    if cache.host == host_key() {
        // What the cache says is printed as it is: a cause written into it
        // by hand must not reach the terminal as escape sequences.
        for entry in cache.entries.values_mut() {
            if let Err(refusal) = &mut entry.verdict {
                refusal.cause = escape_controls(&refusal.cause);
                refusal.help = escape_controls(&refusal.help);
            }
        }
        cache
    } else {
        CacheFile {
            host: host_key(),
            ..CacheFile::default()
        }
    }
}

/// The cache file's bytes, if it is a regular file of a sane size that only
/// its owner (the user or root) can write: a named pipe in its place would
/// make every start wait for a writer, a huge file fill memory, and a cache
/// someone else can write could let them choose which plugins load. Asked
/// before opening and of the open file (opened without waiting), so that
/// nothing swapped in between is waited on, and read no further than the
/// limit.
fn cache_bytes(path: &Path) -> Option<Vec<u8>> {
    let sane = |meta: &std::fs::Metadata| {
        meta.is_file()
            && meta.len() <= MAX_CACHE_BYTES
            && trust::check_one(meta, "the scan cache").is_ok()
    };
    if !sane(&std::fs::metadata(path).ok()?) {
        return None;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    if !sane(&file.metadata().ok()?) {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(MAX_CACHE_BYTES + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    (bytes.len() as u64 <= MAX_CACHE_BYTES).then_some(bytes)
}

/// A scan cache larger than this is ignored (and replaced): a few hundred
/// bytes per plugin file make it kilobytes.
const MAX_CACHE_BYTES: u64 = 64 << 20;

/// Writes the cache atomically; a cache that cannot be written only costs a
/// scan next time.
fn write_cache(path: &Path, cache: &CacheFile) {
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let Ok(bytes) = serde_json::to_vec(cache) else {
        return;
    };
    let Ok(mut file) = tempfile::NamedTempFile::new_in(dir) else {
        return;
    };
    if file.write_all(&bytes).is_ok() {
        let _ = file.persist(path);
    }
}

impl Scanner {
    /// The verdict on each of `files` (opened by their paths with links
    /// resolved, and passed preflight): from the cache, or from the scanner.
    /// A verdict holds for the open file only: the scanner child opens the
    /// path again and says which file it loaded, and a verdict on another
    /// file (one put in the path's place meanwhile) is no verdict.
    pub fn verdicts(&self, files: &[&PluginFile]) -> Vec<Verdict> {
        let scanner = self;
        let mut cache = scanner.cache.as_deref().map(read_cache).unwrap_or_default();
        cache.host = host_key();
        let mut results: Vec<Option<Verdict>> = files
            .iter()
            .map(|file| {
                let entry = cache.entries.get(file.path())?;
                (&entry.file == file.id()).then(|| entry.verdict.clone())
            })
            .collect();
        let todo: Vec<usize> = (0..files.len()).filter(|&i| results[i].is_none()).collect();
        if todo.is_empty() {
            return results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect();
        }
        let scanned = run_scanner(
            scanner,
            &todo
                .iter()
                .map(|&i| files[i].path().to_path_buf())
                .collect::<Vec<_>>(),
        );
        for (&i, (seen, Scanned { verdict, lasting })) in todo.iter().zip(scanned) {
            let file = files[i];
            let verdict = match seen {
                Some(seen) if seen == file.id().inode() => {
                    // Only what the plugin itself did is kept: a scanner
                    // that could not start, was killed from outside or ran
                    // out of time on a busy machine says nothing lasting
                    // about the file.
                    if lasting {
                        cache.entries.insert(
                            file.path().to_path_buf(),
                            CacheEntry {
                                file: file.id().clone(),
                                verdict: verdict.clone(),
                            },
                        );
                    }
                    verdict
                }
                // The scanner could not open it, or did not get that far.
                None if verdict.is_err() => verdict,
                _ => Err(Refusal::new(
                    Stage::Scan,
                    "the file was replaced while the plugin scanner loaded it: \
                     the scanner's verdict is on another file",
                    "run the command again; nothing of the file was loaded into wildhost",
                )),
            };
            results[i] = Some(verdict);
        }
        if let Some(path) = &scanner.cache {
            cache
                .entries
                .retain(|path, entry| FileId::of(path).as_ref() == Some(&entry.file));
            write_cache(path, &cache);
        }
        results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect()
    }
}

/// What the scanner child's stdout brought.
enum Event {
    /// A report line.
    Report(ScanEvent),
    /// stdout closed: the child is gone or going.
    End,
}

/// A verdict, and whether it came from the plugin itself (its report, or a
/// crash of its own) and so holds until the file changes.
struct Scanned {
    verdict: Verdict,
    lasting: bool,
}

impl Scanned {
    fn lasting(verdict: Verdict) -> Option<Scanned> {
        Some(Scanned {
            verdict,
            lasting: true,
        })
    }

    fn for_now(refusal: Refusal) -> Option<Scanned> {
        Some(Scanned {
            verdict: Err(refusal),
            lasting: false,
        })
    }
}

/// Each file's verdict, with the device and inode of the file the scanner
/// said it opened.
fn run_scanner(scanner: &Scanner, files: &[PathBuf]) -> Vec<(Option<(u64, u64)>, Scanned)> {
    let mut results: Vec<Option<Scanned>> =
        std::iter::repeat_with(|| None).take(files.len()).collect();
    let mut seen: Vec<Option<(u64, u64)>> = vec![None; files.len()];
    let mut start = 0;
    while start < files.len() {
        let before = results.iter().filter(|r| r.is_some()).count();
        scan_from(scanner, files, start, &mut results, &mut seen);
        let after = results.iter().filter(|r| r.is_some()).count();
        if after == before {
            // The scanner made no progress at all: it cannot run.
            for slot in results.iter_mut().filter(|r| r.is_none()) {
                *slot = Scanned::for_now(Refusal::new(
                    Stage::Scan,
                    "the plugin scanner could not run",
                    "check that the wildhost executable can be run again as a child process",
                ));
            }
        }
        start = results
            .iter()
            .position(Option::is_none)
            .unwrap_or(files.len());
    }
    seen.into_iter()
        .zip(results)
        .map(|(seen, r)| {
            let scanned = r.unwrap_or(Scanned {
                verdict: Ok(()),
                lasting: false,
            });
            (seen, scanned)
        })
        .collect()
}

/// Runs one scanner child on `files[start..]`, filling `results` (and
/// `seen`, the file the child opened for each) until the child finishes,
/// crashes or hangs.
fn scan_from(
    scanner: &Scanner,
    files: &[PathBuf],
    start: usize,
    results: &mut [Option<Scanned>],
    seen: &mut [Option<(u64, u64)>],
) {
    let Some((program, args)) = scanner.command.split_first() else {
        return;
    };
    let nonce = format!("wildhost-scan-{:x}", std::process::id() as u64 ^ nanos());
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    let mut command = Command::new(program);
    // SAFETY: the hook runs in the child between fork and exec and makes
    // only async-signal-safe calls (`die_with_parent`).
    unsafe {
        command.pre_exec(move || {
            die_with_parent(parent);
            Ok(())
        });
    }
    let mut child = match command
        .args(args)
        .arg(&nonce)
        .args(&files[start..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(_) => return,
    };
    let (events, stderr_tail) = watch(&mut child, nonce);
    let mut current: Option<usize> = None;
    loop {
        match events.recv_timeout(scanner.timeout) {
            Ok(Event::Report(ScanEvent::Begin(i, file))) if start + i < files.len() => {
                current = Some(start + i);
                seen[start + i] = file;
            }
            Ok(Event::Report(ScanEvent::Verdict(i, verdict))) if start + i < files.len() => {
                results[start + i] = Scanned::lasting(verdict);
                current = None;
            }
            Ok(Event::Report(_)) => {}
            Ok(Event::End) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait().ok();
                if let Some(i) = current {
                    let printed = stderr_tail
                        .recv_timeout(Duration::from_secs(1))
                        .unwrap_or_default();
                    results[i] = crashed(status, &printed);
                }
                return;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                if let Some(i) = current.or_else(|| results.iter().position(Option::is_none)) {
                    results[i] = Scanned::for_now(Refusal::new(
                        Stage::Scan,
                        format!(
                            "loading it did not finish within {} s (its entry point or init hangs)",
                            scanner.timeout.as_secs_f64()
                        ),
                        "it is scanned again at the next start, in case the machine was busy; \
                         if it hangs every time, fix or remove it",
                    ));
                }
                return;
            }
        }
    }
}

fn nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Reads the child's stdout into events and keeps the end of its stderr.
fn watch(child: &mut Child, nonce: String) -> (mpsc::Receiver<Event>, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Lines that hold no report are what a plugin printed.
                if let Ok(event) = ScanEvent::decode(&line, &nonce)
                    && tx.send(Event::Report(event)).is_err()
                {
                    return;
                }
            }
            let _ = tx.send(Event::End);
        });
    }
    let (tail_tx, tail_rx) = mpsc::channel();
    if let Some(mut stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut all = Vec::new();
            let _ = stderr.read_to_end(&mut all);
            let start = all.len().saturating_sub(300);
            let _ = tail_tx.send(printable(&all[start..]));
        });
    }
    (rx, tail_rx)
}

/// The verdict on a scanner that ended while loading a file: its own
/// crash, unless it was killed from outside (SIGKILL: the out-of-memory
/// killer, or a user), which says nothing lasting about the file.
fn crashed(status: Option<ExitStatus>, printed: &str) -> Option<Scanned> {
    let how = status.map_or_else(|| "ended abnormally".to_string(), describe_exit);
    let mut cause = format!("loading it crashed the plugin scanner: it {how}");
    if !printed.is_empty() {
        cause.push_str(&format!("; it printed: {printed}"));
    }
    if status.is_none_or(|s| s.signal() == Some(libc::SIGKILL)) {
        Scanned::for_now(Refusal::new(
            Stage::Scan,
            cause,
            "it was killed from outside (the out-of-memory killer?); it is scanned again at \
             the next start",
        ))
    } else {
        Scanned::lasting(Err(Refusal::new(
            Stage::Scan,
            cause,
            "its entry point or init crashed; it is not loaded until the file changes: fix or remove it",
        )))
    }
}

/// The scanner child's side: loads each of `paths` in this process and
/// reports on `out`, one `begin` line before and one `verdict` line after
/// each, every line starting with `nonce`.
pub fn serve(nonce: &str, paths: &[PathBuf], out: &mut impl Write) -> std::io::Result<()> {
    // Each report starts on a line of its own, whatever a plugin printed
    // before, and is flushed at once: the host must know which file a
    // crash interrupted.
    let mut report = |event: ScanEvent| {
        let line = event.encode(nonce).map_err(std::io::Error::other)?;
        out.write_all(line.as_bytes())?;
        out.flush()
    };
    for (i, path) in paths.iter().enumerate() {
        // Opened once, and named to the host before any of its code runs,
        // so that a crash is blamed on the file that caused it.
        let file = PluginFile::open(path);
        let identity = file.as_ref().ok().map(|f| f.id().inode());
        report(ScanEvent::Begin(i, identity))?;
        let verdict: Verdict = file.and_then(super::load::probe);
        report(ScanEvent::Verdict(i, verdict))?;
    }
    Ok(())
}
