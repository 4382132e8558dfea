//! `verify --outputs ORIGINAL CONVERTED` on MLX conversions of the tiny
//! decoders (tiny-llama: untied `lm_head`; tiny-qwen2: tied embeddings,
//! so the quantized embedding is also the output layer), made by
//! `quantlens convert --format mlx` (4 and 8 bits, and mixed precision
//! with per-module overrides) and by mlx-lm's own `mlx_lm convert -q`
//! (4-bit group 64, and `--q-bits 8`).
//!
//! Independent reference: `scripts/decoder_refs.py converted` loads both
//! folders with mlx-lm, runs its llama/qwen2 forward on CPU on the same
//! texts (tokenized by mlx-lm's tokenizer) and computes every figure in
//! numpy. Tokens must match exactly, KLD statistics within 5 %, RMS Δp
//! within 2 %, same_top within max(2 positions, 0.5 %), and every layer's
//! rel_error, alone_rel_error and 1 − cosine within 1 %. Skipped, loudly,
//! when mlx-lm is not installed.
#![cfg(feature = "outputs")]

use crate::common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use common::outputs::models;

/// The built-in decoder texts, one per line, for both sides to read.
fn texts(dir: &Path) -> PathBuf {
    let p = dir.join("texts.txt");
    std::fs::write(&p, quantlens::outputs::prompts::TEXTS.join("\n")).unwrap();
    p
}

fn quantlens_convert(original: &Path, out: &Path, args: &[&str]) {
    Command::cargo_bin("quantlens")
        .unwrap()
        .arg("convert")
        .arg(original)
        .arg(out)
        .args(["--format", "mlx", "-q"])
        .args(args)
        .assert()
        .success();
}

/// `verify --outputs --json`'s `outputs` object.
fn verify_outputs(original: &Path, conv: &Path, text: &Path) -> Value {
    let v = common::quantlens_json(&[
        "verify".as_ref(),
        original.as_os_str(),
        conv.as_os_str(),
        "--outputs".as_ref(),
        "--json".as_ref(),
        "-q".as_ref(),
        "--text".as_ref(),
        text.as_os_str(),
    ]);
    assert!(v["summary"].is_object(), "verify's own report is kept");
    v["outputs"].clone()
}

/// The original model, a temporary folder and the texts file in it; None
/// (said loudly) when mlx-lm is missing.
fn setup(model: &str, what: &str) -> Option<(PathBuf, tempfile::TempDir, PathBuf)> {
    if !common::has_mlx_lm(&format!("verify --outputs on {model}'s {what}")) {
        return None;
    }
    let d = tempfile::tempdir().unwrap();
    let text = texts(d.path());
    Some((models().join(model), d, text))
}

fn within(what: &str, got: f64, want: f64, rel: f64) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "{what}: quantlens {got}, mlx-lm {want}"
    );
}

/// Compares quantlens' figures with mlx-lm's; `formats` are the stored
/// formats the report must name.
fn matches_mlx_lm(original: &Path, conv: &Path, text: &Path, formats: &[&str]) {
    let got = verify_outputs(original, conv, text);
    let want: Value = serde_json::from_str(&common::python(&[
        "scripts/decoder_refs.py",
        "converted",
        original.to_str().unwrap(),
        conv.to_str().unwrap(),
        "--text",
        text.to_str().unwrap(),
    ]))
    .unwrap();
    let case = conv.file_name().unwrap().to_string_lossy().to_string();
    let label = got["quantized"].as_str().unwrap();
    for f in formats {
        assert!(label.contains(f), "{case}: {label:?} lacks {f}");
    }
    assert_eq!(got["tokens"], want["tokens"], "{case}: tokens");
    let per: Vec<&Value> = got["per_input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["tokens"])
        .collect();
    let want_per: Vec<&Value> = want["per_input_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(per, want_per, "{case}: tokens of each input");

    let (gl, wl) = (
        got["layers"].as_array().unwrap(),
        want["layers"].as_array().unwrap(),
    );
    assert_eq!(gl.len(), wl.len(), "{case}: layers");
    for (g, w) in gl.iter().zip(wl) {
        let l = w["layer"].as_u64().unwrap();
        let f = |v: &Value, k: &str| v[k].as_f64().unwrap();
        within(
            &format!("{case} layer {l} rel_error"),
            f(g, "rel_error"),
            f(w, "rel_error"),
            0.01,
        );
        within(
            &format!("{case} layer {l} 1 - cosine"),
            1.0 - f(g, "cosine"),
            1.0 - f(w, "cosine"),
            0.01,
        );
        if l > 0 {
            within(
                &format!("{case} layer {l} alone_rel_error"),
                f(g, "alone_rel_error"),
                f(w, "alone_rel_error"),
                0.01,
            );
        }
    }
    let (g, w) = (&got["next_token"], &want["next_token"]);
    for k in ["kld_mean", "kld_median", "kld_p99", "kld_max"] {
        within(
            &format!("{case} {k}"),
            g[k].as_f64().unwrap(),
            w[k].as_f64().unwrap(),
            0.05,
        );
    }
    within(
        &format!("{case} rms_delta_p"),
        g["rms_delta_p"].as_f64().unwrap(),
        w["rms_delta_p"].as_f64().unwrap(),
        0.02,
    );
    let tokens = want["tokens"].as_f64().unwrap();
    let (gs, ws) = (
        g["same_top"].as_f64().unwrap(),
        w["same_top"].as_f64().unwrap(),
    );
    assert!(
        (gs - ws).abs() <= (0.005 * tokens).max(2.0),
        "{case}: same_top {gs} vs mlx-lm {ws}"
    );
    assert!(
        ws < tokens,
        "{case}: the quantization changes some top tokens"
    );
    eprintln!(
        "{case}: {} tokens, KLD mean {:.3e} (mlx-lm {:.3e}), same top {gs}/{tokens}",
        want["tokens"],
        g["kld_mean"].as_f64().unwrap(),
        w["kld_mean"].as_f64().unwrap()
    );
}

fn quantlens_conversions(model: &str) {
    let Some((original, d, text)) = setup(model, "MLX conversions") else {
        return;
    };
    let cases: [(&str, &[&str], &[&str]); 3] = [
        ("quantlens-4bit", &["--bits", "4"], &["mlx-affine-4bit-g64"]),
        ("quantlens-8bit", &["--bits", "8"], &["mlx-affine-8bit-g64"]),
        (
            "quantlens-mixed",
            &[
                "--bits",
                "4",
                "--bits-for",
                "*.v_proj=8",
                "--bits-for",
                "*.gate_proj=6",
                "--keep",
                "*.o_proj",
            ],
            &[
                "mlx-affine-4bit-g64",
                "mlx-affine-6bit-g64",
                "mlx-affine-8bit-g64",
            ],
        ),
    ];
    for (name, args, formats) in cases {
        let out = d.path().join(format!("{model}-{name}"));
        quantlens_convert(&original, &out, args);
        matches_mlx_lm(&original, &out, &text, formats);
    }
    // The mixed folder really carries per-module overrides.
    let cfg: Value = serde_json::from_slice(
        &std::fs::read(
            d.path()
                .join(format!("{model}-quantlens-mixed/config.json")),
        )
        .unwrap(),
    )
    .unwrap();
    let q = &cfg["quantization"];
    assert_eq!(q["model.layers.0.self_attn.o_proj"], false, "{q}");
    assert_eq!(q["model.layers.1.self_attn.v_proj"]["bits"], 8, "{q}");
}

fn mlx_lm_conversions(model: &str) {
    let Some((original, d, text)) = setup(model, "mlx-lm conversions") else {
        return;
    };
    let cases: [(&str, &[&str], &str); 2] = [
        ("mlx-lm-4bit", &[], "mlx-affine-4bit-g64"),
        ("mlx-lm-8bit", &["--q-bits", "8"], "mlx-affine-8bit-g64"),
    ];
    for (name, args, format) in cases {
        let out = d.path().join(format!("{model}-{name}"));
        common::mlx_lm_convert(&original, &out, args);
        matches_mlx_lm(&original, &out, &text, &[format]);
    }
}

#[test]
fn tiny_llama_quantlens_mlx_conversions_match_mlx_lm() {
    quantlens_conversions("tiny-llama");
}

#[test]
fn tiny_qwen2_quantlens_mlx_conversions_match_mlx_lm() {
    quantlens_conversions("tiny-qwen2");
}

#[test]
fn tiny_llama_mlx_lm_conversions_match_mlx_lm() {
    mlx_lm_conversions("tiny-llama");
}

#[test]
fn tiny_qwen2_mlx_lm_conversions_match_mlx_lm() {
    mlx_lm_conversions("tiny-qwen2");
}
