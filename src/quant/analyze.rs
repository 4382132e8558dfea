//! Streaming analysis of one tensor: value statistics for every float
//! tensor, and quantize → dequantize → error statistics for quantized ones.
//!
//! Tensors are read in chunks of at most [`CHUNK_ELEMS`] elements, so memory
//! is bounded whatever the tensor size. `int8-tensor` needs the tensor's
//! max|w| before it can quantize, so it reads the tensor twice.

use crate::quant::kernels;
use crate::quant::scheme::{self, Scheme};
use crate::quant::stats::{ErrorMetrics, ErrorStats, ValueStats};
use crate::{ByteSource, Error, TensorInfo};

/// Largest number of elements decoded at once.
pub const CHUNK_ELEMS: usize = 1 << 15;

/// Tensors up to this many elements are decoded once and kept in memory
/// for the passes that need them (64 MiB of f32 per thread); larger ones
/// are read again for each pass.
pub const WHOLE_ELEMS: u64 = 1 << 24;

/// Reusable buffers for one analysing thread.
#[derive(Default)]
pub struct Scratch {
    bytes: Vec<u8>,
    w: Vec<f32>,
    d: Vec<f32>,
    e: Vec<f32>,
    whole: Vec<f32>,
    /// The value statistics of `whole`, taken as it was read.
    whole_values: ValueStats,
    /// Which tensor `whole` holds: source address and byte range (a
    /// zero-size tensor starts where the next one does).
    whole_of: Option<(usize, u64, u64)>,
}

fn tensor_key(src: &dyn ByteSource, t: &TensorInfo) -> (usize, u64, u64) {
    (
        src as *const dyn ByteSource as *const u8 as usize,
        t.start,
        t.end,
    )
}

/// Decodes a small tensor whole into the scratch so later passes over it
/// read memory instead of the source, and takes its value statistics on
/// the way, a chunk at a time while the chunk is in cache (the chunks
/// [`scan`] streams, so the sums are the same to the bit).
fn cache_whole(
    src: &dyn ByteSource,
    file: &str,
    t: &TensorInfo,
    s: &mut Scratch,
) -> Result<(), Error> {
    if t.numel > WHOLE_ELEMS || s.whole_of == Some(tensor_key(src, t)) {
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

/// What streaming one tensor produced.
#[derive(Debug, Clone)]
pub struct TensorAnalysis {
    /// Value statistics (decodable floats only).
    pub values: Option<ValueStats>,
    /// Error metrics (quantized, finite tensors only).
    pub errors: Option<ErrorMetrics>,
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
fn stream(
    src: &dyn ByteSource,
    file: &str,
    t: &TensorInfo,
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
        if cached {
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

/// Value statistics of a decodable float tensor, in one pass (none if
/// the scratch holds the tensor whole: they were taken as it was read).
pub fn scan(
    src: &dyn ByteSource,
    file: &str,
    t: &TensorInfo,
    s: &mut Scratch,
) -> Result<ValueStats, Error> {
    if s.whole_of == Some(tensor_key(src, t)) {
        return Ok(s.whole_values.clone());
    }
    let mut v = ValueStats::default();
    stream(src, file, t, 0..t.numel, CHUNK_ELEMS, s, |_, w, _, _| {
        v.push(w)
    })?;
    Ok(v)
}

/// Runs the quantize → dequantize pass of `scheme` over a 2-D float
/// tensor whose value statistics are `values`, calling `sink(w, w')` for
/// each chunk. Returns the number of clipped codes.
pub fn quantize_pass(
    src: &dyn ByteSource,
    file: &str,
    t: &TensorInfo,
    scheme: Scheme,
    values: &ValueStats,
    s: &mut Scratch,
    sink: impl FnMut(&[f32], &[f32], &mut [f32]),
) -> Result<u64, Error> {
    let rows = t.numel / t.shape.last().copied().unwrap_or(1).max(1);
    quantize_rows(src, file, t, scheme, values, 0..rows, s, sink)
}

/// [`quantize_pass`] over rows `rows` only (a block of an output layer):
/// every scheme's rows and groups are row-aligned, and `int8-tensor`'s
/// scale comes from `values`, the whole tensor's statistics.
#[allow(clippy::too_many_arguments)]
pub fn quantize_rows(
    src: &dyn ByteSource,
    file: &str,
    t: &TensorInfo,
    scheme: Scheme,
    values: &ValueStats,
    rows: std::ops::Range<u64>,
    s: &mut Scratch,
    mut sink: impl FnMut(&[f32], &[f32], &mut [f32]),
) -> Result<u64, Error> {
    let cols = t.shape.last().copied().unwrap_or(1).max(1);
    let elems = rows.start * cols..rows.end * cols;
    let mut clipped = 0u64;
    let scale = scheme::int8_scale(values.max_abs());
    match chunk_elems(scheme, cols) {
        Some(chunk) => {
            stream(src, file, t, elems, chunk, s, |_, w, d, e| {
                clipped += quantize_chunk(scheme, cols as usize, scale, w, d);
                sink(w, d, e);
            })?;
        }
        None => {
            // A row longer than a chunk: find its max, then quantize it.
            for r in rows {
                let (from, to) = (r * cols, (r + 1) * cols);
                let mut max_abs = 0f32;
                stream(src, file, t, from..to, CHUNK_ELEMS, s, |_, w, _, _| {
                    max_abs = max_abs.max(kernels::max_abs(w));
                })?;
                let scale = scheme::int8_scale(max_abs);
                stream(src, file, t, from..to, CHUNK_ELEMS, s, |_, w, d, e| {
                    clipped += kernels::int8_dequantized(w, d, scale);
                    sink(w, d, e);
                })?;
            }
        }
    }
    Ok(clipped)
}

/// The elements per chunk of `scheme`'s quantize pass over rows of `cols`
/// elements: chunks hold whole rows (per-channel) or whole groups (affine).
/// `None` for per-channel rows longer than a chunk, quantized row by row.
pub(crate) fn chunk_elems(scheme: Scheme, cols: u64) -> Option<usize> {
    match scheme {
        Scheme::Int8Tensor => Some(CHUNK_ELEMS),
        Scheme::Int8Channel if cols <= CHUNK_ELEMS as u64 => {
            Some(((CHUNK_ELEMS as u64 / cols).max(1) * cols) as usize)
        }
        Scheme::Int8Channel => None,
        Scheme::Affine { group_size, .. } => Some(CHUNK_ELEMS - CHUNK_ELEMS % group_size as usize),
    }
}

/// Quantizes one chunk `w` of the quantize pass (as [`chunk_elems`] cuts
/// them) into dequantized `d`; `tensor_scale` is `int8-tensor`'s scale.
/// Returns the number of clipped codes.
pub(crate) fn quantize_chunk(
    scheme: Scheme,
    cols: usize,
    tensor_scale: f32,
    w: &[f32],
    d: &mut [f32],
) -> u64 {
    let mut clipped = 0u64;
    match scheme {
        Scheme::Int8Tensor => clipped += kernels::int8_dequantized(w, d, tensor_scale),
        Scheme::Int8Channel => {
            for (wr, dr) in w.chunks_exact(cols).zip(d.chunks_exact_mut(cols)) {
                let max_abs = kernels::max_abs(wr);
                clipped += kernels::int8_dequantized(wr, dr, scheme::int8_scale(max_abs));
            }
        }
        Scheme::Affine { bits, group_size } => {
            clipped += kernels::affine_dequantized(w, d, group_size as usize, bits);
        }
    }
    clipped
}

/// Analyses one tensor: value statistics if it is a decodable float, and
/// error metrics under `scheme` if `quantize` is set and every value is
/// finite (metrics of a tensor holding NaN or Inf would be meaningless).
pub fn analyze_tensor(
    src: &dyn ByteSource,
    file: &str,
    t: &TensorInfo,
    quantize: bool,
    scheme: Scheme,
    s: &mut Scratch,
) -> Result<TensorAnalysis, Error> {
    if !t.dtype.is_decodable_float() {
        return Ok(TensorAnalysis {
            values: None,
            errors: None,
        });
    }
    if quantize {
        cache_whole(src, file, t, s)?;
    }
    let values = scan(src, file, t, s)?;
    let errors = if quantize && values.nan == 0 && values.inf == 0 {
        let mut acc = ErrorStats::default();
        acc.clipped = quantize_pass(src, file, t, scheme, &values, s, |w, d, e| {
            acc.push(w, d, e)
        })?;
        Some(acc.metrics(&values))
    } else {
        None
    };
    Ok(TensorAnalysis {
        values: Some(values),
        errors,
    })
}

/// Linear histograms of one quantized tensor's weights and errors, for plots.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LayerHistograms {
    /// Lowest weight bin edge.
    pub weight_min: f64,
    /// Highest weight bin edge.
    pub weight_max: f64,
    /// Weight counts per equal-width bin.
    pub weight_counts: Vec<u64>,
    /// Error bins span `[-error_max, error_max]`.
    pub error_max: f64,
    /// Error (w − w') counts per equal-width bin.
    pub error_counts: Vec<u64>,
}

/// Computes [`LayerHistograms`] with `bins` bins (finite values only).
pub fn layer_histograms(
    src: &dyn ByteSource,
    file: &str,
    t: &TensorInfo,
    scheme: Scheme,
    bins: usize,
    s: &mut Scratch,
) -> Result<Option<LayerHistograms>, Error> {
    if !t.dtype.is_decodable_float() || bins == 0 {
        return Ok(None);
    }
    cache_whole(src, file, t, s)?;
    let values = scan(src, file, t, s)?;
    if values.finite() == 0 {
        return Ok(None);
    }
    let (lo, hi) = (values.min as f64, values.max as f64);
    let mut wc = vec![0u64; bins];
    let mut errs = ErrorStats::default();
    let quantizable = t.shape.len() == 2 && values.nan == 0 && values.inf == 0;
    let bin = |x: f64, lo: f64, hi: f64| -> usize {
        if hi <= lo {
            0
        } else {
            (((x - lo) / (hi - lo) * bins as f64) as usize).min(bins - 1)
        }
    };
    // Errors are binned in a second pass, once their range is known.
    stream(src, file, t, 0..t.numel, CHUNK_ELEMS, s, |_, w, _, _| {
        for &x in w.iter().filter(|x| x.is_finite()) {
            wc[bin(x as f64, lo, hi)] += 1;
        }
    })?;
    let mut ec = vec![0u64; bins];
    let mut error_max = 0.0;
    if quantizable {
        quantize_pass(src, file, t, scheme, &values, s, |w, d, e| {
            errs.push(w, d, e)
        })?;
        error_max = errs.metrics(&values).max_abs_error;
        quantize_pass(src, file, t, scheme, &values, s, |w, d, _| {
            for (&a, &b) in w.iter().zip(d) {
                ec[bin(a as f64 - b as f64, -error_max, error_max)] += 1;
            }
        })?;
    }
    Ok(Some(LayerHistograms {
        weight_min: lo,
        weight_max: hi,
        weight_counts: wc,
        error_max,
        error_counts: ec,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::testing::{f32_file, model};

    fn analyse(values: &[f32], quantize: bool) -> TensorAnalysis {
        let m = model(f32_file(&[("w", &[2, 2], values)]));
        let (shard, t) = m.tensor(0).unwrap();
        let mut s = Scratch::default();
        analyze_tensor(
            shard.source.as_ref(),
            "m",
            t,
            quantize,
            Scheme::Int8Tensor,
            &mut s,
        )
        .unwrap()
    }

    #[test]
    fn int8_tensor_errors_equal_a_hand_computation() {
        // scale = 1/127: codes 127, -76 (-76.2), 38 (38.1), 0.
        let w = [1.0f32, -0.6, 0.3, 0.0];
        let a = analyse(&w, true);
        let d = [1.0, -76.0 / 127.0, 38.0 / 127.0, 0.0];
        let e: Vec<f64> = w.iter().zip(d).map(|(&w, d)| d - w as f64).collect();
        let w2: f64 = w.iter().map(|&x| (x as f64).powi(2)).sum();
        let e2: f64 = e.iter().map(|x| x * x).sum();
        let m = a.errors.expect("a finite quantized tensor has metrics");
        assert!((m.max_abs_error - 0.2 / 127.0).abs() < 1e-6, "{m:?}");
        assert!((m.rel_error - (e2 / w2).sqrt()).abs() < 1e-6, "{m:?}");
        assert!((m.mse - e2 / 4.0).abs() < 1e-9, "{m:?}");
        let v = a.values.expect("an f32 tensor has value statistics");
        assert_eq!((v.min, v.max, v.count), (-0.6, 1.0, 4));
    }

    #[test]
    fn a_tensor_holding_nan_has_values_but_no_metrics() {
        let a = analyse(&[1.0, f32::NAN, 0.5, 0.25], true);
        assert_eq!(a.values.expect("values").nan, 1);
        assert!(a.errors.is_none());
    }

    #[test]
    fn a_kept_tensor_is_measured_but_not_quantized() {
        let a = analyse(&[1.0, -0.6, 0.3, 0.0], false);
        assert!(a.errors.is_none());
        assert_eq!(a.values.expect("values").count, 4);
    }
}
