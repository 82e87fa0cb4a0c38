//! The tables and paragraphs of `wildhost list`, fitted to a width: the
//! width of the terminal, of `COLUMNS`, or none (every column in full).
//! Columns that may wrap are narrowed, widest first, down to their longest
//! word; a cell then continues on the lines below its row.

use std::io::IsTerminal;

/// The width used on a terminal that says none and with no `COLUMNS`.
const DEFAULT_WIDTH: usize = 100;
/// A wrapped column is never narrower than this, unless its header is.
const NARROWEST: usize = 16;

/// How wide `list`'s output may be: `None` for no limit. `--wide` has none;
/// on a terminal it is the terminal's width (`TIOCGWINSZ`), else
/// `COLUMNS`, else 100; elsewhere (a pipe, a file) `COLUMNS` if it is set,
/// else none, so scripts see every column in full as before.
pub fn width(wide: bool) -> Option<usize> {
    if wide {
        return None;
    }
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&c| c > 0);
    if std::io::stdout().is_terminal() {
        Some(terminal_width().or(columns).unwrap_or(DEFAULT_WIDTH))
    } else {
        columns
    }
}

/// The width of the terminal on standard output, if it tells one.
fn terminal_width() -> Option<usize> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` through the pointer, which
    // points to a live, writable `winsize`; on a descriptor that is not a
    // terminal it fails and writes nothing.
    let done = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (done == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// The number of columns `text` takes (one per character).
fn len(text: &str) -> usize {
    text.chars().count()
}

/// `text` cut into lines of at most `width` characters at spaces; a word
/// longer than `width` (a path, mostly) is cut after its last `/` that
/// fits, unless that leaves less than a third of the width, else where
/// the width ends. An empty text is one empty line.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word: Vec<char> = word.chars().collect();
        if !line.is_empty() && len(&line) + 1 + word.len() <= width {
            line.push(' ');
            line.extend(&word);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        while word.len() > width {
            let cut = word[..width]
                .iter()
                .rposition(|&c| c == '/')
                .map(|slash| slash + 1)
                .filter(|&cut| 3 * cut >= width)
                .unwrap_or(width);
            lines.push(word.drain(..cut).collect());
        }
        line.extend(&word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `text` as lines of at most `width` characters: the first starts with
/// `first`, the others with `next` (a hanging indent). Without a width, or
/// when it fits, one line, its spaces as they are.
pub fn paragraph(out: &mut String, first: &str, next: &str, text: &str, width: Option<usize>) {
    let Some(width) = width else {
        out.push_str(first);
        out.push_str(text);
        out.push('\n');
        return;
    };
    if len(first) + len(text) <= width {
        out.push_str(first);
        out.push_str(text);
        out.push('\n');
        return;
    }
    let room = width
        .saturating_sub(len(first).max(len(next)))
        .max(NARROWEST);
    for (i, line) in wrap(text, room).iter().enumerate() {
        out.push_str(if i == 0 { first } else { next });
        out.push_str(line);
        out.push('\n');
    }
}

/// A column of a table.
pub struct Column<'a> {
    pub header: &'a str,
    /// Whether its cells may continue on the lines below their row.
    pub wraps: bool,
}

/// The widths of the columns of `rows` under `columns`, two spaces apart:
/// each its widest cell, then, while the line is wider than `limit`, the
/// widest column that wraps one narrower, down to its longest word (at
/// most 16, at least its header). The line may stay wider than `limit`
/// when nothing can narrow further.
pub fn widths(columns: &[Column<'_>], rows: &[Vec<String>], limit: Option<usize>) -> Vec<usize> {
    let mut widths: Vec<usize> = columns.iter().map(|c| len(c.header)).collect();
    let mut narrowest = widths.clone();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns.len()) {
            widths[i] = widths[i].max(len(cell));
            let word = cell.split(' ').map(len).max().unwrap_or(0);
            narrowest[i] = narrowest[i].max(word.min(NARROWEST));
        }
    }
    let Some(limit) = limit else {
        return widths;
    };
    let total = |widths: &[usize]| widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
    while total(&widths) > limit {
        let widest = (0..columns.len())
            .filter(|&i| columns[i].wraps && widths[i] > narrowest[i])
            .max_by_key(|&i| (widths[i], std::cmp::Reverse(i)));
        let Some(i) = widest else { break };
        widths[i] -= 1;
    }
    widths
}

/// The table: the header, then each row, left-aligned in `widths`, two
/// spaces apart, the last column not padded. A cell wider than its column
/// wraps onto the lines below its row. After the header and after each
/// row, `after(None or Some(row), out)` may add lines of its own.
pub fn table(
    out: &mut String,
    columns: &[Column<'_>],
    rows: &[Vec<String>],
    widths: &[usize],
    mut after: impl FnMut(Option<usize>, &mut String),
) {
    let headers: Vec<Vec<String>> = columns.iter().map(|c| vec![c.header.to_string()]).collect();
    line(out, &headers, widths);
    after(None, out);
    for (r, row) in rows.iter().enumerate() {
        let cells: Vec<Vec<String>> = row
            .iter()
            .zip(widths)
            .map(|(cell, &width)| {
                if len(cell) > width {
                    wrap(cell, width)
                } else {
                    vec![cell.clone()]
                }
            })
            .collect();
        line(out, &cells, widths);
        after(Some(r), out);
    }
}

/// One row of cells, each cell its lines: as many lines as its tallest.
fn line(out: &mut String, cells: &[Vec<String>], widths: &[usize]) {
    let height = cells.iter().map(Vec::len).max().unwrap_or(1);
    for l in 0..height {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let part = cell.get(l).map_or("", String::as_str);
            text.push_str(part);
            if i + 1 < cells.len() {
                let pad = widths[i].saturating_sub(len(part)) + 2;
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_wraps_at_spaces_and_cuts_only_longer_words() {
        assert_eq!(
            wrap("stable, pairs, scratch 100%", 14),
            ["stable, pairs,", "scratch 100%"]
        );
        assert_eq!(wrap("abcdefghij xy", 4), ["abcd", "efgh", "ij", "xy"]);
        assert_eq!(wrap("", 10), [""]);
        assert_eq!(wrap("one", 10), ["one"]);
    }

    #[test]
    fn a_long_path_is_cut_after_a_slash() {
        assert_eq!(
            wrap("in /home/ada/.local/share/wildhost/plugins/libfast.so", 20),
            [
                "in",
                "/home/ada/.local/",
                "share/wildhost/",
                "plugins/libfast.so"
            ]
        );
        // A slash too early to cut at: the width decides.
        assert_eq!(wrap("/abcdefghijklmnop", 9), ["/abcdefgh", "ijklmnop"]);
    }

    #[test]
    fn the_widest_wrapping_column_narrows_first_and_no_line_is_longer() {
        let columns = [
            Column {
                header: "NAME",
                wraps: false,
            },
            Column {
                header: "FLAGS",
                wraps: true,
            },
            Column {
                header: "DESCRIPTION",
                wraps: true,
            },
        ];
        let rows = vec![vec![
            "radix".to_string(),
            "stable, parallel, pairs".to_string(),
            "a long description of the backend that does not fit".to_string(),
        ]];
        assert_eq!(widths(&columns, &rows, None), [5, 23, 51]);
        let fitted = widths(&columns, &rows, Some(50));
        assert_eq!(fitted, [5, 20, 21]);
        let mut out = String::new();
        table(&mut out, &columns, &rows, &fitted, |_, _| {});
        assert!(out.lines().all(|l| len(l) <= 50), "{out}");
        assert_eq!(
            out,
            "\
NAME   FLAGS                 DESCRIPTION
radix  stable, parallel,     a long description of
       pairs                 the backend that does
                             not fit
"
        );
    }

    #[test]
    fn a_paragraph_hangs_under_its_first_line() {
        let mut out = String::new();
        paragraph(
            &mut out,
            "    help: ",
            "          ",
            "rebuild it for this machine or remove it",
            Some(30),
        );
        assert_eq!(
            out,
            "    help: rebuild it for this\n          machine or remove it\n"
        );
        let mut whole = String::new();
        paragraph(&mut whole, "  ", "  ", "one line however long", None);
        assert_eq!(whole, "  one line however long\n");
    }
}
