//! What `config.json` says about stored quantization: MLX's
//! `quantization` block (with mlx-lm's per-module overrides), and the
//! Hugging Face `quantization_config` of FP8, GPTQ, AWQ and
//! compressed-tensors checkpoints.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

/// An MLX quantization mode (MLX 0.32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MlxMode {
    /// `scale * q + bias` per group, 2–8 bit codes.
    Affine,
    /// FP4 (E2M1) codes, groups of 32 with E8M0 power-of-two scales.
    Mxfp4,
    /// FP8 (E4M3) codes, groups of 32 with E8M0 power-of-two scales.
    Mxfp8,
    /// FP4 (E2M1) codes, groups of 16 with FP8 (E4M3) scales.
    Nvfp4,
}

impl MlxMode {
    /// Parses a mode name as MLX writes it.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "affine" => Some(MlxMode::Affine),
            "mxfp4" => Some(MlxMode::Mxfp4),
            "mxfp8" => Some(MlxMode::Mxfp8),
            "nvfp4" => Some(MlxMode::Nvfp4),
            _ => None,
        }
    }

    /// The name as MLX writes it.
    pub fn name(self) -> &'static str {
        match self {
            MlxMode::Affine => "affine",
            MlxMode::Mxfp4 => "mxfp4",
            MlxMode::Mxfp8 => "mxfp8",
            MlxMode::Nvfp4 => "nvfp4",
        }
    }

    /// `(group_size, bits)` the mode fixes, or MLX's affine defaults.
    pub fn defaults(self) -> (u64, u8) {
        match self {
            MlxMode::Affine => (64, 4),
            MlxMode::Mxfp4 => (32, 4),
            MlxMode::Mxfp8 => (32, 8),
            MlxMode::Nvfp4 => (16, 4),
        }
    }

    /// Whether the mode stores a bias per group.
    pub fn has_biases(self) -> bool {
        self == MlxMode::Affine
    }

    /// Whether `(group_size, bits)` is a combination MLX accepts.
    pub fn accepts(self, group_size: u64, bits: u8) -> bool {
        match self {
            MlxMode::Affine => matches!(bits, 2..=6 | 8) && matches!(group_size, 32 | 64 | 128),
            _ => self.defaults() == (group_size, bits),
        }
    }
}

/// How one module is quantized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleQuant {
    /// The mode.
    pub mode: MlxMode,
    /// Elements per group along the last axis.
    pub group_size: u64,
    /// Bits per code.
    pub bits: u8,
}

/// MLX's `quantization` block of `config.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct MlxQuantConfig {
    /// The default for every quantized module.
    pub default: ModuleQuant,
    /// Per-module entries by module path: `None` for `false` (kept float).
    pub overrides: BTreeMap<String, Option<ModuleQuant>>,
    /// A mode name MLX does not have, if the block names one.
    pub unknown_mode: Option<String>,
}

impl MlxQuantConfig {
    /// Reads `quantization` (or an MLX-style `quantization_config`, one
    /// without `quant_method`) from a config, as MLX loads it.
    pub fn from_config(config: &Value) -> Option<Self> {
        let q = ["quantization", "quantization_config"]
            .iter()
            .filter_map(|k| config.get(*k)?.as_object())
            .find(|q| !q.contains_key("quant_method"))?;
        let mut unknown_mode = None;
        let default = module_quant(q, &mut unknown_mode)?;
        let mut overrides = BTreeMap::new();
        for (k, v) in q {
            match v {
                Value::Bool(false) => {
                    overrides.insert(k.clone(), None);
                }
                Value::Object(o) => {
                    if let Some(mq) = module_quant(o, &mut unknown_mode) {
                        overrides.insert(k.clone(), Some(mq));
                    }
                }
                _ => {}
            }
        }
        Some(MlxQuantConfig {
            default,
            overrides,
            unknown_mode,
        })
    }

    /// How the module at `path` is quantized, or `None` if the config
    /// marks it as kept in float.
    pub fn for_module(&self, path: &str) -> Option<ModuleQuant> {
        match self.overrides.get(path) {
            Some(o) => *o,
            None => Some(self.default),
        }
    }
}

/// One block (the top level, or a module's own entry) as MLX reads it.
/// `nn.quantize` hands a module's entry to `to_quantized` as keyword
/// arguments, so a missing `mode` is affine, and a `group_size` or `bits`
/// that is missing, null or 0 is the mode's own default
/// (`_defaults_for_mode`), never the top level's: mlx-lm's mixed recipes
/// write `"group_size": null`. A mode MLX does not have is read as affine
/// and named in `unknown` (the first one); a field of another type makes
/// the block unreadable.
fn module_quant(o: &Map<String, Value>, unknown: &mut Option<String>) -> Option<ModuleQuant> {
    let name = match o.get("mode") {
        None | Some(Value::Null) => "affine",
        Some(v) => v.as_str()?,
    };
    let mode = MlxMode::parse(name).unwrap_or_else(|| {
        unknown.get_or_insert_with(|| name.to_string());
        MlxMode::Affine
    });
    let field = |key: &str| match o.get(key) {
        None | Some(Value::Null) => Some(None),
        Some(v) => v.as_u64().map(|n| (n != 0).then_some(n)),
    };
    let (g0, b0) = mode.defaults();
    let group_size = field("group_size")?.unwrap_or(g0);
    let bits = match field("bits")? {
        None => b0,
        Some(b) => u8::try_from(b).ok()?,
    };
    Some(ModuleQuant {
        mode,
        group_size,
        bits,
    })
}

/// A Hugging Face `quantization_config` with a `quant_method`.
#[derive(Debug, Clone, PartialEq)]
pub struct HfQuantConfig {
    /// `fp8`, `gptq`, `awq`, `compressed-tensors`, …
    pub method: String,
    /// Weight bits, when the block says.
    pub bits: Option<u8>,
    /// Group size; `None` when absent or per-channel (`-1`).
    pub group_size: Option<u64>,
    /// FP8 `weight_block_size` `[rows, cols]`.
    pub block: Option<(u64, u64)>,
}

impl HfQuantConfig {
    /// Reads `quantization_config` (with `quant_method`) from a config.
    pub fn from_config(config: &Value) -> Option<Self> {
        let q = config.get("quantization_config")?.as_object()?;
        let method = q.get("quant_method")?.as_str()?.to_ascii_lowercase();
        let uint = |o: &Map<String, Value>, k: &str| o.get(k).and_then(Value::as_u64);
        let mut bits = uint(q, "bits").or_else(|| uint(q, "w_bit"));
        let mut group_size = uint(q, "group_size").or_else(|| uint(q, "q_group_size"));
        // compressed-tensors: the first config group's weight scheme.
        if let Some(w) = q
            .get("config_groups")
            .and_then(Value::as_object)
            .and_then(|g| g.values().next())
            .and_then(|g| g.get("weights"))
            .and_then(Value::as_object)
        {
            bits = bits.or_else(|| uint(w, "num_bits"));
            group_size = group_size.or_else(|| uint(w, "group_size"));
        }
        let block = q
            .get("weight_block_size")
            .and_then(Value::as_array)
            .and_then(|a| match a.as_slice() {
                [r, c] => Some((r.as_u64()?, c.as_u64()?)),
                _ => None,
            })
            .filter(|&(r, c)| r > 0 && c > 0);
        Some(HfQuantConfig {
            method,
            bits: bits.and_then(|b| u8::try_from(b).ok()),
            group_size: group_size.filter(|&g| g > 0),
            block,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn quantization_block_with_overrides() {
        let q = MlxQuantConfig::from_config(&cfg(
            r#"{"quantization":{"group_size":64,"bits":4,"lm_head":{"group_size":32,"bits":8},"m.gate":false}}"#,
        ))
        .unwrap();
        let m = |mode, group_size, bits| ModuleQuant {
            mode,
            group_size,
            bits,
        };
        assert_eq!(q.for_module("x.q_proj"), Some(m(MlxMode::Affine, 64, 4)));
        assert_eq!(q.for_module("lm_head"), Some(m(MlxMode::Affine, 32, 8)));
        assert_eq!(q.for_module("m.gate"), None);
    }

    #[test]
    fn a_module_entry_takes_mlx_defaults_not_the_top_level() {
        // As mlx-lm 0.32's mixed_3_6 recipe writes it, and as MLX loads it:
        // null (or missing, or 0) is the mode's default; a missing mode is
        // affine whatever the top level's.
        let q = MlxQuantConfig::from_config(&cfg(
            r#"{"quantization":{"group_size":32,"bits":8,"mode":"affine",
                "a":{"group_size":null,"bits":3,"mode":"affine"},
                "b":{"bits":6},
                "c":{"group_size":0,"bits":null},
                "d":{"group_size":null,"bits":null,"mode":"mxfp4"},
                "e":{"group_size":32,"bits":8,"mode":"int3"},
                "f":{"group_size":"64","bits":4}}}"#,
        ))
        .unwrap();
        let m = |mode, group_size, bits| {
            Some(ModuleQuant {
                mode,
                group_size,
                bits,
            })
        };
        assert_eq!(q.for_module("other"), m(MlxMode::Affine, 32, 8));
        assert_eq!(q.for_module("a"), m(MlxMode::Affine, 64, 3));
        assert_eq!(q.for_module("b"), m(MlxMode::Affine, 64, 6));
        assert_eq!(q.for_module("c"), m(MlxMode::Affine, 64, 4));
        assert_eq!(q.for_module("d"), m(MlxMode::Mxfp4, 32, 4));
        assert_eq!(q.for_module("e"), m(MlxMode::Affine, 32, 8));
        assert_eq!(q.unknown_mode.as_deref(), Some("int3"));
        // An entry of the wrong type is not read: the top level applies.
        assert_eq!(q.for_module("f"), m(MlxMode::Affine, 32, 8));
        let top = MlxQuantConfig::from_config(&cfg(
            r#"{"quantization":{"group_size":null,"bits":null,"mode":"nvfp4"}}"#,
        ))
        .unwrap();
        assert_eq!(
            top.default,
            ModuleQuant {
                mode: MlxMode::Nvfp4,
                group_size: 16,
                bits: 4
            }
        );
    }

    #[test]
    fn fp_modes_and_hf_blocks() {
        let q = MlxQuantConfig::from_config(&cfg(
            r#"{"quantization":{"group_size":32,"bits":4,"mode":"mxfp4"}}"#,
        ))
        .unwrap();
        assert_eq!(q.default.mode, MlxMode::Mxfp4);
        let fp8 = cfg(
            r#"{"quantization_config":{"quant_method":"fp8","fmt":"e4m3","weight_block_size":[128,128]}}"#,
        );
        assert!(MlxQuantConfig::from_config(&fp8).is_none());
        let h = HfQuantConfig::from_config(&fp8).unwrap();
        assert_eq!((h.method.as_str(), h.block), ("fp8", Some((128, 128))));
        let ct = HfQuantConfig::from_config(&cfg(
            r#"{"quantization_config":{"quant_method":"compressed-tensors","config_groups":{"group_0":{"weights":{"num_bits":4,"group_size":128}}}}}"#,
        ))
        .unwrap();
        assert_eq!((ct.bits, ct.group_size), (Some(4), Some(128)));
    }
}
