//! Inputs the fuzz targets (fuzz/) crashed on, replayed through the same
//! public API as the targets, over in-memory bytes. Each input is in
//! tests/fuzz/, in its target's layout (see fuzz/src/lib.rs): a crash here
//! is a panic or an abort of the test process.

use std::sync::Arc;

use quantlens::sanity::open_tolerant;
use quantlens::{NamedSource, Verification};

fn file(name: &str, bytes: &[u8]) -> NamedSource {
    NamedSource::new(name, Arc::new(bytes.to_vec()))
}

/// fuzz/src/lib.rs's `split`: u16 length prefixes before every part but the last.
fn split(mut data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    for _ in 1..n {
        let len = if data.len() >= 2 {
            let l = usize::from(u16::from_le_bytes([data[0], data[1]]));
            data = &data[2..];
            l.min(data.len())
        } else {
            data = &[];
            0
        };
        let (head, tail) = data.split_at(len);
        parts.push(head);
        data = tail;
    }
    parts.push(data);
    parts
}

/// The `formats` target: verify the converted file against the original.
fn verify(input: &[u8]) -> Result<quantlens::Report, quantlens::Error> {
    let p = split(input, 3);
    let original = open_tolerant(vec![file("model.safetensors", p[0])], None, None)?;
    let config = (!p[2].is_empty()).then_some(p[2]);
    let converted = open_tolerant(vec![file("model.safetensors", p[1])], None, config)?;
    Verification::new(original, converted).run()
}

fn input(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fuzz/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn int8_scale_per_first_axis_of_a_3d_tensor_is_a_bad_scale_not_a_panic() {
    // F32 [2,3,4] against I8 [2,3,4] with a `__scale__` of shape [2]: the
    // decoder reads 6 rows of 4, so 2 scales are not one per row.
    let report = verify(&input("formats-int8-3d-row-scale.bin")).unwrap();
    let codes: Vec<&str> = report
        .summary
        .findings
        .iter()
        .map(|f| f.code.as_str())
        .collect();
    assert!(codes.contains(&"bad_scale"), "{codes:?}");
}
