//! MLX's affine mode encoded as `mx.quantize` does (see
//! `scripts/MLX_NOTES.md`): per group along the last axis a scale and a
//! bias, `bits`-bit codes packed into `u32` words from the lowest bits up.

use crate::quant::scheme;
use crate::stored::pack_codes;

/// Packed codes, scales and biases of a row-major matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct AffineQuantized {
    /// `rows × cols·bits/32` words.
    pub words: Vec<u32>,
    /// `rows × cols/group_size` scales, in f32 (MLX rounds them to the
    /// weight's dtype when it stores them; the codes use the f32 value).
    pub scales: Vec<f32>,
    /// `rows × cols/group_size` biases, in f32 like the scales.
    pub biases: Vec<f32>,
}

/// Quantizes `w` (`rows × cols`, `cols` a multiple of `group_size`) as
/// `mx.quantize(w, group_size, bits)` does in affine mode.
pub fn quantize(w: &[f32], cols: usize, group_size: usize, bits: u8) -> AffineQuantized {
    debug_assert!(group_size > 0 && cols.is_multiple_of(group_size));
    let n_bins = ((1u32 << bits) - 1) as f32;
    let rows = w.len().checked_div(cols).unwrap_or(0);
    let groups = rows * cols / group_size;
    let mut words = Vec::with_capacity(rows * cols * bits as usize / 32);
    let mut scales = Vec::with_capacity(groups);
    let mut biases = Vec::with_capacity(groups);
    let mut codes = vec![0u32; cols];
    for row in w.chunks(cols.max(1)) {
        for (grp, cg) in row.chunks(group_size).zip(codes.chunks_mut(group_size)) {
            let (s, b) = scheme::affine_params(grp, bits);
            for (c, &x) in cg.iter_mut().zip(grp) {
                *c = scheme::affine_quantize(x, s, b, n_bins).0;
            }
            scales.push(s);
            biases.push(b);
        }
        words.extend(pack_codes(&codes, bits));
    }
    AffineQuantized {
        words,
        scales,
        biases,
    }
}
