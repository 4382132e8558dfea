//! The recognised layout of one logical tensor: how it is stored, which
//! stored tensors it reads, and how its row describes it.

use serde::{Deserialize, Serialize};

use super::config::MlxMode;

/// A stored format quantlens recognises but does not dequantize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackedFormat {
    /// AutoGPTQ / GPTQModel: `qweight` `[in/pack, out]`, `qzeros`, `scales`, `g_idx`.
    Gptq,
    /// AutoAWQ: `qweight` `[in, out/pack]`, `qzeros`, `scales`.
    Awq,
    /// compressed-tensors `pack-quantized`: `weight_packed`, `weight_scale`, `weight_zero_point`.
    CompressedTensors,
    /// bitsandbytes 4-bit NF4: `weight` `U8` `[n/2, 1]`, `absmax` per block, a quant state.
    BnbNf4,
    /// bitsandbytes 4-bit FP4, stored as NF4 is.
    BnbFp4,
    /// bitsandbytes LLM.int8: `weight` `I8` with `SCB`, one scale per row.
    BnbInt8,
    /// ExLlamaV2 EXL2: `q_weight`, `q_invperm`, `q_scale`, `q_scale_max`, `q_groups`.
    Exl2,
    /// ExLlamaV3 EXL3 (QTIP trellis): `trellis`, `suh`/`su`, `svh`/`sv`, `mcg`, `mul1`.
    Exl3,
}

impl PackedFormat {
    /// The format's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            PackedFormat::Gptq => "gptq",
            PackedFormat::Awq => "awq",
            PackedFormat::CompressedTensors => "compressed-tensors",
            PackedFormat::BnbNf4 => "bnb-nf4",
            PackedFormat::BnbFp4 => "bnb-fp4",
            PackedFormat::BnbInt8 => "bnb-int8",
            PackedFormat::Exl2 => "exl2",
            PackedFormat::Exl3 => "exl3",
        }
    }

    /// The `format` and `mode` of its [`StoredInfo`].
    pub fn stored_as(self) -> (&'static str, &'static str) {
        match self {
            PackedFormat::BnbNf4 => ("bitsandbytes", "nf4"),
            PackedFormat::BnbFp4 => ("bitsandbytes", "fp4"),
            PackedFormat::BnbInt8 => ("bitsandbytes", "int8 per-row"),
            PackedFormat::Exl2 => ("exl2", "mixed"),
            PackedFormat::Exl3 => ("exl3", "trellis"),
            f => (f.name(), "int"),
        }
    }
}

/// Which tool stored MLX-style codes (the MLX reader reads them all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSource {
    /// MLX: `u32` words, `<m>.scales`, `<m>.biases`.
    Mlx,
    /// gpt-oss MXFP4: `<p>_blocks` bytes and `<p>_scales`.
    GptOss,
    /// NVIDIA ModelOpt NVFP4: `<m>.weight` bytes, `weight_scale`, `weight_scale_2`.
    ModelOpt,
    /// compressed-tensors `nvfp4`/`mxfp4-pack-quantized`: `weight_packed` bytes.
    CompressedTensors,
}

impl CodeSource {
    /// The format's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            CodeSource::Mlx => "mlx",
            CodeSource::GptOss => "gpt-oss",
            CodeSource::ModelOpt => "modelopt",
            CodeSource::CompressedTensors => "compressed-tensors",
        }
    }
}

/// A second-level scale of one value over a whole tensor's group scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Global {
    /// Group scales are multiplied by it (ModelOpt's `weight_scale_2`).
    Times(usize),
    /// Group scales are divided by it (compressed-tensors' `weight_global_scale`).
    DividedBy(usize),
}

impl Global {
    /// Model-order index of the tensor holding it.
    pub fn tensor(self) -> usize {
        match self {
            Global::Times(k) | Global::DividedBy(k) => k,
        }
    }
}

/// How one logical tensor is stored. Indices are model-order positions of
/// stored tensors.
#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    /// A float tensor, decoded as stored.
    Float,
    /// Int8 codes times a float scale: one for the tensor, or one per
    /// slice of the first dimension (`rows_per_scale` rows of the last
    /// axis each). `extra` holds activation scales stored with the layer.
    Int8 {
        scale: usize,
        rows_per_scale: u64,
        extra: Vec<usize>,
    },
    /// MLX quantized codes in `u32` words (or the same bit stream in
    /// bytes, per `source`), with scales (and biases for the affine mode),
    /// an optional `global` scale, and `extra` tensors stored with the
    /// layer (activation scales, and the global scale's).
    Mlx {
        mode: MlxMode,
        scales: usize,
        biases: Option<usize>,
        bits: u8,
        group_size: u64,
        source: CodeSource,
        global: Option<Global>,
        extra: Vec<usize>,
    },
    /// FP8 weights times an f32 scale: per tensor, per row, or per
    /// `block` of `(rows, cols)`.
    Fp8 {
        scale: usize,
        block: Option<(u64, u64)>,
        extra: Vec<usize>,
    },
    /// Recognised and sized, not dequantized. `bits` is `None` when
    /// widths vary within the layer (EXL2) or are fractional (EXL3).
    Packed {
        format: PackedFormat,
        bits: Option<u8>,
        group_size: Option<u64>,
        companions: Vec<usize>,
    },
    /// A quantized weight whose companions are missing or malformed: its
    /// storage is known, its values are not recoverable.
    Broken {
        format: &'static str,
        companions: Vec<usize>,
    },
    /// Stored as it is and not decodable (integers, unknown dtypes).
    Raw,
}

impl Layout {
    /// A short label: `float`, `int8`, `mlx-affine-4bit-g64`,
    /// `mlx-mxfp4-g32`, `fp8`, `gptq-4bit-g128`, `raw`.
    pub fn label(&self) -> String {
        match self {
            Layout::Float => "float".into(),
            Layout::Int8 { .. } => "int8".into(),
            Layout::Mlx {
                mode: MlxMode::Affine,
                bits,
                group_size,
                ..
            } => format!("mlx-affine-{bits}bit-g{group_size}"),
            Layout::Mlx {
                mode,
                group_size,
                source,
                ..
            } => format!("{}-{}-g{group_size}", source.name(), mode.name()),
            Layout::Fp8 { .. } => "fp8".into(),
            Layout::Packed {
                format,
                bits,
                group_size,
                ..
            } => {
                let bits = bits.map_or("mixed".to_string(), |b| format!("{b}bit"));
                match group_size {
                    Some(g) => format!("{}-{bits}-g{g}", format.name()),
                    None => format!("{}-{bits}", format.name()),
                }
            }
            Layout::Broken { format, .. } => format!("{format}-unreadable"),
            Layout::Raw => "raw".into(),
        }
    }

    /// Whether the storage is a quantized format (readable or not).
    pub fn is_quantized(&self) -> bool {
        !matches!(self, Layout::Float | Layout::Raw)
    }

    /// Whether values can be read back as f32.
    pub fn is_decodable(&self) -> bool {
        matches!(
            self,
            Layout::Float | Layout::Int8 { .. } | Layout::Mlx { .. } | Layout::Fp8 { .. }
        )
    }
}

/// One tensor as the model means it, possibly stored as several.
#[derive(Debug, Clone, PartialEq)]
pub struct Logical {
    /// The name the original model uses (`<m>.weight` for MLX, GPTQ, …).
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
    /// and its companions.
    pub fn parts(&self) -> Vec<usize> {
        let mut v = vec![self.main];
        match &self.layout {
            Layout::Int8 { scale, extra, .. } => {
                v.push(*scale);
                v.extend(extra);
            }
            Layout::Mlx {
                scales,
                biases,
                extra,
                ..
            } => {
                v.push(*scales);
                v.extend(biases);
                v.extend(extra);
            }
            Layout::Fp8 { scale, extra, .. } => {
                v.push(*scale);
                v.extend(extra);
            }
            Layout::Packed { companions, .. } | Layout::Broken { companions, .. } => {
                v.extend(companions)
            }
            Layout::Float | Layout::Raw => {}
        }
        v
    }

    /// Length of the last axis (1 for a scalar).
    pub fn cols(&self) -> u64 {
        self.shape.last().copied().unwrap_or(1).max(1)
    }

    /// Number of rows (elements / last axis).
    pub fn rows(&self) -> u64 {
        self.numel() / self.cols()
    }

    /// Stored bits per logical element, companions included.
    pub fn bits_per_weight(&self) -> f64 {
        8.0 * self.stored_bytes as f64 / self.numel().max(1) as f64
    }

    /// What a report row says about the storage of a quantized layer
    /// (`None` for float and raw tensors).
    pub fn stored_info(&self) -> Option<StoredInfo> {
        let (format, mode, bits, group_size) = match &self.layout {
            Layout::Int8 { rows_per_scale, .. } => (
                "int8",
                if *rows_per_scale == 0 {
                    "per-tensor"
                } else {
                    "per-row"
                }
                .to_string(),
                Some(8),
                None,
            ),
            Layout::Mlx {
                mode,
                bits,
                group_size,
                source,
                ..
            } => (
                source.name(),
                mode.name().into(),
                Some(*bits),
                Some(*group_size),
            ),
            Layout::Fp8 { block, .. } => (
                "fp8",
                match block {
                    Some((1, _)) => "per-row".into(),
                    Some((r, c)) => format!("block {r}x{c}"),
                    None => "per-tensor".into(),
                },
                Some(8),
                None,
            ),
            Layout::Packed {
                format,
                bits,
                group_size,
                ..
            } => {
                let (format, mode) = format.stored_as();
                (format, mode.into(), *bits, *group_size)
            }
            Layout::Broken { format, .. } => (*format, "unreadable".into(), None, None),
            Layout::Float | Layout::Raw => return None,
        };
        Some(StoredInfo {
            format: format.into(),
            mode,
            bits,
            group_size,
            bits_per_weight: self.bits_per_weight(),
            dequantized: self.layout.is_decodable(),
            rms: None,
            zero_share: None,
            bad_scales: 0,
            bad_scale_example: None,
        })
    }
}

impl StoredInfo {
    /// A phrase for summaries: `MLX affine 4-bit g64`, `MLX mxfp4 g32`,
    /// `int8 per-row`, `FP8 block 128x128`, `GPTQ 4-bit g128`.
    pub fn describe(&self) -> String {
        let format = match self.format.as_str() {
            "mlx" => "MLX".to_string(),
            "fp8" => "FP8".to_string(),
            "gptq" => "GPTQ".to_string(),
            "awq" => "AWQ".to_string(),
            "modelopt" => "ModelOpt".to_string(),
            f => f.to_string(),
        };
        let mut out = format!("{format} {}", self.mode);
        if matches!(self.mode.as_str(), "affine" | "int" | "trellis") {
            if let Some(b) = self.bits {
                out.push_str(&format!(" {b}-bit"));
            }
        }
        if let Some(g) = self.group_size {
            out.push_str(&format!(" g{g}"));
        }
        out
    }

    /// A short label for table cells: `mlx 4b g64`, `mxfp4`, `int8 row`,
    /// `fp8 block`, `gptq 4b`, `ct 4b`, `oss mxfp4`.
    pub fn short(&self) -> String {
        let first = self.mode.split(' ').next().unwrap_or("");
        let format = match self.format.as_str() {
            "compressed-tensors" => "ct",
            "gpt-oss" => "oss",
            f => f,
        };
        match (format, first) {
            ("mlx", "affine") => format!(
                "mlx {}b g{}",
                self.bits.unwrap_or(0),
                self.group_size.unwrap_or(0)
            ),
            ("mlx", m) => m.to_string(),
            ("bitsandbytes", m) => format!("bnb {m}"),
            (f, "int" | "trellis") => match self.bits {
                Some(b) => format!("{f} {b}b"),
                None => f.to_string(),
            },
            (f, m) => format!("{f} {}", m.trim_start_matches("per-")),
        }
    }
}

/// The `stored` object of a report row: how a stored-quantized layer is
/// stored, and statistics of its dequantized values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredInfo {
    /// `int8`, `mlx`, `gpt-oss`, `modelopt`, `fp8`, `gptq`, `awq`,
    /// `compressed-tensors`, `bitsandbytes`.
    pub format: String,
    /// `affine`, `mxfp4`, `mxfp8`, `nvfp4`, `per-tensor`, `per-row`,
    /// `block RxC`, `int`, `nf4`, `fp4`, `int8 per-row`, or `unreadable`
    /// (companions missing or malformed).
    pub mode: String,
    /// Bits per code.
    pub bits: Option<u8>,
    /// Elements sharing one scale along the last axis.
    pub group_size: Option<u64>,
    /// Stored bits per weight, scales and biases included.
    pub bits_per_weight: f64,
    /// Whether the values were read back (formats without an independent
    /// reference are recognised and sized only).
    pub dequantized: bool,
    /// Root mean square of the finite dequantized values.
    pub rms: Option<f64>,
    /// Share of dequantized values that are exactly zero.
    pub zero_share: Option<f64>,
    /// Scales quantization never produces (NaN, infinite, and zero or
    /// negative where the format forbids them).
    #[serde(default)]
    pub bad_scales: u64,
    /// One of them, as text (`NaN`, `-0.01`).
    #[serde(default)]
    pub bad_scale_example: Option<String>,
}
