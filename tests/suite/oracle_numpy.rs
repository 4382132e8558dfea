//! Every per-layer figure of `quantlens inspect --json` against an
//! independent numpy computation (scripts/numpy_reference.py), on the real
//! MiniLM model and on a bf16 3-shard copy generated here.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use assert_cmd::Command;
use common::{minilm, python, rel_diff};
use serde_json::Value;

fn inspect(path: &std::path::Path, extra: &[&str]) -> Value {
    let out = Command::cargo_bin("quantlens")
        .unwrap()
        .arg("inspect")
        .arg(path)
        .arg("--json")
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Compares each quantized row's metrics with numpy's to 1e-6 relative.
fn assert_matches_numpy(ours: &Value, numpy: &Value) -> usize {
    let ours = ours["layers"].as_array().unwrap();
    let theirs = numpy["layers"].as_array().unwrap();
    assert_eq!(ours.len(), theirs.len());
    let mut compared = 0;
    for (a, b) in ours.iter().zip(theirs) {
        assert_eq!(a["name"], b["name"], "rows in the same order");
        assert_eq!(a["action"], b["action"], "{}", a["name"]);
        if a["action"] != "quantize" {
            continue;
        }
        for key in common::ERROR_FIGURES {
            let (x, y) = (a[key].as_f64(), b[key].as_f64());
            match (x, y) {
                (Some(x), Some(y)) => assert!(
                    rel_diff(x, y) <= 1e-6,
                    "{} {key}: ours {x} numpy {y}",
                    a["name"]
                ),
                _ => assert_eq!(x, y, "{} {key}", a["name"]),
            }
        }
        compared += 1;
    }
    compared
}

/// MiniLM's 104 tensors: 37 quantized, 67 kept.
fn assert_minilm_counts(report: &Value) {
    let s = &report["summary"];
    assert_eq!(
        (
            s["tensors"].as_u64(),
            s["quantized_layers"].as_u64(),
            s["kept_layers"].as_u64()
        ),
        (Some(104), Some(37), Some(67))
    );
}

#[test]
fn minilm_int8_tensor_matches_numpy() {
    let dir = minilm();
    let ours = inspect(&dir, &[]);
    assert_minilm_counts(&ours);
    let numpy: Value = serde_json::from_str(&python(&[
        "scripts/numpy_reference.py",
        dir.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(assert_matches_numpy(&ours, &numpy), 37);
    let rel = |name: &str| {
        ours["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == name)
            .unwrap()["rel_error"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(
        format!("{:.4}", rel("encoder.layer.5.output.dense.weight") * 100.0),
        "5.2421"
    );
    assert_eq!(
        format!("{:.4}", rel("pooler.dense.weight") * 100.0),
        "0.9681"
    );
    // The seeds' per-tensor int8 sizes: 90.9 MB -> 58.6 MB.
    assert_eq!(
        format!(
            "{:.1}",
            ours["summary"]["bytes_after"].as_f64().unwrap() / 1e6
        ),
        "58.6"
    );
}

#[test]
fn minilm_int8_channel_and_affine_match_numpy() {
    let dir = minilm();
    let d = dir.to_str().unwrap();
    let ours = inspect(&dir, &["--scheme", "int8-channel"]);
    let numpy: Value = serde_json::from_str(&python(&[
        "scripts/numpy_reference.py",
        d,
        "--scheme",
        "int8-channel",
    ]))
    .unwrap();
    assert_eq!(assert_matches_numpy(&ours, &numpy), 37);
    for bits in ["8", "4"] {
        let ours = inspect(
            &dir,
            &["--scheme", "affine", "--bits", bits, "--group-size", "64"],
        );
        let numpy: Value = serde_json::from_str(&python(&[
            "scripts/numpy_reference.py",
            d,
            "--scheme",
            "affine",
            "--bits",
            bits,
            "--group-size",
            "64",
        ]))
        .unwrap();
        assert_eq!(assert_matches_numpy(&ours, &numpy), 37, "affine {bits}");
    }
}

#[test]
fn bf16_three_shard_copy_gives_the_same_counts_and_numpy_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("minilm-bf16");
    python(&[
        "scripts/gen_models.py",
        "bf16-shards",
        minilm().to_str().unwrap(),
        out.to_str().unwrap(),
        "--shards",
        "3",
    ]);
    assert!(out.join("model.safetensors.index.json").is_file());
    let ours = inspect(&out, &[]);
    assert_minilm_counts(&ours);
    assert_eq!(ours["files"].as_array().unwrap().len(), 3);
    let numpy: Value = serde_json::from_str(&python(&[
        "scripts/numpy_reference.py",
        out.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(assert_matches_numpy(&ours, &numpy), 37);
}
