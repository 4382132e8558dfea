//! DistilBERT (and `DistilBertForSequenceClassification`): word + position
//! embeddings, post-norm blocks, `pre_classifier` → ReLU → `classifier`.
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

/// The DistilBERT family.
pub struct DistilBert {
    cfg: ArchConfig,
    prefix: String,
}

impl DistilBert {
    /// DistilBERT with tensor names as found in `w` (`distilbert.` or none).
    pub fn new(cfg: &ArchConfig, w: &WeightStream) -> Result<Self> {
        Ok(DistilBert {
            cfg: cfg.clone(),
            prefix: find_prefix(w, &["", "distilbert."], "embeddings.word_embeddings.weight"),
        })
    }
}

impl Family for DistilBert {
    fn layers(&self) -> usize {
        self.cfg.layers
    }

    fn embed(&self, w: &mut WeightStream, inputs: &[Encoded]) -> Result<Vec<Tensor>> {
        let e = format!("{}embeddings.", self.prefix);
        let tables = vec![
            (
                format!("{e}word_embeddings.weight"),
                inputs.iter().map(|x| x.ids.clone()).collect(),
            ),
            (
                format!("{e}position_embeddings.weight"),
                inputs
                    .iter()
                    .map(|x| (0..x.ids.len() as u32).collect())
                    .collect(),
            ),
        ];
        embed_sum(
            w,
            &tables,
            &format!("{e}LayerNorm"),
            self.cfg.eps,
            inputs.len(),
        )
    }

    fn layer(&self, w: &mut WeightStream, l: usize) -> Result<Box<dyn Layer>> {
        let p = format!("{}transformer.layer.{l}.", self.prefix);
        let names = BlockNames {
            q: format!("{p}attention.q_lin"),
            k: format!("{p}attention.k_lin"),
            v: format!("{p}attention.v_lin"),
            attn_out: format!("{p}attention.out_lin"),
            attn_norm: format!("{p}sa_layer_norm"),
            ffn_in: format!("{p}ffn.lin1"),
            ffn_out: format!("{p}ffn.lin2"),
            out_norm: format!("{p}output_layer_norm"),
        };
        Ok(Box::new(EncoderBlock::load(w, &names, &self.cfg, l)?))
    }

    fn head(&self, w: &mut WeightStream) -> Result<Option<Box<dyn Head>>> {
        cls_head(w, &self.cfg, "pre_classifier", Tensor::relu, "classifier")
    }
}
