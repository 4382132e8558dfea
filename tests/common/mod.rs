//! Shared helpers for the integration tests: the real model, fixture
//! writers built on the `safetensors` crate, and the Python oracles.
#![allow(dead_code)]

#[cfg(feature = "outputs")]
pub mod outputs;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The real MiniLM model folder beside the repository.
pub fn minilm() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/models/all-MiniLM-L6-v2");
    assert!(
        p.join("model.safetensors").is_file(),
        "MiniLM is expected at {}",
        p.display()
    );
    p
}

/// A path inside the repository.
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Runs a Python script from `scripts/` and returns its stdout; fails the
/// test (never skips it) if Python or numpy is missing.
pub fn python(args: &[&str]) -> String {
    let out = Command::new("python3")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("python3 must be installed (scripts/ensure-tools --python)");
    assert!(
        out.status.success(),
        "python3 {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Writes a safetensors file with the `safetensors` crate from
/// `(name, dtype, shape, little-endian bytes)`.
pub fn write_safetensors(
    path: &Path,
    tensors: &[(&str, safetensors::Dtype, Vec<usize>, Vec<u8>)],
    metadata: Option<Vec<(&str, &str)>>,
) {
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
    safetensors::serialize_to_file(views, meta, path).unwrap();
}

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
