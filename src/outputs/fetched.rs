//! A byte source that holds only the ranges handed to it: the page's
//! worker fetches each step's ranges asynchronously (HTTP Range requests,
//! `Blob.slice`) before the step runs, so the check never reads the
//! network synchronously. A read outside them fails with a message naming
//! the file and the range, rather than blocking.
//!
//! May use: [`crate::ByteSource`] only.

use std::sync::Mutex;

use crate::ByteSource;

/// Chunks `(start, bytes)` of one file.
type Chunks = Vec<(u64, Vec<u8>)>;

/// A file of known length of which only some ranges are present: kept ones
/// (the header) and those of the current step.
pub struct FetchedSource {
    name: String,
    len: u64,
    kept: Mutex<Chunks>,
    step: Mutex<Chunks>,
}

impl FetchedSource {
    /// An empty source for the file `name` of `len` bytes.
    pub fn new(name: impl Into<String>, len: u64) -> Self {
        FetchedSource {
            name: name.into(),
            len,
            kept: Mutex::new(Vec::new()),
            step: Mutex::new(Vec::new()),
        }
    }

    /// Adds bytes from `start` that stay for the whole run (the header).
    pub fn keep(&self, start: u64, bytes: Vec<u8>) {
        lock(&self.kept).push((start, bytes));
    }

    /// Adds bytes from `start` for the next step.
    pub fn provide(&self, start: u64, bytes: Vec<u8>) {
        lock(&self.step).push((start, bytes));
    }

    /// Drops the step's bytes.
    pub fn clear_step(&self) {
        lock(&self.step).clear();
    }

    /// Bytes held for the current step.
    pub fn step_bytes(&self) -> u64 {
        lock(&self.step).iter().map(|(_, b)| b.len() as u64).sum()
    }
}

fn lock(m: &Mutex<Chunks>) -> std::sync::MutexGuard<'_, Chunks> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn copy_from(chunks: &Chunks, offset: u64, buf: &mut [u8]) -> bool {
    let end = offset + buf.len() as u64;
    for (start, bytes) in chunks {
        if offset >= *start && end <= start + bytes.len() as u64 {
            let at = (offset - start) as usize;
            buf.copy_from_slice(&bytes[at..at + buf.len()]);
            return true;
        }
    }
    false
}

impl ByteSource for FetchedSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        let end = offset.saturating_add(buf.len() as u64);
        if end > self.len {
            return Err(format!(
                "range {offset}..{end} is past the end of the {}-byte file {}",
                self.len, self.name
            ));
        }
        if copy_from(&lock(&self.kept), offset, buf) || copy_from(&lock(&self.step), offset, buf) {
            return Ok(());
        }
        Err(format!(
            "bytes {offset}..{end} of {} were not fetched before this step",
            self.name
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_what_was_provided() {
        let s = FetchedSource::new("m.safetensors", 100);
        s.keep(0, vec![1; 10]);
        s.provide(50, (0..20).collect());
        let mut b = [0u8; 4];
        s.read_at(55, &mut b).unwrap();
        assert_eq!(b, [5, 6, 7, 8]);
        s.read_at(2, &mut b).unwrap();
        assert_eq!(b, [1; 4]);
        let e = s.read_at(68, &mut b).unwrap_err();
        assert!(e.contains("68..72 of m.safetensors"), "{e}");
        assert!(s.read_at(98, &mut b).unwrap_err().contains("past the end"));
        assert_eq!(s.step_bytes(), 20);
        s.clear_step();
        assert!(s.read_at(55, &mut b).is_err());
        s.read_at(0, &mut b).unwrap();
    }
}
