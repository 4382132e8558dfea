//! MLX's floating-point quantization modes, encoded exactly as
//! `mx.quantize` computes them on the CPU (mlx 0.32.4, `fp_quantize` in
//! `mlx/ops.cpp`, which runs as ordinary array operations):
//!
//! * **mxfp4**: groups of 32, FP4 (E2M1) codes, E8M0 scales;
//! * **mxfp8**: groups of 32, FP8 (E4M3) codes, E8M0 scales;
//! * **nvfp4**: groups of 16, FP4 (E2M1) codes, FP8 (E4M3) scales.
//!
//! Codes are packed into `u32` words from the lowest bits up (8 FP4 codes
//! or 4 FP8 bytes per word); scales are one byte per group. There are no
//! biases.
//!
//! MLX does these operations in the weight's own dtype, so every
//! intermediate value is rounded to f16 or bf16 for such weights
//! ([`Elem::round`]); the exact order is kept here, step by step.

use crate::stored::mlx::{fp_scale, FP4_E2M1};
use crate::stored::pack_codes;
use crate::stored::MlxMode;

/// The float type MLX computes in: the weight's dtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    F32,
    F16,
    BF16,
}

impl Elem {
    /// `x` rounded to this type (to nearest, ties to even), as an f32.
    #[inline]
    pub fn round(self, x: f32) -> f32 {
        match self {
            Elem::F32 => x,
            Elem::F16 => half::f16::from_f32(x).to_f32(),
            Elem::BF16 => half::bf16::from_f32(x).to_f32(),
        }
    }
}

/// MLX's float-to-E4M3 conversion (`detail::ToFP8`): round to nearest
/// even, saturating to ±448 (also for infinities and NaN).
pub fn to_fp8_e4m3(x: f32) -> u8 {
    const FP8_MAX: u32 = 543 << 21;
    const DENORM_MASK: u32 = 141 << 23;
    let mut bits = x.to_bits();
    let sign = bits & 0x8000_0000;
    bits ^= sign;
    let magnitude = if bits >= FP8_MAX {
        0x7E
    } else if bits < (121 << 23) {
        let low = (f32::from_bits(bits) + f32::from_bits(DENORM_MASK)).to_bits();
        low.wrapping_sub(DENORM_MASK) as u8
    } else {
        let mant_odd = (bits >> 20) & 1;
        let high = bits
            .wrapping_add((7u32.wrapping_sub(127) << 23).wrapping_add(0x7FFFF))
            .wrapping_add(mant_odd);
        (high >> 20) as u8
    };
    magnitude | (sign >> 24) as u8
}

/// The FP4 code nearest to `y`, distances computed (and rounded) in
/// `dist`; the first of equally near codes wins, as `argmin` picks it.
fn nearest_fp4(y: f32, dist: Elem) -> u32 {
    let mut best = 0;
    let mut best_d = dist.round((y - FP4_E2M1[0]).abs());
    for (k, &v) in FP4_E2M1.iter().enumerate().skip(1) {
        let d = dist.round((y - v).abs());
        if d < best_d {
            best_d = d;
            best = k as u32;
        }
    }
    best
}

/// `ceil(log2(s))` computed exactly from the bits of a finite `s >= 0`
/// (subnormals included), 0 for `s == 0`. This is the E8M0 exponent
/// real `mx.quantize` 0.32.4 chooses (found by testing: it is neither
/// the rounded nor the f32-`log2`-based value).
fn ceil_log2(s: f32) -> i32 {
    let bits = s.to_bits() & 0x7FFF_FFFF;
    let (exp, man) = ((bits >> 23) as i32, bits & 0x7F_FFFF);
    match (exp, man) {
        (0, 0) => 0,
        (0, m) => -149 + (32 - (m - 1).leading_zeros()) as i32,
        (e, 0) => e - 127,
        (e, _) => e - 126,
    }
}

/// The codes and scale byte of one group, as `mx.quantize` gives them.
fn quantize_group(group: &[f32], bits: u8, elem: Elem, codes: &mut [u32]) -> u8 {
    let amax = group.iter().fold(0f32, |m, x| m.max(x.abs()));
    let maxval = if bits == 4 { 6.0 } else { 448.0 };
    let s = elem.round(amax / maxval);
    let encode = |y: f32, dist: Elem| {
        if bits == 4 {
            nearest_fp4(y, dist)
        } else {
            to_fp8_e4m3(y) as u32
        }
    };
    if group.len() == 16 {
        // nvfp4: an E4M3 scale; the scaled values are then multiplied by an
        // f32 1.0, so distances to the FP4 values are taken in f32.
        let code = to_fp8_e4m3(s);
        let d = fp_scale(MlxMode::Nvfp4, code);
        for (c, &x) in codes.iter_mut().zip(group) {
            *c = encode(elem.round(x / d), Elem::F32);
        }
        code
    } else {
        // mxfp4 / mxfp8: the power of two 2^e with e = ceil(log2(s)),
        // stored as e + 127 (wrapping, as MLX casts it); 127 for s = 0.
        let e = ceil_log2(s);
        let p = elem.round(2f64.powi(e) as f32);
        for (c, &x) in codes.iter_mut().zip(group) {
            *c = encode(elem.round(x / p), elem);
        }
        e.wrapping_add(127) as u8
    }
}

/// Packed codes and scales of a row-major matrix with `cols` columns
/// (`cols` a multiple of `group_size`; values finite and exactly
/// representable in `elem`).
#[derive(Debug, Clone, PartialEq)]
pub struct FpQuantized {
    /// `rows × cols·bits/32` words.
    pub words: Vec<u32>,
    /// `rows × cols/group_size` scale bytes (E8M0, or E4M3 for groups of 16).
    pub scales: Vec<u8>,
}

/// Quantizes `w` (`rows × cols`, `cols` a multiple of the mode's group
/// size) as `mx.quantize(w, mode=mode)` does for a float mode.
pub fn quantize(w: &[f32], cols: usize, mode: MlxMode, elem: Elem) -> FpQuantized {
    debug_assert!(mode != MlxMode::Affine);
    let (group_size, bits) = mode.defaults();
    let group_size = group_size as usize;
    debug_assert!(cols.is_multiple_of(group_size));
    let rows = w.len().checked_div(cols).unwrap_or(0);
    let mut words = Vec::with_capacity(rows * cols * bits as usize / 32);
    let mut scales = Vec::with_capacity(rows * cols / group_size);
    let mut codes = vec![0u32; cols];
    for row in w.chunks(cols.max(1)) {
        for (g, c) in row.chunks(group_size).zip(codes.chunks_mut(group_size)) {
            scales.push(quantize_group(g, bits, elem, c));
        }
        words.extend(pack_codes(&codes, bits));
    }
    FpQuantized { words, scales }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e4m3_rounds_to_nearest_even_and_saturates() {
        let dec = |b: u8| {
            let mut o = [0f32];
            crate::Dtype::F8_E4M3.decode(&[b], &mut o);
            o[0]
        };
        // Every finite E4M3 value converts back to its own code.
        for b in (0u8..=255).filter(|b| b & 0x7F != 0x7F) {
            let v = dec(b);
            assert_eq!(to_fp8_e4m3(v) & 0x7F, b & 0x7F, "{b:#x} = {v}");
        }
        assert_eq!(to_fp8_e4m3(1e6), 0x7E);
        assert_eq!(to_fp8_e4m3(-1e6), 0xFE);
        assert_eq!(to_fp8_e4m3(f32::NAN) & 0x7F, 0x7E);
        // 1.0625 lies halfway between 1.0 (0x38) and 1.125 (0x39): even wins.
        assert_eq!(to_fp8_e4m3(1.0625), 0x38);
        assert_eq!(to_fp8_e4m3(1.1875), 0x3A);
    }

    #[test]
    fn e8m0_exponent_is_the_exact_ceiling_of_log2() {
        assert_eq!(ceil_log2(0.0), 0);
        assert_eq!(ceil_log2(1.0), 0);
        assert_eq!(ceil_log2(f32::from_bits(1.0f32.to_bits() + 1)), 1);
        assert_eq!(ceil_log2(0.75), 0);
        assert_eq!(ceil_log2(0.5), -1);
        // 2^-10 (1 + 2^-23): f32 log2 rounds it to -10.0, MLX says -9.
        assert_eq!(ceil_log2(f32::from_bits(2f32.powi(-10).to_bits() + 1)), -9);
        assert_eq!(ceil_log2(f32::from_bits(1)), -149);
        assert_eq!(ceil_log2(f32::from_bits(3)), -147);
        assert_eq!(ceil_log2(f32::from_bits(4)), -147);
        assert_eq!(ceil_log2(1e-39), -129);
    }

    #[test]
    fn fp4_ties_go_to_the_first_code() {
        assert_eq!(nearest_fp4(0.25, Elem::F32), 0);
        assert_eq!(nearest_fp4(-0.25, Elem::F32), 0);
        assert_eq!(nearest_fp4(-0.3, Elem::F32), 9);
        assert_eq!(nearest_fp4(5.0, Elem::F32), 6);
        assert_eq!(nearest_fp4(100.0, Elem::F32), 7);
    }

    #[test]
    fn mxfp4_group_scale_is_a_power_of_two() {
        let mut w = vec![0f32; 32];
        w[3] = 6.0;
        w[4] = -3.0;
        let q = quantize(&w, 32, MlxMode::Mxfp4, Elem::F32);
        assert_eq!(q.scales, vec![127]);
        assert_eq!(q.words[0] >> 12 & 0xF, 7);
        assert_eq!(q.words[0] >> 16 & 0xF, 13);
        let z = quantize(&[0f32; 16], 16, MlxMode::Nvfp4, Elem::F32);
        assert_eq!((z.words, z.scales), (vec![0, 0], vec![0]));
    }
}
