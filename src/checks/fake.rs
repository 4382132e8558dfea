//! The fake-quantization detector: a float tensor whose values all lie on
//! one uniform grid of at most 256 levels, or whose rows or groups of
//! consecutive values each lie on their own ([`super::group_grid`]), was
//! quantized and then stored dequantized, as floats, so it takes 2–8× the
//! bytes real storage of its codes would.
//!
//! The test is exact. The distinct values are collected (giving up at the
//! 257th, which real weights reach within a few hundred elements), a step
//! is derived from the smallest gap between them, and every distinct value
//! `v` must satisfy `(v - min) / step` = an integer up to the rounding of
//! the stored dtype (a few units in the last place, not a statistical
//! threshold). So a grid is found only where the dtype resolves it: any
//! grid in F32, up to 6-bit grids in F16, 4-bit ones in BF16.

use std::collections::HashSet;

use super::group_grid::GroupGrid;
use crate::{ByteSource, Dtype, Error, Finding, Model, Severity, TensorInfo};

/// Most grid levels an 8-bit code can address.
pub const MAX_LEVELS: usize = 256;

/// Tensors with fewer elements are not judged: a handful of values always
/// fits some grid.
pub const MIN_ELEMENTS: u64 = 1024;

/// Groups with a grid after which a grouping is taken as the tensor's.
const SETTLED: u64 = 64;

/// The uniform grids that hold every value of a tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    /// `None`: one grid for the whole tensor. `Some(n)`: one grid per `n`
    /// consecutive values of a row (`n` the row length: one per row).
    pub group: Option<u64>,
    /// Distinct values used (per group: the most in one group).
    pub levels: usize,
    /// Grid steps between the smallest and the largest value (per group:
    /// the most in one group).
    pub span_steps: u64,
    /// The grid step (per group: none, 0).
    pub step: f64,
    /// Smallest value (per group: 0).
    pub min: f64,
    /// Largest value (per group: 0).
    pub max: f64,
}

impl Grid {
    /// Bits of a code that addresses every step of the widest grid.
    pub fn bits(&self) -> u32 {
        u64::BITS - self.span_steps.leading_zeros()
    }
}

/// The grid holding the sorted distinct finite values `v` (three or more)
/// as `(steps spanned, step)`, if there is one of at most [`MAX_LEVELS`]
/// levels. `unit_roundoff` is the stored dtype's (2^-24 for f32).
pub(super) fn fit(v: &[f64], unit_roundoff: f64) -> Option<(u64, f64)> {
    let (min, max) = (v[0], v[v.len() - 1]);
    let min_gap = v
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min);
    // The smallest gap is one step, or a few if some codes are unused, so
    // the span is about `m * b` steps for a small m. Rounding moves each
    // value by less than a quarter step (the most `tol` below allows), so
    // the gap is within half a step of m steps: the span is between 0.5b
    // and 4.5b steps, and at least one step per distinct value. The
    // fewest steps that fit win: a grid also fits every multiple of its
    // steps, and a coarse dtype's rounding could let a group with few
    // distinct values fit a few more steps than its codes have.
    let b = (max - min) / min_gap;
    let lo = (0.5 * b).ceil().max((v.len() - 1) as f64);
    let hi = (4.5 * b).floor().min((MAX_LEVELS - 1) as f64);
    for k in (lo as u64)..=(hi.max(0.0) as u64) {
        // Derived from the whole span, so the step's own error is tiny.
        let step = (max - min) / k as f64;
        let on_grid = v.iter().all(|&x| {
            let u = (x - min) / step;
            // A dequantizer computes `scale * q + offset` with at most two
            // roundings to the stored dtype (MLX rounds the product and the
            // sum; numpy and torch round once), so a value is off its grid
            // point by at most u(2|x| + |min|), min and max alike, and the
            // step derived from them by u(2|max| + 2|min|) / k: in steps,
            // at most 2u(|x| + |min| + |max|) / step in all.
            let tol = 2.0 * unit_roundoff * (x.abs() + min.abs() + max.abs()) / step;
            tol < 0.25 && (u - u.round()).abs() <= tol
        });
        if on_grid {
            return Some((k, step));
        }
    }
    None
}

/// Collects the distinct values of a stream, and its groups' grids, giving
/// up once no grid can hold them or at the first non-finite value.
#[derive(Debug)]
pub struct GridDetector {
    unit: f64,
    numel: u64,
    seen: HashSet<u32>,
    /// The whole tensor has more than [`MAX_LEVELS`] distinct values.
    many: bool,
    groups: Vec<GroupGrid>,
    failed: bool,
}

impl GridDetector {
    /// The detector for tensor `t`, or `None` when `t` is not scanned
    /// ([`grid_unit`]).
    pub fn new(t: &TensorInfo) -> Option<Self> {
        Some(GridDetector {
            unit: grid_unit(t)?,
            numel: t.numel,
            seen: HashSet::new(),
            many: false,
            groups: GroupGrid::candidates(t),
            failed: false,
        })
    }

    /// Adds the tensor's next values; returns `false` once no grid can
    /// hold the tensor.
    pub fn push(&mut self, xs: &[f32]) -> bool {
        if self.failed {
            return false;
        }
        for &x in xs {
            if !x.is_finite() {
                self.failed = true;
                return false;
            }
            if !self.many {
                // -0.0 and 0.0 are one level.
                let x = if x == 0.0 { 0.0 } else { x };
                if self.seen.insert(x.to_bits()) && self.seen.len() > MAX_LEVELS {
                    self.many = true;
                    self.seen = HashSet::new();
                }
            }
            for g in &mut self.groups {
                g.push(x, self.unit);
            }
        }
        self.groups.retain(GroupGrid::alive);
        // Once a grouping has held for SETTLED groups, the smaller ones,
        // subsets of its groups, hold too: they are not tried further
        // (their search for a step, from a sparse subset, is the costly
        // one: 30 times the analysis on an 8-bit grid per row).
        if let Some(size) = self
            .groups
            .iter()
            .filter(|g| g.fitted >= SETTLED)
            .map(|g| g.size)
            .max()
        {
            self.groups.retain(|g| g.size >= size);
        }
        self.failed = self.many && self.groups.is_empty();
        !self.failed
    }

    /// The grids holding every value pushed (the whole tensor's, else
    /// the largest groups'), if there are any with at least three levels.
    pub fn finish(&self) -> Option<Grid> {
        if self.failed {
            return None;
        }
        if !self.many && self.seen.len() >= 3 {
            let mut v: Vec<f64> = self
                .seen
                .iter()
                .map(|&b| f32::from_bits(b) as f64)
                .collect();
            v.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
            if let Some((span_steps, step)) = fit(&v, self.unit) {
                return Some(Grid {
                    group: None,
                    levels: v.len(),
                    span_steps,
                    step,
                    min: v[0],
                    max: v[v.len() - 1],
                });
            }
        }
        let g = self
            .groups
            .iter()
            .filter(|g| g.holds(self.numel))
            .max_by_key(|g| g.size)?;
        Some(Grid {
            group: Some(g.size),
            levels: g.levels,
            span_steps: g.span_steps,
            step: 0.0,
            min: 0.0,
            max: 0.0,
        })
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
    let Some(width) = t.dtype.decode_width() else {
        return Ok(None);
    };
    let Some(mut det) = GridDetector::new(t) else {
        return Ok(None);
    };
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
    Ok(det.finish())
}

/// The `fake_quantization` finding for a grid found in tensor `t`.
pub fn finding(file: &str, t: &TensorInfo, g: &Grid) -> Finding {
    let row = t.shape.last().copied().unwrap_or(1);
    let (holds, real, real_bytes) = match g.group {
        None => (
            format!(
                "only {} distinct values on a uniform grid (step {:.6e})",
                g.levels, g.step
            ),
            "real int8 storage".to_string(),
            t.numel + 4,
        ),
        Some(n) => {
            let bits = u64::from(g.bits());
            let groups = t.numel / n;
            let each = if n == row {
                "row".to_string()
            } else {
                format!("group of {n} consecutive values of a row")
            };
            (
                format!(
                    "each {each} on its own uniform grid of at most {} levels ({bits}-bit codes)",
                    g.levels
                ),
                format!("storing the {bits}-bit codes with a 16-bit scale and offset per {each}"),
                (t.numel * bits).div_ceil(8) + groups * 4,
            )
        }
    };
    let saved = t.bytes().saturating_sub(real_bytes);
    Finding::tensor(
        "fake_quantization",
        Severity::Warning,
        file,
        &t.name,
        format!(
            "tensor {:?} is stored as {} but holds {holds}: it was quantized and saved dequantized; {real} would save {saved} bytes ({real_bytes} instead of {})",
            t.name,
            t.dtype,
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
    use crate::format::testing::f32_info;
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

    /// The grid of `xs` as an F32 tensor of `shape` (1-D by default).
    fn grid_of(xs: &[f32]) -> Option<Grid> {
        grid_shaped(xs, &[xs.len() as u64])
    }

    fn grid_shaped(xs: &[f32], shape: &[u64]) -> Option<Grid> {
        let t = f32_info(shape);
        // Judged below MIN_ELEMENTS too: the unit is taken directly.
        let mut d = GridDetector {
            unit: 2f64.powi(-24),
            numel: t.numel,
            seen: HashSet::new(),
            many: false,
            groups: GroupGrid::candidates(&t),
            failed: false,
        };
        d.push(xs);
        d.finish()
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

    /// `w` quantized with a scale and offset per `group` consecutive
    /// values to `bits`-bit codes and dequantized, as MLX's affine mode does.
    fn affine_dequantized(w: &[f32], group: usize, bits: u32) -> Vec<f32> {
        let top = ((1u32 << bits) - 1) as f32;
        w.chunks(group)
            .flat_map(|g| {
                let lo = g.iter().copied().fold(f32::INFINITY, f32::min);
                let hi = g.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let scale = (hi - lo) / top;
                g.iter()
                    .map(move |&x| ((x - lo) / scale).round().clamp(0.0, top) * scale + lo)
            })
            .collect()
    }

    #[test]
    fn groups_dequantized_on_their_own_grids() {
        let w = lcg(64 * 256, 7, 0.2);
        for (group, bits) in [(64, 4), (32, 2), (128, 8), (16, 3)] {
            let d = affine_dequantized(&w, group, bits);
            let g = grid_shaped(&d, &[64, 256]).unwrap_or_else(|| panic!("g{group} {bits}-bit"));
            assert_eq!(g.group, Some(group as u64), "{g:?}");
            assert_eq!(g.bits(), bits, "{g:?}");
            assert!(g.levels <= 1 << bits, "{g:?}");
        }
        // A scale per row: one grid per row, 255 levels of int8 codes.
        let d: Vec<f32> = w
            .chunks(256)
            .flat_map(|r| {
                let s = int8_scale(r.iter().fold(0f32, |m, x| m.max(x.abs())));
                r.iter()
                    .map(move |&x| int8_dequantize(int8_quantize(x, s).0, s))
            })
            .collect();
        let g = grid_shaped(&d, &[64, 256]).unwrap();
        assert_eq!((g.group, g.span_steps, g.bits()), (Some(256), 254, 8));
        // The same values, real: no grid of any kind, and the scan gives up
        // within the first row.
        assert!(grid_shaped(&w, &[64, 256]).is_none());
        let mut det = GridDetector::new(&f32_info(&[2, 8192])).unwrap();
        assert!(!det.push(&lcg(1024, 3, 0.2)));
        // One group off its grid spoils the tensor.
        let mut d = affine_dequantized(&w, 64, 4);
        d[64 * 100 + 5] += 1e-4;
        assert!(grid_shaped(&d, &[64, 256]).is_none());
    }

    #[test]
    fn group_findings_name_the_grouping_and_the_real_size() {
        let g = |group, span_steps| Grid {
            group: Some(group),
            levels: 16,
            span_steps,
            step: 0.0,
            min: 0.0,
            max: 0.0,
        };
        let f = finding("m.safetensors", &f32_info(&[64, 256]), &g(64, 15));
        assert!(
            f.message.contains("each group of 64 consecutive values of a row on its own uniform grid of at most 16 levels (4-bit codes)")
                && f.message.contains("(9216 instead of 65536)"),
            "{}",
            f.message
        );
        let f = finding("m.safetensors", &f32_info(&[64, 256]), &g(256, 254));
        assert!(
            f.message.contains("each row on its own") && f.message.contains("8-bit"),
            "{}",
            f.message
        );
    }

    #[test]
    fn off_grid_and_degenerate_values() {
        assert!(grid_of(&[0.0, 1.0, 2.0, 3.1]).is_none());
        assert!(grid_of(&[1.0, 2.0]).is_none());
        assert!(grid_of(&[0.0, 1.0, f32::NAN]).is_none());
        assert!(grid_of(&[0.0, 1.0, 1000.0]).is_none());
    }
}
