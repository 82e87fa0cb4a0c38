//! The plugin search path and the plugin files found on it.
//!
//! The order is: `--plugin-dir` directories, then `WILDHOST_PLUGIN_PATH`
//! (colon-separated), then the user's data directory
//! (`$XDG_DATA_HOME/wildhost/plugins`, by default
//! `~/.local/share/wildhost/plugins`), then the directory of the running
//! executable. The current directory is never searched unless named: an
//! empty entry in `WILDHOST_PLUGIN_PATH` is ignored, not read as `.`.
//!
//! A file that `wildhost install` put into a directory and whose bytes
//! changed since is refused here, unless modified files are allowed (see
//! [`super::manifest`]).

use super::manifest::{self, Manifest};
use super::preflight::module_name_of;
use super::trust;
use crate::error::{Refusal, Stage};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The environment variable holding extra plugin directories.
pub const PATH_VAR: &str = "WILDHOST_PLUGIN_PATH";

/// Where a search directory came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// `--plugin-dir` (or the library caller).
    Flag,
    /// `WILDHOST_PLUGIN_PATH`.
    Env,
    /// The user's data directory.
    User,
    /// The directory of the running executable.
    ExeDir,
}

impl Origin {
    /// A short phrase for where a directory came from.
    pub fn describe(self) -> &'static str {
        match self {
            Origin::Flag => "--plugin-dir",
            Origin::Env => "WILDHOST_PLUGIN_PATH",
            Origin::User => "user plugin directory",
            Origin::ExeDir => "next to the wildhost executable",
        }
    }

    /// Whether a missing directory of this origin is worth reporting: the
    /// user named it, so a typo should not pass silently.
    fn named_by_user(self) -> bool {
        matches!(self, Origin::Flag | Origin::Env)
    }
}

/// One directory of the search path.
#[derive(Clone, Debug, Serialize)]
pub struct SearchDir {
    /// The directory as given.
    pub path: PathBuf,
    /// Where it came from.
    pub origin: Origin,
}

/// The ordered list of plugin directories.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SearchPath {
    /// The directories, first searched first.
    pub dirs: Vec<SearchDir>,
    /// Load plugins from files and directories that others can write
    /// (see [`crate::loading::trust`]). Off unless the user asks.
    pub allow_unsafe_permissions: bool,
    /// Load installed files whose bytes differ from the digest their
    /// directory's install manifest recorded. Off unless the user asks.
    pub allow_modified: bool,
}

impl SearchPath {
    /// The standard search path: `flag_dirs`, then the environment, the
    /// user's data directory and the executable's directory.
    pub fn standard(flag_dirs: impl IntoIterator<Item = PathBuf>) -> SearchPath {
        let mut path = SearchPath::only(flag_dirs);
        if let Some(value) = std::env::var_os(PATH_VAR) {
            for dir in std::env::split_paths(&value) {
                if !dir.as_os_str().is_empty() {
                    path.push(dir, Origin::Env);
                }
            }
        }
        if let Some(dir) = user_plugin_dir() {
            path.push(dir, Origin::User);
        }
        if let Some(dir) = std::env::current_exe().ok().and_then(|exe| {
            let exe = exe.canonicalize().unwrap_or(exe);
            exe.parent().map(Path::to_path_buf)
        }) {
            path.push(dir, Origin::ExeDir);
        }
        path
    }

    /// Exactly these directories, in this order.
    pub fn only(dirs: impl IntoIterator<Item = PathBuf>) -> SearchPath {
        let mut path = SearchPath::default();
        for dir in dirs {
            path.push(dir, Origin::Flag);
        }
        path
    }

    fn trusted_dir(&self, real: &Path) -> Result<(), String> {
        if self.allow_unsafe_permissions {
            Ok(())
        } else {
            trust::check_dir(real)
        }
    }

    fn push(&mut self, path: PathBuf, origin: Origin) {
        self.dirs.push(SearchDir { path, origin });
    }

    /// Lists the plugin files of every directory, in search order, with the
    /// problems found on the way. The same directory named twice is read once.
    pub fn list(&self) -> Listing {
        let mut listing = Listing::default();
        let mut seen: Vec<PathBuf> = Vec::new();
        for dir in &self.dirs {
            let real = match dir.path.canonicalize() {
                Ok(real) => real,
                Err(e) => {
                    if dir.origin.named_by_user() {
                        listing.problems.push(Problem {
                            path: dir.path.clone(),
                            refusal: Refusal::new(
                                Stage::Discovery,
                                format!("cannot use the plugin directory: {e}"),
                                "check the path given with --plugin-dir or WILDHOST_PLUGIN_PATH",
                            ),
                        });
                    }
                    continue;
                }
            };
            if seen.contains(&real) {
                continue;
            }
            seen.push(real.clone());
            if let Err(why) = self.trusted_dir(&real) {
                listing.problems.push(Problem {
                    path: dir.path.clone(),
                    refusal: Refusal::new(Stage::Discovery, why, trust::HELP),
                });
                continue;
            }
            let entries = match std::fs::read_dir(&real) {
                Ok(entries) => entries,
                Err(e) => {
                    listing.problems.push(Problem {
                        path: dir.path.clone(),
                        refusal: Refusal::new(
                            Stage::Discovery,
                            format!("cannot read the plugin directory: {e}"),
                            "check that it is a readable directory",
                        ),
                    });
                    continue;
                }
            };
            let mut files: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            let first = listing.candidates.len();
            for file in files {
                let Some(module) = module_name_of(&file) else {
                    continue;
                };
                let module = module.to_string();
                match file.canonicalize() {
                    Ok(real) if real.is_file() && !self.allow_unsafe_permissions => {
                        match trust::check_file(&real) {
                            Ok(()) => listing.candidates.push(Candidate {
                                path: file,
                                real_path: real,
                                module,
                                origin: dir.origin,
                            }),
                            Err(why) => listing.problems.push(Problem {
                                path: file,
                                refusal: Refusal::new(Stage::Discovery, why, trust::HELP),
                            }),
                        }
                    }
                    Ok(real) if real.is_file() => listing.candidates.push(Candidate {
                        path: file,
                        real_path: real,
                        module,
                        origin: dir.origin,
                    }),
                    Ok(_) => listing.problems.push(Problem {
                        path: file,
                        refusal: Refusal::new(
                            Stage::Discovery,
                            "not a regular file",
                            "remove it from the plugin directory",
                        ),
                    }),
                    Err(e) => listing.problems.push(Problem {
                        path: file,
                        refusal: Refusal::new(
                            Stage::Discovery,
                            format!("cannot resolve the file (dangling or looping link?): {e}"),
                            "fix or remove the link",
                        ),
                    }),
                }
            }
            self.check_installed(&real, first, &mut listing);
        }
        listing
    }

    /// Moves the candidates from `first` on (the files of the directory
    /// `real`) whose bytes differ from what its install manifest recorded
    /// to the problems, unless modified files are allowed. A manifest that
    /// cannot be read is a problem of its own.
    fn check_installed(&self, real: &Path, first: usize, listing: &mut Listing) {
        if self.allow_modified || !Manifest::path_in(real).exists() {
            return;
        }
        let manifest = match Manifest::read(real) {
            Ok(manifest) => manifest,
            Err(e) => {
                listing.problems.push(Problem {
                    path: Manifest::path_in(real),
                    refusal: Refusal::new(
                        Stage::Discovery,
                        e.to_string(),
                        "the digests of the plugins installed there cannot be checked: \
                         reinstall them, or remove the manifest",
                    ),
                });
                return;
            }
        };
        let mut kept = Vec::new();
        for candidate in listing.candidates.drain(first..) {
            let entry = candidate
                .path
                .file_name()
                .and_then(|name| manifest.entry(&name.to_string_lossy()).cloned());
            match entry.map(|entry| manifest::check(&entry, &candidate.real_path)) {
                Some(Err(why)) => listing.problems.push(Problem {
                    path: candidate.path,
                    refusal: Refusal::new(Stage::Discovery, why, manifest::MODIFIED_HELP),
                }),
                _ => kept.push(candidate),
            }
        }
        listing.candidates.extend(kept);
    }
}

/// `$XDG_DATA_HOME/wildhost/plugins`, or `$HOME/.local/share/wildhost/plugins`.
pub fn user_plugin_dir() -> Option<PathBuf> {
    Some(xdg_dir("XDG_DATA_HOME", ".local/share")?.join("wildhost/plugins"))
}

/// An XDG base directory: `$var`, or `$HOME/fallback`. A relative value is
/// ignored, as the XDG specification says.
pub(crate) fn xdg_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|home| home.join(fallback))
        })
}

/// The result of [`SearchPath::list`].
#[derive(Clone, Debug, Default)]
pub struct Listing {
    /// Plugin files, in search order.
    pub candidates: Vec<Candidate>,
    /// Directories and files that could not be used.
    pub problems: Vec<Problem>,
}

/// A file that looks like a plugin by its name.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The path as found in its directory.
    pub path: PathBuf,
    /// The path with links resolved, which is what is opened.
    pub real_path: PathBuf,
    /// The module name from the file name.
    pub module: String,
    /// Where its directory came from.
    pub origin: Origin,
}

/// A path that could not be used, and why.
#[derive(Clone, Debug)]
pub struct Problem {
    /// The directory or file.
    pub path: PathBuf,
    /// Why.
    pub refusal: Refusal,
}
