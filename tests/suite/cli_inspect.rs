//! Real stored downloads of MiniLM through `inspect --json`: quantized by
//! real MLX (4-bit g64, f32 and f16 scales) and the int8 format of
//! `scripts/gen_models.py seeds-v2`. Each quantized layer is one stored
//! row; no companion is a row; float layers are analysed as before.
//! Needs pip `mlx` (installed by `scripts/ensure-tools --python`).
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use std::path::Path;

use serde_json::Value;

/// `quantlens inspect DIR -q` with `format` (`--json`, `--markdown`, or
/// empty for the terminal table).
fn inspect(dir: &Path, format: &str) -> String {
    let mut args = vec!["inspect", dir.to_str().unwrap(), "-q"];
    args.extend((!format.is_empty()).then_some(format));
    String::from_utf8(common::quantlens_stdout(&args)).unwrap()
}

fn stored_rows(r: &Value) -> Vec<&Value> {
    let layers = r["layers"].as_array().unwrap();
    for l in layers {
        let name = l["name"].as_str().unwrap();
        assert!(
            !name.ends_with(".scales")
                && !name.ends_with(".biases")
                && !name.ends_with("__scale__"),
            "companion {name} listed as a layer"
        );
    }
    layers.iter().filter(|l| l["action"] == "stored").collect()
}

fn mlx_fixture(dir: &Path, dtype: &str) {
    common::python(&[
        "scripts/mlx_quantize_model.py",
        common::minilm().to_str().unwrap(),
        dir.to_str().unwrap(),
        "--bits",
        "4",
        "--group-size",
        "64",
        "--dtype",
        dtype,
    ]);
}

#[test]
fn minilm_quantized_by_mlx_4bit_is_37_stored_layers() {
    let tmp = tempfile::tempdir().unwrap();
    for (dtype, bpw) in [("f32", 5.0), ("f16", 4.5)] {
        let dir = tmp.path().join(dtype);
        mlx_fixture(&dir, dtype);
        let r: Value = serde_json::from_str(&inspect(&dir, "--json")).unwrap();
        let stored = stored_rows(&r);
        assert_eq!(stored.len(), 37, "{dtype}");
        assert_eq!(r["layers"].as_array().unwrap().len() - stored.len(), 67);
        assert_eq!(r["summary"]["stored_layers"], 37);
        for l in &stored {
            common::assert_mlx_affine_4bit_g64(l);
            let s = &l["stored"];
            assert_eq!(s["bits_per_weight"], bpw, "{}", l["name"]);
            assert!(l["rel_error"].is_null() && l["scheme"].is_null());
            assert!(l["min"].is_f64() && s["rms"].as_f64().unwrap() > 0.0);
        }
        let name = |n: &str| stored.iter().any(|l| l["name"] == n);
        assert!(name("encoder.layer.0.attention.self.query.weight"));
        // Float layers keep their analysis: the pooler bias is still all zeros.
        assert!(r["summary"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "all_zero" && f["tensor"] == "pooler.dense.bias"));
        assert_eq!(r["summary"]["quantized_layers"], 0);
        // 8 × every tensor byte / logical parameters (mlx-lm's figure).
        let bytes: u64 = r["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["bytes_before"].as_u64().unwrap())
            .sum();
        let want = 8.0 * bytes as f64 / 22_713_728.0;
        assert!((r["summary"]["bits_per_weight"].as_f64().unwrap() - want).abs() < 1e-12);
    }
    let text = inspect(&tmp.path().join("f32"), "--markdown");
    assert!(text.contains(
        "37 layers stored as MLX affine 4-bit g64 (5.0 bits/weight), 67 float: 54.5 MB; 90.9 MB as f32, 45.4 MB as f16"
    ), "{text}");
    let text = inspect(&tmp.path().join("f16"), "");
    assert!(text.contains("37 layers stored as MLX affine 4-bit g64 (4.5 bits/weight), 67 float"));
}

#[test]
fn seeds_int8_layers_are_stored_rows() {
    let tmp = tempfile::tempdir().unwrap();
    common::python(&[
        "scripts/gen_models.py",
        "seeds-v2",
        common::minilm().to_str().unwrap(),
        tmp.path().to_str().unwrap(),
    ]);
    let r: Value = serde_json::from_str(&inspect(tmp.path(), "--json")).unwrap();
    let stored = stored_rows(&r);
    assert_eq!(stored.len(), 37);
    assert_eq!(r["layers"].as_array().unwrap().len(), 104);
    for l in &stored {
        assert_eq!(l["dtype"], "I8");
        assert_eq!(l["stored"]["format"], "int8");
        assert_eq!(l["stored"]["mode"], "per-tensor");
        assert!(l["rel_error"].is_null() && l["max"].is_f64());
    }
}

/// Keeping tensors whole (the default budget holds all of MiniLM's) or
/// reading each again for its error pass (`--read-budget 0`) changes what
/// is read, never a figure: the two reports are equal to the byte.
#[test]
fn the_read_budget_changes_reads_not_figures() {
    let dir = common::minilm();
    let run = |extra: &[&str]| {
        let mut args = vec!["inspect", dir.to_str().unwrap()];
        args.extend(extra);
        common::run_json(&args).1
    };
    let kept = run(&[]);
    assert!(kept["layers"].as_array().unwrap().len() > 30);
    assert_eq!(kept, run(&["--read-budget", "0"]));
    assert_eq!(kept, run(&["--read-budget", "1"]));
}
