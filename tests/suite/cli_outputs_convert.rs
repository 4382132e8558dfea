//! `verify --outputs` on folders written by `quantlens convert` gives the
//! same figures as `outputs` with the same scheme on the fly, and the
//! `outputs` object is the one `quantlens outputs --json` prints. On an MLX
//! folder it also gives the figures of the same folder dequantized by MLX
//! itself (`scripts/mlx_dequant_error.py --out`), an independent reading of
//! the format.
#![cfg(feature = "outputs")]

use crate::common;

use assert_cmd::Command;
use serde_json::Value;

fn same_figures(a: &Value, b: &Value) {
    let (la, lb) = (
        a["layers"].as_array().unwrap(),
        b["layers"].as_array().unwrap(),
    );
    assert_eq!(la.len(), lb.len());
    for (x, y) in la.iter().zip(lb) {
        for k in ["rel_error", "cosine", "alone_rel_error"] {
            let (p, q) = (x[k].as_f64().unwrap_or(0.0), y[k].as_f64().unwrap_or(0.0));
            assert!(
                (p - q).abs() <= 1e-6 * p.abs().max(1e-6),
                "layer {} {k}: {p} vs {q}",
                x["layer"]
            );
        }
    }
    let (ea, eb) = (&a["embedding"], &b["embedding"]);
    assert_eq!(ea["neighbours_same"], eb["neighbours_same"]);
    assert_eq!(a["tokens"], b["tokens"]);
    for k in ["cosine_mean", "cosine_min"] {
        let (p, q) = (ea[k].as_f64().unwrap(), eb[k].as_f64().unwrap());
        assert!((p - q).abs() <= 1e-6, "{k} {p} vs {q}");
    }
}

fn convert(model: &std::path::Path, out: &std::path::Path, format: &[&str]) {
    Command::cargo_bin("quantlens")
        .unwrap()
        .arg("convert")
        .arg(model)
        .arg(out)
        .arg("-q")
        .args(format)
        .assert()
        .success();
}

fn verify_outputs(model: &std::path::Path, converted: &std::path::Path) -> Value {
    common::quantlens_json(&[
        "verify".as_ref(),
        model.as_os_str(),
        converted.as_os_str(),
        "--outputs".as_ref(),
        "--json".as_ref(),
        "-q".as_ref(),
    ])
}

fn converted_matches_on_the_fly(format: &[&str], scheme: &[&str]) {
    let m = common::minilm();
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("conv");
    convert(&m, &out, format);
    let v = verify_outputs(&m, &out);
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "outputs".as_ref(),
        m.as_os_str(),
        "--json".as_ref(),
        "-q".as_ref(),
    ];
    args.extend(scheme.iter().map(std::ffi::OsStr::new));
    let o = common::quantlens_json(&args);
    assert!(
        v["summary"].is_object() || v["layers"].is_array(),
        "verify's own report is kept"
    );
    assert!(v["outputs"]["quantized"]
        .as_str()
        .unwrap()
        .starts_with("converted"));
    same_figures(&v["outputs"], &o["outputs"]);
}

#[test]
fn verify_outputs_on_an_int8_conversion() {
    converted_matches_on_the_fly(&["--format", "int8"], &["--scheme", "int8-tensor"]);
}

#[test]
fn verify_outputs_on_an_mlx_conversion() {
    converted_matches_on_the_fly(
        &["--format", "mlx", "--bits", "4", "--group-size", "64"],
        &[
            "--scheme",
            "affine",
            "--bits",
            "4",
            "--group-size",
            "64",
            "--policy",
            "mlx",
        ],
    );
}

#[test]
fn verify_outputs_on_an_mlx_conversion_matches_mlx_dequantization() {
    let m = common::minilm();
    let d = tempfile::tempdir().unwrap();
    let (mlx, float) = (d.path().join("mlx"), d.path().join("dequantized"));
    convert(&m, &mlx, &["--format", "mlx", "--bits", "4"]);
    common::python(&[
        "scripts/mlx_dequant_error.py",
        m.to_str().unwrap(),
        mlx.to_str().unwrap(),
        "--out",
        float.to_str().unwrap(),
    ]);
    let (a, b) = (verify_outputs(&m, &mlx), verify_outputs(&m, &float));
    assert!(a["outputs"]["quantized"]
        .as_str()
        .unwrap()
        .contains("mlx-affine-4bit-g64"));
    assert_eq!(b["outputs"]["quantized"], "converted (float)");
    let rel = a["outputs"]["layers"][6]["rel_error"].as_f64().unwrap();
    assert!(rel > 0.05, "4-bit leaves a visible error: {rel}");
    same_figures(&a["outputs"], &b["outputs"]);
}

#[test]
fn inspect_outputs_embeds_the_same_object() {
    let m = common::minilm();
    let i = common::quantlens_json(&[
        "inspect".as_ref(),
        m.as_os_str(),
        "--outputs".as_ref(),
        "--json".as_ref(),
        "-q".as_ref(),
    ]);
    let o = common::quantlens_json(&[
        "outputs".as_ref(),
        m.as_os_str(),
        "--json".as_ref(),
        "-q".as_ref(),
    ]);
    assert!(i["summary"].is_object(), "inspect's own report is kept");
    assert_eq!(i["outputs"], o["outputs"]);
    assert_eq!(o["outputs"]["inputs"], 24);
    // The gate: MiniLM's int8 embeddings are below cosine 0.99.
    let code = |gate: &str| {
        Command::cargo_bin("quantlens")
            .unwrap()
            .arg("outputs")
            .arg(&m)
            .args(["-q", "--fail-below-cosine", gate])
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(code("0.99"), Some(1));
    assert_eq!(code("0.9"), Some(0));
}
