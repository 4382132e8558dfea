//! Streaming statistics with f64 accumulators: value statistics of any
//! float tensor, and error statistics of a quantized one.

use crate::quant::kernels::{self, Bands, ErrorLanes, LANES};

pub use crate::quant::histogram::{LogHistogram, QUANTILES};

/// Value statistics of a float tensor, from one streaming pass.
#[derive(Debug, Clone)]
pub struct ValueStats {
    /// Elements seen.
    pub count: u64,
    /// NaN elements.
    pub nan: u64,
    /// ±Inf elements.
    pub inf: u64,
    /// Exactly-zero elements.
    pub zeros: u64,
    /// Smallest finite value (+inf if none).
    pub min: f32,
    /// Largest finite value (-inf if none).
    pub max: f32,
    sum: [f64; LANES],
    sum_sq: [f64; LANES],
}

impl Default for ValueStats {
    fn default() -> Self {
        ValueStats {
            count: 0,
            nan: 0,
            inf: 0,
            zeros: 0,
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            sum: [0.0; LANES],
            sum_sq: [0.0; LANES],
        }
    }
}

impl ValueStats {
    /// Adds a chunk of values.
    pub fn push(&mut self, xs: &[f32]) {
        self.count += xs.len() as u64;
        let c = kernels::values(xs, &mut self.sum, &mut self.sum_sq);
        self.nan += c.nan;
        self.inf += c.inf;
        self.zeros += c.zeros;
        self.min = self.min.min(c.min);
        self.max = self.max.max(c.max);
    }

    /// Number of finite elements.
    pub fn finite(&self) -> u64 {
        self.count - self.nan - self.inf
    }

    /// Largest finite magnitude (0 if none).
    pub fn max_abs(&self) -> f32 {
        if self.finite() == 0 {
            0.0
        } else {
            self.min.abs().max(self.max.abs())
        }
    }

    /// Mean of the finite elements.
    pub fn mean(&self) -> Option<f64> {
        let n = self.finite();
        (n > 0).then(|| self.sum.iter().sum::<f64>() / n as f64)
    }

    /// Population standard deviation of the finite elements.
    pub fn std(&self) -> Option<f64> {
        let n = self.finite() as f64;
        let mean = self.mean()?;
        let var = (self.sum_sq.iter().sum::<f64>() / n - mean * mean).max(0.0);
        Some(var.sqrt())
    }

    /// Sum of squares of the finite elements.
    pub fn sum_sq(&self) -> f64 {
        self.sum_sq.iter().sum()
    }
}

/// Error statistics of a quantized tensor: original `w` against
/// dequantized `d`, accumulated in f64.
#[derive(Debug, Clone, Default)]
pub struct ErrorStats {
    /// Elements seen.
    pub count: u64,
    sums: ErrorLanes,
    /// Nonzero originals that dequantize to exactly zero.
    pub rounded_to_zero: u64,
    /// Elements whose code fell outside the representable range.
    pub clipped: u64,
    /// |w - d| histogram, for quantiles.
    pub hist: LogHistogram,
}

impl ErrorStats {
    /// Empty statistics whose histogram counts only `bands` bucket by
    /// bucket ([`LogHistogram::banded`]).
    pub fn banded(bands: Bands) -> Self {
        ErrorStats {
            hist: LogHistogram::banded(bands),
            ..Default::default()
        }
    }

    /// Whether [`ErrorStats::metrics`] knows every quantile it reports.
    pub fn knows_quantiles(&self) -> bool {
        QUANTILES.iter().all(|&q| self.hist.knows(q))
    }

    /// Adds a chunk of originals and their dequantized values; `err` is
    /// scratch space of the same length (its bytes hold the errors'
    /// histogram buckets on the way).
    pub fn push(&mut self, w: &[f32], d: &[f32], err: &mut [f32]) {
        self.count += w.len() as u64;
        let buckets = buckets_in(err, w.len());
        self.rounded_to_zero += kernels::error_sums(w, d, buckets, &mut self.sums);
        self.hist.push_buckets(buckets);
    }

    /// [`ErrorStats::push`] for `w` quantized to int8 codes, row by row
    /// (rows of `cols` elements, each with the scale `scale(row)` gives),
    /// without the dequantized values: their sums come straight from the
    /// codes ([`kernels::int8_error_sums`], whose Σd² leaves out each
    /// dequantized value's f32 rounding). Returns the number of clipped
    /// codes; `err` is scratch space as for [`ErrorStats::push`].
    pub fn push_int8(
        &mut self,
        w: &[f32],
        cols: usize,
        mut scale: impl FnMut(&[f32]) -> f32,
        err: &mut [f32],
    ) -> u64 {
        self.count += w.len() as u64;
        let buckets = buckets_in(err, w.len());
        let mut clipped = 0;
        for (row, b) in w.chunks(cols.max(1)).zip(buckets.chunks_mut(cols.max(1))) {
            let c = kernels::int8_error_sums(row, scale(row), b, &mut self.sums);
            clipped += c.clipped;
            self.rounded_to_zero += c.zeros;
        }
        self.hist.push_buckets(buckets);
        clipped
    }

    /// The finished metrics (of a banded histogram, only if it
    /// [knows its quantiles](ErrorStats::knows_quantiles)). `value` holds the statistics of the same
    /// originals, all finite: its Σw² (not summed again here, which saves
    /// an f64 multiply-add per element) and its std, for the outlier ratio.
    pub fn metrics(&self, value: &ValueStats) -> ErrorMetrics {
        debug_assert_eq!(
            value.count, self.count,
            "error and value statistics of other elements"
        );
        debug_assert!(self.knows_quantiles(), "quantiles outside the bands");
        let n = self.count.max(1) as f64;
        let w2 = value.sum_sq();
        let e2: f64 = self.sums.e2.iter().sum();
        let d2: f64 = self.sums.d2.iter().sum();
        // Σw·d from the three sums kept (2·w·d = w² + d² − (w − d)²): one
        // accumulator fewer per element. Its rounding moves the cosine by
        // about 2^-53·(|w|/|d| + |d|/|w|)/2: negligible unless one norm is
        // over a million times the other.
        let wd = (w2 + d2 - e2) / 2.0;
        let mse = e2 / n;
        let cosine = if w2 == 0.0 && d2 == 0.0 {
            1.0
        } else if w2 == 0.0 || d2 == 0.0 {
            0.0
        } else {
            wd / (w2.sqrt() * d2.sqrt())
        };
        ErrorMetrics {
            mse,
            rmse: mse.sqrt(),
            rel_error: if w2 == 0.0 {
                if e2 == 0.0 {
                    0.0
                } else {
                    1.0
                }
            } else {
                (e2 / w2).sqrt()
            },
            max_abs_error: self.sums.max_abs.iter().fold(0.0f64, |a, &b| a.max(b)),
            sqnr_db: (e2 > 0.0 && w2 > 0.0).then(|| 10.0 * (w2 / e2).log10()),
            cosine,
            zero_frac: self.rounded_to_zero as f64 / n,
            clip_frac: self.clipped as f64 / n,
            outlier_ratio: value
                .std()
                .filter(|&s| s > 0.0)
                .map(|s| value.max_abs() as f64 / s),
            err_p50: self.hist.quantile(QUANTILES[0]).unwrap_or(0.0),
            err_p99: self.hist.quantile(QUANTILES[1]).unwrap_or(0.0),
        }
    }
}

/// The error metrics of one quantized tensor (definitions in README).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorMetrics {
    /// Mean squared error.
    pub mse: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// ‖w − w'‖ / ‖w‖.
    pub rel_error: f64,
    /// max |w − w'|.
    pub max_abs_error: f64,
    /// 10·log10(‖w‖² / ‖w − w'‖²); `None` when the error is zero.
    pub sqnr_db: Option<f64>,
    /// Cosine similarity of w and w'.
    pub cosine: f64,
    /// Share of nonzero weights that dequantize to zero.
    pub zero_frac: f64,
    /// Share of weights whose code was clipped.
    pub clip_frac: f64,
    /// max|w| / std(w); `None` for a constant tensor.
    pub outlier_ratio: Option<f64>,
    /// Median |w − w'|, from the histogram.
    pub err_p50: f64,
    /// 99th percentile of |w − w'|, from the histogram.
    pub err_p99: f64,
}

/// The first `n` f32 of `err` as `n` histogram buckets (u16).
fn buckets_in(err: &mut [f32], n: usize) -> &mut [u16] {
    let err = &mut err[..n];
    // SAFETY: u16 has no invalid bit patterns and an alignment (2) no
    // larger than f32's; the view covers the first half of `err`'s bytes,
    // and borrows `err` mutably for as long as it lives.
    unsafe { std::slice::from_raw_parts_mut(err.as_mut_ptr().cast::<u16>(), n) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_stats_match_direct_computation() {
        let xs: Vec<f32> = (0..1003)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let mut s = ValueStats::default();
        s.push(&xs[..500]);
        s.push(&xs[500..]);
        let n = xs.len() as f64;
        let mean: f64 = xs.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var: f64 = xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        assert!((s.mean().unwrap() - mean).abs() < 1e-12);
        assert!((s.std().unwrap() - var.sqrt()).abs() < 1e-9);
        assert_eq!(s.max, 50.0 / 7.0);
        assert_eq!(s.min, -50.0 / 7.0);
    }

    #[test]
    fn non_finite_values_are_counted_not_summed() {
        let mut s = ValueStats::default();
        s.push(&[
            1.0,
            f32::NAN,
            f32::INFINITY,
            -1.0,
            0.0,
            0.0,
            0.0,
            0.0,
            f32::NEG_INFINITY,
        ]);
        assert_eq!((s.nan, s.inf, s.zeros), (1, 2, 4));
        assert_eq!(s.mean(), Some(0.0));
        assert_eq!((s.min, s.max), (-1.0, 1.0));
    }

    #[test]
    fn error_metrics_of_a_known_pair() {
        let w = [3.0f32, 4.0, 0.0, 1.0];
        let d = [3.0f32, 3.0, 0.0, 0.0];
        let mut e = ErrorStats::default();
        let mut scratch = [0f32; 4];
        e.push(&w, &d, &mut scratch);
        let mut v = ValueStats::default();
        v.push(&w);
        let m = e.metrics(&v);
        assert_eq!(m.mse, 0.5);
        assert_eq!(m.max_abs_error, 1.0);
        assert!((m.rel_error - (2.0f64 / 26.0).sqrt()).abs() < 1e-15);
        assert_eq!(m.zero_frac, 0.25);
        assert!((m.sqnr_db.unwrap() - 10.0 * 13f64.log10()).abs() < 1e-12);
        assert!((m.cosine - 21.0 / (26f64.sqrt() * 18f64.sqrt())).abs() < 1e-15);
    }
}
