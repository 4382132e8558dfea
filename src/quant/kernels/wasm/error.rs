//! [`crate::quant::kernels::error_sums`]' lane loop in `simd128`.

use super::super::error::{max, ErrorLanes};
use super::super::LANES;
use super::{load_block, load_f64, store_f32, store_f64, store_u32, widen};
use core::arch::wasm32::*;

/// The lane loop of `error_sums`: the plain one's operations, lane for
/// lane; returns the zeros counted and the largest |error| seen.
pub(in crate::quant::kernels) fn lanes(
    w: &[[f32; LANES]],
    d: &[[f32; LANES]],
    buckets: &mut [[u16; LANES]],
    acc: &mut ErrorLanes,
) -> (u64, f32) {
    let (mut e2, mut d2) = (load_f64(&acc.e2), load_f64(&acc.d2));
    let mut max_abs = [f32x4_splat(0.0); 2];
    let mut zeros = [u32x4_splat(0); 2];
    let zero = f32x4_splat(0.0);
    for ((wb, db), eb) in w.iter().zip(d).zip(buckets) {
        let (w, d) = (load_block(wb), load_block(db));
        let mut bucket = [zero; 2];
        for h in 0..2 {
            let e = f32x4_sub(w[h], d[h]);
            let abs = f32x4_abs(e);
            max_abs[h] = f32x4_pmax(max_abs[h], abs);
            // `kernels::bucket`: the top 16 bits of |e|'s pattern.
            bucket[h] = u32x4_shr(abs, 16);
            let nonzero_to_zero = v128_and(f32x4_eq(d[h], zero), f32x4_ne(w[h], zero));
            zeros[h] = i32x4_sub(zeros[h], nonzero_to_zero);
            let (e, d) = (widen(e), widen(d[h]));
            for k in 0..2 {
                e2[2 * h + k] = f64x2_add(e2[2 * h + k], f64x2_mul(e[k], e[k]));
                d2[2 * h + k] = f64x2_add(d2[2 * h + k], f64x2_mul(d[k], d[k]));
            }
        }
        // Every bucket is at most 0x7fff, so the saturating narrowing
        // keeps it whole.
        let idx = u16x8_narrow_i32x4(bucket[0], bucket[1]);
        // SAFETY: `eb` holds 8 u16 (16 writable bytes); v128.store takes
        // any alignment.
        unsafe { v128_store(eb.as_mut_ptr() as *mut v128, idx) };
    }
    store_f64(e2, &mut acc.e2);
    store_f64(d2, &mut acc.d2);
    let max_abs = store_f32(max_abs);
    for (m, &part) in acc.max_abs.iter_mut().zip(&max_abs) {
        *m = max(*m, part as f64);
    }
    let largest = max_abs.iter().fold(0f32, |a, &b| max(a, b));
    (store_u32(zeros).iter().map(|&z| z as u64).sum(), largest)
}
