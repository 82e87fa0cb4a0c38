//! The line loop both text parsers share: each line goes to the type's
//! fast path, which reads the common case straight off the input, or when
//! that declines, to its full parser, which decides it and words the error
//! with the line's number. Also where a line ends, which the fast paths
//! look up first.

use super::ParseError;
use crate::keys::SortKey;
use crate::running::integrity::{BLOCK, Tally};

pub(super) fn parse_lines<T: SortKey>(
    input: &[u8],
    fast: fn(&[u8]) -> Option<(T, usize)>,
    parse: fn(&str) -> Result<T, String>,
    mut tally: Option<&mut Tally>,
) -> Result<Vec<T>, ParseError> {
    // A number takes at least two bytes with its newline: a cheap upper bound
    // (address space only: untouched pages cost nothing), so that no push
    // below allocates, and a failure is an error rather than an abort.
    let room = input.len() / 2 + 1;
    let mut keys = crate::mem::try_with_capacity(room).map_err(|_| ParseError::OutOfMemory {
        bytes: room.saturating_mul(size_of::<T>()),
    })?;
    let mut tallied = 0;
    let mut rest = input;
    let mut line = 0;
    while !rest.is_empty() {
        line += 1;
        let key = if let Some((key, used)) = fast(rest) {
            rest = &rest[used..];
            key
        } else {
            let (raw, next) = match rest.iter().position(|&b| b == b'\n') {
                Some(end) => (&rest[..end], &rest[end + 1..]),
                None => (rest, &rest[rest.len()..]),
            };
            rest = next;
            let trimmed = raw.trim_ascii();
            if trimmed.is_empty() {
                continue;
            }
            let text = std::str::from_utf8(trimmed).map_err(|_| ParseError::NotUtf8 { line })?;
            parse(text).map_err(|problem| ParseError::Line {
                line,
                text: shorten(text),
                problem,
            })?
        };
        keys.push(key);
        if keys.len() - tallied == BLOCK
            && let Some(tally) = tally.as_deref_mut()
        {
            tally.add(&keys[tallied..]);
            tallied = keys.len();
        }
    }
    if let Some(tally) = tally {
        tally.add(&keys[tallied..]);
    }
    keys.shrink_to_fit();
    Ok(keys)
}

/// The line as shown in an error: at most 60 characters, escapes visible.
pub(super) fn shorten(text: &str) -> String {
    let mut shown: String = text.chars().take(60).flat_map(char::escape_debug).collect();
    if text.chars().count() > 60 {
        shown.push('…');
    }
    shown
}

/// The longest line [`scan_int`](super::int::scan_int) and
/// [`scan_float`](super::float::scan_float) take, without its newline (a
/// sign, 19 digits and a `\r` for an integer); longer lines go through
/// the full parser.
const FAST_LINE: usize = 21;

/// Where the first line of `input` ends: the index of its newline, or the
/// input's length for a last line without one; `None` past `FAST_LINE`.
#[inline(always)]
pub(super) fn line_end(input: &[u8]) -> Option<usize> {
    if let Some(window) = input.first_chunk::<32>() {
        let end = newlines(window).trailing_zeros() as usize;
        return (end <= FAST_LINE).then_some(end);
    }
    match input.iter().take(FAST_LINE + 1).position(|&b| b == b'\n') {
        Some(end) => Some(end),
        None => (input.len() <= FAST_LINE).then_some(input.len()),
    }
}

/// A bit for each byte of `window` that is a newline, the first byte's
/// lowest.
#[inline(always)]
fn newlines(window: &[u8; 32]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        let at = window.as_ptr().cast::<__m128i>();
        // SAFETY: SSE2 is part of the x86-64 baseline; the two unaligned
        // 16-byte loads are the two halves of the 32-byte window.
        unsafe {
            let newline = _mm_set1_epi8(b'\n' as i8);
            let low = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(at), newline));
            let high = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(at.add(1)), newline));
            (low as u32 & 0xFFFF) | ((high as u32) << 16)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        (0..32).fold(0, |mask, i| mask | (u32::from(window[i] == b'\n') << i))
    }
}

/// Bits for each byte of `window` equal to `a`, and for each equal to `b`,
/// the first byte's lowest: where lines and fields end, for a line of up
/// to 63 bytes in one go.
#[inline(always)]
pub(super) fn masks64(window: &[u8; 64], a: u8, b: u8) -> (u64, u64) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        let at = window.as_ptr().cast::<__m128i>();
        // SAFETY: SSE2 is part of the x86-64 baseline; the four unaligned
        // 16-byte loads are the four quarters of the 64-byte window.
        unsafe {
            let (va, vb) = (_mm_set1_epi8(a as i8), _mm_set1_epi8(b as i8));
            let (mut ma, mut mb) = (0u64, 0u64);
            for quarter in 0..4 {
                let v = _mm_loadu_si128(at.add(quarter));
                let shift = 16 * quarter;
                ma |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, va)) as u16) << shift;
                mb |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, vb)) as u16) << shift;
            }
            (ma, mb)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        (0..64).fold((0, 0), |(ma, mb), i| {
            (
                ma | (u64::from(window[i] == a) << i),
                mb | (u64::from(window[i] == b) << i),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::masks64;
    use crate::codec::parse_text;
    use crate::keys::KeyVec;
    use wildhost_abi::KeyType;

    #[test]
    fn the_64_byte_masks_find_every_byte() {
        let mut window = [b'x'; 64];
        for i in [0, 15, 16, 31, 32, 47, 48, 63] {
            window[i] = b'\n';
        }
        window[5] = b',';
        window[62] = b',';
        let (newlines, commas) = masks64(&window, b'\n', b',');
        assert_eq!(
            newlines,
            [0, 15, 16, 31, 32, 47, 48, 63]
                .iter()
                .fold(0, |m, i| m | 1 << i)
        );
        assert_eq!(commas, 1 << 5 | 1 << 62);
    }

    #[test]
    fn text_ignores_blanks_and_blank_lines() {
        let keys = parse_text(b" 3\t\r\n\n  -1 \n2", KeyType::I64, None).unwrap();
        assert_eq!(keys, KeyVec::I64(vec![3, -1, 2]));
    }
}
