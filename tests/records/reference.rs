//! What the record mode's output should be: GNU sort's (with `LC_ALL=C`),
//! and the plain stable sort of the specification that GNU's is checked
//! against.

use super::{Fields, KeyType, Mode};
use std::cmp::Ordering;
use std::process::Command;
use std::sync::OnceLock;

/// Fails, saying why, unless `sort` is GNU sort.
fn require_gnu_sort() {
    static VERSION: OnceLock<String> = OnceLock::new();
    let version = VERSION.get_or_init(|| {
        match Command::new("sort")
            .arg("--version")
            .env("LC_ALL", "C")
            .output()
        {
            Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
            Err(e) => panic!(
                "these tests compare wildhost with GNU sort (coreutils), \
                 and `sort --version` cannot run: {e}"
            ),
        }
    });
    assert!(
        version.contains("GNU coreutils"),
        "these tests compare wildhost with GNU sort (coreutils); \
         `sort --version` says:\n{version}"
    );
}

fn gnu_sort(args: &[String], input: &[u8]) -> Vec<u8> {
    require_gnu_sort();
    let mut command = Command::new("sort");
    command.env("LC_ALL", "C").args(args);
    let out = wildhost_suite::run(command, input);
    assert_eq!(out.code, Some(0), "sort {args:?} failed: {}", out.stderr);
    out.stdout
}

/// What GNU sort makes of `input`; with a header, `head -n1` and then the
/// sort of `tail -n +2`.
pub fn gnu_expected(mode: Mode, input: &[u8]) -> Vec<u8> {
    let header_end = if mode.header {
        input
            .iter()
            .position(|&b| b == b'\n')
            .map_or(input.len(), |at| at + 1)
    } else {
        0
    };
    let (header, rest) = input.split_at(header_end);
    let mut out = header.to_vec();
    out.extend(gnu_sort(&mode.gnu_args(), rest));
    out
}

/// A parsed key: integers of every type widened, floats with `-0.0` as
/// `0.0` (and never NaN), so that equal keys compare equal.
#[derive(Clone, Copy, Debug)]
enum Key {
    Int(i128),
    Float(f64),
}

fn compare(a: Key, b: Key) -> Ordering {
    match (a, b) {
        (Key::Int(a), Key::Int(b)) => a.cmp(&b),
        (Key::Float(a), Key::Float(b)) => a.total_cmp(&b),
        _ => unreachable!("one key type per input"),
    }
}

/// `text` as a key of the type, where wildhost and GNU sort read it alike.
fn parse_key(key_type: KeyType, text: &str) -> Option<Key> {
    if key_type.gnu_order() == "n" && text.starts_with('+') {
        return None;
    }
    match key_type {
        KeyType::I64 => text.parse::<i64>().ok().map(|v| Key::Int(v.into())),
        KeyType::U64 => text.parse::<u64>().ok().map(|v| Key::Int(v.into())),
        KeyType::I32 => text.parse::<i32>().ok().map(|v| Key::Int(v.into())),
        KeyType::F64 => {
            let value = text.parse::<f64>().ok().filter(|v| !v.is_nan())?;
            let unsigned = text.trim_start_matches(['-', '+']).to_ascii_lowercase();
            // A literal past f64's range becomes infinite, and wildhost
            // refuses it.
            if value.is_infinite() && unsigned != "inf" && unsigned != "infinity" {
                return None;
            }
            Some(Key::Float(if value == 0.0 { 0.0 } else { value }))
        }
    }
}

fn key_of(mode: Mode, line: &[u8], number: usize) -> Key {
    let text = line.strip_suffix(b"\n").unwrap_or(line);
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    let field = match mode.fields {
        Fields::Whole => Some(text),
        Fields::Blanks(n) => text
            .split(|b| matches!(b, b' ' | b'\t'))
            .filter(|field| !field.is_empty())
            .nth(n - 1),
        Fields::Delimited(n, delimiter) => text.split(|&b| b == delimiter).nth(n - 1),
    };
    field
        .and_then(|field| std::str::from_utf8(field).ok())
        .and_then(|field| parse_key(mode.key_type, field.trim_matches([' ', '\t'])))
        .unwrap_or_else(|| {
            panic!(
                "the generator wrote line {number}, \"{}\", whose key wildhost and GNU \
                 sort may read differently",
                line.escape_ascii()
            )
        })
}

/// The record mode as specified, written plainly: the lines (the last one
/// given its newline) sorted stably by their keys; descending compares the
/// other way round, so equal keys still keep their input order.
pub fn reference(mode: Mode, input: &[u8]) -> Vec<u8> {
    let mut lines = input.split_inclusive(|&b| b == b'\n').map(|line| {
        let mut line = line.to_vec();
        if !line.ends_with(b"\n") {
            line.push(b'\n');
        }
        line
    });
    let mut out = Vec::new();
    let mut number = 1;
    if mode.header {
        out.extend(lines.next().unwrap_or_default());
        number += 1;
    }
    let mut keyed: Vec<(Key, Vec<u8>)> = lines
        .enumerate()
        .map(|(i, line)| (key_of(mode, &line, number + i), line))
        .collect();
    keyed.sort_by(|(a, _), (b, _)| {
        if mode.reverse {
            compare(*b, *a)
        } else {
            compare(*a, *b)
        }
    });
    out.extend(keyed.into_iter().flat_map(|(_, line)| line));
    out
}
