//! What every model family provides to the layer-streamed engine, and the
//! building blocks encoders share (linear, layer norm, self-attention,
//! the post-norm encoder block).
//!
//! A family reads its weights from a [`WeightStream`] only when asked:
//! embeddings once, then one layer at a time, then the head. A decoder
//! family (llama, qwen2, mistral) is one more implementation of [`Family`].
//!
//! May use: `candle-core`/`candle-nn` (CPU, or Metal/CUDA by feature),
//! [`super::weights`], [`super::config`].

use candle_core::{Tensor, D};

use super::config::{Activation, ArchConfig, FamilyKind};
use super::error::Result;
use super::tokenizer::Encoded;
use super::weights::WeightStream;

/// One layer, loaded: maps hidden states `[tokens × width]` to the next.
pub trait Layer {
    /// Runs the layer on one unpadded input.
    fn forward(&self, h: &Tensor) -> Result<Tensor>;
}

/// A classification head, loaded: the final hidden states of one input
/// to its logits `[classes]`.
pub trait Head {
    /// Logits of one input.
    fn logits(&self, h: &Tensor) -> Result<Tensor>;
}

/// A model family: how to read and run its embeddings, layers and head.
pub trait Family {
    /// Number of layers after the embeddings.
    fn layers(&self) -> usize;
    /// The embeddings' output `[tokens × width]` of every input; reads only
    /// the table rows the inputs use.
    fn embed(&self, w: &mut WeightStream, inputs: &[Encoded]) -> Result<Vec<Tensor>>;
    /// Reads layer `l` (0-based).
    fn layer(&self, w: &mut WeightStream, l: usize) -> Result<Box<dyn Layer>>;
    /// Reads the classification head, when the architecture has one.
    fn head(&self, w: &mut WeightStream) -> Result<Option<Box<dyn Head>>>;
    /// A decoder's output layer, scored by [`super::next_token`].
    fn lm_head(&self, _w: &WeightStream) -> Option<super::next_token::LmHead> {
        None
    }
    /// Fails when the tokenizer's vocabulary exceeds the model's.
    fn check_vocabulary(&self, _w: &WeightStream, _tokenizer_vocab: usize) -> Result<()> {
        Ok(())
    }
}

/// The family of a config, with tensor-name prefixes found in `original`.
pub fn for_config(cfg: &ArchConfig, original: &WeightStream) -> Result<Box<dyn Family>> {
    Ok(match cfg.family {
        FamilyKind::Bert => Box::new(super::bert::Bert::new(cfg, original)?),
        FamilyKind::DistilBert => Box::new(super::distilbert::DistilBert::new(cfg, original)?),
        FamilyKind::Roberta => Box::new(super::roberta::Roberta::new(cfg, original)?),
        FamilyKind::Llama | FamilyKind::Qwen2 => {
            Box::new(super::decoder::Decoder::new(cfg, original)?)
        }
    })
}

/// The first of `prefixes` under which `probe` exists in the model, or
/// the first prefix (whose missing tensor is then reported by name).
pub fn find_prefix(w: &WeightStream, prefixes: &[&str], probe: &str) -> String {
    prefixes
        .iter()
        .find(|p| w.has(&format!("{p}{probe}")))
        .unwrap_or(&prefixes[0])
        .to_string()
}

/// `x · Wᵀ + b`.
pub struct Linear {
    w: Tensor,
    b: Tensor,
}

impl Linear {
    /// Reads `{name}.weight` and `{name}.bias`.
    pub fn load(ws: &mut WeightStream, name: &str, needed_by: &str) -> Result<Self> {
        Ok(Linear {
            w: ws.tensor(&format!("{name}.weight"), needed_by)?,
            b: ws.tensor(&format!("{name}.bias"), needed_by)?,
        })
    }

    /// Applies it to `[tokens × in]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.matmul(&self.w.t()?)?.broadcast_add(&self.b)?)
    }
}

/// Layer normalisation over the last axis.
pub struct LayerNorm {
    g: Tensor,
    b: Tensor,
    eps: f64,
}

impl LayerNorm {
    /// Reads `{name}.weight` and `{name}.bias`.
    pub fn load(ws: &mut WeightStream, name: &str, eps: f64, needed_by: &str) -> Result<Self> {
        Ok(LayerNorm {
            g: ws.tensor(&format!("{name}.weight"), needed_by)?,
            b: ws.tensor(&format!("{name}.bias"), needed_by)?,
            eps,
        })
    }

    /// Normalises `[tokens × width]`, computing the statistics in f32 like
    /// torch.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let n = x.dim(D::Minus1)? as f64;
        let mean = (x.sum_keepdim(D::Minus1)? / n)?;
        let xc = x.broadcast_sub(&mean)?;
        let var = (xc.sqr()?.sum_keepdim(D::Minus1)? / n)?;
        let y = xc.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        Ok(y.broadcast_mul(&self.g)?.broadcast_add(&self.b)?)
    }
}

/// Applies an activation.
pub fn activate(x: &Tensor, a: Activation) -> Result<Tensor> {
    Ok(match a {
        Activation::Gelu => x.gelu_erf()?,
        Activation::GeluTanh => x.gelu()?,
        Activation::Relu => x.relu()?,
        Activation::Silu => x.silu()?,
    })
}

/// Names of the tensors of one post-norm encoder block.
pub struct BlockNames {
    pub q: String,
    pub k: String,
    pub v: String,
    pub attn_out: String,
    pub attn_norm: String,
    pub ffn_in: String,
    pub ffn_out: String,
    pub out_norm: String,
}

/// A post-norm encoder block (BERT, DistilBERT, RoBERTa): self-attention,
/// add & norm, feed-forward, add & norm.
pub struct EncoderBlock {
    q: Linear,
    k: Linear,
    v: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    ffn_in: Linear,
    ffn_out: Linear,
    out_norm: LayerNorm,
    heads: usize,
    activation: Activation,
}

impl EncoderBlock {
    /// Reads a block's weights.
    pub fn load(ws: &mut WeightStream, n: &BlockNames, cfg: &ArchConfig, l: usize) -> Result<Self> {
        let by = format!("layer {}", l + 1);
        Ok(EncoderBlock {
            q: Linear::load(ws, &n.q, &by)?,
            k: Linear::load(ws, &n.k, &by)?,
            v: Linear::load(ws, &n.v, &by)?,
            attn_out: Linear::load(ws, &n.attn_out, &by)?,
            attn_norm: LayerNorm::load(ws, &n.attn_norm, cfg.eps, &by)?,
            ffn_in: Linear::load(ws, &n.ffn_in, &by)?,
            ffn_out: Linear::load(ws, &n.ffn_out, &by)?,
            out_norm: LayerNorm::load(ws, &n.out_norm, cfg.eps, &by)?,
            heads: cfg.heads,
            activation: cfg.activation,
        })
    }

    fn attention(&self, h: &Tensor) -> Result<Tensor> {
        let (t, width) = h.dims2()?;
        let dh = width / self.heads;
        let split = |x: Tensor| -> Result<Tensor> {
            Ok(x.reshape((t, self.heads, dh))?
                .transpose(0, 1)?
                .contiguous()?)
        };
        let q = split(self.q.forward(h)?)?;
        let k = split(self.k.forward(h)?)?;
        let v = split(self.v.forward(h)?)?;
        let scores = (q.matmul(&k.t()?)? / (dh as f64).sqrt())?;
        let p = candle_nn::ops::softmax_last_dim(&scores)?;
        let ctx = p.matmul(&v)?.transpose(0, 1)?.reshape((t, width))?;
        self.attn_out.forward(&ctx)
    }
}

impl Layer for EncoderBlock {
    fn forward(&self, h: &Tensor) -> Result<Tensor> {
        let a = self.attn_norm.forward(&(self.attention(h)? + h)?)?;
        let f = self
            .ffn_out
            .forward(&activate(&self.ffn_in.forward(&a)?, self.activation)?)?;
        self.out_norm.forward(&(f + a)?)
    }
}

/// Sums embedding tables' rows per input and normalises: the shared
/// embeddings of encoders. `rows(i)` gives input i's rows of each table.
pub fn embed_sum(
    w: &mut WeightStream,
    tables: &[(String, Vec<Vec<u32>>)],
    norm: &str,
    eps: f64,
    inputs: usize,
) -> Result<Vec<Tensor>> {
    let ln = LayerNorm::load(w, norm, eps, "the embeddings")?;
    let mut sums: Vec<Option<Tensor>> = vec![None; inputs];
    for (name, per_input) in tables {
        let all: Vec<u32> = per_input.iter().flatten().copied().collect();
        let rows = w.rows(name, &all, "the embeddings")?;
        let mut at = 0;
        for (i, ids) in per_input.iter().enumerate() {
            let part = rows.narrow(0, at, ids.len())?;
            at += ids.len();
            sums[i] = Some(match sums[i].take() {
                None => part,
                Some(s) => (s + part)?,
            });
        }
    }
    sums.into_iter()
        .map(|s| ln.forward(&s.expect("at least one table")))
        .collect()
}
