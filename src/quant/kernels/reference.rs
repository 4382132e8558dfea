//! The kernels' definitions, one element at a time: what every lane loop
//! (plain, AVX-512, AVX2, NEON, `simd128`) must reproduce to the bit. The
//! native proptests and the wasm tests (`tests/wasm_kernels.rs`) check
//! the kernels against these; nothing else calls them.

use super::{
    Bands, ErrorLanes, HistTable, Int8Counts, ValueCounts, HIST_BUCKETS, HIST_TABLES, LANES,
};
use crate::quant::scheme;

/// [`super::values`] of `xs` from empty sums: the counts, then the lane
/// sums of the finite values and of their squares.
pub fn values(xs: &[f32]) -> (ValueCounts, [f64; LANES], [f64; LANES]) {
    let (mut sum, mut sum_sq) = ([0f64; LANES], [0f64; LANES]);
    let mut c = ValueCounts::EMPTY;
    let whole = xs.len() - xs.len() % LANES;
    for (k, &x) in xs.iter().enumerate() {
        c.nan += x.is_nan() as u64;
        c.inf += x.is_infinite() as u64;
        c.zeros += (x == 0.0) as u64;
        if x.is_finite() {
            c.min = c.min.min(x);
            c.max = c.max.max(x);
            let lane = if k < whole { k % LANES } else { 0 };
            sum[lane] += x as f64;
            sum_sq[lane] += x as f64 * x as f64;
        }
    }
    (c, sum, sum_sq)
}

/// [`super::error_sums`] of `w` against `d` from empty sums: the squares
/// of the f32 errors in f64, or, if any f32 error overflowed, the f64
/// errors'; and how many nonzero originals dequantized to zero.
pub fn error_sums(w: &[f32], d: &[f32]) -> (ErrorLanes, u64) {
    let mut want = ErrorLanes::default();
    let mut zeros = 0;
    let whole = w.len() - w.len() % LANES;
    let overflowed = w.iter().zip(d).any(|(a, b)| (a - b).is_infinite());
    for k in 0..w.len() {
        let lane = if k < whole { k % LANES } else { 0 };
        zeros += (d[k] == 0.0 && w[k] != 0.0) as u64;
        want.d2[lane] += d[k] as f64 * d[k] as f64;
        let e = if overflowed {
            w[k] as f64 - d[k] as f64
        } else {
            (w[k] - d[k]) as f64
        };
        want.e2[lane] += e * e;
        want.max_abs[lane] = want.max_abs[lane].max(e.abs());
    }
    (want, zeros)
}

/// [`super::int8_error_sums`] of `w` with `scale` from empty sums: each
/// value's int8 code `c` ([`scheme::int8_code`]) and error `w − c·scale`
/// in f32; the squares of the errors in f64, even and odd blocks in two
/// chains per lane, then the elements past the last whole block; Σd² as
/// `scale²·Σc²` (each lane's Σc² an exact integer); the clipped codes and
/// the nonzero originals dequantized to zero.
pub fn int8_error_sums(w: &[f32], scale: f32) -> (ErrorLanes, Int8Counts) {
    let mut want = ErrorLanes::default();
    let mut chains = [[0f64; LANES]; 2];
    let mut c2 = [0f64; LANES];
    let mut counts = Int8Counts::default();
    let whole = w.len() - w.len() % LANES;
    for (k, &x) in w[..whole].iter().enumerate() {
        let e = (x - scheme::int8_code(x, scale).0 * scale) as f64;
        chains[k / LANES % 2][k % LANES] += e * e;
    }
    for (e2, (a, b)) in want.e2.iter_mut().zip(chains[0].iter().zip(chains[1])) {
        *e2 = a + b;
    }
    for (k, &x) in w.iter().enumerate() {
        let lane = if k < whole { k % LANES } else { 0 };
        let (c, clipped) = scheme::int8_code(x, scale);
        let d = c * scale;
        let e = (x - d) as f64;
        if k >= whole {
            want.e2[0] += e * e;
        }
        want.max_abs[lane] = want.max_abs[lane].max(e.abs());
        c2[lane] += c as f64 * c as f64;
        counts.clipped += clipped as u64;
        counts.zeros += (d == 0.0 && x != 0.0) as u64;
    }
    want.d2 = c2.map(|s| s * (scale as f64 * scale as f64));
    (want, counts)
}

/// The histogram bucket of an error: the top 16 bits of its |f32|
/// pattern (any NaN may land in any bucket past +Inf's).
pub fn bucket_holds(bucket: u16, e: f32) -> bool {
    bucket as u32 == e.abs().to_bits() >> 16 || (e.is_nan() && bucket > 0x7f80)
}

/// [`super::band_count`] of `idx` into empty tables: each bucket's count
/// (the tables summed), counted only inside a band, and how many indices
/// fall below each band.
pub fn band_count(idx: &[u16], bands: &Bands) -> (Vec<u64>, [u64; 2]) {
    let mut counts = vec![0u64; HIST_BUCKETS];
    let mut below = [0u64; 2];
    for &b in idx {
        let b = b & (HIST_BUCKETS - 1) as u16;
        for (k, below) in below.iter_mut().enumerate() {
            *below += (b < bands.lo[k]) as u64;
        }
        let inside = |k: usize| bands.lo[k] <= b && b <= bands.hi[k];
        if inside(0) || inside(1) {
            counts[b as usize] += 1;
        }
    }
    (counts, below)
}

/// Each bucket's count in `tables`, summed across them.
pub fn summed(tables: &[HistTable; HIST_TABLES]) -> Vec<u64> {
    (0..HIST_BUCKETS)
        .map(|b| tables.iter().map(|t| t[b] as u64).sum())
        .collect()
}
