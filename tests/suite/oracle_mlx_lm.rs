//! A model converted by mlx-lm itself (`mlx_lm.convert -q`, from PyPI) is
//! recognised with its mode, bits and group size; `inspect`'s bits per
//! weight is the figure mlx-lm prints, and `verify` against the original
//! reproduces MLX's own dequantization error per layer. Runs only when
//! `mlx_lm` is importable (CI installs it).
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use serde_json::Value;
use std::path::{Path, PathBuf};

fn json(args: &[&str]) -> Value {
    let args = [args, &["--json", "-q"]].concat();
    serde_json::from_slice(&common::quantlens_stdout(&args)).unwrap()
}

/// Converts `original` with mlx-lm (`-q` and `extra`) into `tmp`, then
/// checks what every conversion must give: `inspect` exits 0, reads every
/// stored layer (no `.scales` or `.biases` left as rows) and gives the bits
/// per weight mlx-lm printed, and `verify` against the original reproduces
/// MLX's own dequantization error per layer. Returns the converted folder
/// and inspect's stored rows.
fn converted_and_verified(original: &Path, tmp: &Path, extra: &[&str]) -> (PathBuf, Vec<Value>) {
    let out = tmp.join("converted");
    let log = common::mlx_lm_convert(original, &out, extra);
    // "[INFO] Quantized model with 9.050 bits per weight."
    let printed: f64 = log
        .split("Quantized model with ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no bits-per-weight line in {log}"));

    let ins = json(&["inspect", out.to_str().unwrap()]);
    let rows = ins["layers"].as_array().unwrap();
    let stored: Vec<Value> = rows
        .iter()
        .filter(|l| l["action"] == "stored")
        .cloned()
        .collect();
    assert!(rows
        .iter()
        .all(|l| !l["name"].as_str().unwrap().ends_with(".scales")
            && !l["name"].as_str().unwrap().ends_with(".biases")));
    let bpw = ins["summary"]["bits_per_weight"].as_f64().unwrap();
    assert!(
        (bpw - printed).abs() < 0.0005,
        "{extra:?}: inspect {bpw} bits/weight, mlx-lm printed {printed}"
    );

    let reference: Value = serde_json::from_str(&common::python(&[
        "scripts/mlx_dequant_error.py",
        original.to_str().unwrap(),
        out.to_str().unwrap(),
    ]))
    .unwrap();
    let reference = reference.as_object().unwrap();
    assert_eq!(reference.len(), stored.len());
    let v = json(&["verify", original.to_str().unwrap(), out.to_str().unwrap()]);
    let mut worst = 0f64;
    for (name, want) in reference {
        let row = v["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} not verified"));
        let (got, want) = (row["rel_error"].as_f64().unwrap(), want.as_f64().unwrap());
        let d = common::rel_diff(got, want);
        worst = worst.max(d);
        assert!(d < 1e-9, "{name}: verify {got}, MLX {want}");
    }
    eprintln!(
        "mlx-lm {extra:?} {}: {} layers, {bpw:.3} bits/weight (mlx-lm: {printed}), rel. error within {worst:.1e} of MLX's",
        original.display(),
        stored.len()
    );
    (out, stored)
}

#[test]
fn mlx_lm_conversion_is_recognised_and_verified() {
    if !common::has_mlx_lm("the mlx-lm conversion oracle") {
        return;
    }
    let original = common::root().join("../shared/models/tiny-llama");
    let tmp = tempfile::tempdir().unwrap();
    let (_, stored) = converted_and_verified(&original, tmp.path(), &[]);
    assert!(stored.len() >= 20, "{} stored layers", stored.len());
    for l in &stored {
        common::assert_mlx_affine_4bit_g64(l);
    }
}

/// mlx-lm's mixed recipes give some layers their own bits and write
/// `"group_size": null` in those entries: MLX reads null as the mode's
/// default group size (64), not as the top level's. Each stored layer has
/// the bits of its own entry.
#[test]
fn mlx_lm_mixed_recipe_is_read_per_layer() {
    if !common::has_mlx_lm("the mlx-lm mixed-recipe oracle") {
        return;
    }
    let original = common::root().join("../shared/models/tiny-qwen2");
    let tmp = tempfile::tempdir().unwrap();
    let (out, stored) =
        converted_and_verified(&original, tmp.path(), &["--quant-predicate", "mixed_3_6"]);
    let config: Value =
        serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    let q = &config["quantization"];
    let mut bits_seen = std::collections::BTreeSet::new();
    for l in &stored {
        let module = l["name"].as_str().unwrap().trim_end_matches(".weight");
        let entry = &q[module];
        assert!(entry["group_size"].is_null(), "{module}: {entry}");
        let s = &l["stored"];
        assert_eq!(s["mode"], "affine", "{module}");
        assert_eq!(s["group_size"], 64, "{module}");
        assert_eq!(s["bits"], entry["bits"], "{module}");
        bits_seen.insert(s["bits"].as_u64().unwrap());
    }
    assert_eq!(bits_seen.into_iter().collect::<Vec<_>>(), [3, 6]);
}

/// `mlx_lm.convert -d` dequantizes a quantized model back to floats: the
/// same fake quantization as the seeds' converter, with a scale and bias
/// per group of 64 instead of one per tensor. Inspect flags every layer
/// mlx-lm had quantized (here in BF16, whose rounding the grid test must
/// allow for), and verify against the original says nothing was gained.
#[test]
fn mlx_lm_dequantized_model_is_flagged_as_fake() {
    if !common::has_mlx_lm("the mlx-lm dequantization oracle") {
        return;
    }
    let original = common::root().join("../shared/models/tiny-llama");
    let tmp = tempfile::tempdir().unwrap();
    let quantized = tmp.path().join("q4");
    common::mlx_lm_convert(&original, &quantized, &["--dtype", "bfloat16"]);
    let dequantized = tmp.path().join("dq");
    let run = std::process::Command::new("python3")
        .args(["-m", "mlx_lm", "convert", "-d", "--hf-path"])
        .arg(&quantized)
        .arg("--mlx-path")
        .arg(&dequantized)
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");

    let stored = json(&["inspect", quantized.to_str().unwrap()])["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["action"] == "stored")
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert_eq!(stored.len(), 20);
    let (code, r) = common::run_json(&["inspect", dequantized.to_str().unwrap()]);
    assert_eq!(code, 0, "fake quantization is a warning");
    let fakes: Vec<&Value> = r["summary"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "fake_quantization")
        .collect();
    let mut flagged: Vec<String> = fakes
        .iter()
        .map(|f| f["tensor"].as_str().unwrap().to_string())
        .collect();
    flagged.sort();
    let mut want = stored.clone();
    want.sort();
    assert_eq!(flagged, want);
    for f in &fakes {
        let m = f["message"].as_str().unwrap();
        assert!(
            m.contains("BF16") && m.contains("(4-bit codes)") && m.contains("at most 16 levels"),
            "{m}"
        );
    }
    // The original holds real weights: nothing is flagged there.
    let (_, r) = common::run_json(&["inspect", original.to_str().unwrap()]);
    assert!(!r["summary"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "fake_quantization"));
    let (code, v) = common::run_json(&[
        "verify",
        original.to_str().unwrap(),
        dequantized.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(v["summary"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "no_compression"
            && f["message"]
                .as_str()
                .unwrap()
                .contains("20 fake-quantized tensors")));
}
