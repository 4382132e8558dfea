//! A step-wise output check in progress: what [`super::OutputCheck::start`]
//! returns and each [`super::OutputCheck::step`] advances.

use candle_core::Tensor;

use super::error::{OutputsError, Result};
use super::figures::LayerFigures;
use super::report::OutputsReport;
use super::tokenizer::Encoded;

/// A step-wise run in progress ([`OutputCheck::start`]): the tokenized
/// inputs, both sides' hidden states so far and the finished layers' figures.
pub struct Run {
    pub(super) enc: Vec<Encoded>,
    pub(super) texts: Vec<String>,
    pub(super) total: usize,
    pub(super) done: usize,
    pub(super) ho: Vec<Tensor>,
    pub(super) hq: Vec<Tensor>,
    pub(super) layers: Vec<LayerFigures>,
    pub(super) report: Option<OutputsReport>,
}

impl Run {
    /// Steps finished: 0 before the embeddings, [`Self::total`] at the end.
    pub fn done(&self) -> usize {
        self.done
    }

    /// Steps in all: the embeddings, each layer, the head.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Whether every step has run.
    pub fn finished(&self) -> bool {
        self.done >= self.total
    }

    /// The figures of the layers finished so far (layer 0 is the embeddings).
    pub fn layers(&self) -> &[LayerFigures] {
        &self.layers
    }

    /// The tokenized inputs.
    pub fn encoded(&self) -> &[Encoded] {
        &self.enc
    }

    /// The report, once every step has run.
    pub fn report(&self) -> Option<&OutputsReport> {
        self.report.as_ref()
    }

    /// The report, or an error when steps remain.
    pub fn into_report(self) -> Result<OutputsReport> {
        self.report.ok_or_else(|| OutputsError::BadInput {
            detail: format!(
                "the run stopped after {} of {} steps",
                self.done, self.total
            ),
        })
    }
}
