//! The host's error types, and the cleaning of text a plugin wrote.
//!
//! [`Refusal`] (a plugin file that cannot be used, at which [`Stage`]) and
//! [`SortError`] (a sort that did not happen) each carry what failed, why,
//! and what to do, so the command can print them in the `error:` /
//! `cause:` / `help:` style. Every message a plugin writes passes through
//! `plugin_message` before anyone prints it. [`unstaged`] keeps the names
//! of temporary files out of the errors a user reads.

use serde::{Deserialize, Serialize};
use std::{fmt, io};
use wildhost_abi::KeyType;

/// The step of loading at which a plugin file was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Finding the file: unreadable directory, dangling link.
    Discovery,
    /// Reading the object file, before any of its code ran.
    Preflight,
    /// `dlopen` or the entry point lookup.
    Load,
    /// Checking the module definition the entry point returned.
    Validation,
    /// abi_stable's comparison of the contract's type layouts.
    Layout,
    /// Loading it in the scanner process, which it crashed or hung.
    Scan,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Discovery => "discovery",
            Stage::Preflight => "preflight",
            Stage::Load => "load",
            Stage::Validation => "validation",
            Stage::Layout => "layout check",
            Stage::Scan => "scan",
        })
    }
}

/// Why a plugin file was refused, and what the user can do about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The step that refused the file.
    pub stage: Stage,
    /// What is wrong with the file, in one line.
    pub cause: String,
    /// What to do about it, in one line.
    pub help: String,
}

impl Refusal {
    /// A refusal at `stage`.
    pub fn new(stage: Stage, cause: impl Into<String>, help: impl Into<String>) -> Refusal {
        Refusal {
            stage,
            cause: cause.into(),
            help: help.into(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.cause)
    }
}

impl std::error::Error for Refusal {}

/// Why a sort through a backend did not happen or failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SortError {
    /// The backend did not declare the key type; it was not called.
    #[error("backend `{backend}` does not sort {key_type} (it sorts {supported})")]
    UnsupportedKeyType {
        /// The backend's name.
        backend: String,
        /// The type asked for.
        key_type: KeyType,
        /// The types it declares, space-separated.
        supported: String,
    },
    /// The plugin's `init` said it cannot run here; it was not called.
    #[error("backend `{backend}` is unavailable: {reason}")]
    Unavailable {
        /// The backend's name.
        backend: String,
        /// The plugin's reason.
        reason: String,
    },
    /// The backend returned an error status.
    #[error(
        "backend `{backend}` failed with status {code} ({}): {message}",
        wildhost_abi::status::name(*code)
    )]
    Failed {
        /// The backend's name.
        backend: String,
        /// The status code it returned.
        code: i32,
        /// The backend's message.
        message: String,
    },
    /// A pairs sort through the key sort of a backend that has no pairs
    /// entry, which returned other keys than it was given, or not sorted;
    /// nothing was changed.
    #[error(
        "backend `{backend}` returned a wrong result from its key sort (module `{module}`, built for ABI {}.{}, has no pairs entry, so keys with a payload go through its key sort)",
        abi.0, abi.1
    )]
    KeySortWrong {
        /// The backend's name.
        backend: String,
        /// Its module's name.
        module: String,
        /// The ABI version its module was built for.
        abi: (u16, u16),
    },
    /// A pairs sort was given a payload of another length than its keys;
    /// the backend was not called.
    #[error("{keys} keys but {payload} payload values: a pairs sort needs one value per key")]
    PairsLengthMismatch {
        /// Number of keys.
        keys: usize,
        /// Number of payload values.
        payload: usize,
    },
    /// A sorted copy was asked into room of another length than its
    /// source; the backend was not called.
    #[error("{from} keys to sort into room for {into}: a sorted copy needs room for every key")]
    CopyLengthMismatch {
        /// Number of keys in the source.
        from: usize,
        /// Number of keys the output has room for.
        into: usize,
    },
    /// The backend wrote its message past the capacity it was given (and
    /// was stopped by nothing: the bytes fell inside the host's page for
    /// it). Its result is not used.
    #[error("backend `{backend}` wrote {past} bytes past its message capacity of {cap} bytes")]
    MessageOverrun {
        /// The backend's name.
        backend: String,
        /// How many bytes past the capacity it wrote, up to the last one
        /// that is not zero.
        past: usize,
        /// The capacity it was given.
        cap: usize,
    },
}

/// Size of the buffer a plugin writes a message into (an error from `sort`,
/// the reason from `init`).
pub(crate) const MESSAGE_CAP: usize = 512;

/// The message a plugin wrote into `buf`: up to the first NUL or the end of
/// the buffer, cleaned by [`printable`].
pub(crate) fn plugin_message(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let text = printable(&buf[..end]);
    if text.is_empty() {
        "(no message)".to_string()
    } else {
        text
    }
}

/// Text a plugin produced, made safe to print: invalid UTF-8 replaced,
/// control characters (which could rewrite the user's terminal) turned into
/// spaces, and trimmed.
pub(crate) fn printable(bytes: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    text.trim().to_string()
}

/// `text` with every control character written as an escape (`\u{1b}`),
/// for text from outside (a cache file) that is printed as it is.
pub(crate) fn escape_controls(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_messages_are_bounded_and_cleaned() {
        assert_eq!(plugin_message(b"bad input\0garbage"), "bad input");
        assert_eq!(plugin_message(&[b'x'; 8]), "xxxxxxxx");
        assert_eq!(plugin_message(b"\x1b[31mred\0"), "[31mred");
        assert_eq!(plugin_message(b"\xffok\0"), "\u{fffd}ok");
        assert_eq!(plugin_message(b"\0"), "(no message)");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_controls("a\x1b[31mb\n"), "a\\u{1b}[31mb\\u{a}");
        assert_eq!(escape_controls("plain é"), "plain é");
    }
}

/// `e` without the name of the temporary file it happened on. The
/// `tempfile` crate appends ` at path "<dir>/.wildhost-XXXX.tmp"` to its
/// errors: a name the user never chose and that is gone by the time they
/// read it. Callers name the user's own path (the output file, the plugin
/// directory) instead. Other errors are returned as they are.
pub fn unstaged(e: io::Error) -> io::Error {
    if e.get_ref().is_none() {
        return e;
    }
    let text = e.to_string();
    match text.rfind(" at path \"") {
        Some(at) => io::Error::new(e.kind(), text[..at].to_string()),
        None => e,
    }
}

#[cfg(test)]
mod unstaged_tests {
    use super::unstaged;

    #[test]
    fn a_temporary_file_name_is_cut_from_an_error() {
        let missing = std::env::temp_dir().join("wildhost-no-such-directory");
        let e = tempfile::Builder::new()
            .prefix(".wildhost-")
            .tempfile_in(&missing)
            .expect_err("no such directory");
        assert!(e.to_string().contains(".wildhost-"), "{e}");
        let clean = unstaged(e);
        assert_eq!(clean.kind(), std::io::ErrorKind::NotFound);
        assert!(!clean.to_string().contains(".wildhost-"), "{clean}");
        assert!(clean.to_string().contains("os error 2"), "{clean}");
        let plain = std::io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(unstaged(plain).raw_os_error(), Some(libc::EACCES));
    }
}
