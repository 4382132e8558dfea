//! `quantlens convert --format mlx` in every MLX mode against real MLX:
//! the written codes, scales and biases equal `mx.quantize`'s bit for bit
//! (mlx 0.32.4), and mixed-precision outputs load in mlx-lm (0.32.2) as
//! the very model mlx-lm's own `convert` makes with the same choices.
//! The MLX checks skip, saying so, when `mlx` / `mlx-lm` cannot be imported.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::prelude::*;
use serde_json::Value;

fn model(name: &str) -> PathBuf {
    let p = common::root().join("../shared/models").join(name);
    assert!(
        p.join("model.safetensors").is_file(),
        "{} missing",
        p.display()
    );
    p
}

/// Runs a Python script of `scripts/`; `None` when it reports (exit 3)
/// that mlx or mlx-lm is not installed.
fn python(args: &[&std::ffi::OsStr]) -> Option<Output> {
    let out = Command::new("python3")
        .args(args)
        .current_dir(common::root())
        .output()
        .expect("python3");
    if out.status.code() == Some(3) {
        eprintln!("SKIPPED: {}", String::from_utf8_lossy(&out.stderr).trim());
        return None;
    }
    Some(out)
}

/// `convert --format mlx ARGS -q --json`, which must succeed (exit 0:
/// written and verified).
fn convert(input: &Path, out: &Path, args: &[&str]) -> Value {
    let mut all = vec!["convert", input.to_str().unwrap(), out.to_str().unwrap()];
    all.extend(["--format", "mlx", "-q", "--json"]);
    all.extend(args);
    serde_json::from_slice(&common::quantlens_stdout(&all)).unwrap()
}

fn tensors(path: &Path) -> Vec<(String, String, Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut v: Vec<_> = st
        .tensors()
        .into_iter()
        .map(|(n, t)| {
            (
                n,
                format!("{:?}", t.dtype()),
                t.shape().to_vec(),
                t.data().to_vec(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn every_mlx_mode_equals_mx_quantize_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(o) = python(&[
        "scripts/mlx_quant_modes.py".as_ref(),
        tmp.path().as_os_str(),
    ]) else {
        return;
    };
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cases: Vec<Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(cases.len(), 12);
    let input = tmp.path().join("in");
    for c in &cases {
        let (mode, bits, g) = (
            c["mode"].as_str().unwrap(),
            c["bits"].to_string(),
            c["group_size"].to_string(),
        );
        let out = tmp.path().join(format!("out-{mode}-{bits}-{g}"));
        let r = convert(
            &input,
            &out,
            &["--mode", mode, "--bits", &bits, "--group-size", &g],
        );
        assert_eq!(r["summary"]["quantized_layers"], 3, "{mode} {bits} {g}");
        let ours = tensors(&out.join("model.safetensors"));
        let reference = tensors(&tmp.path().join("ref").join(c["file"].as_str().unwrap()));
        // Ours holds MLX's tensors plus the 1-D norm, kept as it is.
        let ours: Vec<_> = ours.into_iter().filter(|t| t.0 != "norm.weight").collect();
        assert_eq!(ours.len(), reference.len(), "{mode} {bits} {g}");
        for (a, b) in ours.iter().zip(&reference) {
            assert_eq!((&a.0, &a.1, &a.2), (&b.0, &b.1, &b.2), "{mode} {bits} {g}");
            let diff = a.3.iter().zip(&b.3).filter(|(x, y)| x != y).count();
            assert_eq!(
                diff, 0,
                "{mode} {bits}-bit g{g} {}: {diff} bytes differ",
                a.0
            );
        }
        let cfg: Value =
            serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
        let q = &cfg["quantization"];
        assert_eq!(
            (
                q["mode"].as_str(),
                q["bits"].to_string(),
                q["group_size"].to_string()
            ),
            (Some(mode), bits.clone(), g.clone())
        );
        eprintln!(
            "{mode} {bits}-bit g{g}: {} tensors equal mx.quantize's",
            reference.len()
        );
    }
}

/// Converts `name` with ARGS and checks it with scripts/mlx_lm_check_convert.py.
fn mlx_lm_check(name: &str, args: &[&str]) -> Option<Value> {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("q");
    convert(&model(name), &out, args);
    let mut py: Vec<std::ffi::OsString> = vec![
        "scripts/mlx_lm_check_convert.py".into(),
        model(name).into_os_string(),
        out.clone().into_os_string(),
    ];
    py.extend(args.iter().map(std::ffi::OsString::from));
    let py: Vec<&std::ffi::OsStr> = py.iter().map(|s| s.as_os_str()).collect();
    let o = python(&py)?;
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{name} {args:?}: {text}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: Value = serde_json::from_str(&text[text.find('{').unwrap()..]).unwrap();
    eprintln!(
        "{name} {args:?}: {} quantized layers, logits differ from mlx-lm's own conversion by {}",
        r["quantized_layers"], r["max_logit_difference"]
    );
    Some(r)
}

#[test]
fn mixed_precision_llama_loads_in_mlx_lm_as_its_own_conversion() {
    let args = [
        "--bits",
        "4",
        "--keep",
        "lm_head",
        "--bits-for",
        "*.v_proj=8",
        "--bits-for",
        "model.layers.0.*=6",
    ];
    let Some(r) = mlx_lm_check("tiny-llama", &args) else {
        return;
    };
    let layers = &r["layers"];
    assert_eq!(r["quantized_layers"], 19);
    assert!(layers.get("lm_head").is_none());
    assert_eq!(layers["model.layers.0.self_attn.v_proj"], "affine-8-g64");
    assert_eq!(layers["model.layers.0.mlp.up_proj"], "affine-6-g64");
    assert_eq!(layers["model.layers.2.self_attn.v_proj"], "affine-8-g64");
    assert_eq!(layers["model.layers.2.self_attn.q_proj"], "affine-4-g64");
    assert_eq!(r["max_logit_difference"], 0.0);
}

#[test]
fn every_mode_of_qwen2_loads_in_mlx_lm_as_its_own_conversion() {
    let cases: [&[&str]; 4] = [
        // Plain `mlx_lm.convert -q`: 4-bit affine g64 (down_proj's 160
        // columns do not divide by 64, so both leave it in float).
        &["--mode", "affine"],
        &["--mode", "mxfp4", "--keep", "model.layers.2.mlp.*"],
        &["--mode", "mxfp8", "--keep", "model.layers.2.mlp.*"],
        &["--mode", "nvfp4", "--keep", "model.layers.2.mlp.*"],
    ];
    for args in cases {
        let Some(r) = mlx_lm_check("tiny-qwen2", args) else {
            return;
        };
        // affine: 3 × 6 linear layers and the (tied) embedding; float
        // modes: 3 × 7 and the embedding, minus the 3 kept.
        assert_eq!(r["quantized_layers"], 19, "{args:?}");
        assert_eq!(r["max_logit_difference"], 0.0, "{args:?}");
    }
}

#[test]
fn bad_mixed_choices_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--mode", "mxfp4", "--bits-for", "*=8"],
            "--bits-for needs --mode affine",
        ),
        (
            &["--keep", "no.such.layer"],
            "\"no.such.layer\" matches no tensor",
        ),
        (&["--bits-for", "*.v_proj=7"], "*.v_proj=7"),
        (&["--mode", "nvfp4", "--group-size", "32"], "groups of 16"),
        (&["--mode", "mxfp8", "--bits", "4"], "8-bit codes"),
    ];
    for (k, (args, msg)) in cases.iter().enumerate() {
        let out = tmp.path().join(format!("o{k}"));
        common::quantlens()
            .arg("convert")
            .arg(model("tiny-llama"))
            .arg(&out)
            .args(["--format", "mlx", "-q"])
            .args(*args)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(*msg));
        assert!(!out.exists(), "{args:?} created {}", out.display());
    }
}
