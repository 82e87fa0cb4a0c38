//! `wildhost list`: every backend, module, refused and shadowed file, and
//! the search path, as a table or as JSON. Each backend and module says
//! where it comes from: built into wildhost, or the file it was loaded from.

use crate::report::Failure;
use crate::{Cli, Outcome};
use clap::Args;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use wildhost::loading::builtin::BUILT_IN_PATH;
use wildhost::loading::manifest::{self, Manifest, SourceKind};
use wildhost::registry::listing::{BackendRow, SearchRow};
use wildhost::registry::{RefusedFile, ShadowedBackend, ShadowedFile};
use wildhost::{Module, SearchPath};

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Listing<'a> {
    backends: Vec<BackendRow>,
    modules: Vec<&'a Module>,
    refused: &'a [RefusedFile],
    shadowed: &'a [ShadowedFile],
    shadowed_backends: &'a [ShadowedBackend],
    search_path: Vec<SearchRow>,
    /// What `wildhost install` put into the directories of the search
    /// path. Left out when nothing was, so the JSON stays as it was.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    installed: Vec<InstalledRow>,
}

#[derive(Serialize)]
struct InstalledRow {
    module: String,
    file: PathBuf,
    sha256: String,
    source: SourceKind,
    from: PathBuf,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    features: Vec<String>,
    /// `intact`, `modified` (its bytes differ from the recorded digest) or
    /// `missing`.
    status: &'static str,
}

pub fn run(cli: &Cli, args: &ListArgs) -> Outcome {
    let registry = cli.registry();
    let search_path = cli.search_path();
    let listing = Listing {
        installed: installed(&search_path),
        backends: BackendRow::all(&registry),
        modules: registry.modules().iter().map(|m| &**m).collect(),
        refused: registry.refused(),
        shadowed: registry.shadowed(),
        shadowed_backends: registry.shadowed_backends(),
        search_path: search_path.dirs.iter().map(SearchRow::of).collect(),
    };
    let text = if args.json {
        serde_json::to_string_pretty(&listing)
            .map_err(|e| Failure::new("cannot encode JSON").cause(e))?
            + "\n"
    } else {
        render(&listing)
    };
    crate::output::Destination::Stdout.write(text.as_bytes())
}

/// The entries of the install manifests of the search path's directories,
/// each directory once, with whether the file is still what was installed.
fn installed(path: &SearchPath) -> Vec<InstalledRow> {
    let mut rows = Vec::new();
    let mut seen = Vec::new();
    for dir in &path.dirs {
        let Ok(real) = dir.path.canonicalize() else {
            continue;
        };
        if seen.contains(&real) || !Manifest::path_in(&real).exists() {
            continue;
        }
        seen.push(real.clone());
        // A manifest that cannot be read is among the refused files.
        let Ok(manifest) = Manifest::read(&real) else {
            continue;
        };
        for entry in manifest.plugins {
            let file = dir.path.join(&entry.file);
            let status = if !file.exists() {
                "missing"
            } else if manifest::check(&entry, &file).is_ok() {
                "intact"
            } else {
                "modified"
            };
            rows.push(InstalledRow {
                module: entry.module,
                sha256: entry.sha256.to_string(),
                source: entry.source,
                from: entry.from,
                features: entry.features,
                file,
                status,
            });
        }
    }
    rows
}

/// Where a module comes from, as the table shows it.
fn from(module: &Module) -> String {
    match module.file() {
        Some(file) => file.display().to_string(),
        None => "built-in".to_string(),
    }
}

fn flags_of(b: &BackendRow) -> String {
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
    flags.push(match b.scratch_percent {
        0 => "in place".to_string(),
        p => format!("scratch {p}%"),
    });
    flags.join(", ")
}

fn or_dash(items: &[impl AsRef<str>]) -> String {
    if items.is_empty() {
        "-".to_string()
    } else {
        items
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn render(l: &Listing<'_>) -> String {
    let mut out = String::new();
    if l.backends.is_empty() {
        out.push_str("no backends found\n");
    } else {
        let rows: Vec<Vec<String>> = l
            .backends
            .iter()
            .map(|b| {
                vec![
                    b.name.clone(),
                    b.module.clone(),
                    or_dash(&b.key_types),
                    flags_of(b),
                    or_dash(&b.default_for),
                    match &b.unavailable_reason {
                        None => "available".to_string(),
                        Some(reason) => format!("unavailable: {reason}"),
                    },
                    b.doc.clone(),
                ]
            })
            .collect();
        table(
            &mut out,
            &[
                "BACKEND",
                "MODULE",
                "KEY TYPES",
                "FLAGS",
                "DEFAULT FOR",
                "STATUS",
                "DESCRIPTION",
            ],
            &rows,
        );
    }

    if !l.modules.is_empty() {
        out.push('\n');
        let rows: Vec<Vec<String>> = l
            .modules
            .iter()
            .map(|m| {
                vec![
                    m.name.clone(),
                    m.version.clone(),
                    format!("{}.{}", m.abi.0, m.abi.1),
                    or_dash(&m.features),
                    from(m),
                ]
            })
            .collect();
        table(
            &mut out,
            &["MODULE", "VERSION", "ABI", "FEATURES", "FROM"],
            &rows,
        );
    }

    if !l.refused.is_empty() {
        let _ = writeln!(out, "\nrefused ({}):", l.refused.len());
        for r in l.refused {
            let _ = writeln!(out, "  {}", r.path.display());
            let _ = writeln!(out, "    cause: {} ({})", r.refusal.cause, r.refusal.stage);
            let _ = writeln!(out, "    help: {}", r.refusal.help);
        }
    }
    if !l.shadowed.is_empty() || !l.shadowed_backends.is_empty() {
        let _ = writeln!(
            out,
            "\nshadowed ({}):",
            l.shadowed.len() + l.shadowed_backends.len()
        );
        for s in l.shadowed {
            if s.by == Path::new(BUILT_IN_PATH) {
                let _ = writeln!(
                    out,
                    "  {}: module `{}` is built into wildhost",
                    s.path.display(),
                    s.module,
                );
            } else {
                let _ = writeln!(
                    out,
                    "  {}: module `{}` is already loaded from {}",
                    s.path.display(),
                    s.module,
                    s.by.display()
                );
            }
        }
        for s in l.shadowed_backends {
            let _ = writeln!(
                out,
                "  backend `{}` of module `{}`: the name is taken by module `{}` (reach it as `{}.{}`)",
                s.name, s.module, s.by, s.module, s.name
            );
        }
    }
    if !l.installed.is_empty() {
        let _ = writeln!(
            out,
            "\ninstalled by `wildhost install` ({}):",
            l.installed.len()
        );
        for i in &l.installed {
            let status = match i.status {
                "intact" => String::new(),
                "modified" => {
                    "  MODIFIED since installed: refused unless --allow-modified".to_string()
                }
                other => format!("  {}", other.to_uppercase()),
            };
            let _ = writeln!(
                out,
                "  {}  {}  from {} {}  sha256 {}{status}",
                i.module,
                i.file.display(),
                i.source.describe(),
                i.from.display(),
                &i.sha256[..16],
            );
        }
    }
    out.push_str("\nsearch path (first match wins):\n");
    for d in &l.search_path {
        let missing = if d.exists { "" } else { " (missing)" };
        let _ = writeln!(out, "  {}  [{}]{missing}", d.path.display(), d.origin);
    }
    out
}

/// Left-aligned columns, two spaces apart; the last column is not padded.
fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            if i + 1 == header.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<width$}  ", width = widths[i]);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
}
