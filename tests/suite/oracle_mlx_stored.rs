//! MLX 0.32.4 is the oracle: layers quantized by `mx.quantize` in every
//! mode (affine 2–8 bits, mxfp4, mxfp8, nvfp4; f32, f16 and bf16 weights;
//! per-module config overrides) are recognised with their mode, bits and
//! group size, and read back equal to `mx.dequantize` bit for bit.
//! Needs pip `mlx` (installed by `scripts/ensure-tools --python`).
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use std::sync::Arc;

use quantlens::stored::{recognise, Dequantizer, Layout};
use quantlens::{Action, Inspection, Model, NamedSource, Policy, Scheme, Verification};
use serde_json::Value;

#[test]
fn every_mlx_mode_dequantizes_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let listed: Value = serde_json::from_str(&common::python(&[
        "scripts/mlx_stored_reference.py",
        tmp.path().to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(listed["mlx"], "0.32.4");
    let layers = listed["layers"].as_array().unwrap();
    let model = common::model_dir(&tmp.path().join("model"));
    let rec = recognise(&model, &|_| None);
    assert!(rec.findings.is_empty(), "{:?}", rec.findings);
    let ref_bytes = std::fs::read(tmp.path().join("reference.safetensors")).unwrap();
    let reference = safetensors::SafeTensors::deserialize(&ref_bytes).unwrap();
    let mut checked = 0;
    for want in layers {
        let name = want["name"].as_str().unwrap();
        let l = rec.tensors.iter().find(|l| l.name == name).unwrap();
        let Layout::Mlx {
            mode,
            bits,
            group_size,
            ..
        } = l.layout
        else {
            panic!("{name}: {:?}", l.layout)
        };
        assert_eq!(mode.name(), want["mode"], "{name}");
        assert_eq!(bits as u64, want["bits"].as_u64().unwrap(), "{name}");
        assert_eq!(group_size, want["group_size"].as_u64().unwrap(), "{name}");
        let shape: Vec<u64> = serde_json::from_value(want["shape"].clone()).unwrap();
        assert_eq!(l.shape, shape, "{name}");
        let mut d = Dequantizer::new(&model, l).unwrap();
        let mut ours = Vec::new();
        d.rows(0, l.rows(), &mut ours).unwrap();
        // Both MLX outputs: the default dtype (upcast) and dtype=float32.
        for key in [name.to_string(), format!("{name}.f32")] {
            let mlx = common::f32_values(&reference.tensor(&key).unwrap());
            assert_eq!(mlx.len(), ours.len(), "{key}");
            let differ = ours
                .iter()
                .zip(&mlx)
                .filter(|(a, b)| a.to_bits() != b.to_bits())
                .count();
            assert_eq!(
                differ, 0,
                "{key}: {differ} values differ from mx.dequantize"
            );
        }
        assert_eq!(d.notes.bad_scales, 0, "{name}");
        checked += 1;
    }
    eprintln!(
        "{checked} MLX layers (affine 2/3/4/5/6/8-bit, mxfp4, mxfp8, nvfp4) equal mx.dequantize: 0 ulp"
    );
    assert_eq!(checked, layers.len());
    assert!(checked >= 30);

    // The same model through inspect: one stored row per layer, the config's
    // float-kept layer and the norm analysed as floats.
    let r = Inspection::new(model, Scheme::Int8Tensor, &Policy::default_rule())
        .run()
        .unwrap();
    assert_eq!(r.summary.stored_layers as usize, layers.len());
    assert_eq!(r.layers.len(), layers.len() + 2);
    for row in &r.layers {
        let stored = row.action == Action::Stored;
        assert_eq!(stored, row.stored.is_some(), "{}", row.name);
        assert!(!row.name.ends_with(".scales") && !row.name.ends_with(".biases"));
        if stored {
            assert!(row.rel_error.is_none() && row.min.is_some(), "{}", row.name);
        }
    }
    let kept = r.layers.iter().find(|l| l.name == "kept.weight").unwrap();
    assert_eq!(kept.action, Action::Quantize);

    // verify against MLX's dequantized values as the original: every
    // stored layer has zero error (the reference's `.f32` copies and the
    // model's float layers are unmatched names, not compared).
    let reference = Model::open(
        vec![NamedSource::new(
            "reference.safetensors",
            Arc::new(ref_bytes.clone()),
        )],
        None,
        None,
    )
    .unwrap();
    let v = Verification::new(reference, common::model_dir(&tmp.path().join("model")))
        .run()
        .unwrap();
    let mut compared = 0;
    for want in layers {
        let name = want["name"].as_str().unwrap();
        let row = v.layers.iter().find(|l| l.name == name).unwrap();
        assert_eq!(row.max_abs_error, Some(0.0), "{name}");
        compared += 1;
    }
    assert_eq!(compared, layers.len());
}
