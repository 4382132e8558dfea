//! How the analysis gets a tensor's values: in place when the source
//! lends them, from a whole-tensor copy kept in the scratch, or read and
//! decoded a chunk at a time; and the scratch buffers that make it
//! allocation-free from one tensor to the next.

use super::{CHUNK_ELEMS, WHOLE_ELEMS};
use crate::format::source::Lent;
use crate::quant::stats::ValueStats;
use crate::{ByteSource, Error, TensorInfo};

/// Reusable buffers for one analysing thread.
pub struct Scratch {
    /// Largest tensor, in elements, kept whole between passes.
    pub(super) whole_limit: u64,
    pub(super) bytes: Vec<u8>,
    pub(super) w: Vec<f32>,
    pub(super) d: Vec<f32>,
    pub(super) e: Vec<f32>,
    pub(super) whole: Vec<f32>,
    /// The value statistics of `whole`, taken as it was read.
    pub(super) whole_values: ValueStats,
    /// Which tensor `whole` holds: source address and byte range (a
    /// zero-size tensor starts where the next one does).
    pub(super) whole_of: Option<(usize, u64, u64)>,
}

impl Default for Scratch {
    /// Keeps tensors of up to [`WHOLE_ELEMS`] elements whole.
    fn default() -> Self {
        Scratch::keeping(WHOLE_ELEMS * 4)
    }
}

impl Scratch {
    /// A scratch that keeps tensors whole between passes while their
    /// decoded values fit in `bytes` (larger ones are read again for each
    /// pass; 0 reads every tensor again).
    pub fn keeping(bytes: u64) -> Self {
        Scratch {
            whole_limit: bytes / 4,
            bytes: Vec::new(),
            w: Vec::new(),
            d: Vec::new(),
            e: Vec::new(),
            whole: Vec::new(),
            whole_values: ValueStats::default(),
            whole_of: None,
        }
    }
}

pub(super) fn tensor_key(src: &dyn ByteSource, t: &TensorInfo) -> (usize, u64, u64) {
    (
        src as *const dyn ByteSource as *const u8 as usize,
        t.start,
        t.end,
    )
}

/// Decodes a small tensor whole into the scratch so later passes over it
/// read memory instead of the source, and takes its value statistics on
/// the way, a chunk at a time while the chunk is in cache (the chunks
/// [`super::scan`] streams, so the sums are the same to the bit).
pub(super) fn cache_whole(
    src: &dyn ByteSource,
    file: &str,
    t: &TensorInfo,
    s: &mut Scratch,
) -> Result<(), Error> {
    if t.numel > s.whole_limit || s.whole_of == Some(tensor_key(src, t)) {
        return Ok(());
    }
    s.whole_of = None;
    let n = t.numel as usize;
    grow(&mut s.whole, n);
    let mut values = ValueStats::default();
    for at in (0..n).step_by(CHUNK_ELEMS) {
        let chunk = &mut s.whole[at..at + (n - at).min(CHUNK_ELEMS)];
        read_decoded(src, file, t, at as u64, &mut s.bytes, chunk)?;
        values.push(chunk);
    }
    s.whole_values = values;
    s.whole_of = Some(tensor_key(src, t));
    Ok(())
}

/// `v` at least `n` long: scratch buffers only grow (shrinking and
/// growing again zero-filled the difference every time), and their users
/// take the first `n` elements and overwrite them before reading. A
/// buffer that must grow is replaced, not resized: a large zeroed
/// allocation comes as fresh pages the system has zeroed already, where
/// `resize` wrote every byte (a memset of up to 64 MiB).
fn grow<T: Copy + Default>(v: &mut Vec<T>, n: usize) -> &mut Vec<T> {
    if v.len() < n {
        // The old buffer goes first, so the two are never both held.
        *v = Vec::new();
        *v = vec![T::default(); n];
    }
    v
}

/// Reads `out.len()` elements of tensor `t` starting at element `at`,
/// decoded to f32. Little-endian F32 is read straight into `out`.
fn read_decoded(
    src: &dyn ByteSource,
    file: &str,
    t: &TensorInfo,
    at: u64,
    bytes: &mut Vec<u8>,
    out: &mut [f32],
) -> Result<(), Error> {
    let width = t
        .dtype
        .decode_width()
        .expect("decode of a non-float tensor");
    let offset = t.start + at * width as u64;
    #[cfg(target_endian = "little")]
    if t.dtype == crate::Dtype::F32 {
        // SAFETY: every bit pattern is a valid f32, u8 has no alignment
        // requirement, and the byte view covers exactly `out`.
        let raw =
            unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u8>(), out.len() * 4) };
        return read(src, file, t, offset, raw);
    }
    let bytes = &mut grow(bytes, out.len() * width)[..out.len() * width];
    read(src, file, t, offset, bytes)?;
    t.dtype.decode(bytes, out);
    Ok(())
}

/// A read of raw tensor bytes, with errors naming the file and tensor.
fn read(
    src: &dyn ByteSource,
    file: &str,
    t: &TensorInfo,
    offset: u64,
    buf: &mut [u8],
) -> Result<(), Error> {
    src.read_at(offset, buf).map_err(|detail| Error::Read {
        file: file.to_string(),
        offset,
        detail: format!("tensor {:?}: {detail}", t.name),
    })
}

/// Streams elements `range` of a float tensor in chunks of at most
/// `chunk` elements, calling `f(first_element_index, values)`.
/// `lent` is the whole tensor in place, when its source lent it
/// ([`lend_f32`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn stream(
    src: &dyn ByteSource,
    file: &str,
    t: &TensorInfo,
    lent: Option<&[f32]>,
    range: std::ops::Range<u64>,
    chunk: usize,
    s: &mut Scratch,
    mut f: impl FnMut(u64, &[f32], &mut [f32], &mut [f32]),
) -> Result<(), Error> {
    let cached = s.whole_of == Some(tensor_key(src, t));
    let (mut at, to) = (range.start, range.end);
    while at < to {
        let n = (to - at).min(chunk as u64) as usize;
        let d = &mut grow(&mut s.d, n)[..n];
        let e = &mut grow(&mut s.e, n)[..n];
        if let Some(all) = lent {
            let i = at as usize;
            f(at, &all[i..i + n], d, e);
        } else if cached {
            let i = at as usize;
            f(at, &s.whole[i..i + n], d, e);
        } else {
            let w = &mut grow(&mut s.w, n)[..n];
            read_decoded(src, file, t, at, &mut s.bytes, w)?;
            f(at, w, d, e);
        }
        at += n as u64;
    }
    Ok(())
}

/// A little-endian F32 tensor's values in place, when its source lends
/// its bytes on a 4-byte boundary: no copy into the scratch at all.
pub struct LentF32<'a>(Lent<'a>);

impl LentF32<'_> {
    /// The values.
    pub fn values(&self) -> &[f32] {
        // SAFETY: `lend_f32` checked the bytes are 4-byte aligned and a
        // whole number of f32, and every bit pattern is a valid f32.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast::<f32>(), self.0.len() / 4) }
    }
}

/// Asks `src` to lend tensor `t` in place ([`ByteSource::lend`]): only
/// little-endian F32 (others are decoded anyway), and only if the lent
/// bytes are aligned for f32.
pub fn lend_f32<'a>(src: &'a dyn ByteSource, t: &TensorInfo) -> Option<LentF32<'a>> {
    if !cfg!(target_endian = "little") || t.dtype != crate::Dtype::F32 {
        return None;
    }
    let len = usize::try_from(t.end.checked_sub(t.start)?).ok()?;
    let lent = src.lend(t.start, len)?;
    let whole = lent.len() == len && (len as u64) == t.numel.checked_mul(4)?;
    (whole && lent.as_ptr().align_offset(4) == 0).then_some(LentF32(lent))
}
