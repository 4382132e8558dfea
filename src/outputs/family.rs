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
    /// Runs the layer on inputs packed one after another, without padding:
    /// `h` is `[Σ lens × width]`, and input i owns the `lens[i]` rows that
    /// follow those of inputs `0..i`. Token-wise work (projections, norms,
    /// the feed-forward) runs on the whole pack as one matrix product;
    /// attention stays within each input, so each input's rows are what
    /// running it alone gives.
    fn forward_packed(&self, h: &Tensor, lens: &[usize]) -> Result<Tensor>;

    /// Runs the layer on one unpadded input.
    fn forward(&self, h: &Tensor) -> Result<Tensor> {
        self.forward_packed(h, &[h.dim(0)?])
    }
}

/// Each input's rows of the packed `x` (see [`Layer::forward_packed`]),
/// as views of it.
pub fn unpack(x: &Tensor, lens: &[usize]) -> Result<Vec<Tensor>> {
    let mut at = 0;
    lens.iter()
        .map(|&t| {
            let part = x.narrow(0, at, t)?;
            at += t;
            Ok(part)
        })
        .collect()
}

/// Applies `f` to each input's rows of the packed `x` and packs the
/// results again.
pub fn per_input(
    x: &Tensor,
    lens: &[usize],
    f: impl FnMut(&Tensor) -> Result<Tensor>,
) -> Result<Tensor> {
    let parts = unpack(x, lens)?.iter().map(f).collect::<Result<Vec<_>>>()?;
    Ok(Tensor::cat(&parts, 0)?)
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

    fn attention(&self, h: &Tensor, lens: &[usize]) -> Result<Tensor> {
        let width = h.dim(1)?;
        let dh = width / self.heads;
        // One pack holds q, k and v side by side, so each input needs one
        // narrow of it.
        let qkv = Tensor::cat(
            &[self.q.forward(h)?, self.k.forward(h)?, self.v.forward(h)?],
            1,
        )?;
        let ctx = per_input(&qkv, lens, |x| {
            let t = x.dim(0)?;
            let split = |i: usize| -> Result<Tensor> {
                Ok(x.narrow(1, i * width, width)?
                    .reshape((t, self.heads, dh))?
                    .transpose(0, 1)?
                    .contiguous()?)
            };
            let (q, k, v) = (split(0)?, split(1)?, split(2)?);
            let scores = (q.matmul(&k.t()?)? / (dh as f64).sqrt())?;
            let p = candle_nn::ops::softmax_last_dim(&scores)?;
            Ok(p.matmul(&v)?.transpose(0, 1)?.reshape((t, width))?)
        })?;
        self.attn_out.forward(&ctx)
    }
}

impl Layer for EncoderBlock {
    fn forward_packed(&self, h: &Tensor, lens: &[usize]) -> Result<Tensor> {
        let a = self.attn_norm.forward(&(self.attention(h, lens)? + h)?)?;
        let f = self
            .ffn_out
            .forward(&activate(&self.ffn_in.forward(&a)?, self.activation)?)?;
        self.out_norm.forward(&(f + a)?)
    }
}

/// The classification head of the encoders: `second(act(first(h[0])))`,
/// two linears on the first token's row (BERT's pooler and classifier with
/// tanh, RoBERTa's `classifier.dense` and `out_proj` with tanh, DistilBERT's
/// `pre_classifier` and `classifier` with ReLU). `None` when `cfg` declares
/// no labels: the model is then compared by its embeddings.
pub fn cls_head(
    w: &mut WeightStream,
    cfg: &ArchConfig,
    first: &str,
    act: fn(&Tensor) -> candle_core::Result<Tensor>,
    second: &str,
) -> Result<Option<Box<dyn Head>>> {
    if cfg.labels.is_none() {
        return Ok(None);
    }
    let by = "the classification head";
    Ok(Some(Box::new(ClsHead {
        first: Linear::load(w, first, by)?,
        act,
        second: Linear::load(w, second, by)?,
    })))
}

/// See [`cls_head`].
struct ClsHead {
    first: Linear,
    act: fn(&Tensor) -> candle_core::Result<Tensor>,
    second: Linear,
}

impl Head for ClsHead {
    fn logits(&self, h: &Tensor) -> Result<Tensor> {
        let x = (self.act)(&self.first.forward(&h.narrow(0, 0, 1)?)?)?;
        Ok(self.second.forward(&x)?.squeeze(0)?)
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use candle_core::Device;

    /// A reproducible tensor of values in [−0.5, 0.5).
    pub fn random(shape: &[usize], seed: u64) -> Tensor {
        let n: usize = shape.iter().product();
        let mut x = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
        let v: Vec<f32> = (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    /// Checks that `layer` run on three inputs packed gives each input's
    /// rows as run alone.
    pub fn assert_packed_equals_alone(layer: &dyn Layer, width: usize) {
        let lens = [3, 1, 6];
        let inputs: Vec<Tensor> = lens
            .iter()
            .enumerate()
            .map(|(i, &t)| random(&[t, width], 40 + i as u64))
            .collect();
        let packed = layer
            .forward_packed(&Tensor::cat(&inputs, 0).unwrap(), &lens)
            .unwrap();
        for (x, got) in inputs.iter().zip(unpack(&packed, &lens).unwrap()) {
            let want: Vec<f32> = layer
                .forward(x)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let got: Vec<f32> = got.flatten_all().unwrap().to_vec1().unwrap();
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() <= 1e-5 * w.abs().max(1.0), "{g} vs {w}");
            }
        }
    }

    #[test]
    fn encoder_block_packed_equals_each_input_alone() {
        let lin = |o: usize, i: usize, s: u64| Linear {
            w: random(&[o, i], s),
            b: random(&[o], s + 100),
        };
        let norm = |s: u64| LayerNorm {
            g: random(&[8], s),
            b: random(&[8], s + 100),
            eps: 1e-12,
        };
        let block = EncoderBlock {
            q: lin(8, 8, 1),
            k: lin(8, 8, 2),
            v: lin(8, 8, 3),
            attn_out: lin(8, 8, 4),
            attn_norm: norm(5),
            ffn_in: lin(16, 8, 6),
            ffn_out: lin(8, 16, 7),
            out_norm: norm(8),
            heads: 2,
            activation: Activation::Gelu,
        };
        assert_packed_equals_alone(&block, 8);
    }
}
