//! Value statistics of a chunk: counts, finite range and lane sums.

#[cfg(not(target_arch = "wasm32"))]
use super::simd;
use super::LANES;

/// What a chunk adds to the value statistics besides its sums.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueCounts {
    /// NaN elements.
    pub nan: u64,
    /// ±Inf elements.
    pub inf: u64,
    /// Elements equal to zero (either sign).
    pub zeros: u64,
    /// Smallest finite value (+inf if none).
    pub min: f32,
    /// Largest finite value (-inf if none).
    pub max: f32,
}

impl ValueCounts {
    /// The counts of no elements.
    pub const EMPTY: ValueCounts = ValueCounts {
        nan: 0,
        inf: 0,
        zeros: 0,
        min: f32::INFINITY,
        max: f32::NEG_INFINITY,
    };
}

/// Blocks per call of the lane loop: keeps its u32 counters from
/// overflowing whatever the chunk length.
const MAX_BLOCKS: usize = 1 << 28;

/// Adds the finite elements of `xs` to `sum` and `sum_sq` (in f64; element
/// `k` of each block of [`LANES`] to lane `k`, the elements past the last
/// whole block to lane 0) and returns the chunk's counts and finite range.
pub fn values(xs: &[f32], sum: &mut [f64; LANES], sum_sq: &mut [f64; LANES]) -> ValueCounts {
    let mut c = ValueCounts::EMPTY;
    let (blocks, tail) = xs.as_chunks::<LANES>();
    for part in blocks.chunks(MAX_BLOCKS) {
        #[cfg(not(target_arch = "wasm32"))]
        lanes(part, sum, sum_sq, &mut c);
        #[cfg(target_arch = "wasm32")]
        super::wasm::value_lanes(part, sum, sum_sq, &mut c);
    }
    let mut l = Lanes::new(sum, sum_sq);
    for &x in tail {
        l.add(0, x);
    }
    l.finish(sum, sum_sq, &mut c);
    c
}

/// Per-lane accumulators, kept in registers by the lane loop.
pub(super) struct Lanes {
    pub(super) s: [f64; LANES],
    pub(super) q: [f64; LANES],
    pub(super) lo: [f32; LANES],
    pub(super) hi: [f32; LANES],
    pub(super) zeros: [u32; LANES],
    pub(super) nonfinite: [u32; LANES],
    pub(super) nan: [u32; LANES],
}

impl Lanes {
    #[inline(always)]
    pub(super) fn new(sum: &[f64; LANES], sum_sq: &[f64; LANES]) -> Self {
        Lanes {
            s: *sum,
            q: *sum_sq,
            lo: [f32::INFINITY; LANES],
            hi: [f32::NEG_INFINITY; LANES],
            zeros: [0; LANES],
            nonfinite: [0; LANES],
            nan: [0; LANES],
        }
    }

    #[inline(always)]
    fn add(&mut self, i: usize, v: f32) {
        let Lanes {
            s,
            q,
            lo,
            hi,
            zeros,
            nonfinite,
            nan,
        } = self;
        add(
            v,
            &mut s[i],
            &mut q[i],
            &mut lo[i],
            &mut hi[i],
            &mut zeros[i],
            &mut nonfinite[i],
            &mut nan[i],
        );
    }

    #[inline(always)]
    pub(super) fn finish(
        &self,
        sum: &mut [f64; LANES],
        sum_sq: &mut [f64; LANES],
        c: &mut ValueCounts,
    ) {
        (*sum, *sum_sq) = (self.s, self.q);
        for i in 0..LANES {
            c.min = if self.lo[i] < c.min {
                self.lo[i]
            } else {
                c.min
            };
            c.max = if self.hi[i] > c.max {
                self.hi[i]
            } else {
                c.max
            };
            c.zeros += self.zeros[i] as u64;
            c.nan += self.nan[i] as u64;
            c.inf += (self.nonfinite[i] - self.nan[i]) as u64;
        }
    }
}

/// Adds one element to one lane's accumulators.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn add(
    v: f32,
    s: &mut f64,
    q: &mut f64,
    lo: &mut f32,
    hi: &mut f32,
    zeros: &mut u32,
    nonfinite: &mut u32,
    nan: &mut u32,
) {
    let finite = v.abs() < f32::INFINITY;
    *nonfinite += !finite as u32;
    *nan += v.is_nan() as u32;
    // NaN never compares below or above (nor equals zero), so it leaves
    // the range and the zeros alone; zero adds nothing to the sums.
    let r = if finite { v } else { f32::NAN };
    let x = if finite { v } else { 0.0 };
    add_parts(r, x, s, q, lo, hi, zeros);
}

/// What [`add`] does with an element once it is known what the range and
/// zeros see (`r`) and what the sums see (`x`): for a finite element,
/// both are the element.
#[inline(always)]
fn add_parts(
    r: f32,
    x: f32,
    s: &mut f64,
    q: &mut f64,
    lo: &mut f32,
    hi: &mut f32,
    zeros: &mut u32,
) {
    *lo = if r < *lo { r } else { *lo };
    *hi = if r > *hi { r } else { *hi };
    *zeros += (r == 0.0) as u32;
    let d = x as f64;
    *s += d;
    // A multiply and an add, never fused (the bits are the same: see
    // `add_square`): the loop waits on these two chains, and an add's
    // latency is shorter than a multiply-add's on most cores (2-3 cycles
    // against 4 on AMD's Zen 4 and 5): 0.14 -> 0.11 ns per element in
    // cache on Zen 5. `error_sums`, whose loop is not bound by its
    // chains, was slower unfused.
    *q += d * d;
}

#[cfg(not(target_arch = "wasm32"))]
simd! {
    fn lanes(
        blocks: &[[f32; LANES]],
        sum: &mut [f64; LANES],
        sum_sq: &mut [f64; LANES],
        c: &mut ValueCounts,
    ) {
        // Plain local arrays, not `Lanes`' fields: with the struct, LLVM
        // packed the two ranges into one 16-lane register and moved its
        // halves out and back every block, a chain of about 10 cycles.
        let Lanes {
            mut s,
            mut q,
            mut lo,
            mut hi,
            mut zeros,
            mut nonfinite,
            mut nan,
        } = Lanes::new(sum, sum_sq);
        let counts = (&mut zeros, &mut nonfinite, &mut nan);
        blocks_into(blocks, &mut s, &mut q, &mut lo, &mut hi, counts);
        let l = Lanes {
            s,
            q,
            lo,
            hi,
            zeros,
            nonfinite,
            nan,
        };
        l.finish(sum, sum_sq, c);
    }
}

/// The lane loop's body: a run of blocks whose elements are all finite
/// (the rule in weights) takes [`add_parts`] directly, any other block
/// [`add`]; the sums see the same elements in the same order either way.
/// The finite runs are a loop of their own that holds only their five
/// accumulators: with the other block's counters in the same loop, AVX2's
/// sixteen registers did not hold them all, and a sum of squares went
/// through the stack every block (a store-to-load chain of about ten
/// cycles).
#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
fn blocks_into(
    blocks: &[[f32; LANES]],
    s: &mut [f64; LANES],
    q: &mut [f64; LANES],
    lo: &mut [f32; LANES],
    hi: &mut [f32; LANES],
    (zeros, nonfinite, nan): (&mut [u32; LANES], &mut [u32; LANES], &mut [u32; LANES]),
) {
    let mut rest = blocks;
    while !rest.is_empty() {
        let run = finite_run(rest, s, q, lo, hi, zeros);
        rest = &rest[run..];
        if let Some((b, after)) = rest.split_first() {
            for i in 0..LANES {
                add(
                    b[i],
                    &mut s[i],
                    &mut q[i],
                    &mut lo[i],
                    &mut hi[i],
                    &mut zeros[i],
                    &mut nonfinite[i],
                    &mut nan[i],
                );
            }
            rest = after;
        }
    }
}

/// Adds the leading blocks of `blocks` whose elements are all finite and
/// returns how many there were.
#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
fn finite_run(
    blocks: &[[f32; LANES]],
    s: &mut [f64; LANES],
    q: &mut [f64; LANES],
    lo: &mut [f32; LANES],
    hi: &mut [f32; LANES],
    zeros: &mut [u32; LANES],
) -> usize {
    let (mut s2, mut q2, mut lo2, mut hi2, mut z2) = (*s, *q, *lo, *hi, *zeros);
    let mut run = 0;
    for b in blocks {
        let finite = b
            .iter()
            .fold(true, |all, v| all & (v.abs() < f32::INFINITY));
        if !finite {
            break;
        }
        for i in 0..LANES {
            add_parts(
                b[i],
                b[i],
                &mut s2[i],
                &mut q2[i],
                &mut lo2[i],
                &mut hi2[i],
                &mut z2[i],
            );
        }
        run += 1;
    }
    (*s, *q, *lo, *hi, *zeros) = (s2, q2, lo2, hi2, z2);
    run
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::quant::kernels::reference;
    use crate::quant::kernels::testing::awkward_vec;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn lanes_equal_the_element_by_element_definition(xs in awkward_vec()) {
            let (mut sum, mut sum_sq) = ([0f64; LANES], [0f64; LANES]);
            let c = values(&xs, &mut sum, &mut sum_sq);
            let (want, wsum, wsq) = reference::values(&xs);
            // == on min and max: ±0 are one value (either may be kept).
            prop_assert_eq!(c, want);
            prop_assert_eq!(sum.map(f64::to_bits), wsum.map(f64::to_bits));
            prop_assert_eq!(sum_sq.map(f64::to_bits), wsq.map(f64::to_bits));
        }
    }
}
