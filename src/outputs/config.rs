//! `config.json` → the architecture the forward pass needs: family, sizes,
//! activation, layer-norm epsilon, head and label names.
//!
//! May use: `serde_json` only. Knows nothing of weights or tensors.

use serde_json::Value;

use super::error::{OutputsError, Result};

/// The model families the engine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FamilyKind {
    /// BERT, including sentence-transformers MiniLM.
    Bert,
    /// DistilBERT.
    DistilBert,
    /// RoBERTa and XLM-RoBERTa (position-id offset, no token types).
    Roberta,
    /// Llama 2/3 and Mistral decoders ([`super::decoder`]).
    Llama,
    /// Qwen2 decoders: Llama's layout with q/k/v biases.
    Qwen2,
}

impl FamilyKind {
    /// The family's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            FamilyKind::Bert => "bert",
            FamilyKind::DistilBert => "distilbert",
            FamilyKind::Roberta => "roberta",
            FamilyKind::Llama => "llama",
            FamilyKind::Qwen2 => "qwen2",
        }
    }
}

/// The feed-forward activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// The exact (erf) GELU, transformers' `gelu`.
    Gelu,
    /// The tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    GeluTanh,
    /// `relu`.
    Relu,
    /// `silu` (decoders' SwiGLU).
    Silu,
}

/// What the forward pass needs to know about a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchConfig {
    /// The family that runs it.
    pub family: FamilyKind,
    /// `model_type` as written.
    pub model_type: String,
    /// `architectures[0]`, if any.
    pub architecture: Option<String>,
    /// Width of the hidden states.
    pub hidden: usize,
    /// Number of encoder layers.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate: usize,
    /// Feed-forward activation.
    pub activation: Activation,
    /// Layer-norm epsilon.
    pub eps: f64,
    /// Rows of the position-embedding table.
    pub max_position: usize,
    /// Rows of the token-type table (0 when there is none).
    pub type_vocab: usize,
    /// Padding token id (RoBERTa's position offset).
    pub pad_token_id: u32,
    /// Label names, by class index, when the model is a sequence classifier.
    pub labels: Option<Vec<String>>,
    /// Decoder settings (GQA, rotary, biases, tying) of a decoder LLM.
    pub decoder: Option<super::decoder_config::DecoderConfig>,
}

fn bad(detail: String) -> OutputsError {
    OutputsError::BadFile {
        file: "config.json".into(),
        detail,
    }
}

fn size(v: &Value, keys: &[&str]) -> Result<usize> {
    for k in keys {
        if let Some(x) = v.get(*k) {
            return x
                .as_u64()
                .filter(|&n| n > 0 && n <= 1 << 24)
                .map(|n| n as usize)
                .ok_or_else(|| bad(format!("{k} is {x}, not a positive integer")));
        }
    }
    Err(bad(format!("{} is missing", keys[0])))
}

fn activation(v: &Value, key: &str) -> Result<Activation> {
    match v.get(key).and_then(Value::as_str).unwrap_or("gelu") {
        "gelu" => Ok(Activation::Gelu),
        "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Ok(Activation::GeluTanh),
        "relu" => Ok(Activation::Relu),
        other => Err(OutputsError::Unsupported {
            file: "config.json".into(),
            detail: format!("{key} {other:?} is not supported (gelu, gelu_new or relu)"),
        }),
    }
}

impl ArchConfig {
    /// Reads a parsed `config.json`.
    pub fn from_json(v: &Value) -> Result<Self> {
        let model_type = v
            .get("model_type")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("model_type is missing".into()))?
            .to_string();
        let architecture = v
            .get("architectures")
            .and_then(|a| a.get(0))
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(kind) = super::decoder_config::decoder_kind(&model_type) {
            return super::decoder_config::arch_config(v, kind, model_type, architecture);
        }
        let family = match model_type.as_str() {
            "bert" => FamilyKind::Bert,
            "distilbert" => FamilyKind::DistilBert,
            "roberta" | "xlm-roberta" => FamilyKind::Roberta,
            other => {
                return Err(OutputsError::Unsupported {
                    file: "config.json".into(),
                    detail: format!(
                        "model_type {other:?} is not supported by the output check (bert, distilbert, roberta, xlm-roberta, llama, mistral, qwen2)"
                    ),
                })
            }
        };
        let classifier = architecture
            .as_deref()
            .is_some_and(|a| a.ends_with("ForSequenceClassification"));
        let labels = if classifier { Some(labels(v)?) } else { None };
        let f = |k: &str| v.get(k).and_then(Value::as_f64);
        let c = if family == FamilyKind::DistilBert {
            ArchConfig {
                family,
                model_type,
                architecture,
                hidden: size(v, &["dim"])?,
                layers: size(v, &["n_layers"])?,
                heads: size(v, &["n_heads"])?,
                intermediate: size(v, &["hidden_dim"])?,
                activation: activation(v, "activation")?,
                // transformers hard-codes 1e-12 for DistilBERT.
                eps: 1e-12,
                max_position: size(v, &["max_position_embeddings"])?,
                type_vocab: 0,
                pad_token_id: 0,
                labels,
                decoder: None,
            }
        } else {
            let roberta = family == FamilyKind::Roberta;
            ArchConfig {
                family,
                model_type,
                architecture,
                hidden: size(v, &["hidden_size"])?,
                layers: size(v, &["num_hidden_layers"])?,
                heads: size(v, &["num_attention_heads"])?,
                intermediate: size(v, &["intermediate_size"])?,
                activation: activation(v, "hidden_act")?,
                eps: f("layer_norm_eps").unwrap_or(1e-12),
                max_position: size(v, &["max_position_embeddings"])?,
                type_vocab: v
                    .get("type_vocab_size")
                    .and_then(Value::as_u64)
                    .unwrap_or(if roberta { 1 } else { 2 }) as usize,
                pad_token_id: v
                    .get("pad_token_id")
                    .and_then(Value::as_u64)
                    .unwrap_or(if roberta { 1 } else { 0 }) as u32,
                labels,
                decoder: None,
            }
        };
        if c.hidden % c.heads != 0 {
            return Err(bad(format!(
                "hidden size {} is not a multiple of the {} attention heads",
                c.hidden, c.heads
            )));
        }
        Ok(c)
    }

    /// The longest input the position table allows (RoBERTa's first
    /// `pad_token_id + 1` positions are reserved).
    pub fn max_tokens(&self) -> usize {
        match self.family {
            FamilyKind::Roberta => self
                .max_position
                .saturating_sub(self.pad_token_id as usize + 1),
            _ => self.max_position,
        }
    }

    /// What differs between two configs, if anything (like with like).
    pub fn differences(&self, other: &ArchConfig) -> Vec<String> {
        let mut d = Vec::new();
        let mut cmp = |what: &str, a: String, b: String| {
            if a != b {
                d.push(format!("{what} {a} vs {b}"));
            }
        };
        cmp(
            "model_type",
            self.model_type.clone(),
            other.model_type.clone(),
        );
        cmp(
            "hidden size",
            self.hidden.to_string(),
            other.hidden.to_string(),
        );
        cmp("layers", self.layers.to_string(), other.layers.to_string());
        cmp(
            "attention heads",
            self.heads.to_string(),
            other.heads.to_string(),
        );
        cmp(
            "intermediate size",
            self.intermediate.to_string(),
            other.intermediate.to_string(),
        );
        cmp(
            "decoder settings",
            format!("{:?}", self.decoder),
            format!("{:?}", other.decoder),
        );
        cmp(
            "labels",
            format!("{:?}", self.labels),
            format!("{:?}", other.labels),
        );
        d
    }
}

/// `id2label` as a dense list, or `LABEL_i` names from `num_labels`.
fn labels(v: &Value) -> Result<Vec<String>> {
    if let Some(m) = v.get("id2label").and_then(Value::as_object) {
        let mut out = vec![String::new(); m.len()];
        for (k, name) in m {
            let i: usize = k
                .parse()
                .ok()
                .filter(|&i: &usize| i < m.len())
                .ok_or_else(|| bad(format!("id2label key {k:?} is not a class index")))?;
            out[i] = name.as_str().unwrap_or_default().to_string();
        }
        return Ok(out);
    }
    let n = size(v, &["num_labels"]).unwrap_or(2);
    Ok((0..n).map(|i| format!("LABEL_{i}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_bert_and_distilbert() {
        let b = ArchConfig::from_json(&json!({"model_type":"bert","hidden_size":8,"num_hidden_layers":2,
            "num_attention_heads":2,"intermediate_size":16,"max_position_embeddings":32,"layer_norm_eps":1e-12}))
        .unwrap();
        assert_eq!(
            (b.family, b.hidden, b.type_vocab, b.labels),
            (FamilyKind::Bert, 8, 2, None)
        );
        let d = ArchConfig::from_json(&json!({"model_type":"distilbert","dim":8,"n_layers":1,"n_heads":2,
            "hidden_dim":16,"max_position_embeddings":32,"architectures":["DistilBertForSequenceClassification"],
            "id2label":{"1":"B","0":"A"}}))
        .unwrap();
        assert_eq!(d.labels.unwrap(), ["A", "B"]);
    }

    #[test]
    fn unknown_type_names_config() {
        let e = ArchConfig::from_json(&json!({"model_type":"gpt9"})).unwrap_err();
        assert!(
            e.to_string().contains("config.json") && e.to_string().contains("gpt9"),
            "{e}"
        );
        let e = ArchConfig::from_json(&json!({"model_type":"bert","hidden_size":8})).unwrap_err();
        assert!(e.to_string().contains("num_hidden_layers"), "{e}");
    }
}
