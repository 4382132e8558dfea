//! Recognising how a converted model stores each weight, and reading it
//! back as f32.
//!
//! * **Seeds' int8**: an `I8` tensor `<name>` with an f32 companion
//!   `<name>.__scale__` holding one scale (shape `[]` or `[1]`) or one per
//!   row (`[rows]` or `[rows, 1]`); the value is `q * scale`.
//! * **MLX quantized**: `<m>.weight` as `U32` words packing `bits`-bit
//!   codes lowest bits first, with `<m>.scales` and `<m>.biases` of shape
//!   `[rows, cols / group_size]` in the model's float dtype. `bits` and
//!   `group_size` come from `config.json`'s `quantization` block, whose
//!   per-module entries (an object, or `false`) override the defaults.
//!   The value is `scale * q + bias`, two roundings in the scales' dtype
//!   (as `mx.dequantize`).
//! * **Plain floats** (f64, f32, f16, bf16, f8) are decoded as they are.
//!
//! Anything else is carried as raw bytes and never compared numerically.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use crate::{ByteSource, Dtype, Error, Finding, Model, Severity, TensorInfo};

/// How one logical tensor is stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    /// A float tensor, decoded as stored.
    Float,
    /// Seeds' int8 codes with the model-order index of its scale tensor.
    Int8 { scale: usize },
    /// MLX affine codes, with the model-order indices of scales and biases.
    Mlx {
        scales: usize,
        biases: usize,
        bits: u8,
        group_size: u64,
    },
    /// Stored as it is and not decodable (integers, or a quantized tensor
    /// whose companions are missing or malformed).
    Raw,
}

impl Layout {
    /// A short label for reports: `float`, `int8`, `mlx-4bit-g64`, `raw`.
    pub fn label(&self) -> String {
        match self {
            Layout::Float => "float".into(),
            Layout::Int8 { .. } => "int8".into(),
            Layout::Mlx {
                bits, group_size, ..
            } => format!("mlx-affine-{bits}bit-g{group_size}"),
            Layout::Raw => "raw".into(),
        }
    }

    /// Whether the storage is a real quantized format.
    pub fn is_quantized(&self) -> bool {
        matches!(self, Layout::Int8 { .. } | Layout::Mlx { .. })
    }
}

/// One tensor as the model means it, possibly stored as several.
#[derive(Debug, Clone, PartialEq)]
pub struct Logical {
    /// The name the original model uses (`<m>.weight` for MLX).
    pub name: String,
    /// Model-order index of the main stored tensor.
    pub main: usize,
    /// The logical (unpacked) shape.
    pub shape: Vec<u64>,
    /// How it is stored.
    pub layout: Layout,
    /// Bytes stored for it, companions included.
    pub stored_bytes: u64,
}

impl Logical {
    /// Number of logical elements.
    pub fn numel(&self) -> u64 {
        self.shape.iter().product()
    }

    /// Model-order indices of every stored tensor it reads: the main one
    /// and its companions (scales, biases).
    pub fn parts(&self) -> Vec<usize> {
        match self.layout {
            Layout::Int8 { scale } => vec![self.main, scale],
            Layout::Mlx { scales, biases, .. } => vec![self.main, scales, biases],
            Layout::Float | Layout::Raw => vec![self.main],
        }
    }

    /// Length of the last axis (1 for a scalar).
    pub fn cols(&self) -> u64 {
        self.shape.last().copied().unwrap_or(1).max(1)
    }

    /// Number of rows (elements / last axis).
    pub fn rows(&self) -> u64 {
        self.numel() / self.cols()
    }
}

/// MLX's `quantization` block of `config.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct MlxQuantConfig {
    pub group_size: u64,
    pub bits: u8,
    pub mode: String,
    /// Per-module overrides: `None` for `false` (not quantized).
    pub overrides: BTreeMap<String, Option<(u64, u8)>>,
}

impl MlxQuantConfig {
    /// Reads `quantization` (or `quantization_config`) from a config.
    pub fn from_config(config: &Value) -> Option<Self> {
        let q = config
            .get("quantization")
            .or_else(|| config.get("quantization_config"))?
            .as_object()?;
        let group_size = q.get("group_size")?.as_u64()?;
        let bits = u8::try_from(q.get("bits")?.as_u64()?).ok()?;
        let mode = q
            .get("mode")
            .and_then(Value::as_str)
            .unwrap_or("affine")
            .to_string();
        let mut overrides = BTreeMap::new();
        for (k, v) in q {
            match v {
                Value::Bool(false) => {
                    overrides.insert(k.clone(), None);
                }
                Value::Object(o) => {
                    let g = o
                        .get("group_size")
                        .and_then(Value::as_u64)
                        .unwrap_or(group_size);
                    let b = o
                        .get("bits")
                        .and_then(Value::as_u64)
                        .and_then(|b| u8::try_from(b).ok())
                        .unwrap_or(bits);
                    overrides.insert(k.clone(), Some((g, b)));
                }
                _ => {}
            }
        }
        Some(MlxQuantConfig {
            group_size,
            bits,
            mode,
            overrides,
        })
    }

    /// `(group_size, bits)` for a module path, or `None` if it is marked
    /// as not quantized.
    pub fn params_for(&self, module: &str) -> Option<(u64, u8)> {
        match self.overrides.get(module) {
            Some(o) => *o,
            None => Some((self.group_size, self.bits)),
        }
    }
}

/// The logical tensors of a model and the structural findings about them.
#[derive(Debug, Clone)]
pub struct Recognised {
    /// Logical tensors in model order of their main tensor.
    pub tensors: Vec<Logical>,
    /// `missing_scale`, `bad_scale` (by shape) and `shape_mismatch`
    /// (malformed MLX companions).
    pub findings: Vec<Finding>,
    /// The MLX quantization block, if the config has one.
    pub mlx: Option<MlxQuantConfig>,
}

/// Works out how `model` stores each tensor. `hint` gives the original
/// shape of a tensor name when known (to infer MLX bits without a config).
pub fn recognise(model: &Model, hint: &dyn Fn(&str) -> Option<Vec<u64>>) -> Recognised {
    let mlx = model.config.as_ref().and_then(MlxQuantConfig::from_config);
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for i in 0..model.tensors.len() {
        by_name.insert(&model.tensor(i).expect("in range").1.name, i);
    }
    let info = |i: usize| model.tensor(i).expect("in range");
    let mut findings = Vec::new();
    let mut consumed: HashSet<usize> = HashSet::new();
    let mut out = Vec::new();
    for i in 0..model.tensors.len() {
        let (shard, t) = info(i);
        let file = shard.header.file.as_str();
        let mut logical = Logical {
            name: t.name.clone(),
            main: i,
            shape: t.shape.clone(),
            layout: if t.dtype.is_decodable_float() {
                Layout::Float
            } else {
                Layout::Raw
            },
            stored_bytes: t.bytes(),
        };
        if t.dtype == Dtype::I8 {
            let sname = format!("{}.__scale__", t.name);
            match by_name.get(sname.as_str()) {
                None => findings.push(Finding::tensor(
                    "missing_scale",
                    Severity::Error,
                    file,
                    &t.name,
                    format!(
                        "int8 tensor {:?} has no {sname:?} tensor, so its values cannot be recovered",
                        t.name
                    ),
                )),
                Some(&si) => {
                    consumed.insert(si);
                    let (ss, st) = info(si);
                    // One scale per row of the rows × cols view decoding
                    // uses (every axis but the last; a 1-D tensor is one row).
                    let rows = logical.rows();
                    let ok_shape = st.numel == 1 && st.shape.len() <= 1
                        || st.numel == rows && (st.shape.len() == 1 || st.shape == [rows, 1]);
                    if !st.dtype.is_decodable_float() || !ok_shape {
                        findings.push(Finding::tensor(
                            "bad_scale",
                            Severity::Error,
                            &ss.header.file,
                            &st.name,
                            format!(
                                "scale {:?} is {} {:?}; an int8 scale must be a float of shape [], [1], [{rows}] or [{rows}, 1]",
                                st.name, st.dtype, st.shape
                            ),
                        ));
                    } else {
                        logical.layout = Layout::Int8 { scale: si };
                    }
                    logical.stored_bytes += st.bytes();
                }
            }
        } else if t.dtype == Dtype::U32 && t.name.ends_with(".weight") && !t.shape.is_empty() {
            let module = &t.name[..t.name.len() - ".weight".len()];
            let sc = by_name.get(format!("{module}.scales").as_str()).copied();
            let bi = by_name.get(format!("{module}.biases").as_str()).copied();
            match (sc, bi) {
                (None, None) => {}
                (Some(_), None) | (None, Some(_)) => findings.push(Finding::tensor(
                    "missing_scale",
                    Severity::Error,
                    file,
                    &t.name,
                    format!(
                        "MLX-quantized {:?} needs both {module}.scales and {module}.biases; one is missing",
                        t.name
                    ),
                )),
                (Some(si), Some(bi)) => {
                    consumed.insert(si);
                    consumed.insert(bi);
                    let (_, st) = info(si);
                    let (_, bt) = info(bi);
                    logical.stored_bytes += st.bytes() + bt.bytes();
                    match mlx_layout(t, st, bt, module, mlx.as_ref(), hint) {
                        Ok((shape, bits, group_size)) => {
                            logical.shape = shape;
                            logical.layout = Layout::Mlx {
                                scales: si,
                                biases: bi,
                                bits,
                                group_size,
                            };
                        }
                        Err(why) => findings.push(Finding::tensor(
                            "shape_mismatch",
                            Severity::Error,
                            file,
                            &t.name,
                            format!("MLX-quantized {:?} cannot be unpacked: {why}", t.name),
                        )),
                    }
                }
            }
        }
        out.push(logical);
    }
    let tensors = out
        .into_iter()
        .filter(|l| !consumed.contains(&l.main))
        .collect();
    Recognised {
        tensors,
        findings,
        mlx,
    }
}

/// The logical shape, bits and group size of an MLX-quantized weight.
fn mlx_layout(
    w: &TensorInfo,
    s: &TensorInfo,
    b: &TensorInfo,
    module: &str,
    cfg: Option<&MlxQuantConfig>,
    hint: &dyn Fn(&str) -> Option<Vec<u64>>,
) -> Result<(Vec<u64>, u8, u64), String> {
    let packed = *w.shape.last().expect("non-scalar");
    let groups = *s.shape.last().unwrap_or(&0);
    let (group_size, bits) = match cfg {
        Some(c) => {
            if c.mode != "affine" {
                return Err(format!(
                    "quantization mode {:?} is not supported (only affine)",
                    c.mode
                ));
            }
            c.params_for(module)
                .ok_or_else(|| format!("config.json marks {module} as not quantized"))?
        }
        None => {
            let cols = hint(&w.name)
                .and_then(|s| s.last().copied())
                .ok_or("config.json has no quantization block and the original shape is unknown")?;
            if cols == 0 || groups == 0 || (packed * 32) % cols != 0 || cols % groups != 0 {
                return Err(format!(
                    "{packed} words per row do not fit {cols} columns in {groups} groups"
                ));
            }
            (cols / groups, (packed * 32 / cols) as u8)
        }
    };
    if !matches!(bits, 2 | 3 | 4 | 5 | 6 | 8) {
        return Err(format!("{bits}-bit codes are not an MLX affine width"));
    }
    if group_size == 0 || (packed * 32) % bits as u64 != 0 {
        return Err(format!(
            "{packed} words per row do not hold whole {bits}-bit codes"
        ));
    }
    let cols = packed * 32 / bits as u64;
    let mut shape = w.shape.clone();
    *shape.last_mut().expect("non-scalar") = cols;
    let mut want = w.shape.clone();
    *want.last_mut().expect("non-scalar") = cols / group_size;
    if cols % group_size != 0 || s.shape != want || b.shape != want {
        return Err(format!(
            "{cols} columns in groups of {group_size} need scales and biases of shape {want:?}, found {:?} and {:?}",
            s.shape, b.shape
        ));
    }
    if !s.dtype.is_decodable_float() || s.dtype != b.dtype {
        return Err(format!(
            "scales ({}) and biases ({}) must share one float dtype",
            s.dtype, b.dtype
        ));
    }
    Ok((shape, bits, group_size))
}

/// Reads `n` elements of width `width` starting at element `from`.
pub fn read_elems(
    src: &dyn ByteSource,
    file: &str,
    t: &TensorInfo,
    from: u64,
    n: usize,
    width: usize,
    buf: &mut Vec<u8>,
) -> Result<(), Error> {
    buf.resize(n * width, 0);
    let offset = t.start + from * width as u64;
    src.read_at(offset, buf).map_err(|detail| Error::Read {
        file: file.to_string(),
        offset,
        detail: format!("tensor {:?}: {detail}", t.name),
    })
}

/// Reads a whole float tensor (scales) as f32.
fn read_floats(model: &Model, i: usize, buf: &mut Vec<u8>) -> Result<Vec<f32>, Error> {
    let (sh, t) = model.tensor(i)?;
    let w = t.dtype.decode_width().expect("float");
    read_elems(
        sh.source.as_ref(),
        &sh.header.file,
        t,
        0,
        t.numel as usize,
        w,
        buf,
    )?;
    let mut out = vec![0f32; t.numel as usize];
    t.dtype.decode(buf, &mut out);
    Ok(out)
}

/// What dequantizing a tensor noticed about its encoding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecodeNotes {
    /// Int8 codes equal to -128 (outside a symmetric scheme's range).
    pub int8_min_codes: u64,
    /// Scales that are ≤ 0, NaN or infinite (int8 only: MLX scales are
    /// signed by design).
    pub bad_scales: u64,
    /// The first bad scale seen.
    pub first_bad_scale: Option<f32>,
}

/// Reads a logical tensor back as f32, a block of whole rows at a time.
pub struct Dequantizer<'a> {
    model: &'a Model,
    logical: &'a Logical,
    /// Int8 scales (one, or one per row).
    int8_scales: Vec<f32>,
    bytes: Vec<u8>,
    sbuf: Vec<f32>,
    bbuf: Vec<f32>,
    /// Findings-relevant observations so far.
    pub notes: DecodeNotes,
}

impl<'a> Dequantizer<'a> {
    /// Prepares to read `logical` (not [`Layout::Raw`]).
    pub fn new(model: &'a Model, logical: &'a Logical) -> Result<Self, Error> {
        let mut d = Dequantizer {
            model,
            logical,
            int8_scales: Vec::new(),
            bytes: Vec::new(),
            sbuf: Vec::new(),
            bbuf: Vec::new(),
            notes: DecodeNotes::default(),
        };
        if let Layout::Int8 { scale } = logical.layout {
            d.int8_scales = read_floats(model, scale, &mut d.bytes)?;
            for &s in &d.int8_scales {
                if !(s > 0.0 && s.is_finite()) {
                    d.notes.bad_scales += 1;
                    d.notes.first_bad_scale.get_or_insert(s);
                }
            }
        }
        Ok(d)
    }

    /// Rows per block so a block stays near `target` elements.
    pub fn rows_per_block(&self, target: usize) -> u64 {
        (target as u64 / self.logical.cols()).max(1)
    }

    /// Decodes rows `[r0, r1)` into `out` (resized to their elements).
    pub fn rows(&mut self, r0: u64, r1: u64, out: &mut Vec<f32>) -> Result<(), Error> {
        let cols = self.logical.cols();
        let n = ((r1 - r0) * cols) as usize;
        out.resize(n, 0.0);
        let (sh, t) = self.model.tensor(self.logical.main)?;
        let (src, file) = (sh.source.as_ref(), sh.header.file.as_str());
        match self.logical.layout {
            Layout::Float => {
                let w = t.dtype.decode_width().expect("float");
                read_elems(src, file, t, r0 * cols, n, w, &mut self.bytes)?;
                t.dtype.decode(&self.bytes, out);
            }
            Layout::Int8 { .. } => {
                read_elems(src, file, t, r0 * cols, n, 1, &mut self.bytes)?;
                let per_row = self.int8_scales.len() > 1;
                for (r, (o, q)) in out
                    .chunks_mut(cols as usize)
                    .zip(self.bytes.chunks(cols as usize))
                    .enumerate()
                {
                    let s = if per_row {
                        self.int8_scales[r0 as usize + r]
                    } else {
                        self.int8_scales[0]
                    };
                    for (o, &q) in o.iter_mut().zip(q) {
                        let q = q as i8;
                        self.notes.int8_min_codes += (q == i8::MIN) as u64;
                        *o = q as f32 * s;
                    }
                }
            }
            Layout::Mlx {
                scales,
                biases,
                bits,
                group_size,
            } => {
                let packed = cols * bits as u64 / 32;
                let groups = cols / group_size;
                read_elems(
                    src,
                    file,
                    t,
                    r0 * packed,
                    ((r1 - r0) * packed) as usize,
                    4,
                    &mut self.bytes,
                )?;
                let words: Vec<u32> = self
                    .bytes
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                let ng = ((r1 - r0) * groups) as usize;
                let sdt = read_rows_f32(
                    self.model,
                    scales,
                    r0 * groups,
                    ng,
                    &mut self.bytes,
                    &mut self.sbuf,
                )?;
                read_rows_f32(
                    self.model,
                    biases,
                    r0 * groups,
                    ng,
                    &mut self.bytes,
                    &mut self.bbuf,
                )?;
                let mask = (1u64 << bits) - 1;
                for (r, o) in out.chunks_mut(cols as usize).enumerate() {
                    let row = &words[r * packed as usize..(r + 1) * packed as usize];
                    for (k, o) in o.iter_mut().enumerate() {
                        let bit = k * bits as usize;
                        let (wi, off) = (bit / 32, bit % 32);
                        let lo = row[wi] as u64;
                        let hi = row.get(wi + 1).copied().unwrap_or(0) as u64;
                        let q = (((hi << 32) | lo) >> off) & mask;
                        let g = r * groups as usize + k / group_size as usize;
                        *o = mlx_dequantize(q as u32, self.sbuf[g], self.bbuf[g], &sdt);
                    }
                }
            }
            Layout::Raw => unreachable!("raw tensors are not dequantized"),
        }
        Ok(())
    }
}

/// `scale * q + bias` as `mx.dequantize` computes it: two roundings in the
/// scales' dtype, no fused multiply-add.
#[inline]
pub fn mlx_dequantize(q: u32, s: f32, b: f32, dtype: &Dtype) -> f32 {
    match dtype {
        Dtype::F16 => {
            let p = half::f16::from_f32(s * q as f32).to_f32();
            half::f16::from_f32(p + b).to_f32()
        }
        Dtype::BF16 => {
            let p = half::bf16::from_f32(s * q as f32).to_f32();
            half::bf16::from_f32(p + b).to_f32()
        }
        _ => s * q as f32 + b,
    }
}

/// Reads `n` elements from element `from` of float tensor `i` as f32,
/// returning its dtype.
fn read_rows_f32(
    model: &Model,
    i: usize,
    from: u64,
    n: usize,
    bytes: &mut Vec<u8>,
    out: &mut Vec<f32>,
) -> Result<Dtype, Error> {
    let (sh, t) = model.tensor(i)?;
    let w = t.dtype.decode_width().expect("float");
    read_elems(sh.source.as_ref(), &sh.header.file, t, from, n, w, bytes)?;
    out.resize(n, 0.0);
    t.dtype.decode(bytes, out);
    Ok(t.dtype.clone())
}

/// Unpacks `n` codes of `bits` bits from little-endian words, lowest bits
/// first (MLX's layout).
pub fn unpack_codes(words: &[u32], bits: u8, n: usize) -> Vec<u32> {
    let mask = (1u64 << bits) - 1;
    (0..n)
        .map(|k| {
            let bit = k * bits as usize;
            let (wi, off) = (bit / 32, bit % 32);
            let lo = words[wi] as u64;
            let hi = words.get(wi + 1).copied().unwrap_or(0) as u64;
            ((((hi << 32) | lo) >> off) & mask) as u32
        })
        .collect()
}

/// Packs codes of `bits` bits into little-endian words, lowest bits first.
pub fn pack_codes(codes: &[u32], bits: u8) -> Vec<u32> {
    let total_bits = codes.len() * bits as usize;
    let mut words = vec![0u32; total_bits.div_ceil(32)];
    for (k, &q) in codes.iter().enumerate() {
        let bit = k * bits as usize;
        let (wi, off) = (bit / 32, bit % 32);
        let v = (q as u64) << off;
        words[wi] |= v as u32;
        if off + bits as usize > 32 {
            words[wi + 1] |= (v >> 32) as u32;
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_and_unpack_round_trip() {
        for bits in [2u8, 3, 4, 5, 6, 8] {
            let codes: Vec<u32> = (0..64).map(|k| (k * 7 + 3) % (1 << bits)).collect();
            let w = pack_codes(&codes, bits);
            assert_eq!(w.len(), 64 * bits as usize / 32);
            assert_eq!(unpack_codes(&w, bits, 64), codes, "{bits}");
        }
        // 4-bit: element k at bits 4k.
        assert_eq!(pack_codes(&[1, 2, 3, 4, 5, 6, 7, 8], 4), vec![0x8765_4321]);
    }

    #[test]
    fn quantization_block_with_overrides() {
        let c: Value = serde_json::from_str(
            r#"{"quantization":{"group_size":64,"bits":4,"lm_head":{"group_size":32,"bits":8},"m.gate":false}}"#,
        )
        .unwrap();
        let q = MlxQuantConfig::from_config(&c).unwrap();
        assert_eq!(q.mode, "affine");
        assert_eq!(q.params_for("x.q_proj"), Some((64, 4)));
        assert_eq!(q.params_for("lm_head"), Some((32, 8)));
        assert_eq!(q.params_for("m.gate"), None);
    }
}
