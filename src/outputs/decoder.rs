//! Decoder LLMs: Llama 2/3, Mistral (Llama's layout) and Qwen2 (q/k/v
//! biases). Pre-norm blocks of RMSNorm, causal grouped-query attention
//! with rotary positions, and a SwiGLU feed-forward; the final norm and
//! `lm_head` are scored by [`super::next_token`].
//!
//! Layer 0 is the embedding output and layer l the raw output of decoder
//! layer l, before the final norm, as transformers' hidden states.
//!
//! May use: `candle-core`/`candle-nn`, [`super::family`],
//! [`super::decoder_config`], [`super::rope`], [`super::next_token`].

use candle_core::{Device, Tensor};

use super::config::ArchConfig;
use super::decoder_config::DecoderConfig;
use super::error::{OutputsError, Result};
use super::family::{find_prefix, per_input, Family, Head, Layer};
use super::next_token::{rms_norm, LmHead};
use super::rope::{inv_freq, RopeTables};
use super::tokenizer::Encoded;
use super::weights::WeightStream;

/// A decoder family with the tensor-name prefix found in the model
/// (`model.` in transformers checkpoints).
pub struct Decoder {
    cfg: ArchConfig,
    dec: DecoderConfig,
    prefix: String,
    inv_freq: Vec<f32>,
}

impl Decoder {
    /// Checks the config and the output layer's presence.
    pub fn new(cfg: &ArchConfig, original: &WeightStream) -> Result<Self> {
        let dec = cfg
            .decoder
            .clone()
            .ok_or_else(|| OutputsError::Unsupported {
                file: "config.json".into(),
                detail: format!("model_type {:?} has no decoder settings", cfg.model_type),
            })?;
        let prefix = find_prefix(original, &["model.", ""], "embed_tokens.weight");
        let d = Decoder {
            inv_freq: inv_freq(&dec.rope, dec.head_dim),
            cfg: cfg.clone(),
            dec,
            prefix,
        };
        let head = d.head_name();
        if !original.has(&head) {
            return Err(OutputsError::MissingTensor {
                tensor: head,
                needed_by: if d.dec.tied {
                    "the output layer, tied to the embeddings".into()
                } else {
                    "the output layer: config.json has tie_word_embeddings false, so lm_head must be stored".into()
                },
            });
        }
        if let Some(s) = original.shape(&head) {
            if s.len() != 2 || s[1] as usize != cfg.hidden {
                return Err(OutputsError::BadTensor {
                    tensor: head,
                    detail: format!("shape {s:?}, expected [vocabulary, {}]", cfg.hidden),
                });
            }
        }
        Ok(d)
    }

    fn head_name(&self) -> String {
        if self.dec.tied {
            format!("{}embed_tokens.weight", self.prefix)
        } else {
            "lm_head.weight".into()
        }
    }

    /// Rows of the embedding table (the vocabulary the model accepts).
    fn embedding_rows(&self, w: &WeightStream) -> usize {
        w.shape(&format!("{}embed_tokens.weight", self.prefix))
            .and_then(|s| s.first().copied())
            .map_or(self.dec.vocab, |r| r as usize)
    }
}

/// `x · Wᵀ (+ b)`, the bias optional (decoders' projections mostly lack one).
struct Proj {
    w: Tensor,
    b: Option<Tensor>,
}

impl Proj {
    fn load(ws: &mut WeightStream, name: &str, bias: bool, by: &str) -> Result<Self> {
        Ok(Proj {
            w: ws.tensor(&format!("{name}.weight"), by)?,
            b: if bias {
                Some(ws.tensor(&format!("{name}.bias"), by)?)
            } else {
                None
            },
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = x.matmul(&self.w.t()?)?;
        Ok(match &self.b {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        })
    }
}

/// One decoder layer, loaded.
struct DecoderLayer {
    input_norm: Tensor,
    post_norm: Tensor,
    q: Proj,
    k: Proj,
    v: Proj,
    o: Proj,
    gate: Proj,
    up: Proj,
    down: Proj,
    eps: f64,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    window: Option<usize>,
    inv_freq: Vec<f32>,
}

/// Floats of attention scores one query block may hold, so long inputs
/// never allocate `[heads × T × T]` at once.
const SCORE_FLOATS: usize = 8 << 20;

/// Rows `rows` of the additive causal mask `[rows × T]`: 0 where query i
/// may see key j (j ≤ i, and within the sliding window when there is
/// one), −∞ elsewhere.
fn causal_mask(
    rows: std::ops::Range<usize>,
    t: usize,
    window: Option<usize>,
    device: &Device,
) -> Result<Tensor> {
    let n = rows.len();
    let m: Vec<f32> = rows
        .flat_map(|i| (0..t).map(move |j| (i, j)))
        .map(|(i, j)| {
            let seen = j <= i && !matches!(window, Some(w) if i - j >= w);
            if seen {
                0.0
            } else {
                f32::NEG_INFINITY
            }
        })
        .collect();
    Ok(Tensor::from_vec(m, (n, t), device)?)
}

impl DecoderLayer {
    /// Causal attention of inputs packed as in [`Layer::forward_packed`],
    /// each input alone with positions from 0, computed in query blocks of
    /// at most `score_floats` scores.
    fn attention(&self, x: &Tensor, lens: &[usize], score_floats: usize) -> Result<Tensor> {
        let dev = x.device();
        let (qw, kw) = (self.heads * self.head_dim, self.kv_heads * self.head_dim);
        // One pack holds q, k and v side by side, so each input needs one
        // narrow of it.
        let qkv = Tensor::cat(
            &[self.q.forward(x)?, self.k.forward(x)?, self.v.forward(x)?],
            1,
        )?;
        let ctx = per_input(&qkv, lens, |y| {
            let t = y.dim(0)?;
            let split = |at: usize, n: usize| -> Result<Tensor> {
                Ok(y.narrow(1, at, n * self.head_dim)?
                    .reshape((t, n, self.head_dim))?
                    .transpose(0, 1)?
                    .contiguous()?)
            };
            let rope = RopeTables::new(&self.inv_freq, t, dev)?;
            let q = rope.apply(&split(0, self.heads)?)?;
            let k = rope.apply(&split(qw, self.kv_heads)?)?;
            let v = split(qw + kw, self.kv_heads)?;
            // Grouped-query attention: query head h reads key/value head h / rep.
            let rep = self.heads / self.kv_heads;
            let repeat = |z: Tensor| -> Result<Tensor> {
                if rep == 1 {
                    return Ok(z);
                }
                Ok(z.unsqueeze(1)?
                    .expand((self.kv_heads, rep, t, self.head_dim))?
                    .reshape((self.heads, t, self.head_dim))?)
            };
            let (k, v) = (repeat(k)?, repeat(v)?);
            let kt = k.t()?.contiguous()?;
            let block = (score_floats / (self.heads * t)).clamp(1, t);
            let mut parts = Vec::with_capacity(t.div_ceil(block));
            for i0 in (0..t).step_by(block) {
                let n = block.min(t - i0);
                let scores =
                    (q.narrow(1, i0, n)?.matmul(&kt)? * (1.0 / (self.head_dim as f64).sqrt()))?;
                let scores =
                    scores.broadcast_add(&causal_mask(i0..i0 + n, t, self.window, dev)?)?;
                let p = candle_nn::ops::softmax_last_dim(&scores)?;
                parts.push(p.matmul(&v)?);
            }
            Ok(Tensor::cat(&parts, 1)?
                .transpose(0, 1)?
                .reshape((t, self.heads * self.head_dim))?)
        })?;
        self.o.forward(&ctx)
    }
}

impl Layer for DecoderLayer {
    fn forward_packed(&self, h: &Tensor, lens: &[usize]) -> Result<Tensor> {
        let a = self.attention(
            &rms_norm(h, &self.input_norm, self.eps)?,
            lens,
            SCORE_FLOATS,
        )?;
        let h = (h + a)?;
        let x = rms_norm(&h, &self.post_norm, self.eps)?;
        let f = self
            .down
            .forward(&(self.gate.forward(&x)?.silu()? * self.up.forward(&x)?)?)?;
        Ok((h + f)?)
    }
}

impl Family for Decoder {
    fn layers(&self) -> usize {
        self.cfg.layers
    }

    fn embed(&self, w: &mut WeightStream, inputs: &[Encoded]) -> Result<Vec<Tensor>> {
        let all: Vec<u32> = inputs.iter().flat_map(|e| e.ids.iter().copied()).collect();
        let rows = w.rows(
            &format!("{}embed_tokens.weight", self.prefix),
            &all,
            "the embeddings",
        )?;
        let mut at = 0;
        inputs
            .iter()
            .map(|e| {
                let part = rows.narrow(0, at, e.ids.len())?;
                at += e.ids.len();
                Ok(part)
            })
            .collect()
    }

    fn layer(&self, ws: &mut WeightStream, l: usize) -> Result<Box<dyn Layer>> {
        let by = format!("layer {}", l + 1);
        let p = format!("{}layers.{l}.", self.prefix);
        let d = &self.dec;
        let proj = |ws: &mut WeightStream, n: &str, bias: bool| {
            Proj::load(ws, &format!("{p}{n}"), bias, &by)
        };
        Ok(Box::new(DecoderLayer {
            input_norm: ws.tensor(&format!("{p}input_layernorm.weight"), &by)?,
            post_norm: ws.tensor(&format!("{p}post_attention_layernorm.weight"), &by)?,
            q: proj(ws, "self_attn.q_proj", d.qkv_bias)?,
            k: proj(ws, "self_attn.k_proj", d.qkv_bias)?,
            v: proj(ws, "self_attn.v_proj", d.qkv_bias)?,
            o: proj(ws, "self_attn.o_proj", d.o_bias)?,
            gate: proj(ws, "mlp.gate_proj", d.mlp_bias)?,
            up: proj(ws, "mlp.up_proj", d.mlp_bias)?,
            down: proj(ws, "mlp.down_proj", d.mlp_bias)?,
            eps: self.cfg.eps,
            heads: self.cfg.heads,
            kv_heads: d.kv_heads,
            head_dim: d.head_dim,
            window: d.sliding_window,
            inv_freq: self.inv_freq.clone(),
        }))
    }

    fn head(&self, _w: &mut WeightStream) -> Result<Option<Box<dyn Head>>> {
        Ok(None)
    }

    fn lm_head(&self, w: &WeightStream) -> Option<LmHead> {
        let weight = self.head_name();
        let vocab = w
            .shape(&weight)
            .and_then(|s| s.first().copied())
            .map_or(self.dec.vocab, |r| r as usize);
        Some(LmHead {
            norm: format!("{}norm.weight", self.prefix),
            weight,
            eps: self.cfg.eps,
            vocab,
        })
    }

    fn check_vocabulary(&self, w: &WeightStream, tokenizer_vocab: usize) -> Result<()> {
        let rows = self.embedding_rows(w);
        if tokenizer_vocab > rows {
            return Err(OutputsError::Tokenizer {
                file: "tokenizer.json".into(),
                detail: format!(
                    "its vocabulary has {tokenizer_vocab} tokens but the embedding table {}embed_tokens.weight has {rows} rows: \
                     the tokenizer does not belong to this model",
                    self.prefix
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outputs::decoder_config::{Rope, RopeScaling};
    use crate::outputs::family::tests::random;

    #[test]
    fn query_blocks_equal_the_whole_and_gqa_repeats() {
        let p = |o: usize, i: usize, s: u64| Proj {
            w: random(&[o, i], s),
            b: Some(random(&[o], s + 100)),
        };
        let layer = DecoderLayer {
            input_norm: random(&[8], 1),
            post_norm: random(&[8], 2),
            q: p(8, 8, 3),
            k: p(4, 8, 4),
            v: p(4, 8, 5),
            o: p(8, 8, 6),
            gate: p(16, 8, 7),
            up: p(16, 8, 8),
            down: p(8, 16, 9),
            eps: 1e-6,
            heads: 4,
            kv_heads: 2,
            head_dim: 2,
            window: None,
            inv_freq: inv_freq(
                &Rope {
                    theta: 10000.0,
                    scaling: RopeScaling::None,
                },
                2,
            ),
        };
        let x = random(&[5, 8], 10);
        let whole: Vec<f32> = layer
            .attention(&x, &[5], usize::MAX)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for floats in [1, 8, 30] {
            let b: Vec<f32> = layer
                .attention(&x, &[5], floats)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            for (g, w) in b.iter().zip(&whole) {
                assert!((g - w).abs() <= 1e-6, "{floats}: {g} vs {w}");
            }
        }
        assert_eq!(layer.forward(&x).unwrap().dims2().unwrap(), (5, 8));
        crate::outputs::family::tests::assert_packed_equals_alone(&layer, 8);
    }

    #[test]
    fn mask_is_causal_and_windowed() {
        let m: Vec<Vec<f32>> = causal_mask(0..3, 3, None, &Device::Cpu)
            .unwrap()
            .to_vec2()
            .unwrap();
        assert_eq!(m[0][1], f32::NEG_INFINITY);
        assert_eq!((m[2][0], m[2][2], m[1][2]), (0.0, 0.0, f32::NEG_INFINITY));
        let w: Vec<Vec<f32>> = causal_mask(1..3, 3, Some(2), &Device::Cpu)
            .unwrap()
            .to_vec2()
            .unwrap();
        assert_eq!((w[1][0], w[1][1], w[0][0]), (f32::NEG_INFINITY, 0.0, 0.0));
    }
}
