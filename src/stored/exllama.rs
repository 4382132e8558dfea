//! ExLlama checkpoints, recognised and sized but not dequantized (their
//! decoders need CUDA extensions, so no independent reference is at hand):
//!
//! * EXL2: `<m>.q_weight` `I32` `[packed rows, out]` with `<m>.q_invperm`
//!   (one entry per input), `<m>.q_scale`, `<m>.q_scale_max`,
//!   `<m>.q_groups` and `<m>.q_perm`. Code widths vary by group (the
//!   widths live in `q_groups`' data, not its header), so the layer's bits
//!   are "mixed"; its bits per weight are exact.
//! * EXL3: `<m>.trellis` `I16` `[in/16, out/16, 16·K]` (K bits a weight;
//!   `16·K + 8` for half-integer K), with `<m>.suh`/`<m>.su`,
//!   `<m>.svh`/`<m>.sv`, `<m>.mcg` and `<m>.mul1`.
//!
//! The layer is `<m>.weight` of shape `[out, in]`.

use super::layout::{Layout, PackedFormat};
use super::packed::layer;
use super::recognise::{Claim, Ctx};
use crate::{Dtype, TensorInfo};

const EXL2: [&str; 5] = ["q_invperm", "q_perm", "q_scale", "q_scale_max", "q_groups"];
const EXL3: [&str; 6] = ["suh", "su", "svh", "sv", "mcg", "mul1"];

/// Reads an EXL2 `q_weight` or an EXL3 `trellis` with its companions as
/// one layer.
pub(crate) fn claim(cx: &Ctx, i: usize, t: &TensorInfo) -> Option<Claim> {
    if let Some(m) = t.name.strip_suffix(".q_weight") {
        return Some(exl2(cx, i, t, m));
    }
    let m = t.name.strip_suffix(".trellis")?;
    Some(exl3(cx, i, t, m))
}

fn parts(cx: &Ctx, m: &str, names: &[&str]) -> Vec<usize> {
    names
        .iter()
        .filter_map(|n| cx.find(&format!("{m}.{n}")).map(|c| c.0))
        .collect()
}

fn exl2(cx: &Ctx, i: usize, t: &TensorInfo, m: &str) -> Claim {
    let parts = parts(cx, m, &EXL2);
    let perm = cx
        .find(&format!("{m}.q_invperm"))
        .or_else(|| cx.find(&format!("{m}.q_perm")));
    let inputs = perm.map(|(_, p)| p.numel).unwrap_or(0);
    // The logical size comes from two untrusted headers: it must fit a u64.
    let ok = t.dtype == Dtype::I32
        && t.shape.len() == 2
        && inputs > 0
        && t.shape[0] > 0
        && t.shape[1].checked_mul(inputs).is_some();
    if !ok {
        let why = format!(
            "EXL2 weight {:?} {} {:?}{}: it must be I32 [packed rows, out] with {m}.q_invperm giving the inputs",
            t.name,
            t.dtype,
            t.shape,
            perm.map_or(" has no q_invperm or q_perm".to_string(), |(_, p)| format!(
                " with {:?} {:?}",
                p.name, p.shape
            )),
        );
        return cx.refuse(i, "exl2", parts, "shape_mismatch", why);
    }
    let layout = Layout::Packed {
        format: PackedFormat::Exl2,
        bits: None,
        group_size: None,
        companions: parts.clone(),
    };
    let shape = vec![t.shape[1], inputs];
    (
        layer(cx, i, format!("{m}.weight"), shape, layout, &parts),
        vec![],
    )
}

fn exl3(cx: &Ctx, i: usize, t: &TensorInfo, m: &str) -> Claim {
    let parts = parts(cx, m, &EXL3);
    let width = t.shape.get(2).copied().unwrap_or(0);
    let ok = t.dtype == Dtype::I16
        && t.shape.len() == 3
        && t.shape[0] > 0
        && t.shape[1] > 0
        && width >= 16
        && width % 8 == 0;
    if !ok {
        let why = format!(
            "EXL3 trellis {:?} is {} {:?}; it must be I16 [in/16, out/16, 16·bits]",
            t.name, t.dtype, t.shape
        );
        return cx.refuse(i, "exl3", parts, "shape_mismatch", why);
    }
    let bits = (width % 16 == 0)
        .then(|| u8::try_from(width / 16).ok())
        .flatten();
    let layout = Layout::Packed {
        format: PackedFormat::Exl3,
        bits,
        group_size: None,
        companions: parts.clone(),
    };
    let shape = vec![t.shape[1].saturating_mul(16), t.shape[0].saturating_mul(16)];
    (
        layer(cx, i, format!("{m}.weight"), shape, layout, &parts),
        vec![],
    )
}
