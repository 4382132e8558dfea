//! Conversion of one tensor to a real quantized format: the seeds' int8
//! (`<name>` int8 + `<name>.__scale__` f32) or MLX's affine format
//! (`<m>.weight` packed u32 + `<m>.scales` + `<m>.biases`). Pure and
//! in-memory: the native CLI (`src/cli/convert.rs`) reads, shards, writes
//! and verifies.

use serde_json::{json, Value};

use crate::formats::pack_codes;
use crate::policy::{Decision, KeepReason};
use crate::scheme::{self, Scheme};
use crate::{Dtype, Error, Model, Policy, PolicyKind, TensorInfo};

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The seeds' int8: one scale per tensor, or per row.
    Int8 { per_channel: bool },
    /// MLX affine quantization.
    Mlx { bits: u8, group_size: u32 },
}

impl Target {
    /// Parses `--format int8|mlx` with `--scheme`, `--bits`, `--group-size`.
    pub fn parse(
        format: &str,
        scheme: Option<&str>,
        bits: u8,
        group_size: u32,
    ) -> Result<Self, Error> {
        let bad = |detail: String| Err(Error::InvalidOption { detail });
        match (format, scheme) {
            ("int8", None | Some("int8-tensor")) => Ok(Target::Int8 { per_channel: false }),
            ("int8", Some("int8-channel")) => Ok(Target::Int8 { per_channel: true }),
            ("mlx", None | Some("affine")) => match Scheme::parse("affine", bits, group_size)? {
                Scheme::Affine { bits, group_size } => Ok(Target::Mlx { bits, group_size }),
                _ => unreachable!(),
            },
            ("int8" | "mlx", Some(s)) => bad(format!(
                "scheme {s:?} does not fit --format {format} (int8: int8-tensor or int8-channel; mlx: affine)"
            )),
            _ => bad(format!("unknown format {format:?} (expected int8 or mlx)")),
        }
    }

    /// The scheme whose numbers the output holds.
    pub fn scheme(&self) -> Scheme {
        match *self {
            Target::Int8 { per_channel: false } => Scheme::Int8Tensor,
            Target::Int8 { per_channel: true } => Scheme::Int8Channel,
            Target::Mlx { bits, group_size } => Scheme::Affine { bits, group_size },
        }
    }

    /// The layer policy: the seeds' rule for int8, mlx-lm's for MLX.
    pub fn policy(&self) -> Policy {
        match *self {
            Target::Int8 { .. } => Policy::default_rule(),
            Target::Mlx { group_size, .. } => {
                Policy::new(PolicyKind::Mlx, group_size as u64, &[], &[]).expect("no globs")
            }
        }
    }

    /// A label for metadata, e.g. `quantlens-int8-tensor`.
    pub fn label(&self) -> String {
        format!("quantlens-{}", self.scheme().label())
    }
}

/// One tensor to write.
#[derive(Debug, Clone, PartialEq)]
pub struct OutTensor {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<u64>,
    pub data: Vec<u8>,
}

/// The decision for every tensor of `model`: the target's policy, and for
/// MLX only tensors named `*.weight` (MLX names scales after the module).
pub fn plan(model: &Model, target: Target) -> Vec<Decision> {
    let mut d = model.plan(&target.policy(), target.scheme());
    if let Target::Mlx { .. } = target {
        for (i, dec) in d.iter_mut().enumerate() {
            let name = &model.tensor(i).expect("in range").1.name;
            if *dec == Decision::Quantize && !name.ends_with(".weight") {
                *dec = Decision::Keep(KeepReason::Excluded);
            }
        }
    }
    d
}

/// Bytes the output of tensor `t` takes.
pub fn out_bytes(t: &TensorInfo, decision: Decision, target: Target) -> u64 {
    if decision != Decision::Quantize {
        return t.bytes();
    }
    let scale_bytes = match target {
        Target::Mlx { .. } => t.dtype.decode_width().unwrap_or(4).min(4) as u64,
        Target::Int8 { .. } => 4,
    };
    target.scheme().quantized_bytes(&t.shape, scale_bytes)
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
            let g = group_size as usize;
            let n_bins = ((1u32 << bits) - 1) as f32;
            let mut words = Vec::with_capacity(rows * cols * bits as usize / 32);
            let mut scales = Vec::with_capacity(rows * cols / g);
            let mut biases = Vec::with_capacity(rows * cols / g);
            let mut codes = vec![0u32; cols];
            for row in w.chunks(cols) {
                for (grp, cg) in row.chunks(g).zip(codes.chunks_mut(g)) {
                    // Codes use the f32 scale; it is stored in the weight's dtype.
                    let (s, b) = scheme::affine_params(grp, bits);
                    for (c, &x) in cg.iter_mut().zip(grp) {
                        *c = scheme::affine_quantize(x, s, b, n_bins).0;
                    }
                    scales.push(s);
                    biases.push(b);
                }
                words.extend(pack_codes(&codes, bits));
            }
            let module = t.name.strip_suffix(".weight").expect("planned *.weight");
            let gshape = vec![rows as u64, (cols / g) as u64];
            let (sd, sb) = encode_like(&scales, &t.dtype);
            let (bd, bb) = encode_like(&biases, &t.dtype);
            vec![
                OutTensor {
                    name: t.name.clone(),
                    dtype: Dtype::U32,
                    shape: vec![rows as u64, (cols * bits as usize / 32) as u64],
                    data: words.iter().flat_map(|x| x.to_le_bytes()).collect(),
                },
                OutTensor {
                    name: format!("{module}.scales"),
                    dtype: sd,
                    shape: gshape.clone(),
                    data: sb,
                },
                OutTensor {
                    name: format!("{module}.biases"),
                    dtype: bd,
                    shape: gshape,
                    data: bb,
                },
            ]
        }
    })
}

/// `config.json` for an MLX output: the input's (or an empty object) with
/// `quantization` and `quantization_config` set as mlx-lm writes them.
pub fn mlx_config(config: Option<&Value>, bits: u8, group_size: u32) -> Value {
    let mut c = config
        .filter(|c| c.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    let q = json!({ "group_size": group_size, "bits": bits, "mode": "affine" });
    c["quantization"] = q.clone();
    c["quantization_config"] = q;
    c
}

#[cfg(test)]
mod tests {
    use super::*;
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
            Target::parse("int8", None, 8, 64).unwrap(),
            Target::Int8 { per_channel: false }
        );
        assert_eq!(
            Target::parse("mlx", None, 4, 64).unwrap(),
            Target::Mlx {
                bits: 4,
                group_size: 64
            }
        );
        assert!(Target::parse("mlx", Some("int8-tensor"), 4, 64).is_err());
        assert!(Target::parse("gguf", None, 4, 64).is_err());
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
        let codes = crate::formats::unpack_codes(&words, 4, 256);
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
