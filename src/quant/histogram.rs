//! The |error| histogram behind p50 and p99: buckets keyed by the top 16
//! bits of an f32 pattern, every bucket counted or only two bands of them.

use crate::quant::kernels::{self, Bands, HistTable, HIST_BUCKETS, HIST_TABLES};

/// The quantiles of |error| reported: p50 and p99.
pub const QUANTILES: [f64; 2] = [0.5, 0.99];

/// Buckets of |error| keyed by the top 16 bits of its f32 pattern: 7
/// mantissa bits, so a quantile is known to within 0.4 % relative, in
/// fixed memory whatever the tensor size, with no sort
/// ([`kernels::hist_count`] counts them). Counters are u32, added into a
/// u64 table before any could overflow; the range of nonzero buckets
/// touched is kept, so reading a quantile, adding up and clearing look at
/// bucket 0 and that range only.
///
/// A histogram made [`LogHistogram::banded`] counts the buckets of two
/// bands one by one and of the rest only how many lie below each band:
/// its quantiles are the same, when they fall inside a band, and unknown
/// otherwise ([`LogHistogram::knows`]).
#[derive(Clone)]
pub struct LogHistogram {
    /// Always `Some` until dropped (then the tables go back to [`SPARE`]).
    counts: Option<Box<Tables>>,
    /// The u64 totals of earlier counts (empty until first needed).
    spill: Vec<u64>,
    /// Buckets touched besides bucket 0: `lo..=hi` (`lo > hi` when none;
    /// `lo` is never 0).
    lo: usize,
    hi: usize,
    /// Values counted in `counts` since they were last added to `spill`.
    unspilled: u64,
    /// Values counted.
    total: u64,
    /// The bands counted bucket by bucket, if not every bucket is.
    bands: Option<Bands>,
    /// Values counted below each band's first bucket.
    below: [u64; 2],
}

impl Default for LogHistogram {
    fn default() -> Self {
        LogHistogram {
            counts: Some(zeroed_tables()),
            spill: Vec::new(),
            lo: HIST_BUCKETS,
            hi: 0,
            unspilled: 0,
            total: 0,
            bands: None,
            below: [0; 2],
        }
    }
}

/// Where a quantile's rank falls.
enum Rank {
    /// No values.
    Empty,
    /// In this bucket.
    Bucket(usize),
    /// Outside the bands of a banded histogram.
    Unknown,
}

type Tables = [HistTable; HIST_TABLES];

std::thread_local! {
    /// Cleared tables of dropped histograms, reused by the next ones on
    /// the thread: 512 KiB of fresh zeroed memory per tensor cost a
    /// memset and page faults.
    static SPARE: std::cell::RefCell<Vec<Box<Tables>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Zeroed tables: spare ones if the thread has any.
fn zeroed_tables() -> Box<Tables> {
    let spare = SPARE.try_with(|s| s.borrow_mut().pop()).ok().flatten();
    spare.unwrap_or_else(|| {
        vec![[0; HIST_BUCKETS]; HIST_TABLES]
            .into_boxed_slice()
            .try_into()
            .expect("HIST_TABLES tables")
    })
}

impl Drop for LogHistogram {
    fn drop(&mut self) {
        let Some(mut tables) = self.counts.take() else {
            return;
        };
        // Only bucket 0 and lo..=hi were ever counted into (a spill zeroes
        // the rest).
        for t in tables.iter_mut() {
            t[0] = 0;
            if self.lo <= self.hi {
                t[self.lo..=self.hi].fill(0);
            }
        }
        let _ = SPARE.try_with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < 2 {
                s.push(tables);
            }
        });
    }
}

impl std::fmt::Debug for LogHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogHistogram")
    }
}

impl LogHistogram {
    /// Adds |x| for each x.
    pub fn push(&mut self, xs: &[f32]) {
        let mut idx = [0u16; 1024];
        for part in xs.chunks(idx.len()) {
            let idx = &mut idx[..part.len()];
            for (i, &x) in idx.iter_mut().zip(part) {
                *i = kernels::bucket(x);
            }
            self.push_buckets(idx);
        }
    }

    /// An empty histogram that counts only the buckets of `bands` one by
    /// one ([`kernels::band_count`]).
    pub fn banded(bands: Bands) -> Self {
        let mut h = LogHistogram::default();
        h.bands = Some(bands);
        // Tables are counted into (and cleared) in the bands only.
        for k in 0..2 {
            if bands.hi[k] > 0 {
                h.lo = h.lo.min(bands.lo[k].max(1) as usize);
                h.hi = h.hi.max(bands.hi[k] as usize);
            }
        }
        h
    }

    /// Adds values by their buckets ([`kernels::bucket`]).
    pub fn push_buckets(&mut self, idx: &[u16]) {
        // No u32 counter may pass u32::MAX: at most that many values
        // between spills.
        for part in idx.chunks(u32::MAX as usize) {
            if self.unspilled + part.len() as u64 > u32::MAX as u64 {
                self.spill();
            }
            if let Some(bands) = self.bands {
                let below = kernels::band_count(self.tables_mut(), part, &bands);
                self.below[0] += below[0];
                self.below[1] += below[1];
            } else {
                let (lo, hi) = kernels::hist_count(self.tables_mut(), part);
                if lo <= hi {
                    self.lo = self.lo.min(lo as usize);
                    self.hi = self.hi.max(hi as usize);
                }
            }
            self.unspilled += part.len() as u64;
            self.total += part.len() as u64;
        }
    }

    fn tables(&self) -> &Tables {
        self.counts.as_deref().expect("tables until dropped")
    }

    fn tables_mut(&mut self) -> &mut Tables {
        self.counts.as_deref_mut().expect("tables until dropped")
    }

    /// Adds the u32 counters into the u64 table and clears them.
    fn spill(&mut self) {
        self.spill.resize(HIST_BUCKETS, 0);
        for b in self.touched() {
            self.spill[b] += self.tables().iter().map(|t| t[b] as u64).sum::<u64>();
        }
        for t in self.tables_mut().iter_mut() {
            t.fill(0);
        }
        self.unspilled = 0;
    }

    /// The buckets that may hold counts, in order.
    fn touched(&self) -> impl Iterator<Item = usize> {
        std::iter::once(0).chain(self.lo..=self.hi)
    }

    /// Values in bucket `b`.
    fn count(&self, b: usize) -> u64 {
        let spilled = self.spill.get(b).copied().unwrap_or(0);
        spilled + self.tables().iter().map(|t| t[b] as u64).sum::<u64>()
    }

    /// The `q` quantile (0..=1) of the values pushed, as its bucket's
    /// midpoint; `None` if empty, or if a banded histogram does not know
    /// it ([`LogHistogram::knows`]).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        match self.rank(q) {
            Rank::Bucket(0) => Some(0.0),
            Rank::Bucket(b) => {
                let lo = f32::from_bits((b as u32) << 16) as f64;
                let hi = f32::from_bits(((b as u32) + 1) << 16) as f64;
                Some((lo + hi) / 2.0)
            }
            Rank::Empty | Rank::Unknown => None,
        }
    }

    /// Whether the `q` quantile is known: always, unless the histogram is
    /// banded and the quantile falls outside its bands.
    pub fn knows(&self, q: f64) -> bool {
        !matches!(self.rank(q), Rank::Unknown)
    }

    /// The bucket holding the `q` quantile's rank.
    fn rank(&self, q: f64) -> Rank {
        let total = self.total;
        if total == 0 {
            return Rank::Empty;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let Some(bands) = self.bands else {
            // Buckets other than 0 and lo..=hi are empty.
            return self
                .walk(0, self.touched(), rank)
                .map_or(Rank::Unknown, Rank::Bucket);
        };
        let parts = if bands.single() { 1 } else { 2 };
        (0..parts)
            .find_map(|k| {
                let band = bands.lo[k] as usize..=bands.hi[k] as usize;
                (self.below[k] < rank).then(|| self.walk(self.below[k], band, rank))?
            })
            .map_or(Rank::Unknown, Rank::Bucket)
    }

    /// The first of `buckets` at which the count, from `seen` before
    /// them, reaches `rank`.
    fn walk(
        &self,
        mut seen: u64,
        buckets: impl Iterator<Item = usize>,
        rank: u64,
    ) -> Option<usize> {
        buckets.into_iter().find(|&b| {
            seen += self.count(b);
            seen >= rank
        })
    }

    /// Bands around the quantiles `qs` of the values pushed, taken as a
    /// sample of a larger set: wide enough that the larger set's
    /// quantiles fall inside them unless the sample misrepresents it
    /// badly. Either side: 16 standard deviations of the rank of a
    /// quantile of independent values, and 2 buckets (values sampled by
    /// rows are not independent: a group shares its scale; with 8, two
    /// of MiniLM's twelve sampled tensors missed their bands under 8-bit
    /// affine with groups of 128). `None` for fewer than 1,000 values or a
    /// banded histogram.
    pub fn bands_around(&self, qs: [f64; 2]) -> Option<Bands> {
        let n = self.total;
        if n < 1000 || self.bands.is_some() {
            return None;
        }
        let band = |q: f64| -> Option<(u16, u16)> {
            let spread = 16.0 * (n as f64 * q * (1.0 - q)).sqrt() + 2.0;
            let rank = |r: f64| (r.max(1.0).min(n as f64)) as u64;
            let at = |r: u64| self.walk(0, self.touched(), r);
            let lo = at(rank((q * n as f64 - spread).floor()))?;
            let hi = at(rank((q * n as f64 + spread).ceil()))?;
            Some((
                lo.saturating_sub(2) as u16,
                (hi + 2).min(HIST_BUCKETS - 1) as u16,
            ))
        };
        Bands::new(band(qs[0])?, band(qs[1])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn spilled_counts_give_the_same_quantiles() {
        let xs: Vec<f32> = (1..=1000).map(|i| i as f32 * 1e-4).collect();
        let (mut a, mut b) = (LogHistogram::default(), LogHistogram::default());
        a.push(&xs);
        a.push(&xs[..333]);
        b.push(&xs);
        b.spill();
        assert_eq!(b.unspilled, 0);
        b.push(&xs[..333]);
        for q in [0.0, 0.1, 0.5, 0.9, 0.99, 1.0] {
            assert_eq!(a.quantile(q), b.quantile(q), "{q}");
        }
    }

    #[test]
    fn banded_quantiles_are_the_full_ones_or_unknown() {
        // Errors spread over many octaves, with a spike at zero.
        let xs: Vec<f32> = (0..20_000u32)
            .map(|i| {
                if i % 7 == 0 {
                    0.0
                } else {
                    (i.wrapping_mul(2_654_435_761) >> 9) as f32 * 1e-9
                }
            })
            .collect();
        let mut full = LogHistogram::default();
        full.push(&xs);
        let mut sample = LogHistogram::default();
        sample.push(&xs.iter().step_by(13).copied().collect::<Vec<_>>());
        let bands = sample.bands_around(QUANTILES).expect("bands");
        let mut banded = LogHistogram::banded(bands);
        banded.push(&xs[..7_000]);
        banded.spill();
        banded.push(&xs[7_000..]);
        for q in QUANTILES {
            assert!(banded.knows(q), "{q} in {bands:?}");
            assert_eq!(banded.quantile(q), full.quantile(q), "{q}");
        }
        // Quantiles outside the bands are unknown, not guessed.
        assert!(!banded.knows(0.01) && !banded.knows(0.75), "{bands:?}");
        assert_eq!(banded.quantile(0.01), None);
        // Bands hugging the bottom know nothing of a spread sample.
        let mut low = LogHistogram::banded(Bands::new((0, 3), (0, 3)).unwrap());
        low.push(&xs);
        assert!(!low.knows(0.5) && low.knows(0.1));
        assert_eq!(low.quantile(0.1), Some(0.0));
    }

    #[test]
    fn bands_need_a_sample_of_a_thousand() {
        let mut h = LogHistogram::default();
        h.push(&[1e-3; 999]);
        assert_eq!(h.bands_around(QUANTILES), None);
        h.push(&[1e-3]);
        let b = h.bands_around(QUANTILES).unwrap();
        assert!(b.single(), "{b:?}");
        assert_eq!(LogHistogram::banded(b).bands_around(QUANTILES), None);
    }

    #[test]
    fn reused_tables_start_empty() {
        let xs: Vec<f32> = (1..=1000).map(|i| i as f32 * 1e-4).collect();
        let mut a = LogHistogram::default();
        a.push(&xs);
        a.spill();
        a.push(&xs[..10]);
        drop(a);
        let b = LogHistogram::default();
        assert!(b.tables().iter().all(|t| t.iter().all(|&c| c == 0)));
        assert_eq!(b.quantile(0.5), None);
    }
}
