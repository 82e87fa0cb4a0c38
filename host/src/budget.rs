//! The memory a sort may take, and reading its input within it: one
//! estimate of what sorting an input needs ([`sort_needs`]), the most
//! input that fits a limit ([`largest_input`]), the memory available here
//! (the kernel's figure, lowered by a cgroup limit), and reading a file or
//! a stream that stops at the limit instead of filling memory.

use crate::mem::try_with_capacity;
use std::io;
use wildhost_abi::KeyType;

/// The two forms keys are read and written in. It lives here, below the
/// codec that reads and writes it, because the memory a sort needs
/// ([`sort_needs`]) depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// One key per line, as [`write_text`](crate::codec::write_text)
    /// writes them.
    Text,
    /// The raw little-endian array, as
    /// [`write_binary`](crate::codec::write_binary) writes it.
    Binary,
}

/// The most memory, in bytes, that sorting an input of `input_bytes` bytes
/// can take: `key_type` keys read and written in `encoding`, sorted by a
/// backend that declares `scratch_percent` (of the bytes it sorts) of
/// scratch memory.
///
/// Binary: the keys are the input's size, held throughout; beside them,
/// one at a time, the input (while it is parsed), the backend's scratch
/// (while it sorts) and the output (while it is written), so the need is
/// the keys plus the largest of the three.
///
/// Text is records, written back line by line from the input: the input is
/// held throughout, and with it a key and a line position per record (the
/// number of records is bounded by the input: at most one per 2 bytes, a
/// digit and a newline); beside them, one at a time, the backend's scratch
/// for those pairs and the buffer the output is gathered in
/// ([`text_buffer`]).
///
/// This is the one estimate `sort` checks against its memory limit
/// ([`largest_input`] turns it into a number of input bytes).
pub fn sort_needs(
    input_bytes: u64,
    key_type: KeyType,
    scratch_percent: u32,
    encoding: Encoding,
) -> u64 {
    let size = key_type.size() as u64;
    let scratch = |bytes: u64| bytes.saturating_mul(u64::from(scratch_percent)) / 100;
    match encoding {
        Encoding::Binary => {
            let keys = input_bytes / size * size;
            let output = output_bound(input_bytes, encoding);
            keys.saturating_add(input_bytes.max(scratch(keys)).max(output))
        }
        Encoding::Text => text_needs(
            input_bytes,
            input_bytes.div_ceil(2),
            key_type,
            scratch_percent,
        ),
    }
}

/// [`sort_needs`] of text whose records are known to be at most `records`
/// (its lines, counted): the same estimate, with that bound in place of
/// one record per 2 bytes.
pub fn text_needs(input_bytes: u64, records: u64, key_type: KeyType, scratch_percent: u32) -> u64 {
    let size = key_type.size() as u64;
    let pairs = records.saturating_mul(size + position_size(input_bytes));
    let scratch = pairs.saturating_mul(u64::from(scratch_percent)) / 100;
    input_bytes
        .saturating_add(pairs)
        .saturating_add(scratch.max(text_buffer(input_bytes)))
}

/// A bound on the records of `text`: its lines (a last one without its
/// newline counts), counted on up to `threads` threads.
pub fn count_lines_on(text: &[u8], threads: usize) -> u64 {
    let part = text.len().div_ceil(threads.max(1)).max(1 << 22);
    let parts: Vec<&[u8]> = text.chunks(part).collect();
    let newlines: usize = crate::threads::each(parts, |p| memchr::memchr_iter(b'\n', p).count())
        .into_iter()
        .sum();
    newlines as u64 + u64::from(text.last().is_some_and(|&b| b != b'\n'))
}

/// The bytes a record's line position takes: 4 while the input is under
/// 4 GiB, else 8.
pub fn position_size(input_bytes: u64) -> u64 {
    if input_bytes <= u64::from(u32::MAX) {
        4
    } else {
        8
    }
}

/// Text output is gathered in a buffer of up to this many bytes, then
/// written out.
pub const TEXT_BUFFER: u64 = 1 << 20;

/// The buffer text output of an input of `input_bytes` bytes is gathered
/// in: [`TEXT_BUFFER`], or the whole output if that is smaller (but at
/// least 64 bytes, room for two lines of the longest keys).
pub fn text_buffer(input_bytes: u64) -> u64 {
    input_bytes.saturating_add(1).clamp(64, TEXT_BUFFER)
}

/// The most bytes of output an input of `input_bytes` bytes of `key_type`
/// keys in `encoding` sorts into. Binary output is the input's size; text
/// output is the input's lines, the last given a newline if it lacked one.
pub fn output_bound(input_bytes: u64, encoding: Encoding) -> u64 {
    match encoding {
        Encoding::Binary => input_bytes,
        Encoding::Text => input_bytes.saturating_add(1),
    }
}

/// The most input bytes whose [`sort_needs`] stays within `limit` bytes.
pub fn largest_input(
    limit: u64,
    key_type: KeyType,
    scratch_percent: u32,
    encoding: Encoding,
) -> u64 {
    let fits = |bytes| sort_needs(bytes, key_type, scratch_percent, encoding) <= limit;
    // The need grows with the input and is at least the input: a search
    // between 0 and `limit` bytes.
    let (mut low, mut high) = (0u64, limit);
    if !fits(0) {
        return 0;
    }
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        if fits(mid) {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    low
}

/// Why an input could not be read whole.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Reading failed, or the memory to read into could not be had.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The input holds more bytes than the caller would take: at least
    /// `at_least` (a file's length, or one more than the limit of a stream
    /// such as standard input or `/dev/zero`, which may never end).
    #[error("it holds more than {limit} bytes")]
    TooLarge {
        /// The bytes the input holds at least.
        at_least: u64,
        /// The most bytes the caller would take.
        limit: u64,
    },
}

/// Reads a whole file into a buffer sized from its length, refusing one of
/// more than `limit` bytes before reading it (see [`read_all`]).
pub fn read_file(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > limit {
        return Err(ReadError::TooLarge {
            at_least: len,
            limit,
        });
    }
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    // One byte more, so that reading to the end needs no second allocation.
    let mut bytes = try_with_capacity(len.saturating_add(1))?;
    read_all(file, &mut bytes, limit)?;
    Ok(bytes)
}

/// Files of at least this many bytes are read by [`read_file_on`] with
/// several threads.
const PARALLEL_READ: usize = 16 << 20;

/// [`read_file`] with up to `threads` threads, each reading one part of a
/// regular file with `pread`: the kernel's copy from the page cache and
/// the page faults of the buffer run side by side. The same bytes as
/// [`read_file`] (a file that grows while being read is read on to its
/// end; one that shrinks is read up to its new end).
pub fn read_file_on(
    path: &std::path::Path,
    limit: u64,
    threads: usize,
) -> Result<Vec<u8>, ReadError> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    let len = meta.len();
    if len > limit {
        return Err(ReadError::TooLarge {
            at_least: len,
            limit,
        });
    }
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if threads < 2 || !meta.is_file() || len < PARALLEL_READ {
        let mut bytes = try_with_capacity(len.saturating_add(1))?;
        read_all(file, &mut bytes, limit)?;
        return Ok(bytes);
    }
    let mut bytes: Vec<u8> = try_with_capacity(len.saturating_add(1))?;
    // At least 4 MiB a thread.
    let threads = threads.min(len >> 22).max(1);
    let part = len.div_ceil(threads);
    let file = &file;
    let parts: Vec<_> = bytes.spare_capacity_mut()[..len]
        .chunks_mut(part)
        .enumerate()
        .collect();
    let read: Vec<io::Result<usize>> =
        crate::threads::each(parts, |(i, room)| pread_all(file, room, (i * part) as u64));
    // The parts are whole up to the first short one (the file shrank):
    // the bytes read are the file's first `got`.
    let mut got = 0;
    for (i, n) in read.into_iter().enumerate() {
        let n = n?;
        if got == i * part {
            got += n;
        }
    }
    // SAFETY: `pread_all` initialised the first `n` bytes of each part, and
    // the parts before the first short one are whole, so the first `got`
    // bytes are initialised, within the capacity.
    unsafe { bytes.set_len(got) };
    if got == len {
        // Read on, in case the file grew: as `read_file` would.
        use std::io::{Seek, SeekFrom};
        let mut file = file;
        file.seek(SeekFrom::Start(len as u64))?;
        read_all(file, &mut bytes, limit)?;
    }
    Ok(bytes)
}

/// Reads `room.len()` bytes of `file` from `offset` into `room`, or up to
/// the file's end; returns how many were read, all initialised.
fn pread_all(
    file: &std::fs::File,
    room: &mut [std::mem::MaybeUninit<u8>],
    offset: u64,
) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let mut done = 0;
    while done < room.len() {
        let at = i64::try_from(offset + done as u64)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset past 2^63"))?;
        // SAFETY: the pointer and length describe the unread rest of
        // `room`, memory this thread borrows exclusively; `pread` writes
        // at most that many bytes into it and reads nothing from it.
        let n = unsafe {
            libc::pread(
                file.as_raw_fd(),
                room.as_mut_ptr().add(done).cast(),
                room.len() - done,
                at,
            )
        };
        match n {
            0 => break,
            n if n > 0 => done += n as usize,
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
    Ok(done)
}

/// Reads `reader` to its end into `bytes`, refusing to hold more than
/// `limit` bytes. Memory is overcommitted on Linux: growing a buffer
/// without bound (an input that never ends, like `/dev/zero`, or one
/// larger than the machine) does not fail, the kernel's out-of-memory
/// killer ends the process instead, with no word of why.
pub fn read_all(reader: impl io::Read, bytes: &mut Vec<u8>, limit: u64) -> Result<(), ReadError> {
    use std::io::Read;
    let room = limit.saturating_sub(bytes.len() as u64);
    reader.take(room.saturating_add(1)).read_to_end(bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            at_least: bytes.len() as u64,
            limit,
        });
    }
    Ok(())
}

/// The memory a new allocation can use without swapping, as the kernel
/// estimates it (`MemAvailable` in `/proc/meminfo`), or less if this
/// process's memory cgroup (a container's limit) leaves less; `None` if
/// unknown.
pub fn available_memory() -> Option<u64> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let info = read("/proc/meminfo")?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    let machine = kib.checked_mul(1024)?;
    let group = read("/proc/self/cgroup").and_then(|groups| cgroup_room(&groups, read));
    Some(group.map_or(machine, |room| room.min(machine)))
}

/// The room left under the memory limit of the cgroup named in
/// `/proc/self/cgroup` (`groups`), cgroup v2 or v1, through `read` of the
/// files under `/sys/fs/cgroup`; `None` without a limit.
fn cgroup_room(groups: &str, read: impl Fn(&str) -> Option<String>) -> Option<u64> {
    let number = |text: Option<String>| text?.trim().parse::<u64>().ok();
    for line in groups.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let path = path.trim_end_matches('/');
        let (limit, usage) = if controllers.is_empty() {
            let dir = format!("/sys/fs/cgroup{path}");
            (
                number(read(&format!("{dir}/memory.max"))),
                number(read(&format!("{dir}/memory.current"))),
            )
        } else if controllers.split(',').any(|c| c == "memory") {
            let dir = format!("/sys/fs/cgroup/memory{path}");
            (
                number(read(&format!("{dir}/memory.limit_in_bytes"))),
                number(read(&format!("{dir}/memory.usage_in_bytes"))),
            )
        } else {
            continue;
        };
        // v2 says `max` and v1 a number near 2^63 for no limit.
        if let Some(limit) = limit.filter(|&l| l < 1 << 60) {
            return Some(limit.saturating_sub(usage.unwrap_or(0)));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_on_threads_with_a_last_one_unended() {
        for (text, lines) in [("", 0), ("7", 1), ("7\n", 1), ("7\n\n8", 3)] {
            assert_eq!(count_lines_on(text.as_bytes(), 2), lines, "{text:?}");
        }
        // Parts of 4 MiB: several threads, a newline at each part's edge.
        let mut big = vec![b'5'; 9 << 20];
        for at in [0, (4 << 20) - 1, 4 << 20, (8 << 20) + 3] {
            big[at] = b'\n';
        }
        for threads in [1, 2, 3, 8] {
            assert_eq!(count_lines_on(&big, threads), 5, "{threads} threads");
        }
    }

    #[test]
    fn text_with_counted_lines_needs_what_its_records_take() {
        let bytes = 40_000;
        let worst = sort_needs(bytes, KeyType::I64, 100, Encoding::Text);
        assert_eq!(worst, text_needs(bytes, 20_000, KeyType::I64, 100));
        // 2000 records of 12 bytes, their scratch below the output's buffer.
        assert_eq!(
            text_needs(bytes, 2_000, KeyType::I64, 100),
            bytes + 24_000 + text_buffer(bytes)
        );
    }

    #[test]
    fn reading_stops_at_the_limit_with_an_error() {
        let input = vec![7u8; 100];
        for limit in [100, 101, 1000] {
            let mut bytes = Vec::new();
            read_all(&input[..], &mut bytes, limit).expect("within the limit");
            assert_eq!(bytes, input);
        }
        for limit in [0, 50, 99] {
            let mut bytes = Vec::new();
            let e = read_all(&input[..], &mut bytes, limit).expect_err("over the limit");
            assert!(
                matches!(e, ReadError::TooLarge { at_least, limit: l } if at_least == limit + 1 && l == limit),
                "{e:?}"
            );
            assert!(
                bytes.len() as u64 <= limit + 1,
                "read no further than needed"
            );
        }
        // An input that never ends stops at the limit too.
        let mut bytes = Vec::new();
        let e = read_all(io::repeat(0), &mut bytes, 1 << 20).expect_err("endless");
        assert!(matches!(e, ReadError::TooLarge { .. }), "{e:?}");
        // A file is refused from its length, before it is read.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("in.bin");
        std::fs::write(&path, &input).expect("write");
        assert!(matches!(
            read_file(&path, 99),
            Err(ReadError::TooLarge {
                at_least: 100,
                limit: 99
            })
        ));
        assert_eq!(read_file(&path, 100).expect("fits"), input);
        assert!(available_memory().is_some_and(|bytes| bytes > 0));
    }

    /// The estimate bounds what parsing and writing really take, on the
    /// inputs that hold the most records per byte.
    #[test]
    fn the_sort_estimate_bounds_the_records_and_the_output() {
        use crate::codec::records::{Layout, Records};
        use crate::codec::{parse_binary, write_binary};
        let cases: [(&[u8], KeyType); 5] = [
            (b"7\n", KeyType::I64),
            (b"7", KeyType::U64),
            (b"1e15", KeyType::F64),
            (b"1\n", KeyType::F32),
            (b"-0\n", KeyType::F64),
        ];
        for (line, key_type) in cases {
            for repeat in [1, 2, 1000] {
                let input = if line.ends_with(b"\n") {
                    line.repeat(repeat)
                } else {
                    [[line, b"\n"].concat().repeat(repeat - 1), line.to_vec()].concat()
                };
                let records = Records::parse(&input, &Layout::lines(key_type)).expect("parses");
                let mut out = Vec::new();
                records.write(false, &mut out).expect("written");
                let len = input.len() as u64;
                let pairs = (records.len() * (key_type.size() + 4)) as u64;
                assert!(out.len() as u64 <= output_bound(len, Encoding::Text));
                assert!(sort_needs(len, key_type, 0, Encoding::Text) >= len + pairs);
                assert!(sort_needs(len, key_type, 100, Encoding::Text) >= len + 2 * pairs);
            }
        }
        // `7\n` as i64: the input, a key and a position per 2 bytes, and the
        // larger of the scratch and the output's buffer.
        assert_eq!(sort_needs(100, KeyType::I64, 0, Encoding::Text), 801);
        assert_eq!(
            sort_needs(1_000_000, KeyType::I64, 100, Encoding::Text),
            13_000_000
        );
        // Binary: the keys are the input's size; radix's scratch as much again.
        let mut binary = Vec::new();
        write_binary(
            &parse_binary(&[1; 80], KeyType::U64, None).expect("keys"),
            &mut binary,
            None,
        );
        assert_eq!(output_bound(80, Encoding::Binary), binary.len() as u64);
        assert_eq!(sort_needs(80, KeyType::U64, 0, Encoding::Binary), 160);
        assert_eq!(sort_needs(80, KeyType::U64, 100, Encoding::Binary), 160);
        assert_eq!(sort_needs(80, KeyType::U64, 250, Encoding::Binary), 280);
        assert_eq!(
            sort_needs(u64::MAX, KeyType::U64, u32::MAX, Encoding::Text),
            u64::MAX
        );
    }

    #[test]
    fn the_largest_input_is_the_last_whose_estimate_fits() {
        for (key_type, percent, encoding) in [
            (KeyType::I64, 0, Encoding::Text),
            (KeyType::F32, 100, Encoding::Text),
            (KeyType::U32, 100, Encoding::Binary),
        ] {
            for limit in [0, 1, 7, 1000, 123_456_789, u64::MAX] {
                let largest = largest_input(limit, key_type, percent, encoding);
                let needs = |bytes| sort_needs(bytes, key_type, percent, encoding);
                assert!(needs(largest) <= limit || largest == 0, "{limit}");
                if largest < u64::MAX {
                    assert!(needs(largest + 1) > limit, "{limit}");
                }
            }
        }
        assert_eq!(largest_input(801, KeyType::I64, 0, Encoding::Text), 100);
        assert_eq!(largest_input(800, KeyType::I64, 0, Encoding::Text), 99);
    }

    #[test]
    fn a_cgroup_limit_lowers_the_memory_available() {
        let files = |path: &str| -> Option<String> {
            Some(
                match path {
                    "/sys/fs/cgroup/box/memory.max" => "1000\n",
                    "/sys/fs/cgroup/box/memory.current" => "300\n",
                    "/sys/fs/cgroup/free/memory.max" => "max\n",
                    "/sys/fs/cgroup/memory/v1/memory.limit_in_bytes" => "5000\n",
                    "/sys/fs/cgroup/memory/v1/memory.usage_in_bytes" => "1200\n",
                    "/sys/fs/cgroup/memory/big/memory.limit_in_bytes" => "9223372036854771712",
                    _ => return None,
                }
                .to_string(),
            )
        };
        assert_eq!(cgroup_room("0::/box\n", files), Some(700));
        assert_eq!(cgroup_room("0::/free\n", files), None);
        assert_eq!(cgroup_room("4:memory:/v1\n0::/\n", files), Some(3800));
        assert_eq!(cgroup_room("5:cpu,memory:/v1\n", files), Some(3800));
        assert_eq!(cgroup_room("4:memory:/big\n0::/\n", files), None);
        assert_eq!(cgroup_room("3:cpuset:/\n", files), None);
        assert_eq!(cgroup_room("garbage", files), None);
    }

    #[test]
    fn reading_on_several_threads_gives_the_file_s_bytes() {
        let dir = tempfile::tempdir().expect("a temp dir");
        for len in [0, 5, PARALLEL_READ - 1, PARALLEL_READ + 12_345] {
            let path = dir.path().join(format!("f{len}"));
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            std::fs::write(&path, &bytes).expect("writes");
            for threads in [1, 2, 3, 8] {
                let got = read_file_on(&path, u64::MAX, threads).expect("reads");
                assert!(got == bytes, "{len} bytes on {threads} threads");
            }
            if len > 0 {
                let refused = read_file_on(&path, len as u64 - 1, 2);
                assert!(matches!(refused, Err(ReadError::TooLarge { .. })));
            }
        }
    }
}
