//! MLX affine quantize → dequantize, a group at a time.

use super::{simd, LANES};
use crate::quant::scheme;

/// Writes the dequantized MLX affine value of each `w` to `d`, groups of
/// `group` consecutive elements (the last may be shorter) each with its
/// own [`scheme::affine_params`], and returns the number of clipped
/// codes. Each value is `scale * q + bias` rounded twice, as MLX computes
/// it (no fused multiply-add). `w` and `d` have one length.
pub fn affine_dequantized(w: &[f32], d: &mut [f32], group: usize, bits: u8) -> u64 {
    assert_eq!(w.len(), d.len(), "affine_dequantized: lengths differ");
    assert!(group > 0, "affine_dequantized: empty groups");
    lanes(w, d, group, bits)
}

simd! {
    fn lanes(w: &[f32], d: &mut [f32], group: usize, bits: u8) -> u64 {
        let n_bins = ((1u32 << bits) - 1) as f32;
        let mut clipped = 0u32;
        for (wg, dg) in w.chunks(group).zip(d.chunks_mut(group)) {
            // The range in lanes (a serial min is a dependency chain); the
            // sign of a zero extreme cannot change the parameters.
            let (blocks, tail) = wg.as_chunks::<LANES>();
            let (mut lo, mut hi) = ([f32::INFINITY; LANES], [f32::NEG_INFINITY; LANES]);
            for b in blocks {
                for i in 0..LANES {
                    lo[i] = if b[i] < lo[i] { b[i] } else { lo[i] };
                    hi[i] = if b[i] > hi[i] { b[i] } else { hi[i] };
                }
            }
            let lo = tail.iter().chain(&lo).fold(f32::INFINITY, |m, &x| m.min(x));
            let hi = tail.iter().chain(&hi).fold(f32::NEG_INFINITY, |m, &x| m.max(x));
            let (sc, b) = scheme::affine_params_from_range(lo, hi, n_bins);
            for (o, &x) in dg.iter_mut().zip(wg) {
                let (q, c) = scheme::affine_code(x, sc, b, n_bins);
                clipped += c as u32;
                *o = sc * q + b;
            }
        }
        clipped as u64
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::quant::kernels::testing::finite_vec;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn values_equal_the_scalar_path(
            w in finite_vec(),
            group in prop::sample::select(vec![1usize, 7, 32, 64, 128]),
            bits in prop::sample::select(vec![2u8, 3, 4, 5, 6, 8]),
        ) {
            let mut d = vec![0f32; w.len()];
            let clipped = affine_dequantized(&w, &mut d, group, bits);
            let n_bins = ((1u32 << bits) - 1) as f32;
            let mut want_clipped = 0;
            for (wg, dg) in w.chunks(group).zip(d.chunks(group)) {
                let (s, b) = scheme::affine_params(wg, bits);
                for (&x, &got) in wg.iter().zip(dg) {
                    // The f32 code, as analysis always used it (a group of
                    // one value past ±3e31 gets a zero scale and a NaN code,
                    // which the u32 path of `affine_quantize` turns into 0).
                    let (q, c) = scheme::affine_code(x, s, b, n_bins);
                    want_clipped += c as u64;
                    let want = s * q + b;
                    prop_assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()), "x={} got={} want={}", x, got, want);
                }
            }
            prop_assert_eq!(clipped, want_clipped);
        }
    }
}
