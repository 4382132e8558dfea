//! Inspecting a model: the policy decides, each tensor is streamed, and
//! the rows become a [`Report`]. Callers choose how to spread
//! [`Inspection::row`] calls over threads or workers.

use crate::analyze::{analyze_tensor, Scratch};
use crate::policy::{Decision, Policy};
use crate::{Error, LayerRow, Model, Report, Scheme};

/// A model with a scheme and policy applied: the plan of an inspection.
pub struct Inspection {
    /// The model inspected.
    pub model: Model,
    /// The scheme quantized layers use.
    pub scheme: Scheme,
    /// The policy's name, for the report.
    pub policy_name: String,
    /// One decision per tensor, in model order.
    pub decisions: Vec<Decision>,
}

impl Inspection {
    /// Plans the inspection of `model`.
    pub fn new(model: Model, scheme: Scheme, policy: &Policy) -> Self {
        let decisions = model.plan(policy, scheme);
        Inspection {
            model,
            scheme,
            policy_name: policy.kind().name().to_string(),
            decisions,
        }
    }

    /// Number of tensors (rows).
    pub fn len(&self) -> usize {
        self.decisions.len()
    }

    /// Whether the model has no tensors.
    pub fn is_empty(&self) -> bool {
        self.decisions.is_empty()
    }

    /// Bytes that streaming tensor `i` reads (0 for tensors not decoded).
    pub fn work_bytes(&self, i: usize) -> u64 {
        let (_, t) = self.model.tensor(i).expect("in range");
        if !t.dtype.is_decodable_float() {
            return 0;
        }
        match (self.decisions[i], self.scheme) {
            (Decision::Quantize, Scheme::Int8Tensor) => 3 * t.bytes(),
            (Decision::Quantize, _) => 2 * t.bytes(),
            (Decision::Keep(_), _) => t.bytes(),
        }
    }

    /// Streams tensor `i` and returns its row.
    pub fn row(&self, i: usize, scratch: &mut Scratch) -> Result<LayerRow, Error> {
        let (shard, t) = self.model.tensor(i)?;
        let quantize = self.decisions[i] == Decision::Quantize;
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
            self.decisions[i],
            self.scheme,
            &a,
        ))
    }

    /// A row without streaming: decision and sizes only, metrics empty.
    pub fn planned_row(&self, i: usize) -> Result<LayerRow, Error> {
        let (shard, t) = self.model.tensor(i)?;
        let empty = crate::analyze::TensorAnalysis {
            values: None,
            errors: None,
        };
        Ok(LayerRow::new(
            &shard.header.file,
            t,
            self.decisions[i],
            self.scheme,
            &empty,
        ))
    }

    /// Streams every tensor on this thread and builds the report.
    pub fn run(&self) -> Result<Report, Error> {
        let mut scratch = Scratch::default();
        let rows = (0..self.len())
            .map(|i| self.row(i, &mut scratch))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.report(rows))
    }

    /// Builds the report from rows in model order.
    pub fn report(&self, rows: Vec<LayerRow>) -> Report {
        Report::build(&self.model, self.scheme, &self.policy_name, rows)
    }
}
