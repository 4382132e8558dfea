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
    let mut l = accumulate_finite(blocks, sum, sum_sq);
    let finite = l.s.iter().all(|s| s.is_finite());
    if !finite {
        l = accumulate_checked(blocks, sum, sum_sq);
    }
    l.finish(sum, sum_sq, c);
}

/// Blocks in a piece of [`accumulate_finite`]: 16 KiB of f32, read from
/// L1 by all three passes.
const PIECE_BLOCKS: usize = 512;

/// The lane loops' accumulators, in registers: [`Lanes`]' fields.
struct Regs {
    s: [v128; 4],
    q: [v128; 4],
    lo: [v128; 2],
    hi: [v128; 2],
    zeros: [v128; 2],
    nonfinite: [v128; 2],
    nan: [v128; 2],
}

impl Regs {
    /// The sums `sum` and `sum_sq`, nothing counted.
    #[inline(always)]
    fn new(sum: &[f64; LANES], sum_sq: &[f64; LANES]) -> Self {
        let none = [u32x4_splat(0); 2];
        Regs {
            s: load_f64(sum),
            q: load_f64(sum_sq),
            lo: [f32x4_splat(f32::INFINITY); 2],
            hi: [f32x4_splat(f32::NEG_INFINITY); 2],
            zeros: none,
            nonfinite: none,
            nan: none,
        }
    }

    /// The accumulators as the plain loop keeps them.
    #[inline(always)]
    fn lanes(&self) -> Lanes {
        let mut l = Lanes {
            s: [0.0; LANES],
            q: [0.0; LANES],
            lo: store_f32(self.lo),
            hi: store_f32(self.hi),
            zeros: store_u32(self.zeros),
            nonfinite: store_u32(self.nonfinite),
            nan: store_u32(self.nan),
        };
        store_f64(self.s, &mut l.s);
        store_f64(self.q, &mut l.q);
        l
    }

    /// Adds `r`, half `h` of a block as the range and zeros see it.
    #[inline(always)]
    fn range(&mut self, h: usize, r: v128) {
        // pmin(a, b) is `b < a ? b : a`, pmax(a, b) `a < b ? b : a`.
        self.lo[h] = f32x4_pmin(self.lo[h], r);
        self.hi[h] = f32x4_pmax(self.hi[h], r);
        // A true lane is all ones: −1 as an integer.
        self.zeros[h] = i32x4_sub(self.zeros[h], f32x4_eq(r, f32x4_splat(0.0)));
    }
}

/// Adds half `h` of a block, `x`, to the f64 sums `s` and `q` of its
/// lanes.
#[inline(always)]
fn add_sums(s: &mut [v128], q: &mut [v128], x: v128) {
    for (k, d) in widen(x).into_iter().enumerate() {
        s[k] = f64x2_add(s[k], d);
        q[k] = f64x2_add(q[k], f64x2_mul(d, d));
    }
}

/// The lanes after `blocks`, from `sum` and `sum_sq`, every value taken
/// as finite. Three passes over each piece, not one: V8 keeps a wasm
/// function's values in x64's sixteen vector registers, and one pass needs
/// fifteen accumulators (eight f64 sums, the ranges and the counters), so
/// it spilled sums to the stack and every block waited on a store and a
/// reload: 0.51 ns per element. The ranges and zeros take one pass, each
/// half of a block's sums another; each lane's accumulator sees the same
/// values in the same order as in one pass, so the bits are the same.
#[inline(always)]
fn accumulate_finite(blocks: &[[f32; LANES]], sum: &[f64; LANES], sum_sq: &[f64; LANES]) -> Lanes {
    let mut a = Regs::new(sum, sum_sq);
    for piece in blocks.chunks(PIECE_BLOCKS) {
        for b in piece {
            let v = load_block(b);
            a.range(0, v[0]);
            a.range(1, v[1]);
        }
        for h in 0..2 {
            let (mut s, mut q) = ([a.s[2 * h], a.s[2 * h + 1]], [a.q[2 * h], a.q[2 * h + 1]]);
            for b in piece {
                add_sums(&mut s, &mut q, load_block(b)[h]);
            }
            [a.s[2 * h], a.s[2 * h + 1]] = s;
            [a.q[2 * h], a.q[2 * h + 1]] = q;
        }
    }
    a.lanes()
}

/// The lanes after `blocks`, from `sum` and `sum_sq`, NaN and ±Inf sorted
/// out as `value::add` does: the range and zeros see NaN (which never
/// compares), the sums +0.
#[inline(always)]
fn accumulate_checked(blocks: &[[f32; LANES]], sum: &[f64; LANES], sum_sq: &[f64; LANES]) -> Lanes {
    let mut a = Regs::new(sum, sum_sq);
    let (inf, not_a_number) = (f32x4_splat(f32::INFINITY), f32x4_splat(f32::NAN));
    for b in blocks {
        for (h, v) in load_block(b).into_iter().enumerate() {
            let finite = f32x4_lt(f32x4_abs(v), inf);
            a.nonfinite[h] = i32x4_sub(a.nonfinite[h], v128_not(finite));
            a.nan[h] = i32x4_sub(a.nan[h], f32x4_ne(v, v));
            a.range(h, v128_bitselect(v, not_a_number, finite));
            add_sums(&mut a.s[2 * h..], &mut a.q[2 * h..], v128_and(v, finite));
        }
    }
    a.lanes()
}
