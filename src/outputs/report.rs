//! The output check's report: the JSON `outputs` object, and its text,
//! Markdown and CSV renderings.
//!
//! May use: [`super::figures`], `serde`. File-derived strings (input
//! texts, labels) are printed through [`crate::report::export::printable`].

use std::fmt::Write;

use serde::Serialize;

use super::figures::{ClassificationFigures, EmbeddingFigures, LayerFigures};
use super::next_token::{InputNextToken, NextTokenFigures};
use crate::report::export::printable;

/// An input for display: each text made printable, a pair's two texts
/// joined by ` ⇥ `.
pub fn shown(text: &str) -> String {
    text.split('\t')
        .map(printable)
        .collect::<Vec<_>>()
        .join(" ⇥ ")
}

/// Everything the output check measured: the JSON `outputs` object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputsReport {
    /// `model_type` of the original.
    pub model_type: String,
    /// `architectures[0]` of the original.
    pub architecture: Option<String>,
    /// What the quantized side is (a scheme on the fly, or a converted format).
    pub quantized: String,
    /// Number of inputs.
    pub inputs: usize,
    /// Inputs cut to `max_length`.
    pub truncated: usize,
    /// The longest input in tokens.
    pub max_length: usize,
    /// Tokens over all inputs.
    pub tokens: usize,
    /// Layer 0 (embeddings) to L.
    pub layers: Vec<LayerFigures>,
    /// Pooled-embedding figures (the configured pooling of a
    /// sentence-transformers model; mean pooling for a bare encoder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<EmbeddingFigures>,
    /// CLS-pooled figures of a bare encoder (no pooling config, no head).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_cls: Option<EmbeddingFigures>,
    /// Figures of a sequence classifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<ClassificationFigures>,
    /// Next-token figures of a decoder LLM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<NextTokenFigures>,
    /// Per-input next-token figures of a decoder LLM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_input: Option<Vec<InputNextToken>>,
}

impl OutputsReport {
    /// The JSON object `{"outputs": …}`.
    pub fn to_json(&self) -> String {
        let v = serde_json::json!({ "outputs": self });
        serde_json::to_string_pretty(&v).expect("serialisable") + "\n"
    }

    /// One-line summaries, e.g. "mean embedding cosine 0.9991, min …".
    pub fn summary_lines(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(e) = &self.embedding {
            v.push(format!(
                "embedding cosine ({} pooling{}): mean {:.6}, min {:.6}; {}/{} nearest neighbours unchanged",
                e.pooling,
                if e.normalized { ", normalised" } else { "" },
                e.cosine_mean,
                e.cosine_min,
                e.neighbours_same,
                self.inputs
            ));
        }
        if let Some(e) = &self.embedding_cls {
            v.push(format!(
                "embedding cosine (cls pooling): mean {:.6}, min {:.6}",
                e.cosine_mean, e.cosine_min
            ));
        }
        if let Some(c) = &self.classification {
            v.push(format!(
                "labels agree on {}/{}; KLD mean {:.3e}, median {:.3e}, p99 {:.3e}, max {:.3e}",
                c.agreement, self.inputs, c.kld_mean, c.kld_median, c.kld_p99, c.kld_max
            ));
        }
        if let Some(n) = &self.next_token {
            v.push(super::next_token::summary_line(n, self.tokens));
        }
        v
    }

    fn header(&self) -> String {
        format!(
            "{} ({}) against {}: {} inputs, {} tokens, {} truncated at {} tokens",
            printable(self.architecture.as_deref().unwrap_or(&self.model_type)),
            printable(&self.model_type),
            self.quantized,
            self.inputs,
            self.tokens,
            self.truncated,
            self.max_length
        )
    }

    /// A plain-text report for a terminal.
    pub fn to_text(&self) -> String {
        let mut s = self.header() + "\n\n";
        let _ = writeln!(
            s,
            "{:>5}  {:>10}  {:>10}  {:>10}",
            "layer", "rel.err", "cosine", "alone"
        );
        for l in &self.layers {
            let _ = writeln!(
                s,
                "{:>5}  {:>9.4}%  {:>10.6}  {:>10}",
                l.layer,
                l.rel_error * 100.0,
                l.cosine,
                l.alone_rel_error
                    .map_or("-".into(), |a| format!("{:.4}%", a * 100.0))
            );
        }
        s.push('\n');
        for line in self.summary_lines() {
            let _ = writeln!(s, "{line}");
        }
        if let Some(e) = &self.embedding {
            let mut worst: Vec<_> = e.per_input.iter().collect();
            worst.sort_by(|a, b| a.cosine.total_cmp(&b.cosine));
            let _ = writeln!(s, "lowest cosines:");
            for p in worst.iter().take(3) {
                let _ = writeln!(s, "  {:.6}  {}", p.cosine, shown(&p.text));
            }
        }
        if let Some(c) = &self.classification {
            for p in c.per_input.iter().filter(|p| p.label != p.label_quantized) {
                let _ = writeln!(
                    s,
                    "  changed: {} -> {}  {}",
                    printable(&p.label),
                    printable(&p.label_quantized),
                    shown(&p.text)
                );
            }
        }
        s
    }

    /// A Markdown section.
    pub fn to_markdown(&self) -> String {
        let mut s = format!("## Outputs\n\n{}\n\n", self.header());
        for line in self.summary_lines() {
            let _ = writeln!(s, "- {line}");
        }
        s.push_str("\n| layer | rel. error | cosine | alone rel. error |\n|---:|---:|---:|---:|\n");
        for l in &self.layers {
            let _ = writeln!(
                s,
                "| {} | {:.4} % | {:.6} | {} |",
                l.layer,
                l.rel_error * 100.0,
                l.cosine,
                l.alone_rel_error
                    .map_or("-".into(), |a| format!("{:.4} %", a * 100.0))
            );
        }
        let cell = |t: &str| shown(t).replace('|', "\\|");
        if let Some(e) = &self.embedding {
            s.push_str("\n| input | tokens | cosine |\n|---|---:|---:|\n");
            for p in &e.per_input {
                let _ = writeln!(s, "| {} | {} | {:.6} |", cell(&p.text), p.tokens, p.cosine);
            }
        }
        if let Some(p) = &self.per_input {
            s.push_str(&super::next_token::markdown_rows(p));
        }
        if let Some(c) = &self.classification {
            s.push_str("\n| input | label | quantized | KLD |\n|---|---|---|---:|\n");
            for p in &c.per_input {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {:.3e} |",
                    cell(&p.text),
                    cell(&p.label),
                    cell(&p.label_quantized),
                    p.kld
                );
            }
        }
        s
    }

    /// CSV: one line per layer, then one per input.
    pub fn to_csv(&self) -> String {
        let q = |t: &str| format!("\"{}\"", printable(t).replace('"', "\"\""));
        let mut s = String::from(
            "kind,index,rel_error,cosine,alone_rel_error,text,label,label_quantized,kld\n",
        );
        for l in &self.layers {
            let a = l.alone_rel_error.map_or(String::new(), |a| a.to_string());
            let _ = writeln!(s, "layer,{},{},{},{a},,,,", l.layer, l.rel_error, l.cosine);
        }
        if let Some(e) = &self.embedding {
            for (i, p) in e.per_input.iter().enumerate() {
                let _ = writeln!(s, "input,{i},,{},,{},,,", p.cosine, q(&p.text));
            }
        }
        if let Some(p) = &self.per_input {
            s.push_str(&super::next_token::csv_rows(p));
        }
        if let Some(c) = &self.classification {
            for (i, p) in c.per_input.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "input,{i},,,,{},{},{},{}",
                    q(&p.text),
                    q(&p.label),
                    q(&p.label_quantized),
                    p.kld
                );
            }
        }
        s
    }
}
