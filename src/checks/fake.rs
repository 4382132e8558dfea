//! The fake-quantization detector: a float tensor whose values all lie on
//! one uniform grid of at most 255 levels was quantized and then stored
//! dequantized, as floats, so it takes 2–4× the bytes real int8 would.
//!
//! The test is exact. The distinct values are collected (giving up at the
//! 256th, which real weights reach within a few hundred elements), a step
//! is derived from the smallest gap between them, and every distinct value
//! `v` must satisfy `(v - min) / step` = an integer up to the rounding of
//! the stored dtype (a few units in the last place, not a statistical
//! threshold).

use std::collections::HashSet;

use crate::{ByteSource, Dtype, Error, Finding, Model, Severity, TensorInfo};

/// Most grid levels an 8-bit code can address.
pub const MAX_LEVELS: usize = 255;

/// Tensors with fewer elements are not judged: a handful of values always
/// fits some grid.
pub const MIN_ELEMENTS: u64 = 1024;

/// A uniform grid that holds every value of a tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    /// Distinct values used.
    pub levels: usize,
    /// Grid steps between the smallest and the largest value.
    pub span_steps: u64,
    /// The grid step.
    pub step: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// Collects the distinct values of a stream, giving up past
/// [`MAX_LEVELS`] or at the first non-finite value.
#[derive(Debug, Default)]
pub struct GridDetector {
    seen: HashSet<u32>,
    failed: bool,
}

impl GridDetector {
    /// Adds values; returns `false` once the tensor cannot be on a grid.
    pub fn push(&mut self, xs: &[f32]) -> bool {
        if self.failed {
            return false;
        }
        for &x in xs {
            if !x.is_finite() {
                self.failed = true;
                return false;
            }
            // -0.0 and 0.0 are one level.
            let x = if x == 0.0 { 0.0 } else { x };
            if self.seen.insert(x.to_bits()) && self.seen.len() > MAX_LEVELS {
                self.failed = true;
                self.seen.clear();
                return false;
            }
        }
        true
    }

    /// The grid holding every value pushed, if there is one with at least
    /// three levels. `unit_roundoff` is the stored dtype's (2^-24 for f32).
    pub fn finish(&self, unit_roundoff: f64) -> Option<Grid> {
        if self.failed || self.seen.len() < 3 {
            return None;
        }
        let mut v: Vec<f64> = self
            .seen
            .iter()
            .map(|&b| f32::from_bits(b) as f64)
            .collect();
        v.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        let (min, max) = (v[0], v[v.len() - 1]);
        let min_gap = v
            .windows(2)
            .map(|w| w[1] - w[0])
            .fold(f64::INFINITY, f64::min);
        // The smallest gap is one step, or a few if some codes are unused.
        for m in 1..=4u32 {
            let k = ((max - min) / min_gap * m as f64).round();
            if !(1.0..=(MAX_LEVELS - 1) as f64).contains(&k) {
                break;
            }
            // Derived from the whole span, so the step's own error is tiny.
            let step = (max - min) / k;
            let on_grid = v.iter().all(|&x| {
                let u = (x - min) / step;
                // Each stored value carries at most one rounding of its
                // magnitude; allow a few of them, in steps.
                let tol = 8.0 * unit_roundoff * (x.abs() + min.abs() + max.abs()) / step;
                tol < 0.25 && (u - u.round()).abs() <= tol
            });
            if on_grid {
                return Some(Grid {
                    levels: v.len(),
                    span_steps: k as u64,
                    step,
                    min,
                    max,
                });
            }
        }
        None
    }
}

/// The unit roundoff of a float dtype (half an ulp at 1).
pub fn unit_roundoff(d: &Dtype) -> Option<f64> {
    match d {
        Dtype::F64 => Some(2f64.powi(-53)),
        Dtype::F32 => Some(2f64.powi(-24)),
        Dtype::F16 => Some(2f64.powi(-11)),
        Dtype::BF16 => Some(2f64.powi(-8)),
        _ => None,
    }
}

/// The unit roundoff [`detect`] checks tensor `t`'s grid with, or `None`
/// when `t` is not scanned (too small, or not a float of two or more bytes).
pub fn grid_unit(t: &TensorInfo) -> Option<f64> {
    unit_roundoff(&t.dtype).filter(|_| t.numel >= MIN_ELEMENTS)
}

/// Elements read per piece; small at first, since real weights are ruled
/// out within the first few hundred values.
const FIRST_PIECE: u64 = 4096;
const PIECE: u64 = 1 << 16;

/// Whether tensor `t` is fake-quantized: stored as floats of two or more
/// bytes, with at least [`MIN_ELEMENTS`] values all on one grid.
pub fn detect(src: &dyn ByteSource, file: &str, t: &TensorInfo) -> Result<Option<Grid>, Error> {
    let (Some(width), Some(u)) = (t.dtype.decode_width(), grid_unit(t)) else {
        return Ok(None);
    };
    let mut det = GridDetector::default();
    let mut bytes = Vec::new();
    let mut vals = Vec::new();
    let mut at = 0u64;
    while at < t.numel {
        let n = (t.numel - at).min(if at == 0 { FIRST_PIECE } else { PIECE }) as usize;
        bytes.resize(n * width, 0);
        vals.resize(n, 0.0);
        let offset = t.start + at * width as u64;
        src.read_at(offset, &mut bytes)
            .map_err(|detail| Error::Read {
                file: file.to_string(),
                offset,
                detail: format!("tensor {:?}: {detail}", t.name),
            })?;
        t.dtype.decode(&bytes, &mut vals);
        if !det.push(&vals) {
            return Ok(None);
        }
        at += n as u64;
    }
    Ok(det.finish(u))
}

/// The `fake_quantization` finding for a grid found in tensor `t`.
pub fn finding(file: &str, t: &TensorInfo, g: &Grid) -> Finding {
    let int8_bytes = t.numel + 4;
    let saved = t.bytes().saturating_sub(int8_bytes);
    Finding::tensor(
        "fake_quantization",
        Severity::Warning,
        file,
        &t.name,
        format!(
            "tensor {:?} is stored as {} but holds only {} distinct values on a uniform grid (step {:.6e}): it was quantized and saved dequantized; real int8 storage would save {} bytes ({} instead of {})",
            t.name,
            t.dtype,
            g.levels,
            g.step,
            saved,
            int8_bytes,
            t.bytes()
        ),
    )
}

/// The hook for `inspect`: the `fake_quantization` finding for tensor `t`
/// of `file`, if it is fake-quantized.
pub fn fake_quant_finding(
    src: &dyn ByteSource,
    file: &str,
    t: &TensorInfo,
) -> Result<Option<Finding>, Error> {
    Ok(detect(src, file, t)?.map(|g| finding(file, t, &g)))
}

/// [`fake_quant_finding`] for tensor `i` of a model (model order).
pub fn model_tensor_finding(model: &Model, i: usize) -> Result<Option<Finding>, Error> {
    let (shard, t) = model.tensor(i)?;
    fake_quant_finding(shard.source.as_ref(), &shard.header.file, t)
}

/// Every `fake_quantization` finding of a model, on this thread.
pub fn scan_model(model: &Model) -> Result<Vec<Finding>, Error> {
    let mut out = Vec::new();
    for i in 0..model.tensors.len() {
        out.extend(model_tensor_finding(model, i)?);
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::quant::scheme::{int8_dequantize, int8_quantize, int8_scale};

    /// `n` values spread over `[-span/2, span/2)`, the same for the same
    /// `seed` (a 64-bit LCG), as test data.
    pub(crate) fn lcg(n: usize, seed: u64, span: f32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * span
            })
            .collect()
    }

    fn grid_of(xs: &[f32]) -> Option<Grid> {
        let mut d = GridDetector::default();
        d.push(xs);
        d.finish(2f64.powi(-24))
    }

    #[test]
    fn int8_dequantized_values_are_a_grid() {
        let w = lcg(5000, 1, 0.1);
        let s = int8_scale(w.iter().fold(0f32, |m, x| m.max(x.abs())));
        let d: Vec<f32> = w
            .iter()
            .map(|&x| int8_dequantize(int8_quantize(x, s).0, s))
            .collect();
        let g = grid_of(&d).unwrap();
        assert!(g.levels <= 255 && g.span_steps == 254, "{g:?}");
        assert!((g.step / s as f64 - 1.0).abs() < 1e-6);
        assert!(grid_of(&w).is_none());
    }

    #[test]
    fn affine_grid_with_offset_and_gaps() {
        // Codes 0, 2, 3, 7 of a 4-bit affine grid: gaps of 2, 1 and 4 steps.
        let (s, b) = (0.013f32, -0.05f32);
        let d: Vec<f32> = [0u32, 2, 3, 7]
            .iter()
            .cycle()
            .take(2000)
            .map(|&q| s * q as f32 + b)
            .collect();
        let g = grid_of(&d).unwrap();
        assert_eq!((g.levels, g.span_steps), (4, 7));
    }

    #[test]
    fn off_grid_and_degenerate_values() {
        assert!(grid_of(&[0.0, 1.0, 2.0, 3.1]).is_none());
        assert!(grid_of(&[1.0, 2.0]).is_none());
        assert!(grid_of(&[0.0, 1.0, f32::NAN]).is_none());
        assert!(grid_of(&[0.0, 1.0, 1000.0]).is_none());
    }
}
