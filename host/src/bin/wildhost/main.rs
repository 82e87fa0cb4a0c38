//! The `wildhost` command: sort numbers through a plugin backend, list the
//! plugins, inspect one plugin file, measure backends.

mod bench;
mod inspect;
mod list;
mod output;
mod report;
mod sort;

use clap::{Parser, Subcommand};
use report::Failure;
use std::path::PathBuf;
use std::process::ExitCode;
use wildhost::{Registry, SearchPath};

/// Host for native sort backends loaded from plugins.
#[derive(Debug, Parser)]
#[command(name = "wildhost", version, about, long_about = None)]
struct Cli {
    /// Search this plugin directory first (repeatable; before
    /// WILDHOST_PLUGIN_PATH, the user plugin directory and the directory of
    /// the executable).
    #[arg(long = "plugin-dir", value_name = "DIR", global = true)]
    plugin_dirs: Vec<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sort numbers through a backend.
    Sort(sort::SortArgs),
    /// List every backend and plugin file found, and the files refused.
    List(list::ListArgs),
    /// Tell everything the host can learn about one plugin file.
    Inspect(inspect::InspectArgs),
    /// Measure backends against each other (and std and memcpy) on
    /// generated inputs or your own file.
    Bench(bench::BenchArgs),
}

impl Cli {
    fn registry(&self) -> Registry {
        Registry::discover(&self.search_path())
    }

    fn search_path(&self) -> SearchPath {
        SearchPath::standard(self.plugin_dirs.iter().cloned())
    }
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error: {info}");
        eprintln!(
            "  help: this is a bug in wildhost; please report it with the command that triggered it"
        );
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with status 0; usage errors to
            // stderr with status 2.
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    let result = std::panic::catch_unwind(|| match &cli.command {
        Command::Sort(args) => sort::run(&cli, args),
        Command::List(args) => list::run(&cli, args),
        Command::Inspect(args) => inspect::run(args),
        Command::Bench(args) => bench::run(&cli, args),
    });
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(failure)) => {
            eprint!("{failure}");
            ExitCode::from(failure.code())
        }
        Err(_) => ExitCode::from(report::EXIT_FAILURE),
    }
}

/// The result of a command.
type Outcome = Result<(), Failure>;
