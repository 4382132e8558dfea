//! One tensor's row of the report: what was done with it, its figures,
//! and the findings the figures imply.

use serde::{Deserialize, Serialize};

use crate::quant::analyze::TensorAnalysis;
use crate::quant::policy::Decision;
use crate::quant::stats::ValueStats;
use crate::stored::{Logical, StoredInfo};
use crate::{Finding, Scheme, Severity, TensorInfo};

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
