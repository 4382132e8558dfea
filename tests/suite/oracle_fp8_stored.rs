//! FP8 checkpoints as DeepSeek-V3 and Qwen3-FP8 ship them (E4M3/E5M2
//! weights with 128×128 block `weight_scale_inv`, ragged edges; a
//! per-tensor `weight_scale`) read back equal to an independent numpy/MLX
//! dequantization bit for bit, by `inspect`'s recognition and by `verify`.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use std::path::Path;
use std::sync::Arc;

use quantlens::stored::{recognise, Dequantizer, Layout};
use quantlens::{Action, Inspection, Model, NamedSource, Policy, Scheme, Verification};

fn open(file: &Path, config: Option<&Path>) -> Model {
    let bytes = std::fs::read(file).unwrap();
    let config = config.map(|c| std::fs::read(c).unwrap());
    Model::open(
        vec![NamedSource::new("model.safetensors", Arc::new(bytes))],
        None,
        config.as_deref(),
    )
    .unwrap()
}

#[test]
fn fp8_block_scales_equal_the_numpy_reference() {
    let tmp = tempfile::tempdir().unwrap();
    common::python(&["scripts/fp8_reference.py", tmp.path().to_str().unwrap()]);
    let dir = tmp.path().join("model");
    let model = open(
        &dir.join("model.safetensors"),
        Some(&dir.join("config.json")),
    );
    let ref_bytes = std::fs::read(tmp.path().join("reference.safetensors")).unwrap();
    let reference = safetensors::SafeTensors::deserialize(&ref_bytes).unwrap();
    let rec = recognise(&model, &|_| None);
    assert!(rec.findings.is_empty(), "{:?}", rec.findings);
    let names: Vec<&str> = rec.tensors.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["a.weight", "b.weight", "c.weight"]);
    for l in &rec.tensors {
        let Layout::Fp8 { block, .. } = l.layout else {
            panic!("{}: {:?}", l.name, l.layout)
        };
        let want_block = if l.name == "c.weight" {
            None
        } else {
            Some((128, 128))
        };
        assert_eq!(block, want_block, "{}", l.name);
        let mut d = Dequantizer::new(&model, l).unwrap();
        let mut ours = Vec::new();
        d.rows(0, l.rows(), &mut ours).unwrap();
        let want: Vec<f32> = reference
            .tensor(&l.name)
            .unwrap()
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(ours.len(), want.len());
        let differ = ours
            .iter()
            .zip(&want)
            .filter(|(a, b)| a.to_bits() != b.to_bits())
            .count();
        assert_eq!(differ, 0, "{}: {differ} values differ", l.name);
        // The rows do not start on a block boundary in every read.
        let mut tail = Vec::new();
        d.rows(129, l.rows(), &mut tail).ok();
        if l.rows() > 129 {
            let at = 129 * l.cols() as usize;
            assert_eq!(tail, ours[at..], "{}", l.name);
        }
    }

    // inspect: three stored rows; the scales and input_scale are no rows.
    let r = Inspection::new(model, Scheme::Int8Tensor, &Policy::default_rule())
        .run()
        .unwrap();
    assert_eq!(r.layers.len(), 3);
    assert!(r.layers.iter().all(|l| l.action == Action::Stored));
    assert_eq!(r.layers[0].stored.as_ref().unwrap().mode, "block 128x128");
    assert!(r.summary.findings.is_empty(), "{:?}", r.summary.findings);

    // verify against the reference as the original: zero error per layer.
    let original = open(&tmp.path().join("reference.safetensors"), None);
    let converted = open(
        &dir.join("model.safetensors"),
        Some(&dir.join("config.json")),
    );
    let v = Verification::new(original, converted).run().unwrap();
    assert!(!v.has_errors(), "{:?}", v.summary.findings);
    assert_eq!(v.layers.len(), 3);
    for l in &v.layers {
        assert_eq!(l.max_abs_error, Some(0.0), "{}", l.name);
        assert_eq!(l.scheme.as_deref(), Some("fp8"), "{}", l.name);
    }
}
