//! The report: one row per tensor and a summary, and its exports
//! (terminal table, JSON, CSV, Markdown). Its JSON form is a public
//! contract documented in README.
//!
//! May use: `format/`, `stored/`'s descriptions of stored layers and
//! `quant/`'s analyses, policy decisions and statistics. May not use:
//! `checks/` (their findings arrive as [`Finding`]s), the pipelines,
//! `web/` or `cli/`.

pub mod export;
mod row;

pub use row::{Action, LayerRow};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::format::model::ConfigSummary;
use crate::{Finding, Model, Scheme, Severity};

/// A layer named among the worst.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorstLayer {
    pub name: String,
    pub rel_error: f64,
}

/// One safetensors file of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileSummary {
    pub name: String,
    pub bytes: u64,
    pub header_bytes: u64,
    pub tensors: u64,
    pub metadata: BTreeMap<String, String>,
}

/// Totals over the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub tensors: u64,
    pub quantized_layers: u64,
    pub kept_layers: u64,
    /// Layers already stored quantized (`action: "stored"`).
    #[serde(default)]
    pub stored_layers: u64,
    pub kept_by_dtype: BTreeMap<String, u64>,
    pub kept_by_reason: BTreeMap<String, u64>,
    pub params: u64,
    pub quantized_params: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub compression_ratio: f64,
    /// 8 × stored tensor bytes / logical parameters (a stored-quantized
    /// weight counts its dequantized elements, its companions bytes only).
    #[serde(default)]
    pub bits_per_weight: Option<f64>,
    pub max_rel_error: Option<f64>,
    pub worst_layers: Vec<WorstLayer>,
    pub findings: Vec<Finding>,
}

/// The whole analysis of a model under one scheme and policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub quantlens_version: String,
    pub scheme: String,
    pub policy: String,
    pub files: Vec<FileSummary>,
    pub config: Option<ConfigSummary>,
    pub summary: Summary,
    pub layers: Vec<LayerRow>,
}

impl Report {
    /// Assembles a report from a model and its rows (in model order).
    pub fn build(model: &Model, scheme: Scheme, policy: &str, layers: Vec<LayerRow>) -> Report {
        let mut findings = model.findings.clone();
        for r in &layers {
            findings.extend(r.findings());
        }
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let files = model
            .shards
            .iter()
            .map(|s| FileSummary {
                name: s.header.file.clone(),
                bytes: s.header.file_len,
                header_bytes: s.header.header_len,
                tensors: s.header.tensors.len() as u64,
                metadata: s.header.metadata.clone(),
            })
            .collect();
        Report {
            quantlens_version: env!("CARGO_PKG_VERSION").to_string(),
            scheme: scheme.label(),
            policy: policy.to_string(),
            files,
            config: model.config_summary(),
            summary: Summary::of(&layers, findings),
            layers,
        }
    }

    /// Codes of findings that mean part of the model's structure could not
    /// be read (the CLI exits 2 on them, as for an unreadable file).
    pub const STRUCTURAL: &'static [&'static str] = &["truncated", "bad_header", "missing_shard"];

    /// The first finding saying part of the model could not be read.
    pub fn structural_finding(&self) -> Option<&Finding> {
        self.summary
            .findings
            .iter()
            .find(|f| Self::STRUCTURAL.contains(&f.code.as_str()))
    }

    /// Whether any finding is error-level.
    pub fn has_errors(&self) -> bool {
        self.summary
            .findings
            .iter()
            .any(|f| f.severity == Severity::Error)
    }
}

impl Summary {
    /// Totals over `layers`, carrying `findings`.
    pub fn of(layers: &[LayerRow], findings: Vec<Finding>) -> Summary {
        let mut kept_by_dtype = BTreeMap::new();
        let mut kept_by_reason = BTreeMap::new();
        let (mut q, mut qp, mut params, mut before, mut after) = (0, 0, 0, 0, 0);
        let mut stored = 0;
        for r in layers {
            params += r.params;
            before += r.bytes_before;
            after += r.bytes_after;
            match r.action {
                Action::Quantize => {
                    q += 1;
                    qp += r.params;
                }
                Action::Stored => stored += 1,
                Action::Keep => {
                    *kept_by_dtype.entry(r.dtype.clone()).or_insert(0) += 1;
                    *kept_by_reason
                        .entry(r.reason.clone().unwrap_or_default())
                        .or_insert(0) += 1;
                }
            }
        }
        let mut rated: Vec<&LayerRow> = layers.iter().filter(|r| r.rel_error.is_some()).collect();
        rated.sort_by(|a, b| {
            b.rel_error
                .partial_cmp(&a.rel_error)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        Summary {
            tensors: layers.len() as u64,
            quantized_layers: q,
            kept_layers: layers.len() as u64 - q - stored,
            stored_layers: stored,
            kept_by_dtype,
            kept_by_reason,
            params,
            quantized_params: qp,
            bytes_before: before,
            bytes_after: after,
            compression_ratio: if after == 0 {
                1.0
            } else {
                before as f64 / after as f64
            },
            bits_per_weight: (params > 0).then(|| 8.0 * before as f64 / params as f64),
            max_rel_error: rated.first().and_then(|r| r.rel_error),
            worst_layers: rated
                .iter()
                .take(5)
                .map(|r| WorstLayer {
                    name: r.name.clone(),
                    rel_error: r.rel_error.unwrap_or(0.0),
                })
                .collect(),
            findings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::testing::{f32_file, model};
    use crate::quant::analyze::{analyze_tensor, Scratch};
    use crate::{Decision, KeepReason};

    /// A report over `a.weight` (quantized, int8 per tensor) and `a.bias`
    /// (kept: one dimension), each row from a real analysis.
    fn report(weight: [f32; 4]) -> Report {
        let m = model(f32_file(&[
            ("a.weight", &[2, 2], &weight),
            ("a.bias", &[2], &[0.5, 0.25]),
        ]));
        let decisions = [Decision::Quantize, Decision::Keep(KeepReason::OneD)];
        let rows = decisions
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                let (shard, t) = m.tensor(i).unwrap();
                let q = d == Decision::Quantize;
                let a = analyze_tensor(
                    shard.source.as_ref(),
                    "m.safetensors",
                    t,
                    q,
                    Scheme::Int8Tensor,
                    &mut Scratch::default(),
                )
                .unwrap();
                LayerRow::new("m.safetensors", t, d, Scheme::Int8Tensor, &a)
            })
            .collect();
        Report::build(&m, Scheme::Int8Tensor, "default", rows)
    }

    #[test]
    fn the_summary_counts_rows_bytes_and_the_worst_layer() {
        let r = report([1.0, -0.6, 0.3, 0.0]);
        let s = &r.summary;
        assert_eq!((s.tensors, s.quantized_layers, s.kept_layers), (2, 1, 1));
        assert_eq!(s.kept_by_reason.get("1-d"), Some(&1));
        // 16 + 8 bytes of f32 before; after, 4 int8 codes + a 4-byte scale + the 8-byte bias.
        assert_eq!((s.bytes_before, s.bytes_after), (24, 16));
        assert_eq!(s.compression_ratio, 1.5);
        assert_eq!(s.bits_per_weight, Some(8.0 * 24.0 / 6.0));
        assert_eq!(s.worst_layers[0].name, "a.weight");
        assert!(!r.has_errors() && r.structural_finding().is_none());
    }

    #[test]
    fn a_nan_weight_is_an_error_finding_and_has_no_error_figures() {
        let r = report([1.0, f32::NAN, 0.3, 0.0]);
        assert!(r.has_errors());
        assert!(r.summary.findings.iter().any(|f| f.code == "nan_inf"));
        assert_eq!(r.summary.max_rel_error, None);
        assert!(
            r.structural_finding().is_none(),
            "a NaN leaves the structure readable"
        );
    }
}
