//! `quantlens convert` on the real MiniLM weights: int8 and MLX output,
//! verified round trips, shards, and refusing to write over the input.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::prelude::*;
use serde_json::Value;

fn convert(out: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args: Vec<std::ffi::OsString> = vec![
        "convert".into(),
        common::minilm().into_os_string(),
        out.as_os_str().to_owned(),
    ];
    args.extend(extra.iter().map(std::ffi::OsString::from));
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|s| s.as_os_str()).collect();
    common::run_json(&refs)
}

/// `inspect --json` of MiniLM with `extra` arguments.
fn inspect(extra: &[&str]) -> Value {
    let model = common::minilm();
    let mut args = vec!["inspect", model.to_str().unwrap()];
    args.extend(extra);
    common::run_json(&args).1
}

/// The rows of `inspect`'s report that quantize, each with the row of
/// `convert`'s report at the same place (which must name the same tensor).
fn quantized_pairs<'a>(inspect: &'a Value, convert: &'a Value) -> Vec<(&'a Value, &'a Value)> {
    let (a, b) = (
        inspect["layers"].as_array().unwrap(),
        convert["layers"].as_array().unwrap(),
    );
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .inspect(|(a, b)| assert_eq!(a["name"], b["name"]))
        .filter(|(a, _)| a["action"] == "quantize")
        .collect()
}

fn verify(out: &Path) -> (i32, Value) {
    common::run_json(&[
        "verify".as_ref(),
        common::minilm().as_os_str(),
        out.as_os_str(),
    ])
}

fn no_partial_files(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!n.ends_with(".partial"), "{n} left behind");
    }
}

#[test]
fn int8_convert_then_verify_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("int8");
    let (code, r) = convert(&out, &["--format", "int8"]);
    assert_eq!(code, 0, "{:?}", r["summary"]["findings"]);
    let len = std::fs::metadata(out.join("model.safetensors"))
        .unwrap()
        .len();
    assert_eq!(len, 58_579_980);
    assert_eq!(r["summary"]["bytes_before"], 90_868_376);
    assert_eq!(r["summary"]["bytes_after"], len);
    assert_eq!(r["summary"]["quantized_layers"], 37);
    for f in [
        "config.json",
        "tokenizer.json",
        "vocab.txt",
        "tokenizer_config.json",
    ] {
        assert!(out.join(f).is_file(), "{f} not copied");
    }
    no_partial_files(&out);
    // verify on its own gives the same report.
    let (code, v) = verify(&out);
    assert_eq!(code, 0);
    assert_eq!(v["layers"], r["layers"]);
    // Python's safetensors package loads it: int8 weights, f32 scales.
    let py = Command::new("python3")
        .arg("-c")
        .arg(
            "import sys; from safetensors.numpy import load_file; t = load_file(sys.argv[1]); \
             q = [k for k in t if k + '.__scale__' in t]; \
             assert len(q) == 37 and all(t[k].dtype.name == 'int8' and t[k + '.__scale__'].dtype.name == 'float32' for k in q); \
             print(len(t))",
        )
        .arg(out.join("model.safetensors"))
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&py.stdout).trim(), "141");
}

/// The MLX output's per-layer figures equal `inspect`'s for the same scheme.
fn mlx_round_trip(bits: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join(format!("mlx{bits}"));
    let (code, r) = convert(
        &out,
        &["--format", "mlx", "--bits", bits, "--group-size", "64"],
    );
    assert_eq!(code, 0, "{:?}", r["summary"]["findings"]);
    no_partial_files(&out);
    let cfg: Value =
        serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["quantization"]["bits"].to_string(), bits);
    assert_eq!(cfg["quantization"]["group_size"], 64);
    assert_eq!(cfg["model_type"], "bert");
    let ins = inspect(&["--scheme", "affine", "--bits", bits, "--policy", "mlx"]);
    let scheme = format!("affine-{bits}bit-g64");
    let pairs = quantized_pairs(&ins, &r);
    for &(a, b) in &pairs {
        assert_eq!(b["scheme"], scheme.as_str());
        assert_eq!(b["dtype"], "U32");
        assert_eq!(a["params"], b["params"]);
        for k in ["mse", "rel_error", "max_abs_error", "cosine", "zero_frac"] {
            let (x, y) = (a[k].as_f64().unwrap(), b[k].as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
                "{} {k}: {x} vs {y}",
                a["name"]
            );
        }
    }
    assert_eq!(pairs.len(), 40);
}

#[test]
fn mlx_8bit_g64_convert_then_verify() {
    mlx_round_trip("8");
}

#[test]
fn mlx_4bit_g64_convert_then_verify() {
    mlx_round_trip("4");
}

#[test]
fn sharded_output_has_an_index_and_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sharded");
    let (code, _) = convert(&out, &["--format", "int8", "--shard-size", "30000000"]);
    assert_eq!(code, 0);
    assert!(out.join("model-00001-of-00003.safetensors").is_file());
    let idx: Value =
        serde_json::from_slice(&std::fs::read(out.join("model.safetensors.index.json")).unwrap())
            .unwrap();
    assert_eq!(idx["weight_map"].as_object().unwrap().len(), 141);
    no_partial_files(&out);
}

#[test]
fn convert_refuses_to_write_into_or_over_its_input() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir(&input).unwrap();
    for f in ["model.safetensors", "config.json"] {
        std::fs::copy(common::minilm().join(f), input.join(f)).unwrap();
    }
    let before: Vec<_> = std::fs::read_dir(&input)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let cases: [(PathBuf, &str); 4] = [
        (input.clone(), "is the input folder"),
        (input.join("sub"), "inside the input folder"),
        (input.join("."), "is the input folder"),
        (tmp.path().to_path_buf(), "contains the input"),
    ];
    for (out, msg) in cases {
        common::quantlens()
            .arg("convert")
            .arg(input.join("model.safetensors"))
            .arg(&out)
            .args(["--format", "int8", "-q"])
            .assert()
            .code(2)
            .stderr(predicates::str::contains(msg));
    }
    let after: Vec<_> = std::fs::read_dir(&input)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after);
    assert!(!input.join("sub").exists());
    // An existing non-empty output is refused too.
    let busy = tmp.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("keep.txt"), "mine").unwrap();
    common::quantlens()
        .arg("convert")
        .arg(&input)
        .arg(&busy)
        .args(["--format", "mlx", "-q"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not empty"));
    assert_eq!(
        std::fs::read_to_string(busy.join("keep.txt")).unwrap(),
        "mine"
    );
}

/// Needs pip `mlx` (0.32.4, installed by `scripts/ensure-tools --python`):
/// real `mx.load` + `mx.dequantize` of our output against quantlens' own
/// dequantized values.
#[test]
fn mlx_output_loads_in_real_mlx_within_one_ulp() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("quantlens");
    for (flag, bits) in [
        ("--bits", "8"),
        ("--bits", "4"),
        ("--mode", "mxfp4"),
        ("--mode", "mxfp8"),
        ("--mode", "nvfp4"),
    ] {
        let out = tmp.path().join(format!("mlx{bits}"));
        let (code, _) = convert(&out, &["--format", "mlx", flag, bits]);
        assert_eq!(code, 0);
        let r = Command::new("python3")
            .arg("scripts/mlx_check_convert.py")
            .arg(common::minilm())
            .arg(&out)
            .arg("--quantlens")
            .arg(&bin)
            .current_dir(common::root())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&r.stdout);
        eprintln!("{flag} {bits}: {}", text.lines().last().unwrap_or(""));
        assert!(
            r.status.success(),
            "{text}\n{}",
            String::from_utf8_lossy(&r.stderr)
        );
        assert!(text.contains("worst difference 0 ulp") || text.contains("worst difference 1 ulp"));
    }
}

/// Needs pip `mlx`: a model quantized by real MLX (`mx.quantize` +
/// `mx.save_safetensors`, the hand-built reference) verifies against the
/// original with the figures of `inspect --scheme affine --policy mlx`.
#[test]
fn model_quantized_by_real_mlx_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ref");
    std::fs::create_dir(&out).unwrap();
    let script = r#"
import sys, json, mlx.core as mx
sys.path.insert(0, 'scripts')
from st_io import read_model
src, out = sys.argv[1], sys.argv[2]
ws = {}
for t in read_model(src):
    a = t.array()
    if t.dtype == 'F32' and len(t.shape) == 2 and t.name.endswith('.weight') and 'norm' not in t.name.lower() and t.shape[1] % 64 == 0:
        q, s, b = mx.quantize(mx.array(t.as_f32()), group_size=64, bits=4)
        m = t.name[:-len('.weight')]
        ws[t.name], ws[m + '.scales'], ws[m + '.biases'] = q, s, b
    else:
        ws[t.name] = mx.array(a)
mx.save_safetensors(out + '/model.safetensors', ws, metadata={'format': 'mlx'})
cfg = json.load(open(src + '/config.json'))
cfg['quantization'] = {'group_size': 64, 'bits': 4}
json.dump(cfg, open(out + '/config.json', 'w'))
"#;
    let r = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(common::minilm())
        .arg(&out)
        .current_dir(common::root())
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let (code, v) = verify(&out);
    assert_eq!(code, 0, "{:?}", v["summary"]["findings"]);
    let q: Vec<&Value> = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["action"] == "quantize")
        .collect();
    assert_eq!(q.len(), 40);
    assert!(q.iter().all(|l| l["scheme"] == "affine-4bit-g64"));
    eprintln!(
        "real-MLX 4-bit g64 reference: {} layers verified, ratio {:.3}",
        q.len(),
        v["summary"]["compression_ratio"]
    );
}

#[test]
fn int8_channel_output_matches_inspect_per_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ch");
    let (code, r) = convert(&out, &["--format", "int8", "--scheme", "int8-channel"]);
    assert_eq!(code, 0);
    let ins = inspect(&["--scheme", "int8-channel"]);
    let pairs = quantized_pairs(&ins, &r);
    for &(a, b) in &pairs {
        assert_eq!(b["scheme"], "int8-channel");
        let (x, y) = (
            a["rel_error"].as_f64().unwrap(),
            b["rel_error"].as_f64().unwrap(),
        );
        assert!((x - y).abs() <= 1e-12 * x, "{}: {x} vs {y}", a["name"]);
    }
    assert_eq!(pairs.len(), 37);
}
