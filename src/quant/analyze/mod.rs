//! Streaming analysis of one tensor: value statistics for every float
//! tensor, and quantize → dequantize → error statistics for quantized ones.
//!
//! Tensors are streamed in chunks of at most [`CHUNK_ELEMS`] elements, so
//! memory is bounded whatever the tensor size. `int8-tensor` needs the
//! tensor's max|w| before it can quantize, so it passes over the tensor
//! twice: over the bytes its source lends in place ([`lend_f32`]), else a
//! whole copy kept in the scratch (up to its limit, [`Scratch::keeping`]),
//! else reading it again.

use crate::quant::kernels;
use crate::quant::scheme::{self, Scheme};
use crate::quant::stats::{ErrorMetrics, ErrorStats, ValueStats};
use crate::{ByteSource, Error, TensorInfo};

mod bands;
mod chunk;
mod stream;

pub(crate) use chunk::{chunk_elems, ChunkQuant};
use stream::{cache_whole, stream, tensor_key};
pub use stream::{lend_f32, LentF32, Scratch};

/// Largest number of elements decoded at once.
pub const CHUNK_ELEMS: usize = 1 << 15;

/// By default ([`Scratch::default`]), tensors up to this many elements are
/// decoded once and kept in memory for the passes that need them (64 MiB
/// of f32 per thread); larger ones are read again for each pass.
pub const WHOLE_ELEMS: u64 = 1 << 24;

/// What streaming one tensor produced.
#[derive(Debug, Clone)]
pub struct TensorAnalysis {
    /// Value statistics (decodable floats only).
    pub values: Option<ValueStats>,
    /// Error metrics (quantized, finite tensors only).
    pub errors: Option<ErrorMetrics>,
}

/// Value statistics of a decodable float tensor, in one pass (none if
/// the scratch holds the tensor whole: they were taken as it was read).
pub fn scan(
    src: &dyn ByteSource,
    file: &str,
    t: &TensorInfo,
    s: &mut Scratch,
) -> Result<ValueStats, Error> {
    let lent = lend_f32(src, t);
    scan_lent(src, file, t, lent.as_ref().map(LentF32::values), s)
}

/// [`scan`], with `lent` as for [`stream`].
fn scan_lent(
    src: &dyn ByteSource,
    file: &str,
    t: &TensorInfo,
    lent: Option<&[f32]>,
    s: &mut Scratch,
) -> Result<ValueStats, Error> {
    if lent.is_none() && s.whole_of == Some(tensor_key(src, t)) {
        return Ok(s.whole_values.clone());
    }
    let mut v = ValueStats::default();
    stream_range(src, file, t, lent, 0..t.numel, s, |w, _, _| v.push(w))?;
    Ok(v)
}

/// Streams elements `range` of `t` through `f(values, d, e)` ([`stream`]
/// with chunks of [`CHUNK_ELEMS`]).
fn stream_range(
    src: &dyn ByteSource,
    file: &str,
    t: &TensorInfo,
    lent: Option<&[f32]>,
    range: std::ops::Range<u64>,
    s: &mut Scratch,
    mut f: impl FnMut(&[f32], &mut [f32], &mut [f32]),
) -> Result<(), Error> {
    let each = |_: u64, w: &[f32], d: &mut [f32], e: &mut [f32]| f(w, d, e);
    stream(src, file, t, lent, range, CHUNK_ELEMS, s, each)
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
    let lent = lend_f32(src, t);
    let lent = lent.as_ref().map(LentF32::values);
    let pass = QuantizePass::new(src, file, t, lent, scheme, values);
    pass.rows(0..pass.row_count(), s, sink)
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
    sink: impl FnMut(&[f32], &[f32], &mut [f32]),
) -> Result<u64, Error> {
    let lent = lend_f32(src, t);
    let lent = lent.as_ref().map(LentF32::values);
    QuantizePass::new(src, file, t, lent, scheme, values).rows(rows, s, sink)
}

/// One tensor's quantize pass under one scheme: what [`quantize_rows`]
/// reads, with `lent` as for [`stream`] (lent once by the caller for all
/// its passes) and the tensor's largest finite |w| for `int8-tensor`'s scale.
#[derive(Clone, Copy)]
struct QuantizePass<'a> {
    src: &'a dyn ByteSource,
    file: &'a str,
    t: &'a TensorInfo,
    lent: Option<&'a [f32]>,
    scheme: Scheme,
    max_abs: f32,
}

impl<'a> QuantizePass<'a> {
    /// The pass over `t`, whose value statistics are `values`.
    fn new(
        src: &'a dyn ByteSource,
        file: &'a str,
        t: &'a TensorInfo,
        lent: Option<&'a [f32]>,
        scheme: Scheme,
        values: &ValueStats,
    ) -> Self {
        let max_abs = values.max_abs();
        QuantizePass {
            src,
            file,
            t,
            lent,
            scheme,
            max_abs,
        }
    }

    /// Rows of the tensor (the last axis is a row).
    fn row_count(&self) -> u64 {
        self.t.numel / self.t.shape.last().copied().unwrap_or(1).max(1)
    }

    /// [`quantize_rows`] over `rows`.
    fn rows(
        &self,
        rows: std::ops::Range<u64>,
        s: &mut Scratch,
        mut sink: impl FnMut(&[f32], &[f32], &mut [f32]),
    ) -> Result<u64, Error> {
        self.chunks(rows, s, |q, w, d, e| {
            let clipped = q.dequantize(w, d);
            sink(w, d, e);
            clipped
        })
    }

    /// Adds the error statistics of rows `rows` to `acc` (int8 codes
    /// straight from the originals: [`ChunkQuant::push_errors`]); returns
    /// the number of clipped codes.
    fn errors(
        &self,
        rows: std::ops::Range<u64>,
        s: &mut Scratch,
        acc: &mut ErrorStats,
    ) -> Result<u64, Error> {
        self.chunks(rows, s, |q, w, d, e| q.push_errors(w, d, e, acc))
    }

    /// Streams rows `rows` in the chunks of [`chunk_elems`], calling
    /// `each(how, w, d, e)` with how to quantize each chunk `w` (`d` and
    /// `e`: scratch as long as `w`); returns the sum of what it returns.
    fn chunks(
        &self,
        rows: std::ops::Range<u64>,
        s: &mut Scratch,
        mut each: impl FnMut(ChunkQuant, &[f32], &mut [f32], &mut [f32]) -> u64,
    ) -> Result<u64, Error> {
        let Self {
            src,
            file,
            t,
            lent,
            scheme,
            max_abs,
        } = *self;
        let cols = t.shape.last().copied().unwrap_or(1).max(1);
        let elems = rows.start * cols..rows.end * cols;
        let mut total = 0u64;
        match chunk_elems(scheme, cols) {
            Some(chunk) => {
                let q = ChunkQuant::new(scheme, cols as usize, scheme::int8_scale(max_abs));
                stream(src, file, t, lent, elems, chunk, s, |_, w, d, e| {
                    total += each(q, w, d, e);
                })?;
            }
            None => {
                // A row longer than a chunk: find its max, then quantize it.
                for r in rows {
                    let (from, to) = (r * cols, (r + 1) * cols);
                    let mut max_abs = 0f32;
                    stream_range(src, file, t, lent, from..to, s, |w, _, _| {
                        max_abs = max_abs.max(kernels::max_abs(w));
                    })?;
                    let q = ChunkQuant::Int8(scheme::int8_scale(max_abs));
                    stream_range(src, file, t, lent, from..to, s, |w, d, e| {
                        total += each(q, w, d, e);
                    })?;
                }
            }
        }
        Ok(total)
    }
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
    let lent = lend_f32(src, t);
    let lent = lent.as_ref().map(LentF32::values);
    if quantize && lent.is_none() {
        cache_whole(src, file, t, s)?;
    }
    let values = scan_lent(src, file, t, lent, s)?;
    let errors = if quantize && values.nan == 0 && values.inf == 0 {
        let pass = QuantizePass::new(src, file, t, lent, scheme, &values);
        let acc = error_pass(&pass, s)?;
        Some(acc.metrics(&values))
    } else {
        None
    };
    Ok(TensorAnalysis {
        values: Some(values),
        errors,
    })
}

/// The error statistics of a whole quantize pass. The |error| histogram
/// counts bands chosen from a sample of rows where that pays
/// ([`bands::sample_bands`]), and every bucket on a second pass in the
/// rare case the sample misled them.
fn error_pass(pass: &QuantizePass, s: &mut Scratch) -> Result<ErrorStats, Error> {
    let whole = |mut acc: ErrorStats, s: &mut Scratch| -> Result<ErrorStats, Error> {
        acc.clipped = pass.errors(0..pass.row_count(), s, &mut acc)?;
        Ok(acc)
    };
    let acc = match bands::sample_bands(pass, s)? {
        Some(b) => whole(ErrorStats::banded(b), s)?,
        None => return whole(ErrorStats::default(), s),
    };
    if acc.knows_quantiles() {
        return Ok(acc);
    }
    // The sample misled the bands: count every bucket.
    whole(ErrorStats::default(), s)
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
    let lent = lend_f32(src, t);
    let lent = lent.as_ref().map(LentF32::values);
    if lent.is_none() {
        cache_whole(src, file, t, s)?;
    }
    let values = scan_lent(src, file, t, lent, s)?;
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
    stream_range(src, file, t, lent, 0..t.numel, s, |w, _, _| {
        for &x in w.iter().filter(|x| x.is_finite()) {
            wc[bin(x as f64, lo, hi)] += 1;
        }
    })?;
    let mut ec = vec![0u64; bins];
    let mut error_max = 0.0;
    if quantizable {
        let pass = QuantizePass::new(src, file, t, lent, scheme, &values);
        pass.errors(0..pass.row_count(), s, &mut errs)?;
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
    use crate::format::model::{Model, NamedSource};
    use crate::format::testing::{f32_file, model};
    use std::sync::Arc;

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

    /// A source that cannot lend: every analysis reads through copies.
    struct Unlent(Vec<u8>);

    impl ByteSource for Unlent {
        fn len(&self) -> u64 {
            self.0.len() as u64
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
            self.0.read_at(offset, buf)
        }
    }

    /// A file with its header padded to 8 bytes, as writers do: its data
    /// starts 8-aligned in memory.
    fn padded(header: &str, data: &[u8]) -> Vec<u8> {
        let pad = (8 - header.len() % 8) % 8;
        crate::format::testing::file(&format!("{header}{}", " ".repeat(pad)), data)
    }

    fn le(xs: &[f32]) -> Vec<u8> {
        xs.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn lent_kept_and_reread_tensors_give_the_same_figures_to_the_bit() {
        let vals = |n: usize, k: u32| -> Vec<f32> {
            (0..n as u32)
                .map(|i| ((i.wrapping_mul(2_654_435_761) >> 7 ^ k) % 2001) as f32 / 997.0 - 1.0)
                .collect()
        };
        // Lengths off the lane width, and over one chunk.
        let (a, b) = (vals(3 * 37, 1), vals(2 * 40_000, 2));
        let header = format!(
            r#"{{"a":{{"dtype":"F32","shape":[3,37],"data_offsets":[0,444]}},"b":{{"dtype":"F32","shape":[2,40000],"data_offsets":[444,{}]}}}}"#,
            444 + 4 * b.len()
        );
        let bytes = padded(&header, &[le(&a), le(&b)].concat());
        let schemes = [
            Scheme::Int8Tensor,
            Scheme::Int8Channel,
            Scheme::Affine {
                bits: 4,
                group_size: 32,
            },
        ];
        let open = |src: Arc<dyn ByteSource>| {
            Model::open(vec![NamedSource::new("m.safetensors", src)], None, None).unwrap()
        };
        let (lent, read) = (open(Arc::new(bytes.clone())), open(Arc::new(Unlent(bytes))));
        for i in 0..2 {
            let (shard, t) = lent.tensor(i).unwrap();
            let (rshard, rt) = read.tensor(i).unwrap();
            assert!(
                lend_f32(shard.source.as_ref(), t).is_some(),
                "{} lent",
                t.name
            );
            assert!(lend_f32(rshard.source.as_ref(), rt).is_none());
            for scheme in schemes {
                let run = |src: &dyn ByteSource, t, mut s: Scratch| {
                    format!(
                        "{:?}",
                        analyze_tensor(src, "m", t, true, scheme, &mut s).unwrap()
                    )
                };
                let got = run(shard.source.as_ref(), t, Scratch::default());
                // Read once and kept whole, and read again for each pass.
                for kept in [Scratch::default(), Scratch::keeping(0)] {
                    assert_eq!(
                        got,
                        run(rshard.source.as_ref(), rt, kept),
                        "{} {scheme:?}",
                        t.name
                    );
                }
                assert!(got.contains("cosine"), "{got}");
            }
        }
    }

    #[test]
    fn only_aligned_little_endian_f32_is_lent() {
        let one = padded(
            r#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#,
            &le(&[1.0, 2.0, 3.0, 4.0]),
        );
        let m = model(one);
        let (shard, t) = m.tensor(0).unwrap();
        assert_eq!(
            lend_f32(shard.source.as_ref(), t).unwrap().values(),
            &[1.0, 2.0, 3.0, 4.0]
        );
        // An F16 of one element shifts the F32 after it off a 4-byte boundary.
        let header = r#"{"h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"w":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#;
        let m = model(padded(header, &[0, 60, 0, 0, 128, 63]));
        let (shard, h) = m.tensor(0).unwrap();
        assert!(lend_f32(shard.source.as_ref(), h).is_none(), "F16");
        let (shard, w) = m.tensor(1).unwrap();
        assert!(shard.source.lend(w.start, 4).is_some());
        assert!(lend_f32(shard.source.as_ref(), w).is_none(), "misaligned");
        // ... and the read path still analyses it.
        let a = analyze_tensor(
            shard.source.as_ref(),
            "m",
            w,
            false,
            Scheme::Int8Tensor,
            &mut Scratch::default(),
        )
        .unwrap();
        assert_eq!(a.values.unwrap().max, 1.0);
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
