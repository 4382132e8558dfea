//! Inspecting a model: stored-quantized layers are recognised from the
//! headers and config, the policy decides for the other tensors, each row
//! is streamed, and the rows become a [`Report`]. Callers choose how to
//! spread [`Inspection::row`] calls over threads or workers.
//!
//! A row is a *layer*: a stored-quantized weight with its companions
//! (scales, biases, zero points) is one row named after the weight; every
//! other tensor is a row of its own.

use std::collections::HashSet;

use crate::quant::analyze::{analyze_tensor, Scratch, CHUNK_ELEMS};
use crate::quant::policy::{Decision, KeepReason, Policy};
use crate::quant::stats::ValueStats;
use crate::stored::{recognise, Dequantizer, Recognised};
use crate::{Error, LayerRow, Model, Report, Scheme};

/// What one row of an inspection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Planned {
    /// A tensor analysed under the policy: its model-order index and the
    /// policy's decision.
    Tensor { index: usize, decision: Decision },
    /// A stored-quantized layer: its index in [`Recognised::tensors`].
    Stored { logical: usize },
}

/// A model with a scheme and policy applied: the plan of an inspection.
pub struct Inspection {
    /// The model inspected.
    pub model: Model,
    /// The scheme quantized layers use.
    pub scheme: Scheme,
    /// The policy's name, for the report.
    pub policy_name: String,
    /// How the model stores its tensors.
    pub stored: Recognised,
    /// One entry per row, in model order of the rows' main tensors.
    pub plan: Vec<Planned>,
}

impl Inspection {
    /// Plans the inspection of `model`.
    pub fn new(model: Model, scheme: Scheme, policy: &Policy) -> Self {
        let stored = recognise(&model, &|_| None);
        let groups = scheme.group_size().is_some();
        let plan = stored
            .tensors
            .iter()
            .enumerate()
            .map(|(k, l)| {
                if l.layout.is_quantized() {
                    return Planned::Stored { logical: k };
                }
                let decision = if stored.orphans.contains(&l.main) {
                    Decision::Keep(KeepReason::Companion)
                } else {
                    policy.decide(model.tensor(l.main).expect("in range").1, groups)
                };
                Planned::Tensor {
                    index: l.main,
                    decision,
                }
            })
            .collect();
        Inspection {
            model,
            scheme,
            policy_name: policy.kind().name().to_string(),
            stored,
            plan,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.plan.len()
    }

    /// Whether the model has no tensors.
    pub fn is_empty(&self) -> bool {
        self.plan.is_empty()
    }

    /// Model-order index of row `i`'s main tensor (the weight of a
    /// stored-quantized layer).
    pub fn row_tensor(&self, i: usize) -> usize {
        match self.plan[i] {
            Planned::Tensor { index, .. } => index,
            Planned::Stored { logical } => self.stored.tensors[logical].main,
        }
    }

    /// Model-order indices of the tensors that are not layers of their own
    /// (companions of stored-quantized layers, and companions with no
    /// weight): scans meant for float weights skip them.
    pub fn companions(&self) -> HashSet<usize> {
        let mut out = self.stored.orphans.clone();
        for l in self
            .stored
            .tensors
            .iter()
            .filter(|l| l.layout.is_quantized())
        {
            out.extend(l.parts().into_iter().filter(|&p| p != l.main));
        }
        out
    }

    /// Bytes that streaming row `i` reads (0 for rows not decoded).
    pub fn work_bytes(&self, i: usize) -> u64 {
        let (index, decision) = match self.plan[i] {
            Planned::Stored { logical } => {
                let l = &self.stored.tensors[logical];
                return if l.layout.is_decodable() {
                    l.stored_bytes
                } else {
                    0
                };
            }
            Planned::Tensor { index, decision } => (index, decision),
        };
        let (_, t) = self.model.tensor(index).expect("in range");
        if !t.dtype.is_decodable_float() {
            return 0;
        }
        match (decision, self.scheme) {
            (Decision::Quantize, Scheme::Int8Tensor) => 3 * t.bytes(),
            (Decision::Quantize, _) => 2 * t.bytes(),
            (Decision::Keep(_), _) => t.bytes(),
        }
    }

    /// Streams row `i` and returns it.
    pub fn row(&self, i: usize, scratch: &mut Scratch) -> Result<LayerRow, Error> {
        match self.plan[i] {
            Planned::Tensor { index, decision } => {
                let (shard, t) = self.model.tensor(index)?;
                let quantize = decision == Decision::Quantize;
                let a = analyze_tensor(
                    shard.source.as_ref(),
                    &shard.header.file,
                    t,
                    quantize,
                    self.scheme,
                    scratch,
                )?;
                Ok(LayerRow::new(
                    &shard.header.file,
                    t,
                    decision,
                    self.scheme,
                    &a,
                ))
            }
            Planned::Stored { logical } => self.stored_row(logical, true),
        }
    }

    /// Row of stored layer `k`; with `stream`, its values are read back.
    fn stored_row(&self, k: usize, stream: bool) -> Result<LayerRow, Error> {
        let l = &self.stored.tensors[k];
        let (shard, t) = self.model.tensor(l.main)?;
        if !(stream && l.layout.is_decodable()) {
            return Ok(LayerRow::stored(
                &shard.header.file,
                t.dtype.name(),
                l,
                None,
            ));
        }
        let mut d = Dequantizer::new(&self.model, l)?;
        let mut v = ValueStats::default();
        let mut buf = Vec::new();
        let (rows, step) = (l.rows(), d.rows_per_block(CHUNK_ELEMS));
        let mut r = 0;
        while r < rows {
            let r1 = (r + step).min(rows);
            d.rows(r, r1, &mut buf)?;
            v.push(&buf);
            r = r1;
        }
        let mut row = LayerRow::stored(&shard.header.file, t.dtype.name(), l, Some(&v));
        if let Some(s) = row.stored.as_mut() {
            s.bad_scales = d.notes.bad_scales;
            s.bad_scale_example = d.notes.first_bad_scale.map(|x| x.to_string());
        }
        Ok(row)
    }

    /// A row without streaming: decision and sizes only, metrics empty.
    pub fn planned_row(&self, i: usize) -> Result<LayerRow, Error> {
        match self.plan[i] {
            Planned::Tensor { index, decision } => {
                let (shard, t) = self.model.tensor(index)?;
                let empty = crate::quant::analyze::TensorAnalysis {
                    values: None,
                    errors: None,
                };
                Ok(LayerRow::new(
                    &shard.header.file,
                    t,
                    decision,
                    self.scheme,
                    &empty,
                ))
            }
            Planned::Stored { logical } => self.stored_row(logical, false),
        }
    }

    /// Streams every row on this thread and builds the report.
    pub fn run(&self) -> Result<Report, Error> {
        let mut scratch = Scratch::default();
        let rows = (0..self.len())
            .map(|i| self.row(i, &mut scratch))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.report(rows))
    }

    /// Builds the report from rows in plan order, with the findings of
    /// format recognition.
    pub fn report(&self, rows: Vec<LayerRow>) -> Report {
        let mut r = Report::build(&self.model, self.scheme, &self.policy_name, rows);
        let f = &mut r.summary.findings;
        f.extend(self.stored.findings.iter().cloned());
        f.sort_by_key(|f| std::cmp::Reverse(f.severity));
        r
    }
}
