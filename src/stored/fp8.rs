//! FP8 weights (`F8_E4M3`, `F8_E5M2`) with a float scale: DeepSeek-V3 and
//! Qwen3-FP8's block `weight_scale_inv` (`[ceil(rows/bh), ceil(cols/bw)]`,
//! block from `quantization_config.weight_block_size`, 128×128 when
//! absent), or compressed-tensors' `weight_scale` (one per tensor, or one
//! per row `[rows, 1]`). The value is `f32(w) * scale`, one f32 rounding,
//! as DeepSeek's `weight_dequant`. `<m>.input_scale` (an activation
//! scale) belongs to the layer.

use super::layout::{Layout, Logical};
use super::recognise::{Claim, Ctx};
use crate::{Dtype, TensorInfo};

/// Reads an FP8 `<m>.weight` and its scale as one layer.
pub(crate) fn claim(cx: &Ctx, i: usize, t: &TensorInfo) -> Option<Claim> {
    if !matches!(t.dtype, Dtype::F8_E4M3 | Dtype::F8_E5M2) {
        return None;
    }
    let inv = cx.find(&format!("{}_scale_inv", t.name));
    let fwd = cx.find(&format!("{}_scale", t.name));
    let module = t.name.strip_suffix(".weight").unwrap_or(&t.name);
    let extra: Vec<usize> = cx
        .find(&format!("{module}.input_scale"))
        .map(|(k, _)| k)
        .into_iter()
        .collect();
    let fp8_cfg = cx.hf.as_ref().filter(|h| h.method == "fp8");
    let Some((si, st)) = inv.or(fwd) else {
        // Without a scale or an FP8 config, a plain FP8 tensor.
        fp8_cfg?;
        return Some(cx.refuse(
            i,
            "fp8",
            extra,
            "missing_scale",
            format!(
                "FP8 weight {:?} has no {}_scale_inv or {}_scale tensor, so its values cannot be recovered",
                t.name, t.name, t.name
            ),
        ));
    };
    let numel: u64 = st.shape.iter().product();
    let rows = t.shape.first().copied().unwrap_or(1);
    let block = if numel == 1 && st.shape.len() <= 1 {
        Some(None)
    } else if t.shape.len() == 2 && (st.shape == [rows, 1] || st.shape == [rows]) && inv.is_none() {
        Some(Some((1, t.shape[1].max(1))))
    } else if t.shape.len() == 2 {
        let (bh, bw) = fp8_cfg.and_then(|h| h.block).unwrap_or((128, 128));
        (st.shape == [t.shape[0].div_ceil(bh), t.shape[1].div_ceil(bw)]).then_some(Some((bh, bw)))
    } else {
        None
    };
    let mut companions = vec![si];
    companions.extend(&extra);
    let Some(block) = block.filter(|_| st.dtype.is_decodable_float()) else {
        return Some(cx.refuse(
            i,
            "fp8",
            companions,
            "bad_scale",
            format!(
                "scale {:?} of FP8 weight {:?} {:?} is {} {:?}, which fits no per-tensor, per-row or block layout",
                st.name, t.name, t.shape, st.dtype, st.shape
            ),
        ));
    };
    let l = Logical {
        name: t.name.clone(),
        main: i,
        shape: t.shape.clone(),
        stored_bytes: t.bytes() + companions.iter().map(|&c| cx.info(c).bytes()).sum::<u64>(),
        layout: Layout::Fp8 {
            scale: si,
            block,
            extra,
        },
    };
    Some((l, vec![]))
}

/// Multiplies decoded FP8 rows starting at `r0` by their scales in place:
/// `scales` has one value (per tensor) or one per `(bh, bw)` block.
pub fn apply_scales(
    vals: &mut [f32],
    cols: usize,
    r0: u64,
    scales: &[f32],
    block: Option<(u64, u64)>,
) {
    let Some((bh, bw)) = block else {
        let s = scales.first().copied().unwrap_or(f32::NAN);
        vals.iter_mut().for_each(|v| *v *= s);
        return;
    };
    let per_row = (cols as u64).div_ceil(bw) as usize;
    for (r, row) in vals.chunks_mut(cols).enumerate() {
        let br = ((r0 + r as u64) / bh) as usize;
        for (c, v) in row.iter_mut().enumerate() {
            let k = br * per_row + c / bw as usize;
            *v *= scales.get(k).copied().unwrap_or(f32::NAN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_scales_cover_ragged_edges() {
        // 3×3 in 2×2 blocks: scales [[1, 2], [3, 4]].
        let mut v = vec![1f32; 9];
        apply_scales(&mut v, 3, 0, &[1.0, 2.0, 3.0, 4.0], Some((2, 2)));
        assert_eq!(v, [1.0, 1.0, 2.0, 1.0, 1.0, 2.0, 3.0, 3.0, 4.0]);
        let mut v = vec![1f32; 3];
        apply_scales(&mut v, 3, 2, &[1.0, 2.0, 3.0, 4.0], Some((2, 2)));
        assert_eq!(v, [3.0, 3.0, 4.0]);
    }
}
