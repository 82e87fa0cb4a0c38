//! Reading records: each line's key (the whole line, or a field found by
//! its delimiter or by blanks) and where the line starts, with a fast
//! path for the common line in one 64-byte window.

use super::{Fields, Layout, Position};
use crate::codec::float::{float_within, parse_float, scan_float};
use crate::codec::int::{int_within, parse_int, scan_int};
use crate::codec::lines::{masks64, shorten};
use crate::codec::{ParseError, TextKey};
use crate::mem::try_with_capacity;
use crate::threads::each;
use memchr::memchr;

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
    let reserve = |room: usize| -> Result<(Vec<T>, Vec<P>), ParseError> {
        let out_of_memory = |_| ParseError::OutOfMemory {
            bytes: room.saturating_mul(size_of::<T>() + size_of::<P>()),
        };
        Ok((
            try_with_capacity(room).map_err(out_of_memory)?,
            try_with_capacity(room).map_err(out_of_memory)?,
        ))
    };
    // Room for one record per 2 bytes is address space the kernel may
    // refuse for a large input (more than memory and swap): then room for
    // the lines, counted.
    let (mut keys, mut starts) = match reserve(room) {
        Ok(both) => both,
        Err(_) => reserve(count_lines(&input[body..]))?,
    };
    let canonical = match layout.field {
        None => whole_lines(input, body, first_line, &mut keys, &mut starts)?,
        Some(field) => {
            by_field(
                input,
                body,
                first_line,
                field.get(),
                layout.fields,
                &mut keys,
                &mut starts,
            )?;
            false
        }
    };
    Ok((keys, starts, canonical && T::CANONICAL))
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
    // Each run is read as if its lines were the first (numbered from 1);
    // only an error needs their true numbers. The first run's vectors have
    // room for every run's records: the others are copied in after them,
    // and the first run's keys, about one in `threads`, are never copied.
    let runs: Vec<(usize, usize, usize)> = bounds
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let room = room_for(if i == 0 { input.len() } else { w[1] } - w[0]);
            (w[0], w[1], room)
        })
        .collect();
    let parts: Vec<Result<Parsed<T, P>, ParseError>> = each(runs, |(from, to, room)| {
        parse_with_room::<T, P>(&input[..to], from, 0, layout, room)
    });
    let mut done = Vec::with_capacity(parts.len());
    for (i, part) in parts.into_iter().enumerate() {
        match part {
            Ok(part) => done.push(part),
            Err(e) => {
                let before = first_line + count_lines(&input[body..bounds[i]]);
                return Err(e.after_lines(before));
            }
        }
    }
    let canonical = done.iter().all(|(_, _, canonical)| *canonical);
    if !canonical {
        // A run whose lines were all canonical kept no starts: find them.
        for ((_, starts, part_canonical), w) in done.iter_mut().zip(bounds.windows(2)) {
            if *part_canonical {
                starts_before(input, w[0], w[1], starts);
            }
        }
    }
    let mut runs = done.into_iter();
    let Some((mut keys, mut starts, _)) = runs.next() else {
        return parse_as(input, body, first_line, layout);
    };
    let rest: Vec<Parsed<T, P>> = runs.collect();
    append(
        &mut keys,
        rest.iter().map(|(keys, _, _)| keys.as_slice()),
        threads,
    )?;
    if canonical {
        starts = Vec::new();
    } else {
        append(
            &mut starts,
            rest.iter().map(|(_, starts, _)| starts.as_slice()),
            threads,
        )?;
    }
    drop(rest);
    keys.shrink_to_fit();
    starts.shrink_to_fit();
    Ok((keys, starts, canonical))
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

/// Where a piece of a part goes, and the piece.
type Piece<'a, 'p, T> = (&'a mut [std::mem::MaybeUninit<T>], &'p [T]);

/// Appends the parts to `all`, in order, the copying split evenly over up
/// to `threads` threads (this one among them; a thread that cannot start
/// leaves its share to this one).
fn append<'p, T: Copy + Send + Sync + 'p>(
    all: &mut Vec<T>,
    parts: impl Iterator<Item = &'p [T]> + Clone,
    threads: usize,
) -> Result<(), ParseError> {
    let total: usize = parts.clone().map(<[T]>::len).sum();
    all.try_reserve_exact(total)
        .map_err(|_| ParseError::OutOfMemory {
            bytes: (all.len() + total).saturating_mul(size_of::<T>()),
        })?;
    let len = all.len();
    // Each thread's share: pieces of the parts, in order, about
    // `total / threads` keys in all.
    let share = total.div_ceil(threads.max(1)).max(1);
    let mut shares: Vec<Vec<Piece<'_, 'p, T>>> = Vec::new();
    let mut room = &mut all.spare_capacity_mut()[..total];
    let mut taken = share;
    for mut part in parts {
        while !part.is_empty() {
            if taken == share {
                shares.push(Vec::new());
                taken = 0;
            }
            let n = part.len().min(share - taken);
            let (here, rest) = std::mem::take(&mut room).split_at_mut(n);
            room = rest;
            let (piece, left) = part.split_at(n);
            part = left;
            if let Some(last) = shares.last_mut() {
                last.push((here, piece));
            }
            taken += n;
        }
    }
    each(shares, |pieces| {
        for (here, piece) in pieces {
            for (slot, &x) in here.iter_mut().zip(piece) {
                slot.write(x);
            }
        }
    });
    // SAFETY: the copies, all done, wrote each of the `total` elements
    // after the first `len` (the pieces cover the parts, whose lengths add
    // up to `total`), within the capacity reserved above.
    unsafe { all.set_len(len + total) };
    Ok(())
}

/// Records whose whole line is the key; whether every line is canonical.
/// While every line so far is, no starts are kept (the keys alone will be
/// sorted); at the first line that is not, the starts of the lines before
/// it are found again, and kept from then on.
fn whole_lines<T: RecordKey, P: Position>(
    input: &[u8],
    body: usize,
    mut line: usize,
    keys: &mut Vec<T>,
    starts: &mut Vec<P>,
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
fn starts_before<P: Position>(input: &[u8], body: usize, at: usize, starts: &mut Vec<P>) {
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
    keys: &mut Vec<T>,
    starts: &mut Vec<P>,
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

    #[test]
    fn appending_on_threads_keeps_every_part_in_order() {
        let parts: Vec<Vec<u64>> = [0, 5, 0, 1, 17, 3]
            .iter()
            .scan(100, |next, &len| {
                *next += len;
                Some((*next - len..*next).collect())
            })
            .collect();
        let expected: Vec<u64> = (7..100).chain(100..126).collect();
        for threads in [1, 2, 3, 4, 7, 64] {
            let mut all: Vec<u64> = (7..100).collect();
            append(&mut all, parts.iter().map(Vec::as_slice), threads).unwrap();
            assert_eq!(all, expected, "{threads} threads");
        }
        let mut none: Vec<u64> = vec![1];
        append(&mut none, std::iter::empty(), 2).unwrap();
        assert_eq!(none, [1]);
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
