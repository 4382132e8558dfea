//! Integer formats packed into `I32` words, recognised and sized but not
//! dequantized (no independent reference is at hand to check a decoder):
//!
//! * GPTQ: `<m>.qweight` `[in·bits/32, out]`, `<m>.qzeros`
//!   `[groups, out·bits/32]`, `<m>.scales` `[groups, out]`, `<m>.g_idx` `[in]`;
//! * AWQ: `<m>.qweight` `[in, out·bits/32]`, `<m>.qzeros`, `<m>.scales`;
//! * compressed-tensors `pack-quantized`: `<m>.weight_packed`
//!   `[out, in·bits/32]`, `<m>.weight_scale` `[out, groups]`,
//!   `<m>.weight_zero_point`, `<m>.weight_shape`.
//!
//! The layer is named `<m>.weight` with the logical shape `[out, in]`.

use super::layout::{Layout, Logical, PackedFormat};
use super::recognise::{Claim, Ctx};
use crate::{Dtype, Severity, TensorInfo};

/// Reads a GPTQ/AWQ `qweight` or a compressed-tensors `weight_packed`
/// with its companions as one layer.
pub(crate) fn claim(cx: &Ctx, i: usize, t: &TensorInfo) -> Option<Claim> {
    if t.dtype != Dtype::I32 || t.shape.len() != 2 {
        return None;
    }
    if let Some(m) = t.name.strip_suffix(".qweight") {
        return Some(gptq_awq(cx, i, t, m));
    }
    let m = t.name.strip_suffix(".weight_packed")?;
    Some(compressed(cx, i, t, m))
}

fn companions(cx: &Ctx, m: &str, names: &[&str]) -> Vec<usize> {
    names
        .iter()
        .filter_map(|n| cx.find(&format!("{m}.{n}")).map(|c| c.0))
        .collect()
}

/// The layer `name` of `shape` headed by tensor `i`, stored with its
/// companions `parts`.
pub(super) fn layer(
    cx: &Ctx,
    i: usize,
    name: String,
    shape: Vec<u64>,
    layout: Layout,
    parts: &[usize],
) -> Logical {
    Logical {
        name,
        main: i,
        shape,
        stored_bytes: cx.info(i).bytes() + parts.iter().map(|&c| cx.info(c).bytes()).sum::<u64>(),
        layout,
    }
}

/// [`Ctx::refuse`] for a layer named `name` (`<m>.weight`) rather than
/// after its packed tensor.
fn refused(
    cx: &Ctx,
    i: usize,
    name: &str,
    format: &'static str,
    parts: &[usize],
    code: &str,
    why: String,
) -> Claim {
    let (mut l, f) = cx.refuse(i, format, parts.to_vec(), code, why);
    l.name = name.to_string();
    (l, f)
}

fn gptq_awq(cx: &Ctx, i: usize, t: &TensorInfo, m: &str) -> Claim {
    let parts = companions(cx, m, &["qzeros", "scales", "g_idx"]);
    let name = format!("{m}.weight");
    let refuse = |code: &str, why: String| refused(cx, i, &name, "gptq", &parts, code, why);
    let (Some((_, st)), Some((_, zt))) = (
        cx.find(&format!("{m}.scales")),
        cx.find(&format!("{m}.qzeros")),
    ) else {
        return refuse(
            "missing_companion",
            format!(
                "packed weight {:?} needs {m}.scales and {m}.qzeros; one is missing",
                t.name
            ),
        );
    };
    let out = st.shape.get(1).copied().unwrap_or(0);
    let groups = st.shape.first().copied().unwrap_or(0);
    let cfg = cx.hf.as_ref();
    let awq_cfg = cfg.is_some_and(|h| h.method == "awq");
    let bits = cfg.and_then(|h| h.bits).or_else(|| {
        let zw = zt.shape.get(1).copied().unwrap_or(0);
        (out > 0 && (zw * 32) % out == 0)
            .then(|| zw * 32 / out)
            .and_then(|b| u8::try_from(b).ok())
    });
    let fits = |b: u8| b > 0 && 32 % b == 0;
    let (format, inputs) = match bits.filter(|&b| fits(b)) {
        Some(b) if t.shape[1] == out && !awq_cfg => {
            (PackedFormat::Gptq, t.shape[0] * 32 / b as u64)
        }
        Some(b) if t.shape[1] * (32 / b as u64) == out => (PackedFormat::Awq, t.shape[0]),
        _ => {
            return refuse(
                "shape_mismatch",
                format!(
                    "packed weight {:?} {:?} with scales {:?} and zero points {:?} fits no GPTQ or AWQ layout{}",
                    t.name,
                    t.shape,
                    st.shape,
                    zt.shape,
                    bits.map_or(String::new(), |b| format!(" of {b}-bit codes"))
                ),
            );
        }
    };
    let bits = bits.expect("checked");
    let layout = Layout::Packed {
        format,
        bits: Some(bits),
        group_size: group_of(inputs, groups),
        companions: parts.clone(),
    };
    let mut findings = Vec::new();
    if let Some(g) = cfg.and_then(|h| h.group_size) {
        if group_of(inputs, groups).is_some_and(|got| got != g) {
            findings.push(cx.finding(
                "bits_mismatch",
                Severity::Warning,
                i,
                format!(
                    "config.json gives group size {g}, but {:?} has {groups} groups over {inputs} inputs",
                    t.name
                ),
            ));
        }
    }
    let l = layer(cx, i, name, vec![out, inputs], layout, &parts);
    (l, findings)
}

fn compressed(cx: &Ctx, i: usize, t: &TensorInfo, m: &str) -> Claim {
    let parts = companions(
        cx,
        m,
        &["weight_scale", "weight_zero_point", "weight_shape"],
    );
    let name = format!("{m}.weight");
    let refuse =
        |code: &str, why: String| refused(cx, i, &name, "compressed-tensors", &parts, code, why);
    let Some((_, st)) = cx.find(&format!("{m}.weight_scale")) else {
        return refuse(
            "missing_scale",
            format!(
                "packed weight {:?} has no {m}.weight_scale tensor, so its values cannot be recovered",
                t.name
            ),
        );
    };
    let bits = cx.hf.as_ref().and_then(|h| h.bits).unwrap_or(4);
    let inputs = if bits > 0 && 32 % bits == 0 {
        t.shape[1] * (32 / bits as u64)
    } else {
        0
    };
    let groups = st.shape.get(1).copied().unwrap_or(1);
    if inputs == 0 || st.shape.first() != Some(&t.shape[0]) {
        return refuse(
            "shape_mismatch",
            format!(
                "packed weight {:?} {:?} with scales {:?} fits no {bits}-bit compressed-tensors layout",
                t.name, t.shape, st.shape
            ),
        );
    }
    let layout = Layout::Packed {
        format: PackedFormat::CompressedTensors,
        bits: Some(bits),
        group_size: group_of(inputs, groups),
        companions: parts.clone(),
    };
    (
        layer(cx, i, name, vec![t.shape[0], inputs], layout, &parts),
        vec![],
    )
}

/// Inputs per group, or `None` for one group (per-channel) or a ragged split.
fn group_of(inputs: u64, groups: u64) -> Option<u64> {
    (groups > 1 && inputs.is_multiple_of(groups)).then(|| inputs / groups)
}
