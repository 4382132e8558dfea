//! Streaming analysis of one tensor: value statistics for every float
//! tensor, and quantize → dequantize → error statistics for quantized ones.
//!
//! Tensors are read in chunks of at most [`CHUNK_ELEMS`] elements, so memory
//! is bounded whatever the tensor size. `int8-tensor` needs the tensor's
//! max|w| before it can quantize, so it reads the tensor twice.

use crate::scheme::{self, Scheme};
use crate::stats::{ErrorMetrics, ErrorStats, ValueStats};
use crate::{ByteSource, Error, TensorInfo};

/// Largest number of elements decoded at once.
pub const CHUNK_ELEMS: usize = 1 << 18;

/// Reusable buffers for one analysing thread.
#[derive(Default)]
pub struct Scratch {
    bytes: Vec<u8>,
    w: Vec<f32>,
    d: Vec<f32>,
    e: Vec<f32>,
}

/// What streaming one tensor produced.
#[derive(Debug, Clone)]
pub struct TensorAnalysis {
    /// Value statistics (decodable floats only).
    pub values: Option<ValueStats>,
    /// Error metrics (quantized, finite tensors only).
    pub errors: Option<ErrorMetrics>,
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

/// Streams elements `[from, to)` of a float tensor in chunks of at most
/// `chunk` elements, calling `f(first_element_index, values)`.
fn stream(
    src: &dyn ByteSource,
    file: &str,
    t: &TensorInfo,
    from: u64,
    to: u64,
    chunk: usize,
    s: &mut Scratch,
    mut f: impl FnMut(u64, &[f32], &mut [f32], &mut [f32]),
) -> Result<(), Error> {
    let width = t
        .dtype
        .decode_width()
        .expect("stream of a non-float tensor");
    let mut at = from;
    while at < to {
        let n = (to - at).min(chunk as u64) as usize;
        s.bytes.resize(n * width, 0);
        s.w.resize(n, 0.0);
        s.d.resize(n, 0.0);
        s.e.resize(n, 0.0);
        read(src, file, t, t.start + at * width as u64, &mut s.bytes)?;
        t.dtype.decode(&s.bytes, &mut s.w);
        f(at, &s.w, &mut s.d, &mut s.e);
        at += n as u64;
    }
    Ok(())
}

/// Value statistics of a decodable float tensor, in one pass.
pub fn scan(
    src: &dyn ByteSource,
    file: &str,
    t: &TensorInfo,
    s: &mut Scratch,
) -> Result<ValueStats, Error> {
    let mut v = ValueStats::default();
    stream(src, file, t, 0, t.numel, CHUNK_ELEMS, s, |_, w, _, _| {
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
    mut sink: impl FnMut(&[f32], &[f32], &mut [f32]),
) -> Result<u64, Error> {
    let cols = t.shape.last().copied().unwrap_or(1).max(1);
    let mut clipped = 0u64;
    match scheme {
        Scheme::Int8Tensor => {
            let scale = scheme::int8_scale(values.max_abs());
            stream(src, file, t, 0, t.numel, CHUNK_ELEMS, s, |_, w, d, e| {
                for (o, &x) in d.iter_mut().zip(w) {
                    let (q, c) = scheme::int8_quantize(x, scale);
                    clipped += c as u64;
                    *o = scheme::int8_dequantize(q, scale);
                }
                sink(w, d, e);
            })?;
        }
        Scheme::Int8Channel => {
            let rows = t.numel / cols;
            if cols <= CHUNK_ELEMS as u64 {
                let rows_per_chunk = (CHUNK_ELEMS as u64 / cols).max(1);
                let chunk = (rows_per_chunk * cols) as usize;
                stream(src, file, t, 0, t.numel, chunk, s, |_, w, d, e| {
                    for (wr, dr) in w
                        .chunks_exact(cols as usize)
                        .zip(d.chunks_exact_mut(cols as usize))
                    {
                        let max_abs = wr.iter().fold(0f32, |m, x| m.max(x.abs()));
                        let scale = scheme::int8_scale(max_abs);
                        for (o, &x) in dr.iter_mut().zip(wr) {
                            let (q, c) = scheme::int8_quantize(x, scale);
                            clipped += c as u64;
                            *o = scheme::int8_dequantize(q, scale);
                        }
                    }
                    sink(w, d, e);
                })?;
            } else {
                // A row longer than a chunk: find its max, then quantize it.
                for r in 0..rows {
                    let (from, to) = (r * cols, (r + 1) * cols);
                    let mut max_abs = 0f32;
                    stream(src, file, t, from, to, CHUNK_ELEMS, s, |_, w, _, _| {
                        max_abs = w.iter().fold(max_abs, |m, x| m.max(x.abs()));
                    })?;
                    let scale = scheme::int8_scale(max_abs);
                    stream(src, file, t, from, to, CHUNK_ELEMS, s, |_, w, d, e| {
                        for (o, &x) in d.iter_mut().zip(w) {
                            let (q, c) = scheme::int8_quantize(x, scale);
                            clipped += c as u64;
                            *o = scheme::int8_dequantize(q, scale);
                        }
                        sink(w, d, e);
                    })?;
                }
            }
        }
        Scheme::Affine { bits, group_size } => {
            let g = group_size as usize;
            let n_bins = ((1u32 << bits) - 1) as f32;
            let chunk = CHUNK_ELEMS - CHUNK_ELEMS % g;
            stream(src, file, t, 0, t.numel, chunk, s, |_, w, d, e| {
                for (wg, dg) in w.chunks(g).zip(d.chunks_mut(g)) {
                    let (sc, b) = scheme::affine_params(wg, bits);
                    for (o, &x) in dg.iter_mut().zip(wg) {
                        let (q, c) = scheme::affine_quantize(x, sc, b, n_bins);
                        clipped += c as u64;
                        *o = scheme::affine_dequantize(q, sc, b);
                    }
                }
                sink(w, d, e);
            })?;
        }
    }
    Ok(clipped)
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
    stream(src, file, t, 0, t.numel, CHUNK_ELEMS, s, |_, w, _, _| {
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
