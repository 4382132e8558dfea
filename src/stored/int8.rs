//! Int8 codes with a float scale: one for the tensor (`[]` or `[1]`), or
//! one per slice of the first dimension (`[d0]` or `[d0, 1]`, for tensors
//! of two or more dimensions). The value is `q * scale`, one f32 rounding
//! (exact: a code has 8 bits and a scale at most 24).
//!
//! * quantlens' own: `<name>` with an f32 `<name>.__scale__`;
//! * compressed-tensors `int-quantized` (W8A8, W8A16): `<m>.weight` with
//!   `<m>.weight_scale` (any float dtype). Its activation scales
//!   `<m>.input_scale` and `<m>.input_zero_point` belong to the layer. A
//!   weight zero point (asymmetric) or a scale per group is recognised
//!   and sized, not read.

use super::layout::{Layout, PackedFormat};
use super::packed::layer;
use super::recognise::{Claim, Ctx};
use crate::{Dtype, TensorInfo};

/// Reads an `I8` tensor and its scale as one layer.
pub(crate) fn claim(cx: &Ctx, i: usize, t: &TensorInfo) -> Option<Claim> {
    if t.dtype != Dtype::I8 {
        return None;
    }
    let own = format!("{}.__scale__", t.name);
    let ct = t
        .name
        .ends_with(".weight")
        .then(|| format!("{}_scale", t.name));
    let found = cx
        .find(&own)
        .map(|s| (own.clone(), s))
        .or_else(|| ct.as_ref().and_then(|n| cx.find(n).map(|s| (n.clone(), s))));
    let Some((sname, (si, st))) = found else {
        let alt = ct.map_or(String::new(), |n| format!(" or {n:?}"));
        return Some(cx.refuse(
            i,
            "int8",
            vec![],
            "missing_scale",
            format!(
                "int8 tensor {:?} has no {own:?}{alt} tensor, so its values cannot be recovered",
                t.name
            ),
        ));
    };
    let module = t.name.strip_suffix(".weight").unwrap_or(&t.name);
    let extra: Vec<usize> = ["input_scale", "input_zero_point"]
        .iter()
        .filter_map(|s| cx.find(&format!("{module}.{s}")).map(|c| c.0))
        .collect();
    let zero = cx.find(&format!("{}_zero_point", t.name)).map(|c| c.0);
    match rows_per_scale(&t.shape, &st.shape) {
        Some(rows_per_scale) if st.dtype.is_decodable_float() && zero.is_none() => {
            let mut parts = vec![si];
            parts.extend(&extra);
            let layout = Layout::Int8 {
                scale: si,
                rows_per_scale,
                extra,
            };
            Some((
                layer(cx, i, t.name.clone(), t.shape.clone(), layout, &parts[..]),
                vec![],
            ))
        }
        _ if sname != own
            && st.dtype.is_decodable_float()
            && group_size(&t.shape, &st.shape).is_some() =>
        {
            // Asymmetric or grouped compressed-tensors int8: no independent
            // reference is at hand to check a reader against.
            let mut parts = vec![si];
            parts.extend(zero);
            parts.extend(extra);
            let layout = Layout::Packed {
                format: PackedFormat::CompressedTensors,
                bits: Some(8),
                group_size: group_size(&t.shape, &st.shape).flatten(),
                companions: parts.clone(),
            };
            Some((
                layer(cx, i, t.name.clone(), t.shape.clone(), layout, &parts),
                vec![],
            ))
        }
        _ => {
            let d0 = t.shape.first().copied().unwrap_or(1);
            let per_row = if t.shape.len() >= 2 {
                format!(", [{d0}] or [{d0}, 1]")
            } else {
                String::new()
            };
            let mut parts = vec![si];
            parts.extend(zero);
            parts.extend(extra);
            Some(cx.refuse(
                i,
                "int8",
                parts,
                "bad_scale",
                format!(
                    "scale {sname:?} of int8 tensor {:?} {:?} is {} {:?}; it must be a float of shape [] or [1]{per_row}",
                    t.name, t.shape, st.dtype, st.shape
                ),
            ))
        }
    }
}

/// The grouping a compressed-tensors scale of shape `scale` describes on a
/// 2-D weight: `Some(None)` per tensor or row, `Some(Some(g))` for groups
/// of `g` columns, `None` for no layout.
fn group_size(shape: &[u64], scale: &[u64]) -> Option<Option<u64>> {
    if rows_per_scale(shape, scale).is_some() {
        return Some(None);
    }
    match (shape, scale) {
        ([r, c], [sr, g]) if r == sr && *g > 0 && c.is_multiple_of(*g) => Some(Some(c / g)),
        _ => None,
    }
}

/// Rows of the last axis each scale covers: 0 for one scale per tensor,
/// or the rows of one first-dimension slice; `None` if the scale's shape
/// fits no rule.
pub fn rows_per_scale(shape: &[u64], scale: &[u64]) -> Option<u64> {
    let numel: u64 = scale.iter().product();
    if numel == 1 && scale.len() <= 1 {
        return Some(0);
    }
    let d0 = *shape.first()?;
    let per_row_shape = scale == [d0] || scale == [d0, 1];
    if shape.len() < 2 || !per_row_shape || d0 == 0 {
        return None;
    }
    // Rows of the last axis in one first-dimension slice.
    Some(shape[1..shape.len() - 1].iter().product())
}

/// Dequantizes int8 codes of rows starting at `r0`: row `r` uses
/// `scales[r / rows_per_scale]` (or `scales[0]` for one per tensor).
/// Returns the number of `-128` codes.
pub fn decode(
    codes: &[u8],
    cols: usize,
    r0: u64,
    scales: &[f32],
    rows_per_scale: u64,
    out: &mut [f32],
) -> u64 {
    let mut min_codes = 0;
    for (r, (o, q)) in out.chunks_mut(cols).zip(codes.chunks(cols)).enumerate() {
        let k = (r0 + r as u64).checked_div(rows_per_scale).unwrap_or(0) as usize;
        let s = scales.get(k).copied().unwrap_or(f32::NAN);
        for (o, &q) in o.iter_mut().zip(q) {
            let q = q as i8;
            min_codes += (q == i8::MIN) as u64;
            *o = q as f32 * s;
        }
    }
    min_codes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_shapes() {
        assert_eq!(rows_per_scale(&[2, 3, 4], &[2]), Some(3));
        assert_eq!(rows_per_scale(&[2, 3, 4], &[2, 1]), Some(3));
        assert_eq!(rows_per_scale(&[8, 8], &[8]), Some(1));
        assert_eq!(rows_per_scale(&[8, 8], &[]), Some(0));
        assert_eq!(rows_per_scale(&[5], &[1]), Some(0));
        assert_eq!(rows_per_scale(&[5], &[5]), None);
        assert_eq!(rows_per_scale(&[2, 3, 4], &[6]), None);
        assert_eq!(rows_per_scale(&[8, 8], &[4]), None);
    }

    #[test]
    fn decode_three_dims_per_slice() {
        // [2, 3, 2]: slice 0 (rows 0..3) scale 1, slice 1 (rows 3..6) scale 10.
        let codes: Vec<u8> = (1..=12).map(|x: i8| x as u8).collect();
        let mut out = vec![0f32; 12];
        decode(&codes, 2, 0, &[1.0, 10.0], 3, &mut out);
        assert_eq!(&out[..6], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(&out[6..], &[70.0, 80.0, 90.0, 100.0, 110.0, 120.0]);
        // From row 4 only.
        let mut out = vec![0f32; 2];
        decode(&codes[8..10], 2, 4, &[1.0, 10.0], 3, &mut out);
        assert_eq!(out, [90.0, 100.0]);
    }
}
