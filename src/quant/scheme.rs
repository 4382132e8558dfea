//! Quantization schemes: exact quantize and dequantize primitives.
//!
//! All arithmetic is f32 in a fixed order so results match numpy
//! (`int8-*`) and MLX's `mx.quantize`/`mx.dequantize` (`affine`) bit for bit.

use serde::Serialize;

use crate::Error;

/// A quantization scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Scheme {
    /// Symmetric int8 with one scale per tensor: `scale = max|w| / 127`.
    Int8Tensor,
    /// Symmetric int8 with one scale per output row (first dimension).
    Int8Channel,
    /// MLX's affine mode: per group of `group_size` along the last axis,
    /// `bits`-bit codes with a scale and a bias.
    Affine { bits: u8, group_size: u32 },
}

impl Scheme {
    /// Parses a scheme name with the affine parameters it may need.
    pub fn parse(name: &str, bits: u8, group_size: u32) -> Result<Self, Error> {
        let bad = |detail: String| Err(Error::InvalidOption { detail });
        match name {
            "int8-tensor" => Ok(Scheme::Int8Tensor),
            "int8-channel" => Ok(Scheme::Int8Channel),
            "affine" => {
                if !matches!(bits, 2 | 3 | 4 | 5 | 6 | 8) {
                    return bad(format!(
                        "affine bits must be 2, 3, 4, 5, 6 or 8, not {bits}"
                    ));
                }
                if !matches!(group_size, 32 | 64 | 128) {
                    return bad(format!(
                        "affine group size must be 32, 64 or 128, not {group_size}"
                    ));
                }
                Ok(Scheme::Affine { bits, group_size })
            }
            _ => bad(format!(
                "unknown scheme {name:?} (expected int8-tensor, int8-channel or affine)"
            )),
        }
    }

    /// A short label, e.g. `int8-tensor` or `affine-4bit-g64`.
    pub fn label(&self) -> String {
        match self {
            Scheme::Int8Tensor => "int8-tensor".into(),
            Scheme::Int8Channel => "int8-channel".into(),
            Scheme::Affine { bits, group_size } => format!("affine-{bits}bit-g{group_size}"),
        }
    }

    /// Whether the scheme works in groups along the last axis.
    pub fn group_size(&self) -> Option<u64> {
        match self {
            Scheme::Affine { group_size, .. } => Some(*group_size as u64),
            _ => None,
        }
    }

    /// Bytes the quantized form of a `rows × cols` tensor occupies, with
    /// scales (and biases) stored as `scale_bytes`-byte floats.
    pub fn quantized_bytes(&self, shape: &[u64], scale_bytes: u64) -> u64 {
        let numel: u64 = shape.iter().product();
        match self {
            Scheme::Int8Tensor => numel + scale_bytes,
            Scheme::Int8Channel => numel + shape.first().copied().unwrap_or(1) * scale_bytes,
            Scheme::Affine { bits, group_size } => {
                let groups = numel / *group_size as u64;
                (numel * *bits as u64).div_ceil(32) * 4 + 2 * groups * scale_bytes
            }
        }
    }
}

/// Largest int8 code used by the symmetric schemes.
pub const INT8_MAX: f32 = 127.0;

/// The symmetric int8 scale for a block whose largest magnitude is
/// `max_abs`: `max_abs / 127`, or 1 for an all-zero block.
pub fn int8_scale(max_abs: f32) -> f32 {
    if max_abs == 0.0 {
        1.0
    } else {
        max_abs / INT8_MAX
    }
}

/// Rounds half to even, exactly like `f32::round_ties_even`, for
/// |x| < 2^22, without a libm call (so loops vectorise): adding 1.5·2^23
/// moves x where the f32 spacing is 1, and IEEE addition rounds to even.
/// Callers clamp x into a small range first.
#[inline(always)]
pub fn round_half_even_small(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    (x + MAGIC) - MAGIC
}

/// The int8 code of `w` as an f32, and whether it was clipped:
/// `clamp(round_half_even(w / scale), -127, 127)`. Pre-clamping to ±128
/// changes neither the code nor the clip flag.
#[inline(always)]
pub fn int8_code(w: f32, scale: f32) -> (f32, bool) {
    let x = (w / scale).clamp(-128.0, 128.0);
    let r = round_half_even_small(x);
    let c = r.clamp(-INT8_MAX, INT8_MAX);
    (c, c != r)
}

/// Quantizes one value: `clamp(round_half_even(w / scale), -127, 127)`.
/// Returns the code and whether it was clipped.
#[inline(always)]
pub fn int8_quantize(w: f32, scale: f32) -> (i8, bool) {
    let (c, clipped) = int8_code(w, scale);
    (c as i8, clipped)
}

/// Dequantizes one int8 code: `q * scale`.
#[inline(always)]
pub fn int8_dequantize(q: i8, scale: f32) -> f32 {
    q as f32 * scale
}

/// MLX affine parameters of one group: `(scale, bias)`.
///
/// Follows `mx.quantize`: the edge (the end of the range with the larger
/// magnitude) is made exactly representable, so zero-heavy groups keep
/// their extreme value.
pub fn affine_params(group: &[f32], bits: u8) -> (f32, f32) {
    let n_bins = ((1u32 << bits) - 1) as f32;
    let mut w_max = f32::NEG_INFINITY;
    let mut w_min = f32::INFINITY;
    for &w in group {
        w_max = w_max.max(w);
        w_min = w_min.min(w);
    }
    affine_params_from_range(w_min, w_max, n_bins)
}

/// [`affine_params`] from a group's minimum and maximum.
#[inline]
pub fn affine_params_from_range(w_min: f32, w_max: f32, n_bins: f32) -> (f32, f32) {
    let mask = w_min.abs() > w_max.abs();
    let mut scale = ((w_max - w_min) / n_bins).max(1e-7);
    if !mask {
        scale = -scale;
    }
    let edge = if mask { w_min } else { w_max };
    let q0 = (edge / scale).round_ties_even();
    if q0 != 0.0 {
        (edge / q0, edge)
    } else {
        (scale, 0.0)
    }
}

/// Quantizes one value to an affine code in `0..=n_bins`, returning the
/// code and whether it was clipped.
#[inline(always)]
pub fn affine_quantize(w: f32, scale: f32, bias: f32, n_bins: f32) -> (u32, bool) {
    let (c, clipped) = affine_code(w, scale, bias, n_bins);
    (c as u32, clipped)
}

/// [`affine_quantize`]'s code as an f32.
#[inline(always)]
pub fn affine_code(w: f32, scale: f32, bias: f32, n_bins: f32) -> (f32, bool) {
    let x = ((w - bias) / scale).clamp(-1.0, n_bins + 1.0);
    let r = round_half_even_small(x);
    let c = r.clamp(0.0, n_bins);
    (c, c != r)
}

/// Dequantizes one affine code: `scale * q + bias`.
#[inline(always)]
pub fn affine_dequantize(q: u32, scale: f32, bias: f32) -> f32 {
    scale * q as f32 + bias
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn int8_rounds_half_to_even_and_handles_zero() {
        assert_eq!(int8_scale(0.0), 1.0);
        assert_eq!(int8_quantize(2.5, 1.0), (2, false));
        assert_eq!(int8_quantize(3.5, 1.0), (4, false));
        assert_eq!(int8_quantize(-2.5, 1.0), (-2, false));
        assert_eq!(int8_quantize(300.0, 1.0), (127, true));
        assert_eq!(int8_quantize(-300.0, 1.0), (-127, true));
    }

    #[test]
    fn fast_rounding_ties() {
        for (x, r) in [
            (0.5f32, 0.0f32),
            (1.5, 2.0),
            (2.5, 2.0),
            (-0.5, -0.0),
            (-1.5, -2.0),
            (126.5, 126.0),
            (127.5, 128.0),
        ] {
            assert_eq!(round_half_even_small(x), r, "{x}");
        }
    }

    #[test]
    fn affine_edge_is_exact() {
        let g = [0.0f32, 0.1, -0.7, 0.3];
        let (s, b) = affine_params(&g, 4);
        assert_eq!(b, -0.7);
        let (q, _) = affine_quantize(-0.7, s, b, 15.0);
        assert_eq!(affine_dequantize(q, s, b), -0.7);
    }

    #[test]
    fn scheme_parsing() {
        assert_eq!(
            Scheme::parse("affine", 4, 64).unwrap().label(),
            "affine-4bit-g64"
        );
        assert!(Scheme::parse("affine", 7, 64).is_err());
        assert!(Scheme::parse("affine", 8, 48).is_err());
        assert!(Scheme::parse("int4", 8, 64).is_err());
    }

    proptest! {
        #[test]
        fn fast_rounding_equals_round_ties_even(x in -4_194_303.0f32..4_194_303.0) {
            // Equal as values: a negative tie to zero gives +0 here, -0 there.
            prop_assert_eq!(round_half_even_small(x), x.round_ties_even());
        }

        #[test]
        fn int8_code_equals_the_plain_formula(w in any::<f32>().prop_filter("finite", |w| w.is_finite()), s in 1e-6f32..10.0) {
            let r = (w / s).round_ties_even();
            let c = r.clamp(-127.0, 127.0);
            prop_assert_eq!(int8_code(w, s), (c, c != r));
        }

        #[test]
        fn int8_error_is_at_most_half_a_step(ws in prop::collection::vec(-1e3f32..1e3, 1..200)) {
            let max_abs = ws.iter().fold(0f32, |m, w| m.max(w.abs()));
            let scale = int8_scale(max_abs);
            for &w in &ws {
                let (q, clipped) = int8_quantize(w, scale);
                prop_assert!(!clipped);
                let d = int8_dequantize(q, scale);
                // Half a step, plus the f32 rounding of w/scale and q*scale.
                let bound = scale / 2.0 * (1.0 + 4.0 * f32::EPSILON) + w.abs() * 2.0 * f32::EPSILON;
                prop_assert!((w - d).abs() <= bound, "w={w} d={d} scale={scale}");
            }
        }

        #[test]
        fn affine_error_is_at_most_half_a_step(ws in prop::collection::vec(-10f32..10.0, 64), bits in prop::sample::select(vec![2u8, 3, 4, 5, 6, 8])) {
            let n_bins = ((1u32 << bits) - 1) as f32;
            let (s, b) = affine_params(&ws, bits);
            for &w in &ws {
                let (q, clipped) = affine_quantize(w, s, b, n_bins);
                prop_assert!(q as f32 <= n_bins);
                let d = affine_dequantize(q, s, b);
                if !clipped {
                    let bound = s.abs() / 2.0 + 8.0 * f32::EPSILON * (w.abs() + b.abs() + s.abs() * n_bins);
                    prop_assert!((w - d).abs() <= bound, "w={w} d={d} s={s} b={b}");
                }
            }
        }
    }
}
