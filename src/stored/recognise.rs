//! Works out, from the headers and `config.json` alone, how a model stores
//! each weight: every quantized layer becomes one [`Logical`] tensor that
//! owns its companions (scales, biases, zero points), and companions left
//! without a weight are named.

use std::collections::{HashMap, HashSet};

use super::config::{HfQuantConfig, MlxQuantConfig};
use super::layout::{Layout, Logical};
use super::{bnb, exllama, fp4, fp8, int8, mlx, packed};
use crate::{Finding, Model, Severity, TensorInfo};

/// The logical tensors of a model and the structural findings about them.
#[derive(Debug, Clone)]
pub struct Recognised {
    /// Logical tensors in model order of their main tensor; companions
    /// are folded into the layer they belong to.
    pub tensors: Vec<Logical>,
    /// Missing or malformed companions, bits that disagree with the
    /// config, companions with no weight.
    pub findings: Vec<Finding>,
    /// The MLX quantization block, if the config has one.
    pub mlx: Option<MlxQuantConfig>,
    /// The Hugging Face `quantization_config`, if the config has one.
    pub hf: Option<HfQuantConfig>,
    /// Model-order indices of companion-named tensors with no weight
    /// (still listed as tensors, never analysed as weights).
    pub orphans: HashSet<usize>,
}

/// What the family recognisers see: the model, its tensors by name, the
/// config's quantization blocks and the original shapes when known.
pub(crate) struct Ctx<'a> {
    pub model: &'a Model,
    by_name: HashMap<&'a str, usize>,
    pub mlx: Option<MlxQuantConfig>,
    pub hf: Option<HfQuantConfig>,
    pub hint: &'a dyn Fn(&str) -> Option<Vec<u64>>,
}

impl<'a> Ctx<'a> {
    /// The tensor at a model-order position.
    pub fn info(&self, i: usize) -> &'a TensorInfo {
        self.model.tensor(i).expect("in range").1
    }

    /// The file holding tensor `i`.
    pub fn file(&self, i: usize) -> &'a str {
        &self.model.tensor(i).expect("in range").0.header.file
    }

    /// The model-order index and info of the tensor called `name`.
    pub fn find(&self, name: &str) -> Option<(usize, &'a TensorInfo)> {
        self.by_name.get(name).map(|&i| (i, self.info(i)))
    }

    /// A finding about tensor `i`.
    pub fn finding(&self, code: &str, sev: Severity, i: usize, message: String) -> Finding {
        Finding::tensor(code, sev, self.file(i), &self.info(i).name, message)
    }

    /// The claim on tensor `i` of a family that knows its storage but
    /// cannot recover its values: a layer in `format` owning `companions`,
    /// and the error finding `code` that says why.
    pub fn refuse(
        &self,
        i: usize,
        format: &'static str,
        companions: Vec<usize>,
        code: &str,
        why: String,
    ) -> Claim {
        let t = self.info(i);
        let layer = Logical {
            name: t.name.clone(),
            main: i,
            shape: t.shape.clone(),
            stored_bytes: t.bytes()
                + companions
                    .iter()
                    .map(|&c| self.info(c).bytes())
                    .sum::<u64>(),
            layout: Layout::Broken { format, companions },
        };
        (layer, vec![self.finding(code, Severity::Error, i, why)])
    }
}

/// A family's reading of one tensor: the layer it heads, and findings.
pub(crate) type Claim = (Logical, Vec<Finding>);

/// Suffixes only quantized formats give a tensor.
const COMPANIONS: &[&str] = &[
    ".__scale__",
    ".scales",
    ".biases",
    ".weight_scale",
    ".weight_scale_inv",
    ".qzeros",
    ".g_idx",
    ".weight_zero_point",
    ".weight_packed",
    ".weight_scale_2",
    ".weight_global_scale",
    ".q_invperm",
    ".q_scale",
    ".q_scale_max",
    ".q_groups",
    ".suh",
    ".svh",
    ".SCB",
    ".weight.absmax",
    ".weight.quant_map",
    ".weight.nested_absmax",
    ".weight.nested_quant_map",
    ".weight.quant_state.bitsandbytes__nf4",
    ".weight.quant_state.bitsandbytes__fp4",
];

/// Works out how `model` stores each tensor. `hint` gives the original
/// shape of a tensor name when known (to infer MLX bits without a config).
pub fn recognise(model: &Model, hint: &dyn Fn(&str) -> Option<Vec<u64>>) -> Recognised {
    let mut by_name = HashMap::with_capacity(model.tensors.len());
    for i in 0..model.tensors.len() {
        by_name.insert(model.tensor(i).expect("in range").1.name.as_str(), i);
    }
    let cx = Ctx {
        model,
        by_name,
        mlx: model.config.as_ref().and_then(MlxQuantConfig::from_config),
        hf: model.config.as_ref().and_then(HfQuantConfig::from_config),
        hint,
    };
    let mut findings = Vec::new();
    if let Some(m) = cx.mlx.as_ref().and_then(|m| m.unknown_mode.as_ref()) {
        findings.push(Finding::file(
            "bad_config",
            Severity::Warning,
            "config.json",
            format!("config.json names the quantization mode {m:?}, which MLX does not have (affine, mxfp4, mxfp8, nvfp4)"),
        ));
    }
    let mut consumed: HashSet<usize> = HashSet::new();
    let mut out = Vec::with_capacity(model.tensors.len());
    for i in 0..model.tensors.len() {
        let t = cx.info(i);
        let claim = bnb::claim(&cx, i, t)
            .or_else(|| int8::claim(&cx, i, t))
            .or_else(|| mlx::claim(&cx, i, t))
            .or_else(|| fp4::claim(&cx, i, t))
            .or_else(|| fp8::claim(&cx, i, t))
            .or_else(|| packed::claim(&cx, i, t))
            .or_else(|| exllama::claim(&cx, i, t));
        let logical = match claim {
            Some((l, f)) => {
                findings.extend(f);
                consumed.extend(l.parts().into_iter().filter(|&p| p != i));
                l
            }
            None => plain(t, i),
        };
        out.push(logical);
    }
    // A tensor claimed as a companion is never a layer of its own, even if
    // it also looked like the head of one.
    let tensors: Vec<Logical> = out
        .into_iter()
        .filter(|l| !consumed.contains(&l.main))
        .collect();
    let mut orphans = HashSet::new();
    for l in &tensors {
        let name = l.name.as_str();
        let Some(suffix) = COMPANIONS.iter().find(|s| name.ends_with(*s)) else {
            continue;
        };
        if l.layout.is_quantized() {
            continue;
        }
        orphans.insert(l.main);
        findings.push(cx.finding(
            "orphan_companion",
            Severity::Warning,
            l.main,
            format!(
                "tensor {name:?} looks like the {} of a quantized weight, but no weight {:?} uses it; it was not analysed as a weight",
                suffix.trim_start_matches('.'),
                &name[..name.len() - suffix.len()]
            ),
        ));
    }
    Recognised {
        tensors,
        findings,
        mlx: cx.mlx,
        hf: cx.hf,
        orphans,
    }
}

/// A tensor stored as it is.
fn plain(t: &TensorInfo, i: usize) -> Logical {
    Logical {
        name: t.name.clone(),
        main: i,
        shape: t.shape.clone(),
        layout: if t.dtype.is_decodable_float() {
            Layout::Float
        } else {
            Layout::Raw
        },
        stored_bytes: t.bytes(),
    }
}
