//! Symmetric int8's error statistics straight from the originals: the
//! quantize → dequantize of [`super::int8_dequantized`] and the sums of
//! [`super::error_sums`] in one loop, the dequantized values never
//! stored, and Σd² taken from the codes.

#[cfg(not(target_arch = "wasm32"))]
use super::add_square;
use super::error::max;
use super::hist::bucket;
#[cfg(not(target_arch = "wasm32"))]
use super::simd;
use super::{ErrorLanes, LANES};
use crate::quant::scheme;

/// What [`int8_error_sums`] counted besides the sums.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Int8Counts {
    /// Codes clipped to ±127 (NaN originals included).
    pub clipped: u64,
    /// Nonzero originals that dequantized to exactly zero.
    pub zeros: u64,
}

/// Adds the error statistics of `w` quantized to int8 codes with one
/// `scale` to `acc`, and writes the histogram bucket ([`super::bucket`])
/// of each error to `buckets` (as long as `w`).
///
/// Each value's code `c` and dequantized value `d = c · scale` are those
/// of [`super::int8_dequantized`] (as values: a code of -0 is +0 there),
/// and its error is `w − d` in f32, exact (Sterbenz, or `d` zero; `c` has
/// `w`'s sign, so the difference never overflows). max|w − d|, the
/// zeros and the buckets are [`super::error_sums`]' to the bit, lanes
/// included. Each lane's Σ(w − d)² is summed in two chains, the call's
/// even blocks in one (from the lane's sum so far) and its odd blocks in
/// the other, added at the end of the call, before the elements past the
/// last whole block go to lane 0: the same squares, in another order.
/// Σd² is `scale²·Σc²`: each lane's Σc² is an exact integer (at
/// most 127² per element), multiplied by `scale²` (exact in f64) and
/// added to the lane once per call, so the only rounding is of that
/// product and sum. It leaves out the f32 rounding of each `c · scale`,
/// which moves Σd² by less than 2^-23 of itself and the cosine derived
/// from it by less than 2^-46: the price of not widening and squaring
/// every `d` in f64 (a third of the error sums' work).
pub fn int8_error_sums(
    w: &[f32],
    scale: f32,
    buckets: &mut [u16],
    acc: &mut ErrorLanes,
) -> Int8Counts {
    assert_eq!(w.len(), buckets.len(), "int8_error_sums: lengths differ");
    let (wb, wt) = w.as_chunks::<LANES>();
    let (bb, bt) = buckets.as_chunks_mut::<LANES>();
    let mut sums = Sums {
        chains: [acc.e2, [0f64; LANES]],
        max_abs: acc.max_abs,
    };
    let mut c2 = [0f64; LANES];
    let mut counts = Int8Counts::default();
    #[cfg(target_arch = "x86_64")]
    let intrinsics = super::x86::int8_error_loop();
    for (w, b) in wb.chunks(PIECE_BLOCKS).zip(bb.chunks_mut(PIECE_BLOCKS)) {
        #[cfg(target_arch = "x86_64")]
        let piece = match intrinsics {
            // SAFETY: the CPU has the loop's instructions (its word).
            Some(lanes) => unsafe { lanes(w, scale, b, &mut sums) },
            None => lanes(w, scale, b, &mut sums),
        };
        #[cfg(not(any(target_arch = "wasm32", target_arch = "x86_64")))]
        let piece = lanes(w, scale, b, &mut sums);
        #[cfg(target_arch = "wasm32")]
        let piece = super::wasm::int8_error_lanes(w, scale, b, &mut sums);
        for (sum, p) in c2.iter_mut().zip(piece.c2) {
            *sum += p as f64;
        }
        counts.clipped += piece.clipped as u64;
        counts.zeros += piece.zeros as u64;
    }
    let [a, b] = sums.chains;
    for (e2, (a, b)) in acc.e2.iter_mut().zip(a.iter().zip(b)) {
        *e2 = a + b;
    }
    acc.max_abs = sums.max_abs;
    for (&x, slot) in wt.iter().zip(bt) {
        let (c, clipped) = scheme::int8_code(x, scale);
        let d = c * scale;
        let e = x - d;
        acc.e2[0] += e as f64 * e as f64;
        acc.max_abs[0] = max(acc.max_abs[0], e.abs() as f64);
        *slot = bucket(e);
        c2[0] += (c * c) as f64;
        counts.clipped += clipped as u64;
        counts.zeros += ((d == 0.0) & (x != 0.0)) as u64;
    }
    let s2 = scale as f64 * scale as f64;
    for (d2, c2) in acc.d2.iter_mut().zip(c2) {
        *d2 += c2 * s2;
    }
    counts
}

/// Blocks per call of a lane loop: its f32 sums of c² stay exact
/// integers (at most 1024 · 127² < 2^24 per lane). Even, so that a
/// block's chain is its index in the call's blocks, modulo 2.
pub(super) const PIECE_BLOCKS: usize = 1024;

/// What a lane loop adds to: each lane's two chains of Σe² and its
/// largest |error|.
pub(super) struct Sums {
    pub chains: [[f64; LANES]; 2],
    pub max_abs: [f64; LANES],
}

/// What a lane loop counted: each lane's Σc², the clipped codes and the
/// zeros.
pub(super) struct Counted {
    pub c2: [f32; LANES],
    pub clipped: u32,
    pub zeros: u32,
}

/// Calls `block(w, buckets, chain)` for each block in order, `chain`
/// being its index modulo 2 (two blocks to a step, so that the chain is
/// a constant in each call).
#[inline(always)]
pub(super) fn alternating(
    w: &[[f32; LANES]],
    buckets: &mut [[u16; LANES]],
    mut block: impl FnMut(&[f32; LANES], &mut [u16; LANES], usize),
) {
    let (pairs, last) = w.as_chunks::<2>();
    let (bpairs, blast) = buckets.as_chunks_mut::<2>();
    for ([w0, w1], [b0, b1]) in pairs.iter().zip(bpairs) {
        block(w0, b0, 0);
        block(w1, b1, 1);
    }
    if let (Some(w), Some(b)) = (last.first(), blast.first_mut()) {
        block(w, b, 0);
    }
}

#[cfg(not(target_arch = "wasm32"))]
simd! {
    /// The lane loop of [`int8_error_sums`] over at most
    /// [`PIECE_BLOCKS`] blocks.
    pub(super) fn lanes(
        w: &[[f32; LANES]],
        scale: f32,
        buckets: &mut [[u16; LANES]],
        sums: &mut Sums,
    ) -> Counted {
        // As in `int8::int8_lanes`: one rounding instruction where the
        // target has one, `int8_code`'s trick elsewhere.
        let nearest = multiversion::target::target_cfg_f!(any(
            target_feature = "sse4.1",
            target_feature = "avx2",
            target_feature = "avx512f",
            target_arch = "aarch64"
        ));
        let fma = multiversion::target::target_cfg_f!(target_feature = "fma");
        match (nearest, fma) {
            (true, true) => lanes_with::<true, true>(w, scale, buckets, sums),
            (true, false) => lanes_with::<true, false>(w, scale, buckets, sums),
            (false, _) => lanes_with::<false, false>(w, scale, buckets, sums),
        }
    }
}

/// [`lanes`]' body; `NEAREST` as for `int8::int8_with`, `FMA` as for
/// [`add_square`]. Blocks alternate between the two chains of Σe²: one
/// chain would make every block wait for the previous block's
/// multiply-add.
#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
fn lanes_with<const NEAREST: bool, const FMA: bool>(
    w: &[[f32; LANES]],
    scale: f32,
    buckets: &mut [[u16; LANES]],
    sums: &mut Sums,
) -> Counted {
    debug_assert!(w.len() <= PIECE_BLOCKS);
    let mut e2 = sums.chains;
    let mut largest = [0f32; LANES];
    let mut c2 = [0f32; LANES];
    let (mut clipped, mut zeros) = ([0u32; LANES], [0u32; LANES]);
    alternating(w, buckets, |wb, eb, chain| {
        for i in 0..LANES {
            let x = wb[i];
            let (c, cl) = if NEAREST {
                let r = (x / scale).round_ties_even();
                let c = r.clamp(-scheme::INT8_MAX, scheme::INT8_MAX);
                (c, c != r)
            } else {
                scheme::int8_code(x, scale)
            };
            let d = c * scale;
            let e = x - d;
            e2[chain][i] = add_square::<FMA>(e2[chain][i], e as f64);
            c2[i] += c * c;
            largest[i] = max(largest[i], e.abs());
            eb[i] = bucket(e);
            clipped[i] += cl as u32;
            zeros[i] += ((d == 0.0) & (x != 0.0)) as u32;
        }
    });
    sums.chains = e2;
    for (m, &part) in sums.max_abs.iter_mut().zip(&largest) {
        *m = max(*m, part as f64);
    }
    Counted {
        c2,
        clipped: clipped.iter().sum(),
        zeros: zeros.iter().sum(),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::quant::kernels::reference;
    use crate::quant::kernels::testing::awkward_vec;
    use proptest::prelude::*;

    fn bits(l: &ErrorLanes) -> [[u64; LANES]; 3] {
        [l.e2, l.d2, l.max_abs].map(|a| a.map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() }))
    }

    /// The buckets and sums of `w` with `scale`, from `acc`, in pieces of
    /// `piece` elements.
    fn run(w: &[f32], scale: f32, piece: usize) -> (ErrorLanes, Int8Counts, Vec<u16>) {
        let mut acc = ErrorLanes::default();
        let mut buckets = vec![0u16; w.len()];
        let mut counts = Int8Counts::default();
        for (w, b) in w.chunks(piece.max(1)).zip(buckets.chunks_mut(piece.max(1))) {
            let c = int8_error_sums(w, scale, b, &mut acc);
            counts.clipped += c.clipped;
            counts.zeros += c.zeros;
        }
        (acc, counts, buckets)
    }

    proptest! {
        #[test]
        fn sums_equal_the_definition(
            w in awkward_vec(),
            scale in prop_oneof![1e-6f32..10.0, Just(f32::from_bits(1)), Just(1.0), Just(0.0)],
        ) {
            let (acc, counts, buckets) = run(&w, scale, w.len());
            let (want, want_counts) = reference::int8_error_sums(&w, scale);
            prop_assert_eq!(counts, want_counts);
            prop_assert_eq!(bits(&acc), bits(&want));
            for (k, &x) in w.iter().enumerate() {
                let e = x - scheme::int8_code(x, scale).0 * scale;
                prop_assert!(reference::bucket_holds(buckets[k], e), "bucket {} of error {}", buckets[k], e);
            }
        }

        #[test]
        fn they_are_the_two_kernels_up_to_the_sums_rounding(
            w in prop::collection::vec(-3.0f32..3.0, 0..20_000),
            widen in 0.2f32..100.0,
        ) {
            // Long enough for several pieces of PIECE_BLOCKS blocks, and
            // narrow scales that clip.
            let scale = scheme::int8_scale(w.iter().fold(0f32, |m, x| m.max(x.abs()))) * widen;
            let (got, counts, buckets) = run(&w, scale, w.len());
            let mut d = vec![0f32; w.len()];
            let clipped = super::super::int8_dequantized(&w, &mut d, scale);
            let mut want = ErrorLanes::default();
            let mut want_buckets = vec![0u16; w.len()];
            let zeros = super::super::error_sums(&w, &d, &mut want_buckets, &mut want);
            prop_assert_eq!(counts, Int8Counts { clipped, zeros });
            prop_assert_eq!(&buckets, &want_buckets);
            prop_assert_eq!(bits(&got)[2], bits(&want)[2]);
            for (a, b) in got.e2.iter().zip(&want.e2) {
                prop_assert!((a - b).abs() <= b * 1e-12, "Σe² {} vs {}", a, b);
            }
            for (a, b) in got.d2.iter().zip(&want.d2) {
                prop_assert!((a - b).abs() <= b * f32::EPSILON as f64, "Σd² {} vs {}", a, b);
            }
        }
    }
}
