//! The figures of the output check, computed in f64 over valid tokens:
//! per-layer accumulated and alone errors, embedding cosines and nearest
//! neighbours, classification agreement and KL divergence.
//!
//! May use: `serde` only. Works on plain `f32` slices, not tensors, so the
//! definitions are readable and testable on their own.

use serde::Serialize;

/// One layer's figures. Layer 0 is the embeddings' output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerFigures {
    /// 0 for the embeddings, l for encoder layer l.
    pub layer: usize,
    /// ‖Hq − H‖_F / ‖H‖_F over every token of every input.
    pub rel_error: f64,
    /// Mean over tokens of cos(hq_t, h_t).
    pub cosine: f64,
    /// The quantized layer fed the original input, against the original
    /// output: this layer's own damage (absent for layer 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alone_rel_error: Option<f64>,
}

/// Accumulates one layer's figures input by input.
#[derive(Debug, Clone, Default)]
pub struct LayerAcc {
    diff_sq: f64,
    ref_sq: f64,
    alone_sq: f64,
    has_alone: bool,
    cos_sum: f64,
    tokens: u64,
}

/// Cosine of two vectors in f64 (0 when either is all zeros).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x as f64, y as f64);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    let d = (aa * bb).sqrt();
    if d > 0.0 {
        ab / d
    } else {
        0.0
    }
}

fn diff_sq(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = x as f64 - y as f64;
            d * d
        })
        .sum()
}

impl LayerAcc {
    /// Adds one input: original `h`, quantized `q` and, past layer 0, the
    /// quantized layer's output on the original input, each `[tokens × width]`.
    pub fn push(&mut self, h: &[f32], q: &[f32], alone: Option<&[f32]>, width: usize) {
        self.diff_sq += diff_sq(q, h);
        self.ref_sq += h.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>();
        if let Some(a) = alone {
            self.alone_sq += diff_sq(a, h);
            self.has_alone = true;
        }
        for (ht, qt) in h.chunks_exact(width).zip(q.chunks_exact(width)) {
            self.cos_sum += cosine(qt, ht);
            self.tokens += 1;
        }
    }

    /// The figures of layer `layer`.
    pub fn finish(&self, layer: usize) -> LayerFigures {
        let rel = |sq: f64| {
            if self.ref_sq > 0.0 {
                (sq / self.ref_sq).sqrt()
            } else {
                0.0
            }
        };
        LayerFigures {
            layer,
            rel_error: rel(self.diff_sq),
            cosine: self.cos_sum / self.tokens.max(1) as f64,
            alone_rel_error: self.has_alone.then(|| rel(self.alone_sq)),
        }
    }
}

/// One input's embedding figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputCosine {
    /// The input (a pair joined by a TAB).
    pub text: String,
    /// Its tokens, special tokens included.
    pub tokens: usize,
    /// Cosine between the original and quantized pooled vectors.
    pub cosine: f64,
}

/// Embedding figures of sentence-embedding (or bare) models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmbeddingFigures {
    /// How tokens were pooled: `mean`, `cls`, `max`, `mean_sqrt_len`.
    pub pooling: String,
    /// Whether the pooled vectors were normalised.
    pub normalized: bool,
    /// Mean per-input cosine.
    pub cosine_mean: f64,
    /// Smallest per-input cosine.
    pub cosine_min: f64,
    /// Inputs whose most similar other input is the same in both models.
    pub neighbours_same: usize,
    /// Per input.
    pub per_input: Vec<InputCosine>,
}

/// The index of each vector's most similar other vector (by cosine).
pub fn nearest_others(vs: &[Vec<f32>]) -> Vec<Option<usize>> {
    (0..vs.len())
        .map(|i| {
            let mut best: Option<(usize, f64)> = None;
            for j in (0..vs.len()).filter(|&j| j != i) {
                let c = cosine(&vs[i], &vs[j]);
                if !matches!(best, Some((_, b)) if c <= b) {
                    best = Some((j, c));
                }
            }
            best.map(|(j, _)| j)
        })
        .collect()
}

/// Embedding figures from the pooled vectors of both models.
pub fn embedding(
    pooling: &str,
    normalized: bool,
    texts: &[(String, usize)],
    orig: &[Vec<f32>],
    quant: &[Vec<f32>],
) -> EmbeddingFigures {
    let per_input: Vec<InputCosine> = texts
        .iter()
        .zip(orig.iter().zip(quant))
        .map(|((text, tokens), (o, q))| InputCosine {
            text: text.clone(),
            tokens: *tokens,
            cosine: cosine(o, q),
        })
        .collect();
    let n = per_input.len().max(1) as f64;
    let (no, nq) = (nearest_others(orig), nearest_others(quant));
    EmbeddingFigures {
        pooling: pooling.into(),
        normalized,
        cosine_mean: per_input.iter().map(|p| p.cosine).sum::<f64>() / n,
        cosine_min: per_input
            .iter()
            .map(|p| p.cosine)
            .fold(f64::INFINITY, f64::min),
        neighbours_same: no
            .iter()
            .zip(&nq)
            .filter(|(a, b)| a.is_some() && a == b)
            .count(),
        per_input,
    }
}

/// One input's classification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputLabels {
    /// The input (a pair joined by a TAB).
    pub text: String,
    /// The original model's label.
    pub label: String,
    /// The quantized model's label.
    pub label_quantized: String,
    /// KL(P_orig ‖ P_quant) of the softmax, in nats.
    pub kld: f64,
}

/// Classification figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassificationFigures {
    /// Inputs whose label is the same.
    pub agreement: usize,
    /// Mean KLD.
    pub kld_mean: f64,
    /// Largest KLD.
    pub kld_max: f64,
    /// Nearest-rank percentiles of the per-input KLD (index round(q·(n−1))),
    /// as llama.cpp's `--kl-divergence` reports them.
    pub kld_median: f64,
    pub kld_p90: f64,
    pub kld_p99: f64,
    /// Per input.
    pub per_input: Vec<InputLabels>,
}

/// log-softmax of logits in f64.
pub fn log_softmax(logits: &[f32]) -> Vec<f64> {
    let m = logits
        .iter()
        .fold(f64::NEG_INFINITY, |m, &x| m.max(x as f64));
    let lse = logits
        .iter()
        .map(|&x| (x as f64 - m).exp())
        .sum::<f64>()
        .ln()
        + m;
    logits.iter().map(|&x| x as f64 - lse).collect()
}

/// KL(P ‖ Q) from log-probabilities.
pub fn kld(lp: &[f64], lq: &[f64]) -> f64 {
    lp.iter().zip(lq).map(|(&p, &q)| p.exp() * (p - q)).sum()
}

fn argmax(xs: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best
}

/// Nearest-rank percentile of sorted values: index round(q·(n−1)).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = (q * (sorted.len() - 1) as f64 + 0.5) as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Classification figures from both models' logits.
pub fn classification(
    labels: &[String],
    texts: &[String],
    orig: &[Vec<f32>],
    quant: &[Vec<f32>],
) -> ClassificationFigures {
    let name = |i: usize| {
        labels
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("LABEL_{i}"))
    };
    let per_input: Vec<InputLabels> = texts
        .iter()
        .zip(orig.iter().zip(quant))
        .map(|(text, (o, q))| {
            let (lp, lq) = (log_softmax(o), log_softmax(q));
            InputLabels {
                text: text.clone(),
                label: name(argmax(&lp)),
                label_quantized: name(argmax(&lq)),
                kld: kld(&lp, &lq),
            }
        })
        .collect();
    let mut sorted: Vec<f64> = per_input.iter().map(|p| p.kld).collect();
    sorted.sort_by(f64::total_cmp);
    ClassificationFigures {
        agreement: per_input
            .iter()
            .filter(|p| p.label == p.label_quantized)
            .count(),
        kld_mean: sorted.iter().sum::<f64>() / sorted.len().max(1) as f64,
        kld_max: sorted.last().copied().unwrap_or(0.0),
        kld_median: percentile(&sorted, 0.5),
        kld_p90: percentile(&sorted, 0.9),
        kld_p99: percentile(&sorted, 0.99),
        per_input,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_figures_by_hand() {
        let mut a = LayerAcc::default();
        // Two tokens of width 2; q differs from h in one element.
        a.push(
            &[3.0, 4.0, 1.0, 0.0],
            &[3.0, 4.0, 1.0, 1.0],
            Some(&[3.0, 4.0, 1.0, 0.0]),
            2,
        );
        let f = a.finish(1);
        assert!((f.rel_error - (1.0f64 / 26.0).sqrt()).abs() < 1e-12);
        assert!((f.cosine - (1.0 + 0.5f64.sqrt()) / 2.0).abs() < 1e-12);
        assert_eq!(f.alone_rel_error, Some(0.0));
        assert_eq!(LayerAcc::default().finish(0).alone_rel_error, None);
    }

    #[test]
    fn kld_and_labels() {
        let l = ["A".to_string(), "B".to_string()];
        let c = classification(
            &l,
            &["x".into(), "y".into()],
            &[vec![2.0, 0.0], vec![0.0, 1.0]],
            &[vec![2.0, 0.0], vec![1.0, 0.0]],
        );
        assert_eq!(c.agreement, 1);
        assert_eq!(c.per_input[1].label_quantized, "A");
        assert_eq!(c.per_input[0].kld, 0.0);
        let (p, q) = (log_softmax(&[0.0, 1.0]), log_softmax(&[1.0, 0.0]));
        assert!((c.kld_max - kld(&p, &q)).abs() < 1e-15 && c.kld_max > 0.4);
        assert_eq!(percentile(&[1.0, 2.0, 3.0], 0.5), 2.0);
    }

    #[test]
    fn neighbours() {
        let o = vec![vec![1.0, 0.0], vec![0.9, 0.1], vec![0.0, 1.0]];
        let q = vec![vec![1.0, 0.0], vec![0.1, 0.9], vec![0.0, 1.0]];
        assert_eq!(nearest_others(&o), [Some(1), Some(0), Some(1)]);
        let t: Vec<(String, usize)> = (0..3).map(|i| (i.to_string(), 1)).collect();
        let e = embedding("mean", false, &t, &o, &q);
        assert_eq!(nearest_others(&q), [Some(1), Some(2), Some(1)]);
        assert_eq!(e.neighbours_same, 2);
        assert!((e.cosine_min - cosine(&[0.9, 0.1], &[0.1, 0.9])).abs() < 1e-12);
    }
}
