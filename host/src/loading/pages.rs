//! A file read a few pages at a time, for [`object::read::ReadCache`]:
//! what preflight parses a plugin file through, reading only the parts its
//! checks need.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;

/// The size of a page [`Pages`] reads at once, and the alignment of its start.
const PAGE_BYTES: u64 = 4096;

/// How many pages [`Pages`] keeps: a plugin's checks touch about six (the
/// headers, the section headers, the names, the tag).
const PAGES_KEPT: usize = 8;

/// How many bytes [`Pages`] hands out for a file of `len` bytes. The cache
/// keeps a copy of every read, keyed by offset, and a crafted file can ask
/// for the same bytes under many keys (thousands of symbol names starting a
/// byte apart): this bounds its memory. The cache reads a name 256 bytes at
/// a time, and a symbol takes 24 bytes of the file (a section header 64), so
/// even a file that were all symbols stays within 12 times its size; past
/// that, or past 256 MiB (a million symbols: no sort plugin), reads fail
/// and the file is refused.
pub(crate) fn read_budget(len: u64) -> u64 {
    len.saturating_mul(12)
        .saturating_add(1 << 20)
        .min(READ_BUDGET_MAX)
}

/// The most [`read_budget`] gives any file.
pub(crate) const READ_BUDGET_MAX: u64 = 256 << 20;

/// A plugin file as [`ReadCache`](object::read::ReadCache) reads it, at the position it asks for,
/// through a few pages of the file each read at once. `object` reads names
/// one at a time (each section name, each symbol name it compares) and the
/// cache makes each a seek and a read of its own; names sit side by side,
/// and the headers, the dynamic symbols and their names share the file's
/// first page, so one read of a page serves many. Reads of a page or more go
/// straight to the file. A read past the end returns 0 bytes, so the cache's
/// read of a file that shrank fails and the file is refused; so does a read
/// past the budget.
pub(crate) struct Pages<'f> {
    file: &'f File,
    /// Where the next read starts.
    pos: u64,
    /// How many more bytes reads may return.
    budget: u64,
    /// Set once a read asked for more than the budget left.
    exhausted: &'f Cell<bool>,
    /// (file offset, bytes) of each page read, oldest first; the last page
    /// of the file is shorter.
    kept: Vec<(u64, Vec<u8>)>,
}

impl<'f> Pages<'f> {
    /// `exhausted` is set if a read goes past `budget`.
    pub(crate) fn new(file: &'f File, budget: u64, exhausted: &'f Cell<bool>) -> Self {
        Pages {
            file,
            pos: 0,
            budget,
            exhausted,
            kept: Vec::new(),
        }
    }

    /// The page holding `pos`, read from the file if it is not kept.
    fn page_at_pos(&mut self) -> io::Result<&[u8]> {
        let start = self.pos - self.pos % PAGE_BYTES;
        let index = match self.kept.iter().position(|(at, _)| *at == start) {
            Some(index) => index,
            None => {
                let mut page = vec![0; PAGE_BYTES as usize];
                let read = self.file.read_at(&mut page, start)?;
                page.truncate(read);
                if self.kept.len() == PAGES_KEPT {
                    self.kept.remove(0);
                }
                self.kept.push((start, page));
                self.kept.len() - 1
            }
        };
        let within = (self.pos - start) as usize;
        Ok(self
            .kept
            .get(index)
            .and_then(|(_, page)| page.get(within..))
            .unwrap_or_default())
    }
}

impl Read for Pages<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.len() as u64 > self.budget {
            self.exhausted.set(true);
            return Err(io::Error::other("read budget exhausted"));
        }
        let n = if out.len() as u64 >= PAGE_BYTES {
            self.file.read_at(out, self.pos)?
        } else {
            let held = self.page_at_pos()?;
            let n = held.len().min(out.len());
            out[..n].copy_from_slice(&held[..n]);
            n
        };
        self.pos = self.pos.saturating_add(n as u64);
        self.budget = self.budget.saturating_sub(n as u64);
        Ok(n)
    }
}

impl Seek for Pages<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(at) => at,
            SeekFrom::Current(by) => self
                .pos
                .checked_add_signed(by)
                .ok_or(io::ErrorKind::InvalidInput)?,
            // How the cache asks for the length, once: the file's own answer.
            SeekFrom::End(_) => self.file.seek(to)?,
        };
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::ReadRef;
    use object::read::ReadCache;

    #[test]
    fn pages_read_what_the_file_holds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("data");
        let bytes: Vec<u8> = (0..3 * PAGE_BYTES + 100)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        std::fs::write(&path, &bytes).expect("write");
        let file = File::open(&path).expect("open");
        let exhausted = Cell::new(false);
        let reader = ReadCache::new(Pages::new(
            &file,
            read_budget(bytes.len() as u64),
            &exhausted,
        ));
        let len = bytes.len() as u64;
        assert_eq!((&reader).len(), Ok(len));
        let mut ranges = vec![(0, 16), (4090, 12), (4096, 4096), (100, 9000), (len - 1, 1)];
        ranges.extend((0..len).step_by(331).map(|at| (at, 300.min(len - at))));
        for (at, size) in ranges {
            let got = (&reader).read_bytes_at(at, size).expect("in the file");
            assert_eq!(
                got,
                &bytes[at as usize..(at + size) as usize],
                "{at}+{size}"
            );
        }
        assert!((&reader).read_bytes_at(len - 1, 2).is_err());
        assert!((&reader).read_bytes_at(len + 5, 1).is_err());
    }

    #[test]
    fn pages_refuse_reads_past_their_budget() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("data");
        std::fs::write(&path, [1u8; 100]).expect("write");
        let file = File::open(&path).expect("open");
        let exhausted = Cell::new(false);
        let mut pages = Pages::new(&file, 50, &exhausted);
        let mut out = [0u8; 40];
        assert_eq!(pages.read(&mut out).expect("within the budget"), 40);
        assert!(
            pages.read(&mut out).is_err(),
            "40 more bytes exceed the budget"
        );
        let mut out = [0u8; 10];
        assert_eq!(pages.read(&mut out).expect("the last 10 bytes"), 10);
    }
}
