//! The report: one row per tensor and a summary, and its exports
//! (terminal table, JSON, CSV, Markdown). Its JSON form is a public
//! contract documented in README.
//!
//! May use: `format/`, `stored/`'s descriptions of stored layers and
//! `quant/`'s analyses, policy decisions and statistics. May not use:
//! `checks/` (their findings arrive as [`Finding`]s), the pipelines,
//! `web/` or `cli/`.

pub mod export;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::format::model::ConfigSummary;
use crate::quant::analyze::TensorAnalysis;
use crate::quant::policy::Decision;
use crate::quant::stats::ValueStats;
use crate::stored::{Logical, StoredInfo};
use crate::{Finding, Model, Scheme, Severity, TensorInfo};

/// Whether a tensor is quantized or kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Quantized under the report's scheme.
    Quantize,
    /// Stored as it is.
    Keep,
    /// Already stored quantized (see the row's `stored` object); it is
    /// described, never quantized again.
    Stored,
}

/// One tensor's row. Metric fields are `null` for kept tensors and for
/// tensors holding NaN or Inf; value statistics are `null` for tensors that
/// are not decodable floats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerRow {
    pub name: String,
    pub file: String,
    pub dtype: String,
    pub shape: Vec<u64>,
    pub params: u64,
    pub action: Action,
    pub reason: Option<String>,
    pub scheme: Option<String>,
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub mse: Option<f64>,
    pub rmse: Option<f64>,
    pub rel_error: Option<f64>,
    pub max_abs_error: Option<f64>,
    pub sqnr_db: Option<f64>,
    pub cosine: Option<f64>,
    pub zero_frac: Option<f64>,
    pub clip_frac: Option<f64>,
    pub outlier_ratio: Option<f64>,
    pub err_p50: Option<f64>,
    pub err_p99: Option<f64>,
    pub nan_count: Option<u64>,
    pub inf_count: Option<u64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    /// How a stored-quantized layer is stored (`null` for other rows).
    #[serde(default)]
    pub stored: Option<StoredInfo>,
}

impl LayerRow {
    /// The row of a stored-quantized layer: how it is stored and, when it
    /// was read back, statistics of its dequantized values. It carries no
    /// error metrics: nothing is quantized again.
    pub fn stored(file: &str, dtype: &str, l: &Logical, v: Option<&ValueStats>) -> Self {
        let mut row = LayerRow::new(
            file,
            &TensorInfo {
                name: l.name.clone(),
                dtype: crate::Dtype::parse(dtype),
                shape: l.shape.clone(),
                numel: l.numel(),
                start: 0,
                end: l.stored_bytes,
            },
            Decision::Keep(crate::KeepReason::NonFloat),
            Scheme::Int8Tensor,
            &TensorAnalysis {
                values: v.cloned(),
                errors: None,
            },
        );
        row.action = Action::Stored;
        row.reason = None;
        let mut info = l.stored_info();
        if let (Some(s), Some(v)) = (info.as_mut(), v) {
            let n = v.finite();
            s.rms = (n > 0).then(|| (v.sum_sq() / n as f64).sqrt());
            s.zero_share = (v.count > 0).then(|| v.zeros as f64 / v.count as f64);
        }
        row.stored = info;
        row
    }

    /// Builds a row from a tensor, the policy's decision and what streaming
    /// it found.
    pub fn new(
        file: &str,
        t: &TensorInfo,
        decision: Decision,
        scheme: Scheme,
        a: &TensorAnalysis,
    ) -> Self {
        let (action, reason) = match decision {
            Decision::Quantize => (Action::Quantize, None),
            Decision::Keep(r) => (Action::Keep, Some(r.as_str().to_string())),
        };
        let scale_bytes = if t.dtype.decode_width().unwrap_or(4) <= 2 {
            2
        } else {
            4
        };
        let bytes_after = match action {
            Action::Quantize => scheme.quantized_bytes(&t.shape, scale_bytes),
            Action::Keep | Action::Stored => t.bytes(),
        };
        let v = a.values.as_ref();
        let e = a.errors.as_ref();
        let finite = |x: f32| x.is_finite().then_some(x as f64);
        LayerRow {
            name: t.name.clone(),
            file: file.to_string(),
            dtype: t.dtype.name().to_string(),
            shape: t.shape.clone(),
            params: t.numel,
            action,
            reason,
            scheme: (action == Action::Quantize).then(|| scheme.label()),
            bytes_before: t.bytes(),
            bytes_after,
            mse: e.map(|m| m.mse),
            rmse: e.map(|m| m.rmse),
            rel_error: e.map(|m| m.rel_error),
            max_abs_error: e.map(|m| m.max_abs_error),
            sqnr_db: e.and_then(|m| m.sqnr_db),
            cosine: e.map(|m| m.cosine),
            zero_frac: e.map(|m| m.zero_frac),
            clip_frac: e.map(|m| m.clip_frac),
            outlier_ratio: e.and_then(|m| m.outlier_ratio),
            err_p50: e.map(|m| m.err_p50),
            err_p99: e.map(|m| m.err_p99),
            nan_count: v.map(|s| s.nan),
            inf_count: v.map(|s| s.inf),
            min: v.and_then(|s| finite(s.min)),
            max: v.and_then(|s| finite(s.max)),
            mean: v.and_then(|s| s.mean()),
            std: v.and_then(|s| s.std()),
            stored: None,
        }
    }

    /// Findings this row implies: NaN/Inf, unknown dtypes, constant
    /// tensors, scales quantization never produces.
    pub fn findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        if let Some(s) = self.stored.as_ref().filter(|s| s.bad_scales > 0) {
            out.push(Finding::tensor(
                "bad_scale",
                Severity::Error,
                &self.file,
                &self.name,
                format!(
                    "tensor {:?} has {} scale(s) that are zero, negative, NaN or infinite{}",
                    self.name,
                    s.bad_scales,
                    s.bad_scale_example
                        .as_ref()
                        .map_or(String::new(), |e| format!(" (e.g. {e})"))
                ),
            ));
        }
        let nan = self.nan_count.unwrap_or(0);
        let inf = self.inf_count.unwrap_or(0);
        if nan + inf > 0 {
            out.push(Finding::tensor(
                "nan_inf",
                Severity::Error,
                &self.file,
                &self.name,
                format!(
                    "tensor {:?} holds {nan} NaN and {inf} infinite values",
                    self.name
                ),
            ));
        }
        if self.reason.as_deref() == Some("unsupported-dtype") {
            out.push(Finding::tensor(
                "unsupported_dtype",
                Severity::Warning,
                &self.file,
                &self.name,
                format!("tensor {:?} has dtype {:?}, which is not a safetensors dtype; it was kept as stored", self.name, self.dtype),
            ));
        }
        if self.params > 1 && nan + inf == 0 {
            if let (Some(lo), Some(hi)) = (self.min, self.max) {
                if lo == 0.0 && hi == 0.0 {
                    out.push(Finding::tensor(
                        "all_zero",
                        Severity::Warning,
                        &self.file,
                        &self.name,
                        format!("tensor {:?} is all zeros", self.name),
                    ));
                } else if lo == hi {
                    out.push(Finding::tensor(
                        "constant_tensor",
                        Severity::Warning,
                        &self.file,
                        &self.name,
                        format!(
                            "tensor {:?} holds one value, {lo}, in all {} elements",
                            self.name, self.params
                        ),
                    ));
                }
            }
        }
        out
    }
}

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
