//! Inputs the fuzz targets (fuzz/) crashed on, replayed through the same
//! public API as the targets, over in-memory bytes. Each input is in
//! tests/fuzz/, in its target's layout (see fuzz/src/lib.rs): a crash here
//! is a panic or an abort of the test process.

use crate::common;

use quantlens::format::open::open_tolerant;
use quantlens::Verification;

/// The fuzz targets' own helpers, so that an input is split exactly as
/// its target split it.
#[path = "../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod fuzz_input;

use fuzz_input::split;

/// The `formats` target: verify the converted file against the original.
fn verify(input: &[u8]) -> Result<quantlens::Report, quantlens::Error> {
    let p = split(input, 3);
    let original = open_tolerant(vec![common::named("model.safetensors", p[0])], None, None)?;
    let config = (!p[2].is_empty()).then_some(p[2]);
    let converted = open_tolerant(vec![common::named("model.safetensors", p[1])], None, config)?;
    Verification::new(original, converted).run()
}

fn input(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fuzz/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn int8_tensor_with_3_axes_and_a_scale_per_first_axis_slice_does_not_panic() {
    // F32 [2,3,4] against I8 [2,3,4] with a `__scale__` of shape [2]:
    // decoding once indexed the scales by rows of the last axis (6 of them).
    // The scale is either read as one per first-axis slice (the row is
    // compared) or refused as a bad_scale finding; never a panic.
    let report = verify(&input("formats-int8-3d-row-scale.bin")).unwrap();
    let flagged = report
        .summary
        .findings
        .iter()
        .any(|f| f.code == "bad_scale");
    let compared = report
        .layers
        .iter()
        .any(|l| l.name == "l.weight" && l.rel_error.is_some());
    assert!(flagged || compared, "{:?}", report.summary.findings);
}
