//! `wildhost pack DIR`: builds a plugin project for this machine and writes
//! one archive of the binary and the source, named after the module and
//! the binary's platform tag, as a wheel is.

use super::project::Project;
use crate::Outcome;
use crate::report::Failure;
use clap::Args;
use std::path::PathBuf;
use wildhost::install::archive::{self, Metadata};
use wildhost::install::tag::Tag;
use wildhost::loading::manifest::Sha256;

#[derive(Debug, Args)]
pub struct PackArgs {
    /// The plugin project directory (Cargo or Make).
    dir: PathBuf,
    /// Features to build with, comma-separated; recorded in the archive.
    #[arg(long, value_name = "A,B", value_delimiter = ',', value_parser = super::parse_feature)]
    features: Vec<String>,
    /// Write the archive here instead of ./<module>-<tag>.tar.gz.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn run(args: &PackArgs) -> Outcome {
    let project = Project::detect(&args.dir)?;
    let built = project.build(&args.features)?;
    let cannot = || Failure::new(format!("cannot pack `{}`", args.dir.display()));
    let report = wildhost::loading::preflight::preflight(&built).map_err(|refusal| {
        cannot()
            .cause(format!(
                "the plugin it built, `{}`, is refused at {}: {}",
                built.display(),
                refusal.stage,
                refusal.cause
            ))
            .help(refusal.help)
    })?;
    let tag = Tag::of_plugin(&report);
    let sha256 = Sha256::of_file(&built).map_err(|e| cannot().cause(e))?;
    let sources = project
        .sources()
        .map_err(|e| cannot().cause(format!("cannot list its source files: {e}")))?;
    let metadata = Metadata::new(
        &report.module,
        tag.to_string(),
        sha256,
        project.kind.name(),
        args.features.clone(),
    );
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}-{tag}.tar.gz", report.module)));
    archive::pack(&out, &metadata, &built, &project.dir, &sources)
        .map_err(|e| cannot().cause(format!("cannot write `{}`: {e}", out.display())))?;
    let text = format!(
        "packed {} for {tag} into {}\n  binary:  {} (sha256 {sha256})\n  source:  {} files\n",
        report.module,
        out.display(),
        metadata.file,
        sources.len()
    );
    crate::output::Destination::Stdout.write(text.as_bytes())
}
