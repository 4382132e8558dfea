//! Download sanity and verify's structural findings: truncated and missing
//! shards, NaN weights, and hand-built broken conversions.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use std::path::Path;
use std::process::Command;

use quantlens::Verification;
use safetensors::Dtype;
use serde_json::Value;

fn finding<'a>(r: &'a Value, code: &str) -> Option<&'a Value> {
    r["summary"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
}

fn sharded(dir: &Path) {
    let out = Command::new("python3")
        .args([
            "scripts/gen_models.py",
            "bf16-shards",
            common::minilm().to_str().unwrap(),
            dir.to_str().unwrap(),
            "--shards",
            "3",
        ])
        .current_dir(common::root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const S2: &str = "model-00002-of-00003.safetensors";

#[test]
fn truncated_shard_is_named_and_the_others_are_analysed() {
    let tmp = tempfile::tempdir().unwrap();
    sharded(tmp.path());
    let (code, whole) = common::report_json(&["inspect", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 0);
    // Real weights in bf16 are never taken for fake-quantized ones.
    assert!(finding(&whole, "fake_quantization").is_none());
    let all = whole["layers"].as_array().unwrap().len();
    let p = tmp.path().join(S2);
    let len = std::fs::metadata(&p).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(len - 1000)
        .unwrap();
    let (code, r) = common::report_json(&["inspect", tmp.path().to_str().unwrap()]);
    assert_eq!(
        code, 2,
        "structural damage exits 2, after the report of the rest"
    );
    let f = finding(&r, "truncated").expect("truncated finding");
    assert_eq!(f["file"], S2);
    let rows = r["layers"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.len() < all);
    assert!(rows.iter().all(|l| l["file"] != S2));
}

#[test]
fn missing_shard_is_named_and_the_others_are_analysed() {
    let tmp = tempfile::tempdir().unwrap();
    sharded(tmp.path());
    std::fs::remove_file(tmp.path().join(S2)).unwrap();
    let (code, r) = common::report_json(&["inspect", tmp.path().to_str().unwrap()]);
    assert_eq!(
        code, 2,
        "structural damage exits 2, after the report of the rest"
    );
    let f = finding(&r, "missing_shard").expect("missing_shard finding");
    assert_eq!(f["file"], S2);
    assert!(!r["layers"].as_array().unwrap().is_empty());
}

#[test]
fn nan_weight_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(common::minilm().join("model.safetensors")).unwrap();
    let hdr = quantlens::read_header("model.safetensors", &bytes).unwrap();
    let t = hdr
        .tensors
        .iter()
        .find(|t| t.name == "encoder.layer.3.intermediate.dense.weight")
        .unwrap();
    let at = t.start as usize + 4 * 1000;
    bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(tmp.path().join("model.safetensors"), &bytes).unwrap();
    let (code, r) = common::report_json(&["inspect", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    let f = finding(&r, "nan_inf").expect("nan_inf finding");
    assert_eq!(f["tensor"], "encoder.layer.3.intermediate.dense.weight");
    assert_eq!(f["file"], "model.safetensors");
    // verify names it too, in the converted model.
    let (code, r) = common::report_json(&[
        "verify",
        common::minilm().to_str().unwrap(),
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        finding(&r, "nan_inf").unwrap()["tensor"],
        "encoder.layer.3.intermediate.dense.weight"
    );
}

// ---- hand-built models, through the library ----

fn codes(r: &quantlens::Report) -> Vec<(String, Option<String>)> {
    r.summary
        .findings
        .iter()
        .map(|f| (f.code.clone(), f.tensor.clone()))
        .collect()
}

#[test]
fn structural_findings_of_a_broken_int8_conversion() {
    let w: Vec<f32> = (0..64).map(|i| (i as f32 - 31.5) / 40.0).collect();
    let orig = common::safetensors_bytes(
        &[
            ("a.weight", Dtype::F32, vec![8, 8], common::f32_bytes(&w)),
            ("b.weight", Dtype::F32, vec![8, 8], common::f32_bytes(&w)),
            ("c.weight", Dtype::F32, vec![8, 8], common::f32_bytes(&w)),
            ("d.weight", Dtype::F32, vec![8, 8], common::f32_bytes(&w)),
            ("e.weight", Dtype::F32, vec![8, 8], common::f32_bytes(&w)),
            ("ids", Dtype::I64, vec![2], vec![0; 16]),
        ],
        None,
    );
    let mut codes8: Vec<u8> = w
        .iter()
        .map(|&x| ((x / (0.7875 / 127.0)).round() as i8) as u8)
        .collect();
    codes8[5] = 0x80; // -128
    let conv = common::safetensors_bytes(
        &[
            ("a.weight", Dtype::I8, vec![8, 8], codes8.clone()),
            (
                "a.weight.__scale__",
                Dtype::F32,
                vec![1],
                common::f32_bytes(&[0.7875 / 127.0]),
            ),
            ("b.weight", Dtype::I8, vec![8, 8], codes8.clone()), // no scale
            ("c.weight", Dtype::I8, vec![8, 8], codes8.clone()),
            (
                "c.weight.__scale__",
                Dtype::F32,
                vec![8],
                common::f32_bytes(&[0.01, 0.01, -0.01, 0.01, 0.01, f32::NAN, 0.01, 0.01]),
            ),
            ("d.weight", Dtype::F32, vec![4, 16], common::f32_bytes(&w)),
            ("ids", Dtype::F32, vec![2], common::f32_bytes(&[0.0, 1.0])),
            (
                "z.weight",
                Dtype::F32,
                vec![2],
                common::f32_bytes(&[0.0, 1.0]),
            ),
        ],
        None,
    );
    let v = Verification::new(common::model(orig, None), common::model(conv, None));
    let r = v.run().unwrap();
    let c = codes(&r);
    for want in [
        ("int8_out_of_range", "a.weight"),
        ("missing_scale", "b.weight"),
        ("bad_scale", "c.weight"),
        ("shape_mismatch", "d.weight"),
        ("missing_tensor", "e.weight"),
        ("unlike_comparison", "ids"),
        ("extra_tensor", "z.weight"),
    ] {
        assert!(
            c.contains(&(want.0.to_string(), Some(want.1.to_string()))),
            "{want:?} not in {c:?}"
        );
    }
    let a = r.layers.iter().find(|l| l.name == "a.weight").unwrap();
    assert!(a.rel_error.unwrap() < 0.05 && a.dtype == "I8");
    let d = r.layers.iter().find(|l| l.name == "d.weight").unwrap();
    assert!(d.rel_error.is_none());
    assert!(r.has_errors());
}

#[test]
fn per_row_scales_and_mlx_without_config_are_recognised() {
    // int8-channel: one scale per row, as [rows, 1].
    let w: Vec<f32> = (0..128)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 300.0)
        .collect();
    let mut q = Vec::new();
    let mut scales = Vec::new();
    for row in w.chunks(64) {
        let s = quantlens::quant::scheme::int8_scale(row.iter().fold(0f32, |m, x| m.max(x.abs())));
        scales.push(s);
        q.extend(
            row.iter()
                .map(|&x| quantlens::quant::scheme::int8_quantize(x, s).0 as u8),
        );
    }
    // MLX 4-bit g64 of the same matrix, with no config: bits inferred.
    let (mut cs, mut ms, mut mb) = (Vec::new(), Vec::new(), Vec::new());
    for g in w.chunks(64) {
        let (s, b) = quantlens::quant::scheme::affine_params(g, 4);
        ms.push(s);
        mb.push(b);
        cs.extend(
            g.iter()
                .map(|&x| quantlens::quant::scheme::affine_quantize(x, s, b, 15.0).0),
        );
    }
    let words: Vec<u8> = quantlens::stored::pack_codes(&cs, 4)
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let orig = common::safetensors_bytes(
        &[
            ("l.weight", Dtype::F32, vec![2, 64], common::f32_bytes(&w)),
            ("m.weight", Dtype::F32, vec![2, 64], common::f32_bytes(&w)),
        ],
        None,
    );
    let conv = common::safetensors_bytes(
        &[
            ("l.weight", Dtype::I8, vec![2, 64], q),
            (
                "l.weight.__scale__",
                Dtype::F32,
                vec![2, 1],
                common::f32_bytes(&scales),
            ),
            ("m.weight", Dtype::U32, vec![2, 8], words),
            ("m.scales", Dtype::F32, vec![2, 1], common::f32_bytes(&ms)),
            ("m.biases", Dtype::F32, vec![2, 1], common::f32_bytes(&mb)),
        ],
        None,
    );
    let r = Verification::new(common::model(orig, None), common::model(conv, None))
        .run()
        .unwrap();
    assert!(r.summary.findings.is_empty(), "{:?}", codes(&r));
    let l = &r.layers[0];
    assert_eq!((l.scheme.as_deref(), l.params), (Some("int8-channel"), 128));
    let m = &r.layers[1];
    assert_eq!(
        (m.scheme.as_deref(), m.params, m.shape.clone()),
        (Some("affine-4bit-g64"), 128, vec![2, 64])
    );
    assert!(m.rel_error.unwrap() < 0.1);
}

#[test]
fn zeroed_shard_header_is_named_and_verify_checks_digests() {
    let tmp = tempfile::tempdir().unwrap();
    sharded(tmp.path());
    // verify a healthy copy against itself, with a wrong expected digest.
    let d = tmp.path().to_str().unwrap();
    let wrong = format!("{S2}={}", "f".repeat(64));
    let (code, r) = common::report_json(&["verify", d, d, "--sha256", &wrong]);
    assert_eq!(code, 1);
    assert_eq!(finding(&r, "sha256_mismatch").unwrap()["file"], S2);
    assert!(r["layers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["rel_error"] == 0.0 || l["rel_error"].is_null()));
    // Zero the first 4 KiB of a shard: the header is garbage.
    let p = tmp.path().join(S2);
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[..4096].fill(0);
    std::fs::write(&p, &bytes).unwrap();
    let (code, r) = common::report_json(&["inspect", d]);
    assert_eq!(code, 2);
    assert_eq!(finding(&r, "bad_header").unwrap()["file"], S2);
    assert!(!r["layers"].as_array().unwrap().is_empty());
}
