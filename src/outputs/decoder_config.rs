//! `config.json` of a decoder LLM (Llama 2/3, Mistral, Qwen2) → what the
//! decoder forward pass needs: grouped-query attention, RMSNorm epsilon,
//! rotary embedding (theta and scaling), biases, tied embeddings.
//!
//! Reads both config layouts: transformers 4 (`rope_theta`, `rope_scaling`)
//! and transformers 5 (`rope_parameters`). A rope scaling type that is not
//! implemented is an error naming it, never silently ignored.
//!
//! May use: `serde_json` only. Knows nothing of weights or tensors.

use serde_json::Value;

use super::config::{Activation, ArchConfig, FamilyKind};
use super::error::{OutputsError, Result};

/// How rotary frequencies are scaled for long contexts.
#[derive(Debug, Clone, PartialEq)]
pub enum RopeScaling {
    /// Plain RoPE (`rope_type` `default`, or no scaling).
    None,
    /// Position interpolation: every frequency divided by `factor`.
    Linear { factor: f64 },
    /// Llama 3's frequency-dependent scaling (`rope_type: llama3`).
    Llama3 {
        factor: f64,
        low_freq_factor: f64,
        high_freq_factor: f64,
        original_max_position: f64,
    },
}

/// Rotary position embedding settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Rope {
    /// The base θ of the frequencies.
    pub theta: f64,
    /// Long-context scaling.
    pub scaling: RopeScaling,
}

/// The decoder-only parts of a model's config.
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderConfig {
    /// Key/value heads (grouped-query attention); equal to the heads without GQA.
    pub kv_heads: usize,
    /// Width of one attention head.
    pub head_dim: usize,
    /// Rows of the embedding table.
    pub vocab: usize,
    /// Rotary embedding.
    pub rope: Rope,
    /// Whether q/k/v projections have biases (Qwen2, Llama's `attention_bias`).
    pub qkv_bias: bool,
    /// Whether the output projection has a bias (Llama's `attention_bias`).
    pub o_bias: bool,
    /// Whether the feed-forward projections have biases (Llama's `mlp_bias`).
    pub mlp_bias: bool,
    /// Whether the output layer is the embedding table (`tie_word_embeddings`).
    pub tied: bool,
    /// Mistral's sliding attention window, when set.
    pub sliding_window: Option<usize>,
}

/// The decoder family of a `model_type`, if it is one.
pub fn decoder_kind(model_type: &str) -> Option<FamilyKind> {
    match model_type {
        "llama" | "mistral" => Some(FamilyKind::Llama),
        "qwen2" => Some(FamilyKind::Qwen2),
        _ => None,
    }
}

fn bad(detail: String) -> OutputsError {
    OutputsError::BadFile {
        file: "config.json".into(),
        detail,
    }
}

fn unsupported(detail: String) -> OutputsError {
    OutputsError::Unsupported {
        file: "config.json".into(),
        detail,
    }
}

fn size(v: &Value, key: &str) -> Result<usize> {
    let x = v.get(key).ok_or_else(|| bad(format!("{key} is missing")))?;
    x.as_u64()
        .filter(|&n| n > 0 && n <= 1 << 24)
        .map(|n| n as usize)
        .ok_or_else(|| bad(format!("{key} is {x}, not a positive integer")))
}

fn number(v: &Value, key: &str, what: &str) -> Result<f64> {
    v.get(key)
        .and_then(Value::as_f64)
        .filter(|x| x.is_finite() && *x > 0.0)
        .ok_or_else(|| bad(format!("{what} needs a positive number {key}")))
}

/// Reads the rotary settings from either config layout.
pub fn rope(v: &Value) -> Result<Rope> {
    // transformers 5: `rope_parameters` (per layer type for some models).
    let params = v.get("rope_parameters").filter(|p| p.is_object()).map(|p| {
        p.get("full_attention")
            .filter(|f| f.is_object())
            .unwrap_or(p)
    });
    let (theta, scaling) = match params {
        Some(p) => (p.get("rope_theta").or_else(|| v.get("rope_theta")), Some(p)),
        None => (
            v.get("rope_theta"),
            v.get("rope_scaling").filter(|s| !s.is_null()),
        ),
    };
    let theta = match theta {
        None => 10000.0,
        Some(t) => t
            .as_f64()
            .filter(|x| x.is_finite() && *x > 1.0)
            .ok_or_else(|| bad(format!("rope_theta is {t}, not a number above 1")))?,
    };
    let Some(s) = scaling else {
        return Ok(Rope {
            theta,
            scaling: RopeScaling::None,
        });
    };
    let kind = s
        .get("rope_type")
        .or_else(|| s.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("default");
    let scaling = match kind {
        "default" => RopeScaling::None,
        "linear" => RopeScaling::Linear {
            factor: number(s, "factor", "linear rope scaling")?,
        },
        "llama3" => {
            let what = "llama3 rope scaling";
            let r = RopeScaling::Llama3 {
                factor: number(s, "factor", what)?,
                low_freq_factor: number(s, "low_freq_factor", what)?,
                high_freq_factor: number(s, "high_freq_factor", what)?,
                original_max_position: number(s, "original_max_position_embeddings", what)?,
            };
            if let RopeScaling::Llama3 {
                low_freq_factor: lo,
                high_freq_factor: hi,
                ..
            } = r
            {
                if hi <= lo {
                    return Err(bad(format!(
                        "{what}: high_freq_factor {hi} must exceed low_freq_factor {lo}"
                    )));
                }
            }
            r
        }
        other => {
            return Err(unsupported(format!(
            "rope scaling {other:?} is not supported by the output check (default, linear, llama3)"
        )))
        }
    };
    Ok(Rope { theta, scaling })
}

impl DecoderConfig {
    /// Reads the decoder settings of a parsed `config.json`.
    pub fn from_json(v: &Value, kind: FamilyKind, heads: usize, hidden: usize) -> Result<Self> {
        let kv_heads = match v.get("num_key_value_heads") {
            None | Some(Value::Null) => heads,
            Some(_) => size(v, "num_key_value_heads")?,
        };
        if !heads.is_multiple_of(kv_heads) {
            return Err(bad(format!(
                "num_attention_heads {heads} is not a multiple of num_key_value_heads {kv_heads}"
            )));
        }
        let head_dim = match v.get("head_dim") {
            None | Some(Value::Null) => {
                if !hidden.is_multiple_of(heads) {
                    return Err(bad(format!(
                        "hidden_size {hidden} is not a multiple of the {heads} attention heads"
                    )));
                }
                hidden / heads
            }
            Some(_) => size(v, "head_dim")?,
        };
        if head_dim % 2 != 0 {
            return Err(bad(format!(
                "head_dim {head_dim} is odd; rotary embedding needs pairs"
            )));
        }
        let flag = |k: &str, default: bool| v.get(k).and_then(Value::as_bool).unwrap_or(default);
        let qwen = kind == FamilyKind::Qwen2;
        if qwen && flag("use_sliding_window", false) {
            return Err(unsupported(
                "use_sliding_window true (Qwen2 sliding attention) is not supported".into(),
            ));
        }
        let sliding_window = if v.get("model_type").and_then(Value::as_str) == Some("mistral") {
            match v.get("sliding_window") {
                None | Some(Value::Null) => None,
                Some(_) => Some(size(v, "sliding_window")?),
            }
        } else {
            None
        };
        let attention_bias = flag("attention_bias", false);
        Ok(DecoderConfig {
            kv_heads,
            head_dim,
            vocab: size(v, "vocab_size")?,
            rope: rope(v)?,
            qkv_bias: qwen || attention_bias,
            o_bias: !qwen && attention_bias,
            mlp_bias: !qwen && flag("mlp_bias", false),
            // transformers' default is tied; Llama and Mistral configs say false.
            tied: flag("tie_word_embeddings", true),
            sliding_window,
        })
    }
}

/// The [`ArchConfig`] of a decoder LLM (`kind` from [`decoder_kind`]).
pub fn arch_config(
    v: &Value,
    kind: FamilyKind,
    model_type: String,
    architecture: Option<String>,
) -> Result<ArchConfig> {
    if let Some(a) = architecture.as_deref() {
        if !a.ends_with("ForCausalLM") {
            return Err(unsupported(format!(
                "architecture {a:?} is not supported by the output check (decoders: *ForCausalLM)"
            )));
        }
    }
    match v
        .get("hidden_act")
        .and_then(Value::as_str)
        .unwrap_or("silu")
    {
        "silu" | "swish" => {}
        other => {
            return Err(unsupported(format!(
                "hidden_act {other:?} is not supported for {model_type} (silu)"
            )))
        }
    }
    let hidden = size(v, "hidden_size")?;
    let heads = size(v, "num_attention_heads")?;
    let decoder = DecoderConfig::from_json(v, kind, heads, hidden)?;
    Ok(ArchConfig {
        family: kind,
        model_type,
        architecture,
        hidden,
        layers: size(v, "num_hidden_layers")?,
        heads,
        intermediate: size(v, "intermediate_size")?,
        activation: Activation::Silu,
        eps: v
            .get("rms_norm_eps")
            .and_then(Value::as_f64)
            .unwrap_or(1e-6),
        max_position: size(v, "max_position_embeddings")?,
        type_vocab: 0,
        pad_token_id: 0,
        labels: None,
        decoder: Some(decoder),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({"model_type":"llama","architectures":["LlamaForCausalLM"],"hidden_size":64,"num_hidden_layers":2,
            "num_attention_heads":4,"num_key_value_heads":2,"intermediate_size":128,"max_position_embeddings":256,
            "vocab_size":100,"rms_norm_eps":1e-5,"tie_word_embeddings":false})
    }

    fn arch(v: &Value) -> Result<ArchConfig> {
        let t = v["model_type"].as_str().unwrap();
        arch_config(
            v,
            decoder_kind(t).unwrap(),
            t.into(),
            Some("LlamaForCausalLM".into()),
        )
    }

    #[test]
    fn transformers_4_and_5_layouts_agree() {
        let mut v4 = base();
        v4["rope_theta"] = json!(500000.0);
        v4["rope_scaling"] = json!({"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,
            "high_freq_factor":4.0,"original_max_position_embeddings":8192});
        let mut v5 = base();
        v5["rope_parameters"] = json!({"rope_theta":500000.0,"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,
            "high_freq_factor":4.0,"original_max_position_embeddings":8192});
        let (a, b) = (arch(&v4).unwrap(), arch(&v5).unwrap());
        assert_eq!(a, b);
        let d = a.decoder.unwrap();
        assert_eq!(
            (d.kv_heads, d.head_dim, d.tied, d.qkv_bias),
            (2, 16, false, false)
        );
        assert_eq!(d.rope.theta, 500000.0);
        assert!(matches!(d.rope.scaling, RopeScaling::Llama3 { factor, .. } if factor == 8.0));
        assert_eq!(a.eps, 1e-5);
    }

    #[test]
    fn defaults_qwen_biases_and_mistral_window() {
        let mut v = base();
        v["model_type"] = json!("qwen2");
        v.as_object_mut().unwrap().remove("tie_word_embeddings");
        let d = arch(&v).unwrap().decoder.unwrap();
        assert!(d.qkv_bias && !d.o_bias && d.tied);
        assert_eq!(
            d.rope,
            Rope {
                theta: 10000.0,
                scaling: RopeScaling::None
            }
        );
        v["model_type"] = json!("mistral");
        v["sliding_window"] = json!(4096);
        let d = arch(&v).unwrap().decoder.unwrap();
        assert_eq!((d.sliding_window, d.qkv_bias), (Some(4096), false));
    }

    #[test]
    fn unknown_rope_scaling_is_named() {
        let mut v = base();
        v["rope_scaling"] = json!({"type":"yarn","factor":4.0});
        let e = arch(&v).unwrap_err().to_string();
        assert!(e.contains("config.json") && e.contains("yarn"), "{e}");
        let mut v = base();
        v["rope_parameters"] = json!({"rope_type":"llama3","factor":8.0});
        let e = arch(&v).unwrap_err().to_string();
        assert!(e.contains("low_freq_factor"), "{e}");
        let mut v = base();
        v["num_key_value_heads"] = json!(3);
        assert!(arch(&v)
            .unwrap_err()
            .to_string()
            .contains("num_key_value_heads"));
        let e = arch_config(
            &base(),
            FamilyKind::Llama,
            "llama".into(),
            Some("LlamaForSequenceClassification".into()),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("LlamaForSequenceClassification"), "{e}");
    }
}
