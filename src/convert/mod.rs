//! Conversion of one tensor to a real quantized format: int8
//! (`<name>` int8 + `<name>.__scale__` f32) or MLX's format (`<m>.weight`
//! packed u32 + `<m>.scales`, plus `<m>.biases` in affine mode; modes
//! affine, mxfp4, mxfp8 and nvfp4, optionally mixed per layer). Pure and
//! in-memory: the native CLI (`src/cli/stage.rs`, `src/cli/write.rs`)
//! reads, shards, writes and verifies.
//!
//! May use: `format/`, `stored/` and `quant/`. May not use: `checks/`,
//! `report/`, the pipelines, `outputs/`, `web/` or `cli/`.

mod mixed;
mod target;

use serde_json::{json, Value};

pub use mixed::{Mixed, ModuleEntries};
pub use target::Target;

use crate::quant::policy::{Decision, KeepReason};
use crate::quant::scheme;
use crate::quant::{affine, fp};
use crate::{Dtype, Error, Model, Policy, PolicyKind, TensorInfo};

/// One tensor to write.
#[derive(Debug, Clone, PartialEq)]
pub struct OutTensor {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<u64>,
    pub data: Vec<u8>,
}

/// The layer policy of a target: the default rule for int8, mlx-lm's for
/// MLX (with the target's group size).
fn policy(target: Target) -> Policy {
    match target.mlx_params() {
        None => Policy::default_rule(),
        Some((group_size, _)) => {
            Policy::new(PolicyKind::Mlx, group_size as u64, &[], &[]).expect("no globs")
        }
    }
}

/// The decision for every tensor of `model`: the target's policy, and for
/// MLX only tensors named `*.weight` (MLX names scales after the module).
pub fn plan(model: &Model, target: Target) -> Vec<Decision> {
    let policy = policy(target);
    let groups = target.mlx_params().is_some();
    let mut d: Vec<Decision> = (0..model.tensors.len())
        .map(|i| policy.decide(model.tensor(i).expect("in range").1, groups))
        .collect();
    if target.mlx_params().is_some() {
        for (i, dec) in d.iter_mut().enumerate() {
            let name = &model.tensor(i).expect("in range").1.name;
            if *dec == Decision::Quantize && !name.ends_with(".weight") {
                *dec = Decision::Keep(KeepReason::Excluded);
            }
        }
    }
    d
}

/// What `convert` does with every tensor of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The decision per tensor, in model order.
    pub decisions: Vec<Decision>,
    /// The target per tensor: the global one, or a `--bits-for` override.
    pub targets: Vec<Target>,
    /// Per-module entries for MLX's `quantization` block: a module's own
    /// `(group_size, bits)`, or `None` for a layer left in float.
    pub modules: ModuleEntries,
}

/// [`plan`] with mlx-lm-style per-layer choices applied.
pub fn plan_mixed(model: &Model, target: Target, mixed: &Mixed) -> Result<Plan, Error> {
    let mut decisions = plan(model, target);
    let names: Vec<&str> = (0..model.tensors.len())
        .map(|i| model.tensor(i).expect("in range").1.name.as_str())
        .collect();
    let (targets, modules) = mixed.apply(target, &names, &mut decisions)?;
    Ok(Plan {
        decisions,
        targets,
        modules,
    })
}

/// Bytes the output of tensor `t` takes.
pub fn out_bytes(t: &TensorInfo, decision: Decision, target: Target) -> u64 {
    if decision != Decision::Quantize {
        return t.bytes();
    }
    let scale_bytes = t.dtype.decode_width().unwrap_or(4).min(4) as u64;
    target.quantized_bytes(&t.shape, scale_bytes)
}

fn read_all(model: &Model, i: usize) -> Result<(Vec<u8>, &TensorInfo), Error> {
    let (sh, t) = model.tensor(i)?;
    let mut buf = vec![0u8; t.bytes() as usize];
    sh.source
        .read_at(t.start, &mut buf)
        .map_err(|detail| Error::Read {
            file: sh.header.file.clone(),
            offset: t.start,
            detail: format!("tensor {:?}: {detail}", t.name),
        })?;
    Ok((buf, t))
}

fn f32_bytes(xs: &[f32]) -> Vec<u8> {
    xs.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Encodes f32 scales or biases in the dtype MLX keeps them in (the
/// weight's float dtype).
fn encode_like(xs: &[f32], dtype: &Dtype) -> (Dtype, Vec<u8>) {
    match dtype {
        Dtype::F16 => (
            Dtype::F16,
            xs.iter()
                .flat_map(|&x| half::f16::from_f32(x).to_bits().to_le_bytes())
                .collect(),
        ),
        Dtype::BF16 => (
            Dtype::BF16,
            xs.iter()
                .flat_map(|&x| half::bf16::from_f32(x).to_bits().to_le_bytes())
                .collect(),
        ),
        _ => (Dtype::F32, f32_bytes(xs)),
    }
}

/// Converts tensor `i` of `model`: the quantized tensors for a
/// `Quantize` decision, the tensor as stored otherwise (and also when it
/// holds NaN or Inf, which cannot be quantized meaningfully).
pub fn convert_tensor(
    model: &Model,
    i: usize,
    decision: Decision,
    target: Target,
) -> Result<Vec<OutTensor>, Error> {
    let (bytes, t) = read_all(model, i)?;
    let copy = |bytes: Vec<u8>| {
        vec![OutTensor {
            name: t.name.clone(),
            dtype: t.dtype.clone(),
            shape: t.shape.clone(),
            data: bytes,
        }]
    };
    if decision != Decision::Quantize
        || !t.dtype.is_decodable_float()
        || t.shape.len() != 2
        || t.numel == 0
    {
        return Ok(copy(bytes));
    }
    let mut w = vec![0f32; t.numel as usize];
    t.dtype.decode(&bytes, &mut w);
    if w.iter().any(|x| !x.is_finite()) {
        return Ok(copy(bytes));
    }
    let cols = t.shape[1] as usize;
    let rows = t.shape[0] as usize;
    Ok(match target {
        Target::Int8 { per_channel } => {
            let mut q = Vec::with_capacity(w.len());
            let mut scales = Vec::new();
            let blocks: Vec<&[f32]> = if per_channel {
                w.chunks(cols.max(1)).collect()
            } else {
                vec![&w[..]]
            };
            for b in blocks {
                let s = scheme::int8_scale(b.iter().fold(0f32, |m, x| m.max(x.abs())));
                scales.push(s);
                q.extend(b.iter().map(|&x| scheme::int8_quantize(x, s).0 as u8));
            }
            let scale_shape = if per_channel {
                vec![rows as u64]
            } else {
                vec![1]
            };
            vec![
                OutTensor {
                    name: t.name.clone(),
                    dtype: Dtype::I8,
                    shape: t.shape.clone(),
                    data: q,
                },
                OutTensor {
                    name: format!("{}.__scale__", t.name),
                    dtype: Dtype::F32,
                    shape: scale_shape,
                    data: f32_bytes(&scales),
                },
            ]
        }
        Target::Mlx { bits, group_size } => {
            let q = affine::quantize(&w, cols, group_size as usize, bits);
            let (sd, sb) = encode_like(&q.scales, &t.dtype);
            let (bd, bb) = encode_like(&q.biases, &t.dtype);
            let mut out = mlx_tensors(t, bits, group_size, q.words, sd, sb);
            let biases = OutTensor {
                name: format!(
                    "{}.biases",
                    t.name.strip_suffix(".weight").expect("planned")
                ),
                dtype: bd,
                shape: out[1].shape.clone(),
                data: bb,
            };
            out.push(biases);
            out
        }
        Target::MlxFp { mode } => {
            let (group_size, bits) = target.mlx_params().expect("an MLX target");
            let elem = match t.dtype {
                Dtype::F16 => fp::Elem::F16,
                Dtype::BF16 => fp::Elem::BF16,
                _ => fp::Elem::F32,
            };
            let q = fp::quantize(&w, cols, mode, elem);
            mlx_tensors(t, bits, group_size, q.words, Dtype::U8, q.scales)
        }
    })
}

/// MLX's `<m>.weight` (packed words) and `<m>.scales` for a quantized
/// `rows × cols` weight `t`.
fn mlx_tensors(
    t: &TensorInfo,
    bits: u8,
    group_size: u32,
    words: Vec<u32>,
    scale_dtype: Dtype,
    scales: Vec<u8>,
) -> Vec<OutTensor> {
    let (rows, cols) = (t.shape[0], t.shape[1]);
    let module = t.name.strip_suffix(".weight").expect("planned *.weight");
    vec![
        OutTensor {
            name: t.name.clone(),
            dtype: Dtype::U32,
            shape: vec![rows, cols * bits as u64 / 32],
            data: words.iter().flat_map(|x| x.to_le_bytes()).collect(),
        },
        OutTensor {
            name: format!("{module}.scales"),
            dtype: scale_dtype,
            shape: vec![rows, cols / group_size as u64],
            data: scales,
        },
    ]
}

/// `config.json` for an MLX output: the input's (or an empty object) with
/// `quantization` and `quantization_config` set as mlx-lm writes them:
/// `{"group_size", "bits", "mode"}` plus one entry per module with its own
/// choice, `{"group_size", "bits", "mode": "affine"}` (only affine layers
/// get their own bits) or `false` (left in float).
pub fn mlx_config(config: Option<&Value>, target: Target, modules: &ModuleEntries) -> Value {
    let mut c = config
        .filter(|c| c.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    let (group_size, bits) = target.mlx_params().unwrap_or((64, 4));
    let mode = target.mode().map(|m| m.name());
    let mut q = json!({ "group_size": group_size, "bits": bits, "mode": mode });
    for (m, e) in modules {
        q[m] = match e {
            Some((g, b)) => json!({ "group_size": g, "bits": b, "mode": "affine" }),
            None => json!(false),
        };
    }
    c["quantization"] = q.clone();
    c["quantization_config"] = q;
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn model(name: &str, w: &[f32], shape: [u64; 2]) -> Model {
        let h = format!(
            r#"{{"{name}":{{"dtype":"F32","shape":[{},{}],"data_offsets":[0,{}]}}}}"#,
            shape[0],
            shape[1],
            w.len() * 4
        );
        let mut b = (h.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(h.as_bytes());
        b.extend(f32_bytes(w));
        Model::open(
            vec![crate::NamedSource::new("m.safetensors", Arc::new(b))],
            None,
            None,
        )
        .unwrap()
    }

    #[test]
    fn targets_parse() {
        assert_eq!(
            Target::parse("int8", None, None, None, None).unwrap(),
            Target::Int8 { per_channel: false }
        );
        assert_eq!(
            Target::parse("mlx", None, None, Some(4), Some(64)).unwrap(),
            Target::Mlx {
                bits: 4,
                group_size: 64
            }
        );
    }

    #[test]
    fn mixed_config_records_modules_as_mlx_lm() {
        let mut modules = BTreeMap::new();
        modules.insert("lm_head".to_string(), None);
        modules.insert("l.0.v_proj".to_string(), Some((64, 6)));
        let t = Target::Mlx {
            bits: 4,
            group_size: 64,
        };
        let c = mlx_config(Some(&json!({"model_type": "llama"})), t, &modules);
        let q = &c["quantization"];
        assert_eq!(q["mode"], "affine");
        assert_eq!(q["bits"], 4);
        assert_eq!(q["lm_head"], json!(false));
        assert_eq!(
            q["l.0.v_proj"],
            json!({"group_size": 64, "bits": 6, "mode": "affine"})
        );
        assert_eq!(c["quantization_config"], *q);
        assert_eq!(c["model_type"], "llama");
        let fp = Target::parse("mlx", None, Some("mxfp8"), None, None).unwrap();
        let c = mlx_config(None, fp, &BTreeMap::new());
        assert_eq!(
            c["quantization"],
            json!({"group_size": 32, "bits": 8, "mode": "mxfp8"})
        );
    }

    #[test]
    fn mlx_output_shapes_and_round_trip() {
        let w: Vec<f32> = (0..256)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 100.0)
            .collect();
        let m = model("l.weight", &w, [2, 128]);
        let t = Target::Mlx {
            bits: 4,
            group_size: 64,
        };
        let out = convert_tensor(&m, 0, plan(&m, t)[0], t).unwrap();
        assert_eq!(out[0].shape, vec![2, 16]);
        assert_eq!(out[1].name, "l.scales");
        assert_eq!(out[2].shape, vec![2, 2]);
        let words: Vec<u32> = out[0]
            .data
            .chunks(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let codes = crate::stored::unpack_codes(&words, 4, 256);
        let s = f32::from_le_bytes(out[1].data[..4].try_into().unwrap());
        let b = f32::from_le_bytes(out[2].data[..4].try_into().unwrap());
        for k in 0..64 {
            assert!((scheme::affine_dequantize(codes[k], s, b) - w[k]).abs() <= s.abs());
        }
    }

    #[test]
    fn zero_element_matrix_is_kept_without_a_row_buffer() {
        // [0, 2^40] F32: no elements, but a row of 2^40 codes would be 4 TiB.
        let m = model("l.weight", &[], [0, 1 << 40]);
        for t in [
            Target::Mlx {
                bits: 4,
                group_size: 64,
            },
            Target::Int8 { per_channel: true },
        ] {
            let d = plan(&m, t)[0];
            assert_eq!(d, Decision::Keep(KeepReason::Empty));
            let out = convert_tensor(&m, 0, Decision::Quantize, t).unwrap();
            assert_eq!(out.len(), 1);
            assert_eq!(out[0].shape, vec![0, 1 << 40]);
            assert!(out[0].data.is_empty());
        }
    }
}
