//! Matching the logical tensors of two models by name, with the
//! structural findings of the match: missing and extra tensors, shapes
//! that differ, data of different kinds, formats that are not read back.

use std::collections::HashMap;

use super::Pair;
use crate::stored::{Layout, Logical, Recognised};
use crate::{Finding, Model, Severity};

/// Pairs `orig`'s tensors with `conv`'s by name, in the original's order,
/// appending what the match finds to `findings`.
pub(super) fn match_tensors(
    original: &Model,
    converted: &Model,
    orig: &Recognised,
    conv: &Recognised,
    findings: &mut Vec<Finding>,
) -> Vec<Pair> {
    let conv_by_name: HashMap<&str, usize> = conv
        .tensors
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.as_str(), i))
        .collect();
    let orig_names: HashMap<&str, usize> = orig
        .tensors
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.as_str(), i))
        .collect();
    let conv_file = |l: &Logical| {
        converted
            .tensor(l.main)
            .expect("in range")
            .0
            .header
            .file
            .clone()
    };
    let orig_file = |l: &Logical| {
        original
            .tensor(l.main)
            .expect("in range")
            .0
            .header
            .file
            .clone()
    };
    let mut pairs = Vec::new();
    for (oi, o) in orig.tensors.iter().enumerate() {
        let Some(&ci) = conv_by_name.get(o.name.as_str()) else {
            findings.push(Finding::tensor(
                "missing_tensor",
                Severity::Error,
                &orig_file(o),
                &o.name,
                format!(
                    "tensor {:?} of the original is not in the converted model",
                    o.name
                ),
            ));
            continue;
        };
        let c = &conv.tensors[ci];
        let decodable = |l: &Logical| l.layout.is_decodable();
        let mut comparable = true;
        if c.layout.is_quantized() && !decodable(c) {
            // Broken layers were named by recognition; packed formats
            // without a checked decoder are said to be unread.
            comparable = false;
            if let Layout::Packed { .. } = c.layout {
                findings.push(Finding::tensor(
                    "not_dequantized",
                    Severity::Info,
                    &conv_file(c),
                    &c.name,
                    format!(
                        "tensor {:?} is stored as {}, which quantlens recognises but does not read back; no error is computed",
                        c.name,
                        c.layout.label()
                    ),
                ));
            }
        } else if decodable(o) != decodable(c) {
            comparable = false;
            let (od, cd) = (dtype_of(original, o), dtype_of(converted, c));
            findings.push(Finding::tensor(
                "unlike_comparison",
                Severity::Error,
                &conv_file(c),
                &c.name,
                format!(
                    "tensor {:?} is {od} ({}) in the original but {cd} ({}) in the converted model; they are not the same kind of data, so no error is computed",
                    o.name,
                    o.layout.label(),
                    c.layout.label()
                ),
            ));
        } else if o.shape != c.shape {
            comparable = false;
            findings.push(Finding::tensor(
                "shape_mismatch",
                Severity::Error,
                &conv_file(c),
                &c.name,
                format!(
                    "tensor {:?} has shape {:?} in the original but {:?} in the converted model{}; no error is computed",
                    o.name,
                    o.shape,
                    c.shape,
                    if swaps_last_two(&o.shape, &c.shape) {
                        " (its last two axes swapped: gpt-oss, for one, stores experts as [experts, out, in] and transformers loads them as [experts, in, out])"
                    } else {
                        ""
                    }
                ),
            ));
        } else if !decodable(o) {
            comparable = false;
        }
        pairs.push(Pair {
            original: oi,
            converted: ci,
            comparable,
        });
    }
    for c in &conv.tensors {
        if !orig_names.contains_key(c.name.as_str()) {
            findings.push(Finding::tensor(
                "extra_tensor",
                Severity::Warning,
                &conv_file(c),
                &c.name,
                format!(
                    "tensor {:?} of the converted model is not in the original",
                    c.name
                ),
            ));
        }
    }
    pairs
}

fn dtype_of(m: &Model, l: &Logical) -> String {
    m.tensor(l.main)
        .map(|(_, t)| t.dtype.name().to_string())
        .unwrap_or_default()
}

/// Whether `b` is `a` with its last two axes swapped (and differs from it).
fn swaps_last_two(a: &[u64], b: &[u64]) -> bool {
    let n = a.len();
    n >= 2
        && a != b
        && b.len() == n
        && a[..n - 2] == b[..n - 2]
        && a[n - 2] == b[n - 1]
        && a[n - 1] == b[n - 2]
}

#[cfg(test)]
mod tests {
    use super::swaps_last_two;

    #[test]
    fn last_two_axes_swapped() {
        assert!(swaps_last_two(&[2, 3, 4], &[2, 4, 3]));
        assert!(swaps_last_two(&[3, 4], &[4, 3]));
        assert!(!swaps_last_two(&[4, 4], &[4, 4]));
        assert!(!swaps_last_two(&[2, 3, 4], &[3, 2, 4]));
        assert!(!swaps_last_two(&[4], &[4]));
        assert!(!swaps_last_two(&[2, 3, 4], &[4, 3]));
    }
}
