//! Symmetric int8: the largest magnitude, and quantize → dequantize.

use super::{simd, LANES};
use crate::quant::scheme;

/// The largest |x| of `xs`, NaN ignored (0 for none), as
/// `xs.iter().fold(0.0, |m, x| m.max(x.abs()))`.
pub fn max_abs(xs: &[f32]) -> f32 {
    let (blocks, tail) = xs.as_chunks::<LANES>();
    let m = max_abs_lanes(blocks);
    tail.iter().fold(m, |m, x| m.max(x.abs()))
}

simd! {
    fn max_abs_lanes(blocks: &[[f32; LANES]]) -> f32 {
        let mut m = [0f32; LANES];
        for b in blocks {
            for i in 0..LANES {
                let a = b[i].abs();
                // NaN compares false and is ignored, as f32::max does.
                m[i] = if a > m[i] { a } else { m[i] };
            }
        }
        m.iter().fold(0f32, |a, &b| a.max(b))
    }
}

/// Writes the dequantized int8 value of each `w` with one `scale` to `d`
/// ([`scheme::int8_code`] times `scale`) and returns the number of
/// clipped codes. `w` and `d` have one length.
pub fn int8_dequantized(w: &[f32], d: &mut [f32], scale: f32) -> u64 {
    assert_eq!(w.len(), d.len(), "int8_dequantized: lengths differ");
    int8_lanes(w, d, scale)
}

simd! {
    fn int8_lanes(w: &[f32], d: &mut [f32], scale: f32) -> u64 {
        // One rounding instruction where the target has it (SSE4.1, NEON,
        // wasm's `f32x4.nearest`; multiversion matches the features a
        // target names, not those they imply); elsewhere `round_ties_even`
        // would be a library call, and `int8_code`'s trick is cheaper.
        if multiversion::target::target_cfg_f!(any(
            target_feature = "sse4.1",
            target_feature = "avx2",
            target_feature = "avx512f",
            target_arch = "aarch64",
            target_arch = "wasm32"
        )) {
            int8_with::<true>(w, d, scale)
        } else {
            int8_with::<false>(w, d, scale)
        }
    }
}

/// [`int8_lanes`]' loop. With `NEAREST`, a code is
/// `clamp(round_ties_even(w / scale) + 0, ±127)`, without the clamp before
/// rounding that [`scheme::int8_code`]'s rounding trick needs: a quotient
/// beyond ±128 rounds beyond ±127 either way, a NaN stays NaN and counts
/// as clipped either way, and `+ 0` turns the -0 of a small negative
/// quotient into the trick's +0, so codes and count are the same bits.
#[inline(always)]
fn int8_with<const NEAREST: bool>(w: &[f32], d: &mut [f32], scale: f32) -> u64 {
    let mut clipped = 0u32;
    for (o, &x) in d.iter_mut().zip(w) {
        let (c, cl) = if NEAREST {
            let r = (x / scale).round_ties_even() + 0.0;
            let c = r.clamp(-scheme::INT8_MAX, scheme::INT8_MAX);
            (c, c != r)
        } else {
            scheme::int8_code(x, scale)
        };
        clipped += cl as u32;
        *o = c * scale;
    }
    clipped as u64
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::quant::kernels::testing::{awkward_vec, finite_vec};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn max_abs_equals_the_fold(xs in awkward_vec()) {
            let want = xs.iter().fold(0f32, |m, x| m.max(x.abs()));
            prop_assert_eq!(max_abs(&xs).to_bits(), want.to_bits());
        }

        #[test]
        fn codes_equal_round_ties_even(w in finite_vec(), scale in prop_oneof![1e-6f32..10.0, Just(f32::from_bits(1)), Just(1.0)]) {
            let mut d = vec![0f32; w.len()];
            let clipped = int8_dequantized(&w, &mut d, scale);
            let mut want_clipped = 0;
            for (&x, &got) in w.iter().zip(&d) {
                // The definition, with the library's rounding.
                let r = (x / scale).round_ties_even();
                let c = r.clamp(-127.0, 127.0);
                want_clipped += (c != r) as u64;
                // Equal as values: a negative tie to zero gives +0 here.
                prop_assert_eq!(got, c * scale, "w={} scale={}", x, scale);
                // And bit for bit the scalar path.
                prop_assert_eq!(got.to_bits(), (scheme::int8_code(x, scale).0 * scale).to_bits());
            }
            prop_assert_eq!(clipped, want_clipped);
        }

        #[test]
        fn codes_equal_the_scalar_path_on_any_value(w in awkward_vec(), scale in prop_oneof![1e-6f32..10.0, Just(f32::from_bits(1)), Just(1.0)]) {
            // NaN, ±Inf and quotients far beyond ±128 included.
            let mut d = vec![0f32; w.len()];
            let clipped = int8_dequantized(&w, &mut d, scale);
            let mut want_clipped = 0;
            for (&x, &got) in w.iter().zip(&d) {
                let (c, cl) = scheme::int8_code(x, scale);
                want_clipped += cl as u64;
                let want = c * scale;
                prop_assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()), "w={} got {} want {}", x, got, want);
            }
            prop_assert_eq!(clipped, want_clipped);
        }
    }
}
