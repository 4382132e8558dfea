//! The two stages a fed tensor's bytes pass through: cut into the
//! analysis's chunks, then quantized chunk by chunk.

use super::*;

/// Decodes a tensor's bytes, fed in order in pieces of any size, into
/// chunks of exactly `chunk` elements (the tensor's last chunk shorter).
pub(super) struct Chunker {
    pub(super) dtype: Dtype,
    pub(super) width: usize,
    pub(super) chunk: usize,
    pub(super) numel: u64,
    /// Elements decoded so far.
    pub(super) seen: u64,
    /// The bytes of an element split across two pieces.
    pub(super) carry: Vec<u8>,
    pub(super) vals: Vec<f32>,
}

impl Chunker {
    pub(super) fn new(t: &TensorInfo, width: usize, chunk: usize) -> Self {
        Chunker {
            dtype: t.dtype.clone(),
            width,
            chunk: chunk.max(1),
            numel: t.numel,
            seen: 0,
            carry: Vec::with_capacity(width),
            vals: Vec::new(),
        }
    }

    /// Decodes `bytes` (never more than the tensor holds: the caller
    /// checks) and calls `f` with each chunk completed.
    pub(super) fn push(&mut self, mut bytes: &[u8], mut f: impl FnMut(&[f32])) {
        if !self.carry.is_empty() {
            let take = (self.width - self.carry.len()).min(bytes.len());
            self.carry.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.carry.len() < self.width {
                return;
            }
            let carry = std::mem::take(&mut self.carry);
            self.decode(&carry, &mut f);
            self.carry = carry;
            self.carry.clear();
        }
        let whole = bytes.len() - bytes.len() % self.width;
        self.decode(&bytes[..whole], &mut f);
        self.carry.extend_from_slice(&bytes[whole..]);
    }

    /// Decodes whole elements, emitting each chunk as it fills.
    pub(super) fn decode(&mut self, mut bytes: &[u8], f: &mut impl FnMut(&[f32])) {
        while !bytes.is_empty() {
            if let Some(n) = self.whole_chunk_in_place(bytes, f) {
                bytes = &bytes[n..];
                continue;
            }
            let room = self.chunk - self.vals.len();
            let n = (bytes.len() / self.width).min(room);
            let at = self.vals.len();
            self.vals.resize(at + n, 0.0);
            self.dtype
                .decode(&bytes[..n * self.width], &mut self.vals[at..]);
            bytes = &bytes[n * self.width..];
            self.seen += n as u64;
            if self.vals.len() == self.chunk || self.seen == self.numel {
                f(&self.vals);
                self.vals.clear();
            }
        }
    }
}

impl Chunker {
    /// Emits the next chunk straight from `bytes` when they hold all of it
    /// as aligned little-endian F32 and nothing is pending: the values are
    /// the bytes, so copying them out would only cost a pass over memory.
    /// Returns the bytes consumed.
    fn whole_chunk_in_place(&mut self, bytes: &[u8], f: &mut impl FnMut(&[f32])) -> Option<usize> {
        if self.dtype != Dtype::F32 || !self.vals.is_empty() || cfg!(target_endian = "big") {
            return None;
        }
        let n = (self.chunk as u64).min(self.numel - self.seen) as usize;
        // SAFETY: every bit pattern is a valid f32.
        let (head, vals, _) = unsafe { bytes.align_to::<f32>() };
        if !head.is_empty() || vals.len() < n {
            return None;
        }
        f(&vals[..n]);
        self.seen += n as u64;
        Some(n * 4)
    }
}

/// The quantize → dequantize → error accumulation of one scheme, chunk by
/// chunk.
pub(super) struct Quantizer {
    /// How each chunk is quantized; `None` for per-channel rows longer
    /// than a chunk, which arrive whole, one per chunk.
    pub(super) each: Option<ChunkQuant>,
    pub(super) d: Vec<f32>,
    pub(super) e: Vec<f32>,
    pub(super) errs: ErrorStats,
    pub(super) clipped: u64,
}

impl Quantizer {
    pub(super) fn chunker(
        t: &TensorInfo,
        width: usize,
        scheme: Scheme,
        scale: f32,
    ) -> (Chunker, Self) {
        let cols = t.shape.last().copied().unwrap_or(1).max(1);
        let chunk = chunk_elems(scheme, cols);
        let q = Quantizer {
            each: chunk.map(|_| ChunkQuant::new(scheme, cols as usize, scale)),
            d: Vec::new(),
            e: Vec::new(),
            errs: ErrorStats::default(),
            clipped: 0,
        };
        (Chunker::new(t, width, chunk.unwrap_or(cols as usize)), q)
    }

    pub(super) fn consume(&mut self, w: &[f32]) {
        if let Some(q) = self.each {
            return self.push(q, w);
        }
        let q = ChunkQuant::Int8(scheme::int8_scale(kernels::max_abs(w)));
        for part in w.chunks(CHUNK_ELEMS) {
            self.push(q, part);
        }
    }

    fn push(&mut self, q: ChunkQuant, w: &[f32]) {
        self.d.resize(w.len(), 0.0);
        self.e.resize(w.len(), 0.0);
        self.clipped += q.push_errors(w, &mut self.d, &mut self.e, &mut self.errs);
    }
}
