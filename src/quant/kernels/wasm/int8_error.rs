//! [`crate::quant::kernels::int8_error_sums`]' lane loop in `simd128`.

use super::super::error::max;
use super::super::int8_error::{alternating, Counted, Sums, PIECE_BLOCKS};
use super::super::LANES;
use super::{load_block, load_f64, store_f32, store_f64, store_u32, widen};
use core::arch::wasm32::*;

/// The lane loop of `int8_error_sums` over at most [`PIECE_BLOCKS`]
/// blocks, the plain one's operations lane for lane (`f32x4.nearest` is
/// `round_ties_even`, and `pmin`/`pmax` are its clamp: a NaN quotient
/// stays NaN, -0 stays -0), blocks alternating between the two chains of
/// Σe² lanes as there.
pub(in crate::quant::kernels) fn lanes(
    w: &[[f32; LANES]],
    scale: f32,
    buckets: &mut [[u16; LANES]],
    sums: &mut Sums,
) -> Counted {
    debug_assert!(w.len() <= PIECE_BLOCKS);
    let mut l = Lanes::new(scale, &sums.chains);
    alternating(w, buckets, |wb, eb, chain| l.block(wb, eb, chain));
    store_f64(l.e2[0], &mut sums.chains[0]);
    store_f64(l.e2[1], &mut sums.chains[1]);
    for (m, &part) in sums.max_abs.iter_mut().zip(&store_f32(l.max_abs)) {
        *m = max(*m, part as f64);
    }
    let count = |v: [v128; 2]| store_u32(v).iter().sum();
    Counted {
        c2: store_f32(l.c2),
        clipped: count(l.clipped),
        zeros: count(l.zeros),
    }
}

/// The registers of [`lanes`].
struct Lanes {
    scale: v128,
    e2: [[v128; 4]; 2],
    max_abs: [v128; 2],
    c2: [v128; 2],
    clipped: [v128; 2],
    zeros: [v128; 2],
}

impl Lanes {
    #[inline(always)]
    fn new(scale: f32, chains: &[[f64; LANES]; 2]) -> Self {
        let zero = f32x4_splat(0.0);
        Lanes {
            scale: f32x4_splat(scale),
            e2: [load_f64(&chains[0]), load_f64(&chains[1])],
            max_abs: [zero; 2],
            c2: [zero; 2],
            clipped: [zero; 2],
            zeros: [zero; 2],
        }
    }

    /// One block, its squared errors to chain `chain`.
    #[inline(always)]
    fn block(&mut self, wb: &[f32; LANES], eb: &mut [u16; LANES], chain: usize) {
        let zero = f32x4_splat(0.0);
        let (lo, hi) = (f32x4_splat(-127.0), f32x4_splat(127.0));
        let w = load_block(wb);
        let mut bucket = [zero; 2];
        for h in 0..2 {
            let r = f32x4_nearest(f32x4_div(w[h], self.scale));
            let c = f32x4_pmax(f32x4_pmin(r, hi), lo);
            self.clipped[h] = i32x4_sub(self.clipped[h], f32x4_ne(c, r));
            let d = f32x4_mul(c, self.scale);
            let e = f32x4_sub(w[h], d);
            self.c2[h] = f32x4_add(self.c2[h], f32x4_mul(c, c));
            let abs = f32x4_abs(e);
            self.max_abs[h] = f32x4_pmax(self.max_abs[h], abs);
            // `kernels::bucket`: the top 16 bits of |e|'s pattern.
            bucket[h] = u32x4_shr(abs, 16);
            let nonzero_to_zero = v128_and(f32x4_eq(d, zero), f32x4_ne(w[h], zero));
            self.zeros[h] = i32x4_sub(self.zeros[h], nonzero_to_zero);
            for (k, e) in widen(e).into_iter().enumerate() {
                let acc = &mut self.e2[chain][2 * h + k];
                *acc = f64x2_add(*acc, f64x2_mul(e, e));
            }
        }
        // Every bucket is at most 0x7fff, so the saturating narrowing
        // keeps it whole.
        let idx = u16x8_narrow_i32x4(bucket[0], bucket[1]);
        // SAFETY: `eb` holds 8 u16 (16 writable bytes); v128.store takes
        // any alignment.
        unsafe { v128_store(eb.as_mut_ptr() as *mut v128, idx) };
    }
}
