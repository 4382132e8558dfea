//! Microscaled FP4 codes that other tools store as bytes, two codes a
//! byte, low nibble first: the same bit stream as MLX's `u32` words, so
//! they are read by the MLX reader ([`super::mlx`]).
//!
//! * gpt-oss (OpenAI MXFP4): `<p>_blocks` `U8` `[.., groups, 16]` (32
//!   codes a group) with `<p>_scales` `U8` E8M0 `[.., groups]`. The layer
//!   is `<p>` of shape `[.., groups · 32]`, in the stored (output, input)
//!   orientation, as mlx-lm reads it.
//! * NVIDIA ModelOpt NVFP4: `<m>.weight` `U8` `[out, in/2]` with
//!   `<m>.weight_scale` `F8_E4M3` `[out, in/16]` and the second-level
//!   `<m>.weight_scale_2` (one f32): the value is `code · (scale ·
//!   scale_2)`.
//! * compressed-tensors `nvfp4-pack-quantized`: `<m>.weight_packed` `U8`
//!   with `<m>.weight_scale` `F8_E4M3` and `<m>.weight_global_scale`: the
//!   value is `code · (scale / global_scale)`. Its `mxfp4-pack-quantized`
//!   has `U8` E8M0 scales per 32 and no global scale.
//!
//! Each product is one f32 rounding, as vLLM's reference dequantization.
//! `<m>.input_scale` and `<m>.input_global_scale` (activation scales)
//! belong to the layer.

use super::config::MlxMode;
use super::layout::{CodeSource, Global, Layout, Logical};
use super::recognise::{Claim, Ctx};
use crate::{Dtype, TensorInfo};

/// Reads byte-stored FP4 codes with their scales as one layer.
pub(crate) fn claim(cx: &Ctx, i: usize, t: &TensorInfo) -> Option<Claim> {
    if t.dtype != Dtype::U8 || t.shape.is_empty() {
        return None;
    }
    if let Some(p) = t.name.strip_suffix("_blocks") {
        return gpt_oss(cx, i, t, p);
    }
    let (m, source) = if let Some(m) = t.name.strip_suffix(".weight_packed") {
        (m, CodeSource::CompressedTensors)
    } else {
        (t.name.strip_suffix(".weight")?, CodeSource::ModelOpt)
    };
    let (si, st) = cx.find(&format!("{m}.weight_scale"))?;
    let mode = match st.dtype {
        Dtype::F8_E4M3 => MlxMode::Nvfp4,
        Dtype::U8 => MlxMode::Mxfp4,
        _ => return None,
    };
    let global = match source {
        CodeSource::ModelOpt => cx
            .find(&format!("{m}.weight_scale_2"))
            .map(|(k, _)| Global::Times(k)),
        _ => cx
            .find(&format!("{m}.weight_global_scale"))
            .map(|(k, _)| Global::DividedBy(k)),
    };
    let mut extra: Vec<usize> = ["input_scale", "input_global_scale"]
        .iter()
        .filter_map(|s| cx.find(&format!("{m}.{s}")).map(|c| c.0))
        .collect();
    extra.extend(global.map(Global::tensor));
    let name = format!("{m}.weight");
    build(cx, i, t, name, source, mode, (si, st), global, extra)
}

fn gpt_oss(cx: &Ctx, i: usize, t: &TensorInfo, p: &str) -> Option<Claim> {
    let sname = format!("{p}_scales");
    let Some((si, st)) = cx.find(&sname) else {
        let why = format!(
            "MXFP4 blocks {:?} have no {sname:?} tensor, so their values cannot be recovered",
            t.name
        );
        return Some(cx.refuse(i, "gpt-oss", vec![], "missing_scale", why));
    };
    // [.., groups, 16] bytes: flatten the last two axes, as mlx-lm does.
    let n = t.shape.len();
    if n < 2 || t.shape[n - 1] != 16 || st.dtype != Dtype::U8 || st.shape[..] != t.shape[..n - 1] {
        let why = format!(
            "MXFP4 blocks {:?} {:?} with scales {} {:?}: blocks must be U8 [.., groups, 16] and scales U8 [.., groups]",
            t.name, t.shape, st.dtype, st.shape
        );
        return Some(cx.refuse(i, "gpt-oss", vec![si], "shape_mismatch", why));
    }
    let mut flat = t.clone();
    flat.shape = t.shape[..n - 1].to_vec();
    *flat.shape.last_mut().expect("two axes") *= 16;
    let mode = MlxMode::Mxfp4;
    build(
        cx,
        i,
        &flat,
        p.to_string(),
        CodeSource::GptOss,
        mode,
        (si, st),
        None,
        vec![],
    )
}

/// The layer of byte codes `t` (shape `[.., bytes]`) and scales `st`
/// (shape `[.., groups]`), or a refusal naming what does not fit.
#[allow(clippy::too_many_arguments)]
fn build(
    cx: &Ctx,
    i: usize,
    t: &TensorInfo,
    name: String,
    source: CodeSource,
    mode: MlxMode,
    (si, st): (usize, &TensorInfo),
    global: Option<Global>,
    extra: Vec<usize>,
) -> Option<Claim> {
    let (group_size, bits) = mode.defaults();
    let bytes = *t.shape.last().expect("non-scalar");
    let cols = bytes.checked_mul(2)?;
    let mut want = t.shape.clone();
    *want.last_mut().expect("non-scalar") = cols / group_size;
    let global_ok = global.is_none_or(|g| {
        let gt = cx.info(g.tensor());
        gt.numel == 1 && gt.dtype.is_decodable_float()
    });
    let mut companions = vec![si];
    companions.extend(&extra);
    if !cols.is_multiple_of(group_size) || st.shape != want || !global_ok {
        let why = format!(
            "{} {:?} is {:?} bytes with scales {:?}{}, which does not fit {} codes in groups of {group_size} (scales {want:?} and one global scale expected)",
            source.name(),
            t.name,
            t.shape,
            st.shape,
            global.map_or(String::new(), |g| format!(" and {:?} {:?}", cx.info(g.tensor()).name, cx.info(g.tensor()).shape)),
            mode.name(),
        );
        return Some(cx.refuse(i, source.name(), companions, "shape_mismatch", why));
    }
    let mut shape = t.shape.clone();
    *shape.last_mut().expect("non-scalar") = cols;
    let l = Logical {
        name,
        main: i,
        shape,
        stored_bytes: t.bytes() + companions.iter().map(|&c| cx.info(c).bytes()).sum::<u64>(),
        layout: Layout::Mlx {
            mode,
            scales: si,
            biases: None,
            bits,
            group_size,
            source,
            global,
            extra,
        },
    };
    Some((l, vec![]))
}
