//! Error sums of a quantized chunk: originals `w` against dequantized `d`.

use super::hist::bucket;
use super::{add_square, simd, LANES};

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

/// Blocks of [`LANES`] whose squared errors are summed in f32 before
/// they join the f64 lane sums.
pub const PARTIAL_BLOCKS: usize = 8;

/// The range of the largest |error| of a slice within which its squares
/// are summed in f32: from 2^-40 (squares that underflow then weigh under
/// 2^-42 of the sum) to 2^62 ([`PARTIAL_BLOCKS`] squares stay under f32's
/// largest value). Outside it (or for an f32 difference that overflowed),
/// the slice is summed again in f64.
const F32_SQUARES: std::ops::RangeInclusive<f32> =
    f32::from_bits((127 - 40) << 23)..=f32::from_bits((127 + 62) << 23);

/// Adds `w` against `d` to `acc`, writes the histogram bucket
/// ([`bucket`]) of each error to `buckets`, and returns how many nonzero
/// originals dequantized to exactly zero. The three slices have one
/// length.
///
/// The error of a pair is `w − d` in f32. Element `k` of each block of
/// [`LANES`] goes to lane `k`, the elements past the last whole block to
/// lane 0. Each lane adds `d²` in f64, and the f32 sum of its squared
/// errors over each [`PARTIAL_BLOCKS`] blocks (from the start of the
/// slice) in f64: eight f32 roundings, so a relative error of at most
/// 2^-21 in Σ (w − d)², against the f64 subtraction, multiply and add
/// per element that cost 40 % more. `max |w − d|` is exact (the maximum
/// of f32 values), and for int8 codes so is every error: `w` and `d` are
/// within a factor of two or `d` is zero (Sterbenz).
///
/// A slice whose largest |error| is nonzero and outside [`F32_SQUARES`]
/// (weights near f32's limits) is summed in f64 instead, from the f64
/// difference of each pair.
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
        let (z, m) = lanes(w, d, e, acc);
        (zeros, largest) = (zeros + z, max(largest, m));
    }
    for ((&a, &b), slot) in wt.iter().zip(dt).zip(et) {
        let e = a - b;
        acc.e2[0] += (e * e) as f64;
        acc.d2[0] += b as f64 * b as f64;
        acc.max_abs[0] = max(acc.max_abs[0], e.abs() as f64);
        largest = max(largest, e.abs());
        *slot = bucket(e);
        zeros += ((b == 0.0) & (a != 0.0)) as u64;
    }
    if largest != 0.0 && !F32_SQUARES.contains(&largest) {
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
fn max<T: PartialOrd>(a: T, b: T) -> T {
    if b > a {
        b
    } else {
        a
    }
}

/// Blocks per call of a lane loop: keeps its u32 counters (narrower
/// vectors than u64 ones) from overflowing whatever the chunk length; a
/// multiple of [`PARTIAL_BLOCKS`].
const MAX_BLOCKS: usize = 1 << 28;

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
    let parts = w
        .chunks(PARTIAL_BLOCKS)
        .zip(d.chunks(PARTIAL_BLOCKS))
        .zip(buckets.chunks_mut(PARTIAL_BLOCKS));
    for ((w, d), buckets) in parts {
        let mut e2 = [0f32; LANES];
        for ((wb, db), eb) in w.iter().zip(d).zip(buckets) {
            for i in 0..LANES {
                let e = wb[i] - db[i];
                e2[i] += e * e;
                l.d2[i] = add_square::<FMA>(l.d2[i], db[i] as f64);
                max_abs[i] = max(max_abs[i], e.abs());
                eb[i] = bucket(e);
                zeros[i] += ((db[i] == 0.0) & (wb[i] != 0.0)) as u32;
            }
        }
        for (sum, &part) in l.e2.iter_mut().zip(&e2) {
            *sum += part as f64;
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
    /// The f64 lane loop of [`error_sums`], for errors outside
    /// [`F32_SQUARES`].
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
    use crate::quant::kernels::testing::awkward_f32;
    use proptest::prelude::*;

    /// The definition, one element at a time: f32 errors, their squares
    /// summed in f32 per lane over each run of [`PARTIAL_BLOCKS`] blocks,
    /// everything else in f64; or, if the largest |f32 error| is nonzero
    /// and outside [`F32_SQUARES`], f64 throughout.
    fn oracle(w: &[f32], d: &[f32]) -> (ErrorLanes, u64) {
        let mut want = ErrorLanes::default();
        let mut zeros = 0;
        let whole = w.len() - w.len() % LANES;
        let blocks = whole / LANES;
        let largest = w.iter().zip(d).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        let f64_only = largest != 0.0 && !F32_SQUARES.contains(&largest);
        let mut part = [0f32; LANES];
        for k in 0..w.len() {
            let lane = if k < whole { k % LANES } else { 0 };
            zeros += (d[k] == 0.0 && w[k] != 0.0) as u64;
            want.d2[lane] += d[k] as f64 * d[k] as f64;
            if f64_only {
                let e = w[k] as f64 - d[k] as f64;
                want.e2[lane] += e * e;
                want.max_abs[lane] = want.max_abs[lane].max(e.abs());
                continue;
            }
            let e = w[k] - d[k];
            if k < whole {
                part[lane] += e * e;
                let block = k / LANES;
                if (block + 1).is_multiple_of(PARTIAL_BLOCKS) || block + 1 == blocks {
                    want.e2[lane] += part[lane] as f64;
                    part[lane] = 0.0;
                }
            } else {
                want.e2[lane] += (e * e) as f64;
            }
            want.max_abs[lane] = want.max_abs[lane].max(e.abs() as f64);
        }
        (want, zeros)
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
            let (want, want_zeros) = oracle(&w, &d);
            for k in 0..w.len() {
                // The bucket: the top 16 bits of the f32 |error|'s pattern
                // (a NaN's payload may differ by target: any NaN bucket).
                let e = w[k] - d[k];
                prop_assert!(
                    buckets[k] as u32 == e.abs().to_bits() >> 16
                        || (e.is_nan() && buckets[k] > 0x7f80),
                    "bucket {} of error {}", buckets[k], e
                );
            }
            prop_assert_eq!(zeros, want_zeros);
            prop_assert_eq!(bits(&acc), bits(&want));
        }

        #[test]
        fn extreme_magnitudes_are_summed_in_f64(
            w in prop::collection::vec(0.5f32..1.0, 1..300),
            exponent in prop_oneof![-126i32..-42, 63i32..128],
        ) {
            // Weights near f32's limits, whose squared errors f32 cannot
            // hold (every |error| is 0.875 to 1.75 times 2^exponent, or
            // overflows f32): the sums are the f64 ones to the bit.
            let k = 2f32.powi(exponent);
            let w: Vec<f32> = w.iter().map(|x| x * k).collect();
            let d: Vec<f32> = w.iter().map(|x| x * -0.75).collect();
            let mut acc = ErrorLanes::default();
            error_sums(&w, &d, &mut vec![0u16; w.len()], &mut acc);
            let mut want = ErrorLanes::default();
            let whole = w.len() - w.len() % LANES;
            for k in 0..w.len() {
                let lane = if k < whole { k % LANES } else { 0 };
                let (a, b) = (w[k] as f64, d[k] as f64);
                want.e2[lane] += (a - b) * (a - b);
                want.d2[lane] += b * b;
                want.max_abs[lane] = want.max_abs[lane].max((a - b).abs());
            }
            prop_assert_eq!(bits(&acc), bits(&want));
            prop_assert!(acc.e2.iter().sum::<f64>().is_finite());
        }

        #[test]
        fn int8_sums_are_within_their_bound_of_f64(
            w in prop::collection::vec(-1.0f32..1.0, 1..3000),
            widen in 1.0f32..100.0,
        ) {
            // Unclipped int8 pairs: every error exact in f32, so the
            // maximum is the f64 one to the bit and Σ e² within 8 f32
            // roundings of it.
            let max_abs = w.iter().fold(0f32, |m, x| m.max(x.abs()));
            let scale = crate::quant::scheme::int8_scale(max_abs) * widen;
            let mut d = vec![0f32; w.len()];
            crate::quant::kernels::int8_dequantized(&w, &mut d, scale);
            let mut acc = ErrorLanes::default();
            error_sums(&w, &d, &mut vec![0u16; w.len()], &mut acc);
            let (mut e2, mut max_abs) = (0f64, 0f64);
            for (&a, &b) in w.iter().zip(&d) {
                let e = a as f64 - b as f64;
                e2 += e * e;
                max_abs = max_abs.max(e.abs());
            }
            let got: f64 = acc.e2.iter().sum();
            prop_assert!((got - e2).abs() <= e2 * 2f64.powi(-21), "{} vs {}", got, e2);
            prop_assert_eq!(acc.max_abs.iter().fold(0f64, |a, &b| a.max(b)), max_abs);
        }
    }
}
