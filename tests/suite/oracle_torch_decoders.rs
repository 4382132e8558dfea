//! The decoder output check (Llama, Qwen2) against the independent torch
//! references in `../shared/models/tiny-{llama,qwen2}/reference/`
//! (transformers 5.24): token ids, every layer's hidden states and the
//! log-probabilities, original and int8, and every figure of
//! reference.json; and MLX's affine 4-bit figures. The clear errors for bad
//! decoder folders are in `cli_outputs_decoders.rs`.
#![cfg(feature = "outputs")]

use crate::common;

use quantlens::outputs::{OutputCheck, OutputsReport};
use quantlens::{Policy, Scheme};

use common::outputs::{
    check_states, check_token_ids, int8_check, models, open_folder, reference, rel_frobenius,
    side_files, Collect,
};

fn log_softmax(x: &[f32]) -> Vec<f32> {
    quantlens::outputs::figures::log_softmax(x)
        .into_iter()
        .map(|v| v as f32)
        .collect()
}

fn close(what: &str, got: f64, want: f64, rel: f64) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "{what}: got {got}, reference {want}"
    );
}

fn check_model(model: &str, layers: usize) -> OutputsReport {
    let (r, mut check) = int8_check(model);
    assert_eq!(check.max_length(), 256, "max_position_embeddings");
    check_token_ids(&r, &check);
    let mut c = Collect::default();
    let report = check.run(&r.inputs, &mut c).unwrap();

    // Hidden states of every layer, original and int8, within 1e-4 relative.
    check_states(&r, &c, layers);
    // Log-probabilities of every position, original and int8.
    assert_eq!(c.blocks, 1, "a tiny vocabulary fits one block");
    let mut at = 0;
    for i in 0..r.inputs.len() {
        let (shape, lp) = &r.f32s[&format!("log_probs.{i}")];
        let (_, lq) = &r.f32s[&format!("quantized.log_probs.{i}")];
        let v = shape[1];
        for t in 0..shape[0] {
            let (o, q) = &c.logits[at + t];
            let e = rel_frobenius(&log_softmax(o), &lp[t * v..(t + 1) * v]);
            assert!(
                e <= 1e-4,
                "input {i} position {t}: log-probs differ by {e:e}"
            );
            let e = rel_frobenius(&log_softmax(q), &lq[t * v..(t + 1) * v]);
            assert!(
                e <= 1e-4,
                "input {i} position {t}: int8 log-probs differ by {e:e}"
            );
        }
        at += shape[0];
    }
    assert_eq!(at, c.logits.len());

    // Figures: exact tokens, 2 % for errors, 5 % for KLD statistics.
    let w = &r.json;
    assert_eq!(report.tokens as u64, w["tokens"].as_u64().unwrap());
    assert_eq!((report.inputs, report.truncated), (r.inputs.len(), 0));
    let want = w["layers"].as_array().unwrap();
    assert_eq!(report.layers.len(), want.len());
    for (g, x) in report.layers.iter().zip(want) {
        let l = g.layer;
        assert_eq!(l as u64, x["layer"].as_u64().unwrap());
        if l == 0 {
            assert_eq!(
                (g.rel_error, g.alone_rel_error),
                (0.0, None),
                "embeddings stay float"
            );
        } else {
            close(
                &format!("layer {l} rel_error"),
                g.rel_error,
                x["rel_error"].as_f64().unwrap(),
                0.02,
            );
            close(
                &format!("layer {l} alone"),
                g.alone_rel_error.unwrap(),
                x["alone_rel_error"].as_f64().unwrap(),
                0.02,
            );
        }
        close(
            &format!("layer {l} cosine"),
            g.cosine,
            x["cosine"].as_f64().unwrap(),
            0.02,
        );
    }
    let (g, x) = (report.next_token.as_ref().unwrap(), &w["next_token"]);
    for (k, v) in [
        ("kld_mean", g.kld_mean),
        ("kld_median", g.kld_median),
        ("kld_p99", g.kld_p99),
        ("kld_max", g.kld_max),
    ] {
        close(k, v, x[k].as_f64().unwrap(), 0.05);
    }
    close(
        "rms_delta_p",
        g.rms_delta_p,
        x["rms_delta_p"].as_f64().unwrap(),
        0.02,
    );
    let want_top = x["same_top"].as_u64().unwrap() as f64;
    let slack = (0.005 * report.tokens as f64).max(2.0);
    assert!(
        (g.same_top as f64 - want_top).abs() <= slack,
        "same_top {} vs {want_top}",
        g.same_top
    );
    let per = report.per_input.as_ref().unwrap();
    assert_eq!(per.len(), r.inputs.len());
    let mean: f64 = per
        .iter()
        .map(|p| p.kld_mean * p.tokens as f64)
        .sum::<f64>()
        / report.tokens as f64;
    close("per-input means", mean, g.kld_mean, 1e-9);
    report
}

#[test]
fn tiny_llama_matches_transformers() {
    let r = check_model("tiny-llama", 3);
    assert_eq!(r.model_type, "llama");
    assert!(r.to_json().contains("\"next_token\"") && r.to_text().contains("same top token"));
}

#[test]
fn tiny_qwen2_matches_transformers() {
    let r = check_model("tiny-qwen2", 3);
    assert_eq!(r.model_type, "qwen2");
}

// ------------------------------------------------- affine 4-bit, group 32

/// Figures recorded from `scripts/decoder_refs.py affine`: weights through
/// mlx's own `mx.quantize`/`mx.dequantize` (affine, 4 bits, group 32), the
/// forward by mlx-lm's llama/qwen2 models (which agree with the torch
/// references within 3e-7 relative). Per layer: (rel_error, cosine, alone);
/// then kld mean, median, p99, max, same_top, rms_delta_p.
struct Recorded {
    layers: [(f64, f64, f64); 3],
    next: (f64, f64, f64, f64, usize, f64),
}

const MLX_AFFINE_LLAMA: Recorded = Recorded {
    layers: [
        (0.05166967736285864, 0.9985071372280349, 0.05166967736285864),
        (
            0.06330006480478106,
            0.9976288683630531,
            0.038552324367601615,
        ),
        (
            0.06475978461497492,
            0.9973343382872536,
            0.026141458224344823,
        ),
    ],
    next: (
        0.0022427633394956014,
        0.0014641996614895123,
        0.014386147584357755,
        0.016852920751421047,
        340,
        0.015606122794780913,
    ),
};

const MLX_AFFINE_QWEN2: Recorded = Recorded {
    layers: [
        (0.07904895318152809, 0.9966059290288823, 0.07904895318152809),
        (0.08646124336202245, 0.9955188232249307, 0.04920986527685862),
        (0.06848621243792594, 0.9955584158236714, 0.03471645307730302),
    ],
    next: (
        0.0035426122110557685,
        0.0016830495982246684,
        0.026871753908223193,
        0.05155286533578651,
        371,
        0.012339877912888975,
    ),
};

fn check_affine(model: &str, want: &Recorded) {
    let r = reference(model);
    let dir = models().join(model);
    let policy = Policy::new(quantlens::PolicyKind::Default, 32, &[], &[]).unwrap();
    let scheme = Scheme::Affine {
        bits: 4,
        group_size: 32,
    };
    let mut check =
        OutputCheck::with_scheme(open_folder(&dir), &side_files(&dir), scheme, policy).unwrap();
    let g = check
        .run(&r.inputs, &mut quantlens::outputs::Quiet)
        .unwrap();
    assert_eq!(g.tokens as u64, r.json["tokens"].as_u64().unwrap());
    assert_eq!(g.layers[0].rel_error, 0.0);
    for (l, (e, c, a)) in want.layers.iter().enumerate() {
        let f = &g.layers[l + 1];
        close(&format!("layer {} rel_error", l + 1), f.rel_error, *e, 0.02);
        close(&format!("layer {} cosine", l + 1), f.cosine, *c, 0.02);
        close(
            &format!("layer {} alone", l + 1),
            f.alone_rel_error.unwrap(),
            *a,
            0.02,
        );
    }
    let n = g.next_token.as_ref().unwrap();
    let (mean, median, p99, max, same, dp) = want.next;
    close("kld_mean", n.kld_mean, mean, 0.05);
    close("kld_median", n.kld_median, median, 0.05);
    close("kld_p99", n.kld_p99, p99, 0.05);
    close("kld_max", n.kld_max, max, 0.05);
    close("rms_delta_p", n.rms_delta_p, dp, 0.02);
    let slack = (0.005 * g.tokens as f64).max(2.0);
    assert!(
        (n.same_top as f64 - same as f64).abs() <= slack,
        "same_top {} vs {same}",
        n.same_top
    );
}

#[test]
fn tiny_llama_affine_4bit_matches_mlx() {
    check_affine("tiny-llama", &MLX_AFFINE_LLAMA);
}

#[test]
fn tiny_qwen2_affine_4bit_matches_mlx() {
    check_affine("tiny-qwen2", &MLX_AFFINE_QWEN2);
}
