//! Error sums of a quantized chunk: originals `w` against dequantized `d`.

use super::hist::bucket;
use super::{simd, LANES};

/// Lane sums of the error statistics, in f64.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ErrorLanes {
    /// Σ (w − d)².
    pub e2: [f64; LANES],
    /// Σ d².
    pub d2: [f64; LANES],
    /// max |w − d|.
    pub max_abs: [f64; LANES],
}

/// Adds `w` against `d` to `acc` (element `k` of each block of [`LANES`]
/// to lane `k`, the elements past the last whole block to lane 0), writes
/// the histogram bucket ([`bucket`]) of each error `w − d` (rounded to
/// f32) to `buckets`, and returns how many nonzero
/// originals dequantized to exactly zero. The three slices have one
/// length.
pub fn error_sums(w: &[f32], d: &[f32], buckets: &mut [u16], acc: &mut ErrorLanes) -> u64 {
    assert!(
        w.len() == d.len() && w.len() == buckets.len(),
        "error_sums: lengths differ"
    );
    let (wb, wt) = w.as_chunks::<LANES>();
    let (db, dt) = d.as_chunks::<LANES>();
    let (eb, et) = buckets.as_chunks_mut::<LANES>();
    let mut zeros = 0;
    for ((w, d), e) in wb
        .chunks(MAX_BLOCKS)
        .zip(db.chunks(MAX_BLOCKS))
        .zip(eb.chunks_mut(MAX_BLOCKS))
    {
        zeros += lanes(w, d, e, acc);
    }
    for ((&a, &b), e) in wt.iter().zip(dt).zip(et) {
        zeros += add(acc, 0, a, b, e) as u64;
    }
    zeros
}

/// Adds one pair to lane `i` and writes its error's bucket to `slot`;
/// returns 1 if `w` is nonzero and `d` zero.
#[inline(always)]
fn add(acc: &mut ErrorLanes, i: usize, w: f32, d: f32, slot: &mut u16) -> u32 {
    let (a, b) = (w as f64, d as f64);
    let e = a - b;
    acc.e2[i] += e * e;
    acc.d2[i] += b * b;
    let ae = e.abs();
    acc.max_abs[i] = if ae > acc.max_abs[i] {
        ae
    } else {
        acc.max_abs[i]
    };
    // The f32 difference is `e` rounded to f32: rounding the exact
    // difference through f64 (over twice f32's precision) first never
    // changes the result, and one f32 subtraction is cheaper than
    // narrowing an f64 vector.
    *slot = bucket(w - d);
    ((b == 0.0) & (a != 0.0)) as u32
}

/// Blocks per call of a lane loop: keeps its u32 counters (narrower
/// vectors than u64 ones) from overflowing whatever the chunk length.
const MAX_BLOCKS: usize = 1 << 28;

simd! {
    fn lanes(
        w: &[[f32; LANES]],
        d: &[[f32; LANES]],
        buckets: &mut [[u16; LANES]],
        acc: &mut ErrorLanes,
    ) -> u64 {
        // A local copy: accumulating through `acc` would make the compiler
        // store every partial sum (it cannot rule out aliasing with `buckets`).
        let mut l = *acc;
        let mut zeros = [0u32; LANES];
        for ((wb, db), eb) in w.iter().zip(d).zip(buckets) {
            for i in 0..LANES {
                zeros[i] += add(&mut l, i, wb[i], db[i], &mut eb[i]);
            }
        }
        *acc = l;
        zeros.iter().map(|&z| z as u64).sum()
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::quant::kernels::testing::awkward_f32;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn lanes_equal_the_element_by_element_definition(
            pairs in prop::collection::vec((awkward_f32(), awkward_f32()), 0..200),
        ) {
            let (w, d): (Vec<f32>, Vec<f32>) = pairs.into_iter().unzip();
            let mut buckets = vec![0u16; w.len()];
            let mut acc = ErrorLanes::default();
            let zeros = error_sums(&w, &d, &mut buckets, &mut acc);
            // The definition, one element at a time, in plain f64.
            let mut want = ErrorLanes::default();
            let mut want_zeros = 0;
            let whole = w.len() - w.len() % LANES;
            for k in 0..w.len() {
                let lane = if k < whole { k % LANES } else { 0 };
                let (a, b) = (w[k] as f64, d[k] as f64);
                want.e2[lane] += (a - b) * (a - b);
                want.d2[lane] += b * b;
                want.max_abs[lane] = want.max_abs[lane].max((a - b).abs());
                want_zeros += (b == 0.0 && a != 0.0) as u64;
                // The bucket: the top 16 bits of the f32 |error|'s pattern.
                let e = (a - b) as f32;
                // (a NaN's payload may differ by target: any NaN bucket).
                prop_assert!(
                    buckets[k] as u32 == e.abs().to_bits() >> 16
                        || (e.is_nan() && buckets[k] > 0x7f80),
                    "bucket {} of error {}", buckets[k], e
                );
            }
            prop_assert_eq!(zeros, want_zeros);
            let bits = |l: &ErrorLanes| [l.e2, l.d2, l.max_abs].map(|a| a.map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() }));
            prop_assert_eq!(bits(&acc), bits(&want));
        }
    }
}
