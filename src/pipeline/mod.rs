//! The one inspect pipeline, shared by the CLI and the page: a tolerant
//! open (damaged or missing shards become findings), the per-layer plan,
//! the analysis of each row with its fake-quantization scan, the expected
//! digests, and the report.
//!
//! The pipeline is a plan, not a driver: [`Pipeline::row`] may be called
//! for any row in any order, on any thread or worker holding the same
//! pipeline, and [`Pipeline::report`] assembles the results in row order.
//! The CLI spreads rows over rayon; the page over its workers.
//!
//! May use: every core layer (`format/`, `stored/`, `quant/`, `checks/`,
//! `report/`). May not use: `verify/`, `convert/`, `outputs/`, `web/` or
//! `cli/`.
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::sync::Arc;
//! use quantlens::quant::analyze::Scratch;
//! use quantlens::pipeline::{InspectOptions, ModelInput, Pipeline};
//! use quantlens::NamedSource;
//!
//! let header = br#"{"w":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}"#;
//! let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
//! bytes.extend_from_slice(header);
//! for x in [0.5f32, -1.0] { bytes.extend_from_slice(&x.to_le_bytes()); }
//!
//! let input = ModelInput::new(vec![NamedSource::new("m.safetensors", Arc::new(bytes))]);
//! let p = Pipeline::open(input, &InspectOptions::default()).unwrap();
//! let mut scratch = Scratch::default();
//! let rows = (0..p.len()).map(|i| p.row(i, &mut scratch)).collect::<Result<Vec<_>, _>>().unwrap();
//! let report = p.report(rows, Some(&BTreeMap::new()));
//! assert_eq!(report.summary.quantized_layers, 1);
//! ```

pub mod feed;
pub mod inspect;
mod options;
mod part;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use part::{PartShard, PartTensor};

pub use options::{
    parse_sha, InspectOptions, DEFAULT_BITS, DEFAULT_GROUP_SIZE, DEFAULT_POLICY, DEFAULT_SCHEME,
};

use crate::checks::digests::Expected;
use crate::checks::fake;
use crate::format::open::open_tolerant;
use crate::pipeline::inspect::Planned;
use crate::quant::analyze::Scratch;
use crate::{Error, Finding, Inspection, LayerRow, Model, NamedSource, Report};

/// What a driver hands over: the model's files and side files as bytes.
#[derive(Clone, Default)]
pub struct ModelInput {
    /// The `.safetensors` files.
    pub files: Vec<NamedSource>,
    /// The shard index: its file name and bytes.
    pub index: Option<(String, Vec<u8>)>,
    /// The bytes of `config.json`.
    pub config: Option<Vec<u8>>,
    /// The text of a `SHA256SUMS` file beside the model.
    pub sums: Option<String>,
}

impl ModelInput {
    /// Opens the model tolerantly ([`open_tolerant`]): damaged or missing
    /// shards become findings. The digests text is not used here.
    pub fn open(self) -> Result<Model, Error> {
        open_tolerant(
            self.files,
            self.index.as_ref().map(|(n, b)| (n.as_str(), b.as_slice())),
            self.config.as_deref(),
        )
    }

    /// Input of safetensors files alone.
    pub fn new(files: Vec<NamedSource>) -> Self {
        ModelInput {
            files,
            ..ModelInput::default()
        }
    }
}

/// One analysed row and the findings its tensors gave beyond the row's
/// own (`fake_quantization`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowResult {
    /// The row.
    pub row: LayerRow,
    /// Findings of the row's tensors.
    pub findings: Vec<Finding>,
}

/// An opened model with its plan: what both drivers run.
pub struct Pipeline {
    /// The plan of the per-layer analysis.
    pub inspection: Inspection,
    /// The digests the files should have.
    pub expected: Expected,
}

impl Pipeline {
    /// Opens the model tolerantly ([`open_tolerant`]) and plans the
    /// inspection under `options`. Fails on invalid options, or when no
    /// part of the model can be read.
    pub fn open(input: ModelInput, options: &InspectOptions) -> Result<Pipeline, Error> {
        let (scheme, policy) = options.resolve()?;
        let expected = Expected::new(input.sums.as_deref(), &options.expected_digests()?);
        let model = input.open()?;
        Ok(Pipeline {
            inspection: Inspection::new(model, scheme, &policy),
            expected,
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.inspection.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.inspection.is_empty()
    }

    /// Bytes that analysing row `i` reads (for progress and scheduling).
    pub fn work_bytes(&self, i: usize) -> u64 {
        if i < self.len() {
            self.inspection.work_bytes(i)
        } else {
            0
        }
    }

    /// A row without streaming: decision and sizes only.
    pub fn planned_row(&self, i: usize) -> Result<LayerRow, Error> {
        self.check(i)?;
        self.inspection.planned_row(i)
    }

    /// An error for a row index out of range (a driver's mistake, or a
    /// hostile caller of the wasm boundary), not a panic.
    fn check(&self, i: usize) -> Result<(), Error> {
        if i < self.len() {
            Ok(())
        } else {
            Err(Error::NoSuchTensor { index: i })
        }
    }

    /// Model-order indices of the tensors row `i` reads: its main tensor
    /// first, then a stored layer's companions.
    pub fn row_parts(&self, i: usize) -> Vec<usize> {
        match self.inspection.plan.get(i) {
            Some(Planned::Stored { logical }) => self.inspection.stored.tensors[*logical].parts(),
            Some(Planned::Tensor { index, .. }) => vec![*index],
            None => Vec::new(),
        }
    }

    /// Analyses row `i` and scans its main tensor for fake quantization
    /// (a stored layer's packed weight is not a float tensor, and its
    /// companions are not weights: neither is scanned).
    pub fn row(&self, i: usize, scratch: &mut Scratch) -> Result<RowResult, Error> {
        self.check(i)?;
        // The scan first: it reads the start of the tensor (all of it only
        // for a fake-quantized one), where the analysis then begins, so a
        // windowed source (the page's) fetches those bytes once.
        let findings = match self.inspection.plan.get(i) {
            Some(&Planned::Tensor { index, .. }) => {
                fake::model_tensor_finding(&self.inspection.model, index)?
                    .into_iter()
                    .collect()
            }
            _ => Vec::new(),
        };
        let row = self.inspection.row(i, scratch)?;
        Ok(RowResult { row, findings })
    }

    /// The files whose digests [`Pipeline::report`] wants, in name order.
    pub fn digest_files(&self) -> Vec<String> {
        self.expected.digests.keys().cloned().collect()
    }

    /// The report from every row's result (in row order) and the actual
    /// digests of the files named by [`Pipeline::digest_files`] that are
    /// present (file name to hex). Digest findings come last, in file
    /// name order; with `None` (not hashed yet) there are none.
    pub fn report(
        &self,
        rows: Vec<RowResult>,
        digests: Option<&BTreeMap<String, String>>,
    ) -> Report {
        let mut extra = Vec::new();
        let rows = rows
            .into_iter()
            .map(|r| {
                extra.extend(r.findings);
                r.row
            })
            .collect();
        let mut report = self.inspection.report(rows);
        add_findings(&mut report, extra);
        if let Some(d) = digests {
            // After the model's findings, in file name order: the page
            // adds them when its hashing, which runs after the analysis,
            // ends.
            report.summary.findings.extend(self.expected.findings(d));
        }
        report
    }
}

/// Adds findings to a finished report, keeping the most severe first (a
/// stable sort: equal severities keep their order).
pub fn add_findings(report: &mut Report, extra: Vec<Finding>) {
    report.summary.findings.extend(extra);
    report
        .summary
        .findings
        .sort_by_key(|f| std::cmp::Reverse(f.severity));
}
