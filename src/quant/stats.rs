//! Streaming statistics with f64 accumulators: value statistics of any
//! float tensor, and error statistics of a quantized one.

/// Lanes of independent accumulators, so the compiler can vectorise sums
/// (a single f64 sum is a serial dependency chain).
const LANES: usize = 8;

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
        let all_finite = xs.iter().fold(true, |a, x| a & x.is_finite());
        if !all_finite {
            for &x in xs {
                if x.is_nan() {
                    self.nan += 1;
                } else if x.is_infinite() {
                    self.inf += 1;
                }
            }
        }
        let mut lo = [f32::INFINITY; LANES];
        let mut hi = [f32::NEG_INFINITY; LANES];
        let mut zeros = [0u32; LANES];
        let (mut sum, mut sum_sq) = (self.sum, self.sum_sq);
        let mut blocks = xs.chunks_exact(LANES);
        for b in &mut blocks {
            for i in 0..LANES {
                // Non-finite values were counted above and are kept out of
                // the sums (and, being masked to 0, out of min and max).
                let x = if all_finite || b[i].is_finite() {
                    b[i]
                } else {
                    0.0
                };
                lo[i] = if x < lo[i] { x } else { lo[i] };
                hi[i] = if x > hi[i] { x } else { hi[i] };
                zeros[i] += (b[i] == 0.0) as u32;
                let d = x as f64;
                sum[i] += d;
                sum_sq[i] += d * d;
            }
        }
        (self.sum, self.sum_sq) = (sum, sum_sq);
        for &x in blocks.remainder() {
            if x.is_finite() {
                lo[0] = lo[0].min(x);
                hi[0] = hi[0].max(x);
                self.sum[0] += x as f64;
                self.sum_sq[0] += x as f64 * x as f64;
            }
            zeros[0] += (x == 0.0) as u32;
        }
        if !all_finite {
            // The masked zeros above may not be real values: recompute the
            // range from the finite elements only.
            lo = [f32::INFINITY; LANES];
            hi = [f32::NEG_INFINITY; LANES];
            for &x in xs.iter().filter(|x| x.is_finite()) {
                lo[0] = lo[0].min(x);
                hi[0] = hi[0].max(x);
            }
        }
        self.min = lo.iter().fold(self.min, |a, &b| a.min(b));
        self.max = hi.iter().fold(self.max, |a, &b| a.max(b));
        self.zeros += zeros.iter().map(|&z| z as u64).sum::<u64>();
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

/// Buckets of |error| keyed by the top 16 bits of its f32 pattern: 7
/// mantissa bits, so a quantile is known to within 0.4 % relative, in
/// fixed memory whatever the tensor size, with no sort.
///
/// Neighbouring errors often share a bucket; four interleaved tables keep
/// those increments from waiting on each other.
#[derive(Clone)]
pub struct LogHistogram {
    counts: Vec<u64>,
}

const HIST_BUCKETS: usize = 1 << 15;
const HIST_TABLES: usize = 4;

impl Default for LogHistogram {
    fn default() -> Self {
        LogHistogram {
            counts: vec![0; HIST_BUCKETS * HIST_TABLES],
        }
    }
}

impl std::fmt::Debug for LogHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogHistogram")
    }
}

impl LogHistogram {
    #[inline(always)]
    fn bucket(x: f32) -> usize {
        // NaN patterns land above the last finite bucket and are clamped.
        ((x.abs().to_bits() >> 16) as usize).min(HIST_BUCKETS - 1)
    }

    /// Adds |x| for each x.
    #[inline]
    pub fn push(&mut self, xs: &[f32]) {
        let (t0, rest) = self.counts.split_at_mut(HIST_BUCKETS);
        let (t1, rest) = rest.split_at_mut(HIST_BUCKETS);
        let (t2, t3) = rest.split_at_mut(HIST_BUCKETS);
        let mut quads = xs.chunks_exact(HIST_TABLES);
        for q in &mut quads {
            t0[Self::bucket(q[0])] += 1;
            t1[Self::bucket(q[1])] += 1;
            t2[Self::bucket(q[2])] += 1;
            t3[Self::bucket(q[3])] += 1;
        }
        for &x in quads.remainder() {
            t0[Self::bucket(x)] += 1;
        }
    }

    /// The `q` quantile (0..=1) of the values pushed, as its bucket's
    /// midpoint; `None` if empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let count = |b: usize| {
            (0..HIST_TABLES)
                .map(|t| self.counts[t * HIST_BUCKETS + b])
                .sum::<u64>()
        };
        let total: u64 = self.counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for b in 0..HIST_BUCKETS {
            seen += count(b);
            if seen >= rank {
                if b == 0 {
                    return Some(0.0);
                }
                let lo = f32::from_bits((b as u32) << 16) as f64;
                let hi = f32::from_bits(((b as u32) + 1) << 16) as f64;
                return Some((lo + hi) / 2.0);
            }
        }
        None
    }
}

/// Error statistics of a quantized tensor: original `w` against
/// dequantized `d`, accumulated in f64.
#[derive(Debug, Clone, Default)]
pub struct ErrorStats {
    /// Elements seen.
    pub count: u64,
    sum_w2: [f64; LANES],
    sum_e2: [f64; LANES],
    sum_wd: [f64; LANES],
    sum_d2: [f64; LANES],
    max_abs_e: [f64; LANES],
    /// Nonzero originals that dequantize to exactly zero.
    pub rounded_to_zero: u64,
    /// Elements whose code fell outside the representable range.
    pub clipped: u64,
    /// |w - d| histogram, for quantiles.
    pub hist: LogHistogram,
}

impl ErrorStats {
    /// Adds a chunk of originals and their dequantized values; `err` is
    /// scratch space of the same length.
    pub fn push(&mut self, w: &[f32], d: &[f32], err: &mut [f32]) {
        debug_assert_eq!(w.len(), d.len());
        self.count += w.len() as u64;
        // Local copies: accumulating through `self` would make the compiler
        // store every partial sum (it cannot rule out aliasing with `err`).
        let (mut w2, mut e2, mut wd, mut d2, mut mx) = (
            self.sum_w2,
            self.sum_e2,
            self.sum_wd,
            self.sum_d2,
            self.max_abs_e,
        );
        let mut zeros = [0u64; LANES];
        let n = w.len() - w.len() % LANES;
        for ((wb, db), eb) in w[..n]
            .chunks_exact(LANES)
            .zip(d[..n].chunks_exact(LANES))
            .zip(err[..n].chunks_exact_mut(LANES))
        {
            for i in 0..LANES {
                let (a, b) = (wb[i] as f64, db[i] as f64);
                let e = a - b;
                w2[i] += a * a;
                e2[i] += e * e;
                wd[i] += a * b;
                d2[i] += b * b;
                let ae = e.abs();
                mx[i] = if ae > mx[i] { ae } else { mx[i] };
                zeros[i] += ((b == 0.0) & (a != 0.0)) as u64;
                eb[i] = e as f32;
            }
        }
        for k in n..w.len() {
            let (a, b) = (w[k] as f64, d[k] as f64);
            let e = a - b;
            w2[0] += a * a;
            e2[0] += e * e;
            wd[0] += a * b;
            d2[0] += b * b;
            mx[0] = mx[0].max(e.abs());
            zeros[0] += ((b == 0.0) & (a != 0.0)) as u64;
            err[k] = e as f32;
        }
        (
            self.sum_w2,
            self.sum_e2,
            self.sum_wd,
            self.sum_d2,
            self.max_abs_e,
        ) = (w2, e2, wd, d2, mx);
        self.rounded_to_zero += zeros.iter().sum::<u64>();
        self.hist.push(&err[..w.len()]);
    }

    /// The finished metrics; `value` gives the tensor's std for the
    /// outlier ratio.
    pub fn metrics(&self, value: &ValueStats) -> ErrorMetrics {
        let n = self.count.max(1) as f64;
        let w2: f64 = self.sum_w2.iter().sum();
        let e2: f64 = self.sum_e2.iter().sum();
        let wd: f64 = self.sum_wd.iter().sum();
        let d2: f64 = self.sum_d2.iter().sum();
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
            max_abs_error: self.max_abs_e.iter().fold(0.0f64, |a, &b| a.max(b)),
            sqnr_db: (e2 > 0.0 && w2 > 0.0).then(|| 10.0 * (w2 / e2).log10()),
            cosine,
            zero_frac: self.rounded_to_zero as f64 / n,
            clip_frac: self.clipped as f64 / n,
            outlier_ratio: value
                .std()
                .filter(|&s| s > 0.0)
                .map(|s| value.max_abs() as f64 / s),
            err_p50: self.hist.quantile(0.5).unwrap_or(0.0),
            err_p99: self.hist.quantile(0.99).unwrap_or(0.0),
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
    fn histogram_quantiles_are_within_a_bucket() {
        let mut h = LogHistogram::default();
        let xs: Vec<f32> = (1..=1000).map(|i| i as f32 * 1e-4).collect();
        h.push(&xs);
        let p50 = h.quantile(0.5).unwrap();
        let p99 = h.quantile(0.99).unwrap();
        assert!((p50 / 0.05 - 1.0).abs() < 0.005, "{p50}");
        assert!((p99 / 0.099 - 1.0).abs() < 0.005, "{p99}");
        assert_eq!(LogHistogram::default().quantile(0.5), None);
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
