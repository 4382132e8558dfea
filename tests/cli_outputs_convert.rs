//! `verify --outputs` on folders written by `quantlens convert` gives the
//! same figures as `outputs` with the same scheme on the fly, and the
//! `outputs` object is the one `quantlens outputs --json` prints.
#![cfg(feature = "outputs")]

mod common;

use assert_cmd::Command;
use serde_json::Value;

fn json(args: &[&std::ffi::OsStr]) -> Value {
    let out = Command::cargo_bin("quantlens")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

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
    let (p, q) = (
        ea["cosine_mean"].as_f64().unwrap(),
        eb["cosine_mean"].as_f64().unwrap(),
    );
    assert!((p - q).abs() <= 1e-6, "cosine_mean {p} vs {q}");
}

fn converted_matches_on_the_fly(format: &[&str], scheme: &[&str]) {
    let m = common::minilm();
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("conv");
    let mut convert: Vec<&std::ffi::OsStr> = vec![
        "convert".as_ref(),
        m.as_os_str(),
        out.as_os_str(),
        "-q".as_ref(),
    ];
    convert.extend(format.iter().map(std::ffi::OsStr::new));
    Command::cargo_bin("quantlens")
        .unwrap()
        .args(&convert)
        .assert()
        .success();
    let v = json(&[
        "verify".as_ref(),
        m.as_os_str(),
        out.as_os_str(),
        "--outputs".as_ref(),
        "--json".as_ref(),
        "-q".as_ref(),
    ]);
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "outputs".as_ref(),
        m.as_os_str(),
        "--json".as_ref(),
        "-q".as_ref(),
    ];
    args.extend(scheme.iter().map(std::ffi::OsStr::new));
    let o = json(&args);
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
fn inspect_outputs_embeds_the_same_object() {
    let m = common::minilm();
    let i = json(&[
        "inspect".as_ref(),
        m.as_os_str(),
        "--outputs".as_ref(),
        "--json".as_ref(),
        "-q".as_ref(),
    ]);
    let o = json(&[
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
