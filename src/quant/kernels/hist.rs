//! Counting |x| into buckets keyed by the top 16 bits of its f32 pattern.
//! The bucket indices are computed in lanes where the values are made
//! ([`super::error_sums`] writes them beside the error sums); counting
//! them is the scalar scatter here.

use super::simd;

/// Buckets: every non-negative f32 pattern's top 16 bits.
pub const HIST_BUCKETS: usize = 1 << 15;

/// Tables of counters: neighbouring values often share a bucket, and
/// four tables (element `k` of each group of four to table `k`) keep
/// those increments from waiting on each other. One table after the
/// other (a bucket's four counters side by side measured 1.7× slower).
pub const HIST_TABLES: usize = 4;

/// One table of counters.
pub type HistTable = [u32; HIST_BUCKETS];

/// The bucket of |x|. The sign bit cleared, the top 16 bits are at most
/// `0x7fff`: every pattern, NaN included, has a bucket.
#[inline(always)]
pub fn bucket(x: f32) -> u16 {
    (x.abs().to_bits() >> 16) as u16
}

/// Counts bucket indices `idx` (each below [`HIST_BUCKETS`]; higher bits
/// are ignored) into `tables`: element `k` of each group of four to
/// table `k`, the elements past the last whole group to table 0.
/// Returns the smallest nonzero index counted (`u16::MAX` for none) and
/// the largest index counted (0 for none). Bucket 0 (an exact zero) is
/// left out of the first: it is usually counted (an int8 tensor's largest
/// weight tends to dequantize exactly) while the next bucket used is
/// thousands higher, and the callers walk and clear the range between.
/// The caller keeps the counters from overflowing: at most `u32::MAX`
/// indices between resets.
pub fn hist_count(tables: &mut [HistTable; HIST_TABLES], idx: &[u16]) -> (u16, u16) {
    const MASK: u16 = (HIST_BUCKETS - 1) as u16;
    let [t0, t1, t2, t3] = tables;
    let (groups, tail) = idx.as_chunks::<HIST_TABLES>();
    for g in groups {
        t0[(g[0] & MASK) as usize] += 1;
        t1[(g[1] & MASK) as usize] += 1;
        t2[(g[2] & MASK) as usize] += 1;
        t3[(g[3] & MASK) as usize] += 1;
    }
    for &b in tail {
        t0[(b & MASK) as usize] += 1;
    }
    span(idx)
}

/// Lanes of the span: 32 u16 fill an AVX-512 register.
const SPAN_LANES: usize = 32;

simd! {
    fn span(idx: &[u16]) -> (u16, u16) {
        let m = (HIST_BUCKETS - 1) as u16;
        let (blocks, tail) = idx.as_chunks::<SPAN_LANES>();
        // The smallest of index − 1, wrapping: 0 becomes the largest.
        let (mut lo, mut hi) = ([u16::MAX; SPAN_LANES], [0u16; SPAN_LANES]);
        for b in blocks {
            for i in 0..SPAN_LANES {
                lo[i] = lo[i].min((b[i] & m).wrapping_sub(1));
                hi[i] = hi[i].max(b[i] & m);
            }
        }
        let lo = tail
            .iter()
            .map(|&b| (b & m).wrapping_sub(1))
            .chain(lo)
            .fold(u16::MAX, u16::min);
        let hi = tail.iter().map(|&b| b & m).chain(hi).fold(0, u16::max);
        (if lo == u16::MAX { lo } else { lo + 1 }, hi)
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
            let idx: Vec<u16> = xs.iter().map(|&x| bucket(x)).collect();
            let mut counts: Box<[HistTable; HIST_TABLES]> =
                vec![[0u32; HIST_BUCKETS]; HIST_TABLES].into_boxed_slice().try_into().unwrap();
            let (lo, hi) = hist_count(&mut counts, &idx);
            let mut want = vec![[0u32; HIST_BUCKETS]; HIST_TABLES];
            let (mut wlo, mut whi) = (u16::MAX, 0u16);
            let whole = xs.len() - xs.len() % HIST_TABLES;
            for (k, x) in xs.iter().enumerate() {
                let table = if k < whole { k % HIST_TABLES } else { 0 };
                // The definition: the top 16 bits of |x|'s pattern.
                let b = ((x.abs().to_bits() >> 16) as usize).min(HIST_BUCKETS - 1);
                want[table][b] += 1;
                if b != 0 {
                    wlo = wlo.min(b as u16);
                }
                whi = whi.max(b as u16);
            }
            prop_assert!(counts[..] == want[..]);
            prop_assert_eq!((lo, hi), (wlo, whi));
        }
    }
}
