//! Next-token figures of a decoder, as llama.cpp's `--kl-divergence`
//! reports them: KL(P_orig ‖ P_quant) over the full vocabulary in f64 per
//! position, its mean, median, p99 and max, the same-top-token count and
//! RMS Δp of the actual next token.
//!
//! Bounded memory: the `lm_head` is read in blocks of vocabulary rows, and
//! each block's logits `[positions × rows]` are folded into per-position
//! running sums (an online log-softmax) and dropped, so neither the whole
//! `lm_head` nor `[positions × vocabulary]` logits are ever held.
//!
//! May use: `candle-core`, [`super::weights`], [`super::figures`].

use candle_core::{Tensor, D};
use serde::Serialize;

use super::engine::Observer;
use super::error::Result;
use super::figures::percentile;
use super::tokenizer::Encoded;
use super::weights::WeightStream;

/// Floats of logits (per side) or `lm_head` rows one block may hold.
pub const BLOCK_FLOATS: usize = 4 << 20;

/// Where a decoder's output layer is: the final norm and the `lm_head`
/// (the embedding table when tied).
#[derive(Debug, Clone, PartialEq)]
pub struct LmHead {
    /// The final RMSNorm's weight.
    pub norm: String,
    /// The output matrix `[vocab × hidden]`.
    pub weight: String,
    /// RMSNorm epsilon.
    pub eps: f64,
    /// Rows of the output matrix.
    pub vocab: usize,
}

/// The running log-softmax statistics of one position, both sides.
#[derive(Debug, Clone)]
pub struct PositionAcc {
    /// Largest original logit so far, and its index.
    max_o: f64,
    arg_o: usize,
    /// Σ exp(a − max_o) and Σ exp(a − max_o)(a − b) over rows seen.
    sum_o: f64,
    cross: f64,
    max_q: f64,
    arg_q: usize,
    sum_q: f64,
    /// The actual next token, and both logits of it once seen.
    next: Option<usize>,
    next_logits: Option<(f64, f64)>,
}

/// One position's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PositionResult {
    /// KL(P_orig ‖ P_quant) in nats.
    pub kld: f64,
    /// Whether both sides' most likely token is the same.
    pub same_top: bool,
    /// p_quant − p_orig of the actual next token, when the input has one.
    pub delta_p: Option<f64>,
}

impl PositionAcc {
    /// A position whose actual next token is `next` (None for the last).
    pub fn new(next: Option<usize>) -> Self {
        PositionAcc {
            max_o: f64::NEG_INFINITY,
            arg_o: 0,
            sum_o: 0.0,
            cross: 0.0,
            max_q: f64::NEG_INFINITY,
            arg_q: 0,
            sum_q: 0.0,
            next,
            next_logits: None,
        }
    }

    /// Folds in the logits of vocabulary rows `first..first + o.len()`.
    pub fn push(&mut self, first: usize, o: &[f32], q: &[f32]) {
        let block_max = |xs: &[f32]| {
            let mut best = (f64::NEG_INFINITY, 0);
            for (i, &x) in xs.iter().enumerate() {
                if (x as f64) > best.0 {
                    best = (x as f64, i);
                }
            }
            best
        };
        let ((mo, io), (mq, iq)) = (block_max(o), block_max(q));
        if mo > self.max_o {
            let r = (self.max_o - mo).exp();
            self.sum_o *= r;
            self.cross *= r;
            (self.max_o, self.arg_o) = (mo, first + io);
        }
        if mq > self.max_q {
            self.sum_q *= (self.max_q - mq).exp();
            (self.max_q, self.arg_q) = (mq, first + iq);
        }
        for (&a, &b) in o.iter().zip(q) {
            let (a, b) = (a as f64, b as f64);
            let e = (a - self.max_o).exp();
            self.sum_o += e;
            self.cross += e * (a - b);
            self.sum_q += (b - self.max_q).exp();
        }
        if let Some(n) = self.next.filter(|&n| n >= first && n < first + o.len()) {
            self.next_logits = Some((o[n - first] as f64, q[n - first] as f64));
        }
    }

    /// The position's figures once every row has been pushed:
    /// KL = Σ p(a − b) − lse(a) + lse(b).
    pub fn finish(&self) -> PositionResult {
        let lse_o = self.max_o + self.sum_o.ln();
        let lse_q = self.max_q + self.sum_q.ln();
        PositionResult {
            kld: (self.cross / self.sum_o - lse_o + lse_q).max(0.0),
            same_top: self.arg_o == self.arg_q,
            delta_p: self
                .next_logits
                .map(|(a, b)| (b - lse_q).exp() - (a - lse_o).exp()),
        }
    }
}

/// The `next_token` object of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NextTokenFigures {
    /// Mean KLD over every position of every input.
    pub kld_mean: f64,
    /// Nearest-rank percentiles (index round(q·(n−1))) and the maximum.
    pub kld_median: f64,
    pub kld_p99: f64,
    pub kld_max: f64,
    /// Positions whose most likely next token is the same.
    pub same_top: usize,
    /// RMS over positions with a next token in the input of p_quant − p_orig
    /// of that token (llama.cpp's RMS Δp).
    pub rms_delta_p: f64,
}

/// One input's next-token figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputNextToken {
    /// The input text.
    pub text: String,
    /// Its positions (tokens, special tokens included).
    pub tokens: usize,
    /// Mean KLD over its positions.
    pub kld_mean: f64,
    /// Share of its positions with the same top token.
    pub same_top: f64,
    /// KLD of each position, for a strip coloured by KLD.
    pub kld: Vec<f64>,
    /// Each position's token as text (the part of the input it adds, see
    /// [`super::tokenizer::pieces`]), for the same strip.
    pub token_strings: Vec<String>,
}

/// The figures from every position's result, `per_input` holding each
/// input's text and position count (in order, summing to `results.len()`).
pub fn figures(
    results: &[PositionResult],
    per_input: &[(String, usize)],
) -> (NextTokenFigures, Vec<InputNextToken>) {
    let mut sorted: Vec<f64> = results.iter().map(|r| r.kld).collect();
    sorted.sort_by(f64::total_cmp);
    let n = results.len().max(1) as f64;
    let dps: Vec<f64> = results.iter().filter_map(|r| r.delta_p).collect();
    let figures = NextTokenFigures {
        kld_mean: sorted.iter().sum::<f64>() / n,
        kld_median: percentile(&sorted, 0.5),
        kld_p99: percentile(&sorted, 0.99),
        kld_max: sorted.last().copied().unwrap_or(0.0),
        same_top: results.iter().filter(|r| r.same_top).count(),
        rms_delta_p: if dps.is_empty() {
            0.0
        } else {
            (dps.iter().map(|d| d * d).sum::<f64>() / dps.len() as f64).sqrt()
        },
    };
    let mut at = 0;
    let inputs = per_input
        .iter()
        .map(|(text, t)| {
            let r = &results[at..at + t];
            at += t;
            let m = (*t).max(1) as f64;
            InputNextToken {
                text: text.clone(),
                tokens: *t,
                kld_mean: r.iter().map(|x| x.kld).sum::<f64>() / m,
                same_top: r.iter().filter(|x| x.same_top).count() as f64 / m,
                kld: r.iter().map(|x| x.kld).collect(),
                token_strings: Vec::new(),
            }
        })
        .collect();
    (figures, inputs)
}

/// The one-line summary of the next-token figures over `tokens` positions.
pub fn summary_line(n: &NextTokenFigures, tokens: usize) -> String {
    format!(
        "next token: same top token at {}/{tokens} positions; KLD mean {:.3e}, median {:.3e}, p99 {:.3e}, max {:.3e}; RMS Δp {:.3}%",
        n.same_top, n.kld_mean, n.kld_median, n.kld_p99, n.kld_max, n.rms_delta_p * 100.0
    )
}

/// Markdown table of the per-input next-token figures.
pub fn markdown_rows(per: &[InputNextToken]) -> String {
    let mut s = String::from("\n| input | tokens | mean KLD | same top |\n|---|---:|---:|---:|\n");
    for p in per {
        let text = super::report::shown(&p.text).replace('|', "\\|");
        s.push_str(&format!(
            "| {text} | {} | {:.3e} | {:.1} % |\n",
            p.tokens,
            p.kld_mean,
            p.same_top * 100.0
        ));
    }
    s
}

/// CSV lines (`input,i,,,,text,,,kld_mean`) of the per-input figures.
pub fn csv_rows(per: &[InputNextToken]) -> String {
    per.iter()
        .enumerate()
        .map(|(i, p)| {
            let text = crate::report::export::printable(&p.text).replace('"', "\"\"");
            format!("input,{i},,,,\"{text}\",,,{}\n", p.kld_mean)
        })
        .collect()
}

/// RMSNorm over the last axis: `x / sqrt(mean(x²) + eps) · g`.
pub fn rms_norm(x: &Tensor, g: &Tensor, eps: f64) -> Result<Tensor> {
    let n = x.dim(D::Minus1)? as f64;
    let ms = (x.sqr()?.sum_keepdim(D::Minus1)? / n)?;
    Ok(x.broadcast_div(&(ms + eps)?.sqrt()?)?.broadcast_mul(g)?)
}

/// Vocabulary rows per block for `positions` positions of width `hidden`.
pub fn block_rows(positions: usize, hidden: usize, vocab: usize) -> usize {
    (BLOCK_FLOATS / positions.max(hidden).max(1)).clamp(1, vocab.max(1))
}

/// Runs the final norm and the `lm_head` of both sides over the last
/// hidden states of every input and scores every position.
#[allow(clippy::too_many_arguments)]
pub fn score(
    head: &LmHead,
    original: &mut WeightStream,
    quantized: &mut WeightStream,
    ho: &[Tensor],
    hq: &[Tensor],
    enc: &[Encoded],
    texts: &[String],
    obs: &mut dyn Observer,
) -> Result<(NextTokenFigures, Vec<InputNextToken>)> {
    let normed = |w: &mut WeightStream, hs: &[Tensor]| -> Result<Tensor> {
        let g = w.tensor(&head.norm, "the final norm")?;
        rms_norm(&Tensor::cat(hs, 0)?, &g, head.eps)
    };
    let (no, nq) = (normed(original, ho)?, normed(quantized, hq)?);
    let mut acc: Vec<PositionAcc> = enc
        .iter()
        .flat_map(|e| {
            (0..e.ids.len()).map(|p| PositionAcc::new(e.ids.get(p + 1).map(|&i| i as usize)))
        })
        .collect();
    let (positions, hidden) = no.dims2()?;
    let rows = block_rows(positions, hidden, head.vocab);
    for first in (0..head.vocab).step_by(rows) {
        let end = (first + rows).min(head.vocab) as u64;
        let logits = |w: &mut WeightStream, h: &Tensor| -> Result<Tensor> {
            let m = w.row_block(
                &head.weight,
                first as u64,
                end,
                "the output layer (lm_head)",
            )?;
            Ok(h.matmul(&m.t()?)?)
        };
        let (lo, lq) = (logits(original, &no)?, logits(quantized, &nq)?);
        obs.logits(first, &lo, &lq);
        let (vo, vq) = (lo.to_vec2::<f32>()?, lq.to_vec2::<f32>()?);
        for (a, (o, q)) in acc.iter_mut().zip(vo.iter().zip(&vq)) {
            a.push(first, o, q);
        }
    }
    let results: Vec<PositionResult> = acc.iter().map(PositionAcc::finish).collect();
    let per: Vec<(String, usize)> = texts
        .iter()
        .cloned()
        .zip(enc.iter().map(|e| e.ids.len()))
        .collect();
    let (figures, mut inputs) = figures(&results, &per);
    for (input, e) in inputs.iter_mut().zip(enc) {
        input.token_strings = e.pieces.clone();
    }
    Ok((figures, inputs))
}

#[cfg(test)]
mod tests {
    use super::super::figures::{kld, log_softmax};
    use super::*;

    #[test]
    fn online_blocks_equal_the_full_log_softmax() {
        let o: Vec<f32> = (0..37)
            .map(|i| ((i * 7919) % 23) as f32 * 0.7 - 8.0)
            .collect();
        let q: Vec<f32> = o
            .iter()
            .enumerate()
            .map(|(i, x)| x + ((i % 5) as f32 - 2.0) * 0.3)
            .collect();
        let (lp, lq) = (log_softmax(&o), log_softmax(&q));
        let want = kld(&lp, &lq);
        for block in [1, 4, 10, 37] {
            let mut a = PositionAcc::new(Some(11));
            for first in (0..37).step_by(block) {
                let end = (first + block).min(37);
                a.push(first, &o[first..end], &q[first..end]);
            }
            let r = a.finish();
            assert!(
                (r.kld - want).abs() < 1e-12 * want.max(1.0),
                "block {block}: {} vs {want}",
                r.kld
            );
            let dp = lq[11].exp() - lp[11].exp();
            assert!((r.delta_p.unwrap() - dp).abs() < 1e-12);
            let arg = |v: &[f64]| (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b });
            assert_eq!(r.same_top, arg(&lp) == arg(&lq));
        }
        assert!(want > 1e-3);
    }

    #[test]
    fn summary_figures_by_hand() {
        let r = |kld, same_top, delta_p| PositionResult {
            kld,
            same_top,
            delta_p,
        };
        let results = [
            r(0.1, true, Some(0.3)),
            r(0.4, false, None),
            r(0.2, true, Some(-0.4)),
        ];
        let (f, per) = figures(&results, &[("a".into(), 2), ("b".into(), 1)]);
        assert!((f.kld_mean - 0.7 / 3.0).abs() < 1e-15);
        assert_eq!(
            (f.kld_median, f.kld_max, f.kld_p99, f.same_top),
            (0.2, 0.4, 0.4, 2)
        );
        assert!((f.rms_delta_p - (0.25f64 / 2.0).sqrt()).abs() < 1e-15);
        assert_eq!(
            (per[0].tokens, per[0].same_top, per[1].kld_mean),
            (2, 0.5, 0.2)
        );
        assert!((per[0].kld_mean - 0.25).abs() < 1e-15);
    }

    #[test]
    fn blocks_are_bounded() {
        assert_eq!(block_rows(350, 64, 700), 700);
        assert_eq!(block_rows(1000, 2048, 152_000), BLOCK_FLOATS / 2048);
        assert_eq!(block_rows(usize::MAX, 1, 10), 1);
    }
}
