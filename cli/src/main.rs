//! The `wildhost` command, over the `wildhost` library: one module per
//! subcommand (`sort`, `list`, `inspect`, `verify`, `bench`, `new`;
//! `install` holds `install`, `uninstall` and `pack`), with
//! `output` for writing results safely, `report` for printing failures and
//! `names` for the backend and module names a user types (and their typos);
//! `builtin` names the shipped backends built into the binary.
//! This file parses the flags, builds the registry the subcommands share
//! (the built-ins first, then the plugin files of the search path), and
//! serves `__scan`, the plugin scanner's child side.

mod bench;
mod builtin;
mod inspect;
mod install;
mod list;
mod names;
mod new;
mod output;
mod report;
mod sort;
mod verify;

use clap::{Parser, Subcommand};
use report::Failure;
use std::path::PathBuf;
use std::process::ExitCode;
use wildhost::loading::scanner::Scanner;
use wildhost::{Registry, SearchPath};

/// Large buffers in mappings of their own, on whole huge pages (see
/// `wildhost::mem`).
#[global_allocator]
static ALLOCATOR: wildhost::mem::HugeAllocator = wildhost::mem::HugeAllocator;

/// Host for native sort backends loaded from plugins.
#[derive(Debug, Parser)]
#[command(name = "wildhost", version, about, long_about = None)]
struct Cli {
    /// Search this plugin directory first (repeatable; before
    /// WILDHOST_PLUGIN_PATH, the user plugin directory and the directory of
    /// the executable; the backends built into wildhost come before all).
    #[arg(long = "plugin-dir", value_name = "DIR", global = true)]
    plugin_dirs: Vec<PathBuf>,
    /// Load plugin files and directories that other users or your group can
    /// write. Anyone who can write them can run code as you: use only when
    /// you trust every one of them.
    #[arg(long, global = true)]
    allow_unsafe_permissions: bool,
    /// Load plugins that `wildhost install` installed and whose bytes
    /// changed since (their SHA-256 differs from the install manifest's).
    #[arg(long, global = true)]
    allow_modified: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sort lines by a number in each (or an array of keys) through a backend.
    Sort(sort::SortArgs),
    /// List every backend and plugin file found, and the files refused.
    List(list::ListArgs),
    /// Tell everything the host can learn about one plugin file, or about a
    /// module `list` shows (built in or from a file).
    Inspect(inspect::InspectArgs),
    /// Measure backends against each other (and std and memcpy) on
    /// generated inputs or your own file.
    Bench(bench::BenchArgs),
    /// Write a new plugin project (Rust or C) that builds and loads as it is.
    New(new::NewArgs),
    /// Check every backend of a plugin file for correctness, memory safety
    /// and honest declarations, one line per check.
    Verify(verify::VerifyArgs),
    /// Check a plugin file, or build a plugin project or archive, and copy
    /// it into the user plugin directory.
    Install(install::InstallArgs),
    /// Remove a module that `wildhost install` installed.
    Uninstall(install::uninstall::UninstallArgs),
    /// Build a plugin project and write one archive of the binary (tagged
    /// with the machine and ABI it runs on) and its source.
    Pack(install::pack::PackArgs),
    /// The plugin scanner child: loads each file and reports on stdout.
    #[command(name = "__scan", hide = true)]
    Scan(ScanArgs),
}

#[derive(Debug, clap::Args)]
struct ScanArgs {
    nonce: String,
    paths: Vec<PathBuf>,
}

impl Cli {
    /// The shipped backends built into the binary, then every plugin file
    /// on the search path (a file of a built-in's module name is shadowed).
    fn registry(&self) -> Registry {
        let scanner = self.scanner();
        Registry::discover_with(&builtin::modules(), &self.search_path(), scanner.as_ref())
    }

    /// Plugin code runs first in a scanner child: this executable again.
    fn scanner(&self) -> Option<Scanner> {
        let exe = std::env::current_exe().ok()?;
        let mut scanner = Scanner::new(vec![exe.into(), "__scan".into()]);
        if let Some(Some(limit)) = scan_timeout() {
            scanner.timeout = limit;
        }
        Some(scanner)
    }

    fn search_path(&self) -> SearchPath {
        let mut path = SearchPath::standard(self.plugin_dirs.iter().cloned());
        path.allow_unsafe_permissions = self.allow_unsafe_permissions;
        path.allow_modified = self.allow_modified;
        path
    }
}

/// `WILDHOST_SCAN_TIMEOUT_MS`: `None` if unset, `Some(None)` if it is not a
/// whole number of milliseconds above 0 (the default limit stays).
fn scan_timeout() -> Option<Option<std::time::Duration>> {
    let value = std::env::var_os("WILDHOST_SCAN_TIMEOUT_MS")?;
    Some(
        value
            .to_str()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&ms| ms > 0)
            .map(std::time::Duration::from_millis),
    )
}

fn main() -> ExitCode {
    // Huge pages only on request: see `wildhost::mem::use_huge_pages`.
    if std::env::var_os("WILDHOST_HUGE_PAGES").is_some_and(|v| v == "1") {
        wildhost::mem::use_huge_pages(true);
    }
    // Past the file size limit (`ulimit -f`) a write then fails with
    // `EFBIG`, which is reported like any write error (and the temporary
    // output file removed), instead of SIGXFSZ killing wildhost mid-write.
    // SAFETY: setting a signal's disposition to ignored has no
    // preconditions; no other thread exists yet.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    std::panic::set_hook(Box::new(|info| {
        report::to_stderr(format!(
            "error: internal error: {info}\n  help: this is a bug in wildhost; please report it \
             with the command that triggered it\n"
        ));
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with status 0; usage errors to
            // stderr with status 2. Help that cannot be written is a failure.
            let code = e.exit_code().clamp(0, 255) as u8;
            if e.print().is_err() && code == 0 {
                return ExitCode::from(report::EXIT_FAILURE);
            }
            return ExitCode::from(code);
        }
    };
    // A crash or an `exit` inside a plugin's sort names the backend instead
    // of ending wildhost silently; without it only that report is lost. Not
    // in the scanner child, whose death and stderr its parent reports.
    if !matches!(cli.command, Command::Scan(_))
        && let Err(e) = wildhost::crash::install()
    {
        eprintln!("warning: cannot install the crash report: {e}");
    }
    if cli.allow_unsafe_permissions {
        report::to_stderr(
            "warning: --allow-unsafe-permissions: loading plugins that others can write; \
             anyone who can write them can run code as you\n",
        );
    }
    // Not in the scanner child, whose stderr is quoted in the refusals of
    // plugins that crash there.
    if !matches!(cli.command, Command::Scan(_))
        && let Some(None) = scan_timeout()
    {
        let value = std::env::var_os("WILDHOST_SCAN_TIMEOUT_MS").unwrap_or_default();
        report::to_stderr(format!(
            "warning: WILDHOST_SCAN_TIMEOUT_MS=`{}` is not a whole number of milliseconds \
             above 0: the scanner keeps its limit of {} ms\n",
            value.to_string_lossy(),
            Scanner::DEFAULT_TIMEOUT.as_millis()
        ));
    }
    let result = std::panic::catch_unwind(|| match &cli.command {
        Command::Sort(args) => sort::run(&cli, args),
        Command::List(args) => list::run(&cli, args),
        Command::Inspect(args) => inspect::run(&cli, args),
        Command::Bench(args) => bench::run(&cli, args),
        Command::New(args) => new::run(args),
        Command::Verify(args) => verify::run(&cli, args),
        Command::Install(args) => install::run(&cli, args),
        Command::Uninstall(args) => install::uninstall::run(args),
        Command::Pack(args) => install::pack::run(args),
        Command::Scan(args) => wildhost::loading::scanner::serve(
            &args.nonce,
            &args.paths,
            &mut std::io::stdout().lock(),
        )
        .map_err(|e| Failure::new("the plugin scanner cannot report").cause(e)),
    });
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(failure)) => {
            report::to_stderr(&failure);
            ExitCode::from(failure.code())
        }
        Err(_) => ExitCode::from(report::EXIT_FAILURE),
    }
}

/// The result of a command.
type Outcome = Result<(), Failure>;
