//! `wildhost new NAME --lang rust|c [--dir PATH]`: writes a plugin project
//! that builds and loads unchanged.
//!
//! A Rust project carries a copy of the `wildhost-abi` crate taken from the
//! sources this binary was built from, so the plugin is built against
//! exactly the ABI this host speaks; a C project carries the header.

use crate::Outcome;
use crate::report::Failure;
use clap::{Args, ValueEnum};
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use wildhost::loading::preflight::is_valid_module_name;

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The module name, a C identifier (letters, digits, `_`): the plugin
    /// file is lib<NAME>.so.
    name: String,
    /// The language of the plugin.
    #[arg(long, value_enum)]
    lang: Lang,
    /// The project's own directory, instead of ./NAME: its files go
    /// straight into PATH (not into PATH/NAME). It must not exist (it is
    /// created, with any missing parents), or be empty.
    #[arg(long, value_name = "PATH")]
    dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Lang {
    /// A cargo project using the wildhost-abi SDK.
    Rust,
    /// A C11 source file, the header and a Makefile.
    C,
}

mod template {
    pub const RUST_MANIFEST: &str = include_str!("templates/rust/Cargo.toml");
    pub const RUST_LIB: &str = include_str!("templates/rust/lib.rs");
    pub const RUST_README: &str = include_str!("templates/rust/README.md");
    pub const C_SOURCE: &str = include_str!("templates/c/plugin.c");
    pub const C_MAKEFILE: &str = include_str!("templates/c/Makefile");
    pub const C_README: &str = include_str!("templates/c/README.md");

    /// The sources of the `wildhost-abi` crate this binary was built with.
    pub const ABI_MANIFEST: &str = include_str!("../../abi/Cargo.toml");
    pub const ABI_LIB: &str = include_str!("../../abi/src/lib.rs");
    pub const ABI_CONTRACT: &str = include_str!("../../abi/src/contract.rs");
    pub const ABI_SDK: &str = include_str!("../../abi/src/sdk.rs");
}

/// What the templates' `{{…}}` placeholders stand for.
struct Names {
    /// The module name.
    name: String,
    /// The backend's name: the module name when it is a valid backend name.
    backend: String,
    /// The plugin file's name, `lib<name>.so`.
    file: String,
    /// `major.minor` of the ABI.
    abi: String,
}

impl Names {
    fn new(name: &str) -> Names {
        // A backend name starts with a letter; a module name may start
        // with `_`.
        let backend = if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            name.to_string()
        } else {
            format!("sort{name}")
        };
        Names {
            name: name.to_string(),
            backend,
            file: format!(
                "{}{name}{}",
                std::env::consts::DLL_PREFIX,
                std::env::consts::DLL_SUFFIX
            ),
            abi: format!("{}.{}", wildhost_abi::ABI_MAJOR, wildhost_abi::ABI_MINOR),
        }
    }

    fn fill(&self, template: &str) -> String {
        let allow = if self.name.chars().any(|c| c.is_ascii_uppercase()) {
            "\n#![allow(non_snake_case)] // the crate is named after the module\n"
        } else {
            ""
        };
        template
            .replace("{{name}}", &self.name)
            .replace("{{backend}}", &self.backend)
            .replace("{{file}}", &self.file)
            .replace("{{abi}}", &self.abi)
            .replace("{{allow}}", allow)
    }
}

/// The version of the `wildhost-abi` crate this binary was built with, read
/// from its manifest; its major.minor is the ABI's.
fn abi_crate_version() -> String {
    template::ABI_MANIFEST
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == "version").then(|| value.trim().trim_matches('"').to_string())
        })
        .unwrap_or_else(|| format!("{}.{}.0", wildhost_abi::ABI_MAJOR, wildhost_abi::ABI_MINOR))
}

/// The vendored abi crate's manifest: the workspace's, made standalone.
fn abi_manifest(names: &Names) -> String {
    format!(
        "# The wildhost plugin contract (ABI {abi}), copied by `wildhost new` from\n\
         # the wildhost that wrote this project. Leave it unchanged: the host\n\
         # compares the layout of these types with its own and refuses a plugin\n\
         # built against a changed copy.\n\
         [package]\n\
         name = \"wildhost-abi\"\n\
         version = \"{version}\"\n\
         edition = \"2024\"\n\
         license = \"MIT OR Apache-2.0\"\n\
         publish = false\n\
         \n\
         [dependencies]\n\
         abi_stable = {{ version = \"0.11\", default-features = false }}\n",
        abi = names.abi,
        version = abi_crate_version(),
    )
}

/// Every file of the project, by path relative to its directory.
fn files(lang: Lang, names: &Names) -> Vec<(&'static str, String)> {
    match lang {
        Lang::Rust => vec![
            ("Cargo.toml", names.fill(template::RUST_MANIFEST)),
            ("src/lib.rs", names.fill(template::RUST_LIB)),
            ("README.md", names.fill(template::RUST_README)),
            ("wildhost-abi/Cargo.toml", abi_manifest(names)),
            ("wildhost-abi/src/lib.rs", template::ABI_LIB.to_string()),
            (
                "wildhost-abi/src/contract.rs",
                template::ABI_CONTRACT.to_string(),
            ),
            ("wildhost-abi/src/sdk.rs", template::ABI_SDK.to_string()),
            (
                "wildhost-abi/include/wildsort.h",
                wildhost_abi::C_HEADER.to_string(),
            ),
        ],
        Lang::C => vec![
            ("plugin.c", names.fill(template::C_SOURCE)),
            ("wildsort.h", wildhost_abi::C_HEADER.to_string()),
            ("Makefile", names.fill(template::C_MAKEFILE)),
            ("README.md", names.fill(template::C_README)),
        ],
    }
}

pub fn run(args: &NewArgs) -> Outcome {
    let name = args.name.as_str();
    check_name(name, args.lang)?;
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(name));
    check_dir(&dir)?;
    let names = Names::new(name);
    let files = files(args.lang, &names);
    write_project(&dir, &files).map_err(|e| {
        Failure::new(format!("cannot write the project into `{}`", dir.display()))
            .cause(e)
            .help("check that the directory is writable; what was written has been removed")
    })?;
    crate::output::Destination::Stdout.write(summary(args.lang, &names, &dir, &files).as_bytes())
}

fn check_name(name: &str, lang: Lang) -> Result<(), Failure> {
    if !is_valid_module_name(name) {
        return Err(
            Failure::usage(format!("`{name}` is not a valid module name"))
                .cause(
                    "a module name is a C identifier of at most 63 bytes: letters, digits \
                     and `_`, not starting with a digit",
                )
                .help("e.g. `wildhost new wildsort_mine --lang rust` writes a plugin file libwildsort_mine.so"),
        );
    }
    if lang == Lang::Rust && (name == "_" || name == "wildhost_abi") {
        return Err(
            Failure::usage(format!("`{name}` cannot name a Rust plugin"))
                .cause(if name == "_" {
                    "`_` is not a Rust identifier"
                } else {
                    "the crate would have the name of its dependency wildhost-abi"
                })
                .help("choose another name, e.g. `wildsort_mine`"),
        );
    }
    Ok(())
}

/// Refuses a path that is not a directory, and a directory that is not
/// empty.
fn check_dir(dir: &Path) -> Result<(), Failure> {
    let refuse = |cause: String| {
        Failure::new(format!("cannot create the project in `{}`", dir.display()))
            .cause(cause)
            .help("choose another directory with --dir PATH")
    };
    // `a_file/sub`: the error of the lookup would only say "Not a
    // directory"; name the part of the path that is a file.
    if let Some(file) = dir
        .ancestors()
        .skip(1)
        .filter(|a| !a.as_os_str().is_empty())
        .find(|a| a.exists() && !a.is_dir())
    {
        return Err(refuse(format!(
            "`{}` on its path is not a directory",
            file.display()
        )));
    }
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(refuse(format!("cannot read it: {e}"))),
        Ok(_) if !dir.is_dir() => Err(refuse("it exists and is not a directory".into())),
        Ok(_) => match fs::read_dir(dir).map(|mut entries| entries.next().is_none()) {
            Err(e) => Err(refuse(format!("cannot read the directory: {e}"))),
            Ok(false) => Err(refuse("the directory exists and is not empty".into())),
            Ok(true) => Ok(()),
        },
    }
}

/// Creates `dir` and every file in it, never overwriting anything; on any
/// error removes what it created.
fn write_project(dir: &Path, files: &[(&str, String)]) -> io::Result<()> {
    let mut created = Vec::new();
    let result = write_all(dir, files, &mut created);
    if result.is_err() {
        for path in created.iter().rev() {
            // Files first, then their directories, in reverse order of
            // creation; what cannot be removed is left.
            let _ = fs::remove_file(path).or_else(|_| fs::remove_dir(path));
        }
    }
    result
}

fn write_all(dir: &Path, files: &[(&str, String)], created: &mut Vec<PathBuf>) -> io::Result<()> {
    create_dirs(dir, created)?;
    for (relative, contents) in files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            create_dirs(parent, created)?;
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| naming(&path, e))?;
        created.push(path.clone());
        file.write_all(contents.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| naming(&path, e))?;
    }
    Ok(())
}

/// `create_dir_all`, recording each directory it creates, outermost first.
fn create_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs(parent, created)?;
    }
    fs::create_dir(dir).map_err(|e| naming(dir, e))?;
    created.push(dir.to_path_buf());
    Ok(())
}

/// `e`, with the path it happened on in front: the error of a file deep
/// in the project says which one.
fn naming(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("`{}`: {e}", path.display()))
}

/// What was written, and the next steps.
fn summary(lang: Lang, names: &Names, dir: &Path, files: &[(&str, String)]) -> String {
    let mut out = String::new();
    let kind = match lang {
        Lang::Rust => "Rust",
        Lang::C => "C",
    };
    let _ = writeln!(
        out,
        "Created the {kind} plugin `{}` (ABI {}) in {}:",
        names.name,
        names.abi,
        dir.display()
    );
    for (relative, _) in files {
        let _ = writeln!(out, "  {}", dir.join(relative).display());
    }
    let (build, built) = match lang {
        Lang::Rust => (
            "cargo build --release",
            format!("target/release/{}", names.file),
        ),
        Lang::C => ("make", names.file.clone()),
    };
    let _ = writeln!(out, "\nNext steps:");
    let _ = writeln!(out, "  cd {}", dir.display());
    let _ = writeln!(out, "  {build}");
    let _ = writeln!(out, "  wildhost inspect {built}");
    let _ = writeln!(out, "  wildhost verify {built}");
    let _ = writeln!(
        out,
        "  wildhost install .   (builds, checks and installs it)"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_abi_crate_has_the_abi_version() {
        let version = abi_crate_version();
        let prefix = format!("{}.{}.", wildhost_abi::ABI_MAJOR, wildhost_abi::ABI_MINOR);
        assert!(version.starts_with(&prefix), "{version}");
    }

    #[test]
    fn every_placeholder_is_filled() {
        let names = Names::new("_Demo9");
        assert_eq!(names.backend, "sort_Demo9");
        for lang in [Lang::Rust, Lang::C] {
            for (path, text) in files(lang, &names) {
                assert!(!text.contains("{{"), "{path} keeps a placeholder");
            }
        }
    }

    #[test]
    fn a_failed_write_removes_what_it_created() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("a/b");
        // `x/y` needs a directory where the file `x` was just written.
        let files = [("x", String::new()), ("x/y", String::new())];
        assert!(write_project(&dir, &files).is_err());
        assert_eq!(fs::read_dir(root.path()).expect("read_dir").count(), 0);

        // Into an existing empty directory: the directory stays, empty.
        fs::create_dir(root.path().join("empty")).expect("mkdir");
        let files = [("s/t", String::new()), ("s/t/u", String::new())];
        assert!(write_project(&root.path().join("empty"), &files).is_err());
        assert_eq!(
            fs::read_dir(root.path().join("empty"))
                .expect("read_dir")
                .count(),
            0
        );
    }
}
