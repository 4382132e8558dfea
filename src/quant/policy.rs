//! Layer policy: which tensors are quantized, and why the others are kept.

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Serialize;

use crate::{Dtype, Error, TensorInfo};

/// Which built-in rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    /// The default rule: float 2-D tensors that are not embeddings, norms or biases.
    Default,
    /// mlx-lm's rule: 2-D float weights (embeddings too) whose last dimension
    /// is divisible by the group size.
    Mlx,
}

impl PolicyKind {
    /// Parses `default` or `mlx`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "default" | "seeds" => Ok(PolicyKind::Default),
            "mlx" => Ok(PolicyKind::Mlx),
            _ => Err(Error::InvalidOption {
                detail: format!("unknown policy {s:?} (expected default or mlx)"),
            }),
        }
    }

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::Default => "default",
            PolicyKind::Mlx => "mlx",
        }
    }
}

/// Why a tensor is kept as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum KeepReason {
    /// Zero- or one-dimensional.
    #[serde(rename = "1-d")]
    OneD,
    /// More than two dimensions (the default rule only quantizes matrices).
    #[serde(rename = "n-d")]
    ManyD,
    /// Its name marks an embedding table.
    #[serde(rename = "embedding")]
    Embedding,
    /// Its name marks a normalisation layer.
    #[serde(rename = "norm")]
    Norm,
    /// Its name marks a bias.
    #[serde(rename = "bias")]
    Bias,
    /// Integer, boolean, or a float format quantlens does not decode.
    #[serde(rename = "non-float")]
    NonFloat,
    /// Matched an `--exclude` glob, or missed every `--include` of the policy.
    #[serde(rename = "excluded")]
    Excluded,
    /// Its last dimension is not a multiple of the group size.
    #[serde(rename = "group-size")]
    GroupSize,
    /// A dtype name outside the safetensors list.
    #[serde(rename = "unsupported-dtype")]
    UnsupportedDtype,
    /// Named like a quantized weight's scales or zero points, with no
    /// weight using it.
    #[serde(rename = "companion")]
    Companion,
    /// It holds no elements (a dimension is 0): nothing to quantize, and
    /// its other dimensions may be huge.
    #[serde(rename = "empty")]
    Empty,
}

impl KeepReason {
    /// The reason as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            KeepReason::OneD => "1-d",
            KeepReason::ManyD => "n-d",
            KeepReason::Embedding => "embedding",
            KeepReason::Norm => "norm",
            KeepReason::Bias => "bias",
            KeepReason::NonFloat => "non-float",
            KeepReason::Excluded => "excluded",
            KeepReason::GroupSize => "group-size",
            KeepReason::UnsupportedDtype => "unsupported-dtype",
            KeepReason::Companion => "companion",
            KeepReason::Empty => "empty",
        }
    }
}

/// What the policy decided for one tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Quantize it.
    Quantize,
    /// Keep it as stored, for this reason.
    Keep(KeepReason),
}

/// A configured layer policy.
#[derive(Debug, Clone)]
pub struct Policy {
    kind: PolicyKind,
    group_size: u64,
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl Policy {
    /// A policy of `kind`; `group_size` matters for [`PolicyKind::Mlx`] and
    /// whenever the scheme is affine. `include` globs force quantization of
    /// matching float matrices over the name rules; `exclude` globs keep
    /// matching tensors. Globs match the whole tensor name (`*` crosses dots).
    pub fn new(
        kind: PolicyKind,
        group_size: u64,
        include: &[String],
        exclude: &[String],
    ) -> Result<Self, Error> {
        Ok(Policy {
            kind,
            group_size,
            include: globs(include)?,
            exclude: globs(exclude)?,
        })
    }

    /// The default rule with no globs.
    pub fn default_rule() -> Self {
        Policy {
            kind: PolicyKind::Default,
            group_size: 64,
            include: None,
            exclude: None,
        }
    }

    /// Which built-in rule this is.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// Decides for one tensor. `needs_groups` says the scheme quantizes in
    /// groups along the last axis, so that axis must divide by the group size.
    pub fn decide(&self, t: &TensorInfo, needs_groups: bool) -> Decision {
        use KeepReason::*;
        if let Dtype::Unknown(_) = t.dtype {
            return Decision::Keep(UnsupportedDtype);
        }
        if self.exclude.as_ref().is_some_and(|g| g.is_match(&t.name)) {
            return Decision::Keep(Excluded);
        }
        if !t.dtype.is_decodable_float() {
            return Decision::Keep(NonFloat);
        }
        let forced = self.include.as_ref().is_some_and(|g| g.is_match(&t.name));
        if !forced {
            let lower = t.name.to_lowercase();
            // `_bias`: gpt-oss's per-expert biases are 2-D, `[experts, out]`.
            if lower.ends_with(".bias") || lower.ends_with("_bias") || lower == "bias" {
                return Decision::Keep(Bias);
            }
            if lower.contains("norm") {
                return Decision::Keep(Norm);
            }
            if self.kind == PolicyKind::Default && lower.contains("embed") {
                return Decision::Keep(Embedding);
            }
        }
        match t.shape.len() {
            0 | 1 => return Decision::Keep(OneD),
            2 => {}
            _ => return Decision::Keep(ManyD),
        }
        if t.numel == 0 {
            return Decision::Keep(Empty);
        }
        let last = t.shape[t.shape.len() - 1];
        if (needs_groups || self.kind == PolicyKind::Mlx)
            && (self.group_size == 0 || !last.is_multiple_of(self.group_size))
        {
            return Decision::Keep(GroupSize);
        }
        Decision::Quantize
    }
}

fn globs(patterns: &[String]) -> Result<Option<GlobSet>, Error> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let g = Glob::new(p).map_err(|e| Error::InvalidOption {
            detail: format!("bad glob {p:?}: {e}"),
        })?;
        b.add(g);
    }
    b.build().map(Some).map_err(|e| Error::InvalidOption {
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, dtype: &str, shape: &[u64]) -> TensorInfo {
        TensorInfo {
            name: name.into(),
            dtype: Dtype::parse(dtype),
            shape: shape.to_vec(),
            numel: shape.iter().product(),
            start: 0,
            end: 0,
        }
    }

    #[test]
    fn seeds_rule() {
        let p = Policy::default_rule();
        let d = |n, dt, s: &[u64]| p.decide(&t(n, dt, s), false);
        assert_eq!(d("l.0.q.weight", "F32", &[4, 4]), Decision::Quantize);
        assert_eq!(
            d("l.0.q.bias", "F32", &[4]),
            Decision::Keep(KeepReason::Bias)
        );
        assert_eq!(
            d("l.0.experts.down_proj_bias", "F32", &[2, 4]),
            Decision::Keep(KeepReason::Bias)
        );
        assert_eq!(
            d("emb.word_embeddings.weight", "F32", &[9, 4]),
            Decision::Keep(KeepReason::Embedding)
        );
        assert_eq!(
            d("l.LayerNorm.weight", "F32", &[4]),
            Decision::Keep(KeepReason::Norm)
        );
        assert_eq!(
            d("ids", "I64", &[1, 4]),
            Decision::Keep(KeepReason::NonFloat)
        );
        assert_eq!(
            d("conv.weight", "F16", &[4, 4, 3]),
            Decision::Keep(KeepReason::ManyD)
        );
        assert_eq!(d("scalar", "F32", &[]), Decision::Keep(KeepReason::OneD));
        assert_eq!(
            d("x", "F9_NEW", &[4, 4]),
            Decision::Keep(KeepReason::UnsupportedDtype)
        );
    }

    #[test]
    fn mlx_rule_quantizes_embeddings_and_checks_groups() {
        let p = Policy::new(PolicyKind::Mlx, 64, &[], &[]).unwrap();
        assert_eq!(
            p.decide(&t("embed_tokens.weight", "BF16", &[10, 128]), false),
            Decision::Quantize
        );
        assert_eq!(
            p.decide(&t("a.weight", "F32", &[10, 96]), false),
            Decision::Keep(KeepReason::GroupSize)
        );
    }

    #[test]
    fn globs_include_and_exclude() {
        let p = Policy::new(
            PolicyKind::Default,
            64,
            &["*.word_embeddings.*".into()],
            &["pooler.*".into()],
        )
        .unwrap();
        assert_eq!(
            p.decide(&t("e.word_embeddings.weight", "F32", &[8, 8]), false),
            Decision::Quantize
        );
        assert_eq!(
            p.decide(&t("pooler.dense.weight", "F32", &[8, 8]), false),
            Decision::Keep(KeepReason::Excluded)
        );
        assert!(Policy::new(PolicyKind::Default, 64, &["[".into()], &[]).is_err());
    }
}
