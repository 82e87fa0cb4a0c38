//! The host library's imports point one way, as docs/ARCHITECTURE.md says:
//! every `crate::` and `super::` path outside the unit tests goes to a module
//! on the same floor or below, and no two files import each other, directly
//! or through others.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The floors, lowest first: a module may import its own floor and below.
const FLOORS: [&[&str]; 7] = [
    &[
        "error", "keys", "process", "wire", "mem", "budget", "crash", "message", "threads",
    ],
    &["loading"],
    &["registry"],
    &["running"],
    &["codec"],
    &["conformance", "external", "install"],
    &["fuzzing"],
];

fn floor(top: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&top))
}

/// `host/src/loading/load.rs` -> `["loading", "load"]`; a `mod.rs` is its folder.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file
        .strip_prefix(src)
        .expect("under src")
        .with_extension("");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whether the file's module is declared under `#[cfg(test)]` by its parent.
fn test_only(file: &Path) -> bool {
    let Some(name) = file.file_stem().and_then(|n| n.to_str()) else {
        return false;
    };
    let parent = file.with_file_name("mod.rs");
    let parent = if parent.exists() {
        parent
    } else {
        file.with_file_name("lib.rs")
    };
    std::fs::read_to_string(parent)
        .is_ok_and(|text| text.contains(&format!("#[cfg(test)]\nmod {name};")))
}

/// The code of a file without its `#[cfg(test)]` modules and comments.
fn production_code(text: &str) -> String {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module paths `code` names through `crate::` or `super::`, each cut to
/// the file it lives in (a path naming an item keeps only its modules).
fn imports(code: &str, own: &[String], modules: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let mut found = BTreeSet::new();
    for (prefix, base) in [
        ("crate::", Vec::new()),
        ("super::", own[..own.len().saturating_sub(1)].to_vec()),
    ] {
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().last();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            // `crate::{a, b::c}` names several paths; `crate::a::b` one.
            let heads: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                group[..end].split(',').map(str::trim).collect()
            } else {
                vec![rest]
            };
            for head in heads {
                let mut path = base.clone();
                for segment in head.split("::") {
                    let name: String = segment
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if name.is_empty() || name == "self" {
                        break;
                    }
                    path.push(name);
                    if !modules.contains(&path) {
                        path.pop();
                        break;
                    }
                }
                if path.is_empty() {
                    let item: String = head
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    // The exported macro is defined in keys.rs.
                    if item == "with_keys" {
                        found.insert(vec!["keys".to_string()]);
                    } else {
                        found.insert(vec![format!("crate root item `{item}`")]);
                    }
                } else if path != own {
                    found.insert(path);
                }
            }
        }
    }
    found
}

#[test]
fn imports_point_down_and_never_in_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<Vec<String>> = files
        .iter()
        .map(|f| module_path(&src, f))
        .filter(|m| m != &["lib"])
        .collect();
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for file in &files {
        let own = module_path(&src, file);
        if own == ["lib"] {
            continue; // The crate root names every module.
        }
        if test_only(file) {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("read");
        let found = imports(&production_code(&text), &own, &modules);
        let own_floor = floor(&own[0]).unwrap_or_else(|| panic!("{own:?} is on no floor"));
        for target in &found {
            match floor(&target[0]) {
                Some(f) if f <= own_floor => {}
                _ => wrong.push(format!("{} imports {}", own.join("::"), target.join("::"))),
            }
        }
        graph.insert(own, found);
    }
    assert!(
        wrong.is_empty(),
        "imports that run up a floor:\n{}",
        wrong.join("\n")
    );

    // Depth-first search for a circle among files.
    fn visit(
        node: &Vec<String>,
        graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        path: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(at) = path.iter().position(|p| p == node) {
            let circle: Vec<String> = path[at..].iter().map(|p| p.join("::")).collect();
            panic!(
                "import circle: {} -> {}",
                circle.join(" -> "),
                node.join("::")
            );
        }
        path.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, path, done);
        }
        path.pop();
        done.insert(node.clone());
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, &graph, &mut Vec::new(), &mut done);
    }
    assert!(
        graph.len() > 20,
        "the walk found the host's files: {}",
        graph.len()
    );
}
