//! Error sums of a quantized chunk: originals `w` against dequantized `d`.

#[cfg(not(target_arch = "wasm32"))]
use super::add_square;
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

/// Adds `w` against `d` to `acc`, writes the histogram bucket
/// ([`bucket`]) of each error to `buckets`, and returns how many nonzero
/// originals dequantized to exactly zero. The three slices have one
/// length.
///
/// The error of a pair is `w − d` in f32: exact for int8 codes (`w` and
/// `d` are within a factor of two, or `d` is zero: Sterbenz), within 2^-24
/// relative otherwise. Element `k` of each block of [`LANES`] goes to lane
/// `k`, the elements past the last whole block to lane 0; each lane adds
/// the squares of the error and of `d` in f64 (exact squares, so one fused
/// multiply-add each) and keeps the largest |error|. For
/// int8 codes the sums are those of the f64 differences to the bit, at
/// two thirds of their cost (no f64 subtraction, one conversion fewer).
///
/// A slice with an f32 difference that overflowed (weights of opposite
/// signs near f32's limit) is summed again from the f64 differences.
pub fn error_sums(w: &[f32], d: &[f32], buckets: &mut [u16], acc: &mut ErrorLanes) -> u64 {
    assert!(
        w.len() == d.len() && w.len() == buckets.len(),
        "error_sums: lengths differ"
    );
    let before = *acc;
    let (wb, wt) = w.as_chunks::<LANES>();
    let (db, dt) = d.as_chunks::<LANES>();
    let (eb, et) = buckets.as_chunks_mut::<LANES>();
    let (mut zeros, mut largest) = (0, 0f32);
    for ((w, d), e) in wb
        .chunks(MAX_BLOCKS)
        .zip(db.chunks(MAX_BLOCKS))
        .zip(eb.chunks_mut(MAX_BLOCKS))
    {
        #[cfg(not(target_arch = "wasm32"))]
        let (z, m) = lanes(w, d, e, acc);
        #[cfg(target_arch = "wasm32")]
        let (z, m) = super::wasm::error_lanes(w, d, e, acc);
        (zeros, largest) = (zeros + z, max(largest, m));
    }
    for ((&a, &b), slot) in wt.iter().zip(dt).zip(et) {
        let e = a - b;
        acc.e2[0] += e as f64 * e as f64;
        acc.d2[0] += b as f64 * b as f64;
        acc.max_abs[0] = max(acc.max_abs[0], e.abs() as f64);
        largest = max(largest, e.abs());
        *slot = bucket(e);
        zeros += ((b == 0.0) & (a != 0.0)) as u64;
    }
    if largest == f32::INFINITY {
        *acc = before;
        for (w, d) in wb.chunks(MAX_BLOCKS).zip(db.chunks(MAX_BLOCKS)) {
            lanes_f64(w, d, acc);
        }
        for (&a, &b) in wt.iter().zip(dt) {
            add_f64(acc, 0, a, b);
        }
    }
    zeros
}

/// `a` or `b`, whichever is larger, NaN ignored (not passed on as
/// `f64::max` would be if it were `a`).
#[inline(always)]
pub(super) fn max<T: PartialOrd>(a: T, b: T) -> T {
    if b > a {
        b
    } else {
        a
    }
}

/// Blocks per call of a lane loop: keeps its u32 counters (narrower
/// vectors than u64 ones) from overflowing whatever the chunk length.
const MAX_BLOCKS: usize = 1 << 28;

#[cfg(not(target_arch = "wasm32"))]
simd! {
    /// The lane loop of [`error_sums`]; returns the zeros counted and
    /// the largest |error| seen.
    fn lanes(
        w: &[[f32; LANES]],
        d: &[[f32; LANES]],
        buckets: &mut [[u16; LANES]],
        acc: &mut ErrorLanes,
    ) -> (u64, f32) {
        if multiversion::target::target_cfg_f!(target_feature = "fma") {
            lanes_with::<true>(w, d, buckets, acc)
        } else {
            lanes_with::<false>(w, d, buckets, acc)
        }
    }
}

/// [`lanes`]' body; `FMA` as for [`add_square`].
#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
fn lanes_with<const FMA: bool>(
    w: &[[f32; LANES]],
    d: &[[f32; LANES]],
    buckets: &mut [[u16; LANES]],
    acc: &mut ErrorLanes,
) -> (u64, f32) {
    // Local copies: accumulating through `acc` would make the compiler
    // store every partial sum (it cannot rule out aliasing with `buckets`).
    let mut l = *acc;
    let mut max_abs = [0f32; LANES];
    let mut zeros = [0u32; LANES];
    for ((wb, db), eb) in w.iter().zip(d).zip(buckets) {
        for i in 0..LANES {
            let e = wb[i] - db[i];
            l.e2[i] = add_square::<FMA>(l.e2[i], e as f64);
            l.d2[i] = add_square::<FMA>(l.d2[i], db[i] as f64);
            max_abs[i] = max(max_abs[i], e.abs());
            eb[i] = bucket(e);
            zeros[i] += ((db[i] == 0.0) & (wb[i] != 0.0)) as u32;
        }
    }
    for (m, &part) in l.max_abs.iter_mut().zip(&max_abs) {
        *m = max(*m, part as f64);
    }
    *acc = l;
    let largest = max_abs.iter().fold(0f32, |a, &b| max(a, b));
    (zeros.iter().map(|&z| z as u64).sum(), largest)
}

/// Adds one pair to lane `i` in f64 throughout.
#[inline(always)]
fn add_f64(acc: &mut ErrorLanes, i: usize, w: f32, d: f32) {
    let (a, b) = (w as f64, d as f64);
    let e = a - b;
    acc.e2[i] += e * e;
    acc.d2[i] += b * b;
    acc.max_abs[i] = max(acc.max_abs[i], e.abs());
}

simd! {
    /// The f64 lane loop of [`error_sums`], for a slice whose f32
    /// differences overflowed.
    fn lanes_f64(w: &[[f32; LANES]], d: &[[f32; LANES]], acc: &mut ErrorLanes) {
        let mut l = *acc;
        for (wb, db) in w.iter().zip(d) {
            for i in 0..LANES {
                add_f64(&mut l, i, wb[i], db[i]);
            }
        }
        *acc = l;
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::quant::kernels::reference;
    use crate::quant::kernels::testing::awkward_f32;
    use proptest::prelude::*;

    /// The sums of the f64 differences, lane by lane.
    fn f64_sums(w: &[f32], d: &[f32]) -> ErrorLanes {
        let mut want = ErrorLanes::default();
        let whole = w.len() - w.len() % LANES;
        for k in 0..w.len() {
            let lane = if k < whole { k % LANES } else { 0 };
            let (a, b) = (w[k] as f64, d[k] as f64);
            want.e2[lane] += (a - b) * (a - b);
            want.d2[lane] += b * b;
            want.max_abs[lane] = want.max_abs[lane].max((a - b).abs());
        }
        want
    }

    fn bits(l: &ErrorLanes) -> [[u64; LANES]; 3] {
        [l.e2, l.d2, l.max_abs].map(|a| a.map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() }))
    }

    proptest! {
        #[test]
        fn lanes_equal_the_element_by_element_definition(
            pairs in prop::collection::vec((awkward_f32(), awkward_f32()), 0..200),
        ) {
            let (w, d): (Vec<f32>, Vec<f32>) = pairs.into_iter().unzip();
            let mut buckets = vec![0u16; w.len()];
            let mut acc = ErrorLanes::default();
            let zeros = error_sums(&w, &d, &mut buckets, &mut acc);
            let (want, want_zeros) = reference::error_sums(&w, &d);
            for k in 0..w.len() {
                // A NaN's payload may differ by target: any NaN bucket.
                let e = w[k] - d[k];
                prop_assert!(reference::bucket_holds(buckets[k], e), "bucket {} of error {}", buckets[k], e);
            }
            prop_assert_eq!(zeros, want_zeros);
            prop_assert_eq!(bits(&acc), bits(&want));
        }

        #[test]
        fn overflowed_differences_are_summed_in_f64(
            w in prop::collection::vec(0.5f32..1.0, 1..300),
            flip in 0usize..300,
        ) {
            // Weights near f32's limit, one pair of opposite signs: its
            // f32 difference overflows, and the slice's sums are those of
            // the f64 differences to the bit, finite.
            let w: Vec<f32> = w.iter().map(|x| x * f32::MAX).collect();
            let mut d = w.clone();
            let flip = flip % w.len();
            d[flip] = -w[flip];
            let mut acc = ErrorLanes::default();
            error_sums(&w, &d, &mut vec![0u16; w.len()], &mut acc);
            prop_assert_eq!(bits(&acc), bits(&f64_sums(&w, &d)));
            prop_assert!(acc.e2.iter().sum::<f64>().is_finite());
        }

        #[test]
        fn int8_sums_are_the_f64_ones_to_the_bit(
            w in prop::collection::vec(-1.0f32..1.0, 1..3000),
            widen in 1.0f32..100.0,
        ) {
            // Unclipped int8 pairs: every f32 error is exact.
            let max_abs = w.iter().fold(0f32, |m, x| m.max(x.abs()));
            let scale = crate::quant::scheme::int8_scale(max_abs) * widen;
            let mut d = vec![0f32; w.len()];
            crate::quant::kernels::int8_dequantized(&w, &mut d, scale);
            let mut acc = ErrorLanes::default();
            error_sums(&w, &d, &mut vec![0u16; w.len()], &mut acc);
            prop_assert_eq!(bits(&acc), bits(&f64_sums(&w, &d)));
        }
    }
}
