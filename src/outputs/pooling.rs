//! Sentence-transformers pooling as configured by `modules.json`,
//! `1_Pooling/config.json` and a Normalize module: CLS, mean, max or
//! mean·√len over the valid tokens of one input, then optional L2 norm.
//!
//! Inputs run alone and unpadded, so every token is valid: padding can
//! never enter a mean.
//!
//! May use: `serde_json`, [`super::side`]. Works on plain `f32` rows.

use serde_json::Value;

use super::error::{OutputsError, Result};
use super::side::SideFiles;

/// One pooling mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Cls,
    Max,
    Mean,
    MeanSqrtLen,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Cls => "cls",
            Mode::Max => "max",
            Mode::Mean => "mean",
            Mode::MeanSqrtLen => "mean_sqrt_len",
        }
    }
}

/// How a sentence-embedding model pools.
#[derive(Debug, Clone, PartialEq)]
pub struct Pooling {
    /// Modes, concatenated in sentence-transformers' order.
    pub modes: Vec<Mode>,
    /// Whether a Normalize module follows.
    pub normalize: bool,
}

fn bad(file: &str, detail: String) -> OutputsError {
    OutputsError::BadFile {
        file: file.into(),
        detail,
    }
}

impl Pooling {
    /// The configured pooling, or `None` for a folder that is not a
    /// sentence-transformers model (no `modules.json`).
    pub fn from_side(side: &SideFiles) -> Result<Option<Pooling>> {
        let Some(bytes) = side.get("modules.json") else {
            return Ok(None);
        };
        let mods: Value =
            serde_json::from_slice(bytes).map_err(|e| bad("modules.json", e.to_string()))?;
        let mods = mods
            .as_array()
            .ok_or_else(|| bad("modules.json", "is not a list of modules".into()))?;
        let mut pooling = None;
        let mut normalize = false;
        for m in mods {
            let ty = m.get("type").and_then(Value::as_str).unwrap_or_default();
            let path = m.get("path").and_then(Value::as_str).unwrap_or_default();
            match ty.rsplit('.').next().unwrap_or_default() {
                "Transformer" => {}
                "Normalize" => normalize = true,
                "Pooling" => {
                    let file = format!("{path}/config.json");
                    let b = side.get(&file).ok_or(OutputsError::MissingFile {
                        file: file.clone(),
                        why: "modules.json names a Pooling module".into(),
                    })?;
                    let v: Value =
                        serde_json::from_slice(b).map_err(|e| bad(&file, e.to_string()))?;
                    pooling = Some(modes(&v, &file)?);
                }
                other => {
                    return Err(OutputsError::Unsupported {
                        file: "modules.json".into(),
                        detail: format!(
                        "module type {other:?} is not supported (Transformer, Pooling, Normalize)"
                    ),
                    })
                }
            }
        }
        let modes = pooling.ok_or_else(|| bad("modules.json", "names no Pooling module".into()))?;
        Ok(Some(Pooling { modes, normalize }))
    }

    /// Mean pooling without normalisation (bare encoders).
    pub fn mean() -> Self {
        Pooling {
            modes: vec![Mode::Mean],
            normalize: false,
        }
    }

    /// CLS pooling without normalisation (bare encoders).
    pub fn cls() -> Self {
        Pooling {
            modes: vec![Mode::Cls],
            normalize: false,
        }
    }

    /// A name such as `mean` or `cls+mean`.
    pub fn name(&self) -> String {
        self.modes
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join("+")
    }

    /// Pools the hidden states `[tokens × width]` of one input.
    pub fn pool(&self, h: &[f32], width: usize) -> Vec<f32> {
        let tokens: Vec<&[f32]> = h.chunks_exact(width).collect();
        let n = tokens.len().max(1) as f32;
        let mut out = Vec::new();
        for m in &self.modes {
            match m {
                Mode::Cls => out.extend_from_slice(tokens.first().copied().unwrap_or(&[])),
                Mode::Max => out.extend((0..width).map(|c| {
                    tokens
                        .iter()
                        .map(|t| t[c])
                        .fold(f32::NEG_INFINITY, f32::max)
                })),
                Mode::Mean | Mode::MeanSqrtLen => {
                    let d = if *m == Mode::Mean { n } else { n.sqrt() };
                    out.extend((0..width).map(|c| tokens.iter().map(|t| t[c]).sum::<f32>() / d));
                }
            }
        }
        if self.normalize {
            let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            out.iter_mut().for_each(|x| *x /= norm);
        }
        out
    }
}

fn modes(v: &Value, file: &str) -> Result<Vec<Mode>> {
    if let Some(m) = v.get("pooling_mode").and_then(Value::as_str) {
        return Ok(vec![match m {
            "cls" => Mode::Cls,
            "max" => Mode::Max,
            "mean" => Mode::Mean,
            "mean_sqrt_len_tokens" => Mode::MeanSqrtLen,
            other => {
                return Err(bad(
                    file,
                    format!("pooling_mode {other:?} is not supported"),
                ))
            }
        }]);
    }
    let on = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
    for k in ["pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"] {
        if on(k) {
            return Err(bad(file, format!("{k} is not supported")));
        }
    }
    let modes: Vec<Mode> = [
        ("pooling_mode_cls_token", Mode::Cls),
        ("pooling_mode_max_tokens", Mode::Max),
        ("pooling_mode_mean_tokens", Mode::Mean),
        ("pooling_mode_mean_sqrt_len_tokens", Mode::MeanSqrtLen),
    ]
    .into_iter()
    .filter(|(k, _)| on(k))
    .map(|(_, m)| m)
    .collect();
    if modes.is_empty() {
        return Err(bad(file, "no pooling mode is switched on".into()));
    }
    Ok(modes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_normalize() {
        let h = [1.0, 2.0, 3.0, 6.0];
        let mut p = Pooling {
            modes: vec![Mode::Cls, Mode::Max, Mode::Mean],
            normalize: false,
        };
        assert_eq!(p.pool(&h, 2), [1.0, 2.0, 3.0, 6.0, 2.0, 4.0]);
        p.normalize = true;
        p.modes = vec![Mode::Mean];
        let v = p.pool(&h, 2);
        assert!((v[0] - 0.4472136).abs() < 1e-6 && (v[1] - 0.8944272).abs() < 1e-6);
    }

    #[test]
    fn reads_sentence_transformers_files() {
        let mut s = SideFiles::new();
        s.insert("modules.json", br#"[{"path":"","type":"x.Transformer"},{"path":"1_Pooling","type":"x.Pooling"},{"path":"2_Normalize","type":"x.Normalize"}]"#.to_vec());
        let e = Pooling::from_side(&s).unwrap_err();
        assert!(e.to_string().contains("1_Pooling/config.json"), "{e}");
        s.insert(
            "1_Pooling/config.json",
            br#"{"pooling_mode_mean_tokens":true}"#.to_vec(),
        );
        assert_eq!(
            Pooling::from_side(&s).unwrap(),
            Some(Pooling {
                modes: vec![Mode::Mean],
                normalize: true
            })
        );
        assert_eq!(Pooling::from_side(&SideFiles::new()).unwrap(), None);
    }
}
