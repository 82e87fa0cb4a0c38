//! Sorted runs: what a sort larger than memory writes to its temporary
//! files and merges back (`crate::external`).
//!
//! A run holds records in sorted order, in one of two forms:
//!
//! - [`RunForm::Keys`]: the keys alone, little-endian, one after another.
//!   Binary input, and text whose lines are all their integer keys'
//!   canonical text (the lines are the keys written back).
//! - [`RunForm::Lines`]: per record its key (little-endian), its line's
//!   length as a little-endian `u32`, and the line's bytes with their
//!   newline (given one if the input's last line had none).
//!
//! The key travels beside the line so that merging never reads a number
//! twice; the length lets the merge copy a line without looking for its
//! end.

use super::write::reversed;
use super::{Records, Starts};
use crate::codec::{LeBytes, TextKey};
use crate::with_keys;
use std::io::{self, BufRead, Read, Write};

/// How a run stores its records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunForm {
    /// The keys alone.
    Keys,
    /// Each key with its line.
    Lines,
}

/// A line longer than a run's length field holds (4 GiB).
fn too_long(len: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("a line of {len} bytes is longer than a sorted run can hold (4 GiB)"),
    )
}

/// Appends one [`RunForm::Lines`] record.
#[inline]
pub(crate) fn put_line<T: LeBytes, W: Write + ?Sized>(
    key: T,
    line: &[u8],
    out: &mut W,
) -> io::Result<()> {
    let newline = line.last() != Some(&b'\n');
    let len = u32::try_from(line.len() + usize::from(newline)).map_err(|_| too_long(line.len()))?;
    out.write_all(key.to_le().as_ref())?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(line)?;
    if newline {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes `keys`, sorted, as a [`RunForm::Keys`] run: from the largest
/// down if `reverse`.
pub fn write_keys_run<T: LeBytes, W: Write + ?Sized>(
    keys: &[T],
    reverse: bool,
    out: &mut W,
) -> io::Result<()> {
    let mut put = |key: &T| out.write_all(key.to_le().as_ref());
    if reverse {
        keys.iter().rev().try_for_each(&mut put)
    } else {
        keys.iter().try_for_each(&mut put)
    }
}

impl Records<'_> {
    /// Writes the sorted records (not the header line) as a run, in the
    /// order [`Records::write`] writes them (`reverse`: largest key first,
    /// equal keys still in input order), and says which form it took.
    pub fn write_run<W: Write + ?Sized>(&self, reverse: bool, out: &mut W) -> io::Result<RunForm> {
        if self.canonical {
            with_keys!(&self.keys, keys => write_keys_run(keys, reverse, out))?;
            return Ok(RunForm::Keys);
        }
        macro_rules! lines {
            ($keys:expr, $starts:expr) => {{
                let (keys, starts) = ($keys, $starts);
                let line = |i: usize| super::write::line_at(self.input, starts[i].offset());
                if reverse {
                    for i in reversed(keys, starts) {
                        put_line(keys[i], line(i), out)?;
                    }
                } else {
                    for (i, &key) in keys.iter().enumerate() {
                        put_line(key, line(i), out)?;
                    }
                }
            }};
        }
        use super::Position;
        match &self.starts {
            Starts::U32(starts) => with_keys!(&self.keys, keys => lines!(keys, starts)),
            Starts::U64(starts) => with_keys!(&self.keys, keys => lines!(keys, starts)),
        }
        Ok(RunForm::Lines)
    }
}

/// Reads a run back one record at a time: the key first
/// ([`RunReader::advance`]), its line (if the run has lines) when it is
/// wanted ([`RunReader::emit_text`], [`RunReader::emit_as`]).
#[derive(Debug)]
pub struct RunReader<T, R> {
    reader: R,
    form: RunForm,
    /// The current record's key, if there is one.
    key: Option<T>,
    /// The current record's line length (a [`RunForm::Lines`] run).
    pending: u32,
}

impl<T: TextKey, R: BufRead> RunReader<T, R> {
    /// A reader positioned before the run's first record.
    pub fn new(reader: R, form: RunForm) -> RunReader<T, R> {
        RunReader {
            reader,
            form,
            key: None,
            pending: 0,
        }
    }

    /// The run's form.
    pub fn form(&self) -> RunForm {
        self.form
    }

    /// The current record's key; `None` once the run is over.
    #[inline]
    pub fn key(&self) -> Option<T> {
        self.key
    }

    /// Moves to the next record (skipping what is left of the current
    /// line); its key is then [`RunReader::key`]. A run that ends inside a
    /// record is an error.
    pub fn advance(&mut self) -> io::Result<()> {
        if self.pending > 0 {
            io::copy(
                &mut (&mut self.reader).take(u64::from(self.pending)),
                &mut io::sink(),
            )?;
            self.pending = 0;
        }
        let mut bytes = T::Bytes::default();
        let size = bytes.as_ref().len();
        let buffer = self.reader.fill_buf()?;
        if buffer.is_empty() {
            self.key = None;
            return Ok(());
        }
        if buffer.len() >= size {
            bytes.as_mut().copy_from_slice(&buffer[..size]);
            self.reader.consume(size);
        } else {
            self.reader.read_exact(bytes.as_mut()).map_err(truncated)?;
        }
        self.key = Some(T::from_le(bytes));
        if self.form == RunForm::Lines {
            let mut len = [0u8; 4];
            self.reader.read_exact(&mut len).map_err(truncated)?;
            self.pending = u32::from_le_bytes(len);
        }
        Ok(())
    }

    /// Writes the current record as a line of text: its line as it was
    /// read, or (a [`RunForm::Keys`] run) its key's text.
    pub fn emit_text(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        match self.form {
            RunForm::Keys => {
                if let Some(key) = self.key {
                    T::write_lines(&[key], out);
                }
                Ok(())
            }
            RunForm::Lines => {
                let len = self.pending as usize;
                self.pending = 0;
                let buffered = self.reader.fill_buf()?;
                if buffered.len() >= len {
                    out.extend_from_slice(&buffered[..len]);
                    self.reader.consume(len);
                    return Ok(());
                }
                let at = out.len();
                out.resize(at + len, 0);
                self.reader.read_exact(&mut out[at..]).map_err(truncated)
            }
        }
    }

    /// Writes the current record in `form`: as [`RunReader::emit_text`]
    /// does, or, for a [`RunForm::Lines`] run, with its key in front as a
    /// run holds it.
    pub fn emit_as(&mut self, form: RunForm, out: &mut Vec<u8>) -> io::Result<()> {
        let Some(key) = self.key else { return Ok(()) };
        match form {
            RunForm::Keys => {
                out.extend_from_slice(key.to_le().as_ref());
                // A line kept with the key is skipped by the next advance.
                Ok(())
            }
            RunForm::Lines => {
                out.extend_from_slice(key.to_le().as_ref());
                let len_at = out.len();
                out.extend_from_slice(&[0; 4]);
                let start = out.len();
                self.emit_text(out)?;
                let len = u32::try_from(out.len() - start).map_err(|_| too_long(out.len()))?;
                out[len_at..start].copy_from_slice(&len.to_le_bytes());
                Ok(())
            }
        }
    }
}

/// A run that ends inside a record: its file was cut short.
fn truncated(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "a sorted run ends inside a record: its temporary file was cut short",
        )
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::records::{Fields, Layout};
    use std::num::NonZeroUsize;
    use wildhost_abi::KeyType;

    fn read_all<T: TextKey>(run: &[u8], form: RunForm) -> (Vec<T>, Vec<u8>) {
        let mut reader = RunReader::<T, _>::new(run, form);
        let (mut keys, mut text) = (Vec::new(), Vec::new());
        reader.advance().expect("read");
        while let Some(key) = reader.key() {
            keys.push(key);
            reader.emit_text(&mut text).expect("read");
            reader.advance().expect("read");
        }
        (keys, text)
    }

    #[test]
    fn a_run_of_lines_gives_back_each_key_and_line() {
        let csv = b"b,20\r\na,-3\nc,20\nd,7";
        let layout = Layout {
            key_type: KeyType::I64,
            field: NonZeroUsize::new(2),
            fields: Fields::Delimiter(b','),
            header: false,
        };
        let mut records = Records::parse(csv, &layout).expect("parse");
        let order: Vec<u64> = vec![1, 3, 0, 2];
        records.apply_order(&order).expect("order");
        let mut run = Vec::new();
        assert_eq!(
            records.write_run(false, &mut run).expect("write"),
            RunForm::Lines
        );
        let (keys, text) = read_all::<i64>(&run, RunForm::Lines);
        assert_eq!(keys, [-3, 7, 20, 20]);
        assert_eq!(text, b"a,-3\nd,7\nb,20\r\nc,20\n");

        let mut run = Vec::new();
        records.write_run(true, &mut run).expect("write");
        let (keys, text) = read_all::<i64>(&run, RunForm::Lines);
        assert_eq!(keys, [20, 20, 7, -3]);
        assert_eq!(text, b"b,20\r\nc,20\nd,7\na,-3\n");
    }

    #[test]
    fn a_run_of_canonical_lines_keeps_the_keys_alone() {
        let mut records =
            Records::parse(b"5\n-7\n12", &Layout::lines(KeyType::I32)).expect("parse");
        records.apply_order(&[1, 0, 2]).expect("order");
        let mut run = Vec::new();
        assert_eq!(
            records.write_run(false, &mut run).expect("write"),
            RunForm::Keys
        );
        assert_eq!(run.len(), 3 * 4);
        let (keys, text) = read_all::<i32>(&run, RunForm::Keys);
        assert_eq!(keys, [-7, 5, 12]);
        assert_eq!(text, b"-7\n5\n12\n");
    }

    #[test]
    fn a_record_as_another_run_holds_it_reads_back_the_same() {
        let mut run = Vec::new();
        put_line(9u64, b"x 9", &mut run).expect("write");
        put_line(11u64, b"y 11\n", &mut run).expect("write");
        let mut reader = RunReader::<u64, _>::new(&run[..], RunForm::Lines);
        let mut copy = Vec::new();
        reader.advance().expect("read");
        while reader.key().is_some() {
            reader.emit_as(RunForm::Lines, &mut copy).expect("copy");
            reader.advance().expect("read");
        }
        assert_eq!(copy, run);
    }

    #[test]
    fn a_run_cut_inside_a_record_is_an_error() {
        let mut run = Vec::new();
        put_line(9u64, b"x 9\n", &mut run).expect("write");
        let mut reader = RunReader::<u64, _>::new(&run[..6], RunForm::Lines);
        let e = reader.advance().expect_err("cut");
        assert!(e.to_string().contains("cut short"), "{e}");
        let mut reader = RunReader::<u64, _>::new(&run[..run.len() - 1], RunForm::Lines);
        reader.advance().expect("the key is whole");
        let e = reader.emit_text(&mut Vec::new()).expect_err("cut");
        assert!(e.to_string().contains("cut short"), "{e}");
    }
}
