//! [`crate::quant::kernels::values`]' lane loop in `simd128`.

use super::super::value::{Lanes, ValueCounts};
use super::super::LANES;
use super::{load_block, load_f64, store_f32, store_f64, store_u32, widen};
use core::arch::wasm32::*;

/// The lane loop of `values`: the plain one's operations, lane for lane.
/// It first assumes every value finite, the rule in weights, and checks
/// the assumption once at the end: a NaN or ±Inf leaves its lane's sum
/// NaN or ±Inf for good, and finite f32 values cannot overflow an f64
/// sum. Only if one did are the blocks taken again, each checked.
pub(in crate::quant::kernels) fn lanes(
    blocks: &[[f32; LANES]],
    sum: &mut [f64; LANES],
    sum_sq: &mut [f64; LANES],
    c: &mut ValueCounts,
) {
    let mut l = accumulate::<false>(blocks, sum, sum_sq);
    let finite = l.s.iter().all(|s| s.is_finite());
    if !finite {
        l = accumulate::<true>(blocks, sum, sum_sq);
    }
    l.finish(sum, sum_sq, c);
}

/// The lanes after `blocks`, from `sum` and `sum_sq`; `CHECKED` sorts
/// out NaN and ±Inf as `value::add` does, else every value is taken as
/// finite.
#[inline(always)]
fn accumulate<const CHECKED: bool>(
    blocks: &[[f32; LANES]],
    sum: &[f64; LANES],
    sum_sq: &[f64; LANES],
) -> Lanes {
    let (mut s, mut q) = (load_f64(sum), load_f64(sum_sq));
    let mut lo = [f32x4_splat(f32::INFINITY); 2];
    let mut hi = [f32x4_splat(f32::NEG_INFINITY); 2];
    let mut zeros = [u32x4_splat(0); 2];
    let (mut nonfinite, mut nan) = (zeros, zeros);
    let (inf, zero, not_a_number) = (
        f32x4_splat(f32::INFINITY),
        f32x4_splat(0.0),
        f32x4_splat(f32::NAN),
    );
    for b in blocks {
        let v = load_block(b);
        // What the range and zeros see (`r`) and what the sums see (`x`):
        // the element if finite, else NaN (never compares) and +0.
        let (r, x) = if CHECKED {
            let finite = v.map(|x| f32x4_lt(f32x4_abs(x), inf));
            for h in 0..2 {
                // A true lane is all ones: −1 as an integer.
                nonfinite[h] = i32x4_sub(nonfinite[h], v128_not(finite[h]));
                nan[h] = i32x4_sub(nan[h], f32x4_ne(v[h], v[h]));
            }
            (
                [0, 1].map(|h| v128_bitselect(v[h], not_a_number, finite[h])),
                [0, 1].map(|h| v128_and(v[h], finite[h])),
            )
        } else {
            (v, v)
        };
        for h in 0..2 {
            // pmin(a, b) is `b < a ? b : a`, pmax(a, b) `a < b ? b : a`.
            lo[h] = f32x4_pmin(lo[h], r[h]);
            hi[h] = f32x4_pmax(hi[h], r[h]);
            zeros[h] = i32x4_sub(zeros[h], f32x4_eq(r[h], zero));
            let d = widen(x[h]);
            for k in 0..2 {
                s[2 * h + k] = f64x2_add(s[2 * h + k], d[k]);
                q[2 * h + k] = f64x2_add(q[2 * h + k], f64x2_mul(d[k], d[k]));
            }
        }
    }
    let mut l = Lanes::new(sum, sum_sq);
    store_f64(s, &mut l.s);
    store_f64(q, &mut l.q);
    (l.lo, l.hi) = (store_f32(lo), store_f32(hi));
    (l.zeros, l.nonfinite, l.nan) = (store_u32(zeros), store_u32(nonfinite), store_u32(nan));
    l
}
