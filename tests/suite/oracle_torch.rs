//! The output check against the independent torch references in
//! `../shared/models/*/reference/` (transformers 5 + sentence-transformers 6):
//! token ids, every layer's hidden states, embeddings, logits and figures.
#![cfg(feature = "outputs")]

use crate::common;

use quantlens::outputs::{OutputCheck, OutputsReport};
use serde_json::Value;

use common::outputs::{check_states, check_token_ids, int8_check, Collect, Reference};

fn run(model: &str) -> (Reference, OutputCheck, OutputsReport, Collect) {
    let (r, mut check) = int8_check(model);
    let mut c = Collect::default();
    let report = check.run(&r.inputs, &mut c).unwrap();
    (r, check, report, c)
}

fn close(what: &str, got: f64, want: f64, rel: f64, abs: f64) {
    let ok = (got - want).abs() <= abs || (got - want).abs() <= rel * want.abs();
    assert!(ok, "{what}: got {got}, reference {want}");
}

/// Layer figures: 2 % relative for errors, 1e-4 absolute for cosines.
fn check_layers(report: &OutputsReport, json: &Value) {
    let want = json["layers"].as_array().unwrap();
    assert_eq!(report.layers.len(), want.len());
    for (g, w) in report.layers.iter().zip(want) {
        let l = g.layer;
        assert_eq!(l as u64, w["layer"].as_u64().unwrap());
        close(
            &format!("layer {l} rel_error"),
            g.rel_error,
            w["rel_error"].as_f64().unwrap(),
            0.02,
            1e-9,
        );
        close(
            &format!("layer {l} cosine"),
            g.cosine,
            w["cosine"].as_f64().unwrap(),
            0.0,
            1e-4,
        );
        match w.get("alone_rel_error") {
            Some(a) => close(
                &format!("layer {l} alone"),
                g.alone_rel_error.unwrap(),
                a.as_f64().unwrap(),
                0.02,
                1e-9,
            ),
            None => assert_eq!(g.alone_rel_error, None),
        }
    }
}

#[test]
fn minilm_matches_sentence_transformers() {
    let (r, check, report, c) = run("all-MiniLM-L6-v2");
    assert_eq!(
        check.max_length(),
        256,
        "sentence_bert_config.json's max_seq_length, not tokenizer.json's 128"
    );
    check_token_ids(&r, &check);
    check_states(&r, &c, 6);
    let (_, e) = &r.f32s["embeddings"];
    let (_, eq) = &r.f32s["quantized.embeddings"];
    for i in 0..r.inputs.len() {
        let (o, q) = &c.outputs[&i];
        let cs = quantlens::outputs::figures::cosine(o, &e[i * 384..(i + 1) * 384]);
        assert!(cs >= 0.99999, "embedding {i}: cosine {cs} to the reference");
        let cs = quantlens::outputs::figures::cosine(q, &eq[i * 384..(i + 1) * 384]);
        assert!(
            cs >= 0.99999,
            "int8 embedding {i}: cosine {cs} to the reference"
        );
    }
    check_layers(&report, &r.json);
    let (g, w) = (report.embedding.as_ref().unwrap(), &r.json["embedding"]);
    assert_eq!((g.pooling.as_str(), g.normalized), ("mean", true));
    close(
        "cosine_mean",
        g.cosine_mean,
        w["cosine_mean"].as_f64().unwrap(),
        0.0,
        1e-4,
    );
    close(
        "cosine_min",
        g.cosine_min,
        w["cosine_min"].as_f64().unwrap(),
        0.0,
        1e-4,
    );
    assert_eq!(
        g.neighbours_same as u64,
        w["neighbours_same"].as_u64().unwrap()
    );
    for (p, x) in g.per_input.iter().zip(w["per_input"].as_array().unwrap()) {
        close("per-input cosine", p.cosine, x.as_f64().unwrap(), 0.0, 1e-4);
    }
    assert_eq!((report.inputs, report.truncated), (24, 0));
    assert!(report.classification.is_none() && report.embedding_cls.is_none());
}

#[test]
fn distilbert_classifier_matches_transformers() {
    let (r, check, report, c) = run("tiny-distilbert-nli");
    assert!(
        r.inputs.iter().all(|i| i.second.is_some()),
        "the inputs are pairs"
    );
    check_token_ids(&r, &check);
    check_states(&r, &c, 2);
    let (_, lo) = &r.f32s["logits"];
    let (_, lq) = &r.f32s["quantized.logits"];
    for i in 0..r.inputs.len() {
        let (o, q) = &c.outputs[&i];
        for k in 0..3 {
            assert!(
                (o[k] - lo[i * 3 + k]).abs() <= 1e-4,
                "logit {i}/{k}: {} vs {}",
                o[k],
                lo[i * 3 + k]
            );
            assert!(
                (q[k] - lq[i * 3 + k]).abs() <= 1e-4,
                "int8 logit {i}/{k}: {} vs {}",
                q[k],
                lq[i * 3 + k]
            );
        }
    }
    check_layers(&report, &r.json);
    let (g, w) = (
        report.classification.as_ref().unwrap(),
        &r.json["classification"],
    );
    assert_eq!(g.agreement as u64, w["agreement"].as_u64().unwrap());
    close(
        "kld_mean",
        g.kld_mean,
        w["kld_mean"].as_f64().unwrap(),
        0.02,
        1e-12,
    );
    close(
        "kld_max",
        g.kld_max,
        w["kld_max"].as_f64().unwrap(),
        0.02,
        1e-12,
    );
    let labels: Vec<&str> = g.per_input.iter().map(|p| p.label.as_str()).collect();
    let labels_q: Vec<&str> = g
        .per_input
        .iter()
        .map(|p| p.label_quantized.as_str())
        .collect();
    let want = |k: &str| {
        w[k].as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(labels, want("labels"));
    assert_eq!(labels_q, want("labels_quantized"));
    assert!(report.embedding.is_none());
}
