//! Seeded tables for the record mode: CSV, TSV and blank-separated columns
//! or bare numbers, with many equal keys, leading zeros, `-0`, the types'
//! limits, blanks around keys, `\r\n` line ends and a last line without
//! its newline; only keys that wildhost and GNU sort read alike.

use super::{Fields, KeyType, Mode};
use wildhost_suite::Rng;

/// Each value in spellings that are all the same decimal number, so they
/// are the same key to GNU's long doubles and to an f64.
const FLOAT_SPELLINGS: &[&[&str]] = &[
    &["-inf", "-INF", "-Infinity"],
    &["-2.5", "-2.50", "-25E-1", "-0002.5"],
    &["-1", "-1.0", "-001", "-1e0", "-.1e1"],
    &["-0.0025", "-2.5E-3", "-25e-4", "-.0025"],
    &["0", "-0", "0.0", "-0.0", "0e0", "-0E5", "000", "+0"],
    &["0.1", ".1", "1e-1", "0.10", "+0.1"],
    &["1", "1.", "+1", "1.000", "1e0"],
    &["-7.5", "-007.5", "-75e-1"],
    &["7.5", "007.5", "7.50", "75e-1", "0.75E1", "+7.5"],
    &["100000", "1e5", "1E+5", "100000.0", "0001e5"],
    &["inf", "+inf", "Infinity", "INF"],
];

/// The text of the other columns: words, numbers, spaces, UTF-8, every
/// delimiter the tests use (a cell never holds its own table's).
const WORDS: &[&str] = &[
    "apple",
    "New York",
    "café",
    "x-ray",
    "Zürich",
    "-42",
    "007",
    "3.14",
    "1e5",
    "N/A",
    "semi;colon",
    "pipe|d",
    "comma,ed",
    "a\tb",
    "",
    "-",
    "0",
];

fn pick<'a>(rng: &mut Rng, from: &[&'a str]) -> &'a str {
    from[rng.below(from.len() as u64) as usize]
}

/// Mostly a few small values, so many keys are equal and their order shows
/// whether the sort is stable, in spellings that read the same (leading
/// zeros, `-0`); then the type's limits and values from its whole range.
fn int_text(rng: &mut Rng, min: i128, max: i128, any: fn(&mut Rng) -> i128) -> String {
    let value = match rng.below(10) {
        0 => [min, max, min + 1, max - 1][rng.below(4) as usize],
        1 | 2 => any(rng),
        _ if min < 0 => i128::from(rng.below(9)) - 4,
        _ => i128::from(rng.below(9)),
    };
    let sign = if value < 0 || (value == 0 && min < 0 && rng.below(3) == 0) {
        "-"
    } else {
        ""
    };
    let zeros = "0".repeat(rng.below(4).saturating_sub(1) as usize);
    format!("{sign}{zeros}{}", value.unsigned_abs())
}

fn float_text(rng: &mut Rng) -> String {
    match rng.below(6) {
        // Any f64 but NaN, in its shortest text.
        0 => {
            let value = loop {
                let value = f64::from_bits(rng.next_u64());
                if !value.is_nan() {
                    break value;
                }
            };
            match rng.below(2) {
                0 => format!("{value:?}"),
                _ => format!("{value:e}"),
            }
        }
        // Decimals whose value is not exact in binary.
        1 => format!("{}", (rng.below(2001) as f64 - 1000.0) / 10.0),
        _ => {
            let value = rng.below(FLOAT_SPELLINGS.len() as u64) as usize;
            pick(rng, FLOAT_SPELLINGS[value]).to_owned()
        }
    }
}

fn key_text(rng: &mut Rng, key_type: KeyType) -> String {
    match key_type {
        KeyType::I64 => int_text(rng, i64::MIN.into(), i64::MAX.into(), |rng| {
            i128::from(rng.next_u64() as i64)
        }),
        KeyType::U64 => int_text(rng, 0, u64::MAX.into(), |rng| rng.next_u64().into()),
        KeyType::I32 => int_text(rng, i32::MIN.into(), i32::MAX.into(), |rng| {
            i128::from(rng.next_u64() as i32)
        }),
        KeyType::F64 => float_text(rng),
    }
}

/// Blanks around a key; none that hold the table's delimiter.
fn padding(rng: &mut Rng, delimiter: u8) -> &'static str {
    let pad = pick(rng, &["", "", "", " ", "  ", "\t", " \t"]);
    if pad.bytes().any(|b| b == delimiter) {
        ""
    } else {
        pad
    }
}

fn record(rng: &mut Rng, mode: Mode, columns: usize, index: usize) -> String {
    let key = key_text(rng, mode.key_type);
    let key_column = mode.key_field() - 1;
    // A cell that holds the line's index, so equal keys never have equal
    // lines and an unstable order shows.
    let unique_column = usize::from(key_column == 0);
    let cell = |rng: &mut Rng, column: usize, allowed: &dyn Fn(&str) -> bool| {
        let word = loop {
            let word = pick(rng, WORDS);
            if allowed(word) {
                break word;
            }
        };
        if column == unique_column {
            format!("{word}{index}")
        } else {
            word.to_owned()
        }
    };
    match mode.fields {
        Fields::Whole => format!("{}{key}{}", padding(rng, b'\n'), padding(rng, b'\n')),
        Fields::Blanks(_) => {
            let mut line = padding(rng, b'\n').to_owned();
            for column in 0..columns {
                if column > 0 {
                    line += pick(rng, &[" ", " ", "  ", "\t", " \t "]);
                }
                if column == key_column {
                    line += &key;
                } else {
                    line += &cell(rng, column, &|word| {
                        !word.is_empty() && !word.contains([' ', '\t'])
                    });
                }
            }
            line + padding(rng, b'\n')
        }
        Fields::Delimited(_, delimiter) => {
            let cells: Vec<String> = (0..columns)
                .map(|column| {
                    if column == key_column {
                        let before = padding(rng, delimiter);
                        format!("{before}{key}{}", padding(rng, delimiter))
                    } else {
                        cell(rng, column, &|word| !word.as_bytes().contains(&delimiter))
                    }
                })
                .collect();
            cells.join(&char::from(delimiter).to_string())
        }
    }
}

/// A table of 2000 to 3000 lines for `mode`, with 3 to 5 columns (more if
/// the key is further right). The seed also picks the line ends (`\n`,
/// some `\r\n`, all `\r\n`) and whether the last line has its own.
pub fn table(mode: Mode, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let lines = 2000 + rng.below(1001) as usize;
    let columns = mode.key_field().max(3 + rng.below(3) as usize);
    let end = |rng: &mut Rng| match (seed % 3, rng.below(3)) {
        (0, _) | (1, 1..) => "\n",
        _ => "\r\n",
    };
    let mut out = String::new();
    if mode.header {
        let names = ["id", "name", "qty", "city", "note", "extra"];
        out += &match mode.fields {
            // A header that is a number stays first all the same.
            Fields::Whole if seed.is_multiple_of(2) => "99999".to_owned(),
            Fields::Whole => "amount".to_owned(),
            Fields::Blanks(_) => names[..columns].join(" "),
            Fields::Delimited(_, delimiter) => {
                names[..columns].join(&char::from(delimiter).to_string())
            }
        };
        out += end(&mut rng);
    }
    for index in 0..lines {
        out += &record(&mut rng, mode, columns, index);
        out += end(&mut rng);
    }
    let mut out = out.into_bytes();
    if !seed.is_multiple_of(2) {
        out.pop();
        if out.last() == Some(&b'\r') {
            out.pop();
        }
    }
    out
}
