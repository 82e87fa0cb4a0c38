//! Reading records: each line's key (the whole line, or a field found by
//! its delimiter or by blanks) and where the line starts, with a fast
//! path for the common line in one 64-byte window.

use super::slots::{Filled, Out, Slots, join};
use super::{Fields, Layout, Position};
use crate::codec::float::{float_within, parse_float, scan_float};
use crate::codec::int::{int_within, parse_int, scan_int};
use crate::codec::lines::{masks64, shorten};
use crate::codec::{ParseError, TextKey};
use crate::mem::try_with_capacity;
use crate::threads::each;
use memchr::memchr;
use std::ops::Range;

/// A key type as records read it.
pub(crate) trait RecordKey: TextKey {
    /// Whether a line can be its key's canonical text (integers only).
    const CANONICAL: bool;
    /// A whole line at the start of `input` in the common case, and the
    /// bytes it took (see `scan_int`, `scan_float`).
    fn scan_line(input: &[u8]) -> Option<(Self, usize)>;
    /// The number spelled by exactly `input[start..stop]`, in the common
    /// case; may read a few bytes past `stop`.
    fn within(input: &[u8], start: usize, stop: usize) -> Option<Self>;
    /// Any number's text, or why it is not one of the type.
    fn parse(text: &str) -> Result<Self, String>;
    /// Whether `line`, as [`RecordKey::scan_line`] took it, is exactly the
    /// key's text as [`TextKey::write_lines`] writes it.
    fn is_canonical(line: &[u8]) -> bool;
    /// The key as records order: `-0.0` is `0.0`.
    fn normalized(self) -> Self;
}

macro_rules! integer_records {
    ($($t:ty),*) => {$(
        impl RecordKey for $t {
            const CANONICAL: bool = true;
            #[inline(always)]
            fn scan_line(input: &[u8]) -> Option<(Self, usize)> {
                scan_int(input)
            }
            #[inline(always)]
            fn within(input: &[u8], start: usize, stop: usize) -> Option<Self> {
                int_within(input, start, stop)
            }
            fn parse(text: &str) -> Result<Self, String> {
                parse_int(text)
            }
            #[inline(always)]
            fn is_canonical(line: &[u8]) -> bool {
                canonical_integer(line)
            }
            #[inline(always)]
            fn normalized(self) -> Self {
                self
            }
        }
    )*};
}
integer_records!(u32, u64, i32, i64);

macro_rules! float_records {
    ($($t:ty),*) => {$(
        impl RecordKey for $t {
            const CANONICAL: bool = false;
            #[inline(always)]
            fn scan_line(input: &[u8]) -> Option<(Self, usize)> {
                scan_float(input)
            }
            #[inline(always)]
            fn within(input: &[u8], start: usize, stop: usize) -> Option<Self> {
                float_within(&input[start..stop])
            }
            fn parse(text: &str) -> Result<Self, String> {
                parse_float(text)
            }
            fn is_canonical(_: &[u8]) -> bool {
                false
            }
            #[inline(always)]
            fn normalized(self) -> Self {
                // -0.0 == 0.0, so both become 0.0; every other value,
                // NaN payloads included, stays as it is.
                if self == 0.0 { 0.0 } else { self }
            }
        }
    )*};
}
float_records!(f32, f64);

/// Whether an integer line that `scan_int` took (an optional sign, digits,
/// an optional `\r`, its newline if it has one) is the number's canonical
/// text: no `+`, no leading zero, no `-0`, no `\r`.
#[inline(always)]
fn canonical_integer(line: &[u8]) -> bool {
    let text = line.strip_suffix(b"\n").unwrap_or(line);
    let digits = match text.split_first() {
        Some((b'-', digits)) => digits,
        Some((b'+', _)) => return false,
        _ => text,
    };
    match digits {
        [b'0'] => text.len() == 1,
        [b'0', ..] => false,
        _ => digits.last().is_some_and(u8::is_ascii_digit),
    }
}

/// The keys and line starts of the records of `input[body..]`, and whether
/// every line is canonical; `first_line` lines come before `body`.
pub(super) fn parse_as<T: RecordKey, P: Position>(
    input: &[u8],
    body: usize,
    first_line: usize,
    layout: &Layout,
) -> Result<(Vec<T>, Vec<P>, bool), ParseError> {
    let (mut keys, mut starts, canonical) = parse_with_room(
        input,
        body,
        first_line,
        layout,
        room_for(input.len() - body),
    )?;
    keys.shrink_to_fit();
    starts.shrink_to_fit();
    Ok((keys, starts, canonical))
}

/// A bound on the number of records in `bytes` bytes of lines: a record
/// takes at least two bytes with its newline, the last one perhaps one.
fn room_for(bytes: usize) -> usize {
    bytes / 2 + 1
}

/// [`parse_as`] into vectors with room for `room` records (address space
/// only: untouched pages cost nothing), at least as many as there are, so
/// that no push allocates and a failure is an error, not an abort; the
/// vectors keep that room.
fn parse_with_room<T: RecordKey, P: Position>(
    input: &[u8],
    body: usize,
    first_line: usize,
    layout: &Layout,
    room: usize,
) -> Result<(Vec<T>, Vec<P>, bool), ParseError> {
    // Room for one record per 2 bytes is address space the kernel may
    // refuse for a large input (more than memory and swap): then room for
    // the lines, counted.
    let (mut keys, mut starts) = match reserve::<T, P>(room) {
        Ok(both) => both,
        Err(_) => reserve(count_lines(&input[body..]))?,
    };
    let canonical = parse_into(input, body, first_line, layout, &mut keys, &mut starts)?;
    Ok((keys, starts, canonical))
}

/// Key and position vectors with room for `room` records each.
fn reserve<T, P>(room: usize) -> Result<(Vec<T>, Vec<P>), ParseError> {
    let out_of_memory = |_| ParseError::OutOfMemory {
        bytes: room.saturating_mul(size_of::<T>() + size_of::<P>()),
    };
    Ok((
        try_with_capacity(room).map_err(out_of_memory)?,
        try_with_capacity(room).map_err(out_of_memory)?,
    ))
}

/// Reads the records of `input[body..]` into `keys` and `starts` (no
/// starts while every line is canonical); returns whether every line is.
fn parse_into<T: RecordKey, P: Position>(
    input: &[u8],
    body: usize,
    first_line: usize,
    layout: &Layout,
    keys: &mut impl Out<T>,
    starts: &mut impl Out<P>,
) -> Result<bool, ParseError> {
    let canonical = match layout.field {
        None => whole_lines(input, body, first_line, keys, starts)?,
        Some(field) => {
            by_field(
                input,
                body,
                first_line,
                field.get(),
                layout.fields,
                keys,
                starts,
            )?;
            false
        }
    };
    Ok(canonical && T::CANONICAL)
}

/// Inputs below this many bytes are read on one thread: starting threads
/// and joining their keys would cost more than they save.
pub(super) const PARALLEL_BYTES: usize = 1 << 22;

/// What [`parse_as`] returns: the keys, the line starts, whether every
/// line is canonical.
type Parsed<T, P> = (Vec<T>, Vec<P>, bool);

/// [`parse_as`] on up to `threads` threads, each reading a contiguous run
/// of whole lines; the same result, and on an error the error of the first
/// bad line, as [`parse_as`] finds it.
pub(super) fn parse_as_parallel<T: RecordKey + Send, P: Position + Send>(
    input: &[u8],
    body: usize,
    first_line: usize,
    layout: &Layout,
    threads: usize,
) -> Result<Parsed<T, P>, ParseError> {
    // At least a MiB per thread: more threads than that only cost.
    let threads = threads.min((input.len() - body) >> 20).max(1);
    let bounds = line_bounds(input, body, threads);
    if bounds.len() <= 2 {
        return parse_as(input, body, first_line, layout);
    }
    // Every run is read into its own stretch of one pair of vectors, as if
    // its lines were the first (numbered from 1; only an error needs their
    // true numbers). A stretch holds the lines a sample of its run says it
    // has, and a little more; the join then moves each run left to follow
    // the one before, in pages the parse has touched already.
    let runs: Vec<Range<usize>> = bounds.windows(2).map(|w| w[0]..w[1]).collect();
    let room = room_for(input.len() - body);
    let (mut keys, mut starts, stretches) = match reserve::<T, P>(room) {
        Ok((keys, starts)) => (keys, starts, guessed_stretches(input, &runs)),
        Err(_) => {
            // Room for one record per 2 bytes is more address space than
            // the kernel gives: room for the lines, counted.
            let counts = each(runs.clone(), |run| count_lines(&input[run]));
            let (keys, starts) = reserve(counts.iter().sum())?;
            (keys, starts, counts)
        }
    };
    let mut key_room = &mut keys.spare_capacity_mut()[..];
    let mut start_room = &mut starts.spare_capacity_mut()[..];
    let mut parts = Vec::with_capacity(runs.len());
    for (i, run) in runs.iter().enumerate() {
        // The last run takes the rest of the room.
        let size = if i + 1 == runs.len() {
            key_room.len().min(start_room.len())
        } else {
            stretches[i].min(key_room.len()).min(start_room.len())
        };
        let (k, rest) = std::mem::take(&mut key_room).split_at_mut(size);
        key_room = rest;
        let (s, rest) = std::mem::take(&mut start_room).split_at_mut(size);
        start_room = rest;
        parts.push((run.clone(), Slots::new(k), Slots::new(s)));
    }
    let parsed = each(parts, |(run, mut keys, mut starts)| {
        let read = parse_into::<T, P>(
            &input[..run.end],
            run.start,
            0,
            layout,
            &mut keys,
            &mut starts,
        );
        (run, read, keys, starts)
    });
    let mut done = Vec::with_capacity(parsed.len());
    for (run, read, keys, starts) in parsed {
        match read {
            Ok(canonical) => done.push((run, canonical, keys, starts)),
            Err(e) => {
                let before = first_line + count_lines(&input[body..run.start]);
                return Err(e.after_lines(before));
            }
        }
    }
    let canonical = done.iter().all(|(_, canonical, _, _)| *canonical);
    let (mut key_runs, mut start_runs) = (Vec::new(), Vec::new());
    let mut at = 0;
    for (run, run_canonical, keys, mut starts) in done {
        if !canonical && run_canonical {
            // A run whose lines were all canonical kept no starts: find them.
            starts_before(input, run.start, run.end, &mut starts);
        }
        let size = keys.size();
        let (len, spill) = keys.into_parts();
        key_runs.push(Filled { at, len, spill });
        let (len, spill) = starts.into_parts();
        start_runs.push(Filled { at, len, spill });
        at += size;
    }
    // Only a run that did not fit in its stretch needs memory to join.
    let records: usize = key_runs.iter().map(|run| run.len + run.spill.len()).sum();
    let out_of_memory = || ParseError::OutOfMemory {
        bytes: records.saturating_mul(size_of::<T>() + size_of::<P>()),
    };
    // SAFETY: each run's slots wrote its first `len` places from `at`, in
    // stretches of the vectors' room that follow one another in order.
    unsafe { join(&mut keys, &key_runs) }.ok_or_else(out_of_memory)?;
    if canonical {
        starts = Vec::new();
    } else {
        // SAFETY: as for the keys.
        unsafe { join(&mut starts, &start_runs) }.ok_or_else(out_of_memory)?;
    }
    keys.shrink_to_fit();
    starts.shrink_to_fit();
    Ok((keys, starts, canonical))
}

/// The stretch of the shared vectors each run but the last is read into
/// (the last takes the rest of the room): the lines a sample of the run
/// holds, scaled to its length, with a margin; never more than the run
/// could hold, so that the stretches leave the last run about what it
/// could hold.
fn guessed_stretches(input: &[u8], runs: &[Range<usize>]) -> Vec<usize> {
    let before_last = &runs[..runs.len().saturating_sub(1)];
    before_last
        .iter()
        .map(|run| guess_lines(&input[run.clone()]).min(room_for(run.len())))
        .collect()
}

/// About how many lines `text` holds, from the newlines of 16 windows of
/// 4 KiB spread over it, and 1/32 more and 1024 more: a run whose lines
/// are about alike fits in that. A run that does not costs a copy, not a
/// wrong result (see [`join`]).
fn guess_lines(text: &[u8]) -> usize {
    const WINDOWS: usize = 16;
    const WINDOW: usize = 4096;
    if text.len() <= WINDOWS * WINDOW {
        return count_lines(text) + 1;
    }
    let step = text.len() / WINDOWS;
    let newlines: usize = (0..WINDOWS)
        .map(|i| memchr::memchr_iter(b'\n', &text[i * step..i * step + WINDOW]).count())
        .sum();
    let guess = (text.len() as u128 * newlines as u128 / (WINDOWS * WINDOW) as u128) as usize;
    guess + guess / 32 + 1024
}

/// The starts of up to `threads` runs of whole lines of `input[body..]`,
/// of about equal size, and the input's end: each bound but the first
/// follows a newline.
fn line_bounds(input: &[u8], body: usize, threads: usize) -> Vec<usize> {
    let len = input.len() - body;
    let mut bounds = vec![body];
    for i in 1..threads {
        let guess = body + len / threads * i;
        let last = *bounds.last().unwrap_or(&body);
        if guess <= last {
            continue;
        }
        match memchr(b'\n', &input[guess..]) {
            Some(nl) if guess + nl + 1 < input.len() => bounds.push(guess + nl + 1),
            _ => break,
        }
    }
    bounds.push(input.len());
    bounds.dedup();
    bounds
}

/// How many lines `text` holds (the last may lack its newline).
#[cold]
fn count_lines(text: &[u8]) -> usize {
    usize::try_from(crate::budget::count_lines_on(text, 1)).unwrap_or(usize::MAX)
}

/// Records whose whole line is the key; whether every line is canonical.
/// While every line so far is, no starts are kept (the keys alone will be
/// sorted); at the first line that is not, the starts of the lines before
/// it are found again, and kept from then on.
fn whole_lines<T: RecordKey, P: Position>(
    input: &[u8],
    body: usize,
    mut line: usize,
    keys: &mut impl Out<T>,
    starts: &mut impl Out<P>,
) -> Result<bool, ParseError> {
    let mut canonical = T::CANONICAL;
    let mut at = body;
    while at < input.len() {
        line += 1;
        let rest = &input[at..];
        let (key, used) = match T::scan_line(rest) {
            Some((key, used)) if !canonical || T::is_canonical(&rest[..used]) => (key, used),
            Some((key, used)) => {
                canonical = false;
                starts_before(input, body, at, starts);
                (key, used)
            }
            None => {
                if canonical {
                    canonical = false;
                    starts_before(input, body, at, starts);
                }
                let (content, used) = split_line(rest);
                let text = content.trim_ascii();
                if text.is_empty() {
                    return Err(ParseError::BlankLine { line });
                }
                let text = std::str::from_utf8(text).map_err(|_| ParseError::NotUtf8 { line })?;
                let key = T::parse(text).map_err(|problem| ParseError::Line {
                    line,
                    text: shorten(text),
                    problem,
                })?;
                (key, used)
            }
        };
        keys.push(key.normalized());
        if !canonical {
            starts.push(P::at(at));
        }
        at += used;
    }
    Ok(canonical)
}

/// Pushes the start of every line of `input[body..at]` (each ends with its
/// newline) onto `starts`.
#[cold]
fn starts_before<P: Position>(input: &[u8], body: usize, at: usize, starts: &mut impl Out<P>) {
    if at > body {
        starts.push(P::at(body));
    }
    let ends = memchr::memchr_iter(b'\n', &input[body..at]);
    starts.extend(
        ends.map(|end| P::at(body + end + 1))
            .filter(|s| s.offset() < at),
    );
}

/// Records whose key is field `field` (from 1), found in a line (without
/// its line end) by `find`: the field's bounds, or how many fields the line
/// has. With a `delimiter`, a line of up to 63 bytes is split in one go
/// first (see [`delimited_in_window`]).
fn by_field<T: RecordKey, P: Position>(
    input: &[u8],
    body: usize,
    mut line: usize,
    field: usize,
    fields: Fields,
    keys: &mut impl Out<T>,
    starts: &mut impl Out<P>,
) -> Result<(), ParseError> {
    let (delimiter, find): (_, FindField) = match fields {
        Fields::Delimiter(d) => (Some(d), delimited),
        Fields::Blanks => (None, |line, n, _| blank_separated(line, n)),
    };
    let mut at = body;
    while at < input.len() {
        line += 1;
        if let Some(delimiter) = delimiter
            && let Some((from, to, used)) = delimited_in_window(&input[at..], delimiter, field)
            && let Some(key) = T::within(input, at + from, at + to)
        {
            keys.push(key.normalized());
            starts.push(P::at(at));
            at += used;
            continue;
        }
        let (content, used) = split_line(&input[at..]);
        let (from, to) = find(content, field, delimiter.unwrap_or_default())
            .map_err(|found| ParseError::MissingField { line, field, found })?;
        let key = match T::within(input, at + from, at + to) {
            Some(key) => key,
            None => {
                let text = content[from..to].trim_ascii();
                if text.is_empty() {
                    return Err(ParseError::EmptyField { line, field });
                }
                let text = std::str::from_utf8(text)
                    .map_err(|_| ParseError::FieldNotUtf8 { line, field })?;
                T::parse(text).map_err(|problem| ParseError::Field {
                    line,
                    field,
                    text: shorten(text),
                    problem,
                })?
            }
        };
        keys.push(key.normalized());
        starts.push(P::at(at));
        at += used;
    }
    Ok(())
}

/// Where field `n` of a line is (with the delimiter, if fields have one):
/// its bounds, or the number of fields the line has.
type FindField = fn(&[u8], usize, u8) -> Result<(usize, usize), usize>;

/// The first line of `rest` without its `\n` or `\r\n`, and the bytes it
/// takes with its line end.
#[inline(always)]
fn split_line(rest: &[u8]) -> (&[u8], usize) {
    let (end, used) = match memchr(b'\n', rest) {
        Some(end) => (end, end + 1),
        None => (rest.len(), rest.len()),
    };
    let content = &rest[..end];
    (content.strip_suffix(b"\r").unwrap_or(content), used)
}

/// Field `n` (from 1) of the first line of `rest`, if that line ends
/// within the first 64 bytes and has the field: its bounds and the bytes
/// the line takes with its newline, from one pass of compares over the
/// window instead of a search per delimiter. `None` sends the line to the
/// general path ([`split_line`], [`delimited`]).
#[inline(always)]
fn delimited_in_window(rest: &[u8], delimiter: u8, n: usize) -> Option<(usize, usize, usize)> {
    let window = rest.first_chunk::<64>()?;
    let (newlines, delimiters) = masks64(window, b'\n', delimiter);
    if newlines == 0 {
        return None;
    }
    let end = newlines.trailing_zeros() as usize;
    let stop = if end > 0 && window[end - 1] == b'\r' {
        end - 1
    } else {
        end
    };
    // The delimiters within the line, the first ones dropped one by one.
    let mut inside = delimiters & ((1u64 << end) - 1);
    let mut from = 0;
    for _ in 1..n {
        if inside == 0 {
            return None;
        }
        from = inside.trailing_zeros() as usize + 1;
        inside &= inside - 1;
    }
    let to = if inside == 0 {
        stop
    } else {
        (inside.trailing_zeros() as usize).min(stop)
    };
    Some((from, to.max(from), end + 1))
}

/// Field `n` (from 1) of a line whose fields `delimiter` separates: its
/// bounds, or the number of fields the line has.
#[inline(always)]
fn delimited(line: &[u8], n: usize, delimiter: u8) -> Result<(usize, usize), usize> {
    let mut from = 0;
    for found in 1..n {
        match memchr(delimiter, &line[from..]) {
            Some(i) => from += i + 1,
            None => return Err(found),
        }
    }
    let to = memchr(delimiter, &line[from..]).map_or(line.len(), |i| from + i);
    Ok((from, to))
}

/// Field `n` (from 1) of a line whose fields runs of blanks separate: its
/// bounds, or the number of fields the line has.
fn blank_separated(line: &[u8], n: usize) -> Result<(usize, usize), usize> {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let mut at = 0;
    for found in 0..n {
        let Some(skip) = line[at..].iter().position(|b| !blank(b)) else {
            return Err(found);
        };
        let from = at + skip;
        let to = line[from..]
            .iter()
            .position(blank)
            .map_or(line.len(), |i| from + i);
        if found + 1 == n {
            return Ok((from, to));
        }
        at = to;
    }
    Err(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_read_into_room_for_their_lines_if_the_worst_case_is_refused() {
        let input = b"x\n3\n+1\n2";
        let layout = Layout::lines(wildhost_abi::KeyType::I64);
        let (keys, starts, canonical) =
            parse_with_room::<i64, u32>(input, 2, 1, &layout, usize::MAX / 4).unwrap();
        assert_eq!(
            (keys, starts, canonical),
            (vec![3, 1, 2], vec![2, 4, 7], false)
        );
    }

    /// The first of two runs has long lines where its line count is
    /// sampled and short ones elsewhere: its stretch is far too small, and
    /// the join copies the runs whole instead of moving them.
    #[test]
    fn a_run_with_more_lines_than_its_sample_says_is_read_whole() {
        let x = 6 << 20;
        let step = x / 16;
        let mut text = Vec::with_capacity(2 * x + 64);
        let mut i = 0u64;
        while text.len() < x {
            let at = text.len();
            let sampled = (at + 1024) % step < 4096 + 2048;
            let line = if sampled {
                format!("{}\n", 1_000_000_000_000_000 + i)
            } else {
                format!("{}\n", i % 10)
            };
            text.extend_from_slice(line.as_bytes());
            i += 1;
        }
        while text.len() < 2 * x {
            text.extend_from_slice(format!("{}\n", i % 100).as_bytes());
            i += 1;
        }
        let layout = Layout::lines(wildhost_abi::KeyType::U64);
        let runs: Vec<Range<usize>> = line_bounds(&text, 0, 2)
            .windows(2)
            .map(|w| w[0]..w[1])
            .collect();
        let guessed = guess_lines(&text[runs[0].clone()]);
        let lines = count_lines(&text[runs[0].clone()]);
        assert!(guessed < lines / 2, "guessed {guessed} of {lines} lines");
        let one = parse_as::<u64, u32>(&text, 0, 0, &layout).unwrap();
        let two = parse_as_parallel::<u64, u32>(&text, 0, 0, &layout, 2).unwrap();
        assert!(one == two, "the same records on two threads");
    }

    #[test]
    fn fields_are_counted_as_the_line_has_them() {
        assert_eq!(blank_separated(b"a b", 3), Err(2));
        assert_eq!(blank_separated(b"  ", 1), Err(0));
        assert_eq!(delimited(b"a,b", 3, b','), Err(2));
        assert_eq!(delimited(b"a,,b", 2, b','), Ok((2, 2)));
    }

    /// The one-window split agrees with the general one on every line it
    /// takes, and declines the rest.
    #[test]
    fn the_window_split_agrees_with_the_general_one() {
        let lines: [&[u8]; 9] = [
            b"a,12,b\n",
            b"a,12,b\r\n",
            b"a,,b\n",
            b",\n",
            b"a,12\r\n",
            b"12\n",
            b"a\n",
            b"x,y,z,w,v,u,t,s,r,q,p,o,n,m,l,k,j,i,h,g,f,e,d,c,b,a,1234567890\n",
            b"a,1,\r\n",
        ];
        for line in lines {
            for n in 1..5 {
                for pad in [&b""[..], b"9,9\n", &[b','; 64]] {
                    let rest = [line, pad, &[b'.'; 64][..]].concat();
                    let general = {
                        let (content, used) = split_line(&rest);
                        delimited(content, n, b',').ok().map(|(f, t)| (f, t, used))
                    };
                    let window = delimited_in_window(&rest, b',', n);
                    let long = line.len() > 64;
                    match window {
                        Some(found) => assert_eq!(Some(found), general, "{line:?} {n}"),
                        None => assert!(long || general.is_none(), "{line:?} {n}"),
                    }
                }
            }
        }
    }
}
