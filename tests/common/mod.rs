//! Shared helpers for the integration tests: the real model, fixture
//! writers built on the `safetensors` crate, and the Python oracles.
#![allow(dead_code)]

#[cfg(feature = "outputs")]
pub mod outputs;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The real MiniLM model folder beside the repository.
pub fn minilm() -> PathBuf {
    let p = root().join("../shared/models/all-MiniLM-L6-v2");
    assert!(
        p.join("model.safetensors").is_file(),
        "MiniLM is expected at {}",
        p.display()
    );
    p
}

/// The repository's root folder.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a Python script from `scripts/` and returns its stdout; fails the
/// test (never skips it) if Python or numpy is missing.
pub fn python(args: &[&str]) -> String {
    let out = Command::new("python3")
        .args(args)
        .current_dir(root())
        .output()
        .expect("python3 must be installed (scripts/ensure-tools --python)");
    assert!(
        out.status.success(),
        "python3 {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the `quantlens` binary and parses its JSON output; exit 0 or 1 (a
/// gate or findings) is accepted, anything else fails with its stderr.
#[cfg(not(target_arch = "wasm32"))]
pub fn quantlens_json<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(
    args: &[S],
) -> serde_json::Value {
    let out = quantlens().args(args).output().unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "quantlens {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Whether mlx-lm is importable. When it is not, says loudly that `what`
/// is skipped (CI installs it: `scripts/ensure-tools --python`).
pub fn has_mlx_lm(what: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import mlx_lm"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "SKIPPED {what}: mlx-lm is not installed (scripts/ensure-tools --python installs mlx-lm==0.32.2)"
        );
    }
    ok
}

/// Converts `original` into `out` with mlx-lm's own `mlx_lm convert -q`
/// and `extra` arguments (e.g. `--q-bits 8`); returns its log.
pub fn mlx_lm_convert(original: &Path, out: &Path, extra: &[&str]) -> String {
    let run = Command::new("python3")
        .args(["-m", "mlx_lm", "convert", "--hf-path"])
        .arg(original)
        .arg("-q")
        .arg("--mlx-path")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "mlx_lm convert failed: {log}");
    log
}

/// A safetensors file's bytes, serialized by the `safetensors` crate from
/// `(name, dtype, shape, little-endian bytes)`.
#[cfg(not(target_arch = "wasm32"))]
pub fn safetensors_bytes(
    tensors: &[(&str, safetensors::Dtype, Vec<usize>, Vec<u8>)],
    metadata: Option<Vec<(&str, &str)>>,
) -> Vec<u8> {
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, d, s, b)| {
            (
                n.to_string(),
                safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let meta = metadata.map(|m| {
        m.into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    });
    safetensors::serialize(views, meta).unwrap()
}

/// Writes [`safetensors_bytes`] to `path`.
#[cfg(not(target_arch = "wasm32"))]
pub fn write_safetensors(
    path: &Path,
    tensors: &[(&str, safetensors::Dtype, Vec<usize>, Vec<u8>)],
    metadata: Option<Vec<(&str, &str)>>,
) {
    std::fs::write(path, safetensors_bytes(tensors, metadata)).unwrap();
}

/// An in-memory byte source named `name`.
pub fn named(name: &str, bytes: &[u8]) -> quantlens::NamedSource {
    quantlens::NamedSource::new(name, std::sync::Arc::new(bytes.to_vec()))
}

/// `bytes` opened as the model `m.safetensors`, with `config.json` text.
pub fn model(bytes: Vec<u8>, config: Option<&str>) -> quantlens::Model {
    quantlens::Model::open(
        vec![quantlens::NamedSource::new(
            "m.safetensors",
            std::sync::Arc::new(bytes),
        )],
        None,
        config.map(str::as_bytes),
    )
    .unwrap()
}

/// The model in `dir` (`model.safetensors` and `config.json`), as the
/// reference scripts write it.
#[cfg(not(target_arch = "wasm32"))]
pub fn model_dir(dir: &Path) -> quantlens::Model {
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
    model(bytes, Some(&config))
}

/// The values of an F32 tensor of a reference file.
#[cfg(not(target_arch = "wasm32"))]
pub fn f32_values(t: &safetensors::tensor::TensorView) -> Vec<f32> {
    assert_eq!(t.dtype(), safetensors::Dtype::F32);
    t.data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// The `quantlens` binary of this build.
#[cfg(not(target_arch = "wasm32"))]
pub fn quantlens() -> Command {
    use assert_cmd::prelude::*;
    Command::cargo_bin("quantlens").unwrap()
}

/// Runs the `quantlens` binary and returns its stdout; fails the test,
/// with its stderr, unless it exits 0.
#[cfg(not(target_arch = "wasm32"))]
pub fn quantlens_stdout<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) -> Vec<u8> {
    let out = quantlens().args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "quantlens {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `quantlens ARGS --json -q` and returns (exit code, report); fails
/// the test if the command exits 2 (it could not read its input).
#[cfg(not(target_arch = "wasm32"))]
pub fn run_json<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (i32, serde_json::Value) {
    let (code, report, stderr) = json_run(args);
    assert!(code != 2, "{:?}: exit 2: {stderr}", os_args(args));
    (code, report)
}

/// Runs `quantlens ARGS --json -q` and returns (exit code, report), whatever
/// the exit code: the report is printed even on exit 2 (part of the model's
/// structure could not be read).
#[cfg(not(target_arch = "wasm32"))]
pub fn report_json<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (i32, serde_json::Value) {
    let (code, report, _) = json_run(args);
    (code, report)
}

/// Exit code, report and stderr of `quantlens ARGS --json -q`; fails the
/// test, with the stderr, if no report was printed.
#[cfg(not(target_arch = "wasm32"))]
fn json_run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (i32, serde_json::Value, String) {
    let out = quantlens()
        .args(args)
        .arg("--json")
        .arg("-q")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{:?}: no JSON report: {stderr}", os_args(args)));
    (out.status.code().unwrap(), report, stderr)
}

#[cfg(not(target_arch = "wasm32"))]
fn os_args<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Vec<&std::ffi::OsStr> {
    args.iter().map(|a| a.as_ref()).collect()
}

/// Row `l` of a JSON report is stored as MLX affine, 4 bits, groups of 64.
pub fn assert_mlx_affine_4bit_g64(l: &serde_json::Value) {
    let s = &l["stored"];
    assert_eq!(
        (&s["format"], &s["mode"], &s["bits"], &s["group_size"]),
        (&"mlx".into(), &"affine".into(), &4.into(), &64.into()),
        "{}",
        l["name"]
    );
}

/// The error figures of a quantized row in a JSON report.
pub const ERROR_FIGURES: [&str; 9] = [
    "mse",
    "rmse",
    "rel_error",
    "max_abs_error",
    "sqnr_db",
    "cosine",
    "zero_frac",
    "clip_frac",
    "outlier_ratio",
];

/// f32 values as little-endian bytes.
pub fn f32_bytes(xs: &[f32]) -> Vec<u8> {
    xs.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A raw safetensors file from a header string and data bytes.
pub fn raw_file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(header.as_bytes());
    v.extend_from_slice(data);
    v
}

/// Relative difference, with an absolute floor for values near zero.
pub fn rel_diff(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-30)
}
