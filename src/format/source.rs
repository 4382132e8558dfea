//! Random-access byte sources: the only way the core reads model bytes.
//!
//! The core never sees paths, `File`s or Blobs. The CLI wraps a file, the
//! page wraps a browser `File` (read with `FileReaderSync` inside a worker),
//! and tests wrap a `Vec<u8>`.

/// A readable, fixed-length sequence of bytes with random access.
pub trait ByteSource: Send + Sync {
    /// Total length in bytes.
    fn len(&self) -> u64;

    /// Whether the source holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` with the bytes starting at `offset`. Fails if the range is
    /// not wholly inside the source or the underlying read fails; the message
    /// says why.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), String>;

    /// The `len` bytes at `offset` in place, without a copy, if this
    /// source can lend them (bytes in memory); `None` if
    /// it cannot, and then [`ByteSource::read_at`] is the way. Callers
    /// must not ask for a range outside the source (it gives `None`).
    fn lend(&self, offset: u64, len: usize) -> Option<Lent<'_>> {
        let _ = (offset, len);
        None
    }
}

/// Bytes a [`ByteSource`] lends in place: a borrow of its memory.
pub struct Lent<'a>(LentBytes<'a>);

enum LentBytes<'a> {
    Borrowed(&'a [u8]),
    /// `len` bytes at `at` of a buffer shared with the source, which
    /// cannot reuse it while this lives.
    Shared {
        bytes: std::sync::Arc<Vec<u8>>,
        at: usize,
        len: usize,
    },
}

impl<'a> Lent<'a> {
    /// Lends a borrow.
    pub fn borrowed(bytes: &'a [u8]) -> Self {
        Lent(LentBytes::Borrowed(bytes))
    }

    /// Lends `len` bytes at `at` of a shared buffer (`None` if they are
    /// not all in it).
    pub fn shared(bytes: std::sync::Arc<Vec<u8>>, at: usize, len: usize) -> Option<Self> {
        (at.checked_add(len)? <= Vec::len(&bytes)).then_some(Lent(LentBytes::Shared {
            bytes,
            at,
            len,
        }))
    }
}

impl std::ops::Deref for Lent<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            LentBytes::Borrowed(b) => b,
            LentBytes::Shared { bytes, at, len } => &bytes[*at..*at + *len],
        }
    }
}

impl ByteSource for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        let start = usize::try_from(offset).map_err(|_| "offset out of range".to_string())?;
        let end = start
            .checked_add(buf.len())
            .filter(|&e| e <= <[u8]>::len(self))
            .ok_or_else(|| format!("range of {} bytes at {offset} is past the end", buf.len()))?;
        buf.copy_from_slice(&self[start..end]);
        Ok(())
    }
    fn lend(&self, offset: u64, len: usize) -> Option<Lent<'_>> {
        let start = usize::try_from(offset).ok()?;
        self.get(start..start.checked_add(len)?).map(Lent::borrowed)
    }
}

impl ByteSource for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        self.as_slice().read_at(offset, buf)
    }
    fn lend(&self, offset: u64, len: usize) -> Option<Lent<'_>> {
        self.as_slice().lend(offset, len)
    }
}

impl<T: ByteSource + ?Sized> ByteSource for std::sync::Arc<T> {
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        (**self).read_at(offset, buf)
    }
    fn lend(&self, offset: u64, len: usize) -> Option<Lent<'_>> {
        (**self).lend(offset, len)
    }
}

impl<T: ByteSource + ?Sized> ByteSource for Box<T> {
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        (**self).read_at(offset, buf)
    }
    fn lend(&self, offset: u64, len: usize) -> Option<Lent<'_>> {
        (**self).lend(offset, len)
    }
}

/// A native file read with positional reads (no shared cursor, so several
/// threads can read one file at once).
#[cfg(not(target_arch = "wasm32"))]
pub struct FileSource {
    file: std::fs::File,
    len: u64,
}

#[cfg(not(target_arch = "wasm32"))]
impl FileSource {
    /// Wraps an open file; its length is taken once, now.
    pub fn new(file: std::fs::File) -> std::io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(Self { file, len })
    }
}

/// Reads only, never lends: a tensor read into the analysis's scratch is
/// then in cache for its passes. Mapping each tensor's range instead
/// (memmap2, kept up to 64 MiB, until 2026-12-02) saved the copy, but cost
/// more than it saved on a 2-core AMD EPYC: 10 % more wall time on
/// bert-large, from faulting the pages in and from the TLB shootdowns of
/// unmapping while the other thread ran, and a file truncated by another
/// process while mapped faults (SIGBUS) where a read returns an error.
#[cfg(not(target_arch = "wasm32"))]
impl ByteSource for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            self.file
                .read_exact_at(buf, offset)
                .map_err(|e| e.to_string())
        }
        #[cfg(windows)]
        {
            use std::os::windows::fs::FileExt;
            let mut done = 0;
            while done < buf.len() {
                let n = self
                    .file
                    .seek_read(&mut buf[done..], offset + done as u64)
                    .map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err("unexpected end of file".into());
                }
                done += n;
            }
            Ok(())
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_of(bytes: &[u8]) -> (tempfile::NamedTempFile, FileSource) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f.flush().unwrap();
        let src = FileSource::new(f.reopen().unwrap()).unwrap();
        (f, src)
    }

    #[test]
    fn a_file_reads_and_lends_nothing() {
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (_f, src) = file_of(&bytes);
        let mut read = vec![0; 20];
        src.read_at(65_530, &mut read).unwrap();
        assert_eq!(&read[..], &bytes[65_530..65_550]);
        assert!(src.lend(0, 10).is_none());
    }

    #[test]
    fn a_file_truncated_after_opening_fails_its_reads_past_the_new_end() {
        let (f, src) = file_of(&[7; 100_000]);
        f.as_file().set_len(10).unwrap();
        let mut buf = vec![0; 100];
        assert!(src.read_at(0, &mut buf).is_err());
        src.read_at(0, &mut buf[..10]).unwrap();
    }

    #[test]
    fn memory_lends_in_range_only() {
        let v = vec![1u8, 2, 3];
        assert_eq!(&v.lend(1, 2).unwrap()[..], &[2, 3]);
        assert!(v.lend(2, 2).is_none());
        assert!(v.lend(u64::MAX, 1).is_none());
    }
}
