//! Failures as the user sees them: `error:` what failed, then `cause:` and
//! `help:` lines, in the style of cargo; and the exit status that goes with.

use std::fmt;
use std::io::{self, Write};
use std::path::Path;
use wildhost::Refusal;

/// Exit status of a failure.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status of a usage error.
pub const EXIT_USAGE: u8 = 2;

/// A failure of a command, ready to print.
#[derive(Debug)]
pub struct Failure {
    what: String,
    causes: Vec<String>,
    help: Option<String>,
    code: u8,
}

impl Failure {
    /// A failure (exit status 1).
    pub fn new(what: impl Into<String>) -> Failure {
        Failure {
            what: what.into(),
            causes: Vec::new(),
            help: None,
            code: EXIT_FAILURE,
        }
    }

    /// A usage error (exit status 2): the command line asks for something
    /// impossible.
    pub fn usage(what: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_USAGE,
            ..Failure::new(what)
        }
    }

    /// Adds a cause line.
    pub fn cause(mut self, cause: impl fmt::Display) -> Failure {
        self.causes.push(cause.to_string());
        self
    }

    /// Sets the help line.
    pub fn help(mut self, help: impl Into<String>) -> Failure {
        self.help = Some(help.into());
        self
    }

    /// A refused plugin file.
    pub fn refused(path: &Path, refusal: &Refusal) -> Failure {
        Failure::new(format!("cannot load plugin `{}`", path.display()))
            .cause(&refusal.cause)
            .help(refusal.help.clone())
    }

    /// The exit status.
    pub fn code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.what)?;
        for cause in &self.causes {
            writeln!(f, "  cause: {cause}")?;
        }
        if let Some(help) = &self.help {
            writeln!(f, "  help: {help}")?;
        }
        Ok(())
    }
}

/// Writes `text` to standard error. A failure to write there is ignored: a
/// full or closed standard error (`2>/dev/full`) must neither panic nor
/// change the exit status of the failure being reported, and there is
/// nowhere left to say it.
pub fn to_stderr(text: impl fmt::Display) {
    let _ = write!(io::stderr().lock(), "{text}");
}

/// A number of bytes as people read them: exact below a mebibyte (`10001
/// bytes`, so that two figures near a limit are told apart), else `80.0
/// MiB`, `1.5 GiB`.
pub fn bytes(count: u64) -> String {
    const UNITS: [&str; 4] = ["MiB", "GiB", "TiB", "PiB"];
    if count < 1 << 20 {
        return format!("{count} bytes");
    }
    let mut value = count as f64 / f64::from(1u32 << 20);
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    #[test]
    fn byte_counts_read_as_people_say_them() {
        assert_eq!(super::bytes(0), "0 bytes");
        assert_eq!(super::bytes(1_048_575), "1048575 bytes");
        assert_eq!(super::bytes(1 << 20), "1.0 MiB");
        assert_eq!(super::bytes(3 << 29), "1.5 GiB");
        assert_eq!(super::bytes(u64::MAX), "16384.0 PiB");
    }
}
