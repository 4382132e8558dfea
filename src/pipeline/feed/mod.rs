//! Push-fed analysis of one tensor, for readers that cannot answer a
//! synchronous read (the page's worker reading a link or a large Blob with
//! streams): the tensor's bytes arrive in order, in windows of any size,
//! and the analysis keeps its state between them.
//!
//! Every figure equals what [`crate::quant::analyze::analyze_tensor`] and the
//! fake-quantization scan give, because the values are cut into the same
//! chunks before they reach the same accumulators. `int8-tensor` needs the
//! tensor's max|w| before it quantizes, so it takes two passes (the first
//! also gives the value statistics); the other schemes need only a row's or
//! a group's max and take one pass at any size. The first pass can keep the
//! tensor's first bytes ([`TensorFeed::hold`]), so that the second reads
//! only the rest ([`TensorFeed::resume_at`]).

use crate::checks::fake::{self, GridDetector};
use crate::pipeline::inspect::Planned;
use crate::pipeline::{Pipeline, RowResult};
use crate::quant::analyze::{chunk_elems, ChunkQuant, TensorAnalysis, CHUNK_ELEMS};
use crate::quant::kernels;
use crate::quant::policy::Decision;
use crate::quant::scheme::{self, Scheme};
use crate::quant::stats::{ErrorStats, ValueStats};
use crate::{Dtype, Error, LayerRow, TensorInfo};

mod chunks;

use chunks::{Chunker, Quantizer};

/// The resumable analysis of one tensor: [`TensorFeed::push`] its bytes in
/// order, [`TensorFeed::end_pass`] after the last, again while that says
/// another pass is needed, then [`TensorFeed::finish`].
pub struct TensorFeed {
    file: String,
    t: TensorInfo,
    width: usize,
    quantize: bool,
    scheme: Scheme,
    /// Bytes fed in the current pass.
    fed: u64,
    /// 1 or 2.
    pass: u8,
    /// Whether the last pass has ended.
    done: bool,
    scan: Chunker,
    values: ValueStats,
    /// The fake-quantization scan, until the values are known to lie on
    /// no grid.
    grid: Option<GridDetector>,
    quant: Option<(Chunker, Quantizer)>,
    /// The first bytes of the first pass, kept up to `hold_limit` when a
    /// second pass will follow.
    held: Vec<u8>,
    hold_limit: usize,
}

impl TensorFeed {
    /// The analysis of tensor `t` of `file` as [`crate::quant::analyze::analyze_tensor`]
    /// would run it, or `None` when `t` is not a decodable float (nothing
    /// of it is read).
    pub fn new(file: &str, t: &TensorInfo, quantize: bool, scheme: Scheme) -> Option<Self> {
        let width = t
            .dtype
            .decode_width()
            .filter(|_| t.dtype.is_decodable_float())?;
        // One pass: the quantizer runs beside the scan, and its figures are
        // dropped if the scan finds NaN or Inf.
        let quant = (quantize && scheme != Scheme::Int8Tensor)
            .then(|| Quantizer::chunker(t, width, scheme, 0.0));
        Some(TensorFeed {
            file: file.to_string(),
            t: t.clone(),
            width,
            quantize,
            scheme,
            fed: 0,
            pass: 1,
            done: false,
            scan: Chunker::new(t, width, CHUNK_ELEMS),
            values: ValueStats::default(),
            grid: GridDetector::new(t),
            quant,
            held: Vec::new(),
            hold_limit: 0,
        })
    }

    /// Keeps up to `limit` of the tensor's first bytes while the first
    /// pass reads them, when a second pass will follow (`int8-tensor`):
    /// that pass then starts past them ([`TensorFeed::resume_at`]), so a
    /// tensor over a reader's budget is read `2 − limit / size` times
    /// instead of twice. The kept bytes are freed when the first pass ends.
    /// Call before the first [`TensorFeed::push`].
    pub fn hold(&mut self, limit: usize) {
        let limit = if self.quantizes_in_a_second_pass() && self.fed == 0 && self.pass == 1 {
            limit.min(usize::try_from(self.t.bytes()).unwrap_or(usize::MAX))
        } else {
            0
        };
        // Reserved once: growing by doubling would leave the old block
        // beside the new one at every step (a wasm memory never shrinks),
        // and a reservation refused means holding nothing, not failing.
        self.hold_limit = if self.held.try_reserve_exact(limit).is_ok() {
            limit
        } else {
            0
        };
    }

    /// Bytes of memory the hold buffer takes.
    pub fn hold_capacity(&self) -> usize {
        self.held.capacity()
    }

    /// Bytes of the tensor the current pass has already been given: where
    /// the reader starts it (the held bytes, for a second pass after
    /// [`TensorFeed::hold`]; otherwise what it has pushed).
    pub fn resume_at(&self) -> u64 {
        self.fed
    }

    /// The tensor analysed.
    pub fn tensor(&self) -> &TensorInfo {
        &self.t
    }

    /// Feeds the next bytes of the tensor. Fails, naming the file and
    /// tensor, when they run past its end.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let offset = self.t.start + self.fed;
        if self.done {
            return Err(self.error(offset, "bytes fed after the last pass".into()));
        }
        if bytes.len() as u64 > self.t.bytes() - self.fed {
            return Err(self.error(
                offset,
                format!(
                    "{} more bytes fed after {} of its {}",
                    bytes.len(),
                    self.fed,
                    self.t.bytes()
                ),
            ));
        }
        self.fed += bytes.len() as u64;
        if self.pass == 1 && self.held.len() < self.hold_limit {
            let keep = (self.hold_limit - self.held.len()).min(bytes.len());
            self.held.extend_from_slice(&bytes[..keep]);
        }
        if self.pass == 1 {
            let (values, grid) = (&mut self.values, &mut self.grid);
            self.scan.push(bytes, |w| {
                values.push(w);
                if grid.as_mut().is_some_and(|g| !g.push(w)) {
                    *grid = None;
                }
            });
        }
        if let Some((c, q)) = self.quant.as_mut() {
            c.push(bytes, |w| q.consume(w));
        }
        Ok(())
    }

    /// Ends a pass, which must have fed the whole tensor. Returns whether
    /// another pass is needed (`int8-tensor` quantizes in a second pass, once
    /// the first has found max|w|).
    pub fn end_pass(&mut self) -> Result<bool, Error> {
        if self.done {
            return Err(self.error(self.t.start, "no pass to end".into()));
        }
        if self.fed != self.t.bytes() {
            return Err(self.error(
                self.t.start + self.fed,
                format!(
                    "pass {} ended after {} of its {} bytes",
                    self.pass,
                    self.fed,
                    self.t.bytes()
                ),
            ));
        }
        self.fed = 0;
        let again = self.pass == 1 && self.quantizes_in_a_second_pass() && self.finite();
        if again {
            let scale = scheme::int8_scale(self.values.max_abs());
            let (mut c, mut q) = Quantizer::chunker(&self.t, self.width, self.scheme, scale);
            c.push(&self.held, |w| q.consume(w));
            self.fed = self.held.len() as u64;
            self.quant = Some((c, q));
        }
        self.held = Vec::new();
        self.hold_limit = 0;
        self.pass += 1;
        self.done = !again;
        Ok(again)
    }

    /// The analysis, and the grid of a fake-quantized tensor. Fails when a
    /// pass was not ended.
    pub fn finish(self) -> Result<(TensorAnalysis, Option<fake::Grid>), Error> {
        if !self.done {
            return Err(self.error(self.t.start, "analysis finished mid-pass".into()));
        }
        let errors = if self.quantize && self.finite() {
            self.quant.map(|(_, q)| {
                let mut errs = q.errs;
                errs.clipped = q.clipped;
                errs.metrics(&self.values)
            })
        } else {
            None
        };
        let grid = self.grid.and_then(|g| g.finish());
        let analysis = TensorAnalysis {
            values: Some(self.values),
            errors,
        };
        Ok((analysis, grid))
    }

    /// Whether the tensor is fed twice: `int8-tensor` quantizes once the
    /// first pass has found max|w| (if every value is finite).
    pub fn quantizes_in_a_second_pass(&self) -> bool {
        self.quantize && self.scheme == Scheme::Int8Tensor
    }

    fn finite(&self) -> bool {
        self.values.nan == 0 && self.values.inf == 0
    }

    fn error(&self, offset: u64, detail: String) -> Error {
        Error::Read {
            file: self.file.clone(),
            offset,
            detail: format!("tensor {:?}: {detail}", self.t.name),
        }
    }
}

/// A pipeline row analysed from fed bytes: what [`Pipeline::row`] returns,
/// for a row that is one float tensor.
pub struct RowFeed {
    /// The tensor's analysis.
    pub feed: TensorFeed,
    decision: Decision,
}

impl RowFeed {
    /// The push-fed analysis of row `i`, or `None` when the row is not one
    /// decodable float tensor (a stored-quantized layer, an integer tensor).
    pub fn new(p: &Pipeline, i: usize) -> Result<Option<Self>, Error> {
        let Some(&Planned::Tensor { index, decision }) = p.inspection.plan.get(i) else {
            return Ok(None);
        };
        let (shard, t) = p.inspection.model.tensor(index)?;
        let quantize = decision == Decision::Quantize;
        Ok(
            TensorFeed::new(&shard.header.file, t, quantize, p.inspection.scheme)
                .map(|feed| RowFeed { feed, decision }),
        )
    }

    /// The row and its findings, once every pass has ended.
    pub fn finish(self) -> Result<RowResult, Error> {
        let (file, t, scheme) = (
            self.feed.file.clone(),
            self.feed.t.clone(),
            self.feed.scheme,
        );
        let (analysis, grid) = self.feed.finish()?;
        Ok(RowResult {
            row: LayerRow::new(&file, &t, self.decision, scheme, &analysis),
            findings: grid
                .map(|g| fake::finding(&file, &t, &g))
                .into_iter()
                .collect(),
        })
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
