//! Symmetric int8 quantize → dequantize and the error sums in one loop:
//! the dequantized values never leave the registers (writing them out and
//! reading them back cost about a third of the two kernels apart).

use super::error::{add, MAX_BLOCKS};
use super::{simd, ErrorLanes, LANES};
use crate::quant::scheme;

/// What [`int8_error_sums`] counted besides the sums.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Int8Counts {
    /// Nonzero originals that dequantized to exactly zero.
    pub zeros: u64,
    /// Codes clipped to ±127.
    pub clipped: u64,
}

/// Quantizes each `w` with one `scale` ([`scheme::int8_code`]), and adds
/// `w` against its dequantized value to `acc` and its error's bucket to
/// `buckets` exactly as [`super::int8_dequantized`] followed by
/// [`super::error_sums`] would, bit for bit. `w` and `buckets` have one
/// length.
pub fn int8_error_sums(
    w: &[f32],
    scale: f32,
    buckets: &mut [u16],
    acc: &mut ErrorLanes,
) -> Int8Counts {
    assert_eq!(w.len(), buckets.len(), "int8_error_sums: lengths differ");
    let (wb, wt) = w.as_chunks::<LANES>();
    let (eb, et) = buckets.as_chunks_mut::<LANES>();
    let mut n = Int8Counts::default();
    for (w, e) in wb.chunks(MAX_BLOCKS).zip(eb.chunks_mut(MAX_BLOCKS)) {
        let (z, c) = lanes(w, scale, e, acc);
        n.zeros += z;
        n.clipped += c;
    }
    for (&x, e) in wt.iter().zip(et) {
        let (c, cl) = scheme::int8_code(x, scale);
        n.clipped += cl as u64;
        n.zeros += add(acc, 0, x, c * scale, e) as u64;
    }
    n
}

simd! {
    fn lanes(
        w: &[[f32; LANES]],
        scale: f32,
        buckets: &mut [[u16; LANES]],
        acc: &mut ErrorLanes,
    ) -> (u64, u64) {
        // A local copy, as in `error_sums`: the sums stay in registers.
        let mut l = *acc;
        let mut zeros = [0u32; LANES];
        let mut clipped = [0u32; LANES];
        for (wb, eb) in w.iter().zip(buckets) {
            for i in 0..LANES {
                let (c, cl) = scheme::int8_code(wb[i], scale);
                clipped[i] += cl as u32;
                zeros[i] += add(&mut l, i, wb[i], c * scale, &mut eb[i]);
            }
        }
        *acc = l;
        let total = |a: [u32; LANES]| a.iter().map(|&z| z as u64).sum::<u64>();
        (total(zeros), total(clipped))
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::quant::kernels::testing::finite_vec;
    use crate::quant::kernels::{error_sums, int8_dequantized};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn equals_the_two_kernels_apart(
            w in finite_vec(),
            scale in prop_oneof![1e-6f32..10.0, Just(f32::from_bits(1)), Just(1.0)],
        ) {
            let mut d = vec![0f32; w.len()];
            let want_clipped = int8_dequantized(&w, &mut d, scale);
            let mut want_buckets = vec![0u16; w.len()];
            let mut want = ErrorLanes::default();
            let want_zeros = error_sums(&w, &d, &mut want_buckets, &mut want);

            let mut buckets = vec![0u16; w.len()];
            let mut got = ErrorLanes::default();
            let n = int8_error_sums(&w, scale, &mut buckets, &mut got);
            prop_assert_eq!(n, Int8Counts { zeros: want_zeros, clipped: want_clipped });
            prop_assert_eq!(buckets, want_buckets);
            let bits = |l: &ErrorLanes| [l.e2, l.d2, l.max_abs].map(|a| a.map(f64::to_bits));
            prop_assert_eq!(bits(&got), bits(&want));
        }
    }
}
