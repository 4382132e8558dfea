//! bitsandbytes checkpoints as Hugging Face transformers saves them,
//! recognised and sized but not dequantized (no independent reference is
//! at hand to check a decoder):
//!
//! * 4-bit (NF4 or FP4): `<m>.weight` `U8` `[n/2, 1]`, two codes a byte,
//!   with `<m>.weight.absmax` (one per block of codes; `U8` codes of their
//!   own under double quantization), `<m>.weight.quant_map`,
//!   `<m>.weight.nested_absmax`, `<m>.weight.nested_quant_map` and
//!   `<m>.weight.quant_state.bitsandbytes__nf4` (or `__fp4`: JSON bytes,
//!   not read here, since recognition uses the headers alone);
//! * 8-bit (LLM.int8): `<m>.weight` `I8` `[out, in]` with `<m>.SCB`, one
//!   f32 per row, and `<m>.weight_format`.
//!
//! A 4-bit layer's logical shape is the original's when it is known (the
//! shape hint, under `verify`), else its `n` values flat.

use super::layout::{Layout, PackedFormat};
use super::packed::layer;
use super::recognise::{Claim, Ctx};
use crate::{Dtype, TensorInfo};

/// The 4-bit companions, after `<m>.weight`.
const FOUR_BIT: [&str; 4] = [
    ".absmax",
    ".quant_map",
    ".nested_absmax",
    ".nested_quant_map",
];

/// Reads a bitsandbytes weight with its companions as one layer.
pub(crate) fn claim(cx: &Ctx, i: usize, t: &TensorInfo) -> Option<Claim> {
    match t.dtype {
        Dtype::U8 => four_bit(cx, i, t),
        Dtype::I8 => eight_bit(cx, i, t),
        _ => None,
    }
}

fn four_bit(cx: &Ctx, i: usize, t: &TensorInfo) -> Option<Claim> {
    let (format, state) = [(PackedFormat::BnbNf4, "nf4"), (PackedFormat::BnbFp4, "fp4")]
        .into_iter()
        .find_map(|(f, kind)| {
            let name = format!("{}.quant_state.bitsandbytes__{kind}", t.name);
            cx.find(&name).map(|(s, _)| (f, s))
        })?;
    let mut parts: Vec<usize> = FOUR_BIT
        .iter()
        .filter_map(|s| cx.find(&format!("{}{s}", t.name)).map(|c| c.0))
        .collect();
    parts.push(state);
    let Some((_, absmax)) = cx.find(&format!("{}.absmax", t.name)) else {
        let why = format!(
            "4-bit weight {:?} has no {}.absmax tensor, so its values cannot be recovered",
            t.name, t.name
        );
        return Some(cx.refuse(i, format.name(), parts, "missing_companion", why));
    };
    let values = t.numel.saturating_mul(2);
    let blocks = absmax.numel;
    if blocks == 0 || !values.is_multiple_of(blocks) {
        let why = format!(
            "4-bit weight {:?} holds {values} codes, which {blocks} blocks of {}.absmax do not divide",
            t.name, t.name
        );
        return Some(cx.refuse(i, format.name(), parts, "shape_mismatch", why));
    }
    // A packed byte holds two codes: an odd count leaves its last half empty.
    let shape = (cx.hint)(&t.name)
        .filter(|s| {
            let n = s.iter().product::<u64>();
            n == values || n + 1 == values
        })
        .unwrap_or_else(|| vec![values]);
    let layout = Layout::Packed {
        format,
        bits: Some(4),
        group_size: Some(values / blocks),
        companions: parts.clone(),
    };
    Some((layer(cx, i, t.name.clone(), shape, layout, &parts), vec![]))
}

fn eight_bit(cx: &Ctx, i: usize, t: &TensorInfo) -> Option<Claim> {
    let m = t.name.strip_suffix(".weight")?;
    let (scb, st) = cx.find(&format!("{m}.SCB"))?;
    let mut parts = vec![scb];
    parts.extend(cx.find(&format!("{m}.weight_format")).map(|c| c.0));
    let rows = t.shape.first().copied().unwrap_or(0);
    if t.shape.len() != 2 || st.numel != rows || !st.dtype.is_decodable_float() {
        let why = format!(
            "8-bit weight {:?} {:?} has {m}.SCB {} {:?}; it must be one float per row, [{rows}]",
            t.name, t.shape, st.dtype, st.shape
        );
        return Some(cx.refuse(i, PackedFormat::BnbInt8.name(), parts, "bad_scale", why));
    }
    let layout = Layout::Packed {
        format: PackedFormat::BnbInt8,
        bits: Some(8),
        group_size: None,
        companions: parts.clone(),
    };
    let shape = t.shape.clone();
    Some((layer(cx, i, t.name.clone(), shape, layout, &parts), vec![]))
}
