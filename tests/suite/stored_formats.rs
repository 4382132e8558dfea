//! Stored quantized formats recognised by `inspect` and read back by
//! `verify`, from hand-built byte literals: int8 scales of every shape,
//! MLX, FP8 and packed formats, and their broken variants (each a finding
//! naming the tensor, never a panic).
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use common::{f32_bytes, raw_file};
use quantlens::{Action, Inspection, Policy, Report, Scheme, Verification};

/// A safetensors file from `(name, dtype, shape, bytes)`, offsets in order.
fn st(tensors: &[(&str, &str, &[u64], Vec<u8>)]) -> Vec<u8> {
    let mut header = String::from("{");
    let mut data = Vec::new();
    for (k, (name, dtype, shape, bytes)) in tensors.iter().enumerate() {
        let start = data.len();
        data.extend_from_slice(bytes);
        header.push_str(&format!(
            "{}\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape:?},\"data_offsets\":[{start},{}]}}",
            if k > 0 { "," } else { "" },
            data.len()
        ));
    }
    header.push('}');
    raw_file(&header, &data)
}

fn inspect(bytes: Vec<u8>, config: Option<&str>) -> Report {
    Inspection::new(
        common::model(bytes, config),
        Scheme::Int8Tensor,
        &Policy::default_rule(),
    )
    .run()
    .unwrap()
}

fn has(r: &Report, code: &str, tensor: &str) -> bool {
    r.summary
        .findings
        .iter()
        .any(|f| f.code == code && f.tensor.as_deref() == Some(tensor))
}

fn i8s(xs: &[i8]) -> Vec<u8> {
    xs.iter().map(|&x| x as u8).collect()
}

#[test]
fn int8_three_dims_with_a_scale_per_first_dimension_slice() {
    let codes: Vec<i8> = (0..24).map(|k| k as i8 - 12).collect();
    let scales = [0.5f32, 0.25];
    let orig: Vec<f32> = codes
        .iter()
        .enumerate()
        .map(|(k, &q)| q as f32 * scales[k / 12])
        .collect();
    let o = st(&[("w", "F32", &[2, 3, 4], f32_bytes(&orig))]);
    let c = st(&[
        ("w", "I8", &[2, 3, 4], i8s(&codes)),
        ("w.__scale__", "F32", &[2], f32_bytes(&scales)),
    ]);
    let r = Verification::new(
        common::model(o.clone(), None),
        common::model(c.clone(), None),
    )
    .run()
    .unwrap();
    assert!(r.summary.findings.is_empty(), "{:?}", r.summary.findings);
    let row = &r.layers[0];
    assert_eq!(row.scheme.as_deref(), Some("int8-channel"));
    assert_eq!(
        row.max_abs_error,
        Some(0.0),
        "every slice uses its own scale"
    );
    // inspect: one stored row, no companion row.
    let r = inspect(c, None);
    assert_eq!(r.layers.len(), 1);
    let row = &r.layers[0];
    assert_eq!((row.action, row.params), (Action::Stored, 24));
    assert_eq!(row.min, Some(-6.0));
    assert_eq!(row.max, Some(11.0 * 0.25));
    assert!(row.rel_error.is_none());
    let s = row.stored.as_ref().unwrap();
    assert_eq!((s.format.as_str(), s.mode.as_str()), ("int8", "per-row"));
    assert_eq!(s.bits_per_weight, 8.0 * (24.0 + 8.0) / 24.0);
}

#[test]
fn int8_scale_shapes_that_fit_no_rule_are_named() {
    // A 1-D tensor with one scale per element, and [2,3,4] with 6 scales.
    let c = st(&[
        ("v", "I8", &[5], i8s(&[1, 2, 3, 4, 5])),
        ("v.__scale__", "F32", &[5], f32_bytes(&[1.0; 5])),
        ("w", "I8", &[2, 3, 4], vec![1; 24]),
        ("w.__scale__", "F32", &[6], f32_bytes(&[1.0; 6])),
    ]);
    let o = st(&[
        ("v", "F32", &[5], f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0])),
        ("w", "F32", &[2, 3, 4], f32_bytes(&[1.0; 24])),
    ]);
    let r = Verification::new(common::model(o, None), common::model(c.clone(), None))
        .run()
        .unwrap();
    assert!(has(&r, "bad_scale", "v") && has(&r, "bad_scale", "w"));
    let r = inspect(c, None);
    assert!(has(&r, "bad_scale", "v") && has(&r, "bad_scale", "w"));
    assert_eq!(r.layers.len(), 2, "the scales are no rows of their own");
    assert!(r
        .layers
        .iter()
        .all(|l| l.action == Action::Stored && l.stored.as_ref().unwrap().mode == "unreadable"));
}

#[test]
fn int8_bad_scales_and_missing_scales_are_named() {
    let c = st(&[
        ("a", "I8", &[2, 2], i8s(&[1, -2, 3, -4])),
        ("a.__scale__", "F32", &[2], f32_bytes(&[f32::NAN, 0.1])),
        ("b", "I8", &[2, 2], i8s(&[1, -2, 3, -4])),
        ("c.__scale__", "F32", &[1], f32_bytes(&[0.1])),
    ]);
    let r = inspect(c, None);
    assert!(has(&r, "bad_scale", "a"), "{:?}", r.summary.findings);
    assert!(has(&r, "missing_scale", "b"));
    assert!(has(&r, "orphan_companion", "c.__scale__"));
    let orphan = r.layers.iter().find(|l| l.name == "c.__scale__").unwrap();
    assert_eq!(orphan.reason.as_deref(), Some("companion"));
}

/// A 2×64 MLX affine 4-bit g64 layer: codes 0..15 repeating, scale 0.5
/// and bias -1 per row.
fn mlx_layer(scales_shape: &[u64], scale: f32) -> Vec<u8> {
    let codes: Vec<u32> = (0..128).map(|k| k % 16).collect();
    let words: Vec<u8> = quantlens::stored::pack_codes(&codes, 4)
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    let n: u64 = scales_shape.iter().product();
    st(&[
        (
            "l.biases",
            "F32",
            scales_shape,
            f32_bytes(&vec![-1.0; n as usize]),
        ),
        (
            "l.scales",
            "F32",
            scales_shape,
            f32_bytes(&vec![scale; n as usize]),
        ),
        ("l.weight", "U32", &[2, 8], words),
    ])
}

const MLX4: &str = r#"{"quantization":{"group_size":64,"bits":4}}"#;

#[test]
fn mlx_affine_layer_is_one_stored_row() {
    let r = inspect(mlx_layer(&[2, 1], 0.5), Some(MLX4));
    assert!(r.summary.findings.is_empty(), "{:?}", r.summary.findings);
    assert_eq!(r.layers.len(), 1);
    let l = &r.layers[0];
    assert_eq!(
        (l.name.as_str(), l.shape.clone()),
        ("l.weight", vec![2, 64])
    );
    assert_eq!((l.min, l.max), (Some(-1.0), Some(6.5)));
    let s = l.stored.as_ref().unwrap();
    assert_eq!(
        (s.mode.as_str(), s.bits, s.group_size),
        ("affine", Some(4), Some(64))
    );
    assert_eq!(s.bits_per_weight, 5.0);
    assert_eq!(r.summary.stored_layers, 1);
    assert_eq!(r.summary.bits_per_weight, Some(5.0));
    let text = quantlens::report::export::stored_summary(&r).unwrap();
    assert_eq!(
        text,
        "1 layer stored as MLX affine 4-bit g64 (5.0 bits/weight), 0 float: 80 B; 512 B as f32, 256 B as f16"
    );
}

#[test]
fn mlx_broken_companions_are_named_never_a_panic() {
    // Scales of the wrong shape (which would fit 2-bit codes).
    let r = inspect(mlx_layer(&[2, 2], 0.5), Some(MLX4));
    assert!(
        has(&r, "bits_mismatch", "l.weight"),
        "{:?}",
        r.summary.findings
    );
    let r = inspect(mlx_layer(&[2, 3], 0.5), Some(MLX4));
    assert!(
        has(&r, "shape_mismatch", "l.weight"),
        "{:?}",
        r.summary.findings
    );
    assert_eq!(r.layers.len(), 1);
    // NaN scales.
    let r = inspect(mlx_layer(&[2, 1], f32::NAN), Some(MLX4));
    assert!(has(&r, "bad_scale", "l.weight"), "{:?}", r.summary.findings);
    // Bits that disagree with the config: the shapes hold 4-bit codes.
    let r = inspect(
        mlx_layer(&[2, 1], 0.5),
        Some(r#"{"quantization":{"group_size":64,"bits":8}}"#),
    );
    assert!(
        has(&r, "bits_mismatch", "l.weight"),
        "{:?}",
        r.summary.findings
    );
    // Missing scales.
    let words = vec![0u8; 64];
    let c = st(&[
        ("l.biases", "F32", &[2, 1], f32_bytes(&[0.0, 0.0])),
        ("l.weight", "U32", &[2, 8], words),
    ]);
    let r = inspect(c, Some(MLX4));
    assert!(
        has(&r, "missing_scale", "l.weight"),
        "{:?}",
        r.summary.findings
    );
    assert_eq!(r.layers.len(), 1, "the biases are part of the layer");
    // Scales with no weight.
    let c = st(&[
        ("k.scales", "F32", &[2, 1], f32_bytes(&[1.0, 1.0])),
        ("k.biases", "F32", &[2, 1], f32_bytes(&[0.0, 0.0])),
    ]);
    let r = inspect(c, Some(MLX4));
    assert!(has(&r, "orphan_companion", "k.scales"));
    assert!(r.layers.iter().all(|l| l.action == Action::Keep));
}

#[test]
fn mlx_bits_disagreeing_with_the_config_are_named() {
    // 8-bit g32 shapes: 2×64 → 16 words per row, 2 groups; config says 4-bit g32.
    let words = vec![0u8; 2 * 16 * 4];
    let c = st(&[
        ("l.biases", "F32", &[2, 2], f32_bytes(&[0.0; 4])),
        ("l.scales", "F32", &[2, 2], f32_bytes(&[1.0; 4])),
        ("l.weight", "U32", &[2, 16], words),
    ]);
    let r = inspect(c, Some(r#"{"quantization":{"group_size":32,"bits":4}}"#));
    assert!(
        has(&r, "bits_mismatch", "l.weight"),
        "{:?}",
        r.summary.findings
    );
}

#[test]
fn fp8_block_and_per_tensor_scales() {
    // 3×3 E4M3 ones (0x38) in 2×2 blocks.
    let cfg = r#"{"quantization_config":{"quant_method":"fp8","weight_block_size":[2,2]}}"#;
    let c = st(&[
        ("a.weight", "F8_E4M3", &[3, 3], vec![0x38; 9]),
        (
            "a.weight_scale_inv",
            "F32",
            &[2, 2],
            f32_bytes(&[1.0, 2.0, 3.0, 4.0]),
        ),
        ("b.input_scale", "F32", &[], f32_bytes(&[1.0])),
        ("b.weight", "F8_E4M3", &[2, 2], vec![0x38; 4]),
        ("b.weight_scale", "F32", &[], f32_bytes(&[0.5])),
        ("c.weight", "F8_E4M3", &[3, 3], vec![0x38; 9]),
        ("c.weight_scale_inv", "F32", &[3, 3], f32_bytes(&[1.0; 9])),
    ]);
    let r = inspect(c, Some(cfg));
    let names: Vec<&str> = r.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["a.weight", "b.weight", "c.weight"]);
    let a = &r.layers[0];
    assert_eq!((a.min, a.max, a.mean), (Some(1.0), Some(4.0), Some(2.0)));
    assert_eq!(a.stored.as_ref().unwrap().mode, "block 2x2");
    assert_eq!((r.layers[1].min, r.layers[1].max), (Some(0.5), Some(0.5)));
    assert!(has(&r, "bad_scale", "c.weight"), "{:?}", r.summary.findings);
}

#[test]
fn gptq_awq_and_compressed_tensors_are_recognised_not_read() {
    // GPTQ 4-bit g64: in 128, out 8 → qweight [16, 8], qzeros [2, 1], scales [2, 8], g_idx [128].
    let c = st(&[
        ("g.g_idx", "I32", &[128], vec![0; 512]),
        ("g.qweight", "I32", &[16, 8], vec![0; 512]),
        ("g.qzeros", "I32", &[2, 1], vec![0; 8]),
        ("g.scales", "F16", &[2, 8], vec![0; 32]),
        // AWQ 4-bit g64: qweight [128, 1].
        ("a.qweight", "I32", &[128, 1], vec![0; 512]),
        ("a.qzeros", "I32", &[2, 1], vec![0; 8]),
        ("a.scales", "F16", &[2, 8], vec![0; 32]),
        // compressed-tensors 4-bit g32: [8, 64] packed as [8, 8].
        ("p.weight_packed", "I32", &[8, 8], vec![0; 256]),
        ("p.weight_scale", "BF16", &[8, 2], vec![0; 32]),
        ("p.weight_shape", "I64", &[2], vec![0; 16]),
    ]);
    let r = inspect(c, None);
    type Row = (String, String, Vec<u64>, Option<u8>, Option<u64>);
    let rows: Vec<Row> = r
        .layers
        .iter()
        .map(|l| {
            let s = l.stored.as_ref().unwrap();
            (
                l.name.clone(),
                s.format.clone(),
                l.shape.clone(),
                s.bits,
                s.group_size,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "g.weight".into(),
                "gptq".into(),
                vec![8, 128],
                Some(4),
                Some(64)
            ),
            (
                "a.weight".into(),
                "awq".into(),
                vec![8, 128],
                Some(4),
                Some(64)
            ),
            (
                "p.weight".into(),
                "compressed-tensors".into(),
                vec![8, 64],
                Some(4),
                Some(32)
            ),
        ]
    );
    assert!(r
        .layers
        .iter()
        .all(|l| !l.stored.as_ref().unwrap().dequantized && l.min.is_none()));
}

#[test]
fn bitsandbytes_4_and_8_bit_are_recognised_not_read() {
    let c = st(&[
        // NF4 with double quantization: 8 × 32 = 256 codes in 128 bytes,
        // blocks of 64 (absmax itself in U8 codes).
        ("n.weight", "U8", &[128, 1], vec![0; 128]),
        ("n.weight.absmax", "U8", &[4], vec![0; 4]),
        ("n.weight.nested_absmax", "F32", &[1], vec![0; 4]),
        ("n.weight.nested_quant_map", "F32", &[256], vec![0; 1024]),
        ("n.weight.quant_map", "F32", &[16], vec![0; 64]),
        (
            "n.weight.quant_state.bitsandbytes__nf4",
            "U8",
            &[2],
            b"{}".to_vec(),
        ),
        // FP4 without it: blocks of 32.
        ("f.weight", "U8", &[64, 1], vec![0; 64]),
        ("f.weight.absmax", "F32", &[4], vec![0; 16]),
        ("f.weight.quant_map", "F32", &[16], vec![0; 64]),
        (
            "f.weight.quant_state.bitsandbytes__fp4",
            "U8",
            &[2],
            b"{}".to_vec(),
        ),
        // LLM.int8: [4, 8] codes, one SCB per row.
        ("e.SCB", "F32", &[4], vec![0; 16]),
        ("e.weight", "I8", &[4, 8], vec![0; 32]),
        ("e.weight_format", "U8", &[], vec![0]),
    ]);
    let r = inspect(c, None);
    type Row = (String, String, String, Vec<u64>, Option<u8>, Option<u64>);
    let rows: Vec<Row> = r
        .layers
        .iter()
        .map(|l| {
            let s = l.stored.as_ref().unwrap();
            let g = s.group_size;
            (
                l.name.clone(),
                s.format.clone(),
                s.mode.clone(),
                l.shape.clone(),
                s.bits,
                g,
            )
        })
        .collect();
    let row = |n: &str, m: &str, shape: Vec<u64>, b, g| {
        (
            n.to_string(),
            "bitsandbytes".to_string(),
            m.to_string(),
            shape,
            Some(b),
            g,
        )
    };
    assert_eq!(
        rows,
        [
            row("n.weight", "nf4", vec![256], 4, Some(64)),
            row("f.weight", "fp4", vec![128], 4, Some(32)),
            row("e.weight", "int8 per-row", vec![4, 8], 8, None),
        ]
    );
    assert!(r.summary.findings.is_empty(), "{:?}", r.summary.findings);

    // Broken: no absmax, blocks that do not divide, an SCB per column, and
    // an SCB with no weight.
    let c = st(&[
        ("a.weight", "U8", &[8, 1], vec![0; 8]),
        (
            "a.weight.quant_state.bitsandbytes__nf4",
            "U8",
            &[2],
            b"{}".to_vec(),
        ),
        ("b.weight", "U8", &[8, 1], vec![0; 8]),
        ("b.weight.absmax", "F32", &[3], vec![0; 12]),
        (
            "b.weight.quant_state.bitsandbytes__nf4",
            "U8",
            &[2],
            b"{}".to_vec(),
        ),
        ("c.SCB", "F32", &[8], vec![0; 32]),
        ("c.weight", "I8", &[4, 8], vec![0; 32]),
        ("d.SCB", "F32", &[4], vec![0; 16]),
    ]);
    let r = inspect(c, None);
    assert!(has(&r, "missing_companion", "a.weight"));
    assert!(has(&r, "shape_mismatch", "b.weight"));
    assert!(has(&r, "bad_scale", "c.weight"));
    assert!(has(&r, "orphan_companion", "d.SCB"));
    // An I8 weight with neither SCB nor __scale__ is still int8 missing its scale.
    let r = inspect(st(&[("w", "I8", &[4], vec![0; 4])]), None);
    assert!(has(&r, "missing_scale", "w"));
}

mod arbitrary {
    use super::*;
    use proptest::prelude::*;

    const DTYPES: &[(&str, usize)] = &[
        ("I8", 1),
        ("U8", 1),
        ("U32", 4),
        ("I32", 4),
        ("F32", 4),
        ("F16", 2),
        ("F8_E4M3", 1),
    ];
    const NAMES: &[&str] = &[
        "l.weight",
        "l.scales",
        "l.biases",
        "l.weight.__scale__",
        "l.weight_scale",
        "l.weight_scale_inv",
        "l.qweight",
        "l.qzeros",
        "l.weight_packed",
        "l.weight_zero_point",
        "l.weight.absmax",
        "l.weight.quant_state.bitsandbytes__nf4",
        "l.SCB",
        "l.weight_scale_2",
        "l.weight_global_scale",
        "l.input_scale",
        "l_blocks",
        "l_scales",
        "l.q_weight",
        "l.q_invperm",
        "l.trellis",
        "l.suh",
    ];
    const CONFIGS: &[&str] = &[
        "{}",
        r#"{"quantization":{"group_size":32,"bits":4}}"#,
        r#"{"quantization":{"group_size":32,"bits":4,"mode":"mxfp4"}}"#,
        r#"{"quantization":{"group_size":16,"bits":4,"mode":"nvfp4","l":{"bits":3}}}"#,
        r#"{"quantization_config":{"quant_method":"fp8","weight_block_size":[2,3]}}"#,
        r#"{"quantization_config":{"quant_method":"gptq","bits":4,"group_size":32}}"#,
    ];

    fn tensor() -> impl Strategy<Value = (usize, usize, Vec<u64>, Vec<u8>)> {
        (
            0..NAMES.len(),
            0..DTYPES.len(),
            prop::collection::vec(0u64..9, 0..4),
            any::<u64>(),
        )
            .prop_map(|(n, d, shape, seed)| {
                let len = shape.iter().product::<u64>() as usize * DTYPES[d].1;
                let bytes = (0..len)
                    .map(|k| (seed.rotate_left(k as u32 % 64) >> 3) as u8)
                    .collect();
                (n, d, shape, bytes)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Any mix of quantized-looking names, dtypes and shapes gives rows
        /// and findings, never a panic, in inspect and in verify.
        #[test]
        fn recognition_and_decoding_never_panic(
            ts in prop::collection::vec(tensor(), 1..6),
            cfg in 0..CONFIGS.len(),
        ) {
            let mut seen = std::collections::HashSet::new();
            let ts: Vec<_> = ts.into_iter().filter(|t| seen.insert(t.0)).collect();
            let list: Vec<(&str, &str, &[u64], Vec<u8>)> = ts
                .iter()
                .map(|(n, d, s, b)| (NAMES[*n], DTYPES[*d].0, s.as_slice(), b.clone()))
                .collect();
            let bytes = st(&list);
            let r = inspect(bytes.clone(), Some(CONFIGS[cfg]));
            prop_assert!(r.layers.len() <= list.len());
            let v = Verification::new(common::model(bytes.clone(), Some(CONFIGS[cfg])), common::model(bytes, Some(CONFIGS[cfg])));
            let _ = v.run();
        }
    }
}

#[test]
fn byte_stored_fp4_and_compressed_tensors_int8_broken_variants_are_named() {
    let c = st(&[
        // gpt-oss blocks without scales, and with blocks of 8 bytes.
        ("a_blocks", "U8", &[2, 1, 16], vec![0; 32]),
        ("b_blocks", "U8", &[2, 1, 8], vec![0; 16]),
        ("b_scales", "U8", &[2, 1], vec![127; 2]),
        // NVFP4 with one scale too few, and a global scale of two values.
        ("c.weight", "U8", &[2, 16], vec![0; 32]),
        ("c.weight_scale", "F8_E4M3", &[2, 1], vec![0x38; 2]),
        ("c.weight_scale_2", "F32", &[], f32_bytes(&[1.0])),
        ("d.weight_packed", "U8", &[2, 8], vec![0; 16]),
        ("d.weight_scale", "F8_E4M3", &[2, 1], vec![0x38; 2]),
        ("d.weight_global_scale", "F32", &[2], f32_bytes(&[1.0, 2.0])),
        // A zero global scale: read, and counted as a bad scale.
        ("e.weight_packed", "U8", &[1, 8], vec![0x21; 8]),
        ("e.weight_scale", "F8_E4M3", &[1, 1], vec![0x38]),
        ("e.weight_global_scale", "F32", &[1], f32_bytes(&[0.0])),
        // compressed-tensors int8: no scale; with a zero point; per group
        // of 2 (sized, not read); a scale per column (fits nothing).
        ("f.weight", "I8", &[2, 4], vec![0; 8]),
        ("g.weight", "I8", &[2, 4], vec![0; 8]),
        ("g.weight_scale", "F32", &[2, 1], f32_bytes(&[0.1, 0.1])),
        ("g.weight_zero_point", "I8", &[2, 1], vec![0; 2]),
        ("h.weight", "I8", &[2, 4], vec![0; 8]),
        ("h.weight_scale", "F32", &[2, 2], f32_bytes(&[0.1; 4])),
        ("k.weight", "I8", &[2, 4], vec![0; 8]),
        ("k.weight_scale", "F32", &[4], f32_bytes(&[0.1; 4])),
    ]);
    let r = inspect(c, None);
    let f = &r.summary.findings;
    assert!(has(&r, "missing_scale", "a_blocks"), "{f:?}");
    assert!(has(&r, "shape_mismatch", "b_blocks"), "{f:?}");
    assert!(has(&r, "shape_mismatch", "c.weight"), "{f:?}");
    assert!(has(&r, "shape_mismatch", "d.weight_packed"), "{f:?}");
    assert!(has(&r, "missing_scale", "f.weight"), "{f:?}");
    let msg = &f
        .iter()
        .find(|x| x.tensor.as_deref() == Some("f.weight"))
        .unwrap()
        .message;
    assert!(
        msg.contains("f.weight_scale") && msg.contains("f.weight.__scale__"),
        "{msg}"
    );
    assert!(has(&r, "bad_scale", "k.weight"), "{f:?}");
    let row = |n: &str| r.layers.iter().find(|l| l.name == n).unwrap();
    let e = row("e.weight").stored.as_ref().unwrap();
    assert!(e.dequantized && e.bad_scales == 1, "{e:?}");
    assert!(has(&r, "bad_scale", "e.weight"), "{f:?}");
    for (n, group) in [("g.weight", None), ("h.weight", Some(2))] {
        let s = row(n).stored.as_ref().unwrap();
        assert_eq!(
            (s.format.as_str(), s.bits, s.group_size, s.dequantized),
            ("compressed-tensors", Some(8), group, false),
            "{n}"
        );
    }
    // Companions are never rows of their own, nor orphans.
    assert!(r
        .layers
        .iter()
        .all(|l| !l.name.contains("scale") && !l.name.ends_with("zero_point")));
    assert!(!f.iter().any(|x| x.code == "orphan_companion"), "{f:?}");
}

#[test]
fn exllama_exl2_and_exl3_are_recognised_not_read() {
    let c = st(&[
        // EXL2: 256 inputs at 4.5 bits on average (36 packed rows), 64 outputs.
        ("a.q_weight", "I32", &[36, 64], vec![0; 36 * 64 * 4]),
        ("a.q_invperm", "I16", &[256], vec![0; 512]),
        ("a.q_scale", "I32", &[8, 8], vec![0; 256]),
        ("a.q_scale_max", "F16", &[8], vec![0; 16]),
        ("a.q_groups", "I16", &[16], vec![0; 32]),
        // EXL3: [in/16, out/16, 16·K] at K = 3, and at K = 2.5 (16·K + 8).
        ("b.trellis", "I16", &[4, 2, 48], vec![0; 4 * 2 * 48 * 2]),
        ("b.suh", "F16", &[64], vec![0; 128]),
        ("b.svh", "F16", &[32], vec![0; 64]),
        ("c.trellis", "I16", &[4, 2, 40], vec![0; 4 * 2 * 40 * 2]),
        ("c.su", "I16", &[4], vec![0; 8]),
        ("c.sv", "I16", &[2], vec![0; 4]),
        ("c.mul1", "I32", &[], vec![0; 4]),
    ]);
    let r = inspect(c, None);
    assert!(r.summary.findings.is_empty(), "{:?}", r.summary.findings);
    type Row = (String, Vec<u64>, String, String, Option<u8>, bool, f64);
    let rows: Vec<Row> = r
        .layers
        .iter()
        .map(|l| {
            let s = l.stored.as_ref().unwrap();
            let bpw = (s.bits_per_weight * 1000.0).round() / 1000.0;
            (
                l.name.clone(),
                l.shape.clone(),
                s.format.clone(),
                s.mode.clone(),
                s.bits,
                s.dequantized,
                bpw,
            )
        })
        .collect();
    let row = |n: &str, shape: Vec<u64>, f: &str, m: &str, b, bpw| {
        (
            n.to_string(),
            shape,
            f.to_string(),
            m.to_string(),
            b,
            false,
            bpw,
        )
    };
    assert_eq!(
        rows,
        [
            // (9216 + 512 + 256 + 16 + 32) bytes · 8 / (64 · 256)
            row("a.weight", vec![64, 256], "exl2", "mixed", None, 4.898),
            // (768 + 128 + 64) bytes · 8 / (32 · 64)
            row("b.weight", vec![32, 64], "exl3", "trellis", Some(3), 3.75),
            // (640 + 8 + 4 + 4) bytes · 8 / (32 · 64)
            row("c.weight", vec![32, 64], "exl3", "trellis", None, 2.563),
        ]
    );

    // Broken: no q_invperm, and a trellis of the wrong dtype.
    let c = st(&[
        ("d.q_weight", "I32", &[4, 8], vec![0; 128]),
        ("e.trellis", "F16", &[1, 1, 16], vec![0; 32]),
        ("f.suh", "F16", &[16], vec![0; 32]),
    ]);
    let r = inspect(c, None);
    assert!(
        has(&r, "shape_mismatch", "d.q_weight"),
        "{:?}",
        r.summary.findings
    );
    assert!(
        has(&r, "shape_mismatch", "e.trellis"),
        "{:?}",
        r.summary.findings
    );
    assert!(
        has(&r, "orphan_companion", "f.suh"),
        "{:?}",
        r.summary.findings
    );
}
