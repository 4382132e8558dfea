//! `verify ORIGINAL CONVERTED`: match tensors by name, read the converted
//! ones back as f32 whatever their format, and measure them against the
//! original with the same metrics and row schema as `inspect`.
//!
//! May use: `format/`, `stored/` (to read converted tensors back),
//! `quant/`, `checks/` and `report/`. May not use: the inspect pipeline,
//! `convert/`, `outputs/`, `web/` or `cli/`.

use std::collections::HashMap;

mod pairs;

use crate::checks::fake;
use crate::quant::analyze::CHUNK_ELEMS;
use crate::quant::stats::{ErrorStats, ValueStats};
use crate::stored::{recognise, Dequantizer, Layout, Logical, Recognised};
use crate::Error;
use crate::{Action, Finding, LayerRow, Model, Report, Scheme, Severity};

/// One tensor name present in both models.
#[derive(Debug, Clone)]
pub struct Pair {
    /// Index into the original's logical tensors.
    pub original: usize,
    /// Index into the converted model's logical tensors.
    pub converted: usize,
    /// Whether values can be compared (same shape, both decodable).
    pub comparable: bool,
}

/// A planned verification.
pub struct Verification {
    /// The reference model.
    pub original: Model,
    /// The model checked against it.
    pub converted: Model,
    /// How the original stores its tensors.
    pub orig: Recognised,
    /// How the converted model stores its tensors.
    pub conv: Recognised,
    /// Matched tensors, in the original's order.
    pub pairs: Vec<Pair>,
    /// Structural findings found while matching.
    pub findings: Vec<Finding>,
}

/// Reusable buffers for one verifying thread.
#[derive(Default)]
pub struct VerifyScratch {
    w: Vec<f32>,
    d: Vec<f32>,
    e: Vec<f32>,
}

/// One verified row and the findings it raised.
pub type VerifiedRow = (LayerRow, Vec<Finding>);

impl Verification {
    /// Matches the tensors of two opened models.
    pub fn new(original: Model, converted: Model) -> Self {
        let orig = recognise(&original, &|_| None);
        let shapes: HashMap<String, Vec<u64>> = orig
            .tensors
            .iter()
            .map(|l| (l.name.clone(), l.shape.clone()))
            .collect();
        let conv = recognise(&converted, &|n| shapes.get(n).cloned());
        let mut findings = orig.findings.clone();
        findings.extend(conv.findings.iter().cloned());
        let pairs = pairs::match_tensors(&original, &converted, &orig, &conv, &mut findings);
        Verification {
            original,
            converted,
            orig,
            conv,
            pairs,
            findings,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether no tensor matched.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Bytes row `i` reads (for progress).
    pub fn work_bytes(&self, i: usize) -> u64 {
        let p = &self.pairs[i];
        if !p.comparable {
            return 0;
        }
        self.orig.tensors[p.original].stored_bytes + self.conv.tensors[p.converted].stored_bytes
    }

    /// Streams pair `i` and returns its row and findings.
    pub fn row(&self, i: usize, s: &mut VerifyScratch) -> Result<VerifiedRow, Error> {
        let p = &self.pairs[i];
        let o = &self.orig.tensors[p.original];
        let c = &self.conv.tensors[p.converted];
        let (csh, ct) = self.converted.tensor(c.main)?;
        let cfile = csh.header.file.as_str();
        let ofile = self.original.tensor(o.main)?.0.header.file.clone();
        let mut findings = Vec::new();
        let scheme = scheme_label(c);
        let mut row = LayerRow {
            name: o.name.clone(),
            file: cfile.to_string(),
            dtype: ct.dtype.name().to_string(),
            shape: c.shape.clone(),
            params: c.numel(),
            action: if c.layout.is_quantized() {
                Action::Quantize
            } else {
                Action::Keep
            },
            reason: (!c.layout.is_quantized()).then(|| c.layout.label()),
            scheme: scheme.clone(),
            bytes_before: o.stored_bytes,
            bytes_after: c.stored_bytes,
            mse: None,
            rmse: None,
            rel_error: None,
            max_abs_error: None,
            sqnr_db: None,
            cosine: None,
            zero_frac: None,
            clip_frac: None,
            outlier_ratio: None,
            err_p50: None,
            err_p99: None,
            nan_count: None,
            inf_count: None,
            min: None,
            max: None,
            mean: None,
            std: None,
            stored: c.stored_info(),
        };
        if c.layout == Layout::Float {
            if let Some(g) = fake::detect(csh.source.as_ref(), cfile, ct)? {
                findings.push(fake::finding(cfile, ct, &g));
            }
        }
        if !p.comparable {
            return Ok((row, findings));
        }
        let mut od = Dequantizer::new(&self.original, o)?;
        let mut cd = Dequantizer::new(&self.converted, c)?;
        let (mut ov, mut cv) = (ValueStats::default(), ValueStats::default());
        let mut err = ErrorStats::default();
        let step = cd.rows_per_block(CHUNK_ELEMS);
        let rows = c.rows();
        let mut r = 0;
        while r < rows {
            let r1 = (r + step).min(rows);
            od.rows(r, r1, &mut s.w)?;
            cd.rows(r, r1, &mut s.d)?;
            ov.push(&s.w);
            cv.push(&s.d);
            if ov.nan + ov.inf + cv.nan + cv.inf == 0 {
                s.e.resize(s.w.len(), 0.0);
                err.push(&s.w, &s.d, &mut s.e);
            }
            r = r1;
        }
        let finite = |x: f32| x.is_finite().then_some(x as f64);
        row.nan_count = Some(cv.nan);
        row.inf_count = Some(cv.inf);
        row.min = finite(cv.min);
        row.max = finite(cv.max);
        row.mean = cv.mean();
        row.std = cv.std();
        if ov.nan + ov.inf > 0 {
            findings.push(Finding::tensor(
                "nan_inf",
                Severity::Error,
                &ofile,
                &o.name,
                format!(
                    "tensor {:?} of the original holds {} NaN and {} infinite values; no error is computed",
                    o.name, ov.nan, ov.inf
                ),
            ));
        } else if cv.nan + cv.inf == 0 {
            let m = err.metrics(&ov);
            row.mse = Some(m.mse);
            row.rmse = Some(m.rmse);
            row.rel_error = Some(m.rel_error);
            row.max_abs_error = Some(m.max_abs_error);
            row.sqnr_db = m.sqnr_db;
            row.cosine = Some(m.cosine);
            row.zero_frac = Some(m.zero_frac);
            row.outlier_ratio = m.outlier_ratio;
            row.err_p50 = Some(m.err_p50);
            row.err_p99 = Some(m.err_p99);
        }
        let notes = &cd.notes;
        if notes.bad_scales > 0 {
            findings.push(Finding::tensor(
                "bad_scale",
                Severity::Error,
                cfile,
                &c.name,
                format!(
                    "tensor {:?} has {} scale(s) that are zero, negative, NaN or infinite (e.g. {})",
                    c.name,
                    notes.bad_scales,
                    notes.first_bad_scale.unwrap_or(f32::NAN)
                ),
            ));
        }
        if notes.int8_min_codes > 0 {
            findings.push(Finding::tensor(
                "int8_out_of_range",
                Severity::Warning,
                cfile,
                &c.name,
                format!(
                    "tensor {:?} uses the code -128 {} times; a symmetric int8 scheme only produces -127..=127",
                    c.name, notes.int8_min_codes
                ),
            ));
        }
        Ok((row, findings))
    }

    /// Assembles the report from rows in pair order.
    pub fn report(&self, rows: Vec<VerifiedRow>) -> Report {
        let mut extra = self.findings.clone();
        extra.extend(self.original.findings.iter().cloned());
        let mut layers = Vec::with_capacity(rows.len());
        for (r, f) in rows {
            layers.push(r);
            extra.extend(f);
        }
        let quantized = self
            .conv
            .tensors
            .iter()
            .filter(|l| l.layout.is_quantized())
            .count();
        let fakes = extra
            .iter()
            .filter(|f| f.code == "fake_quantization")
            .count();
        let claims = self.converted.config.as_ref().is_some_and(|c| {
            c.get("quantization").is_some() || c.get("quantization_config").is_some()
        }) || self
            .converted
            .shards
            .iter()
            .any(|s| s.header.metadata.contains_key("quantization"));
        let before: u64 = self.original.shards.iter().map(|s| s.header.file_len).sum();
        let after: u64 = self
            .converted
            .shards
            .iter()
            .map(|s| s.header.file_len)
            .sum();
        if quantized == 0 && (fakes > 0 || claims) {
            let file = self.converted.shards[0].header.file.clone();
            extra.push(Finding::file(
                "no_compression",
                Severity::Error,
                &file,
                format!(
                    "the converted model looks quantized ({}) but stores every tensor as floats: {} bytes against the original's {} (ratio {:.3})",
                    if fakes > 0 {
                        format!("{fakes} fake-quantized tensors")
                    } else {
                        "its metadata says so".to_string()
                    },
                    after,
                    before,
                    before as f64 / after.max(1) as f64
                ),
            ));
        }
        let mut report = Report::build(&self.converted, Scheme::Int8Tensor, "verify", layers);
        report.scheme = self.format_label();
        report.summary.findings.extend(extra);
        report
            .summary
            .findings
            .sort_by_key(|f| std::cmp::Reverse(f.severity));
        report.summary.bytes_before = before;
        report.summary.bytes_after = after;
        report.summary.compression_ratio = if after == 0 {
            1.0
        } else {
            before as f64 / after as f64
        };
        report
    }

    /// Verifies every pair on this thread.
    pub fn run(&self) -> Result<Report, Error> {
        let mut s = VerifyScratch::default();
        let rows = (0..self.len())
            .map(|i| self.row(i, &mut s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.report(rows))
    }

    /// The converted model's formats, e.g. `verify: int8` or
    /// `verify: mlx-affine-4bit-g64, float`.
    pub fn format_label(&self) -> String {
        let mut labels: Vec<String> = Vec::new();
        for l in &self.conv.tensors {
            let s = l.layout.label();
            if !labels.contains(&s) {
                labels.push(s);
            }
        }
        format!("verify: {}", labels.join(", "))
    }
}

/// The scheme label of a converted tensor, as `inspect` names schemes
/// (`int8-tensor`, `affine-4bit-g64`) or as the layout names itself.
fn scheme_label(c: &Logical) -> Option<String> {
    match &c.layout {
        Layout::Int8 { rows_per_scale, .. } => Some(if *rows_per_scale > 0 {
            "int8-channel".into()
        } else {
            "int8-tensor".into()
        }),
        Layout::Mlx {
            mode: crate::stored::MlxMode::Affine,
            bits,
            group_size,
            ..
        } => Some(
            Scheme::Affine {
                bits: *bits,
                group_size: *group_size as u32,
            }
            .label(),
        ),
        l if l.is_quantized() => Some(l.label()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::testing::{f32_file, file, model};

    const W: [f32; 4] = [1.0, -0.6, 0.3, 0.0];

    /// `w` as int8 codes 127, -76, 38, 0 with one f32 scale 1/127, and
    /// the scale tensor only when `with_scale`.
    fn int8(with_scale: bool) -> Model {
        let codes = [127i8, -76, 38, 0].map(|c| c as u8);
        if !with_scale {
            let h = r#"{"w":{"dtype":"I8","shape":[2,2],"data_offsets":[0,4]}}"#;
            return model(file(h, &codes));
        }
        let h = r#"{"w":{"dtype":"I8","shape":[2,2],"data_offsets":[0,4]},"w.__scale__":{"dtype":"F32","shape":[],"data_offsets":[4,8]}}"#;
        let mut data = codes.to_vec();
        data.extend_from_slice(&(1.0f32 / 127.0).to_le_bytes());
        model(file(h, &data))
    }

    #[test]
    fn an_int8_conversion_is_one_row_measured_against_the_original() {
        let original = model(f32_file(&[("w", &[2, 2], &W)]));
        let report = Verification::new(original, int8(true)).run().unwrap();
        assert_eq!(report.layers.len(), 1, "the scale is no row of its own");
        let row = &report.layers[0];
        let d = [1.0, -76.0 / 127.0, 38.0 / 127.0, 0.0];
        let e2: f64 = W.iter().zip(d).map(|(&w, d)| (d - w as f64).powi(2)).sum();
        let w2: f64 = W.iter().map(|&w| (w as f64).powi(2)).sum();
        let rel = row.rel_error.expect("a read-back int8 layer has an error");
        assert!((rel - (e2 / w2).sqrt()).abs() < 1e-6, "{row:?}");
        assert_eq!((row.bytes_before, row.bytes_after), (16, 8));
        assert!(!report.has_errors(), "{:?}", report.summary.findings);
    }

    #[test]
    fn an_int8_weight_without_its_scale_is_an_error_finding() {
        let original = model(f32_file(&[("w", &[2, 2], &W)]));
        let report = Verification::new(original, int8(false)).run().unwrap();
        let codes: Vec<&str> = report
            .summary
            .findings
            .iter()
            .map(|f| f.code.as_str())
            .collect();
        assert!(codes.contains(&"missing_scale"), "{codes:?}");
        assert!(report.has_errors());
    }
}
