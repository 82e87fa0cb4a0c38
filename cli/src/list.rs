//! `wildhost list`: every backend, module, refused and shadowed file, and
//! the search path, as a table or as JSON. Each backend and module says
//! where it comes from: built into wildhost, or the file it was loaded from.
//! The text fits the terminal's width (`table`); `--wide` and JSON do not.

mod table;

use crate::report::Failure;
use crate::{Cli, Outcome};
use clap::Args;
use serde::Serialize;
use std::path::{Path, PathBuf};
use table::{Column, paragraph};
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
    /// Print every column in full, one line per row, however wide. Without
    /// it, the tables fit the terminal when standard output is one (its
    /// width, else COLUMNS, else 100 columns): long cells continue on the
    /// lines below, and descriptions go beneath their backend. When
    /// standard output is no terminal (a pipe, a file) they fit COLUMNS if
    /// it is set, else every column is printed in full, as with --wide.
    #[arg(long)]
    wide: bool,
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
        render(&listing, table::width(args.wide))
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

/// The column the descriptions may take beside the others before they go
/// beneath their backend instead.
const NARROWEST_DESCRIPTION: usize = 30;

fn render(l: &Listing<'_>, width: Option<usize>) -> String {
    let mut out = String::new();
    if l.backends.is_empty() {
        out.push_str("no backends found\n");
    } else {
        backends(&mut out, &l.backends, width);
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
        let columns = [
            Column {
                header: "MODULE",
                wraps: false,
            },
            Column {
                header: "VERSION",
                wraps: false,
            },
            Column {
                header: "ABI",
                wraps: false,
            },
            Column {
                header: "FEATURES",
                wraps: true,
            },
            Column {
                header: "FROM",
                wraps: true,
            },
        ];
        let widths = table::widths(&columns, &rows, width);
        table::table(&mut out, &columns, &rows, &widths, |_, _| {});
    }

    if !l.refused.is_empty() {
        out.push_str(&format!("\nrefused ({}):\n", l.refused.len()));
        for r in l.refused {
            paragraph(&mut out, "  ", "    ", &r.path.display().to_string(), width);
            let cause = format!("{} ({})", r.refusal.cause, r.refusal.stage);
            paragraph(&mut out, "    cause: ", "           ", &cause, width);
            paragraph(&mut out, "    help: ", "          ", &r.refusal.help, width);
        }
    }
    if !l.shadowed.is_empty() || !l.shadowed_backends.is_empty() {
        out.push_str(&format!(
            "\nshadowed ({}):\n",
            l.shadowed.len() + l.shadowed_backends.len()
        ));
        for s in l.shadowed {
            let text = if s.by == Path::new(BUILT_IN_PATH) {
                format!(
                    "{}: module `{}` is built into wildhost",
                    s.path.display(),
                    s.module,
                )
            } else {
                format!(
                    "{}: module `{}` is already loaded from {}",
                    s.path.display(),
                    s.module,
                    s.by.display()
                )
            };
            paragraph(&mut out, "  ", "    ", &text, width);
        }
        for s in l.shadowed_backends {
            let text = format!(
                "backend `{}` of module `{}`: the name is taken by module `{}` (reach it as `{}.{}`)",
                s.name, s.module, s.by, s.module, s.name
            );
            paragraph(&mut out, "  ", "    ", &text, width);
        }
    }
    if !l.installed.is_empty() {
        out.push_str(&format!(
            "\ninstalled by `wildhost install` ({}):\n",
            l.installed.len()
        ));
        for i in &l.installed {
            let status = match i.status {
                "intact" => String::new(),
                "modified" => {
                    "  MODIFIED since installed: refused unless --allow-modified".to_string()
                }
                other => format!("  {}", other.to_uppercase()),
            };
            let text = format!(
                "{}  {}  from {} {}  sha256 {}{status}",
                i.module,
                i.file.display(),
                i.source.describe(),
                i.from.display(),
                &i.sha256[..16],
            );
            paragraph(&mut out, "  ", "    ", &text, width);
        }
    }
    out.push_str("\nsearch path (first match wins):\n");
    for d in &l.search_path {
        let missing = if d.exists { "" } else { " (missing)" };
        let text = format!("{}  [{}]{missing}", d.path.display(), d.origin);
        paragraph(&mut out, "  ", "    ", &text, width);
    }
    out
}

/// The backends' table. When it is too wide for `width`, its long cells
/// wrap; when the descriptions would have fewer than 30 columns beside the
/// others, each goes on the lines beneath its backend, under the module.
fn backends(out: &mut String, backends: &[BackendRow], width: Option<usize>) {
    let rows: Vec<Vec<String>> = backends
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
    let columns = [
        Column {
            header: "BACKEND",
            wraps: false,
        },
        Column {
            header: "MODULE",
            wraps: false,
        },
        Column {
            header: "KEY TYPES",
            wraps: true,
        },
        Column {
            header: "FLAGS",
            wraps: true,
        },
        Column {
            header: "DEFAULT FOR",
            wraps: true,
        },
        Column {
            header: "STATUS",
            wraps: true,
        },
        Column {
            header: "DESCRIPTION",
            wraps: true,
        },
    ];
    let (described, _) = columns.split_at(6);
    let others = table::widths(described, &rows, None);
    let beside = width.is_none_or(|width| {
        others.iter().map(|w| w + 2).sum::<usize>() + NARROWEST_DESCRIPTION <= width
    });
    if beside {
        let widths = table::widths(&columns, &rows, width);
        table::table(out, &columns, &rows, &widths, |_, _| {});
        return;
    }
    let short: Vec<Vec<String>> = rows.iter().map(|r| r[..6].to_vec()).collect();
    let widths = table::widths(described, &short, width);
    let indent = " ".repeat(widths[0] + 2);
    table::table(out, described, &short, &widths, |row, out| {
        let text = row.map_or("DESCRIPTION", |row| rows[row][6].as_str());
        paragraph(out, &indent, &indent, text, width);
    });
}
