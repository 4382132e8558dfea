//! [`crate::quant::kernels::int8_error_sums`]' lane loop in AVX2.

use super::super::error::max;
use super::super::int8_error::{Counted, Sums, PIECE_BLOCKS};
use super::super::LANES;
use std::arch::x86_64::*;

/// Whether this machine can run [`lanes`]: it has AVX2 and FMA.
pub(in crate::quant::kernels) fn runs() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

/// The lane loop of `int8_error_sums` over at most [`PIECE_BLOCKS`]
/// blocks, blocks alternating between the two chains of Σe² as in the
/// plain one. `max_ps(lo, r)` then `min_ps(hi, ·)` is its clamp (a NaN
/// quotient stays NaN, −0 stays −0); the f64 squares are exact, so the
/// multiply-add is the plain loop's.
///
/// # Safety
/// The CPU must have AVX2 and FMA (as [`runs`] checks).
#[target_feature(enable = "avx2,fma")]
pub(in crate::quant::kernels) unsafe fn lanes(
    w: &[[f32; LANES]],
    scale: f32,
    buckets: &mut [[u16; LANES]],
    sums: &mut Sums,
) -> Counted {
    debug_assert!(w.len() <= PIECE_BLOCKS);
    assert_eq!(w.len(), buckets.len());
    let scale_v = _mm256_set1_ps(scale);
    let (lo, hi) = (_mm256_set1_ps(-127.0), _mm256_set1_ps(127.0));
    let zero = _mm256_setzero_ps();
    let abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff));
    // SAFETY (every load and store below): the arrays are 8 f32 or f64
    // (two __m256d) and 8 u16 long; the unaligned forms take any address.
    let load_f64 = |a: &[f64; LANES]| unsafe {
        [
            _mm256_loadu_pd(a.as_ptr()),
            _mm256_loadu_pd(a.as_ptr().add(4)),
        ]
    };
    let [mut a, mut b] = [load_f64(&sums.chains[0]), load_f64(&sums.chains[1])];
    let mut largest = zero;
    let mut c2 = zero;
    let (mut clipped, mut zeros) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    // One block into `chain`: a macro, not a closure, so that it is
    // always inline in this function and compiled with its features.
    macro_rules! block {
        ($wb:expr, $eb:expr, $chain:ident) => {{
            let x = unsafe { _mm256_loadu_ps($wb.as_ptr()) };
            let r = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
                _mm256_div_ps(x, scale_v),
            );
            let c = _mm256_min_ps(hi, _mm256_max_ps(lo, r));
            let cl = _mm256_cmp_ps::<_CMP_NEQ_UQ>(c, r);
            let d = _mm256_mul_ps(c, scale_v);
            let e = _mm256_sub_ps(x, d);
            let e_lo = _mm256_cvtps_pd(_mm256_castps256_ps128(e));
            let e_hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(e));
            $chain[0] = _mm256_fmadd_pd(e_lo, e_lo, $chain[0]);
            $chain[1] = _mm256_fmadd_pd(e_hi, e_hi, $chain[1]);
            c2 = _mm256_add_ps(c2, _mm256_mul_ps(c, c));
            let abs = _mm256_and_ps(e, abs_mask);
            // The plain `max(largest, |e|)`: |e| where it is greater, so
            // a NaN is never taken.
            largest = _mm256_blendv_ps(largest, abs, _mm256_cmp_ps::<_CMP_GT_OQ>(abs, largest));
            let bucket = _mm256_srli_epi32::<16>(_mm256_castps_si256(abs));
            let packed = _mm_packus_epi32(
                _mm256_castsi256_si128(bucket),
                _mm256_extracti128_si256::<1>(bucket),
            );
            unsafe { _mm_storeu_si128($eb.as_mut_ptr() as *mut __m128i, packed) };
            clipped = _mm256_sub_epi32(clipped, _mm256_castps_si256(cl));
            let z = _mm256_and_ps(
                _mm256_cmp_ps::<_CMP_EQ_OQ>(d, zero),
                _mm256_cmp_ps::<_CMP_NEQ_UQ>(x, zero),
            );
            zeros = _mm256_sub_epi32(zeros, _mm256_castps_si256(z));
        }};
    }
    let (pairs, last) = w.as_chunks::<2>();
    let (bpairs, blast) = buckets.as_chunks_mut::<2>();
    for ([w0, w1], [b0, b1]) in pairs.iter().zip(bpairs) {
        block!(w0, b0, a);
        block!(w1, b1, b);
    }
    if let (Some(w), Some(eb)) = (last.first(), blast.first_mut()) {
        block!(w, eb, a);
    }
    let e2 = [a, b];
    for (chain, v) in sums.chains.iter_mut().zip(e2) {
        unsafe {
            _mm256_storeu_pd(chain.as_mut_ptr(), v[0]);
            _mm256_storeu_pd(chain.as_mut_ptr().add(4), v[1]);
        }
    }
    let (mut big, mut c2s) = ([0f32; LANES], [0f32; LANES]);
    let (mut cls, mut zs) = ([0u32; LANES], [0u32; LANES]);
    unsafe {
        _mm256_storeu_ps(big.as_mut_ptr(), largest);
        _mm256_storeu_ps(c2s.as_mut_ptr(), c2);
        _mm256_storeu_si256(cls.as_mut_ptr() as *mut __m256i, clipped);
        _mm256_storeu_si256(zs.as_mut_ptr() as *mut __m256i, zeros);
    }
    for (m, &part) in sums.max_abs.iter_mut().zip(&big) {
        *m = max(*m, part as f64);
    }
    Counted {
        c2: c2s,
        clipped: cls.iter().sum(),
        zeros: zs.iter().sum(),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::quant::kernels::int8_error as plain;
    use crate::quant::kernels::testing::awkward_f32;
    use proptest::prelude::*;

    /// What `f` makes of `w` from chains and largest |error| `start`:
    /// the bits of every sum and count (any NaN as one), and the buckets.
    pub(in super::super) fn run(
        f: impl FnOnce(&[[f32; LANES]], f32, &mut [[u16; LANES]], &mut Sums) -> Counted,
        w: &[[f32; LANES]],
        scale: f32,
        start: &[f64; LANES],
    ) -> (Vec<u64>, Vec<[u16; LANES]>) {
        let mut sums = Sums {
            chains: [*start, [0.5; LANES]],
            max_abs: *start,
        };
        let mut buckets = vec![[0u16; LANES]; w.len()];
        let c = f(w, scale, &mut buckets, &mut sums);
        // A NaN's sign and payload follow the operand order, which is
        // LLVM's choice: every NaN is one.
        let f64_bits = |x: &f64| if x.is_nan() { u64::MAX } else { x.to_bits() };
        let f32_bits = |x: &f32| {
            if x.is_nan() {
                u64::MAX
            } else {
                x.to_bits() as u64
            }
        };
        let bits = sums
            .chains
            .iter()
            .flatten()
            .chain(&sums.max_abs)
            .map(f64_bits)
            .chain(c.c2.iter().map(f32_bits))
            .chain([c.clipped as u64, c.zeros as u64])
            .collect();
        (bits, buckets)
    }

    proptest! {
        /// Every sum, count and bucket of the AVX2 loop is the plain
        /// loop's to the bit (any NaN for any NaN), on NaN, ±Inf, −0,
        /// subnormals and clipping (an odd number of blocks ends on
        /// chain 0).
        #[test]
        fn avx2_matches_the_plain_loop(
            w in prop::collection::vec(prop::array::uniform8(awkward_f32()), 0..40),
            scale in prop_oneof![1e-6f32..10.0, Just(f32::from_bits(1)), Just(1.0), Just(0.0)],
            start in prop::array::uniform8(0f64..4.0),
        ) {
            if !runs() {
                return Ok(());
            }
            // SAFETY: AVX2 and FMA were checked just above.
            let avx2 = run(|w, s, b, acc| unsafe { lanes(w, s, b, acc) }, &w, scale, &start);
            prop_assert_eq!(avx2, run(plain::lanes, &w, scale, &start));
        }
    }
}
