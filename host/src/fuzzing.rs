//! Fuzz targets: the parts of the host that read untrusted bytes, each
//! wrapped as a function of arbitrary input that must never panic, crash or
//! read out of bounds. `fuzz/` runs them under libFuzzer; the test suite
//! replays the kept corpus and a seeded mutation run on stable.
//!
//! Not part of the API.

use crate::codec;
use crate::keys::KeyVec;
use crate::keys::SortKey;
use crate::loading::preflight;
use crate::loading::validate::{HostAbi, validate_with};
use crate::running::integrity::{self, OutputCheck, Tally};
use crate::wire::{Failure, HostRequest, IsolateReport, ReportKind, ScanEvent, WorkerReport};
use crate::with_keys;
use std::ffi::c_char;
use wildhost_abi::{AbiTag, KeyType, MAGIC, MethodDef, ModuleDef};

/// The record reader and writer, as the first byte lays the rest out (key
/// type, whole line or field 1 to 3, blanks or commas, a header or not):
/// whatever parses is written back as the input's own lines (each ended
/// by a newline), in input order before sorting; sorted by a stable
/// argsort of its keys it passes the result check, and written either way
/// round it holds the input's lines once each.
pub fn records(data: &[u8]) {
    use crate::codec::records::{Fields, Layout, Records};
    let Some((&how, input)) = data.split_first() else {
        return;
    };
    let layout = Layout {
        key_type: KeyType::ALL[usize::from(how % 6)],
        field: std::num::NonZeroUsize::new(usize::from(how / 6 % 4)),
        fields: if how & 0x40 != 0 {
            Fields::Delimiter(b',')
        } else {
            Fields::Blanks
        },
        header: how & 0x80 != 0,
    };
    let Ok(mut records) = Records::parse(input, &layout) else {
        return;
    };
    let mut lines: Vec<&[u8]> = input.split_inclusive(|&b| b == b'\n').collect();
    let mut whole = input.to_vec();
    if whole.last().is_some_and(|&b| b != b'\n') {
        whole.push(b'\n');
    }
    let mut out = Vec::new();
    records.write(false, &mut out).expect("written to memory");
    assert!(out == whole, "unsorted records are not the input's lines");
    let print = records.fingerprint();
    let order: Vec<u64> = with_keys!(records.keys(), v => {
        let mut order: Vec<u64> = (0..v.len() as u64).collect();
        order.sort_by(|&a, &b| SortKey::order(&v[a as usize], &v[b as usize]));
        order
    });
    records
        .apply_order(&order)
        .expect("a permutation of the records");
    assert_eq!(
        records.verify(print),
        Ok(()),
        "a stable sort fails the check"
    );
    let ended = |line: &[u8]| {
        let mut line = line.to_vec();
        if line.last() != Some(&b'\n') {
            line.push(b'\n');
        }
        line
    };
    let mut expected: Vec<Vec<u8>> = lines.drain(..).map(ended).collect();
    expected.sort();
    for reverse in [false, true] {
        let mut out = Vec::new();
        records.write(reverse, &mut out).expect("written to memory");
        let mut got: Vec<Vec<u8>> = out
            .split_inclusive(|&b| b == b'\n')
            .map(<[u8]>::to_vec)
            .collect();
        got.sort();
        assert!(got == expected, "sorted records lost or changed a line");
    }
}

/// The text parser on every key type: whatever it accepts, the writer's
/// output must parse back to the same keys (NaN payloads aside, which text
/// does not carry), the fingerprint taken while parsing must be the one of
/// the keys, and the result check must pass the keys once sorted.
pub fn text(data: &[u8]) {
    for key_type in KeyType::ALL {
        let mut tally = Tally::default();
        let Ok(mut keys) = codec::parse_text(data, key_type, Some(&mut tally)) else {
            continue;
        };
        let print = tally.finish();
        assert_eq!(
            print,
            with_keys!(&keys, v => integrity::fingerprint(v)),
            "the parser's fingerprint differs"
        );
        let mut out = Vec::new();
        codec::write_text(&keys, &mut out, None);
        let again = match codec::parse_text(&out, key_type, None) {
            Ok(again) => again,
            Err(e) => panic!("written text does not parse back: {e}"),
        };
        assert!(
            same_keys(&keys, &again),
            "text did not round-trip as {key_type}"
        );
        let mut binary = Vec::new();
        codec::write_binary(&keys, &mut binary, None);
        match codec::parse_binary(&binary, key_type, None) {
            Ok(back) => assert!(same_keys(&keys, &back), "binary did not round-trip"),
            Err(e) => panic!("written binary does not parse back: {e}"),
        }
        with_keys!(&mut keys, v => v.sort_unstable_by(SortKey::order));
        let mut check = OutputCheck::default();
        codec::write_binary(&keys, &mut Vec::new(), Some(&mut check));
        assert_eq!(
            check.finish(print),
            Ok(()),
            "the sorted keys fail the check"
        );
    }
}

fn same_keys(a: &KeyVec, b: &KeyVec) -> bool {
    fn floats<T: Copy>(a: &[T], b: &[T], bits: impl Fn(T) -> (bool, u64)) -> bool {
        a.len() == b.len()
            && a.iter().zip(b).all(|(&x, &y)| {
                let ((xn, xb), (yn, yb)) = (bits(x), bits(y));
                // NaN: only the sign survives text.
                if xn && yn {
                    (xb >> 63) == (yb >> 63)
                } else {
                    xb == yb
                }
            })
    }
    match (a, b) {
        (KeyVec::U32(a), KeyVec::U32(b)) => a == b,
        (KeyVec::U64(a), KeyVec::U64(b)) => a == b,
        (KeyVec::I32(a), KeyVec::I32(b)) => a == b,
        (KeyVec::I64(a), KeyVec::I64(b)) => a == b,
        (KeyVec::F32(a), KeyVec::F32(b)) => floats(a, b, |x: f32| {
            (
                x.is_nan(),
                (u64::from(x.to_bits() >> 31) << 63) | u64::from(x.to_bits()),
            )
        }),
        (KeyVec::F64(a), KeyVec::F64(b)) => floats(a, b, |x: f64| (x.is_nan(), x.to_bits())),
        _ => false,
    }
}

/// The object-file preflight on arbitrary bytes as a would-be plugin.
pub fn object(data: &[u8]) {
    let _ = preflight::check_object(data, "fuzz");
}

/// The nonce of the scanner lines in the `wire` corpus.
const NONCE: &str = "wildhost-scan-f";

/// The decoders of [`crate::wire`] on arbitrary bytes, as every message
/// the host reads from a child: whatever one accepts must encode to bytes
/// that decode to the same message again. (Not to the same bytes: a
/// message's text is read lossily.) Each line of the input, read lossily
/// as text, is also a line of the scanner's stdout.
pub fn wire(data: &[u8]) {
    if let Ok(report) = WorkerReport::decode(data) {
        let again = WorkerReport::decode(&report.encode());
        assert_eq!(again, Ok(report), "a worker report did not round-trip");
    }
    for kind in (0..=u8::MAX).filter_map(ReportKind::from_byte) {
        if let Ok(report) = WorkerReport::decode_body(kind, data) {
            assert_eq!(report.kind(), kind, "decoded as another kind");
            let bytes = report.encode();
            let again = WorkerReport::decode_body(kind, &bytes[1..]);
            assert_eq!(again, Ok(report), "a report body did not round-trip");
        }
    }
    if let Ok(report) = IsolateReport::decode(data) {
        let again = IsolateReport::decode(&report.encode());
        assert_eq!(again, Ok(report), "an isolate report did not round-trip");
    }
    if let Ok(failure) = Failure::decode(data) {
        let again = Failure::decode(&failure.encode());
        assert_eq!(again, Ok(failure), "a failure did not round-trip");
    }
    if let Ok(request) = HostRequest::decode(data) {
        assert_eq!(request.encode(), data, "a request has other bytes");
    }
    for line in String::from_utf8_lossy(data).lines() {
        let Ok(event) = ScanEvent::decode(line, NONCE) else {
            continue;
        };
        let text = match event.encode(NONCE) {
            Ok(text) => text,
            Err(e) => panic!("a decoded scanner report does not encode: {e}"),
        };
        let again: Vec<ScanEvent> = text
            .lines()
            .filter_map(|line| ScanEvent::decode(line, NONCE).ok())
            .collect();
        assert_eq!(again, [event], "a scanner report did not round-trip");
    }
}

/// Bytes a fuzzed definition's pointers may point into: a pool of fixed
/// strings, then the input itself, then padding that is not NUL, so that an
/// unterminated string is read up to the validator's limit and no further.
struct Arena {
    bytes: Vec<u8>,
    /// Offsets of the fixed strings.
    pool: Vec<usize>,
    /// Where the input starts and how long it is.
    input: (usize, usize),
}

const POOL: [&[u8]; 8] = [
    b"fuzz\0",
    b"\0",
    b"1.0.0\0",
    b"radix\0",
    b"bad name\0",
    b"\xff\xfe\0",
    b"tab\there\0",
    b"Radix-2_x\0",
];

/// More than any bounded read (MAX_DOC + 1) can reach past a string's start.
const PADDING: usize = 2048;

impl Arena {
    fn new(input: &[u8]) -> Arena {
        let mut bytes = Vec::new();
        let mut pool = Vec::new();
        for s in POOL {
            pool.push(bytes.len());
            bytes.extend_from_slice(s);
        }
        let start = bytes.len();
        bytes.extend_from_slice(input);
        bytes.extend(std::iter::repeat_n(b'x', PADDING));
        Arena {
            bytes,
            pool,
            input: (start, input.len()),
        }
    }

    /// A string pointer chosen by `selector`: null, a pool string, or a
    /// place in the input.
    fn string(&self, selector: u64) -> *const c_char {
        let base = self.bytes.as_ptr();
        match selector % 4 {
            0 => std::ptr::null(),
            1 | 2 => {
                let i = (selector >> 2) as usize % self.pool.len();
                base.wrapping_add(self.pool[i]).cast()
            }
            _ => {
                let (start, len) = self.input;
                let offset = if len == 0 {
                    0
                } else {
                    (selector >> 2) as usize % len
                };
                base.wrapping_add(start + offset).cast()
            }
        }
    }
}

/// Reads the input as a stream of words for building a definition.
struct Words<'a>(&'a [u8], usize);

impl Words<'_> {
    fn next(&mut self) -> u64 {
        let mut word = [0u8; 8];
        for byte in &mut word {
            if !self.0.is_empty() {
                *byte = self.0[self.1 % self.0.len()];
            }
            self.1 += 1;
        }
        u64::from_le_bytes(word)
    }
}

unsafe extern "C" fn dummy_sort(
    _: *mut std::ffi::c_void,
    _: usize,
    _: u32,
    _: *mut c_char,
    _: usize,
) -> i32 {
    0
}

/// The pairs function of a fuzzed method table: never called.
unsafe extern "C" fn dummy_sort_pairs(
    _: *mut std::ffi::c_void,
    _: *mut std::ffi::c_void,
    _: usize,
    _: u32,
    _: u32,
    _: *mut c_char,
    _: usize,
) -> i32 {
    0
}

/// The call with options of a fuzzed method table: never called.
#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn dummy_sort_with(
    _: *mut std::ffi::c_void,
    _: *mut std::ffi::c_void,
    _: usize,
    _: u32,
    _: u32,
    _: *const wildhost_abi::SortOptions,
    _: *mut c_char,
    _: usize,
) -> i32 {
    0
}

unsafe extern "C" fn dummy_init(_: *mut c_char, _: usize) -> i32 {
    0
}

/// The module-definition validator on a definition built from arbitrary
/// bytes. Every pointer in it is null or points into memory the harness
/// owns, as a loaded library's would; everything else is the input's.
pub fn module_definition(data: &[u8]) {
    let arena = Arena::new(data);
    let mut w = Words(data, 0);
    let control = w.next();

    // Features: up to 70 entries, each null or a string, maybe unterminated.
    let feature_count = (w.next() % 71) as usize;
    let mut features: Vec<*const c_char> = (0..feature_count)
        .map(|_| arena.string(w.next() | 1))
        .collect();
    if control & 2 == 0 {
        features.push(std::ptr::null());
    }
    // The validator reads up to MAX_FEATURES + 1 entries looking for the
    // end: keep that much readable, unterminated if the input says so.
    while features.len() <= wildhost_abi::MAX_FEATURES + 1 {
        features.push(arena.string(1));
    }

    // The method table: `count` entries `stride` bytes apart, stride and
    // count as the input says within what a host accepts to read.
    let count = (w.next() % 300) as u32;
    let stride = match control >> 8 & 3 {
        0 => size_of::<MethodDef>() as u32,
        _ => (w.next() % 1100) as u32,
    };
    let entries = (count.min(wildhost_abi::MAX_METHODS) as usize).max(1);
    let table_words = (entries * (stride as usize).max(size_of::<MethodDef>())).div_ceil(8) + 8;
    let mut table: Vec<u64> = (0..table_words).map(|_| w.next()).collect();
    for i in 0..entries {
        let offset = i * stride as usize;
        if offset + size_of::<MethodDef>() > table.len() * 8 || !offset.is_multiple_of(8) {
            break;
        }
        let entry = MethodDef {
            name: arena.string(w.next()),
            doc: arena.string(w.next()),
            sort: if w.next() % 8 == 0 {
                None
            } else {
                Some(dummy_sort)
            },
            key_types: w.next() as u32 & if control & 4 == 0 { 0x3f } else { u32::MAX },
            flags: w.next() as u32 & if control & 8 == 0 { 0x3 } else { u32::MAX },
            scratch_percent: w.next() as u32,
            reserved: if control & 16 == 0 {
                0
            } else {
                w.next() as u32
            },
            sort_pairs: if w.next() % 2 == 0 {
                None
            } else {
                Some(dummy_sort_pairs)
            },
            payload_types: w.next() as u32 & if control & 4 == 0 { 0x3 } else { u32::MAX },
            reserved2: if control & 16 == 0 {
                0
            } else {
                w.next() as u32
            },
            sort_with: if control & 4096 == 0 {
                None
            } else {
                Some(dummy_sort_with)
            },
        };
        // SAFETY: `offset + size_of::<MethodDef>()` is within `table`
        // (checked above) and 8-aligned, MethodDef's alignment.
        unsafe {
            table
                .as_mut_ptr()
                .cast::<u8>()
                .add(offset)
                .cast::<MethodDef>()
                .write(entry)
        };
    }

    let (major, minor) = if control & 32 == 0 {
        (1, 0)
    } else {
        (w.next() as u16 % 3, w.next() as u16 % 4)
    };
    let def = ModuleDef {
        magic: if control & 64 == 0 { MAGIC } else { w.next() },
        abi_major: major,
        abi_minor: minor,
        size: if control & 128 == 0 {
            size_of::<ModuleDef>() as u32
        } else {
            w.next() as u32 % 200
        },
        name: if control & 1 == 0 {
            arena.string(1)
        } else {
            arena.string(w.next())
        },
        version: arena.string(w.next()),
        doc: arena.string(w.next()),
        features: if control & 1024 == 0 {
            features.as_ptr()
        } else {
            std::ptr::null()
        },
        init: if w.next() % 2 == 0 {
            None
        } else {
            Some(dummy_init)
        },
        methods: if control & 2048 == 0 {
            table.as_ptr().cast()
        } else {
            std::ptr::null()
        },
        method_count: count,
        method_size: stride,
    };
    let tag = AbiTag {
        magic: MAGIC,
        abi_major: major,
        abi_minor: minor,
        module_size: def.size,
    };
    // SAFETY: every pointer in `def` is null or points into `arena`,
    // `features` or `table`, which live until the end of this function; the
    // strings end in a NUL or in `PADDING` bytes longer than any bounded
    // read; the table holds `count` (at most MAX_METHODS) entries `stride`
    // bytes apart, as far as the validator reads them.
    let result = unsafe { validate_with(&HostAbi::CURRENT, &def, "fuzz", &tag) };
    drop(result);
}

/// The archive reader of `wildhost install`, on any bytes (a plain tar, or
/// gzip when they start with its magic): it never panics, and whatever it
/// unpacks stays inside the directory it was given, as regular files and
/// directories only.
pub fn archive(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let into = dir.path().join("into");
    if std::fs::create_dir(&into).is_err() {
        return;
    }
    let gzip = data.starts_with(&[0x1f, 0x8b]);
    let _ = crate::install::archive::unpack_from(data, gzip, &into);
    let beside: Vec<_> = std::fs::read_dir(dir.path())
        .expect("the fuzz directory")
        .map(|e| e.expect("an entry").file_name())
        .collect();
    assert_eq!(beside, ["into"], "written beside the directory");
    let mut stack = vec![into];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("an unpacked directory") {
            let entry = entry.expect("an entry");
            let kind = entry.file_type().expect("its type");
            assert!(kind.is_file() || kind.is_dir(), "unpacked {kind:?}");
            if kind.is_dir() {
                stack.push(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_targets_survive_simple_inputs() {
        for input in [
            &b""[..],
            b"\0",
            b"1\n2\n",
            b"-nan\ninf\n",
            &[0xff; 300],
            b"\x7fELF\x02\x01\x01",
            b"\x01\x02\0\0\0failed",
            b"x wildhost-scan-f verdict 0 {\"Ok\":null}\n",
        ] {
            text(input);
            object(input);
            module_definition(input);
            wire(input);
        }
    }
}
