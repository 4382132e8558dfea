//! [`crate::quant::kernels::band_count`] in AVX2: sixteen indices per
//! register. AVX2 has no compress instruction; each half's mask of eight
//! lanes picks its byte shuffle from [`COMPRESS`] (`pshufb`), as the wasm
//! build does.

use super::super::band::{band_count_scalar, Bands, COMPRESS};
use super::super::hist::{hist_count, HistTable, HIST_BUCKETS, HIST_TABLES};
use std::arch::x86_64::*;

/// Indices gathered before they are counted: the buffer stays in L1.
const PIECE: usize = 2048;

/// Whether this machine runs [`band_count`]: it has AVX2.
pub(in crate::quant::kernels) fn band_count_runs() -> bool {
    is_x86_feature_detected!("avx2")
}

/// The band counter sixteen indices at a time: two compares per band
/// give the in-band lanes, which are packed into a buffer and counted
/// from there; returns how many fall below each band.
///
/// # Safety
/// The CPU must have AVX2 ([`band_count_runs`]).
#[target_feature(enable = "avx2")]
pub(in crate::quant::kernels) unsafe fn band_count(
    tables: &mut [HistTable; HIST_TABLES],
    idx: &[u16],
    bands: &Bands,
) -> [u64; 2] {
    // Masked indices and band edges are below 2^15, so the signed 16-bit
    // compare is the unsigned one.
    let mask = _mm256_set1_epi16((HIST_BUCKETS - 1) as i16);
    let (lo0, lo1) = (
        _mm256_set1_epi16(bands.lo[0] as i16),
        _mm256_set1_epi16(bands.lo[1] as i16),
    );
    let w0 = _mm256_set1_epi16((bands.hi[0] - bands.lo[0]) as i16);
    let w1 = _mm256_set1_epi16((bands.hi[1] - bands.lo[1]) as i16);
    // Unsigned `b - lo <= w`: the minimum of the two is the difference.
    let within = |v: __m256i, lo: __m256i, w: __m256i| {
        let d = _mm256_sub_epi16(v, lo);
        _mm256_cmpeq_epi16(_mm256_min_epu16(d, w), d)
    };
    let mut below = [0u64; 2];
    // 8 spare slots: every half stores 8 lanes whatever it keeps, at
    // n ≤ 16 × the blocks before it in the piece (+ 8 for the second).
    let mut buf = [0u16; PIECE + 8];
    let (blocks, tail) = idx.as_chunks::<16>();
    for piece in blocks.chunks(PIECE / 16) {
        // Per-lane counts of at most PIECE / 16 blocks fit an i16.
        let (mut c0, mut c1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        let mut n = 0usize;
        for block in piece {
            // SAFETY: `block` is 32 readable bytes; loadu takes any address.
            let v = _mm256_and_si256(unsafe { _mm256_loadu_si256(block.as_ptr().cast()) }, mask);
            // A true lane is all ones: −1 as an integer.
            c0 = _mm256_sub_epi16(c0, _mm256_cmpgt_epi16(lo0, v));
            c1 = _mm256_sub_epi16(c1, _mm256_cmpgt_epi16(lo1, v));
            let keep = _mm256_or_si256(within(v, lo0, w0), within(v, lo1, w1));
            // One byte per lane: bits 0–7 are lanes 0–7, bits 16–23 lanes 8–15.
            let bits =
                _mm256_movemask_epi8(_mm256_packs_epi16(keep, _mm256_setzero_si256())) as u32;
            for (half, m) in [
                (_mm256_castsi256_si128(v), bits & 0xff),
                (_mm256_extracti128_si256::<1>(v), (bits >> 16) & 0xff),
            ] {
                // SAFETY: COMPRESS[m] is 16 readable bytes; n ≤ PIECE,
                // and buf has 8 slots past PIECE.
                unsafe {
                    let shuffle = _mm_loadu_si128(COMPRESS[m as usize].as_ptr().cast());
                    let packed = _mm_shuffle_epi8(half, shuffle);
                    _mm_storeu_si128(buf.as_mut_ptr().add(n).cast(), packed);
                }
                n += m.count_ones() as usize;
            }
        }
        below[0] += lane_sum(c0);
        below[1] += lane_sum(c1);
        hist_count(tables, &buf[..n]);
    }
    let t = band_count_scalar(tables, tail, bands);
    [below[0] + t[0], below[1] + t[1]]
}

/// The sum of a register's i16 lanes (each in 0..=PIECE / 16).
#[target_feature(enable = "avx2")]
fn lane_sum(c: __m256i) -> u64 {
    let pairs = _mm256_madd_epi16(c, _mm256_set1_epi16(1));
    let mut out = [0i32; 8];
    // SAFETY: `out` is 32 writable bytes.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), pairs) };
    out.iter().map(|&x| x as u64).sum()
}
