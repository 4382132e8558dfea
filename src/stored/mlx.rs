//! MLX quantized weights (MLX 0.32): `<m>.weight` as `u32` words packing
//! `bits`-bit codes lowest bits first (a continuous little-endian bit
//! stream, so 3-, 5- and 6-bit codes straddle words), `<m>.scales` of
//! shape `[.., cols / group_size]`, and for the affine mode `<m>.biases`.
//!
//! * `affine`: `scale * q + bias`, two roundings in the scales' dtype.
//! * `mxfp4` / `nvfp4`: E2M1 codes (sign bit 3) times the group scale;
//!   `mxfp8`: E4M3 codes. `mx*` scales are E8M0 bytes (`2^(s - 127)`),
//!   `nvfp4` scales E4M3 bytes. One f32 rounding (exact for every code).
//!
//! Mode, bits and group size come from `config.json` (with per-module
//! overrides); without a config they are inferred from the shapes.

use super::config::{MlxMode, ModuleQuant};
use super::layout::{CodeSource, Layout, Logical};
use super::recognise::{Claim, Ctx};
use crate::{Dtype, TensorInfo};

/// FP4 E2M1 values by code, as MLX's lookup table.
pub const FP4_E2M1: [f32; 16] = [
    0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0,
];

/// Reads `<m>.weight` (`U32`) with `<m>.scales` and `<m>.biases` as one layer.
pub(crate) fn claim(cx: &Ctx, i: usize, t: &TensorInfo) -> Option<Claim> {
    let module = t.name.strip_suffix(".weight")?;
    if t.dtype != Dtype::U32 || t.shape.is_empty() {
        return None;
    }
    let sc = cx.find(&format!("{module}.scales"));
    let bi = cx.find(&format!("{module}.biases"));
    let from_cfg = cx.mlx.as_ref().map(|c| c.for_module(module));
    let companions: Vec<usize> = sc.iter().chain(bi.iter()).map(|c| c.0).collect();
    let fail = |code: &str, why: String| Some(cx.refuse(i, "mlx", companions.clone(), code, why));
    let Some((si, st)) = sc else {
        if bi.is_none() && !matches!(from_cfg, Some(Some(_))) {
            return None; // plain u32 data
        }
        return fail(
            "missing_scale",
            format!(
                "MLX-quantized {:?} has no {module}.scales tensor, so its values cannot be recovered",
                t.name
            ),
        );
    };
    let packed = *t.shape.last().expect("non-scalar");
    let groups = st.shape.last().copied().unwrap_or(0);
    let q = match from_cfg {
        Some(Some(q)) => q,
        _ => match infer(cx, t, bi.is_some(), packed, groups) {
            Ok(q) => q,
            Err(why) => {
                let why = match from_cfg {
                    Some(None) => format!("config.json marks {module} as not quantized, but {:?} is packed U32 with {module}.scales; {why}", t.name),
                    _ => format!("MLX-quantized {:?} cannot be unpacked: {why}", t.name),
                };
                return fail("shape_mismatch", why);
            }
        },
    };
    if q.mode.has_biases() && bi.is_none() {
        return fail(
            "missing_companion",
            format!(
                "MLX affine-quantized {:?} has no {module}.biases tensor, so its values cannot be recovered",
                t.name
            ),
        );
    }
    if !q.mode.accepts(q.group_size, q.bits) {
        return fail(
            "shape_mismatch",
            format!(
                "{:?}: {}-bit codes in groups of {} are not an MLX {} layout",
                t.name,
                q.bits,
                q.group_size,
                q.mode.name()
            ),
        );
    }
    let cols = (packed * 32) / q.bits as u64;
    let mut want = t.shape.clone();
    *want.last_mut().expect("non-scalar") = cols / q.group_size;
    let fits = (packed * 32).is_multiple_of(q.bits as u64)
        && cols.is_multiple_of(q.group_size)
        && st.shape == want
        && bi.is_none_or(|(_, b)| b.shape == want);
    if !fits {
        // Which width the shapes do hold, to name a config that disagrees.
        let implied = (groups > 0 && (packed * 32).is_multiple_of(groups * q.group_size))
            .then(|| packed * 32 / (groups * q.group_size))
            .filter(|&b| b != q.bits as u64 && q.mode.accepts(q.group_size, b as u8));
        let shapes = format!(
            "packed {:?} with scales {:?}{}",
            t.shape,
            st.shape,
            bi.map_or(String::new(), |(_, b)| format!(" and biases {:?}", b.shape))
        );
        return match (implied, from_cfg) {
            (Some(b), Some(Some(_))) => fail(
                "bits_mismatch",
                format!(
                    "config.json gives {module} {}-bit codes in groups of {}, but {:?} is {shapes}, which holds {b}-bit codes",
                    q.bits, q.group_size, t.name
                ),
            ),
            _ => fail(
                "shape_mismatch",
                format!(
                    "MLX-quantized {:?} is {shapes}, which does not fit {}-bit codes in groups of {} (scales {want:?} expected)",
                    t.name, q.bits, q.group_size
                ),
            ),
        };
    }
    let scale_ok = if q.mode == MlxMode::Affine {
        st.dtype.is_decodable_float() && bi.is_some_and(|(_, b)| b.dtype == st.dtype)
    } else {
        st.dtype == Dtype::U8 && bi.is_none()
    };
    if !scale_ok {
        return fail(
            "bad_scale",
            format!(
                "MLX {}-quantized {:?} has scales of dtype {}{}; {}",
                q.mode.name(),
                t.name,
                st.dtype,
                bi.map_or(String::new(), |(_, b)| format!(
                    " and biases of dtype {}",
                    b.dtype
                )),
                if q.mode == MlxMode::Affine {
                    "affine scales and biases must share one float dtype"
                } else {
                    "this mode stores U8 scales and no biases"
                }
            ),
        );
    }
    let mut shape = t.shape.clone();
    *shape.last_mut().expect("non-scalar") = cols;
    let l = Logical {
        name: t.name.clone(),
        main: i,
        shape,
        stored_bytes: t.bytes() + companions.iter().map(|&c| cx.info(c).bytes()).sum::<u64>(),
        layout: Layout::Mlx {
            mode: q.mode,
            scales: si,
            biases: bi.map(|b| b.0),
            bits: q.bits,
            group_size: q.group_size,
            source: CodeSource::Mlx,
            global: None,
            extra: vec![],
        },
    };
    Some((l, vec![]))
}

/// Mode, bits and group size from the shapes alone: `mx*`/`nvfp4` by the
/// ratio of words to groups, affine from the original's column count.
fn infer(
    cx: &Ctx,
    t: &TensorInfo,
    has_biases: bool,
    packed: u64,
    groups: u64,
) -> Result<ModuleQuant, String> {
    let q = |mode: MlxMode| {
        let (group_size, bits) = mode.defaults();
        ModuleQuant {
            mode,
            group_size,
            bits,
        }
    };
    if !has_biases {
        return match (groups > 0 && packed.is_multiple_of(groups)).then(|| packed / groups) {
            Some(4) => Ok(q(MlxMode::Mxfp4)),
            Some(8) => Ok(q(MlxMode::Mxfp8)),
            Some(2) => Ok(q(MlxMode::Nvfp4)),
            _ => Err(format!(
                "{packed} words per row with {groups} scales fit no MLX mode"
            )),
        };
    }
    let cols = (cx.hint)(&t.name)
        .and_then(|s| s.last().copied())
        .ok_or("config.json has no quantization block and the original shape is unknown")?;
    if cols == 0 || groups == 0 || !(packed * 32).is_multiple_of(cols) || cols % groups != 0 {
        return Err(format!(
            "{packed} words per row do not fit {cols} columns in {groups} groups"
        ));
    }
    let bits = u8::try_from(packed * 32 / cols).map_err(|_| "too many bits".to_string())?;
    Ok(ModuleQuant {
        mode: MlxMode::Affine,
        group_size: cols / groups,
        bits,
    })
}

/// The f32 value of an `mx*` (E8M0) or `nvfp4` (E4M3) scale byte, as
/// `mx.dequantize` computes it with an f32 output.
#[inline]
pub fn fp_scale(mode: MlxMode, s: u8) -> f32 {
    if mode == MlxMode::Nvfp4 {
        let mut v = [0f32];
        Dtype::F8_E4M3.decode(&[s], &mut v);
        v[0]
    } else {
        // 2^(s - 127): 2^-127 (a subnormal) up to 2^128 = inf.
        if s == 255 {
            f32::INFINITY
        } else if s == 0 {
            f32::from_bits(1 << 22)
        } else {
            f32::from_bits((s as u32) << 23)
        }
    }
}

/// Whether a scale is one that quantization never produces: NaN or
/// infinite for every mode, zero for affine (MLX floors the scale at
/// 1e-7), negative for `nvfp4`.
pub fn bad_scale(mode: MlxMode, s: f32) -> bool {
    !s.is_finite()
        || (mode == MlxMode::Affine && s == 0.0)
        || (mode == MlxMode::Nvfp4 && s.is_sign_negative() && s != 0.0)
}

/// Dequantizes one code.
#[inline]
pub fn value(mode: MlxMode, q: u32, scale: f32, bias: f32, dtype: &Dtype) -> f32 {
    match mode {
        MlxMode::Affine => affine(q, scale, bias, dtype),
        MlxMode::Mxfp4 | MlxMode::Nvfp4 => FP4_E2M1[(q & 15) as usize] * scale,
        MlxMode::Mxfp8 => {
            let mut v = [0f32];
            Dtype::F8_E4M3.decode(&[q as u8], &mut v);
            v[0] * scale
        }
    }
}

/// `scale * q + bias` as `mx.dequantize` computes it: two roundings in the
/// scales' dtype, no fused multiply-add.
#[inline]
pub fn affine(q: u32, s: f32, b: f32, dtype: &Dtype) -> f32 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e8m0_scales() {
        assert_eq!(fp_scale(MlxMode::Mxfp4, 127), 1.0);
        assert_eq!(fp_scale(MlxMode::Mxfp4, 130), 8.0);
        assert_eq!(fp_scale(MlxMode::Mxfp8, 0), 2f32.powi(-127));
        assert_eq!(fp_scale(MlxMode::Mxfp8, 1), 2f32.powi(-126));
        assert_eq!(fp_scale(MlxMode::Mxfp4, 255), f32::INFINITY);
        assert_eq!(fp_scale(MlxMode::Nvfp4, 0x38), 1.0);
    }
}
