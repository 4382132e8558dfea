//! The CLI on bad and suspicious input: exit 2 with a message naming the
//! file for unreadable structure, exit 1 for error-level findings and
//! `--fail-above`, 0 otherwise. No case may panic.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use std::path::Path;

use assert_cmd::Command;
use common::{f32_bytes, minilm, raw_file, write_safetensors};
use predicates::prelude::*;
use safetensors::Dtype as St;

fn inspect(path: &Path) -> assert_cmd::assert::Assert {
    Command::cargo_bin("quantlens")
        .unwrap()
        .arg("inspect")
        .arg(path)
        .arg("--quiet")
        .timeout(std::time::Duration::from_secs(20))
        .assert()
}

/// A folder with one shard, `shard`, holding [`good_tensor`], and an
/// index whose weight map is `weight_map` (a JSON object).
fn indexed(shard: &str, weight_map: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    write_safetensors(&tmp.path().join(shard), &[good_tensor()], None);
    std::fs::write(
        tmp.path().join("model.safetensors.index.json"),
        format!(r#"{{"weight_map":{weight_map}}}"#),
    )
    .unwrap();
    tmp
}

fn good_tensor() -> (&'static str, St, Vec<usize>, Vec<u8>) {
    (
        "layer.weight",
        St::F32,
        vec![2, 2],
        f32_bytes(&[0.5, -1.0, 0.25, 0.75]),
    )
}

#[test]
fn malformed_files_exit_2_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let valid = r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "shorter than the 8-byte header length"),
        (
            "short",
            vec![1, 2, 3],
            "shorter than the 8-byte header length",
        ),
        (
            "past-end",
            b"\xff\x00\x00\x00\x00\x00\x00\x00{}".to_vec(),
            "runs past the end",
        ),
        (
            "too-large",
            b"\x00\x00\x00\x10\x00\x00\x00\x00{}".to_vec(),
            "exceeds the 100000000 byte limit",
        ),
        ("not-json", raw_file("not json", &[]), "not valid JSON"),
        (
            "not-utf8",
            b"\x04\x00\x00\x00\x00\x00\x00\x00{\"\xff}".to_vec(),
            "not valid UTF-8",
        ),
        (
            "overlap",
            raw_file(
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                &[0; 12],
            ),
            "expected 8",
        ),
        (
            "out-of-bounds",
            raw_file(
                r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#,
                &[0; 16],
            ),
            "expected 0",
        ),
        (
            "size-mismatch",
            raw_file(
                r#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
                &[0; 8],
            ),
            "shape × F32 needs 12",
        ),
        (
            "overflow",
            raw_file(
                r#"{"w":{"dtype":"F32","shape":[18446744073709551615,2],"data_offsets":[0,8]}}"#,
                &[0; 8],
            ),
            "shape product overflows",
        ),
        ("truncated", raw_file(valid, &[0; 5]), "truncated"),
    ];
    for (name, bytes, message) in cases {
        let file = tmp.path().join(format!("{name}.safetensors"));
        std::fs::write(&file, &bytes).unwrap();
        inspect(&file)
            .code(2)
            .stderr(predicate::str::contains(format!("{name}.safetensors")))
            .stderr(predicate::str::contains(message))
            .stderr(predicate::str::contains("panicked").not());
    }
}

#[test]
fn index_naming_a_missing_shard_exits_2_after_reporting_the_rest() {
    let tmp = indexed(
        "model-00001-of-00002.safetensors",
        r#"{"layer.weight":"model-00001-of-00002.safetensors","other.weight":"model-00002-of-00002.safetensors"}"#,
    );
    // The present shard is still analysed and reported; the missing one is
    // a finding, and the exit code says the structure could not be read.
    inspect(tmp.path())
        .code(2)
        .stderr(predicate::str::contains("model-00002-of-00002.safetensors"))
        .stdout(predicate::str::contains("missing_shard"))
        .stdout(predicate::str::contains("model-00002-of-00002.safetensors"));
}

#[test]
fn index_with_path_like_shard_name_exits_2() {
    let tmp = indexed(
        "model.safetensors",
        r#"{"layer.weight":"../model.safetensors"}"#,
    );
    inspect(tmp.path())
        .code(2)
        .stderr(predicate::str::contains("not a plain file name"));
}

#[test]
fn tensor_in_two_shards_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    write_safetensors(&tmp.path().join("a.safetensors"), &[good_tensor()], None);
    write_safetensors(&tmp.path().join("b.safetensors"), &[good_tensor()], None);
    inspect(tmp.path()).code(2).stderr(predicate::str::contains(
        "stored in both a.safetensors and b.safetensors",
    ));
}

#[test]
fn index_entry_missing_from_its_shard_is_an_error_finding() {
    let tmp = indexed(
        "s1.safetensors",
        r#"{"layer.weight":"s1.safetensors","ghost.weight":"s1.safetensors"}"#,
    );
    inspect(tmp.path())
        .code(1)
        .stdout(predicate::str::contains("index_entry_missing"));
}

#[test]
fn nan_weights_exit_1_with_a_finding_and_no_nan_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("nan.safetensors");
    write_safetensors(
        &f,
        &[(
            "bad.weight",
            St::F32,
            vec![2, 2],
            f32_bytes(&[0.5, f32::NAN, f32::INFINITY, 1.0]),
        )],
        None,
    );
    let (code, v) = common::run_json(&[Path::new("inspect"), &f]);
    assert_eq!(code, 1, "{v}");
    let row = &v["layers"][0];
    assert_eq!(
        (row["nan_count"].as_u64(), row["inf_count"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(row["rel_error"].is_null() && row["mse"].is_null());
    let finding = &v["summary"]["findings"][0];
    assert_eq!(finding["code"], "nan_inf");
    assert_eq!(finding["tensor"], "bad.weight");
    assert_eq!(finding["file"], "nan.safetensors");
}

#[test]
fn unknown_dtype_is_a_finding_not_a_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("new.safetensors");
    let header = r#"{"future.weight":{"dtype":"F3_NEW","shape":[2,2],"data_offsets":[0,3]},"layer.weight":{"dtype":"F32","shape":[1,2],"data_offsets":[3,11]}}"#;
    let mut data = vec![1, 2, 3];
    data.extend(f32_bytes(&[0.5, -0.25]));
    std::fs::write(&f, raw_file(header, &data)).unwrap();
    let (code, v) = common::run_json(&[Path::new("inspect"), &f]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["layers"][0]["reason"], "unsupported-dtype");
    assert_eq!(v["summary"]["quantized_layers"], 1);
    let f0 = &v["summary"]["findings"][0];
    assert_eq!(
        (
            f0["code"].as_str(),
            f0["tensor"].as_str(),
            f0["file"].as_str()
        ),
        (
            Some("unsupported_dtype"),
            Some("future.weight"),
            Some("new.safetensors")
        )
    );
    assert!(f0["message"].as_str().unwrap().contains("F3_NEW"));
}

#[test]
fn fail_above_gates_on_relative_error() {
    let m = minilm();
    let run = |limit: &str| {
        Command::cargo_bin("quantlens")
            .unwrap()
            .args(["inspect", "--quiet", "--fail-above", limit])
            .arg(&m)
            .assert()
    };
    run("50%").code(0);
    run("0.05").code(1).stderr(predicate::str::contains(
        "encoder.layer.0.output.dense.weight",
    ));
}

#[test]
fn exports_render_every_row() {
    let m = minilm();
    for (flag, marker) in [
        ("--csv", "name,file,dtype"),
        ("--markdown", "| tensor | dtype"),
        ("--json", "\"quantized_layers\": 37"),
    ] {
        let out = Command::cargo_bin("quantlens")
            .unwrap()
            .args(["inspect", flag])
            .arg(&m)
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(marker), "{flag}");
        assert!(text.contains("pooler.dense.weight"), "{flag}");
    }
    Command::cargo_bin("quantlens")
        .unwrap()
        .arg("inspect")
        .arg(&m)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "104 tensors: 37 quantized (int8-tensor), 67 kept",
        ));
}

#[test]
fn hostile_names_are_escaped_in_the_terminal_table() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("evil.safetensors");
    write_safetensors(
        &f,
        &[(
            "\u{1b}[2J<script>x</script>.weight",
            St::F32,
            vec![1, 2],
            f32_bytes(&[0.5, 1.0]),
        )],
        Some(vec![("k", "\u{1b}]0;pwn\u{7}")]),
    );
    let out = Command::cargo_bin("quantlens")
        .unwrap()
        .arg("inspect")
        .arg(&f)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\u{1b}'), "raw escape reached the terminal");
    assert!(text.contains("\\u{1b}[2J<script>"));
}
