//! Formats other tools write, read back against independent readers
//! (`scripts/hub_formats_reference.py`): gpt-oss MXFP4 experts through
//! mlx-lm's own gpt-oss loader and `mx.dequantize`; ModelOpt NVFP4 and
//! compressed-tensors nvfp4/mxfp4 through `mx.dequantize` and the
//! second-level scale; compressed-tensors W8A8 int8 through numpy. Then
//! their broken variants, each a finding naming the tensor.
//! Needs pip `mlx` and `mlx-lm` (installed by `scripts/ensure-tools`).
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use quantlens::stored::{recognise, Dequantizer};
use quantlens::{Action, Inspection, Policy, Scheme};
use serde_json::Value;

/// Units in the last place between two finite f32 of one sign.
fn ulps(a: f32, b: f32) -> u32 {
    (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
}

#[test]
fn other_tools_formats_read_back_as_their_own_readers_do() {
    let tmp = tempfile::tempdir().unwrap();
    let listed: Value = serde_json::from_str(&common::python(&[
        "scripts/hub_formats_reference.py",
        tmp.path().to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(listed["mlx"], "0.32.4");
    // kind -> (format, mode, group size, bits, ulps allowed)
    let kinds = [
        ("gpt-oss", "gpt-oss", "mxfp4", Some(32), 4, 0),
        ("modelopt", "modelopt", "nvfp4", Some(16), 4, 1),
        ("ct-nvfp4", "compressed-tensors", "nvfp4", Some(16), 4, 1),
        ("ct-mxfp4", "compressed-tensors", "mxfp4", Some(32), 4, 0),
        ("ct-int8", "int8", "per-row", None, 8, 0),
    ];
    let mut checked = 0;
    for (kind, format, mode, group, bits, tolerance) in kinds {
        let dir = tmp.path().join(kind);
        let model = common::model_dir(&dir);
        let rec = recognise(&model, &|_| None);
        assert!(rec.findings.is_empty(), "{kind}: {:?}", rec.findings);
        let ref_bytes =
            std::fs::read(tmp.path().join(format!("{kind}.reference.safetensors"))).unwrap();
        let reference = safetensors::SafeTensors::deserialize(&ref_bytes).unwrap();
        let names = listed["layers"][kind].as_array().unwrap();
        assert!(!names.is_empty());
        for name in names {
            let name = name.as_str().unwrap();
            let l = rec
                .tensors
                .iter()
                .find(|l| l.name == name)
                .unwrap_or_else(|| {
                    panic!(
                        "{kind}: no layer {name} in {:?}",
                        rec.tensors.iter().map(|l| &l.name).collect::<Vec<_>>()
                    )
                });
            let want = reference.tensor(name).unwrap();
            let shape: Vec<u64> = want.shape().iter().map(|&d| d as u64).collect();
            assert_eq!(l.shape, shape, "{kind} {name}");
            let info = l.stored_info().unwrap();
            assert_eq!(info.format, format, "{kind} {name}");
            if kind != "ct-int8" || name.contains("down_proj") {
                assert_eq!(info.mode, mode, "{kind} {name}");
            }
            assert_eq!(
                (info.group_size, info.bits),
                (group, Some(bits)),
                "{kind} {name}"
            );
            let mut d = Dequantizer::new(&model, l).unwrap();
            let mut ours = Vec::new();
            d.rows(0, l.rows(), &mut ours).unwrap();
            let theirs = common::f32_values(&want);
            assert_eq!(ours.len(), theirs.len(), "{kind} {name}");
            let worst = ours
                .iter()
                .zip(&theirs)
                .map(|(&a, &b)| ulps(a, b))
                .max()
                .unwrap();
            assert!(
                worst <= tolerance,
                "{kind} {name}: {worst} ulps from the independent reader (allowed {tolerance})"
            );
            assert!(
                theirs.iter().any(|&v| v != 0.0),
                "{kind} {name}: a reference of zeros cannot fail"
            );
            assert_eq!(d.notes.bad_scales, 0, "{kind} {name}");
            checked += 1;
        }

        // inspect: one stored row per layer, no companion rows, and the
        // decoded values' statistics filled in.
        let r = Inspection::new(
            common::model_dir(&dir),
            Scheme::Int8Tensor,
            &Policy::default_rule(),
        )
        .run()
        .unwrap();
        assert!(
            r.summary.findings.is_empty(),
            "{kind}: {:?}",
            r.summary.findings
        );
        let stored: Vec<_> = r
            .layers
            .iter()
            .filter(|l| l.action == Action::Stored)
            .collect();
        assert_eq!(stored.len(), names.len(), "{kind}");
        for row in &r.layers {
            assert!(
                !row.name.contains("scale") && !row.name.ends_with("_blocks"),
                "{kind}: a companion is a row of its own: {}",
                row.name
            );
        }
        for row in stored {
            let s = row.stored.as_ref().unwrap();
            assert!(
                s.dequantized && s.rms.is_some_and(|r| r > 0.0),
                "{kind} {}",
                row.name
            );
        }
    }
    eprintln!(
        "{checked} layers (gpt-oss, ModelOpt, compressed-tensors) equal their independent readers"
    );
    assert_eq!(checked, 7);
}
