//! Model folders from strangers: links out of the folder, hostile names,
//! empty and odd files, oversized side files, and conversions that must
//! leave nothing behind when they fail. Each case ends with a clear
//! message naming the input, or is refused; none panics.
#![cfg(unix)]

use crate::common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::{f32_bytes, raw_file, write_safetensors};
use safetensors::Dtype as St;
use serde_json::Value;

fn ql() -> Command {
    let mut c = Command::cargo_bin("quantlens").unwrap();
    c.timeout(std::time::Duration::from_secs(60));
    c
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&std::ffi::OsStr]) -> Out {
    let o = ql().args(args).output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

/// A small float model: one quantizable matrix and a bias.
fn model_file(path: &Path) {
    let w: Vec<f32> = (0..64 * 4)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 64.0)
        .collect();
    write_safetensors(
        path,
        &[
            ("l.weight", St::F32, vec![4, 64], f32_bytes(&w)),
            (
                "l.bias",
                St::F32,
                vec![4],
                f32_bytes(&[0.5, -0.5, 0.25, 1.0]),
            ),
        ],
        None,
    );
}

/// Names of everything in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A Hugging Face cache entry: snapshots/rev/FILE -> ../../blobs/HASH.
fn hub_cache(root: &Path) -> PathBuf {
    let entry = root.join("models--org--tiny");
    let snap = entry.join("snapshots/0123abc");
    std::fs::create_dir_all(&snap).unwrap();
    std::fs::create_dir_all(entry.join("blobs")).unwrap();
    model_file(&entry.join("blobs/aaa1"));
    std::fs::write(entry.join("blobs/bbb2"), br#"{"model_type":"bert"}"#).unwrap();
    std::fs::write(entry.join("blobs/ccc3"), br#"{"version":"1.0"}"#).unwrap();
    symlink("../../blobs/aaa1", snap.join("model.safetensors")).unwrap();
    symlink("../../blobs/bbb2", snap.join("config.json")).unwrap();
    symlink("../../blobs/ccc3", snap.join("tokenizer.json")).unwrap();
    snap
}

#[test]
fn hub_cache_layout_works_for_inspect_convert_and_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let snap = hub_cache(tmp.path());
    let r = run(&[os("inspect"), os("--json"), snap.as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["summary"]["quantized_layers"], 1);
    let out = tmp.path().join("out");
    let r = run(&[
        os("convert"),
        snap.as_os_str(),
        out.as_os_str(),
        os("--format"),
        os("int8"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("verified against the input"));
    assert_eq!(
        listing(&out),
        ["config.json", "model.safetensors", "tokenizer.json"]
    );
    let r = run(&[os("verify"), snap.as_os_str(), out.as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn side_files_linked_out_of_the_folder_are_not_copied() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = tmp.path().join("secret.json");
    std::fs::write(&secret, br#"{"token":"hf_SECRET"}"#).unwrap();
    let m = tmp.path().join("m");
    std::fs::create_dir(&m).unwrap();
    model_file(&m.join("model.safetensors"));
    symlink(&secret, m.join("tokenizer_config.json")).unwrap();
    symlink("/proc/self/environ", m.join("special_tokens_map.json")).unwrap();
    std::fs::write(m.join("vocab.txt"), b"\xff\xfe not text").unwrap();
    std::fs::write(m.join("generation_config.json"), b"[1, 2]").unwrap();
    std::fs::write(m.join("tokenizer.json"), br#"{"ok":true}"#).unwrap();
    std::fs::write(m.join("id_rsa"), b"PRIVATE").unwrap();
    let out = tmp.path().join("out");
    let r = convert(&m, &out, "int8");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(listing(&out), ["model.safetensors", "tokenizer.json"]);
    for name in [
        "tokenizer_config.json",
        "special_tokens_map.json",
        "vocab.txt",
        "generation_config.json",
    ] {
        assert!(
            r.stderr.contains(&format!("skipped {name}: ")),
            "{name} not named in: {}",
            r.stderr
        );
    }
    assert!(
        r.stderr.contains("outside the model folder"),
        "{}",
        r.stderr
    );
}

#[test]
fn weight_files_linked_out_of_the_folder_are_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("other.safetensors");
    write_safetensors(
        &outside,
        &[("stolen", St::F32, vec![2], f32_bytes(&[1.0, 2.0]))],
        None,
    );
    let m = tmp.path().join("m");
    std::fs::create_dir(&m).unwrap();
    model_file(&m.join("model.safetensors"));
    symlink(&outside, m.join("extra.safetensors")).unwrap();
    let r = run(&[os("inspect"), os("--json"), m.as_os_str()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(!r.stdout.contains("stolen"));
    let f = v["summary"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "skipped_file")
        .expect("a skipped_file finding");
    assert_eq!(f["file"], "extra.safetensors");
    assert_eq!(f["severity"], "error");

    // Converting such a folder is refused before anything is written.
    let out = tmp.path().join("out");
    let r = convert(&m, &out, "int8");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("extra.safetensors"), "{}", r.stderr);
    assert!(!out.exists());

    // Only a link out: the error names it.
    std::fs::remove_file(m.join("model.safetensors")).unwrap();
    let r = run(&[os("inspect"), m.as_os_str()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("extra.safetensors was skipped"),
        "{}",
        r.stderr
    );
}

/// `quantlens convert INPUT OUT --format FORMAT --quiet`.
fn convert(input: &Path, out: &Path, format: &str) -> Out {
    run(&[
        os("convert"),
        input.as_os_str(),
        out.as_os_str(),
        os("--format"),
        os(format),
        os("--quiet"),
    ])
}

#[test]
fn zero_element_matrix_converts_to_mlx_without_a_huge_allocation() {
    // [0, 2^40] F32: no elements, but one row of its codes would be 4 TiB.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("in")).unwrap();
    let f = tmp.path().join("in/m.safetensors");
    let h = r#"{"l.weight":{"dtype":"F32","shape":[0,1099511627776],"data_offsets":[0,0]}}"#;
    std::fs::write(&f, raw_file(h, &[])).unwrap();
    let r = run(&[os("inspect"), os("--json"), f.as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["layers"][0]["reason"], "empty");
    // Alone, nothing would be quantized: refused before anything is written.
    let out = tmp.path().join("out");
    let r = convert(&f, &out, "mlx");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("m.safetensors: no tensor is quantized"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());

    // Beside a real matrix it is kept as stored and the output verifies.
    let w: Vec<f32> = (0..128).map(|i| i as f32 / 100.0).collect();
    let data = f32_bytes(&w);
    let h = r#"{"e.weight":{"dtype":"F32","shape":[0,1099511627776],"data_offsets":[0,0]},"l.weight":{"dtype":"F32","shape":[2,64],"data_offsets":[0,512]}}"#;
    std::fs::write(&f, raw_file(h, &data)).unwrap();
    let r = convert(&f, &out, "mlx");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("verified against the input"));
    let r = run(&[os("verify"), os("--json"), f.as_os_str(), out.as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn oversized_sha256sums_is_refused_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m");
    std::fs::create_dir(&m).unwrap();
    model_file(&m.join("model.safetensors"));
    let line = format!("{}  model.safetensors\n", "0".repeat(64));
    std::fs::write(m.join("SHA256SUMS"), line.repeat(20_000)).unwrap();
    let r = run(&[os("inspect"), os("--json"), m.as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let f = v["summary"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "bad_sums_file")
        .expect("a bad_sums_file finding");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("larger than 1048576 bytes"),
        "{f}"
    );
}

#[test]
fn error_messages_escape_file_names() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("evil\x1b]0;owned\x07\x1b[2J.safetensors");
    std::fs::write(&f, b"\x02\x00").unwrap();
    let r = run(&[os("inspect"), f.as_os_str()]);
    assert_eq!(r.code, 2);
    assert!(!r.stderr.contains('\x1b'), "{:?}", r.stderr);
    assert!(!r.stderr.contains('\x07'), "{:?}", r.stderr);
    assert!(r.stderr.contains("evil\\u{1b}]0;owned"), "{}", r.stderr);
}

/// Two shards and their index; the second shard's bytes are `second`.
fn two_shards(dir: &Path, second: Vec<u8>) {
    std::fs::create_dir_all(dir).unwrap();
    model_file(&dir.join("model-00001-of-00002.safetensors"));
    std::fs::write(dir.join("model-00002-of-00002.safetensors"), second).unwrap();
    let index = r#"{"weight_map":{"l.weight":"model-00001-of-00002.safetensors","l.bias":"model-00001-of-00002.safetensors","m.weight":"model-00002-of-00002.safetensors"}}"#;
    std::fs::write(dir.join("model.safetensors.index.json"), index).unwrap();
}

#[test]
fn failed_conversions_leave_nothing_and_never_say_verified() {
    let tmp = tempfile::tempdir().unwrap();
    let h = r#"{"m.weight":{"dtype":"F32","shape":[2,64],"data_offsets":[0,512]}}"#;

    // A truncated second shard.
    let m = tmp.path().join("truncated");
    two_shards(&m, raw_file(h, &[0u8; 100]));
    let out = tmp.path().join("out");
    let r = convert(&m, &out, "int8");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!r.stdout.contains("verified"), "{}", r.stdout);
    assert!(
        r.stderr.contains("model-00002-of-00002.safetensors"),
        "{}",
        r.stderr
    );
    assert_eq!(listing(tmp.path()), ["truncated"]);

    // An unknown dtype in the later shard.
    let m = tmp.path().join("unknown");
    let h = r#"{"m.weight":{"dtype":"F6_NEW","shape":[2,64],"data_offsets":[0,96]}}"#;
    two_shards(&m, raw_file(h, &[7u8; 96]));
    let r = convert(&m, &out, "int8");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!r.stdout.contains("verified"), "{}", r.stdout);
    assert!(
        r.stderr
            .contains("model-00002-of-00002.safetensors: tensor \"m.weight\" has dtype \"F6_NEW\""),
        "{}",
        r.stderr
    );
    assert_eq!(listing(tmp.path()), ["truncated", "unknown"]);

    // An existing empty output folder is kept as it was.
    std::fs::create_dir(&out).unwrap();
    let r = convert(&m, &out, "int8");
    assert_eq!(r.code, 2);
    assert!(listing(&out).is_empty());
}

#[test]
fn a_file_without_tensors_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("empty.safetensors");
    std::fs::write(&f, raw_file(r#"{"__metadata__":{"format":"pt"}}"#, &[])).unwrap();
    let r = run(&[os("inspect"), f.as_os_str()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("empty.safetensors: holds no tensors"),
        "{}",
        r.stderr
    );
    let out = tmp.path().join("out");
    let r = convert(&f, &out, "int8");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("empty.safetensors: holds no tensors"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("out"), "{}", r.stderr);
    assert!(!out.exists());
}

#[test]
fn unknown_dtype_with_an_impossible_size_is_an_error_naming_the_tensor() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("odd.safetensors");
    let h = r#"{"x":{"dtype":"F3_NEW","shape":[3],"data_offsets":[0,5]}}"#;
    std::fs::write(&f, raw_file(h, &[1, 2, 3, 4, 5])).unwrap();
    let r = run(&[os("inspect"), f.as_os_str()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("odd.safetensors: tensor \"x\": 5 bytes cannot hold 3 elements"),
        "{}",
        r.stderr
    );
}
