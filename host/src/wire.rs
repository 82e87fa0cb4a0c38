//! Every byte format the host speaks with its child processes, as plain
//! types with `encode` and `decode` over bytes: no file descriptors, no
//! processes, so each format can be tested and fuzzed on its own. The
//! modules that fork and read pipes ([`running`](crate::running) and the
//! [scanner](crate::loading::scanner)) move these bytes; this module alone
//! says what they mean.
//!
//! Three conversations:
//!
//! - The `--isolate` worker and the host ([`WorkerReport`],
//!   [`HostRequest`]). The worker writes one report at a time into its
//!   pipe: a tag byte ([`ReportKind`]), then a body of a fixed length or
//!   everything until the pipe closes ([`Body`]). The host answers on a
//!   pipe of its own with single bytes. After [`WorkerReport::Sorted`] and
//!   [`HostRequest::SendThroughPipe`] the worker writes its keys' own bytes,
//!   in this machine's byte order, which are not a message.
//! - The isolated child of [`running::isolate`](crate::running::isolate)
//!   ([`IsolateReport`]): one report, all of the child's output.
//! - The plugin scanner ([`ScanEvent`]): text lines on the scanner child's
//!   stdout, each report starting with a nonce so that whatever a plugin
//!   prints itself is not taken for one.
//!
//! Numbers are little-endian. A decoder never panics, whatever it is given:
//! what it cannot read is a [`WireError`].
//!
//! ```
//! use wildhost::wire::{Failure, WorkerReport};
//!
//! let report = WorkerReport::Failed(Failure { code: 3, message: "no".into() });
//! let bytes = report.encode();
//! assert_eq!(bytes, [1, 3, 0, 0, 0, b'n', b'o']);
//! assert_eq!(WorkerReport::decode(&bytes), Ok(report));
//! assert!(WorkerReport::decode(&bytes[..3]).is_err());
//! ```

use crate::error::Refusal;

/// Why bytes are not a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Nothing at all.
    #[error("the message is empty")]
    Empty,
    /// A first byte that starts no message.
    #[error("no message starts with byte {0:#x}")]
    UnknownTag(u8),
    /// Fewer bytes than the message needs.
    #[error("the message is cut short: {needed} bytes needed, {got} given")]
    Truncated {
        /// How many bytes the message needs.
        needed: usize,
        /// How many were there.
        got: usize,
    },
    /// More bytes than the message holds.
    #[error("{0} bytes follow the end of the message")]
    Trailing(usize),
    /// A scanner line that holds no report.
    #[error("the line holds no report")]
    NoReport,
    /// A scanner report that cannot be read.
    #[error("the report cannot be read: {0}")]
    Malformed(String),
    /// A scanner verdict that cannot be written as JSON: what serde_json
    /// said.
    #[error("{0}")]
    Unencodable(String),
}

/// The length of a fingerprint of keys on the wire: two `u64`s (the
/// worker's `running::integrity::Fingerprint`, which this module does not
/// know).
pub const FINGERPRINT_BYTES: usize = 16;

/// A backend's error as a child reports it: its status code (4 bytes),
/// then its message (the rest, UTF-8; anything else is read lossily).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The backend's status code.
    pub code: i32,
    /// The backend's message.
    pub message: String,
}

impl Failure {
    /// The failure's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.message.len());
        self.encode_into(&mut out);
        out
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.code.to_le_bytes());
        out.extend_from_slice(self.message.as_bytes());
    }

    /// The failure in `bytes`, all of them.
    pub fn decode(bytes: &[u8]) -> Result<Failure, WireError> {
        let (code, message) = bytes.split_first_chunk::<4>().ok_or(WireError::Truncated {
            needed: 4,
            got: bytes.len(),
        })?;
        Ok(Failure {
            code: i32::from_le_bytes(*code),
            message: String::from_utf8_lossy(message).into_owned(),
        })
    }
}

/// What the `--isolate` worker tells the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerReport {
    /// The keys are sorted, `len` of them at `address` in the worker's
    /// memory.
    Sorted {
        /// Where the first key is, in the worker.
        address: u64,
        /// How many keys.
        len: u64,
    },
    /// The backend reported an error.
    Failed(Failure),
    /// A worker that makes its keys itself made `len` of them, with this
    /// fingerprint; it sorts next.
    Prepared {
        /// How many keys.
        len: u64,
        /// Their fingerprint's bytes.
        fingerprint: [u8; FINGERPRINT_BYTES],
    },
    /// A worker that makes its keys itself could not: what it said.
    PrepareFailed(String),
}

/// The first byte of a [`WorkerReport`]: which report follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    /// [`WorkerReport::Sorted`].
    Sorted,
    /// [`WorkerReport::Failed`].
    Failed,
    /// [`WorkerReport::Prepared`].
    Prepared,
    /// [`WorkerReport::PrepareFailed`].
    PrepareFailed,
}

/// What follows a report's tag byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// Exactly this many bytes.
    Fixed(usize),
    /// Everything the worker writes until it closes the pipe.
    ToEnd,
}

impl ReportKind {
    /// The report this byte starts, if any.
    pub fn from_byte(byte: u8) -> Option<ReportKind> {
        Some(match byte {
            0 => ReportKind::Sorted,
            1 => ReportKind::Failed,
            2 => ReportKind::Prepared,
            3 => ReportKind::PrepareFailed,
            _ => return None,
        })
    }

    /// The byte this report starts with.
    pub fn byte(self) -> u8 {
        match self {
            ReportKind::Sorted => 0,
            ReportKind::Failed => 1,
            ReportKind::Prepared => 2,
            ReportKind::PrepareFailed => 3,
        }
    }

    /// How much the host reads after the tag byte.
    pub fn body(self) -> Body {
        match self {
            // The address and the number of keys.
            ReportKind::Sorted => Body::Fixed(8 + 8),
            // The number of keys and their fingerprint.
            ReportKind::Prepared => Body::Fixed(8 + FINGERPRINT_BYTES),
            ReportKind::Failed | ReportKind::PrepareFailed => Body::ToEnd,
        }
    }
}

impl WorkerReport {
    /// Which report this is.
    pub fn kind(&self) -> ReportKind {
        match self {
            WorkerReport::Sorted { .. } => ReportKind::Sorted,
            WorkerReport::Failed(_) => ReportKind::Failed,
            WorkerReport::Prepared { .. } => ReportKind::Prepared,
            WorkerReport::PrepareFailed(_) => ReportKind::PrepareFailed,
        }
    }

    /// The report's bytes, its tag byte first.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.kind().byte()];
        match self {
            WorkerReport::Sorted { address, len } => {
                out.extend_from_slice(&address.to_le_bytes());
                out.extend_from_slice(&len.to_le_bytes());
            }
            WorkerReport::Failed(failure) => failure.encode_into(&mut out),
            WorkerReport::Prepared { len, fingerprint } => {
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(fingerprint);
            }
            WorkerReport::PrepareFailed(message) => out.extend_from_slice(message.as_bytes()),
        }
        out
    }

    /// The report in `bytes`, all of them, its tag byte first.
    pub fn decode(bytes: &[u8]) -> Result<WorkerReport, WireError> {
        let (&tag, body) = bytes.split_first().ok_or(WireError::Empty)?;
        let kind = ReportKind::from_byte(tag).ok_or(WireError::UnknownTag(tag))?;
        WorkerReport::decode_body(kind, body)
    }

    /// The report of `kind` whose body (what follows the tag byte, all of
    /// it) is `body`.
    pub fn decode_body(kind: ReportKind, body: &[u8]) -> Result<WorkerReport, WireError> {
        if let Body::Fixed(needed) = kind.body() {
            if body.len() < needed {
                return Err(WireError::Truncated {
                    needed,
                    got: body.len(),
                });
            }
            if body.len() > needed {
                return Err(WireError::Trailing(body.len() - needed));
            }
        }
        let word = |at: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&body[at..at + 8]);
            u64::from_le_bytes(bytes)
        };
        Ok(match kind {
            ReportKind::Sorted => WorkerReport::Sorted {
                address: word(0),
                len: word(8),
            },
            ReportKind::Failed => WorkerReport::Failed(Failure::decode(body)?),
            ReportKind::Prepared => {
                let mut fingerprint = [0u8; FINGERPRINT_BYTES];
                fingerprint.copy_from_slice(&body[8..]);
                WorkerReport::Prepared {
                    len: word(0),
                    fingerprint,
                }
            }
            ReportKind::PrepareFailed => {
                WorkerReport::PrepareFailed(String::from_utf8_lossy(body).into_owned())
            }
        })
    }
}

/// What the host tells the `--isolate` worker, one byte each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostRequest {
    /// The host's view of the keys is gone: the worker may sort them.
    Go,
    /// The host cannot read the worker's memory: the worker is to write
    /// its sorted keys into its pipe.
    SendThroughPipe,
}

impl HostRequest {
    /// The request's byte.
    pub fn encode(self) -> [u8; 1] {
        [match self {
            HostRequest::Go => b'g',
            HostRequest::SendThroughPipe => b'p',
        }]
    }

    /// The request in `bytes`, all of them.
    pub fn decode(bytes: &[u8]) -> Result<HostRequest, WireError> {
        match bytes {
            [] => Err(WireError::Empty),
            [b'g'] => Ok(HostRequest::Go),
            [b'p'] => Ok(HostRequest::SendThroughPipe),
            [b'g' | b'p', rest @ ..] => Err(WireError::Trailing(rest.len())),
            [other, ..] => Err(WireError::UnknownTag(*other)),
        }
    }
}

/// The report of a child of [`running::isolate`](crate::running::isolate):
/// `[0]`, or `[1]` and the backend's [`Failure`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IsolateReport {
    /// The backend sorted the keys.
    Sorted,
    /// The backend reported an error.
    Failed(Failure),
}

impl IsolateReport {
    /// The report's bytes.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            IsolateReport::Sorted => vec![0],
            IsolateReport::Failed(failure) => {
                let mut out = vec![1];
                failure.encode_into(&mut out);
                out
            }
        }
    }

    /// The report in `bytes`, all of them.
    pub fn decode(bytes: &[u8]) -> Result<IsolateReport, WireError> {
        match bytes.split_first() {
            None => Err(WireError::Empty),
            Some((0, [])) => Ok(IsolateReport::Sorted),
            Some((0, rest)) => Err(WireError::Trailing(rest.len())),
            Some((1, rest)) => Failure::decode(rest).map(IsolateReport::Failed),
            Some((&other, _)) => Err(WireError::UnknownTag(other)),
        }
    }
}

/// What scanning one file concluded: it loads, or why it is refused (the
/// scanner's `Verdict`).
pub type ScanVerdict = Result<(), Refusal>;

/// A report of the scanner child, one line on its stdout:
/// `<nonce> begin <i> file <device>:<inode>` before it loads the `i`th file
/// (just `<nonce> begin <i>` if it could not open it), `<nonce> verdict <i>
/// <json>` after, with the verdict as JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanEvent {
    /// The scanner starts loading the file at this index: the file it
    /// opened, by device and inode, so that the host can tell whether the
    /// verdict is on the file the host holds (`None`: it could not open it).
    Begin(usize, Option<(u64, u64)>),
    /// The scanner's verdict on the file at this index.
    Verdict(usize, ScanVerdict),
}

impl ScanEvent {
    /// The report's line, with a newline before it (whatever a plugin
    /// printed last, the report starts a line of its own) and one after.
    pub fn encode(&self, nonce: &str) -> Result<String, WireError> {
        Ok(match self {
            ScanEvent::Begin(i, None) => format!("\n{nonce} begin {i}\n"),
            ScanEvent::Begin(i, Some((device, inode))) => {
                format!("\n{nonce} begin {i} file {device}:{inode}\n")
            }
            ScanEvent::Verdict(i, verdict) => {
                let json = serde_json::to_string(verdict)
                    .map_err(|e| WireError::Unencodable(e.to_string()))?;
                format!("\n{nonce} verdict {i} {json}\n")
            }
        })
    }

    /// The report in `line` (without its newline): it starts where
    /// `<nonce> ` first occurs, since a plugin may have printed on the same
    /// line before it.
    pub fn decode(line: &str, nonce: &str) -> Result<ScanEvent, WireError> {
        let prefix = format!("{nonce} ");
        let at = line.find(&prefix).ok_or(WireError::NoReport)?;
        let rest = &line[at + prefix.len()..];
        let index = |i: &str| {
            i.parse::<usize>()
                .map_err(|e| WireError::Malformed(format!("file index `{i}`: {e}")))
        };
        if let Some(rest) = rest.strip_prefix("begin ") {
            let Some((i, file)) = rest.split_once(" file ") else {
                return Ok(ScanEvent::Begin(index(rest)?, None));
            };
            let number = |n: &str| {
                n.parse::<u64>()
                    .map_err(|e| WireError::Malformed(format!("file identity `{file}`: {e}")))
            };
            let (device, inode) = file.split_once(':').ok_or_else(|| {
                WireError::Malformed(format!("file identity `{file}` is not DEVICE:INODE"))
            })?;
            Ok(ScanEvent::Begin(
                index(i)?,
                Some((number(device)?, number(inode)?)),
            ))
        } else if let Some(rest) = rest.strip_prefix("verdict ") {
            let (i, json) = rest
                .split_once(' ')
                .ok_or_else(|| WireError::Malformed("a verdict without its JSON".into()))?;
            let i = index(i)?;
            let verdict =
                serde_json::from_str(json).map_err(|e| WireError::Malformed(e.to_string()))?;
            Ok(ScanEvent::Verdict(i, verdict))
        } else {
            Err(WireError::Malformed("neither `begin` nor `verdict`".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Stage;

    fn worker_reports() -> Vec<WorkerReport> {
        vec![
            WorkerReport::Sorted {
                address: 0x7f00_1234_5000,
                len: 1_000_000,
            },
            WorkerReport::Sorted {
                address: u64::MAX,
                len: 0,
            },
            WorkerReport::Failed(Failure {
                code: -7,
                message: "scratch: out of memory".into(),
            }),
            WorkerReport::Failed(Failure {
                code: 0,
                message: String::new(),
            }),
            WorkerReport::Prepared {
                len: 3,
                fingerprint: std::array::from_fn(|i| i as u8 * 17),
            },
            WorkerReport::PrepareFailed("line 3: `x` is not a u64".into()),
            WorkerReport::PrepareFailed(String::new()),
        ]
    }

    #[test]
    fn every_worker_report_round_trips() {
        for report in worker_reports() {
            let bytes = report.encode();
            assert_eq!(bytes[0], report.kind().byte());
            assert_eq!(ReportKind::from_byte(bytes[0]), Some(report.kind()));
            if let Body::Fixed(n) = report.kind().body() {
                assert_eq!(bytes.len(), 1 + n, "{report:?}");
            }
            assert_eq!(WorkerReport::decode(&bytes), Ok(report.clone()));
            assert_eq!(
                WorkerReport::decode_body(report.kind(), &bytes[1..]),
                Ok(report)
            );
        }
    }

    /// The layouts the worker and the host agreed on before this module:
    /// they must not change.
    #[test]
    fn worker_reports_keep_their_bytes() {
        let sorted = WorkerReport::Sorted {
            address: 0x0102_0304_0506_0708,
            len: 9,
        };
        let mut expected = vec![0, 8, 7, 6, 5, 4, 3, 2, 1];
        expected.extend_from_slice(&9u64.to_le_bytes());
        assert_eq!(sorted.encode(), expected);
        let prepared = WorkerReport::Prepared {
            len: 2,
            fingerprint: [0xaa; 16],
        };
        let mut expected = vec![2, 2, 0, 0, 0, 0, 0, 0, 0];
        expected.extend_from_slice(&[0xaa; 16]);
        assert_eq!(prepared.encode(), expected);
        assert_eq!(
            WorkerReport::PrepareFailed("bad".into()).encode(),
            b"\x03bad"
        );
        assert_eq!(HostRequest::Go.encode(), *b"g");
        assert_eq!(HostRequest::SendThroughPipe.encode(), *b"p");
        assert_eq!(IsolateReport::Sorted.encode(), [0]);
        let failed = IsolateReport::Failed(Failure {
            code: -1,
            message: "x".into(),
        });
        assert_eq!(failed.encode(), [1, 0xff, 0xff, 0xff, 0xff, b'x']);
    }

    #[test]
    fn cut_or_garbled_worker_reports_are_errors() {
        for report in worker_reports() {
            let bytes = report.encode();
            for cut in 0..bytes.len() {
                let fixed = matches!(report.kind().body(), Body::Fixed(_));
                let failed = matches!(report.kind(), ReportKind::Failed);
                // A message that runs to the pipe's end may be cut after
                // its fixed part: it is then another message.
                if fixed || cut == 0 || (failed && cut < 5) {
                    assert!(
                        WorkerReport::decode(&bytes[..cut]).is_err(),
                        "{report:?} cut at {cut}"
                    );
                }
            }
        }
        assert_eq!(WorkerReport::decode(&[]), Err(WireError::Empty));
        assert_eq!(WorkerReport::decode(&[9]), Err(WireError::UnknownTag(9)));
        assert_eq!(WorkerReport::decode(&[0; 18]), Err(WireError::Trailing(1)));
        assert_eq!(
            WorkerReport::decode(&[1, 2]),
            Err(WireError::Truncated { needed: 4, got: 1 })
        );
        // Not UTF-8: read lossily, not refused.
        assert_eq!(
            WorkerReport::decode(&[3, 0xff]),
            Ok(WorkerReport::PrepareFailed("\u{fffd}".into()))
        );
    }

    #[test]
    fn host_requests_round_trip_and_nothing_else_decodes() {
        for request in [HostRequest::Go, HostRequest::SendThroughPipe] {
            assert_eq!(HostRequest::decode(&request.encode()), Ok(request));
        }
        assert_eq!(HostRequest::decode(b""), Err(WireError::Empty));
        assert_eq!(HostRequest::decode(b"x"), Err(WireError::UnknownTag(b'x')));
        assert_eq!(HostRequest::decode(b"gg"), Err(WireError::Trailing(1)));
    }

    #[test]
    fn isolate_reports_round_trip_and_garbage_is_an_error() {
        for report in [
            IsolateReport::Sorted,
            IsolateReport::Failed(Failure {
                code: i32::MIN,
                message: "it broke".into(),
            }),
        ] {
            assert_eq!(IsolateReport::decode(&report.encode()), Ok(report));
        }
        for garbage in [&b""[..], &[0, 0], &[1, 0, 0], &[2], &[0xff; 9]] {
            assert!(IsolateReport::decode(garbage).is_err(), "{garbage:?}");
        }
    }

    fn scan_events() -> Vec<ScanEvent> {
        vec![
            ScanEvent::Begin(0, None),
            ScanEvent::Begin(usize::MAX, Some((u64::MAX, 0))),
            ScanEvent::Begin(7, Some((2049, 1_234_567))),
            ScanEvent::Verdict(3, Ok(())),
            ScanEvent::Verdict(
                1,
                Err(Refusal::new(
                    Stage::Scan,
                    "it printed \"verdict 1\"\nand crashed",
                    "fix it",
                )),
            ),
        ]
    }

    #[test]
    fn scan_events_round_trip_even_after_a_plugin_prints() {
        let nonce = "wildhost-scan-3f";
        for event in scan_events() {
            let text = event.encode(nonce).expect("encodes");
            assert!(text.starts_with('\n') && text.ends_with('\n'), "{text:?}");
            let line = text.trim_matches('\n');
            assert_eq!(line.lines().count(), 1, "one line: {line:?}");
            assert_eq!(ScanEvent::decode(line, nonce), Ok(event.clone()));
            let after_noise = format!("plugin says hi {nonce}x {line}");
            assert_eq!(ScanEvent::decode(&after_noise, nonce), Ok(event));
        }
        assert_eq!(
            ScanEvent::Begin(2, None).encode("n").expect("encodes"),
            "\nn begin 2\n"
        );
        assert_eq!(
            ScanEvent::Begin(2, Some((8, 9)))
                .encode("n")
                .expect("encodes"),
            "\nn begin 2 file 8:9\n"
        );
        assert_eq!(
            ScanEvent::Verdict(0, Ok(())).encode("n").expect("encodes"),
            "\nn verdict 0 {\"Ok\":null}\n"
        );
    }

    #[test]
    fn lines_that_are_not_reports_are_errors() {
        let nonce = "wildhost-scan-3f";
        assert_eq!(
            ScanEvent::decode("begin 1", nonce),
            Err(WireError::NoReport)
        );
        assert_eq!(
            ScanEvent::decode("other-nonce begin 1", nonce),
            Err(WireError::NoReport)
        );
        for line in [
            format!("{nonce} begin"),
            format!("{nonce} begin x"),
            format!("{nonce} begin 1 2"),
            format!("{nonce} begin 1 file"),
            format!("{nonce} begin 1 file 8"),
            format!("{nonce} begin 1 file 8:x"),
            format!("{nonce} begin 1 file 8:9:10"),
            format!("{nonce} begin -1"),
            format!("{nonce} verdict 1"),
            format!("{nonce} verdict x {{\"Ok\":null}}"),
            format!("{nonce} verdict 1 {{\"Ok\":"),
            format!("{nonce} verdict 1 null"),
            format!("{nonce} end 1"),
            format!("{nonce} "),
        ] {
            assert!(
                matches!(
                    ScanEvent::decode(&line, nonce),
                    Err(WireError::Malformed(_))
                ),
                "{line:?}"
            );
        }
    }
}
