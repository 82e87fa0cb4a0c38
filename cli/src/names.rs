//! The names a user types for backends and modules: a name that matches
//! none is reported with the names there are and, when one of them is
//! close (a typo), `help: did you mean ...?`.

use crate::report::Failure;
pub use wildhost::registry::names::did_you_mean;
use wildhost::{Backend, Registry};

/// The report of a backend name that names no backend of `registry`: the
/// backends there are, the refused plugin files if any, and the nearest
/// name when one is close. With no file refused it is a usage error (exit
/// status 2): the name is nowhere. With files refused it is a failure
/// (exit status 1): the backend may be in one of them.
pub fn unknown_backend(registry: &Registry, name: &str) -> Failure {
    let found: Vec<&str> = registry.backends().iter().map(Backend::name).collect();
    let refused = registry.refused().len();
    let failure = if refused > 0 {
        Failure::new(format!("no backend named `{name}`"))
    } else {
        Failure::usage(format!("no backend named `{name}`"))
    };
    let failure = failure.cause(format!(
        "backends found: {}",
        if found.is_empty() {
            "none".to_string()
        } else {
            found.join(", ")
        }
    ));
    let failure = if refused > 0 {
        failure.cause(format!(
            "{refused} plugin file(s) were refused; `wildhost list` says why"
        ))
    } else {
        failure
    };
    let help = if found.is_empty() {
        "no backend loaded, not even the built-in ones: `wildhost list` says why each \
         module was refused and where it looked for plugin files"
            .to_string()
    } else {
        did_you_mean(name, found.iter().copied()).unwrap_or_else(|| {
            "`wildhost list` shows every backend and the key types it sorts".to_string()
        })
    };
    failure.help(help)
}
