//! [`crate::quant::kernels::int8_error_sums`]' lane loop in AVX-512, two
//! blocks to a register.
//!
//! Compiled from the plain loop for AVX-512, LLVM keeps its f32 work
//! eight lanes wide (a block is eight values), so every division,
//! rounding and compare fills half a register. A block's pair of the
//! plain loop goes to the two chains of Σe² one after the other, so the
//! pair's sixteen values can be worked in one register: the low half's
//! squares go to chain 0, the high half's to chain 1, exactly as the
//! plain loop adds them. What the halves share is order-free: Σc² (exact
//! integers below 2^24), the largest |error| and the counts, folded once
//! per call. So every figure is the plain loop's to the bit.

use super::super::error::max;
use super::super::int8_error::{lanes as plain, Counted, Sums, PIECE_BLOCKS};
use super::super::LANES;
use std::arch::x86_64::*;

/// Whether this machine can run [`lanes`].
pub(in crate::quant::kernels) fn runs() -> bool {
    is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw")
}

/// The lane loop of `int8_error_sums` over at most [`PIECE_BLOCKS`]
/// blocks: pairs of blocks in AVX-512, a last odd block in the plain
/// loop (whose first block is chain 0's, as the pairs' loop leaves it).
/// `max_ps(lo, r)` then `min_ps(hi, ·)` is the clamp (a NaN quotient
/// stays NaN, −0 stays −0), and `max_ps(|e|, largest)` takes |e| only
/// where it is greater, never a NaN, as the plain `max`.
///
/// # Safety
/// The CPU must have AVX-512 F and BW (as [`runs`] checks).
#[target_feature(enable = "avx512f,avx512bw")]
pub(in crate::quant::kernels) unsafe fn lanes(
    w: &[[f32; LANES]],
    scale: f32,
    buckets: &mut [[u16; LANES]],
    sums: &mut Sums,
) -> Counted {
    debug_assert!(w.len() <= PIECE_BLOCKS);
    assert_eq!(w.len(), buckets.len());
    let scale_v = _mm512_set1_ps(scale);
    let (lo, hi) = (_mm512_set1_ps(-127.0), _mm512_set1_ps(127.0));
    let zero = _mm512_setzero_ps();
    // SAFETY (every load and store below): a chain is 8 f64, a pair of
    // blocks 16 f32 and 16 u16, contiguous; the unaligned forms take any
    // address.
    let mut a = unsafe { _mm512_loadu_pd(sums.chains[0].as_ptr()) };
    let mut b = unsafe { _mm512_loadu_pd(sums.chains[1].as_ptr()) };
    let (mut largest, mut c2) = (zero, zero);
    // Counted in lanes, a mask to a lane each: a popcount of each mask
    // (not in AVX-512 F) compiled to a dozen instructions a pair.
    let one = _mm512_set1_epi32(1);
    let high_words = _mm512_set_epi16(
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //
        31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1,
    );
    let (mut clipped, mut zeros) = (_mm512_setzero_si512(), _mm512_setzero_si512());
    let (pairs, last) = w.as_chunks::<2>();
    let (bpairs, blast) = buckets.as_chunks_mut::<2>();
    for (wp, bp) in pairs.iter().zip(bpairs) {
        let x = unsafe { _mm512_loadu_ps(wp.as_ptr().cast()) };
        let r = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
            _mm512_div_ps(x, scale_v),
        );
        let c = _mm512_min_ps(hi, _mm512_max_ps(lo, r));
        let cl = _mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(c, r);
        clipped = _mm512_mask_add_epi32(clipped, cl, clipped, one);
        let d = _mm512_mul_ps(c, scale_v);
        let e = _mm512_sub_ps(x, d);
        let e_lo = _mm512_cvtps_pd(_mm512_castps512_ps256(e));
        let e_hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(
            _mm512_castps_pd(e),
        )));
        a = _mm512_fmadd_pd(e_lo, e_lo, a);
        b = _mm512_fmadd_pd(e_hi, e_hi, b);
        c2 = _mm512_add_ps(c2, _mm512_mul_ps(c, c));
        let abs = _mm512_abs_ps(e);
        largest = _mm512_max_ps(abs, largest);
        // The high halves of |e|'s words gathered into the low 32 bytes:
        // vpmovdw, which LLVM folds into its store, is a slow store on
        // AMD's cores (a fifth of the loop's time on Zen 5).
        let bucket = _mm512_permutexvar_epi16(high_words, _mm512_castps_si512(abs));
        unsafe { _mm256_storeu_si256(bp.as_mut_ptr().cast(), _mm512_castsi512_si256(bucket)) };
        let z =
            _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(d, zero) & _mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(x, zero);
        zeros = _mm512_mask_add_epi32(zeros, z, zeros, one);
    }
    unsafe {
        _mm512_storeu_pd(sums.chains[0].as_mut_ptr(), a);
        _mm512_storeu_pd(sums.chains[1].as_mut_ptr(), b);
    }
    let (mut big, mut c2s) = ([0f32; 2 * LANES], [0f32; 2 * LANES]);
    unsafe {
        _mm512_storeu_ps(big.as_mut_ptr(), largest);
        _mm512_storeu_ps(c2s.as_mut_ptr(), c2);
    }
    let (big_lo, big_hi) = big.split_at(LANES);
    for ((m, &x), &y) in sums.max_abs.iter_mut().zip(big_lo).zip(big_hi) {
        *m = max(*m, max(x, y) as f64);
    }
    let mut counted = Counted {
        c2: std::array::from_fn(|i| c2s[i] + c2s[i + LANES]),
        clipped: _mm512_reduce_add_epi32(clipped) as u32,
        zeros: _mm512_reduce_add_epi32(zeros) as u32,
    };
    if let (Some(w), Some(eb)) = (last.first(), blast.first_mut()) {
        let tail = plain(
            std::slice::from_ref(w),
            scale,
            std::slice::from_mut(eb),
            sums,
        );
        for (s, t) in counted.c2.iter_mut().zip(tail.c2) {
            *s += t;
        }
        counted.clipped += tail.clipped;
        counted.zeros += tail.zeros;
    }
    counted
}

#[cfg(test)]
mod tests {
    use super::super::int8_error::tests::run;
    use super::*;
    use crate::quant::kernels::testing::awkward_f32;
    use proptest::prelude::*;

    proptest! {
        /// Every sum, count and bucket of the AVX-512 loop is the plain
        /// loop's to the bit (any NaN for any NaN), on NaN, ±Inf, −0,
        /// subnormals and clipping, with odd and even numbers of blocks.
        #[test]
        fn avx512_matches_the_plain_loop(
            w in prop::collection::vec(prop::array::uniform8(awkward_f32()), 0..40),
            scale in prop_oneof![1e-6f32..10.0, Just(f32::from_bits(1)), Just(1.0), Just(0.0)],
            start in prop::array::uniform8(0f64..4.0),
        ) {
            if !runs() {
                return Ok(());
            }
            // SAFETY: AVX-512 F and BW were checked just above.
            let wide = run(|w, s, b, acc| unsafe { lanes(w, s, b, acc) }, &w, scale, &start);
            prop_assert_eq!(wide, run(plain, &w, scale, &start));
        }
    }
}
