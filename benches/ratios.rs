//! Turns criterion's results into the ratio tables of docs/PERFORMANCE.md.
//!
//! `cargo run --release -p wildhost-benches --bin ratios [CRITERION_DIR]`
//! reads `<target>/criterion` (each benchmark's `new/benchmark.json` and
//! `new/estimates.json`) and prints Markdown: every time as a ratio to a
//! baseline measured in the same run, never as a bare absolute time.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// group → size label → function → median nanoseconds.
type Results = BTreeMap<String, BTreeMap<String, BTreeMap<String, f64>>>;

fn main() -> ExitCode {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(default_dir);
    let mut results = Results::new();
    if let Err(e) = collect(&dir, &mut results) {
        eprintln!(
            "error: cannot read criterion results in `{}`\n  cause: {e}",
            dir.display()
        );
        eprintln!("  help: run `cargo bench -p wildhost-benches` first");
        return ExitCode::FAILURE;
    }
    if results.is_empty() {
        eprintln!("error: no criterion results in `{}`", dir.display());
        eprintln!("  help: run `cargo bench -p wildhost-benches` first");
        return ExitCode::FAILURE;
    }
    print!("{}", render(&results));
    ExitCode::SUCCESS
}

fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("criterion");
    }
    // This binary is <target>/<profile>/ratios.
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(2).map(|t| t.join("criterion")))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

fn collect(dir: &Path, results: &mut Results) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "new") {
                if let Some((group, size, function, ns)) = read_one(&path) {
                    results
                        .entry(group)
                        .or_default()
                        .entry(size)
                        .or_default()
                        .insert(function, ns);
                }
            } else {
                collect(&path, results)?;
            }
        }
    }
    Ok(())
}

fn read_one(new: &Path) -> Option<(String, String, String, f64)> {
    let bench: Value = serde_json::from_slice(&fs::read(new.join("benchmark.json")).ok()?).ok()?;
    let est: Value = serde_json::from_slice(&fs::read(new.join("estimates.json")).ok()?).ok()?;
    Some((
        bench["group_id"].as_str()?.to_owned(),
        bench["value_str"].as_str().unwrap_or("").to_owned(),
        bench["function_id"].as_str()?.to_owned(),
        est["median"]["point_estimate"].as_f64()?,
    ))
}

/// Sizes sort by number when they are numbers.
fn size_key(label: &str) -> (u64, String) {
    (label.parse().unwrap_or(u64::MAX), label.to_owned())
}

fn render(results: &Results) -> String {
    let mut out = String::new();
    if let Some(headline) = results.get("headline") {
        out += "### Headline\n\n";
        for (label, functions) in headline {
            out += &format!("`{label}`, median of each, single thread:\n\n");
            out +=
                "| implementation | speed-up over std `sort_unstable` | time ÷ `memcpy` time |\n";
            out += "|---|---:|---:|\n";
            let std = functions.get("std");
            let memcpy = functions.get("memcpy");
            let mut rows: Vec<_> = functions.iter().collect();
            rows.sort_by(|a, b| a.1.total_cmp(b.1));
            for (name, ns) in rows {
                out += &format!(
                    "| {name} | {} | {} |\n",
                    std.map_or("-".into(), |s| format!("{:.2}×", s / ns)),
                    memcpy.map_or("-".into(), |m| format!("{:.2}", ns / m)),
                );
            }
            out += "\n";
        }
    }

    let matrix: Vec<_> = results
        .iter()
        .filter(|(g, _)| g.starts_with("matrix/"))
        .collect();
    if !matrix.is_empty() {
        out += "### Radix (through the plugin) against std `sort_unstable`\n\n";
        out += "Speed-up = std time ÷ radix time, same data, same run; below 1.00 is **bold**.\n\n";
        let mut sizes: Vec<String> = matrix.iter().flat_map(|(_, s)| s.keys().cloned()).collect();
        sizes.sort_by_key(|s| size_key(s));
        sizes.dedup();
        out += "| type-input | ";
        out += &sizes.join(" | ");
        out += " |\n|---|";
        out += &"---:|".repeat(sizes.len());
        out += "\n";
        for (group, by_size) in matrix {
            out += &format!("| {} |", group.trim_start_matches("matrix/"));
            for size in &sizes {
                let cell = by_size
                    .get(size)
                    .and_then(|f| Some(f.get("std")? / f.get("radix")?))
                    .map_or("-".into(), |r| {
                        if r < 1.0 {
                            format!(" **{r:.2}** |")
                        } else {
                            format!(" {r:.2} |")
                        }
                    });
                out += if cell == "-" { " - |" } else { &cell };
            }
            out += "\n";
        }
        out += "\n";
    }

    if let Some(dispatch) = results.get("dispatch") {
        out += "### Dispatch: through the plugin against the same routine called directly\n\n";
        out += "`direct`: the routine inlined into the caller; `direct-call`: behind a call \
                the compiler may not inline.\n\n";
        out += "| keys | plugin ÷ direct | added per call | plugin ÷ direct-call | added per call |\n\
                |---:|---:|---:|---:|---:|\n";
        let mut rows: Vec<_> = dispatch.iter().collect();
        rows.sort_by_key(|(s, _)| size_key(s));
        for (size, f) in rows {
            let Some(plugin) = f.get("plugin") else {
                continue;
            };
            let against = |baseline: Option<&f64>| match baseline {
                Some(b) => format!("{:.3} | {:+.1} ns", plugin / b, plugin - b),
                None => "– | –".to_string(),
            };
            out += &format!(
                "| {size} | {} | {} |\n",
                against(f.get("direct")),
                against(f.get("direct-call"))
            );
        }
        out += "\n";
    }

    if let Some(isolate) = results.get("isolate") {
        out += "### `sort --isolate`: worker process against in-process, same plugin\n\n";
        out += "`worker::sort`: the library call alone; sort + encode: sorting, then encoding and checking the result as `wildhost sort -f binary` does (with the worker: while copying it out).\n\n";
        out += "| keys | `worker::sort` ÷ in-process | overhead | sort + encode, isolated ÷ in-process | overhead |\n|---:|---:|---:|---:|---:|\n";
        let mut rows: Vec<_> = isolate.iter().collect();
        rows.sort_by_key(|(s, _)| size_key(s));
        let ratio = |a: Option<&f64>, b: Option<&f64>| match (a, b) {
            (Some(a), Some(b)) => format!("{:.3} | {:+.1}%", a / b, (a / b - 1.0) * 100.0),
            _ => "– | –".to_string(),
        };
        for (size, f) in rows {
            out += &format!(
                "| {size} | {} | {} |\n",
                ratio(f.get("isolated"), f.get("in-process")),
                ratio(f.get("isolated-encoded"), f.get("in-process-encoded"))
            );
        }
        out += "\n";
    }

    if let Some(check) = results.get("integrity") {
        out += "### The result check of `wildhost sort` against the radix sort it checks\n\n";
        out += "The check rides along reading and writing the keys: its cost is the binary \
                codec with the check minus the codec without it. The check as two passes of \
                its own is shown for comparison.\n\n";
        out += "| keys | check in the codec ÷ radix sort | check as own passes ÷ radix sort |\n\
                |---:|---:|---:|\n";
        let mut rows: Vec<_> = check.iter().collect();
        rows.sort_by_key(|(s, _)| size_key(s));
        for (size, f) in rows {
            let (Some(sort), Some(alone)) = (f.get("radix-sort"), f.get("check")) else {
                continue;
            };
            let fused = match (f.get("checked-codec"), f.get("codec")) {
                (Some(with), Some(without)) => format!("{:.1}%", (with - without) / sort * 100.0),
                _ => "–".to_string(),
            };
            out += &format!("| {size} | {fused} | {:.1}% |\n", alone / sort * 100.0);
        }
        out += "\n";
    }

    if let Some(text) = results.get("text") {
        out += "### Text: reading and writing random `i64` and `f64` lines\n\n";
        out += "wildhost's text codec against the plain std way (`str::parse` of each line, \
                `writeln!` of each key), and against the radix sort of the 1e6 random `i64` keys.\n\n";
        out += "| keys | parse | std ÷ wildhost | ÷ radix sort | write | std ÷ wildhost | ÷ radix sort |\n\
                |---:|---:|---:|---:|---:|---:|---:|\n";
        let mut rows: Vec<_> = text.iter().collect();
        rows.sort_by_key(|(s, _)| size_key(s));
        for (size, f) in rows {
            let column =
                |ours: &str, std: &str| match (f.get(ours), f.get(std), f.get("radix-sort")) {
                    (Some(ours), Some(std), Some(sort)) => format!(
                        "{} | {:.2} | {:.2}",
                        human_time(*ours),
                        std / ours,
                        ours / sort
                    ),
                    _ => "– | – | –".to_string(),
                };
            out += &format!(
                "| {size} i64 | {} | {} |\n",
                column("parse", "std-parse"),
                column("write", "std-write")
            );
            if f.contains_key("parse-f64") {
                out += &format!(
                    "| {size} f64 | {} | {} |\n",
                    column("parse-f64", "std-parse-f64"),
                    column("write-f64", "std-write-f64")
                );
            }
        }
        out += "\n";
    }

    if let Some(load) = results.get("load") {
        out += "### Loading (median time; no baseline exists for these)\n\n";
        out += "| what | median |\n|---|---:|\n";
        for f in load.values() {
            for (name, ns) in f {
                out += &format!("| {name} | {} |\n", human_time(*ns));
            }
        }
        out += "\n";
    }

    for (group, by_size) in results.iter().filter(|(g, _)| g.starts_with("cutover/")) {
        out += &format!("### Cut-over, {}\n\n", group.trim_start_matches("cutover/"));
        out += "Time ÷ std time (below 1.00: faster than std):\n\n";
        out += "| keys | radix passes alone | radix as shipped |\n|---:|---:|---:|\n";
        let mut rows: Vec<_> = by_size.iter().collect();
        rows.sort_by_key(|(s, _)| size_key(s));
        for (size, f) in rows {
            let ratio = |name: &str| {
                f.get(name)
                    .zip(f.get("std"))
                    .map_or("-".into(), |(t, s)| format!("{:.2}", t / s))
            };
            out += &format!(
                "| {size} | {} | {} |\n",
                ratio("radix-passes"),
                ratio("radix-direct")
            );
        }
        out += "\n";
    }
    out
}

fn human_time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}
