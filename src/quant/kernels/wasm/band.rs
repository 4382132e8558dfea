//! [`crate::quant::kernels::band_count`] in `simd128`: eight indices per
//! register. wasm has no compress instruction; an index mask of eight
//! bits picks, from a table of 256 byte shuffles ([`COMPRESS`]), the one
//! that moves the kept lanes to the front (`i8x16.swizzle`).

use super::super::band::{Bands, COMPRESS};
use super::super::hist::{hist_count, HistTable, HIST_BUCKETS, HIST_TABLES};
use core::arch::wasm32::*;

/// Indices gathered before they are counted: the buffer stays in L1.
const PIECE: usize = 2048;

/// The band counter eight indices at a time: two compares per band give
/// the in-band lanes, which are packed into a buffer and counted from
/// there; returns how many fall below each band.
pub(in crate::quant::kernels) fn band_count(
    tables: &mut [HistTable; HIST_TABLES],
    idx: &[u16],
    bands: &Bands,
) -> [u64; 2] {
    let mask = u16x8_splat((HIST_BUCKETS - 1) as u16);
    let (lo0, lo1) = (u16x8_splat(bands.lo[0]), u16x8_splat(bands.lo[1]));
    let w0 = u16x8_splat(bands.hi[0] - bands.lo[0]);
    let w1 = u16x8_splat(bands.hi[1] - bands.lo[1]);
    let mut below = [0u64; 2];
    // 8 spare slots: every block stores 8 lanes whatever it keeps, at
    // n ≤ 8 × the blocks before it in the piece.
    let mut buf = [0u16; PIECE + 8];
    let (blocks, tail) = idx.as_chunks::<8>();
    for piece in blocks.chunks(PIECE / 8) {
        // Per-lane counts of at most PIECE / 8 blocks fit a u16.
        let (mut c0, mut c1) = (u16x8_splat(0), u16x8_splat(0));
        let mut n = 0usize;
        for block in piece {
            // SAFETY: `block` is 16 readable bytes; v128.load takes any
            // alignment.
            let v = v128_and(unsafe { v128_load(block.as_ptr().cast()) }, mask);
            // A true lane is all ones: −1 as an integer.
            c0 = i16x8_sub(c0, u16x8_lt(v, lo0));
            c1 = i16x8_sub(c1, u16x8_lt(v, lo1));
            // Unsigned `b - lo <= hi - lo`: one compare per band.
            let keep = v128_or(
                u16x8_le(i16x8_sub(v, lo0), w0),
                u16x8_le(i16x8_sub(v, lo1), w1),
            );
            let m = i16x8_bitmask(keep) as usize;
            // SAFETY: COMPRESS[m] is 16 readable bytes.
            let packed = i8x16_swizzle(v, unsafe { v128_load(COMPRESS[m].as_ptr().cast()) });
            // SAFETY: n ≤ PIECE, and buf has 8 slots past PIECE.
            unsafe { v128_store(buf.as_mut_ptr().add(n).cast(), packed) };
            n += m.count_ones() as usize;
        }
        below[0] += lane_sum(c0);
        below[1] += lane_sum(c1);
        hist_count(tables, &buf[..n]);
    }
    let t = super::super::band::band_count_scalar(tables, tail, bands);
    [below[0] + t[0], below[1] + t[1]]
}

/// The sum of a register's u16 lanes.
fn lane_sum(c: v128) -> u64 {
    let p = u32x4_extadd_pairwise_u16x8(c);
    [
        u32x4_extract_lane::<0>(p),
        u32x4_extract_lane::<1>(p),
        u32x4_extract_lane::<2>(p),
        u32x4_extract_lane::<3>(p),
    ]
    .map(u64::from)
    .iter()
    .sum()
}
