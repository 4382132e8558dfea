//! BERT (and sentence-transformers MiniLM): word + position + token-type
//! embeddings, post-norm encoder blocks, pooler + classifier head.
//!
//! May use: [`super::family`] blocks, [`super::weights`].

use candle_core::Tensor;

use super::config::ArchConfig;
use super::error::Result;
use super::family::{
    cls_head, embed_sum, find_prefix, BlockNames, EncoderBlock, Family, Head, Layer,
};
use super::tokenizer::Encoded;
use super::weights::WeightStream;

/// The BERT family.
pub struct Bert {
    cfg: ArchConfig,
    prefix: String,
}

impl Bert {
    /// BERT with tensor names as found in `w` (`bert.` or no prefix).
    pub fn new(cfg: &ArchConfig, w: &WeightStream) -> Result<Self> {
        Ok(Bert {
            cfg: cfg.clone(),
            prefix: find_prefix(
                w,
                &["", "bert.", "model."],
                "embeddings.word_embeddings.weight",
            ),
        })
    }
}

/// Reads BERT-layout encoder block `l` under `prefix` (RoBERTa's too).
pub fn block(
    w: &mut WeightStream,
    cfg: &ArchConfig,
    prefix: &str,
    l: usize,
) -> Result<Box<dyn Layer>> {
    let p = format!("{prefix}encoder.layer.{l}.");
    let names = BlockNames {
        q: format!("{p}attention.self.query"),
        k: format!("{p}attention.self.key"),
        v: format!("{p}attention.self.value"),
        attn_out: format!("{p}attention.output.dense"),
        attn_norm: format!("{p}attention.output.LayerNorm"),
        ffn_in: format!("{p}intermediate.dense"),
        ffn_out: format!("{p}output.dense"),
        out_norm: format!("{p}output.LayerNorm"),
    };
    Ok(Box::new(EncoderBlock::load(w, &names, cfg, l)?))
}

/// BERT-layout embeddings with the given position ids per input.
pub fn embeddings(
    w: &mut WeightStream,
    cfg: &ArchConfig,
    prefix: &str,
    inputs: &[Encoded],
    positions: Vec<Vec<u32>>,
) -> Result<Vec<Tensor>> {
    let e = format!("{prefix}embeddings.");
    let mut tables = vec![
        (
            format!("{e}word_embeddings.weight"),
            inputs.iter().map(|x| x.ids.clone()).collect(),
        ),
        (format!("{e}position_embeddings.weight"), positions),
    ];
    if cfg.type_vocab > 0 {
        tables.push((
            format!("{e}token_type_embeddings.weight"),
            inputs.iter().map(|x| x.type_ids.clone()).collect(),
        ));
    }
    embed_sum(w, &tables, &format!("{e}LayerNorm"), cfg.eps, inputs.len())
}

impl Family for Bert {
    fn layers(&self) -> usize {
        self.cfg.layers
    }

    fn embed(&self, w: &mut WeightStream, inputs: &[Encoded]) -> Result<Vec<Tensor>> {
        let pos = inputs
            .iter()
            .map(|x| (0..x.ids.len() as u32).collect())
            .collect();
        embeddings(w, &self.cfg, &self.prefix, inputs, pos)
    }

    fn layer(&self, w: &mut WeightStream, l: usize) -> Result<Box<dyn Layer>> {
        block(w, &self.cfg, &self.prefix, l)
    }

    fn head(&self, w: &mut WeightStream) -> Result<Option<Box<dyn Head>>> {
        let pooler = format!("{}pooler.dense", self.prefix);
        cls_head(w, &self.cfg, &pooler, Tensor::tanh, "classifier")
    }
}
