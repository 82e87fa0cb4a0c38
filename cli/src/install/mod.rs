//! `wildhost install FILE | DIR | ARCHIVE`: check a plugin file (or build
//! one from a project or an archive's source) and copy it atomically into
//! the user plugin directory, recording its SHA-256 in the install
//! manifest. `uninstall` removes what it installed, `pack` writes the
//! archives it reads; `project` builds plugin projects for both.
//!
//! What is checked is what is installed: the file is first copied into a
//! private directory inside the plugin directory, and that copy is
//! preflighted, scanned, loaded and verified, then renamed into place.

pub mod pack;
mod project;
pub mod uninstall;

use crate::report::{self, Failure};
use crate::{Cli, Outcome};
use clap::Args;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use wildhost::conformance::{self, Options, Status};
use wildhost::install::archive::{self, Metadata};
use wildhost::install::tag::Tag;
use wildhost::install::{self as placing, CommitError};
use wildhost::loading::discover::user_plugin_dir;
use wildhost::loading::manifest::{self, Entry, Manifest, Sha256, SourceKind};
use wildhost::loading::preflight::module_name_of;
use wildhost::loading::trust;
use wildhost::{Availability, KeyType};

/// The longest input of the quick verify `install` runs: the full run
/// (`wildhost verify`, 1e6 keys) takes tens of seconds unoptimised.
const QUICK_MAX_LEN: usize = 20_000;
/// The scratch-memory check of the quick verify still sorts a long
/// input: memory a sort allocates shows only past the check's slack (1 MiB
/// and an eighth of the input), and a copy of 512 Ki keys of 4 bytes is
/// past it.
const QUICK_SCRATCH_LEN: usize = 1 << 19;

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// A plugin file (lib<module>.so), a plugin project directory (Cargo or
    /// Make, as `wildhost new` writes), or an archive `wildhost pack` wrote.
    source: PathBuf,
    /// Replace an installed module of the same name.
    #[arg(long)]
    force: bool,
    /// Skip the quick `verify` of the plugin's backends (not recommended).
    #[arg(long)]
    no_verify: bool,
    /// Refuse the file (or archive) unless its SHA-256 is this, e.g.
    /// sha256:9f86d0….
    #[arg(long, value_name = "sha256:HEX", value_parser = parse_hash)]
    hash: Option<Sha256>,
    /// Features to build a project or an archive's source with,
    /// comma-separated (Cargo features; FEATURES= for make).
    #[arg(long, value_name = "A,B", value_delimiter = ',', value_parser = parse_feature)]
    features: Vec<String>,
    /// Build an archive's source even when its binary fits this machine.
    #[arg(long)]
    from_source: bool,
}

fn parse_hash(text: &str) -> Result<Sha256, String> {
    Sha256::parse(text)
}

fn parse_feature(text: &str) -> Result<String, String> {
    let valid = !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not a feature name: 1 to 63 letters, digits, `_` and `-`"
        ))
    }
}

/// A plugin file ready to install, and where it came from.
struct Candidate<'a> {
    /// The file.
    file: &'a Path,
    /// What the manifest records it came from.
    kind: SourceKind,
    /// The source as the user named it.
    from: &'a Path,
    /// The features it was built with.
    features: Vec<String>,
}

pub fn run(cli: &Cli, args: &InstallArgs) -> Outcome {
    let source = args.source.as_path();
    let cannot = || Failure::new(format!("cannot install `{}`", source.display()));
    let meta = std::fs::metadata(source).map_err(|e| {
        cannot()
            .cause(e)
            .help("give a plugin file, a plugin project directory or an archive")
    })?;
    if meta.is_dir() {
        if args.hash.is_some() {
            return Err(
                Failure::usage("--hash applies to a file or an archive, not a project").help(
                    "pack the project (`wildhost pack DIR`) and install the archive by its digest",
                ),
            );
        }
        let project = project::Project::detect(source)?;
        let built = project.build(&args.features)?;
        return install_file(
            cli,
            args,
            &Candidate {
                file: &built,
                kind: SourceKind::Project,
                from: source,
                features: args.features.clone(),
            },
        );
    }
    if let Some(expected) = args.hash {
        check_hash(source, expected)?;
    }
    if is_archive(source) {
        return install_archive(cli, args);
    }
    if !args.features.is_empty() || args.from_source {
        return Err(Failure::usage(
            "--features and --from-source apply to a project or an archive, not a plugin file",
        )
        .help("install the project directory, or an archive `wildhost pack` wrote"));
    }
    install_file(
        cli,
        args,
        &Candidate {
            file: source,
            kind: SourceKind::File,
            from: source,
            features: Vec::new(),
        },
    )
}

/// Refuses `path` unless its SHA-256 is `expected`.
fn check_hash(path: &Path, expected: Sha256) -> Result<(), Failure> {
    let cannot = || Failure::new(format!("cannot install `{}`", path.display()));
    let digest = Sha256::of_file(path).map_err(|e| cannot().cause(e))?;
    if digest != expected {
        return Err(cannot()
            .cause(format!(
                "its SHA-256 is {digest}, --hash requires {expected}"
            ))
            .help(
                "the file is not the one the digest was taken of: get it again from its \
                 source; nothing was installed",
            ));
    }
    Ok(())
}

/// An archive by its name or its first bytes (gzip).
fn is_archive(path: &Path) -> bool {
    let name = path.to_string_lossy();
    if [".tar.gz", ".tgz", ".tar"]
        .iter()
        .any(|s| name.ends_with(s))
    {
        return true;
    }
    let mut magic = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|()| magic == [0x1f, 0x8b])
}

fn install_archive(cli: &Cli, args: &InstallArgs) -> Outcome {
    let source = args.source.as_path();
    let cannot = || Failure::new(format!("cannot install `{}`", source.display()));
    let unpacked = tempfile::Builder::new()
        .prefix("wildhost-archive-")
        .tempdir()
        .map_err(|e| cannot().cause(format!("cannot make a directory to unpack it: {e}")))?;
    let metadata = archive::unpack(source, unpacked.path()).map_err(|e| {
        cannot().cause(e).help(
            "it is not an archive `wildhost pack` wrote, or it was damaged or tampered with; \
             nothing was installed",
        )
    })?;
    let features = if args.features.is_empty() {
        metadata.features.clone()
    } else {
        args.features.clone()
    };
    let binary = unpacked.path().join(&metadata.file);
    match binary_fits(&metadata, &binary) {
        Ok(()) if !args.from_source && features == metadata.features => {
            let digest = Sha256::of_file(&binary).map_err(|e| cannot().cause(e))?;
            if digest != metadata.sha256 {
                return Err(cannot()
                    .cause(format!(
                        "its binary's SHA-256 is {digest}, its metadata says {}",
                        metadata.sha256
                    ))
                    .help("the archive was damaged or tampered with; nothing was installed"));
            }
            report::to_stderr(format!(
                "note: the archive's binary fits this machine ({}): installing it\n",
                metadata.tag
            ));
            install_file(
                cli,
                args,
                &Candidate {
                    file: &binary,
                    kind: SourceKind::Archive,
                    from: source,
                    features,
                },
            )
        }
        fits => {
            let why = match fits {
                _ if args.from_source => "--from-source".to_string(),
                Err(_) if !binary.is_file() => {
                    format!("the archive holds no binary `{}`", metadata.file)
                }
                Err(why) => format!("the archive's binary cannot run here: {why}"),
                Ok(()) => format!(
                    "the archive's binary was built with features [{}], not [{}]",
                    metadata.features.join(","),
                    features.join(",")
                ),
            };
            report::to_stderr(format!("note: {why}: building from its source\n"));
            let project = project::Project::detect(&unpacked.path().join(archive::SOURCE_DIR))?;
            let built = project.build(&features)?;
            install_file(
                cli,
                args,
                &Candidate {
                    file: &built,
                    kind: SourceKind::ArchiveSource,
                    from: source,
                    features,
                },
            )
        }
    }
}

/// Whether the archive's binary is there and its tag fits this machine.
fn binary_fits(metadata: &Metadata, binary: &Path) -> Result<(), String> {
    if !binary.is_file() {
        return Err(format!("no `{}`", metadata.file));
    }
    Tag::parse(&metadata.tag)?.fits_host()
}

/// The user plugin directory, created if missing and checked as discovery
/// would.
fn plugin_dir() -> Result<PathBuf, Failure> {
    let dir = user_plugin_dir().ok_or_else(|| {
        Failure::new("there is no user plugin directory")
            .cause("neither XDG_DATA_HOME nor HOME is set to an absolute path")
            .help("set HOME (the directory is $HOME/.local/share/wildhost/plugins)")
    })?;
    let cannot = || {
        Failure::new(format!(
            "cannot use the plugin directory `{}`",
            dir.display()
        ))
    };
    placing::create_plugin_dir(&dir).map_err(|e| match not_a_directory(&dir) {
        Some(file) => cannot()
            .cause(format!("`{}` is not a directory", file.display()))
            .help(format!(
                "move `{}` out of the way, or set XDG_DATA_HOME to choose another place",
                file.display()
            )),
        None => cannot().cause(e),
    })?;
    let real = dir.canonicalize().map_err(|e| cannot().cause(e))?;
    trust::check_dir(&real).map_err(|why| cannot().cause(why).help(trust::HELP))?;
    Ok(dir)
}

/// The first of `dir` and the directories above it that exists and is not
/// a directory: what stops `dir` from being created.
fn not_a_directory(dir: &Path) -> Option<&Path> {
    dir.ancestors()
        .filter(|p| !p.as_os_str().is_empty())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .find(|p| std::fs::metadata(p).is_ok_and(|m| !m.is_dir()))
}

fn install_file(cli: &Cli, args: &InstallArgs, candidate: &Candidate<'_>) -> Outcome {
    let source = args.source.as_path();
    let cannot = || Failure::new(format!("cannot install `{}`", source.display()));
    let Some(file_name) = candidate
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
    else {
        return Err(cannot().cause("it names no file"));
    };
    let Some(module) = module_name_of(Path::new(&file_name)).map(str::to_string) else {
        return Err(cannot()
            .cause(format!(
                "the file name `{file_name}` does not end in `{}`",
                std::env::consts::DLL_SUFFIX
            ))
            .help("a plugin file is named lib<module>.so, e.g. libwildsort_mine.so"));
    };
    if crate::builtin::modules().iter().any(|b| b.name() == module) {
        return Err(cannot()
            .cause(format!(
                "module `{module}` is built into wildhost: a plugin file of that name is \
                 shadowed by the built-in and never loaded"
            ))
            .help(
                "the built-in is already there (`wildhost list`); to install your own build, \
                 give its module another name (the file lib<module>.so and the module's name \
                 in its definition)",
            ));
    }
    let dir = plugin_dir()?;
    let target = dir.join(&file_name);
    if !args.force && target.exists() {
        return Err(already_installed(&module, &dir, &target));
    }
    let staged = placing::stage(&dir, candidate.file, &file_name)
        .map_err(|e| cannot().cause(format!("cannot copy it into `{}`: {e}", dir.display())))?;
    if let (Some(expected), SourceKind::File) = (args.hash, candidate.kind)
        && staged.sha256() != expected
    {
        // The file changed between the first look and the copy.
        return Err(cannot().cause(format!(
            "its SHA-256 is {}, --hash requires {expected}",
            staged.sha256()
        )));
    }

    // Preflight, permissions, the scanner child, then this process: the
    // same steps as any plugin on the search path.
    let scanner = cli.scanner();
    let (module_info, backends) = wildhost::load_file_with(staged.path(), false, scanner.as_ref())
        .map_err(|refusal| {
            cannot()
                .cause(format!("refused at {}: {}", refusal.stage, refusal.cause))
                .help(format!("{}; nothing was installed", refusal.help))
        })?;
    let verified = if args.no_verify {
        report::to_stderr(format!(
            "warning: --no-verify: `{module}` is installed without checking its backends; \
             run `wildhost verify` on it before you trust it\n"
        ));
        None
    } else {
        if let Availability::Unavailable(reason) = &module_info.availability {
            return Err(cannot()
                .cause(format!("module `{module}` is unavailable on this machine: {reason}"))
                .help("nothing can be verified here, and nothing was installed; --no-verify installs it anyway"));
        }
        Some(quick_verify(&backends, source)?)
    };

    let lock = manifest::lock(&dir)
        .map_err(|e| cannot().cause(format!("cannot lock the install manifest: {e}")))?;
    let mut manifest = Manifest::read(&dir).map_err(|e| {
        cannot()
            .cause(e)
            .help("fix or remove the manifest; nothing was installed")
    })?;
    let sha256 = staged.sha256();
    let installed = staged.commit(&dir, args.force).map_err(|e| match e {
        CommitError::Exists(path) => already_installed(&module, &dir, &path),
        CommitError::Io(e) => cannot().cause(e),
    })?;
    let from = std::path::absolute(candidate.from).unwrap_or_else(|_| candidate.from.to_path_buf());
    manifest.record(Entry {
        file: file_name.clone(),
        module: module.clone(),
        sha256,
        source: candidate.kind,
        from: from.clone(),
        features: candidate.features.clone(),
    });
    if let Err(e) = manifest.write(&dir) {
        let _ = std::fs::remove_file(&installed);
        return Err(cannot()
            .cause(format!("cannot write the install manifest: {e}"))
            .help("nothing was installed"));
    }
    drop(lock);

    let mut out = format!(
        "installed {} {} (ABI {}.{}) from {} {}\n",
        module_info.name,
        module_info.version,
        module_info.abi.0,
        module_info.abi.1,
        candidate.kind.describe(),
        from.display()
    );
    let _ = writeln!(out, "  file:     {}", installed.display());
    let _ = writeln!(out, "  sha256:   {sha256}");
    if !module_info.features.is_empty() {
        let _ = writeln!(out, "  features: {}", module_info.features.join(" "));
    }
    for backend in &backends {
        let types: Vec<&str> = backend.key_types().map(KeyType::name).collect();
        let _ = writeln!(out, "  backend:  {} ({})", backend.name(), types.join(" "));
    }
    if let Some(earlier) = shadowed_by(cli, &dir, &file_name) {
        let _ = writeln!(
            out,
            "  note:     `{}` comes first on the search path and shadows it",
            earlier.display()
        );
    }
    match verified {
        Some(passed) => {
            let _ = writeln!(out, "  verify:   {passed} checks passed (a quick run)");
        }
        None => {
            let _ = writeln!(out, "  verify:   skipped (--no-verify)");
        }
    }
    crate::output::Destination::Stdout.write(out.as_bytes())
}

/// A file of the same name in a directory searched before `dir`.
fn shadowed_by(cli: &Cli, dir: &Path, file_name: &str) -> Option<PathBuf> {
    let real = dir.canonicalize().ok()?;
    cli.search_path()
        .dirs
        .iter()
        .take_while(|d| d.path.canonicalize().ok().as_ref() != Some(&real))
        .map(|d| d.path.join(file_name))
        .find(|path| path.exists())
}

fn already_installed(module: &str, dir: &Path, path: &Path) -> Failure {
    let by = match Manifest::read(dir) {
        Ok(m) => match m.entry_of_module(module) {
            Some(entry) => format!(
                " (installed from {} {})",
                entry.source.describe(),
                entry.from.display()
            ),
            None => " (not by `wildhost install`)".to_string(),
        },
        Err(_) => String::new(),
    };
    Failure::new(format!("module `{module}` is already installed"))
        .cause(format!("`{}` is there{by}", path.display()))
        .help(format!(
            "pass --force to replace it, or `wildhost uninstall {module}` first; nothing was installed"
        ))
}

/// The checks of `wildhost verify` on short inputs (and the scratch
/// memory on a long one): the number passed, or the failure.
fn quick_verify(backends: &[wildhost::Backend], source: &Path) -> Result<usize, Failure> {
    let options = Options {
        max_len: QUICK_MAX_LEN,
        scratch_len: Some(QUICK_SCRATCH_LEN),
        ..Options::default()
    };
    let checks: Vec<_> = backends
        .iter()
        .flat_map(|b| conformance::verify_backend(b, &options))
        .collect();
    let failed: Vec<_> = checks.iter().filter(|c| c.status == Status::Fail).collect();
    let passed = checks.iter().filter(|c| c.status == Status::Pass).count();
    if let Some(first) = failed.first() {
        return Err(Failure::new(format!(
            "cannot install `{}`: it failed {} of {} checks of `wildhost verify`",
            source.display(),
            failed.len(),
            passed + failed.len()
        ))
        .cause(format!(
            "first: {} {} {} with {} keys: {}",
            first.backend,
            first.key_type.unwrap_or("-"),
            first.check,
            first.len,
            first.detail
        ))
        .help(
            "nothing was installed; `wildhost verify FILE` shows every check; fix the plugin, \
             or pass --no-verify to install it anyway",
        ));
    }
    Ok(passed)
}
