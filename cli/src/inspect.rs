//! `wildhost inspect PATH|NAME`: everything the host can tell about one
//! plugin file, or about a module `wildhost list` shows, by its module or
//! backend name (a built-in module has no file: it is described from what
//! it registered). A file that preflight refuses is never opened, so
//! inspecting a suspicious file runs none of its code. A file that
//! `wildhost install` put into its directory also shows what the install
//! manifest recorded of it, and whether its bytes are still those.

use crate::report::Failure;
use crate::{Cli, Outcome};
use clap::Args;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use wildhost::loading::builtin::BUILT_IN_PATH;
use wildhost::loading::manifest::{self, Manifest, Sha256, SourceKind};
use wildhost::loading::preflight::{self, PreflightReport};
use wildhost::{
    Availability, Backend, BuiltinModule, KeyType, LayoutCheck, Module, PayloadType, Refusal,
};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The plugin file, or the name of a module or backend that
    /// `wildhost list` shows (e.g. `radix`, built into wildhost).
    #[arg(value_name = "PATH|NAME")]
    path: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Inspection<'a> {
    /// The file; `<built-in>` for a built-in module.
    path: &'a Path,
    /// `file` or `built-in`.
    origin: &'static str,
    /// For a file of a built-in module's name: the commands never load it.
    #[serde(skip_serializing_if = "Option::is_none")]
    shadowed_by: Option<&'static str>,
    /// What the install manifest of the file's directory says of it; left
    /// out for a file `wildhost install` did not put there.
    #[serde(skip_serializing_if = "Option::is_none")]
    installed: Option<Installed>,
    status: &'static str,
    refusal: Option<Refusal>,
    preflight: Option<PreflightReport>,
    module: Option<std::sync::Arc<Module>>,
    backends: Vec<BackendInfo>,
}

/// A file `wildhost install` put into its directory, as the manifest
/// there recorded it, and whether it still has those bytes.
#[derive(Serialize)]
struct Installed {
    /// The install manifest.
    manifest: PathBuf,
    /// What it was made from: a file, a project, an archive's binary or
    /// an archive's source.
    source: SourceKind,
    /// Where that was.
    from: PathBuf,
    /// The features it was built with.
    features: Vec<String>,
    /// The SHA-256 recorded at install.
    sha256: String,
    /// `intact` (the file has the recorded bytes) or `modified`.
    status: &'static str,
    /// The file's SHA-256 now, when it differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256_now: Option<String>,
    /// What to do about a modified file.
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'static str>,
}

impl Installed {
    /// The entry of `path` in the install manifest of its directory (the
    /// directory it was named in, else the one its links lead to), if
    /// `wildhost install` put it there. A manifest that cannot be read
    /// is an error: discovery refuses that directory's plugins too.
    fn of(path: &Path, real: &Path) -> Result<Option<Installed>, Failure> {
        for file in [path, real] {
            let (Some(name), Some(dir)) = (file.file_name(), file.parent()) else {
                continue;
            };
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            let manifest_path = Manifest::path_in(dir);
            if !manifest_path.is_file() {
                continue;
            }
            let manifest = Manifest::read(dir).map_err(|e| {
                Failure::new(format!("cannot inspect `{}`", path.display()))
                    .cause(e)
                    .help(
                        "the digests of the plugins installed there cannot be checked: \
                         reinstall them, or remove the manifest",
                    )
            })?;
            let Some(entry) = manifest.entry(&name.to_string_lossy()) else {
                continue;
            };
            let now = Sha256::of_file(real).map_err(|e| {
                Failure::new(format!("cannot inspect `{}`", path.display()))
                    .cause(format!("cannot read it to check its digest: {e}"))
            })?;
            let intact = now == entry.sha256;
            return Ok(Some(Installed {
                manifest: manifest_path,
                source: entry.source,
                from: entry.from.clone(),
                features: entry.features.clone(),
                sha256: entry.sha256.to_string(),
                status: if intact { "intact" } else { "modified" },
                sha256_now: (!intact).then(|| now.to_string()),
                help: (!intact).then_some(manifest::MODIFIED_HELP),
            }));
        }
        Ok(None)
    }
}

#[derive(Serialize)]
struct BackendInfo {
    name: String,
    doc: String,
    key_types: Vec<&'static str>,
    stable: bool,
    parallel: bool,
    pairs: bool,
    pair_payloads: Vec<&'static str>,
    /// ABI 1.2 `sort_with`: a thread count per call. Left out when false,
    /// so the JSON of every other backend stays as it was.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    threads: bool,
    /// ABI 1.3 `WILD_FLAG_FROM_SOURCE`: sorts from a source into a new
    /// buffer. Left out when false, as `threads`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    from_source: bool,
    scratch_percent: u32,
}

pub fn run(cli: &Cli, args: &InspectArgs) -> Outcome {
    let path = args.path.as_path();
    if !path.exists() {
        return by_name(cli, args);
    }
    // A directory named like a plugin file (`libx.so/`) is refused by
    // preflight as any file that is not regular is, as `verify` does.
    if path.is_dir() && preflight::module_name_of(path).is_none() {
        return Err(a_directory(path));
    }
    let real = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let module_name = preflight::module_name_of(path);
    let mut inspection = Inspection {
        path,
        origin: "file",
        shadowed_by: crate::builtin::modules()
            .iter()
            .map(BuiltinModule::name)
            .find(|name| Some(*name) == module_name),
        installed: Installed::of(path, &real)?,
        status: "refused",
        refusal: None,
        preflight: None,
        module: None,
        backends: Vec::new(),
    };
    match preflight::preflight(&real) {
        Err(refusal) => inspection.refusal = Some(refusal),
        Ok(report) => {
            inspection.preflight = Some(report);
            match wildhost::load_file_with(
                &real,
                cli.allow_unsafe_permissions,
                cli.scanner().as_ref(),
            ) {
                Err(refusal) => inspection.refusal = Some(refusal),
                Ok((module, backends)) => {
                    inspection.status = "loadable";
                    inspection.module = Some(module);
                    inspection.backends = backends.iter().map(BackendInfo::of).collect();
                }
            }
        }
    }
    print(&inspection, args.json)?;
    match &inspection.refusal {
        None => Ok(()),
        Some(refusal) => Err(Failure::refused(path, refusal)),
    }
}

impl BackendInfo {
    fn of(b: &Backend) -> BackendInfo {
        BackendInfo {
            name: b.name().to_string(),
            doc: b.doc().to_string(),
            key_types: b.key_types().map(KeyType::name).collect(),
            stable: b.is_stable(),
            parallel: b.is_parallel(),
            pairs: b.supports_pairs(),
            pair_payloads: b.pairs_payloads().map(PayloadType::name).collect(),
            threads: b.takes_threads(),
            from_source: b.sorts_from_source(),
            scratch_percent: b.scratch_percent(),
        }
    }
}

/// The report of `inspect DIR`: a directory is no plugin file; the help
/// names a plugin file in it, if it holds one, and how to list them all.
fn a_directory(dir: &Path) -> Failure {
    let mut plugins: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|file| file.is_file() && preflight::module_name_of(file).is_some())
                .collect()
        })
        .unwrap_or_default();
    plugins.sort();
    let failure = Failure::new(format!("cannot inspect `{}`", dir.display()))
        .cause("it is a directory; `wildhost inspect` takes one plugin file or a module name");
    let which = if plugins.len() == 1 {
        "its plugin file".to_string()
    } else {
        format!("one of its {} plugin files", plugins.len())
    };
    match plugins.first() {
        Some(first) => failure.help(format!(
            "inspect {which}: `wildhost inspect {}`, or list them all: \
             `wildhost list --plugin-dir {}`",
            first.display(),
            dir.display()
        )),
        None => failure.help(
            "it holds no plugin file: give the path of one (`lib<module>.so`), or a module name",
        ),
    }
}

/// `inspect NAME`, where NAME is no file: the module of that name, or of
/// the backend of that name, as the commands find it. A built-in module
/// is described from what it registered; a module from a file, as that
/// file is.
fn by_name(cli: &Cli, args: &InspectArgs) -> Outcome {
    let path = args.path.as_path();
    let name = path.to_str().filter(|n| !n.is_empty() && !n.contains('/'));
    let registry = name.map(|_| cli.registry());
    let module = name.zip(registry.as_ref()).and_then(|(name, registry)| {
        registry
            .modules()
            .iter()
            .find(|m| m.name == name)
            .cloned()
            .or_else(|| {
                registry
                    .backend(name)
                    .map(|b| b.module().name.clone())
                    .and_then(|module| {
                        registry
                            .modules()
                            .iter()
                            .find(|m| m.name == module)
                            .cloned()
                    })
            })
    });
    let (Some(module), Some(registry)) = (module, &registry) else {
        let suggestion = name.zip(registry.as_ref()).and_then(|(name, registry)| {
            let modules = registry.modules().iter().map(|m| m.name.as_str());
            let backends = registry.backends().iter().map(Backend::name);
            crate::names::did_you_mean(name, modules.chain(backends))
        });
        return Err(Failure::new(format!("cannot inspect `{}`", path.display()))
            .cause(match name {
                Some(_) => "no such file, and no module or backend of that name",
                None => "no such file",
            })
            .help(suggestion.unwrap_or_else(|| {
                "give the path of a plugin file (e.g. target/release/libwildsort_radix.so) \
                 or a module or backend name that `wildhost list` shows"
                    .to_string()
            })));
    };
    if let Some(file) = module.file() {
        let args = InspectArgs {
            path: file.to_path_buf(),
            json: args.json,
        };
        return run(cli, &args);
    }
    let built_in = PathBuf::from(BUILT_IN_PATH);
    let inspection = Inspection {
        path: &built_in,
        origin: "built-in",
        shadowed_by: None,
        installed: None,
        status: "loadable",
        refusal: None,
        preflight: None,
        backends: registry
            .backends()
            .iter()
            .chain(
                registry
                    .shadowed_backends()
                    .iter()
                    .filter_map(|s| registry.backend(&format!("{}.{}", s.module, s.name))),
            )
            .filter(|b| b.module().name == module.name)
            .map(BackendInfo::of)
            .collect(),
        module: Some(module),
    };
    print(&inspection, args.json)
}

fn print(inspection: &Inspection<'_>, json: bool) -> Outcome {
    let text = if json {
        serde_json::to_string_pretty(inspection)
            .map_err(|e| Failure::new("cannot encode JSON").cause(e))?
            + "\n"
    } else {
        render(inspection)
    };
    crate::output::Destination::Stdout.write(text.as_bytes())
}

fn render(i: &Inspection<'_>) -> String {
    let mut out = String::new();
    let mut field = |name: &str, value: &dyn std::fmt::Display| {
        let _ = writeln!(out, "{name:<14}{value}");
    };
    match i.module.as_deref().filter(|m| m.file().is_none()) {
        Some(m) => {
            field("module:", &m.name);
            field(
                "origin:",
                &"built into wildhost (linked into the binary, no file)",
            );
        }
        None => field("file:", &i.path.display()),
    }
    if let Some(installed) = &i.installed {
        let features = if installed.features.is_empty() {
            String::new()
        } else {
            format!(" (features: {})", installed.features.join(" "))
        };
        field(
            "installed:",
            &format!(
                "by `wildhost install`, from {} {}{features}",
                installed.source.describe(),
                installed.from.display()
            ),
        );
        match &installed.sha256_now {
            None => field(
                "sha256:",
                &format!("{} (as installed: the bytes match)", installed.sha256),
            ),
            Some(now) => {
                field(
                    "sha256:",
                    &format!("{now}, installed as {}", installed.sha256),
                );
                field(
                    "modified:",
                    &"its bytes changed since `wildhost install` put it there: \
                      wildhost refuses it in its plugin directory unless --allow-modified",
                );
                field("help:", &manifest::MODIFIED_HELP);
            }
        }
    }
    if let Some(p) = &i.preflight {
        field("size:", &format!("{} bytes", p.size));
        field(
            "format:",
            &format!(
                "{} {}-bit {} shared library",
                p.format, p.bits, p.architecture
            ),
        );
        field("module:", &format!("{} (from the file name)", p.module));
        field("entry point:", &format!("{} (exported)", p.entry_symbol));
        field(
            "ABI tag:",
            &format!(
                "{}.{} (host speaks {}.{})",
                p.abi_major,
                p.abi_minor,
                wildhost_abi::ABI_MAJOR,
                wildhost_abi::ABI_MINOR
            ),
        );
        let list = |items: &[String], sep: &str| {
            if items.is_empty() {
                "-".to_string()
            } else {
                items.join(sep)
            }
        };
        field("needs:", &list(&p.dependencies.needed, " "));
        field("library path:", &list(&p.dependencies.search_path, ":"));
    }
    if let Some(m) = &i.module {
        field(
            "layout:",
            &match m.layout {
                LayoutCheck::Matched => "abi_stable layout matches the host's",
                LayoutCheck::NotExported => {
                    "not exported (C plugin): checked by magic, version and size"
                }
                LayoutCheck::OlderMinor => {
                    "built for an older ABI minor: checked by magic, version and size"
                }
            },
        );
    }
    match &i.refusal {
        Some(r) => field("status:", &format!("refused at {}: {}", r.stage, r.cause)),
        None => field("status:", &"loadable"),
    }
    if let Some(name) = i.shadowed_by {
        field(
            "shadowed:",
            &format!(
                "module `{name}` is built into wildhost: `list` and `sort` use the \
                 built-in and never load this file from a plugin directory"
            ),
        );
    }
    if let Some(m) = &i.module {
        field("version:", &m.version);
        if !m.doc.is_empty() {
            field("doc:", &m.doc);
        }
        field(
            "features:",
            &if m.features.is_empty() {
                "-".to_string()
            } else {
                m.features.join(" ")
            },
        );
        field(
            "availability:",
            &match &m.availability {
                Availability::Available => "available".to_string(),
                Availability::Unavailable(reason) => format!("unavailable: {reason}"),
            },
        );
        let _ = writeln!(out, "backends:");
        for b in &i.backends {
            let mut flags = Vec::new();
            if b.stable {
                flags.push("stable".to_string());
            }
            if b.parallel {
                flags.push("parallel".to_string());
            }
            if b.pairs {
                flags.push("pairs".to_string());
            }
            if b.threads {
                flags.push("threads".to_string());
            }
            if b.from_source {
                flags.push("from source".to_string());
            }
            flags.push(if b.scratch_percent == 0 {
                "in place".into()
            } else {
                format!("scratch {}%", b.scratch_percent)
            });
            let _ = writeln!(
                out,
                "  {}  [{}]  {}",
                b.name,
                b.key_types.join(" "),
                flags.join(", ")
            );
            if !b.doc.is_empty() {
                let _ = writeln!(out, "      {}", b.doc);
            }
        }
    }
    out
}
