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
    /// Seed of the generated inputs; a failure names the seed that shows it.
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
}

#[derive(Serialize)]
struct Report<'a> {
    path: &'a std::path::Path,
    module: Option<String>,
    passed: usize,
    failed: usize,
    skipped: usize,
    checks: &'a [Check],
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
    let mut module_line = None;
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
            module_line = Some(format!(
                "module {} {}, ABI {}.{}, {} backend(s)",
                module.name,
                module.version,
                module.abi.0,
                module.abi.1,
                backends.len()
            ));
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
    let text = if args.json {
        let mut json = serde_json::to_string_pretty(&Report {
            path,
            module: module_line.clone(),
            passed,
            failed,
            skipped,
            checks: &checks,
        })
        .map_err(|e| Failure::new("cannot encode the report as JSON").cause(e))?;
        json.push('\n');
        json
    } else {
        lines(
            path,
            module_line.as_deref(),
            &checks,
            passed,
            failed,
            skipped,
        )
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
                "first: {} {} {} with {} keys (seed {}): {}",
                c.backend,
                c.key_type.unwrap_or("-"),
                c.check,
                c.len,
                c.seed,
                c.detail
            ));
        }
        return Err(failure.help(
            "rerun with the same --seed to reproduce; fix the plugin before anyone loads it",
        ));
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

fn lines(
    path: &std::path::Path,
    module: Option<&str>,
    checks: &[Check],
    passed: usize,
    failed: usize,
    skipped: usize,
) -> String {
    let mut out = format!("verify {}", path.display());
    if let Some(module) = module {
        out += &format!(": {module}");
    }
    out.push('\n');
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
            out += &format!("  n={:<8} seed={}", c.len, c.seed);
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
