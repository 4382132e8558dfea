//! Counting |x| into buckets keyed by the top 16 bits of its f32 pattern.

use super::simd;

/// Buckets per table: every non-negative f32 pattern's top 16 bits.
pub const HIST_BUCKETS: usize = 1 << 15;

/// Interleaved tables: neighbouring values often share a bucket, and
/// four tables keep those increments from waiting on each other.
pub const HIST_TABLES: usize = 4;

/// The bucket of |x|; NaN patterns land above the last finite bucket and
/// are clamped into it.
#[inline(always)]
fn bucket(x: f32) -> usize {
    ((x.abs().to_bits() >> 16) as usize).min(HIST_BUCKETS - 1)
}

/// Counts |x| for each x of `xs` into `counts`, [`HIST_TABLES`] tables of
/// [`HIST_BUCKETS`] one after the other: element `k` of each group of
/// four goes to table `k`, the elements past the last whole group to
/// table 0.
pub fn hist_push(counts: &mut [u64], xs: &[f32]) {
    assert_eq!(
        counts.len(),
        HIST_BUCKETS * HIST_TABLES,
        "hist_push: table size"
    );
    push(counts, xs)
}

simd! {
    fn push(counts: &mut [u64], xs: &[f32]) {
        let (t0, rest) = counts.split_at_mut(HIST_BUCKETS);
        let (t1, rest) = rest.split_at_mut(HIST_BUCKETS);
        let (t2, t3) = rest.split_at_mut(HIST_BUCKETS);
        let (quads, tail) = xs.as_chunks::<HIST_TABLES>();
        for q in quads {
            t0[bucket(q[0])] += 1;
            t1[bucket(q[1])] += 1;
            t2[bucket(q[2])] += 1;
            t3[bucket(q[3])] += 1;
        }
        for &x in tail {
            t0[bucket(x)] += 1;
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::quant::kernels::testing::awkward_vec;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn counts_equal_the_element_by_element_definition(xs in awkward_vec()) {
            let mut counts = vec![0u64; HIST_BUCKETS * HIST_TABLES];
            hist_push(&mut counts, &xs);
            let mut want = vec![0u64; HIST_BUCKETS * HIST_TABLES];
            let whole = xs.len() - xs.len() % HIST_TABLES;
            for (k, x) in xs.iter().enumerate() {
                let table = if k < whole { k % HIST_TABLES } else { 0 };
                let b = ((x.abs().to_bits() >> 16) as usize).min(HIST_BUCKETS - 1);
                want[table * HIST_BUCKETS + b] += 1;
            }
            prop_assert!(counts == want);
        }
    }
}
