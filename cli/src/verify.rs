//! `wildhost verify PATH`: the checks the host trusts, run on one plugin
//! file, one line per check; exit status 1 on any failure.

use crate::output::Destination;
use crate::report::Failure;
use crate::{Cli, Outcome};
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;
use wildhost::Availability;
use wildhost::conformance::{self, Check, Options, Status};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The plugin file.
    path: PathBuf,
    /// Print the checks as JSON.
    #[arg(long)]
    json: bool,
    /// Base seed of the generated inputs (each input's own seed is derived
    /// from it); a failure prints the command that reproduces it.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The longest input, in keys.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    max_len: u64,
    /// Time limit of one sort, in seconds. Default: 5, and 10 more per
    /// million keys of the sort. After a sort crashes or runs out of time,
    /// the other checks of its key type are skipped.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    timeout: Option<u64>,
    /// Print only the failing checks (the header and the counts stay).
    #[arg(long)]
    failures: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    path: &'a std::path::Path,
    module: Option<ModuleInfo>,
    /// The base seed (`--seed`), from which each input's seed is derived.
    seed: u64,
    max_len: u64,
    passed: usize,
    failed: usize,
    skipped: usize,
    checks: &'a [Check],
}

/// The module verified, as `--json` reports it.
#[derive(Serialize)]
struct ModuleInfo {
    name: String,
    version: String,
    abi: String,
    backends: usize,
}

impl ModuleInfo {
    fn line(&self) -> String {
        format!(
            "module {} {}, ABI {}, {} backend(s)",
            self.name, self.version, self.abi, self.backends
        )
    }
}

/// `text` as one shell word.
fn shell_word(text: &str) -> String {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./-+=:,@".contains(&b))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// The command that runs the same checks on the same inputs.
fn reproduce(cli: &Cli, args: &VerifyArgs) -> String {
    let unsafe_permissions = if cli.allow_unsafe_permissions {
        " --allow-unsafe-permissions"
    } else {
        ""
    };
    let mut command = format!(
        "wildhost{unsafe_permissions} verify {} --seed {} --max-len {}",
        shell_word(&args.path.to_string_lossy()),
        args.seed,
        args.max_len
    );
    if let Some(timeout) = args.timeout {
        command += &format!(" --timeout {timeout}");
    }
    command + " --failures"
}

pub fn run(cli: &Cli, args: &VerifyArgs) -> Outcome {
    let path = args.path.as_path();
    if !path.exists() {
        return Err(Failure::new(format!("cannot verify `{}`", path.display()))
            .cause("no such file")
            .help("give the path of a plugin file, e.g. target/release/libwildsort_radix.so"));
    }
    let options = Options {
        seed: args.seed,
        max_len: args.max_len as usize,
        timeout: args.timeout.map(Duration::from_secs),
        scratch_len: None,
    };
    let scanner = cli.scanner();
    let mut checks = Vec::new();
    let mut module_info = None;
    match wildhost::load_file_with(path, cli.allow_unsafe_permissions, scanner.as_ref()) {
        Err(refusal) => checks.push(Check {
            backend: "-".into(),
            key_type: None,
            check: "load".into(),
            len: 0,
            seed: 0,
            status: Status::Fail,
            detail: format!(
                "refused at {}: {} (help: {})",
                refusal.stage, refusal.cause, refusal.help
            ),
        }),
        Ok((module, backends)) => {
            module_info = Some(ModuleInfo {
                name: module.name.clone(),
                version: module.version.clone(),
                abi: format!("{}.{}", module.abi.0, module.abi.1),
                backends: backends.len(),
            });
            checks.push(pass("-", "load"));
            if let Availability::Unavailable(reason) = &module.availability {
                checks.push(Check {
                    backend: "-".into(),
                    key_type: None,
                    check: "available".into(),
                    len: 0,
                    seed: 0,
                    status: Status::Fail,
                    detail: format!(
                        "unavailable on this machine ({reason}): nothing can be verified here"
                    ),
                });
            } else {
                for backend in &backends {
                    checks.extend(conformance::verify_backend(backend, &options));
                }
            }
        }
    }

    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    let (passed, failed, skipped) = (
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Skip),
    );
    let shown: Vec<Check> = if args.failures {
        checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .cloned()
            .collect()
    } else {
        checks.clone()
    };
    let text = if args.json {
        let mut json = serde_json::to_string_pretty(&Report {
            path,
            module: module_info,
            seed: args.seed,
            max_len: args.max_len,
            passed,
            failed,
            skipped,
            checks: &shown,
        })
        .map_err(|e| Failure::new("cannot encode the report as JSON").cause(e))?;
        json.push('\n');
        json
    } else {
        let mut header = format!("verify {}: ", path.display());
        if let Some(module) = &module_info {
            header += &module.line();
            header += ", ";
        }
        header += &format!("seed {}\n", args.seed);
        header + &lines(&shown, passed, failed, skipped)
    };
    Destination::Stdout.write(text.as_bytes())?;
    if failed > 0 {
        let first = checks.iter().find(|c| c.status == Status::Fail);
        let mut failure = Failure::new(format!(
            "`{}` failed {failed} of {} checks",
            path.display(),
            passed + failed
        ));
        if let Some(c) = first {
            failure = failure.cause(format!(
                "first: {} {} {} with {} keys: {}",
                c.backend,
                c.key_type.unwrap_or("-"),
                c.check,
                c.len,
                c.detail
            ));
        }
        return Err(failure.help(format!(
            "reproduce it with `{}`; fix the plugin before anyone loads it",
            reproduce(cli, args)
        )));
    }
    Ok(())
}

fn pass(backend: &str, check: &str) -> Check {
    Check {
        backend: backend.into(),
        key_type: None,
        check: check.into(),
        len: 0,
        seed: 0,
        status: Status::Pass,
        detail: String::new(),
    }
}

/// One line per check, then the counts.
fn lines(checks: &[Check], passed: usize, failed: usize, skipped: usize) -> String {
    let mut out = String::new();
    let width = checks.iter().map(|c| c.backend.len()).max().unwrap_or(1);
    let check_width = checks
        .iter()
        .map(|c| c.check.len())
        .max()
        .unwrap_or(0)
        .max(16);
    for c in checks {
        let status = match c.status {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        };
        out += &format!(
            "  {status}  {:<width$}  {:<3}  {:<check_width$}",
            c.backend,
            c.key_type.unwrap_or("-"),
            c.check
        );
        if c.len > 0 || c.check.ends_with("empty") {
            out += &format!("  n={:<8} input-seed={}", c.len, c.seed);
        }
        if !c.detail.is_empty() {
            out += &format!("  {}", c.detail);
        }
        out = out.trim_end().to_string();
        out.push('\n');
    }
    out += &format!("result: {passed} passed, {failed} failed, {skipped} skipped\n");
    out
}
