//! Bands for the |error| histogram of a tensor's quantize pass, chosen
//! from a sample of its rows: counting only the buckets around p50 and
//! p99 ([`LogHistogram::banded`](crate::quant::stats::LogHistogram::banded))
//! leaves most of the scatter out, and gives the same quantiles whenever
//! they fall inside the bands (the caller counts again otherwise).

use super::QuantizePass;
use crate::quant::kernels::{self, Bands};
use crate::quant::scheme::Scheme;
use crate::quant::stats::{ErrorStats, QUANTILES};
use crate::Error;

use super::stream::Scratch;

/// Smallest tensor given bands: below it, the sample would cost more
/// than the scatter it saves.
const MIN_ELEMS: u64 = 1 << 18;

/// Fewest rows sampled.
const MIN_ROWS: u64 = 16;

/// One row in this many is sampled (above [`MIN_ROWS`]), spread evenly
/// over the tensor, so that the sample holds as many rows as it can.
const ONE_ROW_IN: u64 = 64;

/// Bands around the quantiles of the |error| of `pass`, from the same
/// pass over a sample of its rows; `None` where bands do not pay: a small tensor, fewer rows than [`MIN_ROWS`], a machine without
/// the lanes [`kernels::band_count`] needs, or `int8-channel`, whose
/// errors cluster by row (each row has its own scale, so the tensor's
/// quantiles hang on the scales of the rows left out: a sample of 16
/// rows of bert-large's 1024 misled the bands on most tensors).
pub(super) fn sample_bands(pass: &QuantizePass, s: &mut Scratch) -> Result<Option<Bands>, Error> {
    let rows = pass.row_count();
    if pass.t.numel < MIN_ELEMS
        || rows < MIN_ROWS
        || pass.scheme == Scheme::Int8Channel
        || !kernels::bands_are_fast()
    {
        return Ok(None);
    }
    let sampled = (rows / ONE_ROW_IN).max(MIN_ROWS);
    let mut sample = ErrorStats::default();
    for k in 0..sampled {
        let row = k * rows / sampled;
        pass.errors(row..row + 1, s, &mut sample)?;
    }
    Ok(sample.hist.bands_around(QUANTILES))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::testing::{f32_file, model};
    use crate::quant::analyze::{analyze_tensor, scan};

    /// 512 rows of 1024: rows that are multiples of 32 (the 16 sampled
    /// ones) from `sampled(i)`, the others from `rest(i)`.
    fn tensor(sampled: impl Fn(usize) -> f32, rest: impl Fn(usize) -> f32) -> Vec<f32> {
        (0..512 * 1024)
            .map(|i| {
                if (i / 1024) % 32 == 0 {
                    sampled(i)
                } else {
                    rest(i)
                }
            })
            .collect()
    }

    fn noise(i: usize) -> f32 {
        ((i as u32).wrapping_mul(2_654_435_761) >> 8) as f32 / (1 << 24) as f32 - 0.5
    }

    /// The analysis's error metrics, and the same pass's with every
    /// bucket counted; and whether the sample gave bands.
    fn banded_and_full(w: &[f32], scheme: Scheme) -> (ErrorMetricsPair, bool) {
        let m = model(f32_file(&[("w", &[512, 1024], w)]));
        let (shard, t) = m.tensor(0).unwrap();
        let src = shard.source.as_ref();
        let mut s = Scratch::default();
        let got = analyze_tensor(src, "m", t, true, scheme, &mut s).unwrap();
        let values = scan(src, "m", t, &mut s).unwrap();
        let pass = QuantizePass::new(src, "m", t, None, scheme, &values);
        let mut full = ErrorStats::default();
        full.clipped = pass.errors(0..pass.row_count(), &mut s, &mut full).unwrap();
        let banded = sample_bands(&pass, &mut s).unwrap().is_some();
        ((got.errors.unwrap(), full.metrics(&values)), banded)
    }

    type ErrorMetricsPair = (
        crate::quant::stats::ErrorMetrics,
        crate::quant::stats::ErrorMetrics,
    );

    #[test]
    fn banded_metrics_equal_the_fully_counted_ones() {
        let w = tensor(noise, noise);
        for (scheme, bands) in [
            (Scheme::Int8Tensor, true),
            (Scheme::Int8Channel, false),
            (
                Scheme::Affine {
                    bits: 4,
                    group_size: 64,
                },
                true,
            ),
        ] {
            let ((got, full), banded) = banded_and_full(&w, scheme);
            assert_eq!(banded, bands && kernels::bands_are_fast(), "{scheme:?}");
            assert_eq!(got, full, "{scheme:?}");
            assert!(got.err_p50 > 0.0 && got.err_p99 > got.err_p50, "{got:?}");
        }
    }

    #[test]
    fn a_misleading_sample_falls_back_to_every_bucket() {
        // The sampled rows sit on the int8 grid (error 0), the rest do not:
        // the bands hug bucket 0 while the quantiles are far above it.
        let grid = |i: usize| ((i % 255) as f32 - 127.0) / 127.0;
        let w = tensor(grid, noise);
        let ((got, full), banded) = banded_and_full(&w, Scheme::Int8Tensor);
        assert!(banded || !kernels::bands_are_fast());
        assert_eq!(got, full);
        assert!(got.err_p50 > 1e-4, "{got:?}");
    }
}
