//! The output format of `convert`: int8 with f32 scales, MLX affine, or one of
//! MLX's floating-point modes.

use crate::stored::MlxMode;
use crate::{Error, Scheme};

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// int8 weights with f32 `__scale__` tensors: one scale per tensor, or per row.
    Int8 { per_channel: bool },
    /// MLX affine quantization (`mode: "affine"`).
    Mlx { bits: u8, group_size: u32 },
    /// An MLX floating-point mode: `mxfp4` (4 bits, groups of 32),
    /// `mxfp8` (8 bits, groups of 32) or `nvfp4` (4 bits, groups of 16);
    /// never [`MlxMode::Affine`].
    MlxFp { mode: MlxMode },
}

fn bad<T>(detail: String) -> Result<T, Error> {
    Err(Error::InvalidOption { detail })
}

impl Target {
    /// Parses `--format int8|mlx` with `--scheme`, `--mode`, `--bits` and
    /// `--group-size`. For MLX, `--mode` is `affine` (default; bits 2, 3,
    /// 4, 5, 6 or 8, default 4; groups of 32, 64 or 128, default 64),
    /// `mxfp4`, `mxfp8` or `nvfp4` (bits and group fixed by the mode, and
    /// refused when given otherwise).
    pub fn parse(
        format: &str,
        scheme: Option<&str>,
        mode: Option<&str>,
        bits: Option<u8>,
        group_size: Option<u32>,
    ) -> Result<Self, Error> {
        match (format, scheme) {
            ("int8", _) if mode.is_some() => {
                bad("--mode is for --format mlx; --format int8 takes --scheme".into())
            }
            ("int8", None | Some("int8-tensor")) => Ok(Target::Int8 { per_channel: false }),
            ("int8", Some("int8-channel")) => Ok(Target::Int8 { per_channel: true }),
            ("mlx", None | Some("affine")) => {
                let mode = match (scheme, mode) {
                    (Some(_), Some(m)) if m != "affine" => {
                        return bad(format!("--scheme affine and --mode {m} disagree"))
                    }
                    (_, m) => m.unwrap_or("affine"),
                };
                Self::mlx(mode, bits, group_size)
            }
            ("int8" | "mlx", Some(s)) => bad(format!(
                "scheme {s:?} does not fit --format {format} (int8: int8-tensor or int8-channel; mlx: affine, or --mode)"
            )),
            _ => bad(format!("unknown format {format:?} (expected int8 or mlx)")),
        }
    }

    fn mlx(name: &str, bits: Option<u8>, group_size: Option<u32>) -> Result<Self, Error> {
        let Some(mode) = MlxMode::parse(name) else {
            return bad(format!(
                "unknown mode {name:?} (expected affine, mxfp4, mxfp8 or nvfp4)"
            ));
        };
        let (g, b) = mode.defaults();
        let (bits, group_size) = (bits.unwrap_or(b), group_size.unwrap_or(g as u32));
        if mode == MlxMode::Affine {
            Scheme::parse("affine", bits, group_size)?;
            return Ok(Target::Mlx { bits, group_size });
        }
        if bits != b {
            return bad(format!(
                "mode {name} stores {b}-bit codes, not --bits {bits}"
            ));
        }
        if group_size as u64 != g {
            return bad(format!(
                "mode {name} uses groups of {g}, not --group-size {group_size}"
            ));
        }
        Ok(Target::MlxFp { mode })
    }

    /// The MLX mode, or `None` for int8.
    pub fn mode(&self) -> Option<MlxMode> {
        match *self {
            Target::Int8 { .. } => None,
            Target::Mlx { .. } => Some(MlxMode::Affine),
            Target::MlxFp { mode } => Some(mode),
        }
    }

    /// `(group_size, bits)` of an MLX target.
    pub fn mlx_params(&self) -> Option<(u32, u8)> {
        match *self {
            Target::Int8 { .. } => None,
            Target::Mlx { bits, group_size } => Some((group_size, bits)),
            Target::MlxFp { mode } => {
                let (g, b) = mode.defaults();
                Some((g as u32, b))
            }
        }
    }

    /// A label for metadata, e.g. `quantlens-int8-tensor`,
    /// `quantlens-affine-4bit-g64`, `quantlens-mxfp4-g32`.
    pub fn label(&self) -> String {
        let s = match *self {
            Target::Int8 { per_channel: false } => "int8-tensor".into(),
            Target::Int8 { per_channel: true } => "int8-channel".into(),
            Target::Mlx { bits, group_size } => Scheme::Affine { bits, group_size }.label(),
            Target::MlxFp { mode } => format!("{}-g{}", mode.name(), mode.defaults().0),
        };
        format!("quantlens-{s}")
    }

    /// Bytes a quantized `shape` takes: codes plus scales (and biases),
    /// the scales `scale_bytes` wide where the format keeps them in the
    /// weight's float type.
    pub fn quantized_bytes(&self, shape: &[u64], scale_bytes: u64) -> u64 {
        let numel: u64 = shape.iter().product();
        match *self {
            Target::Int8 { per_channel: false } => Scheme::Int8Tensor.quantized_bytes(shape, 4),
            Target::Int8 { per_channel: true } => Scheme::Int8Channel.quantized_bytes(shape, 4),
            Target::Mlx { bits, group_size } => {
                Scheme::Affine { bits, group_size }.quantized_bytes(shape, scale_bytes)
            }
            Target::MlxFp { mode } => {
                let (g, b) = mode.defaults();
                (numel * b as u64).div_ceil(32) * 4 + numel / g
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(
        format: &str,
        mode: Option<&str>,
        bits: Option<u8>,
        g: Option<u32>,
    ) -> Result<Target, Error> {
        Target::parse(format, None, mode, bits, g)
    }

    #[test]
    fn modes_parse_with_their_fixed_parameters() {
        assert_eq!(
            p("mlx", None, None, None).unwrap(),
            Target::Mlx {
                bits: 4,
                group_size: 64
            }
        );
        assert_eq!(
            p("mlx", Some("affine"), Some(3), Some(32)).unwrap(),
            Target::Mlx {
                bits: 3,
                group_size: 32
            }
        );
        for (m, b, g) in [("mxfp4", 4, 32), ("mxfp8", 8, 32), ("nvfp4", 4, 16)] {
            let t = p("mlx", Some(m), None, None).unwrap();
            assert_eq!(t.mode().map(MlxMode::name), Some(m));
            assert_eq!(t.mlx_params(), Some((g, b)));
            assert_eq!(p("mlx", Some(m), Some(b), Some(g)).unwrap(), t);
        }
        assert_eq!(
            p("mlx", Some("nvfp4"), None, None).unwrap().label(),
            "quantlens-nvfp4-g16"
        );
        for (m, b, g) in [
            ("mxfp4", Some(8), None),
            ("mxfp8", None, Some(64)),
            ("nvfp4", None, Some(32)),
            ("affine", Some(7), None),
            ("affine", None, Some(16)),
            ("fp4", None, None),
        ] {
            let e = p("mlx", Some(m), b, g).unwrap_err().to_string();
            assert!(e.contains(m), "{e}");
        }
        assert!(p("int8", Some("mxfp4"), None, None).is_err());
        assert!(Target::parse("mlx", Some("affine"), Some("nvfp4"), None, None).is_err());
        assert!(Target::parse("mlx", Some("int8-tensor"), None, None, None).is_err());
        assert!(p("gguf", None, None, None).is_err());
    }

    #[test]
    fn float_mode_sizes() {
        let t = p("mlx", Some("mxfp4"), None, None).unwrap();
        // 64 × 64 at 4 bits = 2048 bytes, plus 128 one-byte scales.
        assert_eq!(t.quantized_bytes(&[64, 64], 4), 2048 + 128);
        let t = p("mlx", Some("nvfp4"), None, None).unwrap();
        assert_eq!(t.quantized_bytes(&[64, 64], 4), 2048 + 256);
    }
}
