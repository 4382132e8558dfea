//! RoBERTa and XLM-RoBERTa: BERT's blocks, positions counted from
//! `pad_token_id + 1`, a single token type, and the `classifier.dense` →
//! tanh → `classifier.out_proj` head.
//!
//! May use: [`super::bert`] (shared layout), [`super::family`] blocks.

use candle_core::Tensor;

use super::bert::{block, embeddings};
use super::config::ArchConfig;
use super::error::Result;
use super::family::{cls_head, find_prefix, Family, Head, Layer};
use super::tokenizer::Encoded;
use super::weights::WeightStream;

/// The RoBERTa family.
pub struct Roberta {
    cfg: ArchConfig,
    prefix: String,
}

impl Roberta {
    /// RoBERTa with tensor names as found in `w` (`roberta.` or none).
    pub fn new(cfg: &ArchConfig, w: &WeightStream) -> Result<Self> {
        Ok(Roberta {
            cfg: cfg.clone(),
            prefix: find_prefix(w, &["", "roberta."], "embeddings.word_embeddings.weight"),
        })
    }
}

impl Family for Roberta {
    fn layers(&self) -> usize {
        self.cfg.layers
    }

    fn embed(&self, w: &mut WeightStream, inputs: &[Encoded]) -> Result<Vec<Tensor>> {
        // transformers: position = cumsum(mask) + padding_idx, unpadded here.
        let first = self.cfg.pad_token_id + 1;
        let pos = inputs
            .iter()
            .map(|x| (first..first + x.ids.len() as u32).collect())
            .collect();
        let typed: Vec<Encoded> = inputs
            .iter()
            .map(|x| Encoded {
                type_ids: vec![0; x.ids.len()],
                ..x.clone()
            })
            .collect();
        embeddings(w, &self.cfg, &self.prefix, &typed, pos)
    }

    fn layer(&self, w: &mut WeightStream, l: usize) -> Result<Box<dyn Layer>> {
        block(w, &self.cfg, &self.prefix, l)
    }

    fn head(&self, w: &mut WeightStream) -> Result<Option<Box<dyn Head>>> {
        cls_head(
            w,
            &self.cfg,
            "classifier.dense",
            Tensor::tanh,
            "classifier.out_proj",
        )
    }
}
