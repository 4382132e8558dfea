//! A [`ByteSource`] in front of a reader whose every call is costly (the
//! page's Blobs, read through the browser's blob store): byte ranges read
//! ahead by the caller are held in reused buffers and served from memory,
//! and the reads left over, inside the tensors being analysed, fetch a
//! window of up to [`WINDOW`] bytes at once so that an analysis's later
//! passes over the same bytes are served from memory too.
//!
//! A reader that must never be called synchronously (the page's links)
//! fails its reads: everything is then held ahead, and a read outside the
//! held ranges is an error naming the range.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::format::source::Lent;
use crate::{ByteSource, Model};

/// Where a [`ReadAhead`] gets the bytes not held: one call per range.
pub trait RangeRead: Send + Sync {
    /// Fills `buf` with the bytes at `offset`; the message says why not.
    fn read_range(&self, offset: u64, buf: &mut [u8]) -> Result<(), String>;
}

impl<T: RangeRead + ?Sized> RangeRead for Box<T> {
    fn read_range(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        (**self).read_range(offset, buf)
    }
}

/// Tensors read together (a quantized weight with its scales, biases and
/// zero points), and so the most windows kept per source.
pub const MAX_HINTS: usize = 4;

/// Largest window read at once by a synchronous read inside a hinted
/// tensor.
pub const WINDOW: u64 = 32 << 20;

/// Bytes of the source held in memory: the first `len` bytes of
/// `data`, which is shared with the tensors lent from it
/// ([`ByteSource::lend`]) and only grows, so reusing it for the next row
/// writes no bytes the reader does not.
struct Held {
    start: u64,
    data: Arc<Vec<u8>>,
    len: usize,
    /// Whether `data` holds the bytes (it is being filled until then).
    ready: bool,
}

impl Held {
    fn bytes(&self) -> &[u8] {
        &self.data[..self.len]
    }
}

#[derive(Default)]
struct State {
    /// Buffers of ranges read ahead; kept, not freed, between rows.
    held: Vec<Held>,
    /// Byte ranges (start, end) of the tensors being analysed.
    hints: Vec<(u64, u64)>,
    /// `windows[i]` holds bytes of `hints[i]` (start offset, bytes).
    windows: Vec<(u64, Vec<u8>)>,
    /// Bytes read from the reader since the last [`ReadAhead::take_sync_read`].
    sync_read: u64,
}

/// A source of `len` bytes read through `raw`, with held ranges and
/// read-ahead windows.
pub struct ReadAhead<R> {
    raw: R,
    len: u64,
    state: Mutex<State>,
}

impl<R: RangeRead> ReadAhead<R> {
    /// A source of `len` bytes read through `raw`; nothing held yet.
    pub fn new(raw: R, len: u64) -> Self {
        ReadAhead {
            raw,
            len,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic cannot leave the state half-updated in a way that
        // matters: at worst a window holds stale bytes for a dropped hint.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes room for `len` bytes at `start`, to be filled by the caller
    /// through the returned pointer (valid until the next call on this
    /// source) and then [`ReadAhead::commit`]ted; returns the slot. Buffers
    /// of earlier rows are reused.
    pub fn reserve(&self, start: u64, len: usize) -> (usize, *mut u8) {
        let mut s = self.state();
        let slot = match s.held.iter().position(|h| !h.ready && h.len == 0) {
            Some(k) => k,
            None => {
                s.held.push(Held {
                    start,
                    data: Arc::default(),
                    len: 0,
                    ready: false,
                });
                s.held.len() - 1
            }
        };
        let h = &mut s.held[slot];
        (h.start, h.len, h.ready) = (start, len, false);
        if Arc::get_mut(&mut h.data).is_none() {
            // A tensor lent from this buffer is still borrowed: a new one.
            h.data = Arc::default();
        }
        let data = Arc::get_mut(&mut h.data).expect("a buffer no one else holds");
        if data.len() < len {
            if data.capacity() < len {
                // Free the smaller buffer before the larger is allocated,
                // so a worker never holds both (its memory never shrinks).
                *data = Vec::new();
            }
            data.resize(len, 0);
        }
        (slot, data.as_mut_ptr())
    }

    /// Marks slot `slot` as filled: reads inside it are served from memory.
    pub fn commit(&self, slot: usize) {
        if let Some(h) = self.state().held.get_mut(slot) {
            h.ready = true;
        }
    }

    /// Holds a copy of `bytes` at `start` (a reserve, copy and commit).
    pub fn hold(&self, start: u64, bytes: &[u8]) {
        let (slot, ptr) = self.reserve(start, bytes.len());
        // SAFETY: `reserve` sized the buffer to `bytes.len()`; nothing else
        // touches it before the copy ends.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len()) };
        self.commit(slot);
    }

    /// Drops the held ranges (their buffers are kept for reuse).
    pub fn release(&self) {
        for h in self.state().held.iter_mut() {
            (h.ready, h.len) = (false, 0);
        }
    }

    /// Drops the held ranges and windows and frees their buffers, for a
    /// caller about to take that memory for something else.
    pub fn free(&self) {
        let mut s = self.state();
        s.held.clear();
        s.windows.clear();
    }

    /// Bytes held in memory, reused buffers included.
    pub fn held_capacity(&self) -> u64 {
        let s = self.state();
        let held: usize = s.held.iter().map(|h| h.data.capacity()).sum();
        let windows: usize = s.windows.iter().map(|w| w.1.capacity()).sum();
        (held + windows) as u64
    }

    /// Points the read-ahead windows at the byte ranges (start, end) of
    /// the tensors being analysed, at most [`MAX_HINTS`].
    pub fn hint(&self, ranges: &[(u64, u64)]) {
        let mut s = self.state();
        s.hints.clear();
        s.hints.extend(ranges.iter().take(MAX_HINTS));
        let keep = s.hints.len();
        let State { hints, windows, .. } = &mut *s;
        windows.truncate(keep);
        // A window holds bytes of its own hint's tensor only.
        for ((start, data), &(hs, he)) in windows.iter_mut().zip(hints.iter()) {
            if *start < hs || *start + data.len() as u64 > he {
                data.clear();
            }
        }
    }

    /// Bytes read from the reader (not held) since the last call.
    pub fn take_sync_read(&self) -> u64 {
        std::mem::take(&mut self.state().sync_read)
    }
}

impl<R: RangeRead> ByteSource for ReadAhead<R> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&e| e <= self.len)
            .ok_or_else(|| {
                format!(
                    "range of {} bytes at {offset} is past the end of the {}-byte file",
                    buf.len(),
                    self.len
                )
            })?;
        let s = &mut *self.state();
        let held = s
            .held
            .iter()
            .filter(|h| h.ready)
            .map(|h| (h.start, h.bytes()));
        for (wstart, data) in held.chain(s.windows.iter().map(|(a, d)| (*a, d.as_slice()))) {
            if offset >= wstart && end <= wstart + data.len() as u64 {
                let at = (offset - wstart) as usize;
                buf.copy_from_slice(&data[at..at + buf.len()]);
                return Ok(());
            }
        }
        let slot = s
            .hints
            .iter()
            .position(|&(hs, he)| offset >= hs && end <= he);
        let Some(slot) = slot.filter(|_| (buf.len() as u64) < WINDOW) else {
            s.sync_read += buf.len() as u64;
            return self.raw.read_range(offset, buf);
        };
        if s.windows.len() <= slot {
            s.windows.resize_with(slot + 1, || (0, Vec::new()));
        }
        let wend = s.hints[slot].1.min(offset + WINDOW).max(end);
        let (wstart, data) = &mut s.windows[slot];
        data.resize((wend - offset) as usize, 0);
        s.sync_read += data.len() as u64;
        if let Err(e) = self.raw.read_range(offset, data) {
            data.clear();
            return Err(e);
        }
        *wstart = offset;
        buf.copy_from_slice(&data[..buf.len()]);
        Ok(())
    }

    /// Held bytes are lent in place (the analysis of a row read ahead
    /// then copies nothing); windows are not, as the next read may
    /// refill them.
    fn lend(&self, offset: u64, len: usize) -> Option<Lent<'_>> {
        let end = offset.checked_add(len as u64)?;
        let s = self.state();
        let h = s
            .held
            .iter()
            .find(|h| h.ready && offset >= h.start && end <= h.start + h.len as u64)?;
        Lent::shared(Arc::clone(&h.data), (offset - h.start) as usize, len)
    }
}

/// Whether `source` (a shard's) is `this` source.
pub fn same_source<T: ?Sized, U: ?Sized>(
    this: &std::sync::Arc<T>,
    source: &std::sync::Arc<U>,
) -> bool {
    std::ptr::addr_eq(std::sync::Arc::as_ptr(source), std::sync::Arc::as_ptr(this))
}

/// The byte ranges (start, end) of `tensors` (model-order indices into
/// `model`) that `source` holds.
pub fn tensor_ranges<T: ?Sized>(
    source: &std::sync::Arc<T>,
    model: &Model,
    tensors: &[usize],
) -> Vec<(u64, u64)> {
    tensors
        .iter()
        .filter_map(|&i| model.tensor(i).ok())
        .filter(|(shard, _)| same_source(source, &shard.source))
        .map(|(_, t)| (t.start, t.end))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A byte vector that counts the calls and bytes read from it.
    struct Counting {
        bytes: Vec<u8>,
        calls: AtomicU64,
        read: AtomicU64,
    }

    impl RangeRead for Counting {
        fn read_range(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.read.fetch_add(buf.len() as u64, Ordering::Relaxed);
            self.bytes.read_at(offset, buf)
        }
    }

    /// Refuses every read, as a link source does.
    struct Refusing;

    impl RangeRead for Refusing {
        fn read_range(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
            Err(format!("bytes {offset}+{} were not read ahead", buf.len()))
        }
    }

    fn source(n: usize) -> ReadAhead<Counting> {
        let bytes = (0..n).map(|i| (i * 7 % 251) as u8).collect();
        ReadAhead::new(
            Counting {
                bytes,
                calls: AtomicU64::new(0),
                read: AtomicU64::new(0),
            },
            n as u64,
        )
    }

    fn read(s: &impl ByteSource, at: u64, n: usize) -> Vec<u8> {
        let mut b = vec![0; n];
        s.read_at(at, &mut b).unwrap();
        b
    }

    #[test]
    fn held_ranges_are_served_from_memory() {
        let s = source(1000);
        let want = read(&s.raw.bytes, 100, 300);
        s.hold(100, &want);
        assert_eq!(read(&s, 150, 10), want[50..60]);
        assert_eq!(read(&s, 100, 300), want);
        assert_eq!(s.raw.calls.load(Ordering::Relaxed), 0);
        // Straddling the held range's end: a read of the raw source.
        assert_eq!(read(&s, 390, 20), read(&s.raw.bytes, 390, 20));
        assert_eq!(s.take_sync_read(), 20);
        s.release();
        assert_eq!(read(&s, 150, 10), want[50..60]);
        assert_eq!(s.take_sync_read(), 10);
    }

    #[test]
    fn a_reserved_slot_serves_nothing_until_committed() {
        let s = ReadAhead::new(Refusing, 100);
        let (slot, ptr) = s.reserve(10, 20);
        let mut b = [0u8; 4];
        let e = s.read_at(12, &mut b).unwrap_err();
        assert!(e.contains("bytes 12+4 were not read ahead"), "{e}");
        // SAFETY: the slot holds 20 bytes.
        unsafe { std::ptr::write_bytes(ptr, 5, 20) };
        s.commit(slot);
        s.read_at(12, &mut b).unwrap();
        assert_eq!(b, [5; 4]);
        // Buffers are reused after a release.
        s.release();
        let cap = s.held_capacity();
        let (again, _) = s.reserve(0, 8);
        assert_eq!((again, s.held_capacity()), (slot, cap));
    }

    #[test]
    fn held_bytes_are_lent_in_place_and_never_reused_while_lent() {
        let s = source(1000);
        let want = read(&s.raw.bytes, 100, 300);
        s.hold(100, &want);
        let lent = s.lend(150, 100).expect("inside the held range");
        assert_eq!(&lent[..], &want[50..150]);
        // Outside or across the held range: nothing lent.
        assert!(s.lend(50, 100).is_none());
        assert!(s.lend(350, 100).is_none());
        // The next row's bytes go to another buffer while these are lent.
        s.release();
        let (_, ptr) = s.reserve(100, 300);
        // SAFETY: the slot holds 300 bytes.
        unsafe { std::ptr::write_bytes(ptr, 9, 300) };
        assert_eq!(&lent[..], &want[50..150]);
        assert_eq!(s.raw.calls.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn hinted_reads_fetch_windows_clamped_to_the_tensor() {
        let s = source(1 << 16);
        s.hint(&[(1000, 9000), (20_000, 20_100)]);
        assert_eq!(read(&s, 1000, 16), read(&s.raw.bytes, 1000, 16));
        assert_eq!(s.take_sync_read(), 8000);
        // The rest of the tensor, and its second pass: memory.
        for at in (1000..9000).step_by(500) {
            assert_eq!(read(&s, at, 500), read(&s.raw.bytes, at, 500));
        }
        assert_eq!(s.raw.calls.load(Ordering::Relaxed), 1);
        assert_eq!(read(&s, 20_050, 50), read(&s.raw.bytes, 20_050, 50));
        assert_eq!(s.take_sync_read(), 50);
        // Hinting another tensor drops the window of the last one.
        s.hint(&[(20_000, 20_100)]);
        assert_eq!(read(&s, 1000, 16), read(&s.raw.bytes, 1000, 16));
        assert_eq!(s.take_sync_read(), 16);
        // Outside every hint: straight to the reader.
        assert_eq!(read(&s, 30_000, 10), read(&s.raw.bytes, 30_000, 10));
        assert_eq!(s.take_sync_read(), 10);
        let mut b = [0u8; 2];
        assert!(s
            .read_at((1 << 16) - 1, &mut b)
            .unwrap_err()
            .contains("past the end"));
    }
}
