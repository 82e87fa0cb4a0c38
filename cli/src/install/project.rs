//! Plugin projects as `wildhost new` writes them, built with the local
//! toolchain: a Cargo project (`cargo build --release`) or a Make project
//! (`make`, with `FEATURES=` for the features). A missing tool is named
//! with how to get it; a failed build shows its last lines and the command
//! that reproduces it.

use crate::report::{self, Failure};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;
use wildhost::loading::preflight::module_name_of;

/// How many lines of a failed build's output are shown.
const TAIL_LINES: usize = 12;

/// How a project builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `Cargo.toml`: `cargo build --release`.
    Cargo,
    /// `Makefile`: `make`.
    Make,
}

impl Kind {
    /// The name the archive's metadata records.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Cargo => "cargo",
            Kind::Make => "make",
        }
    }
}

/// A plugin project directory.
#[derive(Debug)]
pub struct Project {
    pub dir: PathBuf,
    pub kind: Kind,
}

/// A tool a build needs, and how to get it.
struct Tool {
    /// What runs it: a name looked up on `PATH`, or a path.
    program: String,
    /// What it is, for the message.
    what: &'static str,
    /// How to get it.
    help: &'static str,
}

impl Project {
    /// The project in `dir`, by the file that says how it builds.
    pub fn detect(dir: &Path) -> Result<Project, Failure> {
        let kind = if dir.join("Cargo.toml").is_file() {
            Kind::Cargo
        } else if ["Makefile", "makefile", "GNUmakefile"]
            .iter()
            .any(|m| dir.join(m).is_file())
        {
            Kind::Make
        } else {
            return Err(
                Failure::new(format!("`{}` is not a plugin project", dir.display()))
                    .cause("it has neither a Cargo.toml nor a Makefile")
                    .help("`wildhost new NAME --lang rust|c` writes a project that builds"),
            );
        };
        Ok(Project {
            dir: dir.to_path_buf(),
            kind,
        })
    }

    fn tools(&self) -> Vec<Tool> {
        match self.kind {
            Kind::Cargo => vec![Tool {
                program: std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
                what: "cargo (the Rust build tool)",
                help: "install Rust with rustup (https://rustup.rs), then open a new shell",
            }],
            Kind::Make => vec![
                Tool {
                    program: "make".into(),
                    what: "make",
                    help: "install make, for example `apt-get install make` (Debian, Ubuntu) \
                           or `dnf install make` (Fedora)",
                },
                Tool {
                    program: std::env::var("CC")
                        .ok()
                        .and_then(|cc| cc.split_whitespace().next().map(str::to_string))
                        .unwrap_or_else(|| "cc".into()),
                    what: "cc (the C compiler)",
                    help: "install a C compiler, for example `apt-get install gcc` (Debian, \
                           Ubuntu) or `dnf install gcc` (Fedora)",
                },
            ],
        }
    }

    /// The command that builds it with `features`.
    fn command(&self, features: &[String]) -> (Command, String) {
        let mut words: Vec<String> = match self.kind {
            Kind::Cargo => vec![
                "cargo".into(),
                "build".into(),
                "--release".into(),
                "--message-format=json-render-diagnostics".into(),
            ],
            // -B: the features may differ from the last build's.
            Kind::Make => vec!["make".into(), "-B".into()],
        };
        if !features.is_empty() {
            match self.kind {
                Kind::Cargo => words.extend(["--features".into(), features.join(",")]),
                Kind::Make => words.push(format!("FEATURES={}", features.join(","))),
            }
        }
        let program = match self.kind {
            Kind::Cargo => self.tools()[0].program.clone(),
            Kind::Make => "make".into(),
        };
        let mut command = Command::new(program);
        command.args(&words[1..]).current_dir(&self.dir);
        let shown: Vec<String> = words
            .iter()
            .filter(|w| !w.starts_with("--message-format"))
            .cloned()
            .collect();
        (
            command,
            format!("cd {} && {}", self.dir.display(), shown.join(" ")),
        )
    }

    /// Builds the project and returns the plugin file it made.
    pub fn build(&self, features: &[String]) -> Result<PathBuf, Failure> {
        let cannot = || Failure::new(format!("cannot build `{}`", self.dir.display()));
        for tool in self.tools() {
            if !on_path(&tool.program) {
                return Err(cannot()
                    .cause(format!(
                        "`{}` not found: {} is needed to build it",
                        tool.program, tool.what
                    ))
                    .help(tool.help));
            }
        }
        let (mut command, shown) = self.command(features);
        report::to_stderr(format!("building: {shown}\n"));
        let started = SystemTime::now();
        let out = command
            .stdin(Stdio::null())
            .output()
            .map_err(|e| cannot().cause(format!("cannot run the build: {e}")))?;
        if !out.status.success() {
            let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
            if self.kind == Kind::Make {
                text = String::from_utf8_lossy(&out.stdout).into_owned() + &text;
            }
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n    ");
            return Err(cannot()
                .cause(format!(
                    "the build failed ({}); its last lines:\n    {tail}",
                    out.status
                ))
                .help(format!("reproduce it with: {shown}")));
        }
        let built = match self.kind {
            Kind::Cargo => cargo_artifact(&out.stdout),
            Kind::Make => newest_plugin(&self.dir, started),
        };
        built.map_err(|why| {
            cannot()
                .cause(why)
                .help("a plugin project builds one lib<module>.so")
        })
    }

    /// The project's source files, relative to its directory: every regular
    /// file but hidden ones, build products (`target/`, plugin files,
    /// objects) and archives.
    pub fn sources(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        self.walk(Path::new(""), &mut out)?;
        out.sort();
        Ok(out)
    }

    fn walk(&self, relative: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(self.dir.join(relative))? {
            let entry = entry?;
            let name = entry.file_name();
            let name_text = name.to_string_lossy();
            let path = relative.join(&name);
            let kind = entry.file_type()?;
            if name_text.starts_with('.') {
                continue;
            }
            if kind.is_dir() {
                if !(relative.as_os_str().is_empty() && name_text == "target") {
                    self.walk(&path, out)?;
                }
            } else if kind.is_file()
                && module_name_of(&path).is_none()
                && ![".o", ".tar.gz", ".tgz", ".tar"]
                    .iter()
                    .any(|s| name_text.ends_with(s))
            {
                out.push(path);
            }
        }
        Ok(())
    }
}

/// Whether `program` names an executable file, directly or on `PATH`.
fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        return executable(Path::new(program));
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| executable(&dir.join(program))))
}

/// The cdylib cargo's JSON messages name.
fn cargo_artifact(stdout: &[u8]) -> Result<PathBuf, String> {
    let mut found = None;
    for line in String::from_utf8_lossy(stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let cdylib = message["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "cdylib"));
        if !cdylib {
            continue;
        }
        if let Some(files) = message["filenames"].as_array() {
            for file in files.iter().filter_map(|f| f.as_str()) {
                if module_name_of(Path::new(file)).is_some() {
                    found = Some(PathBuf::from(file));
                }
            }
        }
    }
    found.ok_or_else(|| "the build made no plugin file (no cdylib target)".to_string())
}

/// The plugin file a Make build wrote in `dir` since `started`.
fn newest_plugin(dir: &Path, started: SystemTime) -> Result<PathBuf, String> {
    let since = started - std::time::Duration::from_secs(2);
    let mut made: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| module_name_of(p).is_some())
        .filter(|p| {
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= since)
        })
        .collect();
    made.sort();
    match made.len() {
        1 => Ok(made.remove(0)),
        0 => Err(format!(
            "the build made no plugin file (lib<module>{}) in `{}`",
            std::env::consts::DLL_SUFFIX,
            dir.display()
        )),
        _ => Err(format!(
            "the build made several plugin files: {}",
            made.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}
